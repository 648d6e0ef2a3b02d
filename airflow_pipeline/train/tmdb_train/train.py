"""Stage 3: fit the served pipeline (featurizer + LightGBM) with temporal early stopping.

The number of boosting rounds is chosen on the most recent slice of the
training side (never the holdout), and the pipeline is fitted on the whole
training side with that many rounds, so the served model uses every training
film and its rounds were chosen on data later than what it was fitted on.

The two fits run at once, one per core (each LightGBM fit has one thread, for
determinism): the final fit starts with the cap on rounds and stops at the
round early stopping chooses, rolling back any rounds it ran past it. A
boosted tree depends only on the trees before it, so this is the model file a
sequential refit with that many rounds writes, byte for byte (tested; the fitted
estimator also records the chosen round as its ``best_iteration_``, where a
refit records none), in about half the wall time of the two fits (issue #15).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from tmdb_mlops.features import featurizer_of
from tmdb_mlops.leakage import assert_pre_release
from tmdb_mlops.schema import TARGET
from tmdb_train.pipeline import DEFAULT_LGBM_PARAMS, build_pipeline
from tmdb_train.split import temporal_split

log = logging.getLogger(__name__)

EARLY_STOPPING_FRACTION = 0.15
MAX_ROUNDS = 3000
PATIENCE = 100
#: The linear baseline's coefficients (one per feature, ~100) are settled long before
#: this many rows; beyond it ridge is fitted on a seeded sample of the training side,
#: which keeps the median imputer's masked copy of a million-film matrix out of the
#: train command's peak memory (issue #15).
RIDGE_MAX_ROWS = 200_000


@dataclass
class FitResult:
    """The fitted pipeline and how its size was chosen."""

    pipeline: Pipeline
    best_iteration: int
    early_stopping_rows: int
    params: dict[str, Any] = field(default_factory=dict)
    #: The out-of-fold encoded training side the final model was fitted on, kept for
    #: the ridge baseline (the same features; encoding a million films costs ~10 s)
    #: and handed over once by :meth:`take_encoded`.
    encoded: np.ndarray | None = field(default=None, repr=False)

    def take_encoded(self) -> np.ndarray | None:
        """The encoded training matrix, released from this result (it is large)."""
        encoded, self.encoded = self.encoded, None
        return encoded


def choose_rounds(
    train: pd.DataFrame,
    *,
    seed: int,
    params: Mapping[str, Any],
    fraction: float,
    feature_params: Mapping[str, Any] | None = None,
    post_release: bool = False,
    abort: threading.Event | None = None,
) -> tuple[int, int, float]:
    """Boosting rounds chosen by early stopping on the latest ``fraction`` of ``train``.

    ``post_release`` is for the leakage experiment only (modeling/). ``abort`` ends
    the fit at its next round (the final fit beside it failed: nobody needs the answer).

    Returns:
        (best iteration, rows in the early-stopping split, RMSE there at the best iteration)
    """
    import lightgbm

    fit_part, stop_part = temporal_split(train, fraction=fraction)
    pipeline = build_pipeline("lightgbm", seed=seed, params={**params, "n_estimators": MAX_ROUNDS},
                              feature_params=feature_params, post_release=post_release)
    featurizer, model = pipeline.steps[0][1], pipeline.steps[-1][1]
    X_fit = featurizer.fit_transform(fit_part, fit_part[TARGET].to_numpy())
    X_stop = featurizer.transform(stop_part)
    model.fit(
        X_fit,
        fit_part[TARGET].to_numpy(),
        eval_X=(X_stop,),
        eval_y=(stop_part[TARGET].to_numpy(),),
        callbacks=[lightgbm.early_stopping(PATIENCE, verbose=False), _aborted_by(abort)],
    )
    best = int(model.best_iteration_ or MAX_ROUNDS)
    score = float(model.best_score_["valid_0"]["l2"]) ** 0.5
    return max(best, 1), len(stop_part), score


class FitAborted(RuntimeError):
    """Early stopping was told to stop: the final fit beside it had failed."""


def _aborted_by(abort: threading.Event | None) -> Callable[[Any], None]:
    def callback(env: Any) -> None:
        if abort is not None and abort.is_set():
            raise FitAborted("the final fit failed; early stopping stops with it")

    return callback


class _ChosenRounds:
    """Early stopping's choice, handed from its thread to the final fit running beside it."""

    def __init__(self) -> None:
        self._decided = threading.Event()
        self._rounds: int | None = None
        self._failed = False

    def publish(self, future: Future[tuple[int, int, float]]) -> None:
        """Record the finished early-stopping fit's rounds, or that it failed."""
        try:
            self._failed = future.cancelled() or future.exception() is not None
            self._rounds = None if self._failed else future.result()[0]
        except BaseException:
            self._failed = True
            raise
        finally:  # never leaves the final fit waiting at the cap
            self._decided.set()

    def get(self, *, wait: bool) -> int | None:
        """The chosen rounds; None while undecided (unless ``wait``)."""
        if wait:
            self._decided.wait()
        if not self._decided.is_set():
            return None
        if self._failed:
            raise EarlyStoppingFailed("early stopping failed; the final fit stops with it")
        return self._rounds


class EarlyStoppingFailed(RuntimeError):
    """Raised inside the final fit when the concurrent early-stopping fit failed."""


def _stop_at_chosen_round(chosen: _ChosenRounds) -> Callable[[Any], None]:
    """A LightGBM callback: end the fit at the chosen round, rolling back any past it.

    At the cap it waits for the choice, so the fit never ends with more rounds
    than early stopping chose.
    """
    import lightgbm

    # Trees after each round: a round that finds no split adds none, so rounds run and
    # trees kept can differ, and the roll-back goes by trees.
    trees_after: list[int] = []

    def callback(env: Any) -> None:
        done = env.iteration + 1
        trees_after.append(env.model.current_iteration())
        rounds = chosen.get(wait=done == env.end_iteration)
        if rounds is None or done < rounds:
            return
        if done > rounds:
            log.debug("final fit ran %d rounds past the chosen %d; rolled back", done - rounds,
                      rounds)
        while env.model.current_iteration() > trees_after[rounds - 1]:
            env.model.rollback_one_iter()
        # The model file's parameters then say what a refit with these rounds says.
        env.model.reset_parameter({"num_iterations": rounds})
        raise lightgbm.callback.EarlyStopException(rounds - 1, [])

    return callback


def fit_model(
    train: pd.DataFrame,
    *,
    seed: int,
    params: Mapping[str, Any] | None = None,
    feature_params: Mapping[str, Any] | None = None,
    early_stopping_fraction: float = EARLY_STOPPING_FRACTION,
) -> FitResult:
    """Fit the pipeline that will be registered (pre-release features only).

    Early stopping runs in a second thread while this one fits the final
    pipeline; see the module docstring for why the result is the sequential one.
    """
    chosen = {**DEFAULT_LGBM_PARAMS, **dict(params or {})}
    pipeline = build_pipeline("lightgbm", seed=seed, params={**chosen, "n_estimators": MAX_ROUNDS},
                              feature_params=feature_params)
    # What Pipeline.fit does, in its two steps, so the encoded matrix can be kept.
    featurizer, model = pipeline.steps[0][1], pipeline.steps[-1][1]
    y = train[TARGET].to_numpy()
    # Encoded before early stopping starts: the two encodings hold the GIL anyway, and
    # apart their transient memory never adds up (a million films: ~1 GB each).
    encoded = featurizer.fit_transform(train, y)
    rounds, abort = _ChosenRounds(), threading.Event()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="early-stopping") as pool:
        early = pool.submit(choose_rounds, train, seed=seed, params=chosen,
                            fraction=early_stopping_fraction, feature_params=feature_params,
                            abort=abort)
        early.add_done_callback(rounds.publish)
        try:
            model.fit(encoded, y, callbacks=[_stop_at_chosen_round(rounds)])
        except EarlyStoppingFailed:
            early.result()  # raises early stopping's own error, the cause
            raise
        except BaseException:
            abort.set()  # the error surfaces now, not after early stopping's whole fit
            raise
    best, stop_rows, _ = early.result()
    chosen["n_estimators"] = best
    model.set_params(n_estimators=best)  # what a refit of this estimator would run
    assert_pre_release(pipeline)
    log.info("fitted LightGBM: %d rounds (early stopping on %d most recent training rows)",
             best, stop_rows)
    return FitResult(pipeline=pipeline, best_iteration=best, early_stopping_rows=stop_rows,
                     params=chosen, encoded=encoded)


def fit_ridge(train: pd.DataFrame, *, seed: int, reuse: FitResult | None = None) -> Pipeline:
    """The linear baseline on exactly the same features.

    With ``reuse`` (the served model's fit, same seed and featurizer parameters),
    its fitted featurizer and encoded training matrix are taken instead of
    encoding the training side again, and the matrix is imputed and scaled in
    place, on at most ``RIDGE_MAX_ROWS`` of its rows: at a million films a second
    encoding and the copies of the matrix were most of the train command's peak
    memory (issue #15).
    """
    pipeline = build_pipeline("ridge", seed=seed)
    encoded = reuse.take_encoded() if reuse is not None else None
    if encoded is None:
        pipeline.fit(train, train[TARGET].to_numpy())
        return pipeline
    y = train[TARGET].to_numpy()
    if len(y) > RIDGE_MAX_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(len(y), RIDGE_MAX_ROWS, replace=False))
        encoded, y = encoded[rows], y[rows]
    steps = [("features", featurizer_of(reuse.pipeline))]
    for name, step in pipeline.steps[1:-1]:
        if "copy" in step.get_params():
            step.set_params(copy=False)
        encoded = step.fit_transform(encoded)
        steps.append((name, step))
    name, model = pipeline.steps[-1]
    steps.append((name, model.fit(encoded, y)))
    return Pipeline(steps)


def feature_importance(pipeline: Pipeline) -> dict[str, float]:
    """Gain importance by feature name, largest first (for reports and the model card)."""
    names = pipeline.steps[0][1].get_feature_names_out()
    gains = pipeline.steps[-1][1].booster_.feature_importance(importance_type="gain")
    total = float(np.sum(gains)) or 1.0
    ranked = sorted(zip(names, gains, strict=True), key=lambda kv: -kv[1])
    return {str(name): round(float(gain) / total, 6) for name, gain in ranked}
