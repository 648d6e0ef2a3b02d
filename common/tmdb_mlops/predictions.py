"""The batch-predictions contract: what ``predictions/dt=D/model=V/`` holds (issue #12).

One CSV per (logical date, model version), written by ``tmdb-mlops predict``
through :func:`tmdb_mlops.partitions.write_folder` (the manifest last), read by
the collector (which films to fetch outcomes for), the monitor (realized and
estimated error) and the results page (the predictions it shows). Every
prediction ever shown can so be audited: a new champion adds its own folder for
the date and never replaces another version's.

Rows are sorted by id and numbers written in a fixed form, so the same model on
the same partition gives the same bytes. ``prediction`` is the served value,
clipped to the rating scale (``clamped`` says when it was); ``est_abs_error``
and ``est_squared_error`` are the direct-loss-estimation model's expectation of
the error (:mod:`tmdb_mlops.loss_estimate`), empty for a version without one;
``interval_low`` and ``interval_high`` the version's calibrated interval at its
nominal coverage (:mod:`tmdb_mlops.intervals`, recorded in the manifest), empty
for a version without one (issue #13). Files of format 1, written before the
interval columns existed, still read: their interval cells are missing.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import date
from typing import TYPE_CHECKING, Any, Final

from tmdb_mlops import layout
from tmdb_mlops.partitions import list_folders, read_folder_manifest, read_verified
from tmdb_mlops.storage import Storage

if TYPE_CHECKING:
    import pandas as pd

#: Recorded in every predictions manifest; bump when the columns change.
PREDICTIONS_FORMAT: Final = 2
RATING_MIN: Final = 0.0
RATING_MAX: Final = 10.0

#: Column -> pandas dtype, in file order.
PREDICTION_COLUMNS: Final[dict[str, str]] = {
    "id": "int64",
    "title": "string",
    "release_date": "string",  # as in the inference partition (ISO)
    "genres": "string",  # "|"-joined, for the monitor's breakdown by genre
    "logical_date": "string",  # the date the prediction was made for (D)
    "horizon_days": "Int64",  # release_date - D; empty without a release date
    "model_version": "string",
    "prediction": "float64",  # clipped to RATING_MIN..RATING_MAX, as served
    "clamped": "int64",  # 1 when the model's raw output was outside the scale
    "est_abs_error": "float64",  # direct loss estimation: expected |error|
    "est_squared_error": "float64",  # expected squared error
    "interval_low": "float64",  # the calibrated interval (issue #13), empty without one
    "interval_high": "float64",
}
#: Columns added after format 1; a file without them reads them as missing.
ADDED_COLUMNS: Final[tuple[str, ...]] = ("interval_low", "interval_high")


def format_cell(value: Any) -> str:
    """One CSV cell: empty when missing, integers without ".0", floats rounded to 6 decimals."""
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        value = value.item()
    if value is None or type(value).__name__ == "NAType":  # None, pd.NA
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        rounded = round(value, 6)
        return str(int(rounded)) if rounded.is_integer() else repr(rounded)
    return str(value)


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """The predictions file: the contract's columns in order, rows sorted by id."""
    columns = list(PREDICTION_COLUMNS)
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise ValueError(f"predictions lack columns {missing}")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    ordered = frame[columns].sort_values("id", kind="stable")
    for record in ordered.astype(object).itertuples(index=False, name=None):
        writer.writerow([format_cell(value) for value in record])
    return buffer.getvalue().encode("utf-8")


def read_csv_bytes(data: bytes) -> pd.DataFrame:
    """A predictions file back as a typed frame (empty cells are missing)."""
    import pandas as pd

    frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, na_values=[""])
    header = list(frame.columns)
    format_1 = [name for name in PREDICTION_COLUMNS if name not in ADDED_COLUMNS]
    if header == format_1:
        frame = frame.reindex(columns=list(PREDICTION_COLUMNS))
    elif header != list(PREDICTION_COLUMNS):
        raise ValueError(f"predictions columns {header} are not {list(PREDICTION_COLUMNS)}")
    typed = {}
    for name, dtype in PREDICTION_COLUMNS.items():
        column = frame[name]
        if dtype == "string":
            typed[name] = column.astype("string")
        elif dtype == "Int64":
            typed[name] = pd.to_numeric(column).astype("Int64")
        else:
            typed[name] = pd.to_numeric(column).astype(dtype)
    return pd.DataFrame(typed)


def folder_date(folder: str) -> date | None:
    return layout.dt_from_key(folder)


def list_predictions(storage: Storage) -> list[tuple[date, str]]:
    """Every complete (logical date, model version) predictions folder, oldest first."""
    found = []
    for folder in list_folders(storage, layout.PREDICTIONS_PREFIX):
        dt, version = layout.dt_from_key(folder), layout.model_from_key(folder)
        if dt is not None and version is not None:
            found.append((dt, version))
    return sorted(found)


def read_manifest(storage: Storage, dt: date, version: str) -> dict[str, Any] | None:
    return read_folder_manifest(storage, layout.predictions_prefix(dt, version))


def read_predictions(
    storage: Storage, dt: date, version: str, manifest: dict[str, Any] | None = None
) -> pd.DataFrame | None:
    """One folder's predictions, checked against its manifest; None when it does not exist."""
    manifest = manifest if manifest is not None else read_manifest(storage, dt, version)
    if manifest is None:
        return None
    data = read_verified(storage, layout.predictions_key(dt, version), manifest)
    return read_csv_bytes(data)
