"""The outcomes split (issue #12): the settled rating of exactly the films that were predicted.

A prediction is made before a film's release; its truth is the rating the film
has once it has settled, ``COLLECT_SETTLE_DAYS`` after the release. The
rotating training slices reach a given film only once every ``COLLECT_SLICES``
days, so the outcomes are collected on their own: for the logical date D, the
films of ``predictions/`` (any model version) whose rating settled in the
``COLLECT_OUTCOMES_WINDOW_DAYS`` days up to D, i.e. released in
``[D - settle - window + 1, D - settle]``, each fetched once with ``/movie/{id}``
(the same request and raw format as the other splits' details).

With the default window of 1 day each film is fetched once, on the day its
rating settles; a missed day is filled by running its date, like every
partition. A larger window fetches each film on several days (the monitor uses
the latest outcome on or before its date); the demo uses one to collect a
whole stretch of sandbox time at once.

What D collects depends only on D, the settings and the predictions made up to
D - settle, never on the wall clock, so re-running D on an unchanged source
writes the same bytes. Nothing is written before everything is fetched and
validated; the partition is ``raw/outcomes/dt=D/details.jsonl.gz`` and
``processed/outcomes/dt=D/movies.csv`` (columns ``tmdb_mlops.schema.OUTCOME_COLUMNS``),
manifest last. A date with nothing to collect still gets its (empty) partition:
the date was looked at.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pandas as pd
import pandera.pandas as pa

from tmdb_collect import COLLECTOR_VERSION
from tmdb_collect.collect import gzip_jsonl
from tmdb_collect.fetch import fetch_details
from tmdb_collect.process import to_csv_bytes, typed_frame
from tmdb_collect.tmdb_client import TMDBClient
from tmdb_mlops import layout
from tmdb_mlops.config import Settings
from tmdb_mlops.errors import PlatformError
from tmdb_mlops.partitions import sha256_hex, write_partition
from tmdb_mlops.predictions import list_predictions, read_predictions
from tmdb_mlops.schema import OUTCOME_COLUMNS
from tmdb_mlops.storage import Storage
from tmdb_mlops.validation import processed_schema

log = logging.getLogger(__name__)

SPLIT = layout.OUTCOMES


class OutcomesError(PlatformError):
    """The outcomes of a date cannot be collected as asked."""


@dataclass(frozen=True)
class MaturedFilms:
    """The predicted films whose rating settled in the window, and where they came from."""

    released_from: date
    released_to: date
    release_dates: dict[int, str]
    read: list[dict[str, Any]]


def matured_films(
    storage: Storage, *, dt: date, settle_days: int, window_days: int, horizon_days: int
) -> MaturedFilms:
    """The ids (and release dates) of the predicted films whose rating settled in the window.

    A film released on R was predicted on a date in [R - horizon, R], so only
    the predictions folders of those dates are read. A film predicted on several
    dates keeps the release date of its latest prediction.
    """
    released_to = dt - timedelta(days=settle_days)
    released_from = released_to - timedelta(days=window_days - 1)
    oldest = released_from - timedelta(days=horizon_days)
    latest: dict[int, tuple[str, str]] = {}  # id -> (prediction dt, release date)
    read = []
    for made_on, version in list_predictions(storage):
        if not oldest <= made_on <= released_to:
            continue
        manifest_bytes = storage.read_bytes(layout.predictions_manifest_key(made_on, version))
        frame = read_predictions(storage, made_on, version, json.loads(manifest_bytes))
        if frame is None:
            continue
        read.append({"dt": made_on.isoformat(), "model": version,
                     "manifest_sha256": sha256_hex(manifest_bytes), "rows": len(frame)})
        for film_id, released in zip(frame["id"], frame["release_date"], strict=True):
            if pd.isna(released):
                continue
            key = int(film_id)
            if key not in latest or latest[key][0] <= made_on.isoformat():
                latest[key] = (made_on.isoformat(), str(released))
    window = (released_from.isoformat(), released_to.isoformat())
    chosen = {fid: rel for fid, (_, rel) in sorted(latest.items()) if window[0] <= rel <= window[1]}
    return MaturedFilms(released_from=released_from, released_to=released_to,
                        release_dates=chosen, read=read)


def outcome_row(details: dict[str, Any]) -> dict[str, Any]:
    """One details object as an outcomes row (rating fields as TMDB has them now)."""
    return {
        "id": details.get("id"),
        "release_date": str(details.get("release_date") or "").strip() or None,
        "vote_average": details.get("vote_average"),
        "vote_count": details.get("vote_count"),
        "popularity": details.get("popularity"),
    }


def validate_rows(rows: list[dict[str, Any]]) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The rows that pass the outcomes schema, and the others with a reason."""
    frame = typed_frame(rows, OUTCOME_COLUMNS)
    schema = processed_schema(SPLIT)
    try:
        return schema.validate(frame, lazy=True).sort_values("id").reset_index(drop=True), []
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        reasons: dict[int, str] = {}
        for case in cases[cases["index"].notna()].itertuples():
            reasons.setdefault(int(case.index), f"{case.column} fails {case.check}")
        rejected = [{"id": rows[i].get("id"), "reason": reason} for i, reason in sorted(reasons.items())]
        kept = [row for i, row in enumerate(rows) if i not in reasons]
        valid = schema.validate(typed_frame(kept, OUTCOME_COLUMNS)).sort_values("id").reset_index(drop=True)
        return valid, rejected


def run_outcomes(
    *,
    logical_date: date,
    settings: Settings,
    storage: Storage,
    client: TMDBClient | None = None,
) -> dict[str, Any]:
    """Collect and write the outcomes of one logical date; returns the manifest written.

    Raises:
        PlatformError: TMDB or the store failed, or too many rows were rejected;
            nothing of the failed run is visible to readers.
    """
    storage.check()
    films = matured_films(
        storage, dt=logical_date, settle_days=settings.collect_settle_days,
        window_days=settings.collect_outcomes_window_days,
        horizon_days=settings.collect_inference_horizon_days,
    )
    ids = sorted(films.release_dates)
    log.info("outcomes dt=%s: %d predicted films released %s..%s have settled",
             logical_date, len(ids), films.released_from, films.released_to)
    details: dict[int, dict[str, Any] | None] = {}
    source = None
    if ids:
        own = client is None
        client = client or TMDBClient.from_settings(settings)
        try:
            details = fetch_details(client, ids)
            source = client.source
        finally:
            if own:
                client.close()
    missing = [film_id for film_id, body in details.items() if body is None]
    frame, rejected = validate_rows([outcome_row(body) for _, body in sorted(details.items())
                                     if body is not None])
    fetched = len(details) - len(missing)
    limit = settings.collect_max_reject_fraction
    if fetched and len(rejected) / fetched > limit:
        raise OutcomesError(
            f"outcomes dt={logical_date}: {len(rejected)} of {fetched} rows rejected "
            f"(limit {limit:.1%}): " + ", ".join(sorted({r['reason'] for r in rejected}))
        )
    raw = layout.raw_prefix(SPLIT, logical_date)
    files = {
        f"{raw}/details.jsonl.gz": gzip_jsonl([
            {"request": {"path": f"/movie/{film_id}",
                         "params": {"append_to_response": "credits,release_dates"}},
             "response": body}
            for film_id, body in sorted(details.items())
        ]),
        layout.movies_key(SPLIT, logical_date): to_csv_bytes(frame, split=SPLIT),
    }
    manifest = {
        "stage": "collect",
        "collector_version": COLLECTOR_VERSION,
        "logical_date": logical_date.isoformat(),
        "source": source,
        "columns": list(OUTCOME_COLUMNS),
        "rows": len(frame),
        "requested": len(ids),
        "not_found": missing[:100],
        "not_found_count": len(missing),
        "rejected": {"count": len(rejected), "rows": rejected[:100]},
        "settle_days": settings.collect_settle_days,
        "window_days": settings.collect_outcomes_window_days,
        "released_between": [films.released_from.isoformat(), films.released_to.isoformat()],
        "predictions_read": films.read,
    }
    written = write_partition(storage, split=SPLIT, dt=logical_date, files=files, manifest=manifest)
    log.info("outcomes dt=%s: %d rows (%d not found, %d rejected), written to %s/%s",
             logical_date, len(frame), len(missing), len(rejected), storage.url,
             layout.processed_prefix(SPLIT, logical_date))
    return written
