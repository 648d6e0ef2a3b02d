"""One logical date end to end: fetch, enrich, process, then write each partition.

Everything is fetched and validated in memory before anything is written, so a
failed run (bad key, TMDB unreachable, a page failing after its retries, too
many rejected rows, overlapping splits) changes nothing that readers see: an
existing partition of D stays as it was and a new one does not appear. Each
partition is then replaced through ``write_partition`` (raw files, processed
CSV, manifest last). Outputs depend on D and the source only, never on the
wall clock, so re-running D on unchanged data writes identical bytes.
"""

from __future__ import annotations

import gzip
import json
import logging
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

from tmdb_collect import COLLECTOR_VERSION
from tmdb_collect.fetch import (
    DETAILS_APPEND,
    DISCOVER_PATH,
    GENRES_PATH,
    WindowPages,
    discover_windows,
    fetch_details,
    fetch_genres,
)
from tmdb_collect.process import Processed, process, to_csv_bytes
from tmdb_collect.tmdb_client import TMDBClient
from tmdb_collect.windows import Window, inference_window, train_windows
from tmdb_mlops import layout
from tmdb_mlops.config import Settings
from tmdb_mlops.errors import PlatformError
from tmdb_mlops.partitions import write_partition
from tmdb_mlops.schema import SCHEMA_VERSION, columns_for
from tmdb_mlops.storage import Storage, storage_from_settings

log = logging.getLogger(__name__)

SPLIT_CHOICES = (*layout.COLLECTION_SPLITS, layout.ALL_SPLITS)


class CollectError(PlatformError):
    """The collection of a logical date cannot be completed as asked."""


@dataclass
class Collected:
    """One split of one date, fetched and processed, not yet written."""

    split: str
    dt: date
    processed: Processed
    files: dict[str, bytes]
    manifest: dict[str, Any]

    @property
    def ids(self) -> set[int]:
        return set(self.processed.frame["id"].tolist())


def gzip_jsonl(records: list[Any]) -> bytes:
    """JSON lines, gzip with mtime 0 and no file name: same records, same bytes."""
    text = "".join(
        json.dumps(r, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"
        for r in records
    )
    return gzip.compress(text.encode("utf-8"), compresslevel=6, mtime=0)


def discover_filters(settings: Settings, split: str) -> dict[str, Any]:
    """The Discover filters of a split besides its release-date window."""
    filters: dict[str, Any] = {"include_adult": "false", "sort_by": "primary_release_date.asc"}
    if split == "train":
        filters["vote_count.gte"] = settings.collect_min_votes
    return filters


def windows_for(split: str, dt: date, settings: Settings) -> list[Window]:
    if split == "train":
        return train_windows(
            dt,
            history_start=settings.collect_history_start,
            slices=settings.collect_slices,
            settle_days=settings.collect_settle_days,
        )
    return [inference_window(dt, horizon_days=settings.collect_inference_horizon_days)]


def _raw_files(
    split: str,
    dt: date,
    *,
    pages: list[WindowPages],
    details: dict[int, dict[str, Any] | None] | None,
    genres_raw: dict[str, Any],
) -> dict[str, bytes]:
    prefix = layout.raw_prefix(split, dt)
    discover = [
        {"request": {"path": DISCOVER_PATH, "params": page.params}, "response": page.body}
        for wp in pages
        for page in wp.pages
    ]
    files = {
        f"{prefix}/genres.jsonl.gz": gzip_jsonl(
            [{"request": {"path": GENRES_PATH, "params": {}}, "response": genres_raw}]
        ),
        f"{prefix}/discover.jsonl.gz": gzip_jsonl(discover),
    }
    if details is not None:
        files[f"{prefix}/details.jsonl.gz"] = gzip_jsonl(
            [
                {
                    "request": {
                        "path": f"/movie/{movie_id}",
                        "params": {"append_to_response": DETAILS_APPEND},
                    },
                    "response": body,
                }
                for movie_id, body in sorted(details.items())
            ]
        )
    return files


def collect_split(
    client: TMDBClient,
    *,
    split: str,
    dt: date,
    settings: Settings,
    genres: dict[int, str],
    genres_raw: dict[str, Any],
) -> Collected:
    """Fetch and process one split of one date; raise before anything is written."""
    windows = windows_for(split, dt, settings)
    filters = discover_filters(settings, split)
    log.info("%s dt=%s: %d window(s) %s", split, dt, len(windows), [str(w) for w in windows])
    pages = discover_windows(client, windows, filters=filters, max_pages=settings.tmdb_max_pages)
    results = [movie for wp in pages for movie in wp.results]
    ids = [m["id"] for m in results if isinstance(m.get("id"), int) and not m.get("adult")]
    details = fetch_details(client, ids) if settings.collect_enrich else None
    processed = process(
        results,
        details=details,
        genres=genres,
        split=split,
        windows=windows,
        min_votes=settings.collect_min_votes if split == "train" else None,
    )
    limit = settings.collect_max_reject_fraction
    if processed.rejected_fraction > limit:
        summary = processed.rejected_summary()
        raise CollectError(
            f"{split} dt={dt}: {summary['count']} of {summary['count'] + len(processed.frame)} "
            f"rows rejected ({processed.rejected_fraction:.1%}, limit {limit:.1%}): "
            + ", ".join(f"{reason} x{n}" for reason, n in summary["by_reason"].items())
        )
    files = _raw_files(
        split, dt, pages=pages, details=details, genres_raw=genres_raw
    )
    files[layout.movies_key(split, dt)] = to_csv_bytes(processed.frame, split=split)
    manifest = {
        "stage": "collect",
        "collector_version": COLLECTOR_VERSION,
        "schema_version": SCHEMA_VERSION,
        "source": client.source,
        "logical_date": dt.isoformat(),
        "columns": list(columns_for(split)),
        "rows": len(processed.frame),
        "rejected": processed.rejected_summary(),
        "dropped": dict(sorted(processed.dropped.items())),
        "enriched": details is not None,
        "query": {
            "path": DISCOVER_PATH,
            "filters": filters,
            "requested_windows": [str(w) for w in windows],
            "windows": [wp.summary() for wp in pages],
            "max_pages": settings.tmdb_max_pages,
        },
    }
    return Collected(split=split, dt=dt, processed=processed, files=files, manifest=manifest)


def run_collect(
    *,
    logical_date: date,
    split: str,
    settings: Settings,
    storage: Storage | None = None,
    client: TMDBClient | None = None,
) -> list[dict[str, Any]]:
    """Collect one logical date's split(s) and write them; returns the manifests written.

    Raises:
        PlatformError: any failure, with one line naming the cause; nothing of the
            failed run is visible to readers.
    """
    if split not in SPLIT_CHOICES:
        raise CollectError(f"--split must be one of {', '.join(SPLIT_CHOICES)}, not {split!r}")
    started = time.monotonic()
    storage = storage or storage_from_settings(settings)
    if split == layout.OUTCOMES:  # the predicted films' settled ratings (issue #12)
        from tmdb_collect.outcomes import run_outcomes

        return [run_outcomes(logical_date=logical_date, settings=settings, storage=storage,
                             client=client)]
    storage.check()  # fail before spending any request on a store we cannot write
    own_client = client is None
    client = client or TMDBClient.from_settings(settings)
    try:
        genres, genres_raw = fetch_genres(client)
        splits = list(layout.SPLITS) if split == layout.ALL_SPLITS else [split]
        collected = [
            collect_split(
                client, split=s, dt=logical_date, settings=settings,
                genres=genres, genres_raw=genres_raw,
            )
            for s in splits
        ]
    finally:
        if own_client:
            client.close()
    if len(collected) == 2:
        shared = collected[0].ids & collected[1].ids
        if shared:
            raise CollectError(
                f"dt={logical_date}: {len(shared)} film(s) in both train and inference "
                f"(e.g. id {min(shared)}); nothing written"
            )
    manifests = []
    for item in collected:
        manifests.append(
            write_partition(
                storage, split=item.split, dt=item.dt, files=item.files, manifest=item.manifest
            )
        )
        log.info(
            "%s dt=%s: %d rows, %d rejected, written to %s/%s",
            item.split, item.dt, item.manifest["rows"], item.manifest["rejected"]["count"],
            storage.url, layout.processed_prefix(item.split, item.dt),
        )
    stats = client.stats
    log.info(
        "collected dt=%s in %.1fs: %d requests, %d retries, %d rate-limited",
        logical_date, time.monotonic() - started, stats["requests"], stats["retries"],
        stats["status_429"],
    )
    return manifests
