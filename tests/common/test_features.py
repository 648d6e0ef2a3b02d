"""The feature pipeline: one source of feature logic, no leakage, a fast path equal to the slow one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.train.synthetic import fitted_synthetic, synthetic_movies
from tmdb_mlops.errors import LeakageError
from tmdb_mlops.features import EXPERIMENT_COLUMNS, MovieFeaturizer
from tmdb_mlops.inputs import INPUT_COLUMNS
from tmdb_mlops.leakage import assert_pre_release, contract_leaks
from tmdb_mlops.schema import POST_RELEASE_COLUMNS, PRE_RELEASE_COLUMNS, TARGET
from tmdb_train.pipeline import build_pipeline

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def movies() -> pd.DataFrame:
    return synthetic_movies(700, seed=3)


@pytest.fixture(scope="module")
def fitted():
    return fitted_synthetic(700, seed=3)


def test_input_columns_are_pre_release_only() -> None:
    assert set(INPUT_COLUMNS) <= set(PRE_RELEASE_COLUMNS)
    assert not set(INPUT_COLUMNS) & set(POST_RELEASE_COLUMNS)


def test_post_release_columns_absent_or_garbage_do_not_change_predictions(fitted) -> None:
    pipeline, _, holdout = fitted
    expected = pipeline.predict(holdout)
    absent = holdout.drop(columns=list(POST_RELEASE_COLUMNS))
    garbage = holdout.assign(vote_average=99.0, vote_count=-5, popularity=np.inf,
                             revenue="not a number")
    np.testing.assert_array_equal(pipeline.predict(absent), expected)
    np.testing.assert_array_equal(pipeline.predict(garbage), expected)
    names = list(pipeline.steps[0][1].get_feature_names_out())
    assert not any(c in name for name in names for c in POST_RELEASE_COLUMNS)


def test_served_pipeline_refuses_post_release_features(movies: pd.DataFrame) -> None:
    assert_pre_release(build_pipeline())
    leaky = build_pipeline(post_release=True)
    with pytest.raises(LeakageError, match="post-release"):
        assert_pre_release(leaky)
    with pytest.raises(LeakageError, match="never a feature"):
        MovieFeaturizer(post_release_columns=(TARGET,)).fit(movies, movies[TARGET])
    assert TARGET not in EXPERIMENT_COLUMNS


def test_leaky_variant_does_read_the_post_release_columns(movies: pd.DataFrame) -> None:
    """The leakage experiment's variant really uses them (else it would measure nothing)."""
    featurizer = MovieFeaturizer(post_release_columns=EXPERIMENT_COLUMNS).fit(movies, movies[TARGET])
    changed = movies.assign(vote_count=movies["vote_count"] * 10)
    assert not np.array_equal(featurizer.transform(movies), featurizer.transform(changed))


def test_fit_transform_is_out_of_fold(movies: pd.DataFrame) -> None:
    """Changing one row's own target never changes that row's training features."""
    y = movies[TARGET].to_numpy().copy()
    first = MovieFeaturizer(random_state=1).fit_transform(movies, y)
    y[0] = 10.0 if y[0] < 5 else 0.0
    second = MovieFeaturizer(random_state=1).fit_transform(movies, y)
    np.testing.assert_array_equal(first[0], second[0])
    # ...while transform (for unseen films) uses every training row's target.
    assert not np.array_equal(first, second)


def test_transform_uses_full_data_encodings(movies: pd.DataFrame) -> None:
    featurizer = MovieFeaturizer().fit(movies, movies[TARGET])
    names = list(featurizer.get_feature_names_out())
    row = movies.iloc[0]
    films = movies[movies["director"] == row["director"]]
    m, prior = featurizer.te_smoothing, movies[TARGET].mean()
    expected = (films[TARGET].sum() + m * prior) / (len(films) + m)
    encoded = featurizer.encode_record(row.to_dict())
    assert encoded[names.index("director_te")] == pytest.approx(expected)
    assert encoded[names.index("director_log_films")] == pytest.approx(np.log1p(len(films)))


def test_fitting_is_deterministic(movies: pd.DataFrame) -> None:
    a = build_pipeline(seed=5, params={"n_estimators": 50}).fit(movies, movies[TARGET])
    b = build_pipeline(seed=5, params={"n_estimators": 50}).fit(movies, movies[TARGET])
    np.testing.assert_array_equal(a.predict(movies), b.predict(movies))


def test_the_raw_input_contract_has_no_leak() -> None:
    """The invariant the featurizer module once checked at import time."""
    assert contract_leaks() == set()
