"""The shared interval rule, the featurizer's feature sources and TreeSHAP explanations (issue #13)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tests.common.test_features import schema_1_pipeline
from tests.serve.small_models import fit_small_model, training_films
from tests.train.synthetic import synthetic_movies
from tmdb_mlops import intervals
from tmdb_mlops.explain import Explainer, NotExplainable
from tmdb_mlops.features import featurizer_of
from tmdb_mlops.inputs import INPUT_COLUMNS
from tmdb_mlops.schema import TARGET
from tmdb_train.pipeline import build_pipeline
from tmdb_train.split import temporal_split

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def model():
    return fit_small_model(training_films(), seed=4)


@pytest.fixture(scope="module")
def holdout() -> pd.DataFrame:
    return temporal_split(training_films(), fraction=0.2)[1]


def test_the_conformal_quantile_is_the_ceil_n_plus_1_order_statistic() -> None:
    scores = np.arange(1.0, 11.0)  # n = 10
    assert intervals.conformal_quantile(scores, 0.8) == 9.0  # ceil(11 * 0.8) = 9th smallest
    assert intervals.conformal_quantile(scores, 0.5) == 6.0  # ceil(5.5) = 6
    assert intervals.conformal_quantile(scores, 0.95) == math.inf  # ceil(10.45) = 11 > n
    assert intervals.conformal_quantile([], 0.8) == math.inf
    with pytest.raises(ValueError):
        intervals.conformal_quantile(scores, 1.0)


def test_one_row_and_array_bounds_agree_contain_the_prediction_and_stay_on_the_scale() -> None:
    rng = np.random.default_rng(3)
    prediction = rng.uniform(-1, 11, 500)
    lower, upper = prediction + rng.normal(0, 1, 500), prediction + rng.normal(0, 1, 500)
    low, high = intervals.bounds(prediction, lower, upper, 0.3)
    single = np.array([intervals.bound(p, lo, hi, 0.3)
                       for p, lo, hi in zip(prediction, lower, upper, strict=True)])
    np.testing.assert_array_equal(single, np.column_stack([low, high]))
    clipped = np.clip(prediction, 0, 10)
    assert (low <= clipped).all() and (clipped <= high).all()
    assert (low >= 0).all() and (high <= 10).all()


def test_intervals_widen_monotonically_with_the_nominal_coverage(model, holdout) -> None:
    encoded = featurizer_of(model.pipeline).transform(holdout)
    raw = model.pipeline.predict(holdout)
    widths = []
    for coverage in (0.5, 0.6, 0.7, 0.8, 0.9):
        low, high = intervals.intervals_for(model.interval, encoded, raw, coverage=coverage)
        widths.append(high - low)
    for narrower, wider in zip(widths, widths[1:], strict=False):
        assert (wider >= narrower - 1e-12).all()  # every film, not only on average
    assert widths[-1].mean() > widths[0].mean()


def test_the_payload_holds_plain_lightgbm_boosters_and_numbers(model) -> None:
    import lightgbm

    payload = model.interval
    assert intervals.usable(payload)
    assert isinstance(payload["lower"], lightgbm.Booster)
    assert isinstance(payload["upper"], lightgbm.Booster)
    assert payload["quantile_levels"] == pytest.approx([0.1, 0.9])
    assert np.all(np.diff(payload["scores"]) >= 0)
    assert payload["quantile"] == intervals.conformal_quantile(payload["scores"], 0.8)
    assert not intervals.usable(None) and not intervals.usable({"format": 99})


def test_feature_sources_follow_the_layout_for_both_feature_sets(model) -> None:
    featurizer = featurizer_of(model.pipeline)
    names = list(featurizer.get_feature_names_out())
    sources = featurizer.feature_sources_
    assert len(sources) == len(names) and set(sources) <= set(INPUT_COLUMNS)
    by_name = dict(zip(names, sources, strict=True))
    assert {by_name[n] for n in names if n.startswith("genre_")} == {"genres"}
    assert by_name["n_genres"] == "genres" and by_name["n_cast"] == "cast"
    assert by_name["cast_te_pooled"] == "cast" and by_name["director_te"] == "director"
    assert by_name["release_dayofyear"] == "release_date" and by_name["log_budget"] == "budget"
    assert by_name["writer_is_director"] == "writers"
    assert {by_name[n] for n in names if n.startswith("cert_")} == {"certification"}
    assert set(sources) == set(INPUT_COLUMNS)  # every raw input feeds some feature

    old = featurizer_of(schema_1_pipeline()[0])
    old_sources = old.feature_sources_
    assert len(old_sources) == len(old.get_feature_names_out())
    assert not {"writers", "production_companies", "certification"} & set(old_sources)


def test_base_value_plus_contributions_is_the_unclamped_prediction_on_the_whole_holdout(
    model, holdout,
) -> None:
    explainer = Explainer.of(model.pipeline)
    encoded = featurizer_of(model.pipeline).transform(holdout)
    base, by_source = explainer.contributions(encoded)
    np.testing.assert_allclose(base + by_source.sum(axis=1), model.pipeline.predict(holdout),
                               rtol=0, atol=1e-6)
    row = explainer.explain_row(encoded[0])
    assert list(row["contributions"]) == list(explainer.sources)


def test_an_old_feature_set_pipeline_is_explained_too() -> None:
    pipeline, records, expected, _ = schema_1_pipeline()
    explainer = Explainer.of(pipeline)
    encoded = featurizer_of(pipeline).transform(pd.DataFrame(records))
    base, by_source = explainer.contributions(encoded)
    np.testing.assert_allclose(base + by_source.sum(axis=1), expected, rtol=0, atol=1e-6)


def test_the_inputs_the_ratings_depend_on_get_contributions() -> None:
    """The synthetic ratings depend on runtime and genres: the explanation attributes to them."""
    films = synthetic_movies(600, seed=9)
    pipeline = build_pipeline(seed=1, params={"n_estimators": 40})
    pipeline.fit(films, films[TARGET].to_numpy())
    explainer = Explainer.of(pipeline)
    encoded = featurizer_of(pipeline).transform(films.head(50))
    _, by_source = explainer.contributions(encoded)
    contributions = dict(zip(explainer.sources, np.abs(by_source).mean(axis=0), strict=True))
    assert contributions["runtime"] > 0 and contributions["genres"] > 0


def test_the_ridge_baseline_is_not_explainable() -> None:
    films = synthetic_movies(200, seed=2)
    ridge = build_pipeline("ridge").fit(films, films[TARGET].to_numpy())
    with pytest.raises(NotExplainable):
        Explainer.of(ridge)
