"""The fit stage's shortcuts give exactly what the plain way gives (issue #15)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.train.synthetic import synthetic_movies
from tmdb_train.split import temporal_split
from tmdb_train.train import fit_model, fit_ridge

pytestmark = pytest.mark.unit


def test_the_ridge_baseline_on_the_served_fit_matrix_equals_one_fitted_alone() -> None:
    train, holdout = temporal_split(synthetic_movies(600, seed=5), fraction=0.2)
    fitted = fit_model(train, seed=1, params={"n_estimators": 40})
    assert fitted.encoded is not None and fitted.encoded.shape[0] == len(train)
    alone = fit_ridge(train, seed=1).predict(holdout)
    reused = fit_ridge(train, seed=1, reuse=fitted)
    np.testing.assert_array_equal(reused.predict(holdout), alone)
    assert fitted.encoded is None, "the matrix is handed over once, not kept"
    # The shared featurizer is the served pipeline's own, unchanged by the ridge fit.
    assert reused.steps[0][1] is fitted.pipeline.steps[0][1]
    np.testing.assert_array_equal(fitted.pipeline.predict(holdout),
                                  fit_model(train, seed=1, params={"n_estimators": 40})
                                  .pipeline.predict(holdout))


def test_the_interval_on_the_fit_matrix_equals_the_one_that_encodes_again() -> None:
    from tmdb_train.interval import fit_interval

    train, holdout = temporal_split(synthetic_movies(600, seed=6), fraction=0.2)
    fitted = fit_model(train, seed=1, params={"n_estimators": 40})
    before = fitted.encoded.copy()
    shared, shared_summary = fit_interval(fitted.pipeline, train=train, holdout=holdout,
                                          coverage=0.8, seed=1, encoded=fitted.encoded)
    again, again_summary = fit_interval(fitted.pipeline, train=train, holdout=holdout,
                                        coverage=0.8, seed=1)
    np.testing.assert_array_equal(fitted.encoded, before)  # read, never changed
    np.testing.assert_array_equal(shared["scores"], again["scores"])
    assert shared_summary == again_summary


def _trees(pipeline) -> str:
    """The booster's whole model text: trees, and parameters (which must not say the cap)."""
    return pipeline.steps[-1][1].booster_.model_to_string()


def test_the_concurrent_final_fit_is_the_sequential_refit_tree_for_tree() -> None:
    """Issue #15: early stopping in a second thread; the same model file, byte for byte."""
    from tmdb_train.pipeline import DEFAULT_LGBM_PARAMS, build_pipeline
    from tmdb_train.train import EARLY_STOPPING_FRACTION, choose_rounds

    train, holdout = temporal_split(synthetic_movies(900, seed=7), fraction=0.2)
    fitted = fit_model(train, seed=3)
    best, _, _ = choose_rounds(train, seed=3, params=DEFAULT_LGBM_PARAMS,
                               fraction=EARLY_STOPPING_FRACTION)
    assert fitted.best_iteration == best
    sequential = build_pipeline("lightgbm", seed=3,
                                params={**DEFAULT_LGBM_PARAMS, "n_estimators": best})
    sequential.fit(train, train["vote_average"].to_numpy())
    assert fitted.pipeline.steps[-1][1].booster_.num_trees() == best
    assert _trees(fitted.pipeline) == _trees(sequential)
    np.testing.assert_array_equal(fitted.pipeline.predict(holdout), sequential.predict(holdout))
    assert fitted.pipeline.steps[-1][1].get_params()["n_estimators"] == best
    assert fitted.params["n_estimators"] == best


def _fit_deciding_late(*, cap: int, rounds: int, decide_at: int | None, delay: float = 0.0):
    """A final fit whose chosen ``rounds`` arrive after round ``decide_at`` (or from a timer)."""
    import threading
    from concurrent.futures import Future

    from tmdb_train.pipeline import DEFAULT_LGBM_PARAMS, build_pipeline
    from tmdb_train.train import _ChosenRounds, _stop_at_chosen_round

    train, _ = temporal_split(synthetic_movies(500, seed=8), fraction=0.2)
    chosen, decision = _ChosenRounds(), Future()
    decision.set_result((rounds, 0, 0.0))

    def publish_late(env) -> None:
        if decide_at is not None and env.iteration + 1 == decide_at:
            chosen.publish(decision)

    if decide_at is None:
        threading.Timer(delay, chosen.publish, args=(decision,)).start()
    pipeline = build_pipeline("lightgbm", seed=2, params={**DEFAULT_LGBM_PARAMS,
                                                          "n_estimators": cap})
    featurizer, model = pipeline.steps[0][1], pipeline.steps[-1][1]
    y = train["vote_average"].to_numpy()
    model.fit(featurizer.fit_transform(train, y), y,
              callbacks=[publish_late, _stop_at_chosen_round(chosen)])
    reference = build_pipeline("lightgbm", seed=2, params={**DEFAULT_LGBM_PARAMS,
                                                           "n_estimators": rounds})
    reference.fit(train, y)
    return pipeline, reference


def test_a_final_fit_past_the_chosen_round_rolls_back_to_it() -> None:
    late, reference = _fit_deciding_late(cap=200, rounds=30, decide_at=45)
    assert late.steps[-1][1].booster_.num_trees() == 30
    assert _trees(late) == _trees(reference)


def test_a_final_fit_at_the_cap_waits_for_the_choice() -> None:
    """The choice is published only once the fit stands at its cap: the callback must wait."""
    import threading
    from concurrent.futures import Future

    from tmdb_train.pipeline import DEFAULT_LGBM_PARAMS, build_pipeline
    from tmdb_train.train import _ChosenRounds, _stop_at_chosen_round

    train, _ = temporal_split(synthetic_movies(500, seed=8), fraction=0.2)
    chosen, decision, at_cap = _ChosenRounds(), Future(), threading.Event()
    decision.set_result((20, 0, 0.0))
    published_after_cap: list[bool] = []

    def publish_once_at_cap() -> None:
        at_cap.wait(timeout=60)
        published_after_cap.append(at_cap.is_set())
        chosen.publish(decision)

    def mark_cap(env) -> None:  # runs before the stopping callback, in the same round
        if env.iteration + 1 == env.end_iteration:
            at_cap.set()

    publisher = threading.Thread(target=publish_once_at_cap)
    publisher.start()
    pipeline = build_pipeline("lightgbm", seed=2, params={**DEFAULT_LGBM_PARAMS, "n_estimators": 25})
    featurizer, model = pipeline.steps[0][1], pipeline.steps[-1][1]
    y = train["vote_average"].to_numpy()
    model.fit(featurizer.fit_transform(train, y), y,
              callbacks=[mark_cap, _stop_at_chosen_round(chosen)])
    publisher.join()
    assert published_after_cap == [True]
    reference = build_pipeline("lightgbm", seed=2, params={**DEFAULT_LGBM_PARAMS,
                                                           "n_estimators": 20})
    reference.fit(train, y)
    assert model.booster_.num_trees() == 20
    assert _trees(pipeline) == _trees(reference)


def test_rounds_that_add_no_tree_are_not_rolled_back_as_trees() -> None:
    """A fit that stops finding splits runs rounds without trees; the roll-back counts trees."""
    from concurrent.futures import Future

    from lightgbm import LGBMRegressor

    from tmdb_train.train import _ChosenRounds, _stop_at_chosen_round

    X = np.repeat(np.arange(4.0), 50)[:, None]  # learned exactly in round 1, then no split
    y = X[:, 0] * 1.0
    params = {"learning_rate": 1.0, "num_leaves": 4, "min_child_samples": 10,
              "deterministic": True, "force_row_wise": True, "n_jobs": 1, "verbose": -1,
              "random_state": 1}
    chosen, decision = _ChosenRounds(), Future()
    decision.set_result((5, 0, 0.0))

    def publish_late(env) -> None:
        if env.iteration + 1 == 10:
            chosen.publish(decision)

    late = LGBMRegressor(n_estimators=200, **params).fit(
        X, y, callbacks=[publish_late, _stop_at_chosen_round(chosen)])
    sequential = LGBMRegressor(n_estimators=5, **params).fit(X, y)
    assert sequential.booster_.num_trees() == 1
    assert late.booster_.model_to_string() == sequential.booster_.model_to_string()


def test_a_failed_early_stopping_fit_fails_the_fit_with_its_own_error(monkeypatch) -> None:
    from tmdb_train import train as train_stage

    def broken(*args, **kwargs):
        raise ValueError("early stopping broke")

    monkeypatch.setattr(train_stage, "choose_rounds", broken)
    train, _ = temporal_split(synthetic_movies(300, seed=9), fraction=0.2)
    with pytest.raises(ValueError, match="early stopping broke"):
        fit_model(train, seed=1)


def test_evaluating_on_the_shared_holdout_encoding_equals_encoding_again() -> None:
    """Issue #15: the train command encodes the holdout once for every stage."""
    from tmdb_mlops.features import featurizer_of
    from tmdb_train.evaluate import evaluate

    train, holdout = temporal_split(synthetic_movies(600, seed=10), fraction=0.2)
    fitted = fit_model(train, seed=1, params={"n_estimators": 40})
    ridge = fit_ridge(train, seed=1, reuse=fitted)
    encoded = featurizer_of(fitted.pipeline).transform(holdout)
    before = encoded.copy()
    shared = evaluate(model=fitted.pipeline, ridge=ridge, train=train, holdout=holdout,
                      holdout_fraction=0.2, holdout_encoded=encoded,
                      holdout_predictions=fitted.pipeline[1:].predict(encoded))
    np.testing.assert_array_equal(encoded, before)  # ridge's in-place steps got a copy
    assert shared == evaluate(model=fitted.pipeline, ridge=ridge, train=train, holdout=holdout,
                              holdout_fraction=0.2)


def test_the_drift_reference_of_a_large_training_side_is_a_seeded_sample(monkeypatch) -> None:
    """Issue #15: past MAX_ROWS films the profile reads a sample; the target mean all rows."""
    from tmdb_mlops.drift import build_profile
    from tmdb_train import profile as profile_stage

    train = synthetic_movies(500, seed=11)
    predictions = np.linspace(3, 8, 50)
    whole = profile_stage.monitoring_reference(train=train, holdout_predictions=predictions,
                                               loss_summary=None, seed=4)["profile"]
    assert whole == build_profile(train, predictions=predictions,
                                  target_mean=float(train["vote_average"].mean()))
    monkeypatch.setattr(profile_stage, "MAX_ROWS", 200)
    sampled = profile_stage.monitoring_reference(train=train, holdout_predictions=predictions,
                                                 loss_summary=None, seed=4)["profile"]
    assert sampled["rows"] == 200
    assert sampled["sampled_rows"] == {"rows": 200, "of": 500, "seed": 4}
    assert sampled["target_mean"] == whole["target_mean"]
    assert sampled == profile_stage.monitoring_reference(
        train=train, holdout_predictions=predictions, loss_summary=None, seed=4)["profile"]
    assert sampled["columns"] != whole["columns"]


def test_a_failed_final_fit_stops_early_stopping_too(monkeypatch) -> None:
    """The final fit's own error surfaces, and early stopping beside it is told to stop."""
    import threading

    from tmdb_train import train as train_stage

    seen: dict[str, object] = {}
    real_choose = train_stage.choose_rounds

    def watched(*args, abort: threading.Event, **kwargs):
        seen["abort"] = abort
        try:
            return real_choose(*args, abort=abort, **kwargs)
        except train_stage.FitAborted as exc:
            seen["aborted"] = exc
            raise

    def broken_stop(chosen):
        def callback(env) -> None:
            if env.iteration == 3:
                raise MemoryError("final fit broke")
        return callback

    monkeypatch.setattr(train_stage, "choose_rounds", watched)
    monkeypatch.setattr(train_stage, "_stop_at_chosen_round", broken_stop)
    train, _ = temporal_split(synthetic_movies(900, seed=12), fraction=0.2)
    with pytest.raises(MemoryError, match="final fit broke"):
        fit_model(train, seed=1)
    assert seen["abort"].is_set()
    assert isinstance(seen.get("aborted"), train_stage.FitAborted)
