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


def test_writers_companies_and_certification_are_encoded(fitted) -> None:
    pipeline, train, _ = fitted
    featurizer = pipeline.steps[0][1]
    names = list(featurizer.get_feature_names_out())
    row = train.iloc[0].to_dict()
    plain = featurizer.encode_record(row)
    rated = featurizer.encode_record({**row, "certification": "R", "writers": row["director"]})
    assert rated[names.index("cert_R")] == 1.0 and rated[names.index("cert_missing")] == 0.0
    assert rated[names.index("writer_is_director")] == 1.0
    unknown = featurizer.encode_record({**row, "certification": None, "writers": None,
                                        "production_companies": "Nobody Films"})
    assert unknown[names.index("cert_missing")] == 1.0
    assert unknown[names.index("writers_known")] == 0.0 == unknown[names.index("n_writers")]
    assert unknown[names.index("companies_known")] == 0.0
    assert unknown[names.index("n_companies")] == 1.0
    assert unknown[names.index("companies_te_pooled")] == pytest.approx(featurizer.prior_)
    assert len(plain) == len(names)


def test_writer_and_company_encodings_are_out_of_fold(movies: pd.DataFrame) -> None:
    """As for directors: a row's training features never see its own target."""
    solo = movies.assign(writers=[f"Only Writer {i}" for i in range(len(movies))],
                         production_companies=[f"Only Studio {i}" for i in range(len(movies))])
    encoded = MovieFeaturizer(random_state=1).fit_transform(solo, solo[TARGET])
    names = list(MovieFeaturizer(random_state=1).fit(solo, solo[TARGET]).get_feature_names_out())
    # every writer and company has one film: out of fold, none of them is known
    assert (encoded[:, names.index("writers_known")] == 0).all()
    assert (encoded[:, names.index("companies_known")] == 0).all()


def test_a_pipeline_fitted_before_schema_2_still_predicts_the_same() -> None:
    """An old bundle's featurizer ignores the columns it never knew (feature set 1)."""
    pipeline, records, expected, feature_names = schema_1_pipeline()
    featurizer = pipeline.steps[0][1]
    assert featurizer.feature_set_ == 1
    assert list(featurizer.get_feature_names_out()) == feature_names
    np.testing.assert_array_equal(pipeline.predict(pd.DataFrame(records)), expected)
    encoded = featurizer.transform(pd.DataFrame(records))
    np.testing.assert_array_equal(encoded[0], featurizer.encode_record(records[0]))
    assert encoded.shape[1] == len(feature_names)
    assert "writers_top_k" in featurizer.get_params()  # repr and clone still work


def schema_1_pipeline():
    """The pipeline fitted by the schema-1 code (fixtures/), and schema-2 records to predict.

    Returns (pipeline, records with the new columns filled, its recorded predictions
    for them without those columns, its feature names).
    """
    import json
    from pathlib import Path

    import joblib

    fixtures = Path(__file__).parent / "fixtures"
    pipeline = joblib.load(fixtures / "pipeline_schema_v1.joblib")
    recorded = json.loads((fixtures / "pipeline_schema_v1.json").read_text())
    records = [{**r, "writers": "A|B", "production_companies": "Universal Pictures",
                "certification": "R"} for r in recorded["records"]]
    return pipeline, records, np.array(recorded["predictions"]), recorded["feature_names"]
