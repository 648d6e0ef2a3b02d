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
