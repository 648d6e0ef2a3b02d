"""bokeh-sampledata's films mapped to TMDB movie-details objects."""

from __future__ import annotations

import json

import pytest

from tmdb_collect.sandbox.dataset import (
    country,
    genres_of,
    language_code,
    load_bokeh_movies,
    load_jsonl_movies,
)
from tmdb_mlops.errors import ConfigError
from tmdb_mlops.genres import TMDB_GENRES

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def movies() -> dict[int, dict]:
    return {m["id"]: m for m in load_bokeh_movies()}


def test_every_film_of_the_database_is_served(movies: dict[int, dict]) -> None:
    assert len(movies) == 17472
    rated = [m for m in movies.values() if m["vote_count"] >= 20]
    assert len(rated) == 9570
    assert all(0 <= m["vote_average"] <= 10 for m in movies.values())


def test_a_known_film_maps_field_by_field(movies: dict[int, dict]) -> None:
    film = movies[595]  # The Intouchables
    assert film["title"] == film["original_title"] == "The Intouchables"
    assert film["release_date"] == "2011-01-01"
    assert film["original_language"] == "fr"
    assert film["runtime"] == 112
    assert film["revenue"] == 426588510
    assert film["budget"] == 0 and film["overview"] == "" and film["poster_path"] is None
    assert (film["vote_average"], film["vote_count"]) == (6.8, 129)
    assert film["popularity"] == 12.9
    assert [g["name"] for g in film["genres"]] == ["History", "Comedy", "Drama"]
    assert [c["iso_3166_1"] for c in film["production_countries"]] == ["FR"]
    crew = film["credits"]["crew"]
    assert [c["name"] for c in crew if c["job"] == "Director"] == [
        "Olivier Nakache", "Éric Toledano"]
    assert film["credits"]["cast"][0]["order"] == 0


def test_genres_use_tmdb_ids_and_names() -> None:
    assert genres_of("Sci-Fi, Musical, Sport, Drama") == [
        {"id": 878, "name": "Science Fiction"},
        {"id": 10402, "name": "Music"},
        {"id": 18, "name": "Drama"},
    ]
    assert len(TMDB_GENRES) == 19


@pytest.mark.parametrize(
    ("name", "code"),
    [("English", "en"), ("French", "fr"), ("Cantonese", "cn"), ("Mandarin", "zh"),
     ("Modern Greek", "el"), ("Dari", "fa"), ("Klingon-ish", None)],
)
def test_languages_become_iso_639_1(name: str, code: str | None) -> None:
    assert language_code(name) == code


@pytest.mark.parametrize(
    ("name", "code"),
    [("United States", "US"), ("United Kingdom", "GB"), ("West Germany", "DE"),
     ("Soviet Union", "SU"), ("People's Republic of China", "CN"), ("Atlantis", None)],
)
def test_countries_become_iso_3166_1(name: str, code: str | None) -> None:
    found = country(name)
    assert (found[0] if found else None) == code


def test_a_jsonl_snapshot_is_read_and_checked(tmp_path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps({"id": 1, "title": "A"}) + "\n\n" + json.dumps({"id": 2}) + "\n")
    assert [m["id"] for m in load_jsonl_movies(good)] == [1, 2]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\n')
    with pytest.raises(ConfigError, match="bad.jsonl:1"):
        load_jsonl_movies(bad)
