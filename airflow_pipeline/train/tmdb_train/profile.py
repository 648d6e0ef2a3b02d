"""Stage 4b: the reference the monitor compares new data with (issue #12).

The drift profile of the rows the pipeline was fitted on (every raw input, bins
fixed here), of the model's predictions on its holdout (the films it had not
seen: the reference of the prediction's own drift), and the training mean (the
global-mean baseline the monitor scores on matured films). It goes into the
version's metadata.json, so it is covered by the bundle's hashes and signature
and can be read without unpickling anything. The statistics are
``tmdb_mlops.drift``'s, shared with the monitor.

Beyond ``MAX_ROWS`` training films the profile is built on a seeded sample of
them: bin edges and shares are settled to a tenth of a point by then, far inside
the drift thresholds, and profiling every string of a million films (~11 s) was
the longest stage left beside the fit (issue #15). Up to that size every row
counts, as before.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tmdb_mlops.drift import build_profile
from tmdb_mlops.schema import TARGET

MAX_ROWS = 200_000


def monitoring_reference(
    *,
    train: pd.DataFrame,
    holdout_predictions: np.ndarray,
    loss_summary: dict[str, Any] | None,
    seed: int,
) -> dict[str, Any]:
    """metadata.json's ``monitoring_reference``: the profile and how the error estimator did."""
    profiled = (train if len(train) <= MAX_ROWS else
                train.sample(n=MAX_ROWS, random_state=seed).sort_index())
    profile = build_profile(
        profiled,
        predictions=np.asarray(holdout_predictions, dtype=float),
        target_mean=float(train[TARGET].mean()),
    )
    if profiled is not train:
        profile["sampled_rows"] = {"rows": MAX_ROWS, "of": len(train), "seed": seed}
    return {"profile": profile, "loss_estimator": loss_summary}
