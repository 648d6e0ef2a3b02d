"""Raw Discover results and details -> typed, validated rows of the processed schema.

The columns, their order and dtypes come from ``tmdb_mlops.schema`` (the
contract with the trainer and the server); this module only fills them:
genre ids become names through TMDB's genre list, the director is the first
crew member whose job is "Director", the cast is the five top-billed names, the
writers are the Writing crew credited for the screenplay (jobs "Screenplay" and
"Writer"), the production companies are the first names of
``production_companies``, the certification is the US theatrical one from
``release_dates`` (see :func:`certification_of`),
TMDB's 0 for an unknown budget, runtime or revenue becomes empty, adult titles
and duplicate ids are dropped, and rows that break the checks of the shared
pandera schema (``tmdb_mlops.validation``) are rejected with a reason. The CSV
is written with fixed float formatting and rows sorted by id, so the same
source gives the same bytes.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd
import pandera.pandas as pa

from tmdb_collect.windows import Window
from tmdb_mlops.errors import PlatformError
from tmdb_mlops.inputs import MAX_COMPANIES, MAX_WRITERS, US_CERTIFICATIONS
from tmdb_mlops.schema import LIST_SEPARATOR, columns_for
from tmdb_mlops.validation import empty_to_missing, processed_schema

TOP_CAST = 5
#: Crew jobs (department Writing) that credit the screenplay: the film's writers.
WRITER_JOBS = frozenset({"Screenplay", "Writer"})
THEATRICAL = 3  # TMDB's release type for a theatrical release


class ProcessingError(PlatformError):
    """The processed rows cannot satisfy the schema (a bug, not bad data)."""


@dataclass
class Processed:
    """The rows that passed, and why the others did not."""

    frame: pd.DataFrame
    rejected: list[dict[str, Any]] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)

    @property
    def rejected_fraction(self) -> float:
        total = len(self.frame) + len(self.rejected)
        return len(self.rejected) / total if total else 0.0

    def rejected_summary(self, *, limit: int = 100) -> dict[str, Any]:
        """What the manifest records: counts by reason and the first rows."""
        reasons = Counter(r["reason"] for r in self.rejected)
        return {
            "count": len(self.rejected),
            "by_reason": dict(sorted(reasons.items())),
            "rows": sorted(self.rejected, key=lambda r: (r["id"], r["reason"]))[:limit],
        }


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _joined(values: list[Any]) -> str:
    """A list field: names joined by "|" (a "|" inside a name would split it, so "/")."""
    parts = [_text(v).replace(LIST_SEPARATOR, "/") for v in values]
    return LIST_SEPARATOR.join(p for p in parts if p)


def _positive(value: Any) -> float | None:
    """TMDB writes 0 (or null) for unknown amounts: keep only positive numbers."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def director_of(details: dict[str, Any]) -> str:
    crew = (details.get("credits") or {}).get("crew") or []
    return next((_text(c.get("name")) for c in crew if c.get("job") == "Director"), "")


def cast_of(details: dict[str, Any]) -> str:
    cast = (details.get("credits") or {}).get("cast") or []
    billed = sorted(cast, key=lambda c: (c.get("order", math.inf), _text(c.get("name"))))
    return _joined([c.get("name") for c in billed[:TOP_CAST]])


def _first_unique(names: list[Any], limit: int) -> str:
    """The first ``limit`` distinct non-empty names, joined (a name credited twice counts once)."""
    kept: list[str] = []
    for name in names:
        cell = _text(name).replace(LIST_SEPARATOR, "/")
        if cell and cell not in kept:
            kept.append(cell)
    return LIST_SEPARATOR.join(kept[:limit])


def writers_of(details: dict[str, Any]) -> str:
    """Screenplay and writer credits in crew order (not "Novel", "Story", ...), de-duplicated."""
    crew = (details.get("credits") or {}).get("crew") or []
    return _first_unique(
        [c.get("name") for c in crew
         if c.get("department") == "Writing" and c.get("job") in WRITER_JOBS],
        MAX_WRITERS,
    )


def companies_of(details: dict[str, Any]) -> str:
    """The production companies' names in TMDB's order."""
    companies = details.get("production_companies") or []
    return _first_unique([c.get("name") for c in companies if isinstance(c, dict)], MAX_COMPANIES)


def certification_of(details: dict[str, Any]) -> str:
    """The US certification from ``append_to_response=release_dates``; empty when none.

    The theatrical release's (type 3) certification is preferred, else the first
    non-empty US one. Only TMDB's US certifications (``US_CERTIFICATIONS``) are
    kept; anything else (a typo, another country's scale) is treated as unknown.
    """
    countries = (details.get("release_dates") or {}).get("results") or []
    dates = [
        entry
        for country in countries
        if isinstance(country, dict) and country.get("iso_3166_1") == "US"
        for entry in country.get("release_dates") or []
        if isinstance(entry, dict) and _text(entry.get("certification"))
    ]
    dates.sort(key=lambda entry: entry.get("type") != THEATRICAL)  # stable: theatrical first
    for entry in dates:
        certification = _text(entry.get("certification")).upper()
        if certification in US_CERTIFICATIONS:
            return certification
    return ""


def build_row(
    movie: dict[str, Any],
    *,
    details: dict[str, Any] | None,
    genres: dict[int, str],
    split: str,
) -> dict[str, Any]:
    """One Discover result (plus its details) as a row of the split's columns."""
    details = details or {}
    row: dict[str, Any] = {
        "id": movie.get("id"),
        "title": _text(movie.get("title")),
        "original_title": _text(movie.get("original_title")),
        "original_language": _text(movie.get("original_language")),
        "overview": _text(movie.get("overview")),
        "release_date": _text(movie.get("release_date")),
        "genres": _joined([genres.get(g) for g in movie.get("genre_ids") or []]),
        "runtime": _positive(details.get("runtime")),
        "budget": _positive(details.get("budget")),
        "production_countries": _joined(
            [c.get("iso_3166_1") for c in details.get("production_countries") or []]
        ),
        "director": director_of(details),
        "cast": cast_of(details),
        "writers": writers_of(details),
        "production_companies": companies_of(details),
        "certification": certification_of(details),
        "poster_path": _text(movie.get("poster_path")),
        "vote_average": movie.get("vote_average"),
        "vote_count": movie.get("vote_count"),
        "popularity": movie.get("popularity"),
        "revenue": _positive(details.get("revenue")),
    }
    return {name: row[name] for name in columns_for(split)}


def _row_problem(
    movie: dict[str, Any], *, windows: list[Window], min_votes: int | None
) -> str | None:
    """Why a result does not belong to this split's window, if it does not."""
    if not isinstance(movie.get("id"), int):
        return "no integer id"
    released = _text(movie.get("release_date"))
    if not released:
        return "no release date"
    try:
        day = date.fromisoformat(released)
    except ValueError:
        return "release date is not a date"
    if not any(window.contains(day) for window in windows):
        return "release date outside the query range"
    if min_votes is not None and not isinstance(movie.get("vote_count"), int):
        return "no vote_count"
    if min_votes is not None and movie["vote_count"] < min_votes:
        return "vote_count below the minimum"
    return None


def _frame(rows: list[dict[str, Any]], split: str) -> pd.DataFrame:
    """Rows as the split's typed frame; empty text is missing, as the CSV reads back."""
    return typed_frame(rows, columns_for(split))


def typed_frame(rows: list[dict[str, Any]], columns: Mapping[str, str]) -> pd.DataFrame:
    """Rows as a frame of ``columns`` (name -> dtype); empty text is missing, as the CSV reads back."""
    frame = pd.DataFrame(rows, columns=list(columns))
    for name, dtype in columns.items():
        if dtype == "string":
            frame[name] = frame[name].astype("string")
        else:
            frame[name] = pd.to_numeric(frame[name], errors="coerce")
            if dtype == "int64" and frame[name].notna().all():
                frame[name] = frame[name].astype("int64")
            elif dtype == "float64":
                frame[name] = frame[name].astype("float64")
    return empty_to_missing(frame)


def process(
    results: list[dict[str, Any]],
    *,
    details: dict[int, dict[str, Any] | None] | None,
    genres: dict[int, str],
    split: str,
    windows: list[Window],
    min_votes: int | None = None,
) -> Processed:
    """Discover results (and details when enriched) -> validated rows, sorted by id.

    Args:
        details: film id -> details; None when enrichment is off. A film whose
            details are None (HTTP 404) is rejected.
        windows: the release-date windows queried; a result outside them is rejected,
            which keeps leakage between the splits impossible whatever the API returns.
        min_votes: the train split's vote floor (None for inference).
    """
    rejected: list[dict[str, Any]] = []
    dropped: Counter[str] = Counter()
    seen: set[int] = set()
    rows: list[dict[str, Any]] = []
    for movie in results:
        if movie.get("adult"):
            dropped["adult"] += 1
            continue
        problem = _row_problem(movie, windows=windows, min_votes=min_votes)
        movie_id = movie.get("id")
        if problem is None and movie_id in seen:
            dropped["duplicate id"] += 1
            continue
        if problem is None and details is not None and details.get(movie_id) is None:
            problem = "details not found (HTTP 404)"
        if problem is not None:
            rejected.append({"id": movie_id if isinstance(movie_id, int) else None,
                             "reason": problem})
            continue
        seen.add(movie_id)
        rows.append(
            build_row(movie, details=(details or {}).get(movie_id), genres=genres, split=split)
        )
    frame = _frame(rows, split)
    schema = processed_schema(split)
    try:
        valid = schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        bad_rows = cases[cases["index"].notna()]
        if len(bad_rows) != len(cases):
            raise ProcessingError(
                f"processed {split} rows do not fit the schema: "
                + "; ".join(f"{c.column}: {c.check}" for c in cases.itertuples())
            ) from None
        reasons: dict[int, str] = {}
        for case in bad_rows.itertuples():
            reasons.setdefault(int(case.index), f"{case.column} fails {case.check}")
        for index, reason in sorted(reasons.items()):
            rejected.append({"id": int(frame.at[index, "id"]), "reason": reason})
        frame = frame.drop(index=list(reasons)).reset_index(drop=True)
        valid = schema.validate(_frame(frame.to_dict("records"), split))
    valid = valid.sort_values("id", kind="stable").reset_index(drop=True)
    return Processed(frame=valid, rejected=rejected, dropped=dropped)


def format_value(value: Any) -> str:
    """One CSV cell: empty for missing, integers without ".0", floats in shortest repr."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        rounded = round(value, 6)
        return str(int(rounded)) if rounded.is_integer() else repr(rounded)
    return str(value)


def to_csv_bytes(frame: pd.DataFrame, *, split: str) -> bytes:
    """The processed CSV: the split's columns in order, rows sorted by id, fixed formats."""
    columns = list(columns_for(split))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    ordered = frame[columns].sort_values("id", kind="stable")
    for record in ordered.astype(object).itertuples(index=False, name=None):
        writer.writerow(
            [format_value(v.item() if hasattr(v, "item") else v) for v in record]
        )
    return buffer.getvalue().encode("utf-8")
