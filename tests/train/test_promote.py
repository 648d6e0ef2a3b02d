"""Stage 5: the promotion gate's rule, and the gate against real champions in a registry."""

from __future__ import annotations

import numpy as np
import pytest

from tests.train.conftest import AS_OF, settings_for
from tmdb_mlops.registry import Registry
from tmdb_mlops.schema import TARGET
from tmdb_train.pipeline import build_pipeline
from tmdb_train.promote import decide
from tmdb_train.run import train

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("candidate", "mean", "champion", "tolerance", "promoted"),
    [
        (1.0, 1.3, None, 0.0, True),
        (1.4, 1.3, None, 0.0, False),  # must beat the mean baseline
        (1.3, 1.3, None, 0.0, False),  # strictly
        (1.0, 1.3, 1.0, 0.0, True),  # no worse than the champion
        (1.01, 1.3, 1.0, 0.0, False),
        (1.01, 1.3, 1.0, 0.02, True),  # within the tolerance
        (1.2, 1.3, 0.5, 0.5, False),
    ],
)
def test_decide(candidate, mean, champion, tolerance, promoted):
    ok, reason = decide(candidate_rmse=candidate, mean_baseline_rmse=mean,
                        champion_rmse=champion, tolerance=tolerance)
    assert ok is promoted
    assert reason


def _register_champion(registry: Registry, movies, target) -> str:
    pipeline = build_pipeline(params={"n_estimators": 200, "num_leaves": 63,
                                      "min_child_samples": 2}).fit(movies, target)
    version = registry.register(pipeline=pipeline, input_schema={"columns": {}},
                                metrics={"model": {"rmse": 0.0}}, as_of="2014-01-01",
                                partitions=[], training_params={})
    registry.promote(version, reason="test set-up")
    return version


def test_gate_promotes_a_better_model(store, movies):
    registry = Registry(store, signing_key=None)
    rng = np.random.default_rng(0)
    weak = _register_champion(registry, movies, rng.permutation(movies[TARGET].to_numpy()))
    report = train(settings_for(store), as_of=AS_OF, seed=1)
    decision = report.decision
    assert decision["promoted"], decision["reason"]
    assert decision["previous_champion"] == weak
    assert decision["previous_champion_on_candidate_holdout"]["rmse"] > report.metrics["model"]["rmse"]
    assert registry.champion() == report.version
    assert registry.decision(report.version) == decision
    registry.rollback()
    assert registry.champion() == weak


def test_gate_refuses_a_worse_model(store, movies):
    """A champion that has seen the candidate's holdout beats it there: the candidate stays out."""
    registry = Registry(store, signing_key=None)
    strong = _register_champion(registry, movies, movies[TARGET].to_numpy())
    report = train(settings_for(store), as_of=AS_OF, seed=1)
    assert not report.decision["promoted"]
    assert "worse than champion" in report.decision["reason"]
    assert registry.champion() == strong
    assert report.version in registry.list_versions()
    assert registry.decision(report.version)["promoted"] is False


def test_gate_refuses_a_model_no_better_than_the_mean(tmp_path):
    from tests.train.synthetic import synthetic_movies, write_train_partition
    from tmdb_mlops.storage import open_storage

    storage = open_storage(str(tmp_path / "noise"))
    noise = synthetic_movies(300, seed=4)
    noise[TARGET] = np.random.default_rng(1).uniform(0, 10, len(noise)).round(1)
    write_train_partition(storage, noise, AS_OF)
    report = train(settings_for(storage), as_of=AS_OF, seed=1)
    if report.metrics["model"]["rmse"] >= report.metrics["baselines"]["global_mean"]["rmse"]:
        assert not report.decision["promoted"]
        assert Registry(storage, signing_key=None).champion() is None
    else:  # pure noise: the model may beat the mean by luck; then the rule must say so
        assert report.decision["promoted"]
