"""The service on real bundles: live uvicorn, S3 (moto), local fallback, hot reload, tampering."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_bucket, s3_store
from tests.serve.conftest import TrainedStore, copy_store
from tests.servers import S3_ACCESS_KEY, S3_SECRET_KEY, free_port, wait_until
from tmdb_mlops import layout

pytestmark = pytest.mark.integration

ADMIN = "integration-admin-token"


def examples(server_url: str) -> list[dict]:
    spec = httpx.get(f"{server_url}/openapi.json", timeout=10).json()
    content = spec["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    return [example["value"] for example in content["examples"].values()]


def test_serves_the_champion_from_an_s3_server(
    trained_store: TrainedStore, moto_endpoint: str, live_server
) -> None:
    bucket = make_bucket(moto_endpoint)
    copy_store(trained_store.path, s3_store(moto_endpoint, bucket))
    server = live_server(
        STORAGE_URL=f"s3://{bucket}/tmdb", S3_ENDPOINT_URL=moto_endpoint,
        AWS_ACCESS_KEY_ID=S3_ACCESS_KEY, AWS_SECRET_ACCESS_KEY=S3_SECRET_KEY,
    )
    ready = httpx.get(f"{server.url}/ready", timeout=10).json()
    assert ready == {"ready": True, "model_version": trained_store.versions[0],
                     "model_source": "registry", "serving_instead_of": None}
    found = examples(server.url)
    assert len(found) >= 3
    for body in found:
        response = httpx.post(f"{server.url}/predict", json=body, timeout=10)
        assert response.status_code == 200, response.text
        assert 0 <= response.json()["prediction"] <= 10
        assert response.json()["model_version"] == trained_store.versions[0]
    card = httpx.get(f"{server.url}/model", timeout=10).json()
    assert card["as_of"] == "2014-03-01" and card["source"] == "registry"
    assert card["metrics"]["model"]["rmse"] < card["metrics"]["baselines"]["global_mean"]["rmse"]
    assert "release_date" in card["input_schema"]["columns"]
    page = httpx.get(f"{server.url}/results", timeout=30)
    assert page.status_code == 200 and page.text.count('<tr class="film"') == 25
    assert page.text.count('class="range"') == 25  # every film's interval (issue #13)


def test_batch_matches_single_predictions(store_copy: TrainedStore, live_server) -> None:
    server = live_server(STORAGE_URL=str(store_copy.path))
    bodies = examples(server.url)
    batch = httpx.post(f"{server.url}/predict/batch", json={"items": bodies}, timeout=10).json()
    singles = [httpx.post(f"{server.url}/predict", json=b, timeout=10).json() for b in bodies]
    assert [p["prediction"] for p in batch["predictions"]] == pytest.approx(
        [s["prediction"] for s in singles], abs=1e-9
    )


def test_store_unreachable_serves_the_local_bundle_and_says_so(
    store_copy: TrainedStore, live_server, tmp_path: Path
) -> None:
    _, local = store_copy.registry().export(store_copy.versions[1], tmp_path / "local-model")
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    server = live_server(
        STORAGE_URL="s3://unreachable/tmdb", S3_ENDPOINT_URL=dead, AWS_ACCESS_KEY_ID="x",
        AWS_SECRET_ACCESS_KEY="y", LOCAL_MODEL_DIR=str(local),
    )
    card = httpx.get(f"{server.url}/model", timeout=10).json()
    assert card["source"] == "local" and card["version"] == store_copy.versions[1]
    prediction = httpx.post(f"{server.url}/predict", json=examples(server.url)[0], timeout=10)
    assert prediction.json()["model_source"] == "local"
    assert "source=local" in server.log_text()
    assert "local fallback" in httpx.get(f"{server.url}/results", timeout=30).text


def test_without_any_model_the_process_stays_up(live_server, tmp_path: Path) -> None:
    server = live_server(STORAGE_URL=str(tmp_path / "empty-store"))
    assert httpx.get(f"{server.url}/health", timeout=5).status_code == 200
    assert httpx.get(f"{server.url}/ready", timeout=5).status_code == 503
    response = httpx.post(f"{server.url}/predict", json=examples(server.url)[0], timeout=5)
    assert response.status_code == 503 and "no model is loaded" in response.json()["detail"]


def test_hot_reload_under_load_loses_no_request(store_copy: TrainedStore, live_server) -> None:
    v1, v2, v3 = store_copy.versions
    server = live_server(STORAGE_URL=str(store_copy.path), MODEL_POLL_SECONDS="0.3",
                         ADMIN_TOKEN=ADMIN)
    body = examples(server.url)[0]
    seen: list[str] = []
    failures: list[str] = []
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            while not stop.is_set():
                try:
                    response = client.post("/predict", json=body)
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                    continue
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text[:200]}")
                    continue
                version = response.json()["model_version"]
                if not seen or seen[-1] != version:
                    seen.append(version)

    thread = threading.Thread(target=hammer, daemon=True)
    thread.start()
    try:
        wait_until(lambda: seen == [v1], timeout=10, what="first predictions")
        registry = store_copy.registry()
        registry.promote(v2, reason="hot reload test: picked up by the poller")
        wait_until(lambda: seen[-1] == v2, timeout=30, what=f"the poller to serve {v2}")
        registry.promote(v3, reason="hot reload test: forced by /admin/reload")
        forced = httpx.post(f"{server.url}/admin/reload", timeout=30,
                            headers={"Authorization": f"Bearer {ADMIN}"}).json()
        assert forced["model_version"] == v3
        wait_until(lambda: seen[-1] == v3, timeout=10, what=f"requests served by {v3}")
    finally:
        stop.set()
        thread.join(timeout=15)
    assert failures == []
    assert seen == [v1, v2, v3]
    metrics = httpx.get(f"{server.url}/metrics", timeout=5).text
    assert 'tmdb_model_reloads_total{outcome="reloaded"} 3.0' in metrics  # start-up + two swaps
    assert f'tmdb_model_info{{source="registry",version="{v3}"}} 1.0' in metrics


def test_tampered_bundle_is_refused_and_the_old_model_keeps_serving(
    store_copy: TrainedStore, live_server
) -> None:
    v1, v2, _ = store_copy.versions
    server = live_server(STORAGE_URL=str(store_copy.path), ADMIN_TOKEN=ADMIN)
    # promote verifies its target, so the bundle is changed in the store after the promotion.
    store_copy.registry().promote(v2, reason="candidate tampered after its promotion")
    bundle = store_copy.path / layout.bundle_key(v2)
    data = bytearray(bundle.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bundle.write_bytes(bytes(data))
    result = httpx.post(f"{server.url}/admin/reload", timeout=30,
                        headers={"Authorization": f"Bearer {ADMIN}"}).json()
    assert result["outcome"] == "refused" and "sha256" in result["detail"]
    assert result["model_version"] == v1
    response = httpx.post(f"{server.url}/predict", json=examples(server.url)[0], timeout=10)
    assert response.status_code == 200 and response.json()["model_version"] == v1
    metrics = httpx.get(f"{server.url}/metrics", timeout=5).text
    assert 'tmdb_model_reloads_total{outcome="refused"} 1.0' in metrics
    assert f"refused candidate model {v2}" in server.log_text()


def test_odd_inputs_over_the_wire(store_copy: TrainedStore, live_server) -> None:
    server = live_server(STORAGE_URL=str(store_copy.path), MAX_BATCH_SIZE="10")
    good = examples(server.url)[0]
    headers = {"content-type": "application/json"}
    with httpx.Client(base_url=server.url, timeout=30) as client:
        nan = client.post("/predict", headers=headers,
                          content=httpx.Response(200, json=good).text.replace("118", "NaN"))
        assert nan.status_code == 422
        assert client.post("/predict", json={**good, "title": "é" * 1_000_000}).status_code in (
            413, 422)
        assert client.post("/predict", json={**good, "runtime": [1]}).status_code == 422
        big = client.post("/predict/batch", json={"items": [good] * 11})
        assert big.status_code == 413 and "10" in big.json()["detail"]

        def chunks():
            yield b'{"items": ['
            for _ in range(5000):  # ~1.8 MB, above the ~1.2 MB limit for 10 items
                yield b'{"title": "' + b"x" * 300 + b'", "release_date": "2020-01-01"},'
            yield b"]}"

        chunked = client.post("/predict/batch", headers=headers, content=chunks())
        assert chunked.status_code == 413
        assert client.get("/health").status_code == 200


