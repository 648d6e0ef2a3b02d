"""process.py on real TMDB responses (Fight Club, recorded from the API; see fixtures/README.md)."""

from __future__ import annotations

import copy
import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tmdb_collect.process import (
    build_row,
    certification_of,
    companies_of,
    process,
    to_csv_bytes,
    writers_of,
)
from tmdb_collect.windows import Window

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture
def details() -> dict[str, Any]:
    """GET /movie/550?append_to_response=credits,release_dates, from the three recorded responses."""
    body = load("tmdb_movie_550.json")
    credits = load("tmdb_movie_550_credits.json")
    release_dates = load("tmdb_movie_550_release_dates.json")
    return {
        **body,
        "credits": {k: v for k, v in credits.items() if k != "id"},
        "release_dates": {k: v for k, v in release_dates.items() if k != "id"},
    }


@pytest.fixture
def genres() -> dict[int, str]:
    return {g["id"]: g["name"] for g in load("tmdb_genre_movie_list.json")["genres"]}


def discover_result(details: dict[str, Any]) -> dict[str, Any]:
    """The Discover-list view of the film: the same fields, genre objects as ids."""
    fields = ("adult", "backdrop_path", "id", "original_language", "original_title", "overview",
              "popularity", "poster_path", "release_date", "title", "video", "vote_average",
              "vote_count")
    return {**{k: details[k] for k in fields}, "genre_ids": [g["id"] for g in details["genres"]]}


def test_a_real_details_response_maps_to_a_row(details, genres) -> None:
    row = build_row(discover_result(details), details=details, genres=genres, split="train")
    assert row["director"] == "David Fincher"  # the crew lists a producer before him
    assert row["writers"] == "Jim Uhls"  # the screenplay; Chuck Palahniuk is credited "Novel"
    assert row["production_companies"] == (
        "Fox 2000 Pictures|Regency Enterprises|The Linson Company|20th Century Fox|Taurus Film"
    )
    assert row["certification"] == "R"  # the US theatrical release (type 3)
    assert row["cast"] == "Edward Norton|Brad Pitt|Helena Bonham Carter|Meat Loaf|Jared Leto"
    assert row["genres"] == "Drama"
    assert row["production_countries"] == "DE|US"
    assert (row["runtime"], row["budget"], row["revenue"]) == (139, 63000000, 100853753)


def test_the_row_passes_validation_and_writes_the_new_columns(details, genres) -> None:
    window = [Window(date(1999, 1, 1), date(1999, 12, 31))]
    out = process([discover_result(details)], details={550: details}, genres=genres,
                  split="inference", windows=window)
    assert out.rejected == []
    (row,) = csv.DictReader(io.StringIO(to_csv_bytes(out.frame, split="inference").decode()))
    assert (row["writers"], row["certification"]) == ("Jim Uhls", "R")
    assert row["production_companies"].startswith("Fox 2000 Pictures|")


def test_certification_prefers_the_theatrical_release_then_any_us_one(details) -> None:
    changed = copy.deepcopy(details)
    us = next(c for c in changed["release_dates"]["results"] if c["iso_3166_1"] == "US")
    us["release_dates"] = [d for d in us["release_dates"] if d["type"] != 3]  # VHS "R" left
    assert certification_of(changed) == "R"
    us["release_dates"][-1]["certification"] = "Unrated"  # not a TMDB US certification
    assert certification_of(changed) == ""
    changed["release_dates"]["results"] = [
        c for c in changed["release_dates"]["results"] if c["iso_3166_1"] != "US"]
    assert certification_of(changed) == ""  # other countries' scales are not used
    assert certification_of({"id": 550}) == ""  # release_dates not appended


def test_writers_are_screenplay_and_writer_credits_deduplicated(details) -> None:
    crew = details["credits"]["crew"]
    novelist = next(c for c in crew if c["job"] == "Novel")
    crew.append({**novelist, "job": "Screenplay"})
    crew.append({**novelist, "job": "Writer"})  # the same person twice counts once
    crew.append({**novelist, "name": "A|B", "job": "Writer"})
    assert writers_of(details) == "Jim Uhls|Chuck Palahniuk|A/B"
    assert writers_of({"credits": {"cast": [], "crew": []}}) == ""


def test_missing_fields_give_empty_cells(details) -> None:
    assert companies_of({**details, "production_companies": []}) == ""
    assert companies_of({"id": 1}) == ""
    assert writers_of({"id": 1}) == ""
