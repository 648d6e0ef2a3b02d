"""Raw results -> processed rows: mapping, drops, rejections, exact and stable CSV bytes."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from tmdb_collect.process import process, to_csv_bytes
from tmdb_collect.windows import Window
from tmdb_mlops.schema import POST_RELEASE_COLUMNS, columns_for

pytestmark = pytest.mark.unit

GENRES = {18: "Drama", 35: "Comedy", 878: "Science Fiction"}
WINDOW = [Window(date(2013, 1, 1), date(2013, 12, 31))]


def result(movie_id: int, **fields: object) -> dict:
    return {
        "id": movie_id,
        "title": f"Film {movie_id}",
        "original_title": f"Film {movie_id}",
        "original_language": "en",
        "overview": "A film.",
        "release_date": "2013-05-01",
        "genre_ids": [35, 878],
        "popularity": 12.3456789,
        "poster_path": "/p.jpg",
        "vote_average": 7.25,
        "vote_count": 120,
        "adult": False,
        **fields,
    }


def details(movie_id: int, **fields: object) -> dict:
    return {
        "id": movie_id,
        "runtime": 101,
        "budget": 0,
        "revenue": 2500000,
        "production_countries": [{"iso_3166_1": "FR", "name": "France"},
                                 {"iso_3166_1": "US", "name": "United States"}],
        "credits": {
            "cast": [{"name": f"Actor {i}", "order": i} for i in (6, 2, 0, 1, 5, 3, 4)],
            "crew": [{"name": "Writer W", "job": "Screenplay"},
                     {"name": "First Director", "job": "Director"},
                     {"name": "Second Director", "job": "Director"}],
        },
        **fields,
    }


def rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode())))


def test_a_film_maps_to_the_schema_columns() -> None:
    out = process([result(7)], details={7: details(7)}, genres=GENRES, split="train",
                  windows=WINDOW, min_votes=20)
    data = to_csv_bytes(out.frame, split="train")
    header = data.decode().splitlines()[0].split(",")
    assert header == list(columns_for("train"))
    (row,) = rows(data)
    assert row["genres"] == "Comedy|Science Fiction"
    assert row["production_countries"] == "FR|US"
    assert row["director"] == "First Director"
    assert row["cast"] == "Actor 0|Actor 1|Actor 2|Actor 3|Actor 4"
    assert row["runtime"] == "101"
    assert row["budget"] == ""  # TMDB's 0 means unknown
    assert row["revenue"] == "2500000"
    assert row["vote_average"] == "7.25"
    assert row["popularity"] == "12.345679"
    assert row["release_date"] == "2013-05-01"


def test_inference_rows_have_no_rating_columns() -> None:
    out = process([result(7)], details={7: details(7)}, genres=GENRES, split="inference",
                  windows=WINDOW)
    header = to_csv_bytes(out.frame, split="inference").decode().splitlines()[0].split(",")
    assert header == list(columns_for("inference"))
    assert not set(POST_RELEASE_COLUMNS) & set(header)


def test_adult_titles_and_duplicate_ids_are_dropped() -> None:
    out = process([result(1), result(2, adult=True), result(1)], details=None, genres=GENRES,
                  split="train", windows=WINDOW, min_votes=20)
    assert out.frame["id"].tolist() == [1]
    assert out.dropped == {"adult": 1, "duplicate id": 1}
    assert out.rejected == []


def test_bad_rows_are_rejected_with_a_reason() -> None:
    results = [
        result(1),
        result(2, release_date=""),
        result(3, release_date="2012-12-31"),
        result(4, vote_average=11.0),
        result(5, vote_count=3),
        result(6),
    ]
    found = {i: details(i) for i in range(1, 6)} | {6: None}
    out = process(results, details=found, genres=GENRES, split="train", windows=WINDOW,
                  min_votes=20)
    assert out.frame["id"].tolist() == [1]
    reasons = {r["id"]: r["reason"] for r in out.rejected}
    assert reasons[2] == "no release date"
    assert reasons[3] == "release date outside the query range"
    assert reasons[4].startswith("vote_average fails")
    assert reasons[5] == "vote_count below the minimum"
    assert reasons[6] == "details not found (HTTP 404)"
    assert out.rejected_fraction == pytest.approx(5 / 6)
    assert out.rejected_summary()["count"] == 5


def test_csv_is_sorted_by_id_and_identical_for_the_same_input() -> None:
    results = [result(30), result(10, title='Quote "and, comma"'), result(20)]
    first = to_csv_bytes(process(results, details=None, genres=GENRES, split="train",
                                 windows=WINDOW, min_votes=0).frame, split="train")
    second = to_csv_bytes(process(list(reversed(results)), details=None, genres=GENRES,
                                  split="train", windows=WINDOW, min_votes=0).frame,
                          split="train")
    assert first == second
    assert [r["id"] for r in rows(first)] == ["10", "20", "30"]
    assert rows(first)[0]["title"] == 'Quote "and, comma"'


def test_an_empty_window_gives_a_header_only_csv() -> None:
    out = process([], details={}, genres=GENRES, split="inference", windows=WINDOW)
    assert to_csv_bytes(out.frame, split="inference").decode() == (
        ",".join(columns_for("inference")) + "\n"
    )
