"""Stage 4: score the model and the baselines on the temporal holdout.

A model is only worth serving if it beats what a person could do without one:
the training mean, the mean rating of the film's genres, and a ridge
regression on the very same features.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.pipeline import Pipeline

from tmdb_mlops.cells import split_list
from tmdb_mlops.schema import TARGET
from tmdb_train.split import date_range


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float | None]:
    """RMSE, MAE and R² (None when R² is undefined: fewer than two rows)."""
    rmse = float(np.sqrt(mean_squared_error(y_true, y_pred)))
    r2 = float(r2_score(y_true, y_pred)) if len(y_true) >= 2 else None
    return {"rmse": round(rmse, 6), "mae": round(float(mean_absolute_error(y_true, y_pred)), 6),
            "r2": None if r2 is None else round(r2, 6)}


def genre_mean_predictions(train: pd.DataFrame, holdout: pd.DataFrame) -> np.ndarray:
    """Each holdout film gets the mean training rating of its genres (global mean if none)."""
    prior = float(train[TARGET].mean())
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for genres, target in zip(train["genres"], train[TARGET], strict=True):
        for genre in split_list(genres):
            sums[genre] = sums.get(genre, 0.0) + float(target)
            counts[genre] = counts.get(genre, 0) + 1
    out = []
    for genres in holdout["genres"]:
        means = [sums[g] / counts[g] for g in split_list(genres) if g in counts]
        out.append(sum(means) / len(means) if means else prior)
    return np.asarray(out, dtype=np.float64)


def evaluate(
    *,
    model: Pipeline,
    ridge: Pipeline,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    holdout_fraction: float,
    holdout_encoded: np.ndarray | None = None,
    holdout_predictions: np.ndarray | None = None,
) -> dict[str, Any]:
    """The metrics.json content: model and baselines on the holdout, rows and date ranges.

    ``holdout_encoded`` and ``holdout_predictions`` are the holdout through the model's
    featurizer and the model, when the caller has them (the train command computes
    them once for every stage): the same numbers as ``model.predict(holdout)``,
    without encoding a holdout of 200,000 films twice more (issue #15).
    """
    y = holdout[TARGET].to_numpy(dtype=np.float64)
    predictions = (model.predict(holdout) if holdout_predictions is None
                   else holdout_predictions)
    shares_encoding = holdout_encoded is not None and ridge.steps[0][1] is model.steps[0][1]
    # Ridge's imputer and scaler may work in place (fit_ridge): they get a copy.
    ridge_predictions = (ridge[1:].predict(holdout_encoded.copy()) if shares_encoding
                         else ridge.predict(holdout))
    model_metrics = regression_metrics(y, predictions)
    baselines = {
        "global_mean": regression_metrics(y, np.full(len(y), float(train[TARGET].mean()))),
        "genre_mean": regression_metrics(y, genre_mean_predictions(train, holdout)),
        "ridge": regression_metrics(y, ridge_predictions),
    }
    improvement = {
        f"rmse_vs_{name}": round(1.0 - model_metrics["rmse"] / base["rmse"], 6)
        if base["rmse"] else None
        for name, base in baselines.items()
    }
    return {
        "target": TARGET,
        "split": "temporal",
        "holdout_fraction": holdout_fraction,
        "model": model_metrics,
        "baselines": baselines,
        "improvement": improvement,
        "rows": {"train": len(train), "holdout": len(holdout)},
        "date_ranges": {"train": date_range(train), "holdout": date_range(holdout)},
    }
