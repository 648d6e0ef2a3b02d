"""The results page on a fake model and a real local inference partition."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest

from tests.serve.fakes import FakeModel, FakeRegistry
from tmdb_mlops import layout
from tmdb_mlops.partitions import write_partition
from tmdb_mlops.schema import columns_for
from tmdb_mlops.storage import open_storage

pytestmark = pytest.mark.unit

FILMS = [
    {"id": 1, "title": "Alpha", "release_date": "2014-03-10", "genres": "Drama|Comedy",
     "runtime": 100, "poster_path": "/alpha.jpg", "director": "Ann Lee", "original_language": "en"},
    {"id": 2, "title": "<script>alert(1)</script>", "release_date": "2014-04-02",
     "genres": "Horror", "runtime": 90, "poster_path": "", "director": "", "original_language": "en"},
    {"id": 3, "title": "Gamma", "release_date": "2014-04-20", "genres": "Drama",
     "runtime": 300, "poster_path": "/g.jpg", "director": "Bo", "original_language": "fr"},
]


def write_inference(store_dir: Path, films: list[dict], dt: date = date(2014, 3, 1)) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns_for("inference")))
    writer.writeheader()
    for film in films:
        writer.writerow({name: film.get(name, "") for name in columns_for("inference")})
    storage = open_storage(str(store_dir))
    write_partition(storage, split="inference", dt=dt,
                    files={layout.movies_key("inference", dt): buffer.getvalue().encode()},
                    manifest={"rows": len(films)})


@pytest.fixture
def page_client(make_client, registry: FakeRegistry, tmp_path: Path):
    write_inference(tmp_path / "store", FILMS)
    return make_client(registry, poster_base_url="https://img.example/w185")


def test_rows_posters_charts_and_model_card(page_client) -> None:
    response = page_client.get("/results")
    assert response.status_code == 200
    html = response.text
    assert html.count('<tr class="film">') == 3
    assert "https://img.example/w185/alpha.jpg" in html
    assert html.count("<img ") == 2  # no poster_path, no image
    assert html.count("<svg") == 3
    assert 'id="model-version">v1<' in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "cdn" not in html.lower()


def test_sorted_by_prediction_by_default_and_sortable(page_client) -> None:
    html = page_client.get("/results").text
    assert html.index("Gamma") < html.index("Alpha")  # 8.5 before 7.0
    html = page_client.get("/results?sort=title&order=asc").text
    assert html.index("Alpha") < html.index("Gamma")


def test_filter_by_genre_and_month_and_paginate(page_client) -> None:
    html = page_client.get("/results?genre=Drama").text
    assert html.count('<tr class="film">') == 2
    html = page_client.get("/results?month=2014-04").text
    assert html.count('<tr class="film">') == 2 and "Alpha" not in html.split("films-table")[1]
    html = page_client.get("/results?per_page=2&page=2").text
    assert html.count('<tr class="film">') == 1 and "page 2 of 2" in html


def test_bad_query_parameters_are_422(page_client) -> None:
    assert page_client.get("/results?sort=evil").status_code == 422
    assert page_client.get("/results?month=April").status_code == 422
    assert page_client.get("/results?page=0").status_code == 422


def test_predictions_cached_per_partition_and_model_version(page_client, registry) -> None:
    model = registry.models["v1"]
    page_client.get("/results")
    calls = model.calls
    page_client.get("/results?sort=title")
    page_client.get("/results?genre=Drama")
    assert model.calls == calls


def test_static_assets_are_vendored(page_client) -> None:
    html = page_client.get("/results").text
    assert "/static/predict.js" in html
    assert page_client.get("/static/predict.js").status_code == 200
    assert page_client.get("/static/style.css").status_code == 200


def test_page_without_partition_explains(make_client, registry) -> None:
    html = make_client(registry).get("/results").text
    assert "No inference partition" in html


def test_local_model_is_flagged_on_the_page(make_client, tmp_path) -> None:
    write_inference(tmp_path / "store", FILMS)
    client = make_client(FakeRegistry(down=True), local=FakeModel("l1", source="local"))
    html = client.get("/results").text
    assert "serving the local fallback bundle" in html
