"""Drift of each inference partition since the champion was trained, against its reference.

The reference is the champion's ``monitoring_reference`` (metadata.json, written
by the trainer; no unpickling needed); the statistics are ``tmdb_mlops.drift``'s.
The partitions compared are the inference partitions from the champion's
``as_of`` to D, or, when the champion was trained after D (a backfill of an old
date), the partition of D alone. The prediction's own drift uses the champion's
predictions of each partition when they exist. A version trained before issue
#12 has no reference: the section then says so instead of guessing.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from tmdb_mlops.config import Settings
from tmdb_mlops.drift import compare
from tmdb_mlops.monitor_report import (
    NOT_AVAILABLE,
    ColumnDrift,
    DriftSection,
    LargestDrift,
    PartitionDrift,
)
from tmdb_mlops.partitions import list_partitions
from tmdb_mlops.storage import Storage
from tmdb_monitor.predict import read_inference


def thresholds(settings: Settings) -> dict[str, float]:
    return {"psi": settings.monitor_psi_threshold, "share": settings.monitor_share_threshold,
            "missing": settings.monitor_missing_threshold}


def partitions_to_compare(available: list[date], *, as_of: date | None, logical_date: date) -> list[date]:
    """The inference partitions since the champion's training, up to D (at least D's own)."""
    since = [dt for dt in available if (as_of is None or dt >= as_of) and dt <= logical_date]
    if since:
        return since
    return [logical_date] if logical_date in available else []


def flagged_names(columns: list[ColumnDrift]) -> list[str]:
    found = []
    for column in columns:
        if column.flagged and column.value is not None:
            found.append(f"{column.column}: {column.statistic} {column.value:.3f} > {column.threshold:g}")
        if column.missing_flagged:
            found.append(f"{column.column}: missing rate {column.missing_rate_reference:.1%} -> "
                         f"{column.missing_rate:.1%}")
    return found


def largest(partition: PartitionDrift) -> LargestDrift | None:
    """The statistic furthest past (or closest to) its threshold in one partition."""
    candidates = [c for c in partition.columns if c.value is not None]
    if not candidates:
        return None
    top = max(candidates, key=lambda c: (c.value / c.threshold, c.column))
    return LargestDrift(dt=partition.dt, column=top.column, statistic=top.statistic,
                        value=float(top.value), threshold=top.threshold)


def drift_section(
    storage: Storage,
    *,
    champion: str | None,
    metadata: dict[str, Any] | None,
    logical_date: date,
    settings: Settings,
    predictions: pd.DataFrame,
) -> tuple[DriftSection, list[dict[str, Any]]]:
    """The report's ``drift`` section and the inference partitions it read (provenance)."""
    limits = thresholds(settings)
    if champion is None or metadata is None:
        return DriftSection(thresholds=limits, note="no champion: nothing to compare with"), []
    reference = (metadata.get("monitoring_reference") or {}).get("profile")
    as_of = metadata.get("as_of")
    section = DriftSection(reference_version=champion, reference_as_of=as_of, thresholds=limits)
    if not reference:
        section.note = f"drift reference: {NOT_AVAILABLE} (trained before issue #12)"
        return section, []
    section.reference_rows = int(reference.get("rows", 0))
    dates = partitions_to_compare(list_partitions(storage, split="inference"),
                                  as_of=date.fromisoformat(as_of) if as_of else None,
                                  logical_date=logical_date)
    read = []
    own = predictions[predictions["model_version"] == champion]
    for dt in dates:
        inference = read_inference(storage, dt)
        predicted = own.loc[own["logical_date"] == dt.isoformat(), "prediction"]
        results = compare(
            reference, inference.frame,
            predictions=predicted.to_numpy(dtype=float) if len(predicted) else None,
            psi_threshold=limits["psi"], share_threshold=limits["share"],
            missing_threshold=limits["missing"],
        )
        columns = [ColumnDrift(**result) for result in results]
        section.partitions.append(PartitionDrift(
            dt=dt.isoformat(), rows=len(inference.frame),
            predicted_by=champion if len(predicted) else None,
            columns=columns, flagged=flagged_names(columns),
        ))
        read.append({"dt": dt.isoformat(), "rows": len(inference.frame),
                     "manifest_sha256": inference.manifest_sha256})
    if not section.partitions:
        section.note = f"no inference partition from {as_of} to {logical_date}"
    else:
        section.largest = largest(section.partitions[-1])
    return section, read
