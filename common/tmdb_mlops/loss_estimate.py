"""Direct loss estimation: the expected error of a prediction before its outcome exists.

A film's rating settles months after it is predicted. To say how good the
predictions of an unreleased partition are meanwhile, the trainer fits two small
regressors on the holdout (where the truth is known), as NannyML's direct loss
estimation does: one of the absolute error and one of the squared error, from
the model's own features and its prediction (the trainer's loss_estimate stage). The
expected errors of new rows then give an estimated MAE and RMSE of a partition;
once its outcomes arrive, the monitor puts the realized figure beside the
estimate, so the estimator is checked too.

The estimator is a plain dict of LightGBM regressors, stored in the bundle's
joblib payload beside the pipeline (``bundle_format`` unchanged: a reader that
does not know the key ignores it, and a bundle without it loads as before, with
no estimate). This module is what the trainer and the predictor share: the
features the estimator reads and how its outputs are combined.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import numpy as np

ESTIMATOR_FORMAT: Final = 1


def loss_features(encoded: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """The estimator's inputs: the pipeline's encoded features of each row, then its raw prediction.

    Callers pass the matrix they already encoded to predict, so a partition is
    encoded once for its predictions, its intervals and its expected errors.
    """
    import numpy as np

    return np.column_stack([np.asarray(encoded, dtype=np.float64),
                            np.asarray(predictions, dtype=np.float64)])


def make_estimator(*, absolute: Any, squared: Any, summary: Mapping[str, Any]) -> dict[str, Any]:
    """The payload stored in the bundle: the two fitted regressors and how they were checked."""
    return {"format": ESTIMATOR_FORMAT, "absolute": absolute, "squared": squared,
            "summary": dict(summary)}


def usable(estimator: Any) -> bool:
    return isinstance(estimator, Mapping) and estimator.get("format") == ESTIMATOR_FORMAT


def expected_errors(
    estimator: Mapping[str, Any], encoded: np.ndarray, predictions: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the expected absolute and squared error of ``predictions`` (never negative)."""
    import numpy as np

    features = loss_features(encoded, predictions)
    absolute = np.clip(np.asarray(estimator["absolute"].predict(features), dtype=float), 0.0, None)
    squared = np.clip(np.asarray(estimator["squared"].predict(features), dtype=float), 0.0, None)
    return absolute, squared


def estimated_metrics(absolute: np.ndarray, squared: np.ndarray) -> dict[str, float | None]:
    """The estimated MAE and RMSE of a set of predictions from their expected errors."""
    import numpy as np

    absolute = np.asarray(absolute, dtype=float)
    squared = np.asarray(squared, dtype=float)
    absolute, squared = absolute[np.isfinite(absolute)], squared[np.isfinite(squared)]
    return {
        "mae": round(float(absolute.mean()), 6) if absolute.size else None,
        "rmse": round(float(np.sqrt(squared.mean())), 6) if squared.size else None,
    }
