"""Small real models for the serving tests, fitted in a fraction of a second.

Each is the trainer's own pipeline (``build_pipeline``) fitted on synthetic
films, with the metrics.json the trainer would write (``evaluate`` against the
baselines, plus ``feature_importance``), and is registered and promoted through
the real :class:`~tmdb_mlops.registry.Registry`, so the service under test loads,
verifies and serves exactly what production does, only smaller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from tests.train.synthetic import synthetic_movies
from tmdb_mlops.inputs import MovieFeatures, to_record
from tmdb_mlops.registry import Registry
from tmdb_mlops.schema import TARGET
from tmdb_train.evaluate import evaluate
from tmdb_train.interval import fit_interval
from tmdb_train.pipeline import build_pipeline
from tmdb_train.run import input_schema
from tmdb_train.split import temporal_split
from tmdb_train.train import feature_importance, fit_ridge

AS_OF = "2014-03-01"
SIGNING_KEY = "serving-tests-signing-key"
HOLDOUT_FRACTION = 0.2
COVERAGE = 0.8
# Films of this genre are rated 8 points higher in the overshooting model's training
# data (the pipeline does not check the 0-10 range), so it predicts above 10 for them.
OVERSHOOT_GENRE = "Documentary"


@dataclass(frozen=True)
class SmallModel:
    """A fitted pipeline and the metrics.json the trainer would register with it."""

    pipeline: Pipeline
    metrics: dict[str, Any] = field(repr=False)
    #: The trainer's interval payload (``tmdb_train.interval``); None: an older bundle's shape.
    interval: dict[str, Any] | None = field(default=None, repr=False)

    def expected(self, bodies: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """What ``pipeline.predict`` gives for request bodies (before clamping): the reference."""
        records = [to_record(MovieFeatures.model_validate(body)) for body in bodies]
        return np.asarray(self.pipeline.predict(pd.DataFrame(records)), dtype=float)


def training_films() -> pd.DataFrame:
    return synthetic_movies(400, seed=5)


def fit_small_model(frame: pd.DataFrame, *, seed: int) -> SmallModel:
    """Fit as the trainer does (temporal holdout, 30 trees), evaluate, calibrate an interval."""
    train, holdout = temporal_split(frame, fraction=HOLDOUT_FRACTION)
    pipeline = build_pipeline(seed=seed, params={"n_estimators": 30})
    pipeline.fit(train, train[TARGET].to_numpy())
    metrics = evaluate(model=pipeline, ridge=fit_ridge(train, seed=seed), train=train,
                       holdout=holdout, holdout_fraction=HOLDOUT_FRACTION)
    metrics["feature_importance"] = feature_importance(pipeline)
    interval, metrics["interval"] = fit_interval(pipeline, train=train, holdout=holdout,
                                                 coverage=COVERAGE, seed=seed)
    return SmallModel(pipeline=pipeline, metrics=metrics, interval=interval)


def fit_overshooting_model(frame: pd.DataFrame) -> SmallModel:
    """A model that predicts above 10 for the OVERSHOOT_GENRE films and within 0-10 otherwise."""
    shifted = frame.copy()
    shifted.loc[shifted["genres"].str.contains(OVERSHOOT_GENRE, na=False), TARGET] += 8
    return fit_small_model(shifted, seed=3)


def fit_nan_model(frame: pd.DataFrame) -> SmallModel:
    """The trainer's ridge pipeline with a NaN intercept: a model bug that predicts NaN."""
    pipeline = build_pipeline("ridge").fit(frame, frame[TARGET].to_numpy())
    pipeline.named_steps["model"].intercept_ = float("nan")
    return SmallModel(pipeline=pipeline, metrics={"model": {"rmse": 1.0, "mae": 0.8, "r2": 0.0}})


def register(
    registry: Registry,
    model: SmallModel,
    *,
    schema: Mapping[str, Any] | None = None,
    promote: bool = True,
    with_interval: bool = True,
) -> str:
    """Register ``model`` as the trainer does (and promote it by default); return its version.

    Args:
        schema: the input schema to record instead of the pipeline's own.
        with_interval: False registers the bundle as one trained before issue #13 was
            (no interval payload, no ``interval`` in metrics.json).
    """
    metrics = dict(model.metrics)
    if not with_interval:
        metrics.pop("interval", None)
    version = registry.register(
        pipeline=model.pipeline,
        input_schema=dict(schema) if schema is not None else input_schema(model.pipeline),
        metrics=metrics,
        as_of=AS_OF,
        partitions=[],
        training_params={},
        interval=model.interval if with_interval else None,
    )
    if promote:
        registry.promote(version, reason="serving test")
    return version
