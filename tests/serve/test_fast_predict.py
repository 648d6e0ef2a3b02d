"""Serving's single-row predictor gives exactly what ``pipeline.predict`` gives."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from tests.train.synthetic import fitted_synthetic, synthetic_movies
from tmdb_mlops.schema import TARGET
from tmdb_serve.fast_predict import FastPredictor
from tmdb_train.pipeline import build_pipeline

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def movies() -> pd.DataFrame:
    return synthetic_movies(700, seed=3)


@pytest.fixture(scope="module")
def fitted():
    return fitted_synthetic(700, seed=3)


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


def test_a_schema_1_bundle_predicts_the_same_through_the_fast_path() -> None:
    """Bundles trained before writers/companies/certification keep serving, extra fields ignored."""
    from tests.common.test_features import schema_1_pipeline

    pipeline, records, expected, _ = schema_1_pipeline()
    fast = FastPredictor(pipeline)
    np.testing.assert_array_equal(fast.predict_records(records), expected)
    np.testing.assert_array_equal(np.array([fast.predict_record(r) for r in records]), expected)


def test_batches_above_and_below_the_columnwise_size_equal_pipeline_predict(fitted) -> None:
    """Row by row below COLUMNWISE_FROM records, column-wise from it: the same numbers."""
    from tmdb_serve.fast_predict import COLUMNWISE_FROM

    pipeline, train, holdout = fitted
    frame = pd.concat([holdout, train], ignore_index=True)
    fast = FastPredictor(pipeline)
    for size in (2, COLUMNWISE_FROM - 1, COLUMNWISE_FROM, len(frame)):
        batch = frame.iloc[:size]
        np.testing.assert_array_equal(fast.predict_records(batch.to_dict("records")),
                                      pipeline.predict(batch))


def _with_interval(fitted, *, shift: float = 0.0):
    """The fitted pipeline, its training side shifted by ``shift`` points, and an interval."""
    from tmdb_train.interval import fit_interval

    pipeline, train, holdout = fitted
    payload, _ = fit_interval(pipeline, train=train, holdout=holdout.assign(
        vote_average=holdout["vote_average"] + shift), coverage=0.8, seed=1)
    return pipeline, holdout, payload


@pytest.mark.parametrize("shift", [0.0, 6.0, -6.0])
def test_the_single_row_interval_equals_the_batch_rule(fitted, shift: float) -> None:
    """predict_row's inlined bound (the /predict path) is intervals.bounds, row by row.

    Shifted calibration targets make the conformal quantile large, so the bounds are
    pushed past 0 or 10 and the clipping is exercised too.
    """
    from tmdb_mlops import intervals

    pipeline, holdout, payload = _with_interval(fitted, shift=shift)
    fast = FastPredictor(pipeline, interval=payload)
    records = holdout.to_dict("records")
    raw, low, high = fast.predict_with_intervals(records)
    np.testing.assert_array_equal(raw, pipeline.predict(holdout))
    rows = [fast.predict_row(r) for r in records]
    np.testing.assert_array_equal([r[0] for r in rows], raw)
    np.testing.assert_allclose([r[1] for r in rows], np.column_stack([low, high]), rtol=0,
                               atol=1e-12)
    encoded = pipeline.steps[0][1].transform(holdout)
    expected = intervals.intervals_for(payload, encoded, raw)
    np.testing.assert_allclose(np.column_stack(expected), np.column_stack([low, high]),
                               rtol=0, atol=1e-12)
    assert (low >= 0).all() and (high <= 10).all()
    if shift:
        assert (low == 0).any() or (high == 10).any()


def test_the_interval_path_is_thread_safe(fitted) -> None:
    from concurrent.futures import ThreadPoolExecutor

    pipeline, holdout, payload = _with_interval(fitted)
    fast = FastPredictor(pipeline, interval=payload)
    records = holdout.to_dict("records") * 4
    expected = [fast.predict_row(r)[1] for r in records]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda r: fast.predict_row(r)[1], records))
    assert got == expected


def test_the_batch_encoders_name_indexes_are_built_when_the_predictor_is(fitted) -> None:
    """At load, off the request path: not by the first large batch after a swap."""
    pipeline = pickle.loads(pickle.dumps(fitted[0]))
    tables = pipeline.steps[0][1]._stat_tables().values()
    assert all(table._index is None for table in tables)
    FastPredictor(pipeline)
    assert all(table._index is not None for table in tables)
