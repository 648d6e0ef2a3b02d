"""Stage 4c: the model of the model's error (direct loss estimation, issue #12).

Fitted on the holdout, where the truth is known and the model had not seen the
films: two small LightGBM regressors, of the absolute error and of the squared
error, from the model's features and its prediction
(``tmdb_mlops.loss_estimate.loss_features``). Their mean on a partition is the
expected MAE and (square-rooted) RMSE before any rating exists.

The estimator is checked here first, out of fold: each of 3 folds of the
holdout is estimated by regressors fitted on the other two, and the estimated
RMSE of the whole holdout is recorded beside its realized RMSE (``summary``).
The regressors that ship are then fitted on the whole holdout, or on a seeded
sample of ``MAX_ROWS`` of it: an error model of ~100 features and 8-leaf trees
gains nothing from a 200,000-row holdout (a million films), while its eight fits
would cost more than the served model's own (issue #15).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from lightgbm import LGBMRegressor
from sklearn.model_selection import KFold

from tmdb_mlops.loss_estimate import estimated_metrics, loss_features, make_estimator
from tmdb_mlops.schema import TARGET

log = logging.getLogger(__name__)

#: Small on purpose: ~1,800 holdout rows, and an error is noisier than a rating.
ESTIMATOR_PARAMS: dict[str, Any] = {
    "n_estimators": 150,
    "learning_rate": 0.03,
    "num_leaves": 8,
    "min_child_samples": 40,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "deterministic": True,
    "force_row_wise": True,
    "n_jobs": 1,
    "verbose": -1,
}
FOLDS = 3
#: The estimator is fitted on at most this many holdout rows (a seeded sample).
MAX_ROWS = 50_000
#: Fewer holdout rows than this give no estimator (the monitor then says so).
MIN_ROWS = 50


def _fit(features: np.ndarray, target: np.ndarray, *, seed: int) -> LGBMRegressor:
    return LGBMRegressor(**ESTIMATOR_PARAMS, random_state=seed).fit(features, target)


def fit_loss_estimator(
    holdout: pd.DataFrame, *, encoded: np.ndarray, predictions: np.ndarray, seed: int
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the estimator for the bundle, its summary for metadata.json); (None, None) if too few rows.

    ``encoded`` and ``predictions`` are the served pipeline's matrix and raw predictions
    of ``holdout``, row for row, computed once by the train command.
    """
    if len(holdout) < MIN_ROWS:
        log.warning("holdout of %d rows: no loss estimator (needs %d)", len(holdout), MIN_ROWS)
        return None, None
    truth = holdout[TARGET].to_numpy(dtype=np.float64)
    predictions = np.asarray(predictions, dtype=np.float64)
    if len(holdout) > MAX_ROWS:
        sampled = holdout.sample(n=MAX_ROWS, random_state=seed).sort_index()
        rows = holdout.index.get_indexer(sampled.index)
        truth, predictions, encoded = truth[rows], predictions[rows], encoded[rows]
    features = loss_features(encoded, predictions)
    error = predictions - truth
    absolute, squared = np.abs(error), error ** 2

    out_abs = np.empty_like(absolute)
    out_sq = np.empty_like(squared)
    for fit_rows, est_rows in KFold(FOLDS, shuffle=True, random_state=seed).split(features):
        out_abs[est_rows] = _fit(features[fit_rows], absolute[fit_rows], seed=seed).predict(
            features[est_rows])
        out_sq[est_rows] = _fit(features[fit_rows], squared[fit_rows], seed=seed).predict(
            features[est_rows])
    estimate = estimated_metrics(np.clip(out_abs, 0, None), np.clip(out_sq, 0, None))
    summary = {
        "method": "direct loss estimation (LightGBM on the model's features and prediction)",
        "rows": len(truth),
        "folds": FOLDS,
        "out_of_fold_estimated_rmse": estimate["rmse"],
        "out_of_fold_estimated_mae": estimate["mae"],
        "holdout_realized_rmse": round(float(np.sqrt(squared.mean())), 6),
        "holdout_realized_mae": round(float(absolute.mean()), 6),
        "params": {k: v for k, v in ESTIMATOR_PARAMS.items() if k != "verbose"},
    }
    estimator = make_estimator(absolute=_fit(features, absolute, seed=seed),
                               squared=_fit(features, squared, seed=seed), summary=summary)
    log.info("loss estimator: out-of-fold estimated RMSE %.3f against realized %.3f on %d rows",
             summary["out_of_fold_estimated_rmse"], summary["holdout_realized_rmse"], len(holdout))
    return estimator, summary
