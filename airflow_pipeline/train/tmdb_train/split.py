"""Stage 2: temporal splits, because the model predicts films released after its data.

A random split would let the model see films from the same months (and the
same directors' later work) it is scored on; the holdout is instead the most
recent releases, and early stopping is carved from the end of the training
side, so neither the holdout nor the future leaks into model selection.
"""

from __future__ import annotations

import math

import pandas as pd

from tmdb_mlops.errors import PlatformError


class SplitError(PlatformError):
    """The data cannot be split as asked."""


def temporal_split(
    frame: pd.DataFrame, *, fraction: float, date_column: str = "release_date"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(older rows, the most recent ``fraction`` of rows by release date).

    Ties are broken by id so the split is deterministic; rows without a date
    count as oldest (they can never be "the most recent").
    """
    if not 0 < fraction < 1:
        raise SplitError(f"the holdout fraction must be in (0, 1), not {fraction}")
    ordered = _in_order(frame, date_column)
    n_tail = math.ceil(len(ordered) * fraction)
    if n_tail < 1 or n_tail >= len(ordered):
        raise SplitError(f"cannot hold out {fraction:.0%} of {len(ordered)} rows")
    return (
        ordered.iloc[:-n_tail].reset_index(drop=True),
        ordered.iloc[-n_tail:].reset_index(drop=True),
    )


def _in_order(frame: pd.DataFrame, date_column: str) -> pd.DataFrame:
    """``frame`` sorted by (date, id), missing dates first; ``frame`` itself if already so.

    A stable sort of rows already in order is the identity, so skipping it changes
    nothing but memory: the train command splits its training side again for
    early stopping, and that copy of a million films (~0.7 GB) would be held
    while both fits hold their matrices (issue #15).
    """
    keys = frame[[date_column, "id"]]
    if not keys[date_column].hasnans and pd.MultiIndex.from_frame(keys).is_monotonic_increasing:
        return frame
    return frame.sort_values([date_column, "id"], na_position="first", kind="stable")


def date_range(frame: pd.DataFrame, date_column: str = "release_date") -> dict[str, str | None]:
    dates = frame[date_column].dropna()
    return {"min": str(dates.min()) if len(dates) else None,
            "max": str(dates.max()) if len(dates) else None}
