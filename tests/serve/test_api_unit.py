"""The HTTP contract on a fake model: validation, clamping, limits, 503s, admin, metrics."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from tests.serve.fakes import FakeModel, FakeRegistry
from tmdb_mlops.config import load_settings
from tmdb_mlops.inputs import EXAMPLES, MovieFeatures, to_record
from tmdb_mlops.schema import PRE_RELEASE_COLUMNS
from tmdb_mlops.storage import open_storage

pytestmark = pytest.mark.unit

GOOD = EXAMPLES[0]


def post_raw(client: TestClient, path: str, body: str | bytes) -> object:
    return client.post(path, content=body, headers={"content-type": "application/json"})


def test_predict_returns_prediction_and_model_identity(client: TestClient) -> None:
    response = client.post("/predict", json=GOOD)
    assert response.status_code == 200
    body = response.json()
    assert body["prediction"] == pytest.approx(5 + 118 / 100 + 0.5 * 2)
    assert body["clamped"] is False
    assert body["model_version"] == "v1"
    assert body["model_source"] == "registry"


def test_every_openapi_example_predicts_within_scale(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    examples = spec["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"][
        "examples"
    ]
    assert len(examples) == len(EXAMPLES)
    for example in examples.values():
        response = client.post("/predict", json=example["value"])
        assert response.status_code == 200, response.text
        assert 0 <= response.json()["prediction"] <= 10


def test_predict_is_documented_as_a_movie_features_body(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/predict"]["post"]
    body = operation["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/MovieFeatures"
    }
    assert set(operation["responses"]) == {"200", "400", "413", "422", "503"}
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/PredictResponse"}


def test_validation_errors_locate_the_field_in_the_body(client: TestClient) -> None:
    response = client.post("/predict", json={**GOOD, "runtime": -5, "popularity": 1})
    assert response.status_code == 422
    errors = {tuple(e["loc"]): e["type"] for e in response.json()["detail"]}
    assert errors == {("body", "runtime"): "greater_than_equal",
                      ("body", "popularity"): "extra_forbidden"}
    missing = client.post("/predict", content=b"", headers={"content-type": "application/json"})
    assert missing.status_code == 422
    assert missing.json()["detail"] == [{"loc": ["body"], "msg": "Field required",
                                         "type": "missing"}]


def test_a_non_finite_model_output_is_a_logged_500_not_a_crash(client: TestClient) -> None:
    response = client.post("/predict", json={**GOOD, "title": "Nonfinite"})
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error; see the server log"}
    assert client.post("/predict", json=GOOD).status_code == 200  # still serving
    text = client.get("/metrics").text
    assert 'tmdb_http_requests_total{method="POST",route="/predict",status="500"} 1.0' in text


def test_record_has_exactly_the_processed_columns() -> None:
    record = to_record(MovieFeatures.model_validate(EXAMPLES[2]))
    assert list(record) == list(PRE_RELEASE_COLUMNS)
    assert record["genres"] == "Animation|Family"
    assert record["cast"] is None and record["budget"] is None and record["runtime"] is None


def test_budget_zero_means_unknown_as_in_training_data() -> None:
    record = to_record(MovieFeatures.model_validate({**GOOD, "budget": 0}))
    assert record["budget"] is None


def test_out_of_scale_output_is_clamped_and_flagged(client: TestClient) -> None:
    response = client.post("/predict", json={**GOOD, "title": "Overshoot"})
    assert response.status_code == 200
    assert response.json()["prediction"] == 10.0
    assert response.json()["clamped"] is True


@pytest.mark.parametrize(
    "change",
    [
        {"popularity": 12.5},  # unknown field: the prototype's stray key
        {"runtime": -5},
        {"runtime": 10_000},
        {"runtime": "long"},
        {"budget": 1e300},
        {"title": ""},
        {"title": "x" * 100_000},
        {"genres": ["Bollywood"]},
        {"genres": "Drama"},
        {"release_date": "2026-13-45"},
        {"release_date": "1500-01-01"},
        {"production_countries": ["usa"]},
        {"cast": ["A|B"]},
        {"cast": ["x"] * 51},
        {"original_language": "english"},
        {"title": None},
        {"title": 123},
    ],
)
def test_bad_fields_are_422(client: TestClient, change: dict) -> None:
    response = client.post("/predict", json={**GOOD, **change})
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_are_422(client: TestClient, token: str) -> None:
    body = json.dumps(GOOD).replace('"runtime": 118', f'"runtime": {token}')
    assert token in body
    response = post_raw(client, "/predict", body)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    "body", ["{", "[]", "null", "42", '"text"', '{"title": NaN}', "\x00\xff", "[" * 50_000]
)
def test_malformed_bodies_are_client_errors(client: TestClient, body: str) -> None:
    response = post_raw(client, "/predict", body.encode("utf-8", "surrogatepass"))
    assert response.status_code in (400, 422), response.text


def test_missing_content_type_is_not_a_server_error(client: TestClient) -> None:
    response = client.post("/predict", content=json.dumps(GOOD))
    assert response.status_code < 500


def test_oversized_body_is_413(make_client, registry: FakeRegistry) -> None:
    client = make_client(registry, max_batch_size=2)
    from tmdb_serve.main import max_body_bytes

    limit = max_body_bytes(client.app.state.settings)
    response = post_raw(client, "/predict/batch", b" " * (limit + 1))
    assert response.status_code == 413
    assert str(limit) in response.json()["detail"]


def test_batch_above_limit_is_413_naming_the_limit(make_client, registry: FakeRegistry) -> None:
    client = make_client(registry, max_batch_size=3)
    response = client.post("/predict/batch", json={"items": [GOOD] * 4})
    assert response.status_code == 413
    assert "3" in response.json()["detail"] and "MAX_BATCH_SIZE" in response.json()["detail"]


def test_batch_keeps_order_and_uses_one_model_call(client: TestClient, registry) -> None:
    items = [{**GOOD, "runtime": r} for r in (90, 100, 150)] + [{**GOOD, "title": "Overshoot"}]
    model = registry.models["v1"]
    calls = model.calls
    response = client.post("/predict/batch", json={"items": items})
    assert response.status_code == 200
    body = response.json()
    assert [p["prediction"] for p in body["predictions"]] == pytest.approx([6.9, 7.0, 7.5, 10.0])
    assert [p["clamped"] for p in body["predictions"]] == [False, False, False, True]
    assert body["model_version"] == "v1"
    assert model.calls == calls + 1


def test_empty_batch_is_422(client: TestClient) -> None:
    assert client.post("/predict/batch", json={"items": []}).status_code == 422


def test_batch_errors_locate_the_item_and_field(client: TestClient) -> None:
    response = client.post("/predict/batch", json={"items": [GOOD, {**GOOD, "runtime": 0}]})
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [["body", "items", 1, "runtime"]]


def test_the_server_freezes_its_start_up_objects_after_the_model_loads(
    tmp_path, registry: FakeRegistry
) -> None:
    import gc

    from tmdb_serve.main import create_app

    settings = load_settings(storage_url=str(tmp_path / "store"), model_poll_seconds=0)
    app = create_app(settings, registry=registry, storage=open_storage(settings.storage_url),
                     freeze_gc=True)
    gc.unfreeze()
    try:
        with TestClient(app) as client:
            assert gc.get_freeze_count() > 0  # frozen in the lifespan, before any request
            model = client.app.state.store.current
            # get_objects() leaves out the frozen generation: the model was loaded first.
            assert not any(obj is model for obj in gc.get_objects())
            assert client.get("/ready").json()["model_version"] == "v1"
    finally:
        gc.unfreeze()


def test_without_any_model_the_process_stays_up_and_says_so(make_client) -> None:
    client = make_client(FakeRegistry())
    assert client.get("/health").status_code == 200
    ready = client.get("/ready")
    assert ready.status_code == 503 and ready.json()["ready"] is False
    response = client.post("/predict", json=GOOD)
    assert response.status_code == 503
    assert "no model is loaded" in response.json()["detail"]
    assert client.get("/model").status_code == 503
    assert client.get("/results").status_code == 200


def test_store_unreachable_falls_back_to_local_and_says_so(make_client) -> None:
    down = FakeRegistry(down=True)
    client = make_client(down, local=FakeModel("local-1", source="local"))
    assert client.get("/ready").json() == {
        "ready": True, "model_version": "local-1", "model_source": "local"
    }
    assert client.get("/model").json()["source"] == "local"
    assert client.post("/predict", json=GOOD).json()["model_source"] == "local"
    assert "local" in client.get("/results").text
    assert 'tmdb_model_info{source="local",version="local-1"} 1.0' in client.get("/metrics").text


def test_model_card_has_metrics_and_schema(client: TestClient) -> None:
    card = client.get("/model").json()
    assert card["version"] == "v1"
    assert card["as_of"] == "2014-03-01"
    assert card["metrics"]["baselines"]["global_mean"]["rmse"] == 1.0
    assert "runtime" in card["input_schema"]


def test_metrics_export_requests_predictions_and_model(client: TestClient) -> None:
    client.post("/predict", json=GOOD)
    client.post("/predict", json={**GOOD, "popularity": 1})
    text = client.get("/metrics").text
    assert 'tmdb_http_requests_total{method="POST",route="/predict",status="200"} 1.0' in text
    assert 'tmdb_http_requests_total{method="POST",route="/predict",status="422"} 1.0' in text
    assert 'tmdb_http_request_duration_seconds_count{method="POST",route="/predict",status="200"}' in text
    assert "tmdb_prediction_rating_count 1.0" in text
    assert 'tmdb_model_info{source="registry",version="v1"} 1.0' in text
    assert 'tmdb_model_reloads_total{outcome="refused"} 0.0' in text


def test_batch_predictions_land_in_the_same_histogram_buckets(client: TestClient) -> None:
    items = [{**GOOD, "runtime": r, "genres": []} for r in (10, 60, 160, 460)]  # 5.1 5.6 6.6 9.6
    client.post("/predict/batch", json={"items": items})
    text = client.get("/metrics").text
    assert 'tmdb_prediction_rating_bucket{le="5.5"} 1.0' in text
    assert 'tmdb_prediction_rating_bucket{le="6.0"} 2.0' in text
    assert 'tmdb_prediction_rating_bucket{le="10.0"} 4.0' in text
    assert "tmdb_prediction_rating_sum 26.9" in text


class TestAdmin:
    def test_disabled_without_token(self, client: TestClient) -> None:
        assert client.post("/admin/reload").status_code == 404

    def test_requires_the_bearer_token(self, make_client, registry) -> None:
        client = make_client(registry, admin_token="s3cret-token")
        assert client.post("/admin/reload").status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert client.post("/admin/reload", headers=wrong).status_code == 403
        ok = client.post("/admin/reload", headers={"Authorization": "Bearer s3cret-token"})
        assert ok.status_code == 200
        assert ok.json()["outcome"] == "unchanged"

    def test_reload_swaps_to_the_new_champion(self, make_client, registry) -> None:
        client = make_client(registry, admin_token="s3cret-token")
        auth = {"Authorization": "Bearer s3cret-token"}
        registry.add(FakeModel("v2", offset=1.0))
        result = client.post("/admin/reload", headers=auth).json()
        assert result["outcome"] == "reloaded" and result["model_version"] == "v2"
        assert client.post("/predict", json=GOOD).json()["model_version"] == "v2"
        assert 'tmdb_model_info{source="registry",version="v2"} 1.0' in client.get("/metrics").text

    @pytest.mark.parametrize("bad", ["tampered", "nan"])
    def test_bad_candidate_is_refused_and_old_model_keeps_serving(
        self, make_client, registry, bad: str
    ) -> None:
        client = make_client(registry, admin_token="s3cret-token")
        auth = {"Authorization": "Bearer s3cret-token"}
        registry.add(FakeModel("v3", broken=bad == "nan"))
        if bad == "tampered":
            registry.tampered.add("v3")
        result = client.post("/admin/reload", headers=auth).json()
        assert result["outcome"] == "refused"
        assert result["model_version"] == "v1"
        assert client.post("/predict", json=GOOD).json()["model_version"] == "v1"
        assert 'tmdb_model_reloads_total{outcome="refused"} 1.0' in client.get("/metrics").text

    def test_candidate_with_unknown_input_columns_is_refused(self, make_client, registry) -> None:
        client = make_client(registry, admin_token="t0ken")
        registry.add(FakeModel("v4", input_schema={"title": {}, "vote_count": {}}))
        result = client.post("/admin/reload", headers={"Authorization": "Bearer t0ken"}).json()
        assert result["outcome"] == "refused" and "vote_count" in result["detail"]

    def test_unreachable_store_keeps_the_model(self, make_client, registry) -> None:
        client = make_client(registry, admin_token="t0ken")
        registry.down = True
        result = client.post("/admin/reload", headers={"Authorization": "Bearer t0ken"}).json()
        assert result["outcome"] == "error" and result["model_version"] == "v1"
        assert client.get("/ready").status_code == 200


@pytest.mark.parametrize("path", ["/predict", "/predict/batch"])
def test_a_client_gone_before_its_body_is_a_400_not_a_server_error(
    client: TestClient, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Driven as ASGI: the body's first chunk arrives, then the client disconnects."""
    import asyncio

    messages = iter([
        {"type": "http.request", "body": b'{"title": "Half', "more_body": True},
        {"type": "http.disconnect"},
    ])
    sent: list[dict] = []

    async def receive() -> dict:
        return next(messages, {"type": "http.disconnect"})  # as uvicorn: disconnect from then on

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
             "root_path": "", "query_string": b"", "server": ("testserver", 80),
             "client": ("127.0.0.1", 5000),
             "headers": [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")]}
    asyncio.run(client.app(scope, receive, send))
    assert sent[0]["status"] == 400
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
