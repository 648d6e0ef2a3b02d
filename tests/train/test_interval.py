"""The interval stage (issue #13): calibrated on the holdout's earlier half, measured on the later.

The trainer's own ``train`` runs on a synthetic history in a local store; the
coverage is then recomputed here from the registered bundle (its boosters, the
shared interval rule) and the films' true ratings, without the trainer's figures.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.train.conftest import AS_OF, settings_for
from tests.train.synthetic import synthetic_movies
from tmdb_mlops.registry import Registry
from tmdb_mlops.schema import TARGET
from tmdb_train.data import load_training_data
from tmdb_train.interval import IntervalError, fit_interval
from tmdb_train.run import train
from tmdb_train.split import temporal_split
from tmdb_train.train import fit_model

pytestmark = pytest.mark.unit


def evaluation_rows(store, fraction: float):
    """The later half of the holdout, rebuilt from the partitions as the trainer split them."""
    data = load_training_data(store, as_of=AS_OF)
    _, holdout = temporal_split(data.frame, fraction=fraction)
    calibration, evaluation = temporal_split(holdout, fraction=0.5)
    return calibration, evaluation


def test_metrics_and_bundle_carry_the_interval_measured_on_uncalibrated_films(store) -> None:
    settings = settings_for(store, interval_coverage=0.8)
    report = train(settings, as_of=AS_OF, seed=3)
    interval = report.metrics["interval"]
    calibration, evaluation = evaluation_rows(store, settings.train_holdout_fraction)
    assert interval["calibration_rows"] == len(calibration)
    assert interval["evaluation_rows"] == len(evaluation)
    assert interval["calibration_dates"]["max"] <= interval["evaluation_dates"]["min"]
    assert set(calibration["id"]).isdisjoint(evaluation["id"])
    assert interval["nominal_coverage"] == 0.8
    assert {"empirical_coverage", "mean_width", "baseline", "method"} <= set(interval)
    assert {"empirical_coverage", "mean_width", "half_width"} <= set(interval["baseline"])

    model = Registry(store, signing_key=None).load(report.version)
    assert model.metrics["interval"] == interval  # what metrics.json says is what was stored
    raw, low, high = model.predict_frame_with_intervals(evaluation)
    np.testing.assert_allclose(raw, model.pipeline.predict(evaluation), rtol=0, atol=1e-12)
    truth = evaluation[TARGET].to_numpy(dtype=float)
    recomputed = float(np.mean((truth >= low) & (truth <= high)))
    assert recomputed == pytest.approx(interval["empirical_coverage"], abs=1e-6)
    assert float(np.mean(high - low)) == pytest.approx(interval["mean_width"], abs=1e-6)
    # Constant-width baseline, from its recorded half-width.
    half = interval["baseline"]["half_width"]
    constant = np.clip(raw[:, None] + np.array([-half, half]), 0, 10)
    covered = np.mean((truth >= constant[:, 0]) & (truth <= constant[:, 1]))
    assert covered == pytest.approx(interval["baseline"]["empirical_coverage"], abs=1e-6)
    assert "interval covers" in report.summary


@pytest.mark.parametrize("coverage", [0.6, 0.9])
def test_the_nominal_coverage_is_a_setting(store, coverage: float) -> None:
    report = train(settings_for(store, interval_coverage=coverage), as_of=AS_OF, seed=3)
    model = Registry(store, signing_key=None).load(report.version)
    assert model.interval["coverage"] == coverage
    assert model.metrics["interval"]["nominal_coverage"] == coverage
    assert model.metadata["training_params"]["interval_coverage"] == coverage


def test_a_wider_nominal_coverage_gives_wider_intervals_on_average() -> None:
    films = synthetic_movies(900, seed=4)
    train_part, holdout = temporal_split(films, fraction=0.25)
    pipeline = fit_model(train_part, seed=2).pipeline
    widths = [fit_interval(pipeline, train=train_part, holdout=holdout, coverage=c,
                           seed=2)[1]["mean_width"] for c in (0.5, 0.8, 0.95)]
    assert widths == sorted(widths) and widths[0] < widths[-1]


def test_a_tiny_holdout_gives_no_interval_and_says_why() -> None:
    films = synthetic_movies(150, seed=1)
    train_part, holdout = temporal_split(films, fraction=0.1)
    pipeline = fit_model(train_part, seed=1).pipeline
    payload, summary = fit_interval(pipeline, train=train_part, holdout=holdout, coverage=0.8,
                                    seed=1)
    assert payload is None and summary["available"] is False and "15 rows" in summary["reason"]


def test_a_served_interval_that_differs_from_mapies_is_refused(monkeypatch) -> None:
    import tmdb_train.interval as stage

    films = synthetic_movies(600, seed=6)
    train_part, holdout = temporal_split(films, fraction=0.2)
    pipeline = fit_model(train_part, seed=1).pipeline
    real = stage._mapie_bounds
    monkeypatch.setattr(stage, "_mapie_bounds",
                        lambda *a, **k: tuple(bound + 0.01 for bound in real(*a, **k)))
    with pytest.raises(IntervalError):
        fit_interval(pipeline, train=train_part, holdout=holdout, coverage=0.8, seed=1)
