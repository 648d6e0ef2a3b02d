"""bokeh-sampledata's films mapped to TMDB movie-details objects."""

from __future__ import annotations

import json

import pytest

from tmdb_collect.sandbox.dataset import (
    company_ids,
    country,
    genres_of,
    language_code,
    load_bokeh_movies,
    load_jsonl_movies,
    release_dates_of,
    writer_credits,
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
    writers = [(c["name"], c["department"], c["job"]) for c in crew if c["department"] == "Writing"]
    assert writers == [("Olivier Nakache", "Writing", "Writer"), ("Éric Toledano", "Writing", "Writer")]
    assert [(c["name"], c["logo_path"], c["origin_country"]) for c in film["production_companies"]] == [
        ("Gaumont", None, ""), ("TF1", None, "")]
    assert all(isinstance(c["id"], int) and c["id"] > 0 for c in film["production_companies"])
    (us,) = film["release_dates"]["results"]
    assert us["iso_3166_1"] == "US"
    assert [(r["certification"], r["type"]) for r in us["release_dates"]] == [("R", 3)]


def test_the_source_s_pre_release_fields_are_served(movies: dict[int, dict]) -> None:
    """Writers, companies and certifications cover as much as the source holds."""
    rated = [m for m in movies.values() if m["vote_count"] >= 20]
    with_writers = sum(any(c["department"] == "Writing" for c in m["credits"]["crew"])
                       for m in rated)
    with_companies = sum(bool(m["production_companies"]) for m in rated)
    certified = [m["release_dates"]["results"][0]["release_dates"][0]["certification"]
                 for m in rated if m["release_dates"]["results"]]
    assert with_writers == 8116 and with_companies == 6161 and len(certified) == 2038
    assert set(certified) == {"G", "PG", "PG-13", "R", "NC-17"}
    ids = {c["name"]: c["id"] for m in movies.values() for c in m["production_companies"]}
    assert len(set(ids.values())) == len(ids)  # one id per company, the same in every film


@pytest.mark.parametrize(
    ("text", "credits"),
    [
        ("Jonathan Nolan (screenplay), Christopher Nolan (screenplay), David S. Goyer (story)",
         [("Jonathan Nolan", "Screenplay"), ("Christopher Nolan", "Screenplay"),
          ("David S. Goyer", "Story")]),
        ("Mario Puzo (novel), Mario Puzo (screenplay), Francis Ford Coppola (screenplay)",
         [("Mario Puzo", "Novel"), ("Mario Puzo", "Screenplay"),
          ("Francis Ford Coppola", "Screenplay")]),
        ("Stan Lee (characters), Zak Penn (story and screenplay)",
         [("Stan Lee", "Characters"), ("Zak Penn", "Story"), ("Zak Penn", "Screenplay")]),
        ("Claire Denis, Jean-Pol Fargeau", [("Claire Denis", "Writer"), ("Jean-Pol Fargeau", "Writer")]),
        ("Sergeĭ (Sergeĭ Vasilʹevich) Kostin", [("Sergeĭ (Sergeĭ Vasilʹevich) Kostin", "Writer")]),
        ("Martin Luther King, Jr., A (written by), A", [("Martin Luther King Jr.", "Writer"),
                                                       ("A", "Writer")]),
        (None, []),
        ("", []),
    ],
)
def test_omdb_writers_become_tmdb_writing_credits(text, credits) -> None:
    assert writer_credits(text) == credits


@pytest.mark.parametrize(
    ("rating", "certification"),
    [("PG-13", "PG-13"), ("R", "R"), ("GP", "PG"), ("M/PG", "PG"), ("X", "NC-17"),
     ("N/A", None), ("UNRATED", None), ("NOT RATED", None), (None, None)],
)
def test_omdb_ratings_become_us_certifications(rating, certification) -> None:
    found = release_dates_of(rating, "1999-10-15")["results"]
    if certification is None:
        assert found == []
    else:
        assert found == [{"iso_3166_1": "US", "release_dates": [{
            "certification": certification, "descriptors": [], "iso_639_1": "", "note": "",
            "release_date": "1999-10-15T00:00:00.000Z", "type": 3}]}]


def test_company_ids_are_stable_positions_of_the_sorted_names() -> None:
    assert company_ids(["b", "a", "b", "c"]) == {"a": 1, "b": 2, "c": 3}


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
