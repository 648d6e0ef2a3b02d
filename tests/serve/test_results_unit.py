"""The results page on small real models and a real local inference partition."""

from __future__ import annotations

import csv
import html as html_lib
import io
import re
from collections.abc import Callable
from datetime import date

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from tests.serve.conftest import unreachable_store
from tests.serve.small_models import OVERSHOOT_GENRE, SmallModel, register
from tmdb_mlops import layout
from tmdb_mlops.partitions import write_partition
from tmdb_mlops.registry import Registry
from tmdb_mlops.schema import columns_for
from tmdb_mlops.storage import Storage

pytestmark = pytest.mark.unit

FILMS = [
    {"id": 1, "title": "Alpha", "release_date": "2014-03-10", "genres": "Drama|Comedy",
     "runtime": 100, "poster_path": "/alpha.jpg", "director": "Ann Lee", "original_language": "en"},
    {"id": 2, "title": "<script>alert(1)</script>", "release_date": "2014-04-02",
     "genres": "Horror", "runtime": 90, "poster_path": "", "director": "", "original_language": "en"},
    {"id": 3, "title": "Gamma", "release_date": "2014-04-20", "genres": "Drama",
     "runtime": 300, "poster_path": "/g.jpg", "director": "Bo", "original_language": "fr"},
]
ROW = re.compile(
    r'<tr class="film"[^>]*>.*?<td class="title"><a [^>]*>(.*?)</a></td>.*?'
    r'<td class="prediction">(.*?)</td>', re.S
)


def write_inference(store: Storage, films: list[dict], dt: date = date(2014, 3, 1)) -> bytes:
    """One inference partition as the collector writes it; returns the CSV."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns_for("inference")))
    writer.writeheader()
    for film in films:
        writer.writerow({name: film.get(name, "") for name in columns_for("inference")})
    data = buffer.getvalue().encode()
    write_partition(store, split="inference", dt=dt,
                    files={layout.movies_key("inference", dt): data},
                    manifest={"rows": len(films)})
    return data


def rows(page: str) -> list[tuple[str, str]]:
    """(title, prediction cell) of every film row, in page order."""
    return [(html_lib.unescape(title), prediction) for title, prediction in ROW.findall(page)]


def expected(model: SmallModel, data: bytes) -> dict[str, float]:
    """``pipeline.predict`` on the partition's CSV: each title's raw prediction."""
    frame = pd.read_csv(io.BytesIO(data), dtype=columns_for("inference"))
    return dict(zip(frame["title"], model.pipeline.predict(frame), strict=True))


@pytest.fixture
def partition(store: Storage) -> bytes:
    return write_inference(store, FILMS)


@pytest.fixture
def page_client(make_client: Callable[..., TestClient], champion: str, partition: bytes):
    return make_client(poster_base_url="https://img.example/w185")


def test_rows_posters_charts_and_model_card(
    page_client: TestClient, champion: str, small_model: SmallModel, partition: bytes
) -> None:
    response = page_client.get("/results")
    assert response.status_code == 200
    html = response.text
    assert html.count('<tr class="film"') == 3
    predictions = expected(small_model, partition)
    assert dict(rows(html)) == {title: f"{value:.2f}" for title, value in predictions.items()}
    assert "https://img.example/w185/alpha.jpg" in html
    assert html.count("<img ") == 2  # no poster_path, no image
    assert html.count("<svg") == 3
    assert f'id="model-version">{champion}<' in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "cdn" not in html.lower()


def test_charts_come_from_the_registered_metrics(
    make_client: Callable[..., TestClient],
    registry: Registry,
    small_model: SmallModel,
    second_model: SmallModel,
    partition: bytes,
) -> None:
    versions = [register(registry, small_model), register(registry, second_model)]
    html = make_client().get("/results").text
    for version, model in zip(versions, (small_model, second_model), strict=True):
        rmse = model.metrics["model"]["rmse"]
        baseline = model.metrics["baselines"]["global_mean"]["rmse"]
        assert f"{version} model RMSE: {rmse:.4f}" in html
        assert f"{version} mean baseline RMSE: {baseline:.4f}" in html
    # The model card is the champion's (the second version): its metrics table and importance.
    table = html.split('<table class="metrics">')[1].split("</table>")[0]
    names = re.findall(r"<tr><td>(.*?)</td>", table)
    assert sorted(names) == ["baselines / genre_mean", "baselines / global_mean",
                             "baselines / ridge", "model"]
    assert f"<td>{second_model.metrics['model']['rmse']:.3f}</td>" in table
    top, gain = next(iter(second_model.metrics["feature_importance"].items()))
    assert f"<title>{top}: {gain:.4g}</title>" in html


def test_sorted_by_prediction_by_default_and_sortable(
    page_client: TestClient, small_model: SmallModel, partition: bytes
) -> None:
    predictions = expected(small_model, partition)
    assert len({round(v, 2) for v in predictions.values()}) == len(FILMS)  # a strict order
    by_prediction = sorted(predictions, key=predictions.__getitem__, reverse=True)
    assert [title for title, _ in rows(page_client.get("/results").text)] == by_prediction
    ascending = [title for title, _ in rows(page_client.get("/results?order=asc").text)]
    assert ascending == by_prediction[::-1]
    by_title = [title for title, _ in rows(page_client.get("/results?sort=title&order=asc").text)]
    assert by_title == sorted(predictions, key=str.casefold)


def test_filter_by_genre_and_month_and_paginate(page_client: TestClient) -> None:
    html = page_client.get("/results?genre=Drama").text
    assert {title for title, _ in rows(html)} == {"Alpha", "Gamma"}
    html = page_client.get("/results?month=2014-04").text
    assert {title for title, _ in rows(html)} == {"<script>alert(1)</script>", "Gamma"}
    html = page_client.get("/results?per_page=2&page=2").text
    assert html.count('<tr class="film"') == 1 and "page 2 of 2" in html


def test_bad_query_parameters_are_422(page_client: TestClient) -> None:
    assert page_client.get("/results?sort=evil").status_code == 422
    assert page_client.get("/results?month=April").status_code == 422
    assert page_client.get("/results?page=0").status_code == 422


def test_predictions_cached_per_partition_and_model_version(
    make_client: Callable[..., TestClient],
    registry: Registry,
    champion: str,
    second_model: SmallModel,
    partition: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = make_client(admin_token="t0ken")

    def count_calls(model) -> list[int]:
        """Count the served featurizer's encodings of a frame (one per model run; still encode)."""
        featurizer, calls = model.loaded.pipeline.steps[0][1], []
        real = featurizer.transform
        monkeypatch.setattr(featurizer, "transform",
                            lambda frame: calls.append(len(frame)) or real(frame))
        return calls

    calls = count_calls(client.app.state.store.current)
    client.get("/results")
    client.get("/results?sort=title")
    client.get("/results?genre=Drama&per_page=1")
    assert calls == [len(FILMS)]  # one model run for the partition, then slices of the cache

    v2 = register(registry, second_model)
    assert client.post("/admin/reload", headers={"Authorization": "Bearer t0ken"}).json()[
        "model_version"] == v2
    new_calls = count_calls(client.app.state.store.current)
    html = client.get("/results").text
    client.get("/results?sort=title")
    assert new_calls == [len(FILMS)] and calls == [len(FILMS)]  # rescored once by the new model
    assert f'id="model-version">{v2}<' in html
    predictions = expected(second_model, partition)
    assert dict(rows(html)) == {title: f"{value:.2f}" for title, value in predictions.items()}


def test_clamped_predictions_are_marked(
    make_client: Callable[..., TestClient],
    registry: Registry,
    store: Storage,
    overshooting_model: SmallModel,
) -> None:
    register(registry, overshooting_model)
    films = [*FILMS, {"id": 4, "title": "Delta", "release_date": "2014-05-01",
                      "genres": OVERSHOOT_GENRE, "runtime": 95}]
    data = write_inference(store, films)
    assert expected(overshooting_model, data)["Delta"] > 10
    shown = dict(rows(make_client().get("/results").text))
    assert shown["Delta"] == "10.00*"
    assert all(not value.endswith("*") for title, value in shown.items() if title != "Delta")


def test_static_assets_are_vendored(page_client: TestClient) -> None:
    html = page_client.get("/results").text
    assert "/static/predict.js" in html
    assert page_client.get("/static/predict.js").status_code == 200
    assert page_client.get("/static/style.css").status_code == 200


def test_page_without_partition_explains(
    make_client: Callable[..., TestClient], champion: str
) -> None:
    html = make_client().get("/results").text
    assert "No inference partition" in html


def test_local_model_is_flagged_on_the_page(
    make_client: Callable[..., TestClient], registry: Registry, champion: str, tmp_path
) -> None:
    _, local = registry.export(champion, tmp_path / "local-model")
    client = make_client(**unreachable_store(local_model_dir=str(local)))
    html = client.get("/results").text
    assert "serving the local fallback bundle" in html
    assert f'id="model-version">{champion}<' in html
    assert "The inference data cannot be read right now" in html  # the same store is down
