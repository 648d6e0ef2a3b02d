"""Stage 4b: the reference the monitor compares new data with (issue #12).

The drift profile of the rows the pipeline was fitted on (every raw input, bins
fixed here), of the model's predictions on its holdout (the films it had not
seen: the reference of the prediction's own drift), and the training mean (the
global-mean baseline the monitor scores on matured films). It goes into the
version's metadata.json, so it is covered by the bundle's hashes and signature
and can be read without unpickling anything. The statistics are
``tmdb_mlops.drift``'s, shared with the monitor.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tmdb_mlops.drift import build_profile
from tmdb_mlops.schema import TARGET


def monitoring_reference(
    *,
    train: pd.DataFrame,
    holdout_predictions: np.ndarray,
    loss_summary: dict[str, Any] | None,
) -> dict[str, Any]:
    """metadata.json's ``monitoring_reference``: the profile and how the error estimator did."""
    profile = build_profile(
        train,
        predictions=np.asarray(holdout_predictions, dtype=float),
        target_mean=float(train[TARGET].mean()),
    )
    return {"profile": profile, "loss_estimator": loss_summary}
