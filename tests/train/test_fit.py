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
