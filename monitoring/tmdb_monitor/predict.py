"""Batch predictions: the champion on the inference partition of D, kept for audit and scoring.

``tmdb-mlops predict --logical-date D`` reads ``processed/inference/dt=D/``
(manifest-verified), scores it with the champion (or ``--model V``), adds the
direct-loss-estimation model's expected error of every prediction and its
calibrated interval (issue #13) when the version has them, and writes
``predictions/dt=D/model=V/`` through ``write_folder`` (the file, then the manifest). The file's contract is
``tmdb_mlops.predictions``.

Idempotent: the same version on the same partition writes the same bytes (rows
sorted by id, fixed number formats, no wall clock in the manifest), and a new
champion adds its own ``model=`` folder beside the earlier ones, which stay.

A version whose data reaches D (its latest training or holdout release is on or
after D) is refused: the films of D's partition are released on or after D, so
it may have been trained on their ratings, and its "predictions" would flatter
the monitor. Backfilling predictions for an old date needs a version trained
before it (``--model``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from tmdb_mlops import intervals, layout
from tmdb_mlops.bundle import LoadedModel
from tmdb_mlops.config import Settings
from tmdb_mlops.errors import NotFoundError, PlatformError
from tmdb_mlops.loss_estimate import estimated_metrics, expected_errors, usable
from tmdb_mlops.partitions import (
    read_manifest,
    read_processed_frame,
    sha256_hex,
    write_folder,
)
from tmdb_mlops.predictions import PREDICTIONS_FORMAT, RATING_MAX, RATING_MIN, to_csv_bytes
from tmdb_mlops.registry import Registry
from tmdb_mlops.storage import Storage, storage_from_settings
from tmdb_monitor import MONITOR_VERSION

log = logging.getLogger(__name__)


class PredictError(PlatformError):
    """The partition cannot be predicted as asked."""


@dataclass(frozen=True)
class Inference:
    """One inference partition as read, and where it came from."""

    dt: date
    frame: pd.DataFrame
    manifest: dict[str, Any]
    manifest_sha256: str


def read_inference(storage: Storage, dt: date) -> Inference:
    """The inference partition of ``dt`` as the results page reads it (columns of the current schema).

    A partition written with an older schema lacks the columns added since; they are
    read as missing, as the featurizer reads a film whose source lacked them.
    """
    key = layout.manifest_key("inference", dt)
    manifest = read_manifest(storage, split="inference", dt=dt)
    if manifest is None:
        raise PredictError(
            f"no inference partition dt={dt} in {storage.url} "
            f"(run 'tmdb-mlops collect --logical-date {dt} --split inference' first)"
        )
    manifest_bytes = storage.read_bytes(key)
    frame = read_processed_frame(storage, split="inference", dt=dt, manifest=manifest)
    return Inference(dt=dt, frame=frame, manifest=manifest,
                     manifest_sha256=sha256_hex(manifest_bytes))


def latest_release(model: LoadedModel) -> str | None:
    """The latest release date among the films the version was trained and evaluated on."""
    ranges = model.metrics.get("date_ranges", {})
    dates = [str(ranges.get(part, {}).get("max")) for part in ("train", "holdout")
             if ranges.get(part, {}).get("max")]
    return max(dates) if dates else None


def horizon_days(release_dates: pd.Series, dt: date) -> pd.Series:
    """Days from the prediction's date to each release (missing without a release date)."""
    released = pd.to_datetime(release_dates, errors="coerce", format="%Y-%m-%d")
    days = (released - pd.Timestamp(dt)).dt.days
    return days.astype("Int64")


def score(model: LoadedModel, inference: Inference) -> pd.DataFrame:
    """The predictions file's rows for one partition (see ``tmdb_mlops.predictions``)."""
    frame = inference.frame
    low = high = np.full(len(frame), np.nan)
    absolute = squared = np.full(len(frame), np.nan)
    raw = np.empty(0)
    if len(frame):
        # One encoding for the predictions, their intervals and their expected errors.
        encoded = model.encode(frame)
        raw, low_found, high_found = model.predict_encoded_with_intervals(encoded)
        if low_found is not None and high_found is not None:
            low, high = low_found, high_found
        if usable(model.loss_estimator):
            absolute, squared = expected_errors(model.loss_estimator, encoded, raw)
    if not np.all(np.isfinite(raw)):
        raise PredictError(f"model {model.version} returned non-finite predictions for dt={inference.dt}")
    clipped = np.clip(raw, RATING_MIN, RATING_MAX)
    return pd.DataFrame({
        "id": frame["id"].astype("int64"),
        "title": frame["title"].astype("string"),
        "release_date": frame["release_date"].astype("string"),
        "genres": frame["genres"].astype("string"),
        "logical_date": inference.dt.isoformat(),
        "horizon_days": horizon_days(frame["release_date"], inference.dt),
        "model_version": model.version,
        "prediction": clipped,
        "clamped": (clipped != raw).astype("int64"),
        "est_abs_error": absolute,
        "est_squared_error": squared,
        "interval_low": low,
        "interval_high": high,
    })


def run_predict(
    settings: Settings,
    *,
    logical_date: date,
    version: str | None = None,
    storage: Storage | None = None,
) -> dict[str, Any]:
    """Predict the inference partition of ``logical_date``; returns the manifest written.

    Raises:
        PlatformError: no champion (or unknown version), no partition, a bundle that
            does not verify, or a version trained on data reaching the date.
    """
    store = storage or storage_from_settings(settings)
    store.check()
    registry = Registry(store, signing_key=settings.model_signing_key)
    try:
        model = registry.load(version)
    except NotFoundError as exc:
        raise PredictError(f"{exc} (train and promote a model first)") from None
    reaches = latest_release(model)
    if reaches is not None and reaches >= logical_date.isoformat():
        raise PredictError(
            f"model {model.version} was trained on films released up to {reaches}, on or after "
            f"{logical_date}: it may have seen the ratings of dt={logical_date}'s films; "
            "predict with a version trained before that date (--model)"
        )
    inference = read_inference(store, logical_date)
    predictions = score(model, inference)
    data = to_csv_bytes(predictions)
    folder = layout.predictions_prefix(logical_date, model.version)
    estimate = estimated_metrics(predictions["est_abs_error"].to_numpy(dtype=float),
                                 predictions["est_squared_error"].to_numpy(dtype=float))
    manifest = {
        "stage": "predict",
        "monitor_version": MONITOR_VERSION,
        "predictions_format": PREDICTIONS_FORMAT,
        "logical_date": logical_date.isoformat(),
        "model_version": model.version,
        "model_as_of": model.as_of,
        "model_bundle_sha256": model.metadata.get("bundle_sha256"),
        "source": {
            "split": "inference",
            "dt": logical_date.isoformat(),
            "manifest_sha256": inference.manifest_sha256,
            "movies_sha256": inference.manifest["files"][layout.movies_key("inference", logical_date)]
            ["sha256"],
        },
        "rows": len(predictions),
        "clamped": int(predictions["clamped"].sum()),
        "loss_estimator": usable(model.loss_estimator),
        "interval_coverage": (float(model.interval["coverage"])
                              if intervals.usable(model.interval) else None),
        "estimated": estimate,
    }
    written = write_folder(store, folder=folder,
                           files={layout.predictions_key(logical_date, model.version): data},
                           manifest=manifest)
    log.info("predicted dt=%s with %s: %d films (estimated RMSE %s), written to %s/%s",
             logical_date, model.version, len(predictions), estimate["rmse"], store.url, folder)
    return written
