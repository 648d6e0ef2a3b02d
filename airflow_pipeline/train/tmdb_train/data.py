"""Stage 1: read the processed train partitions up to the as-of date, verified and validated.

Only partitions with a manifest exist (a partition being rewritten has none),
every file is checked against its manifest's sha256, each partition is
validated with the one processed schema the collector wrote it with
(``tmdb_mlops.validation``), and a film collected on several dates keeps its
most recent row.

A partition written with an older schema version (its manifest's
``schema_version``; or, without one, a header that is exactly an older version's
columns) is read too: the columns added since are filled as missing, which is
what the featurizer reads for a film whose source lacked them.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import pandas as pd
import pandera.pandas as pa

from tmdb_mlops import layout
from tmdb_mlops.errors import PlatformError
from tmdb_mlops.partitions import list_partitions, read_verified, sha256_hex
from tmdb_mlops.schema import SCHEMA_VERSION, columns_for
from tmdb_mlops.storage import Storage
from tmdb_mlops.validation import processed_schema, summarise

log = logging.getLogger(__name__)

# Fewer rows than this cannot give a holdout, an early-stopping split and 5 folds.
MIN_TRAINING_ROWS = 50


class TrainingDataError(PlatformError):
    """The training set is empty or violates the processed schema."""


@dataclass(frozen=True)
class TrainingData:
    """The de-duplicated training rows and the partitions they came from."""

    frame: pd.DataFrame
    partitions: list[dict[str, Any]]
    rows_read: int

    def without_frame(self) -> TrainingData:
        """The lineage without the rows, once a split holds them (a million films: ~1 GB)."""
        return replace(self, frame=self.frame.iloc[:0].copy())  # a view would pin the rows


def validate(frame: pd.DataFrame, *, where: str) -> pd.DataFrame:
    """Coerce and check one frame; every violation summarised on one line."""
    try:
        return processed_schema("train").validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        raise TrainingDataError(
            f"{where}: {len(cases)} schema violation(s): {summarise(cases)}"
        ) from None


def read_partition(storage: Storage, dt: date) -> tuple[pd.DataFrame, dict[str, Any]]:
    """One verified partition as a validated frame, and its provenance record."""
    manifest_bytes = storage.read_bytes(layout.manifest_key("train", dt))
    import json

    manifest = json.loads(manifest_bytes)
    key = layout.movies_key("train", dt)
    data = read_verified(storage, key, manifest)
    where = f"{storage.url}/{key}"
    try:
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, na_values=[""])
    except (ValueError, pd.errors.ParserError) as exc:
        raise TrainingDataError(f"{where}: not a readable CSV ({exc})") from None
    version = schema_version_of(list(frame.columns), manifest, where=where)
    if version != SCHEMA_VERSION:
        log.info("%s: schema version %d; the columns added since are read as missing",
                 where, version)
        frame = frame.reindex(columns=list(columns_for("train")))
    frame = validate(frame, where=where)
    info = {
        "dt": dt.isoformat(),
        "manifest_sha256": sha256_hex(manifest_bytes),
        "files": {key: manifest["files"][key]["sha256"]},
        "rows": len(frame),
        "schema_version": version,
    }
    return frame, info


def schema_version_of(header: list[str], manifest: dict[str, Any], *, where: str) -> int:
    """The schema version a partition was written with, checked against its header.

    The manifest's ``schema_version`` when it has one (the header must then be
    exactly that version's columns); otherwise the version whose columns the
    header is exactly.

    Raises:
        TrainingDataError: an unknown version, or a header matching no version.
    """
    stated = manifest.get("schema_version")
    if stated is not None and not (isinstance(stated, int) and 1 <= stated <= SCHEMA_VERSION):
        raise TrainingDataError(
            f"{where}: written with schema version {stated!r}; this trainer reads 1..{SCHEMA_VERSION}"
        )
    candidates = [stated] if stated is not None else range(SCHEMA_VERSION, 0, -1)
    for version in candidates:
        if header == list(columns_for("train", version=version)):
            return version
    expected = list(columns_for("train", version=stated or SCHEMA_VERSION))
    missing = sorted(set(expected) - set(header))
    extra = sorted(set(header) - set(expected))
    raise TrainingDataError(
        f"{where}: columns do not match the processed schema"
        f"{f' version {stated}' if stated is not None else ''} (missing {missing}, extra {extra})"
    )


def load_training_data(storage: Storage, *, as_of: date) -> TrainingData:
    """Every complete train partition with dt <= as_of, de-duplicated by id (latest dt wins).

    Raises:
        TrainingDataError: no partition, too few rows, or a schema violation.
    """
    dates = [dt for dt in list_partitions(storage, split="train") if dt <= as_of]
    if not dates:
        raise TrainingDataError(
            f"no processed train partition on or before {as_of} in {storage.url} "
            "(run 'tmdb-mlops collect' first)"
        )
    frames, infos = [], []
    for dt in dates:
        frame, info = read_partition(storage, dt)
        frames.append(frame.assign(_dt=dt.isoformat()))
        infos.append(info)
    combined = pd.concat(frames, ignore_index=True)
    rows_read = len(combined)
    latest = (
        combined.sort_values(["_dt", "id"], kind="stable")
        .drop_duplicates("id", keep="last")
        .drop(columns="_dt")
        .reset_index(drop=True)
    )
    if len(latest) < MIN_TRAINING_ROWS:
        raise TrainingDataError(
            f"only {len(latest)} films in {len(dates)} partition(s) up to {as_of}; "
            f"training needs at least {MIN_TRAINING_ROWS}"
        )
    log.info("read %d rows from %d partitions (%s..%s), %d films after de-duplication",
             rows_read, len(dates), dates[0], dates[-1], len(latest))
    return TrainingData(frame=latest, partitions=infos, rows_read=rows_read)
