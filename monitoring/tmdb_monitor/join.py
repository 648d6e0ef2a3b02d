"""Predictions x outcomes, as of a logical date: which predictions have matured, and their truth.

Every predictions folder with ``dt <= D`` (every model version) is read and
checked against its manifest; every outcomes partition with ``dt <= D`` too,
keeping for each film its latest outcome on or before D. A prediction has
**matured** when its film's release date + ``COLLECT_SETTLE_DAYS`` is on or
before D; a matured prediction is **scored** when an outcome exists and the film
has at least ``COLLECT_MIN_VOTES`` votes, the population the model is trained on
(a rating of three votes is not a settled rating). One vectorised merge: the
cost is linear in the predictions read.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd

from tmdb_mlops import layout
from tmdb_mlops.partitions import list_partitions, read_verified, sha256_hex
from tmdb_mlops.predictions import PREDICTION_COLUMNS, list_predictions, read_predictions
from tmdb_mlops.schema import OUTCOME_COLUMNS
from tmdb_mlops.storage import Storage


@dataclass
class Joined:
    """One row per prediction with its outcome (when any), and what was read."""

    frame: pd.DataFrame
    predictions_read: list[dict[str, Any]] = field(default_factory=list)
    outcomes_read: list[dict[str, Any]] = field(default_factory=list)


def load_predictions(storage: Storage, *, until: date) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Every prediction made on or before ``until``, with its partition's date."""
    frames, read = [], []
    for dt, version in list_predictions(storage):
        if dt > until:
            continue
        manifest_bytes = storage.read_bytes(layout.predictions_manifest_key(dt, version))
        frame = read_predictions(storage, dt, version, json.loads(manifest_bytes))
        if frame is None:
            continue
        frames.append(frame)
        read.append({"dt": dt.isoformat(), "model": version, "rows": len(frame),
                     "manifest_sha256": sha256_hex(manifest_bytes)})
    if not frames:
        empty = pd.DataFrame({name: pd.Series(dtype=dtype)
                              for name, dtype in PREDICTION_COLUMNS.items()})
        return empty, read
    return pd.concat(frames, ignore_index=True), read


def load_outcomes(storage: Storage, *, until: date) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The latest outcome of each film collected on or before ``until``."""
    frames, read = [], []
    for dt in list_partitions(storage, split=layout.OUTCOMES):
        if dt > until:
            continue
        manifest_bytes = storage.read_bytes(layout.manifest_key(layout.OUTCOMES, dt))
        manifest = json.loads(manifest_bytes)
        data = read_verified(storage, layout.movies_key(layout.OUTCOMES, dt), manifest)
        frame = pd.read_csv(io.BytesIO(data), dtype=OUTCOME_COLUMNS)
        frames.append(frame.assign(outcome_dt=dt.isoformat()))
        read.append({"dt": dt.isoformat(), "rows": len(frame),
                     "manifest_sha256": sha256_hex(manifest_bytes)})
    columns = ["id", "vote_average", "vote_count", "outcome_dt"]
    if not frames:
        return pd.DataFrame({"id": pd.Series(dtype="int64"),
                             "vote_average": pd.Series(dtype="float64"),
                             "vote_count": pd.Series(dtype="int64"),
                             "outcome_dt": pd.Series(dtype="string")}), read
    outcomes = pd.concat(frames, ignore_index=True)
    latest = (outcomes.sort_values(["outcome_dt", "id"], kind="stable")
              .drop_duplicates("id", keep="last"))
    return latest[columns].reset_index(drop=True), read


def join(
    predictions: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    logical_date: date,
    settle_days: int,
    min_votes: int,
) -> pd.DataFrame:
    """Predictions with ``matured``, ``has_outcome``, ``scored``, ``actual`` and ``error``."""
    settled_by = pd.Timestamp(logical_date - timedelta(days=settle_days))
    released = pd.to_datetime(predictions["release_date"], errors="coerce", format="%Y-%m-%d")
    frame = predictions.assign(matured=(released <= settled_by).fillna(False).astype(bool))
    frame = frame.merge(outcomes, on="id", how="left", validate="many_to_one")
    frame["has_outcome"] = frame["matured"] & frame["vote_average"].notna()
    votes = frame["vote_count"].fillna(-1).astype("int64")
    frame["scored"] = frame["has_outcome"] & (votes >= min_votes)
    frame["actual"] = frame["vote_average"].where(frame["scored"]).astype("float64")
    frame["error"] = (frame["prediction"].astype("float64") - frame["actual"]).astype("float64")
    frame["dt"] = frame["logical_date"].astype("string")
    return frame.drop(columns=["vote_average"])


def joined(storage: Storage, *, logical_date: date, settle_days: int, min_votes: int) -> Joined:
    """Read everything up to ``logical_date`` and join it."""
    predictions, predictions_read = load_predictions(storage, until=logical_date)
    outcomes, outcomes_read = load_outcomes(storage, until=logical_date)
    frame = join(predictions, outcomes, logical_date=logical_date, settle_days=settle_days,
                 min_votes=min_votes)
    return Joined(frame=frame, predictions_read=predictions_read, outcomes_read=outcomes_read)

