"""Intervals and explanations over HTTP (issue #13), on small real models in a real registry.

Each expected number is computed independently of the service: the interval from
the bundle's payload with the shared rule (``tmdb_mlops.intervals``) on
``featurizer.transform``, the explanation's sum against ``pipeline.predict``.
"""

from __future__ import annotations

import html as html_lib
import io
import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from tests.serve.small_models import OVERSHOOT_GENRE, SmallModel, register
from tests.serve.test_results_unit import FILMS, write_inference
from tmdb_mlops import intervals
from tmdb_mlops.features import featurizer_of
from tmdb_mlops.inputs import EXAMPLES, INPUT_COLUMNS, MovieFeatures, to_record
from tmdb_mlops.registry import Registry
from tmdb_mlops.storage import Storage

pytestmark = pytest.mark.unit

GOOD = EXAMPLES[0]


def reference_interval(model: SmallModel, bodies: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """The interval of request bodies from the payload alone, as the trainer measured it."""
    frame = pd.DataFrame([to_record(MovieFeatures.model_validate(b)) for b in bodies])
    encoded = featurizer_of(model.pipeline).transform(frame)
    return intervals.intervals_for(model.interval, encoded, model.pipeline.predict(frame))


def test_predict_returns_the_calibrated_interval(client: TestClient, small_model: SmallModel) -> None:
    body = client.post("/predict", json=GOOD).json()
    low, high = reference_interval(small_model, [GOOD])
    assert body["interval"] == pytest.approx({"low": low[0], "high": high[0], "coverage": 0.8},
                                             abs=1e-9)
    assert 0 <= body["interval"]["low"] <= body["prediction"] <= body["interval"]["high"] <= 10
    assert "explanation" not in body  # only on request


def test_batch_intervals_match_the_single_row_ones(client: TestClient, small_model: SmallModel) -> None:
    items = [{**GOOD, "runtime": r} for r in (70, 100, 160, 240)] + EXAMPLES
    body = client.post("/predict/batch", json={"items": items}).json()
    low, high = reference_interval(small_model, items)
    got = np.array([[p["interval"]["low"], p["interval"]["high"]] for p in body["predictions"]])
    np.testing.assert_allclose(got, np.column_stack([low, high]), atol=1e-9)
    single = client.post("/predict", json=items[2]).json()["interval"]
    assert single["low"] == pytest.approx(got[2, 0], abs=1e-9)
    assert single["high"] == pytest.approx(got[2, 1], abs=1e-9)


def test_explain_sums_to_the_unclamped_prediction(client: TestClient, small_model: SmallModel) -> None:
    for body in EXAMPLES:
        answer = client.post("/predict?explain=true", json=body).json()
        explanation = answer["explanation"]
        raw = small_model.expected([body])[0]
        assert explanation["raw_prediction"] == pytest.approx(raw, abs=1e-9)
        total = explanation["base_value"] + sum(explanation["contributions"].values())
        assert total == pytest.approx(raw, abs=1e-6)
        assert set(explanation["contributions"]) <= set(INPUT_COLUMNS)
        assert {"genres", "cast", "director", "release_date"} <= set(explanation["contributions"])
        assert answer["interval"] is not None


@pytest.mark.parametrize("value, explained", [("false", False), ("0", False), ("1", True),
                                              ("True", True)])
def test_explain_reads_booleans_as_fastapi_does(client: TestClient, value: str, explained: bool) -> None:
    answer = client.post(f"/predict?explain={value}", json=GOOD)
    assert answer.status_code == 200
    assert ("explanation" in answer.json()) is explained


def test_a_bad_explain_value_is_a_422_not_a_500(client: TestClient) -> None:
    answer = client.post("/predict?explain=perhaps", json=GOOD)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["query", "explain"]


def test_a_clamped_prediction_keeps_its_interval_on_the_scale_and_its_raw_explanation(
    make_client: Callable[..., TestClient], registry: Registry, overshooting_model: SmallModel,
) -> None:
    register(registry, overshooting_model)
    client = make_client()
    body = {**GOOD, "genres": [OVERSHOOT_GENRE]}
    answer = client.post("/predict?explain=true", json=body).json()
    raw = overshooting_model.expected([body])[0]
    assert raw > 10 and answer["prediction"] == 10 and answer["clamped"] is True
    assert answer["interval"]["high"] == 10 and 0 <= answer["interval"]["low"] <= 10
    explanation = answer["explanation"]
    assert explanation["base_value"] + sum(explanation["contributions"].values()) == \
        pytest.approx(raw, abs=1e-6)


def test_an_older_bundle_without_an_interval_still_serves(
    make_client: Callable[..., TestClient], registry: Registry, small_model: SmallModel,
    store: Storage,
) -> None:
    version = register(registry, small_model, with_interval=False)
    write_inference(store, FILMS)
    client = make_client()
    answer = client.post("/predict?explain=true", json=GOOD)
    assert answer.status_code == 200
    assert answer.json()["model_version"] == version
    assert answer.json()["interval"] is None and answer.json()["explanation"] is not None
    batch = client.post("/predict/batch", json={"items": EXAMPLES}).json()
    assert [p["interval"] for p in batch["predictions"]] == [None] * len(EXAMPLES)
    assert client.get("/model").json()["interval"] is None
    page = client.get("/results").text
    assert page.count("no interval") >= len(FILMS)
    assert "no interval (trained before intervals existed)" in page


def test_model_card_shows_the_measured_coverage_and_width(
    client: TestClient, small_model: SmallModel
) -> None:
    card = client.get("/model").json()
    assert card["interval"] == small_model.metrics["interval"]
    assert card["interval"]["nominal_coverage"] == 0.8
    for key in ("empirical_coverage", "mean_width", "calibration_rows", "evaluation_rows"):
        assert card["interval"][key] > 0
    assert card["interval"]["baseline"]["mean_width"] > 0


def test_openapi_documents_explain_and_the_new_fields(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/predict"]["post"]
    assert [p["name"] for p in operation["parameters"]] == ["explain"]
    schemas = spec["components"]["schemas"]
    assert {"low", "high", "coverage"} <= set(schemas["Interval"]["properties"])
    assert schemas["PredictResponse"]["examples"][0]["interval"]["coverage"] == 0.8
    assert "explanation" in schemas["PredictResponse"]["properties"]
    batch_example = schemas["BatchResponse"]["examples"][0]
    assert all("interval" in p for p in batch_example["predictions"])


def test_results_page_draws_each_interval_and_links_a_detail_view(
    make_client: Callable[..., TestClient], champion: str, small_model: SmallModel, store: Storage,
) -> None:
    data = write_inference(store, FILMS)
    client = make_client()
    page = client.get("/results").text
    assert page.count('class="range"') == len(FILMS)
    assert 'id="model-interval">80% nominal' in page
    frame = pd.read_csv(io.BytesIO(data))
    encoded = featurizer_of(small_model.pipeline).transform(frame)
    low, high = intervals.intervals_for(small_model.interval, encoded,
                                        small_model.pipeline.predict(frame))
    texts = re.findall(r'<span class="range-text">(.*?)</span>', page)
    shown = {html_lib.unescape(t) for t in texts}
    assert shown == {f"{lo:.2f}–{hi:.2f}" for lo, hi in zip(low, high, strict=True)}
    for film in FILMS:
        assert f'href="/results/films/{film["id"]}"' in page


def test_film_detail_view_shows_interval_contributions_and_inputs(
    make_client: Callable[..., TestClient], champion: str, small_model: SmallModel, store: Storage,
) -> None:
    write_inference(store, FILMS)
    client = make_client()
    page = client.get("/results/films/3")
    assert page.status_code == 200
    html = page.text
    assert "<h1>Gamma</h1>" in html
    assert 'class="range"' in html and 'class="bar contribution"' in html
    frame = pd.DataFrame([FILMS[2]]).reindex(columns=list(INPUT_COLUMNS))
    raw = small_model.pipeline.predict(frame)[0]
    shown = float(re.search(r'id="raw-prediction">(.*?)<', html).group(1))
    assert shown == pytest.approx(raw, abs=1e-4)
    assert re.search(r'<dd data-input="director">Bo</dd>', html)
    assert re.search(r'<dd data-input="runtime">300</dd>', html)
    assert client.get("/results/films/999").status_code == 404
    assert client.get("/results/films/0").status_code == 422
    assert client.get("/results/films/abc").status_code == 422
