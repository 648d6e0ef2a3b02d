"""The feature pipeline: one source of feature logic, no leakage, a fast path equal to the slow one."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from tests.train.synthetic import synthetic_movies
from tmdb_mlops.features import (
    EXPERIMENT_COLUMNS,
    INPUT_COLUMNS,
    FastPredictor,
    LeakageError,
    MovieFeaturizer,
    assert_pre_release,
    build_pipeline,
)
from tmdb_mlops.schema import POST_RELEASE_COLUMNS, PRE_RELEASE_COLUMNS, TARGET
from tmdb_train.split import temporal_split

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def movies() -> pd.DataFrame:
    return synthetic_movies(700, seed=3)


@pytest.fixture(scope="module")
def fitted(movies: pd.DataFrame):
    train, holdout = temporal_split(movies, fraction=0.2)
    pipeline = build_pipeline(seed=7, params={"n_estimators": 80})
    pipeline.fit(train, train[TARGET].to_numpy())
    return pipeline, train, holdout


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


def test_encode_record_accepts_lists_and_joined_strings_and_missing_values(fitted) -> None:
    pipeline, train, _ = fitted
    featurizer = pipeline.steps[0][1]
    record = train.iloc[3].to_dict()
    as_lists = {**record, **{k: str(record[k]).split("|") for k in ("genres", "cast")}}
    assert featurizer.encode_record(as_lists) == featurizer.encode_record(record)
    sparse = {"title": "Untitled", "release_date": "2020-05-01"}
    values = featurizer.encode_record(sparse)
    assert len(values) == len(featurizer.get_feature_names_out())
    assert np.isfinite(FastPredictor(pipeline).predict_records([sparse])).all()


def test_fast_predictor_equals_pipeline_predict_on_the_holdout(fitted) -> None:
    pipeline, _, holdout = fitted
    fast = FastPredictor(pipeline)
    expected = pipeline.predict(holdout)
    records = holdout.to_dict("records")
    np.testing.assert_array_equal(fast.predict_records(records), expected)
    one_by_one = np.array([fast.predict_records([r])[0] for r in records])
    np.testing.assert_array_equal(one_by_one, expected)
    as_floats = [fast.predict_record(r) for r in records]
    assert all(type(value) is float for value in as_floats)
    np.testing.assert_array_equal(np.array(as_floats), expected)


def test_single_row_path_is_thread_safe(fitted) -> None:
    """Serving calls the single-row path from many threads at once."""
    from concurrent.futures import ThreadPoolExecutor

    pipeline, _, holdout = fitted
    fast = FastPredictor(pipeline)
    records = holdout.to_dict("records") * 5
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(fast.predict_record, records))
    np.testing.assert_array_equal(np.array(got), np.tile(pipeline.predict(holdout), 5))


def test_fast_predictor_equals_ridge_pipeline(movies: pd.DataFrame) -> None:
    pipeline = build_pipeline("ridge").fit(movies, movies[TARGET])
    np.testing.assert_allclose(
        FastPredictor(pipeline).predict_records(movies.to_dict("records")),
        pipeline.predict(movies), rtol=0, atol=1e-12,
    )
    first = movies.head(1)
    single = FastPredictor(pipeline).predict_record(first.to_dict("records")[0])
    assert single == pytest.approx(pipeline.predict(first)[0], abs=1e-12)


def test_pickled_pipeline_predicts_the_same(fitted) -> None:
    pipeline, _, holdout = fitted
    clone = pickle.loads(pickle.dumps(pipeline))
    np.testing.assert_array_equal(clone.predict(holdout), pipeline.predict(holdout))
    np.testing.assert_array_equal(
        FastPredictor(clone).predict_records(holdout.to_dict("records")), pipeline.predict(holdout)
    )


def test_fitting_is_deterministic(movies: pd.DataFrame) -> None:
    a = build_pipeline(seed=5, params={"n_estimators": 50}).fit(movies, movies[TARGET])
    b = build_pipeline(seed=5, params={"n_estimators": 50}).fit(movies, movies[TARGET])
    np.testing.assert_array_equal(a.predict(movies), b.predict(movies))


def test_director_signal_moves_predictions_the_learned_way(fitted) -> None:
    """Behaviour: the same film credited to a higher-rated director is predicted higher."""
    pipeline, train, _ = fitted
    means = train.groupby("director")[TARGET].agg(["mean", "count"])
    means = means[means["count"] >= 5].sort_values("mean")
    worst, best = means.index[0], means.index[-1]
    film = {"title": "Probe", "release_date": "2014-01-01", "genres": "Drama", "runtime": 100}
    low, high = FastPredictor(pipeline).predict_records(
        [{**film, "director": worst}, {**film, "director": best}]
    )
    assert high > low
