"""Prediction intervals: what a bundle carries so that any part can apply them cheaply.

The trainer calibrates (its interval stage, with MAPIE's conformalized
quantile regression); this module is what every reader applies: two LightGBM
quantile boosters over the pipeline's encoded features, and the sorted
conformity scores of the calibration rows. A film's interval at coverage ``c``
is ``[lower(x) - q_c, upper(x) + q_c]``, widened to contain the point prediction
and clipped to the rating scale, where ``q_c`` is the conformal quantile of the
scores (:func:`conformal_quantile`, the order statistic MAPIE uses). Serving never
imports MAPIE: the payload is a plain dict of LightGBM boosters and numbers.

Keeping the scores (not only ``q`` at the nominal coverage) lets a reader ask for
any coverage with the same boosters, so intervals widen monotonically with the
coverage by construction. A bundle without the payload (trained before issue #13)
has no interval; every reader says so instead of failing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from tmdb_mlops.predictions import RATING_MAX, RATING_MIN

if TYPE_CHECKING:
    import numpy as np

INTERVAL_FORMAT: Final = 1


def conformal_quantile(sorted_scores: Sequence[float] | np.ndarray, coverage: float) -> float:
    """The split-conformal quantile: the ceil((n + 1) c)-th smallest score (inf past n).

    With exchangeable calibration and test rows, an interval widened by this
    quantile covers a new row with probability at least ``coverage``. It is the
    order statistic MAPIE computes (``_compute_regression_quantile``); the trainer
    checks the two agree on every bundle it writes.
    """
    n = len(sorted_scores)
    if not 0 < coverage < 1:
        raise ValueError(f"coverage must be in (0, 1), not {coverage}")
    k = math.ceil((n + 1) * coverage)
    if n == 0 or k > n:
        return math.inf
    return float(sorted_scores[k - 1])


def make_interval(
    *, lower: Any, upper: Any, scores: np.ndarray, coverage: float, quantile_levels: tuple[float, float]
) -> dict[str, Any]:
    """The payload stored in the bundle (``interval``): boosters, sorted scores, coverage."""
    import numpy as np

    ordered = np.sort(np.asarray(scores, dtype=np.float64))
    return {
        "format": INTERVAL_FORMAT,
        "method": "cqr",
        "coverage": float(coverage),
        "quantile_levels": [float(level) for level in quantile_levels],
        "lower": lower,
        "upper": upper,
        "scores": ordered,
        "quantile": conformal_quantile(ordered, coverage),
    }


def usable(payload: Any) -> bool:
    return isinstance(payload, Mapping) and payload.get("format") == INTERVAL_FORMAT


def quantile(payload: Mapping[str, Any], coverage: float | None = None) -> float:
    """The conformal widening at ``coverage`` (the nominal one when None)."""
    if coverage is None or coverage == payload["coverage"]:
        return float(payload["quantile"])
    return conformal_quantile(payload["scores"], coverage)


def bound(prediction: float, lower: float, upper: float, q: float) -> tuple[float, float]:
    """One film's interval in plain floats (serving's single-row path: no numpy)."""
    low = min(lower - q, prediction)
    high = max(upper + q, prediction)
    return min(max(low, RATING_MIN), RATING_MAX), min(max(high, RATING_MIN), RATING_MAX)


def bounds(
    predictions: np.ndarray, lower: np.ndarray, upper: np.ndarray, q: float
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`bound` for arrays: the same rule, row by row."""
    import numpy as np

    predictions = np.asarray(predictions, dtype=np.float64)
    low = np.minimum(np.asarray(lower, dtype=np.float64) - q, predictions)
    high = np.maximum(np.asarray(upper, dtype=np.float64) + q, predictions)
    return np.clip(low, RATING_MIN, RATING_MAX), np.clip(high, RATING_MIN, RATING_MAX)


def quantile_predictions(payload: Mapping[str, Any], encoded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two quantile boosters on an encoded matrix (one thread: small batches)."""
    import numpy as np

    X = np.asarray(encoded, dtype=np.float64)
    return (np.asarray(payload["lower"].predict(X, num_threads=1), dtype=np.float64),
            np.asarray(payload["upper"].predict(X, num_threads=1), dtype=np.float64))


def intervals_for(
    payload: Mapping[str, Any], encoded: np.ndarray, predictions: np.ndarray,
    coverage: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) of every row: its encoded features and its raw point prediction."""
    lower, upper = quantile_predictions(payload, encoded)
    return bounds(predictions, lower, upper, quantile(payload, coverage))


def coverage_and_width(
    truth: np.ndarray, low: np.ndarray, high: np.ndarray
) -> dict[str, float | int]:
    """Empirical coverage and width figures of intervals against the truth."""
    import numpy as np

    truth = np.asarray(truth, dtype=np.float64)
    covered = (truth >= low) & (truth <= high)
    width = np.asarray(high, dtype=np.float64) - np.asarray(low, dtype=np.float64)
    return {
        "rows": int(truth.size),
        "empirical_coverage": round(float(covered.mean()), 6) if truth.size else math.nan,
        "mean_width": round(float(width.mean()), 6) if truth.size else math.nan,
        "median_width": round(float(np.median(width)), 6) if truth.size else math.nan,
    }
