"""The train command as one function: data -> split -> fit -> evaluate -> register -> gate.

Between evaluate and register, the calibrated prediction interval (issue #13,
``interval.py``) and what the monitor needs (issue #12): the drift reference of
the training data (``profile.py``) and the model of the model's error
(``loss_estimate.py``), all stored with the version.

Everything that can fail on the data fails before the registry is touched, so
an empty or invalid training set leaves the registry exactly as it was.

The stages run on both cores where they do not depend on each other: early
stopping beside the final fit (``train.py``), then the monitor's side (holdout
predictions, error model, drift reference) beside the interval, ridge and the
evaluation. Each is seeded and single-threaded, so the interleaving never
changes a number (issue #15).
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from tmdb_mlops.config import Settings
from tmdb_mlops.features import featurizer_of
from tmdb_mlops.inputs import input_columns_schema
from tmdb_mlops.registry import Registry
from tmdb_mlops.schema import LIST_SEPARATOR
from tmdb_mlops.storage import Storage, storage_from_settings
from tmdb_train.data import load_training_data
from tmdb_train.evaluate import evaluate
from tmdb_train.interval import fit_interval
from tmdb_train.loss_estimate import fit_loss_estimator
from tmdb_train.profile import monitoring_reference
from tmdb_train.promote import gate
from tmdb_train.split import temporal_split
from tmdb_train.train import EARLY_STOPPING_FRACTION, feature_importance, fit_model, fit_ridge

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainReport:
    """What one training run did; ``summary`` is the one line the command prints."""

    version: str
    metrics: dict[str, Any]
    decision: dict[str, Any]
    seconds: float

    @property
    def summary(self) -> str:
        m, b = self.metrics["model"], self.metrics["baselines"]
        return (
            f"trained {self.version} on {self.metrics['rows']['train']} films: holdout RMSE "
            f"{m['rmse']:.3f} (mean {b['global_mean']['rmse']:.3f}, genre "
            f"{b['genre_mean']['rmse']:.3f}, ridge {b['ridge']['rmse']:.3f}; "
            f"{self.metrics['improvement']['rmse_vs_global_mean']:.1%} below mean); "
            f"{_interval_line(self.metrics.get('interval', {}))}"
            f"{'promoted to champion' if self.decision['promoted'] else 'NOT promoted'}: "
            f"{self.decision['reason']} [{self.seconds:.1f}s]"
        )


def _interval_line(interval: dict[str, Any]) -> str:
    if not interval.get("available"):
        return "no interval; "
    base = interval["baseline"]
    return (f"{interval['nominal_coverage']:.0%} interval covers "
            f"{interval['empirical_coverage']:.1%} of later holdout films, mean width "
            f"{interval['mean_width']:.2f} (constant-width {base['mean_width']:.2f} covers "
            f"{base['empirical_coverage']:.1%}); ")


def input_schema(pipeline: Any) -> dict[str, Any]:
    """The raw inputs the pipeline reads (the contract's JSON schema) and the values it knows."""
    featurizer = featurizer_of(pipeline)
    return {
        "columns": input_columns_schema(),
        "list_separator": LIST_SEPARATOR,
        "known_values": {
            "genres": list(featurizer.genres_),
            "original_language": list(featurizer.languages_),
            "production_countries": list(featurizer.countries_),
        },
    }


def _through_model(pipeline: Any, holdout: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The holdout through the served pipeline once: (encoded, raw predictions)."""
    encoded = featurizer_of(pipeline).transform(holdout)
    return encoded, pipeline[1:].predict(encoded)


def _monitoring_side(
    through_model: Future[tuple[np.ndarray, np.ndarray]], *, train: pd.DataFrame,
    holdout: pd.DataFrame, seed: int,
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """(the loss estimator, the drift reference), from the holdout's predictions."""
    encoded, predictions = through_model.result()
    loss_estimator, loss_summary = fit_loss_estimator(
        holdout, encoded=encoded, predictions=predictions, seed=seed)
    reference = monitoring_reference(train=train, holdout_predictions=predictions,
                                     loss_summary=loss_summary, seed=seed)
    return loss_estimator, reference


def train(
    settings: Settings,
    *,
    as_of: date,
    seed: int | None = None,
    storage: Storage | None = None,
) -> TrainReport:
    """Train on the partitions up to ``as_of``, register the model, run the gate."""
    started = time.perf_counter()
    seed = settings.train_seed if seed is None else seed
    store = storage or storage_from_settings(settings)
    store.check()
    registry = Registry(store, signing_key=settings.model_signing_key)

    data = load_training_data(store, as_of=as_of)
    train_part, holdout = temporal_split(data.frame, fraction=settings.train_holdout_fraction)
    data = data.without_frame()
    fitted = fit_model(train_part, seed=seed)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="holdout-side") as pool:
        # On the other core meanwhile, in order: the holdout through the fitted model
        # (once, for every stage below), then what the monitor needs from it. Every
        # stage is seeded and single-threaded, so the interleaving changes no number.
        through_model = pool.submit(_through_model, fitted.pipeline, holdout)
        monitoring = pool.submit(_monitoring_side, through_model, train=train_part,
                                 holdout=holdout, seed=seed)
        # The interval reads the fit's encoded matrix; ridge then takes it over (in place).
        interval, interval_summary = fit_interval(fitted.pipeline, train=train_part,
                                                  holdout=holdout,
                                                  coverage=settings.interval_coverage,
                                                  seed=seed, encoded=fitted.encoded)
        ridge = fit_ridge(train_part, seed=seed, reuse=fitted)
        holdout_encoded, holdout_predictions = through_model.result()
        metrics = evaluate(model=fitted.pipeline, ridge=ridge, train=train_part,
                           holdout=holdout, holdout_fraction=settings.train_holdout_fraction,
                           holdout_encoded=holdout_encoded,
                           holdout_predictions=holdout_predictions)
        loss_estimator, reference = monitoring.result()
    metrics["rows"].update(early_stopping=fitted.early_stopping_rows, read=data.rows_read)
    metrics["best_iteration"] = fitted.best_iteration
    metrics["feature_importance"] = dict(list(feature_importance(fitted.pipeline).items())[:20])
    metrics["interval"] = interval_summary

    params = {
        "seed": seed,
        "holdout_fraction": settings.train_holdout_fraction,
        "early_stopping_fraction": EARLY_STOPPING_FRACTION,
        "lightgbm": fitted.params,
        "featurizer": featurizer_of(fitted.pipeline).get_params(),
        "promotion_tolerance": settings.promotion_tolerance,
        "interval_coverage": settings.interval_coverage,
    }
    version = registry.register(
        pipeline=fitted.pipeline,
        input_schema=input_schema(fitted.pipeline),
        metrics=metrics,
        as_of=as_of.isoformat(),
        partitions=data.partitions,
        training_params=params,
        revision=settings.git_revision,
        loss_estimator=loss_estimator,
        monitoring_reference=reference,
        interval=interval,
    )
    decision = gate(registry, version=version, holdout=holdout, metrics=metrics,
                    tolerance=settings.promotion_tolerance)
    report = TrainReport(version=version, metrics=metrics, decision=decision,
                         seconds=time.perf_counter() - started)
    log.info("%s", report.summary)
    return report
