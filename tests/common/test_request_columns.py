"""``to_columns`` is ``to_record`` a column at a time, and encodes to the same features.

``/predict/batch`` hands its validated films to the column-wise encoder as columns
(``inputs.to_columns`` -> ``RawColumns.from_columns``) rather than one record dict
per film. Requests are drawn by hypothesis from every value the contract accepts at
its edges (whitespace-only and padded names, unicode, empty lists and strings, the
numeric bounds, budget 0, known and unknown names), validated by ``MovieFeatures``
itself, and must give bit for bit the features and predictions of their records.
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.common.test_batch_encoder import HYPOTHESIS, assert_bitwise, row_by_row
from tests.train.synthetic import fitted_synthetic
from tmdb_mlops.batch_features import RawColumns
from tmdb_mlops.genres import GENRE_NAMES
from tmdb_mlops.inputs import (
    EXAMPLES,
    INPUT_COLUMNS,
    US_CERTIFICATIONS,
    MovieFeatures,
    column_records,
    field_columns,
    to_columns,
    to_record,
)

pytestmark = pytest.mark.unit

KNOWN = ["Director 1", "Director 2", "Actor 3", "Actor 10", "Writer 4", "Studio 1", "Studio 5"]
NAME = st.one_of(
    st.sampled_from(KNOWN),
    st.sampled_from(KNOWN).map(lambda n: f"  {n}\u3000"),  # padded: stripped by the encoder
    st.sampled_from([" ", "\t", "\u00a0", "Ünïcødé 名前", "🎬", "x" * 200, "a\nb", "None"]),
    st.text(min_size=1, max_size=12).filter(lambda s: "|" not in s),
)
TEXT = st.one_of(st.sampled_from(["Part II", "2: The Return", " ", "é" * 300, "a\nb"]),
                 st.text(min_size=1, max_size=40))


def _optional(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.none(), strategy)


ITEM = st.fixed_dictionaries(
    {"title": TEXT,
     "release_date": st.dates(date(1874, 1, 1), date(2100, 12, 31)).map(date.isoformat)},
    optional={
        "genres": st.lists(st.sampled_from(GENRE_NAMES), max_size=4),
        "runtime": _optional(st.one_of(st.integers(1, 1000), st.floats(1, 1000),
                                       st.sampled_from([1, 1000, 1.5]))),
        "original_language": _optional(st.sampled_from(["en", "fr", "ja", "zz"])),
        "overview": _optional(st.one_of(st.just(""), TEXT)),
        "budget": _optional(st.one_of(st.integers(0, 10**10), st.floats(0, 1e10),
                                      st.sampled_from([0, 0.0, -0.0, 1e10, 5e-324]))),
        "production_countries": st.lists(st.sampled_from(["US", "GB", "FR", "ZZ"]), max_size=4),
        "director": _optional(NAME),
        "cast": st.lists(NAME, max_size=8),
        "writers": st.lists(NAME, max_size=4),
        "production_companies": st.lists(NAME, max_size=4),
        "certification": _optional(st.sampled_from(US_CERTIFICATIONS)),
    },
)


@pytest.fixture(scope="module")
def fitted():
    return fitted_synthetic(700, seed=3)


def _movies(items: list[dict]) -> list[MovieFeatures]:
    return [MovieFeatures.model_validate(item) for item in items]


@HYPOTHESIS
@given(items=st.lists(ITEM, min_size=1, max_size=30))
def test_to_columns_holds_to_records_cells(items) -> None:
    movies = _movies(items)
    columns = to_columns(field_columns(movies))
    assert set(columns) == set(INPUT_COLUMNS)
    records = [to_record(movie) for movie in movies]
    for name, column in columns.items():
        assert len(column) == len(movies)
        for cell, record in zip(column.tolist(), records, strict=True):
            expected = record[name]
            if column.dtype.kind == "f":  # number columns: NaN stands for None
                assert (math.isnan(cell) and expected is None) or cell == expected, name
                assert expected is None or np.signbit(cell) == np.signbit(expected), name
            else:
                assert cell == expected and type(cell) is type(expected), name


@HYPOTHESIS
@given(items=st.lists(ITEM, min_size=1, max_size=30))
def test_request_columns_encode_as_their_records(fitted, items) -> None:
    pipeline, _, _ = fitted
    featurizer, model = pipeline.steps[0][1], pipeline.steps[-1][1]
    movies = _movies(items)
    records = [to_record(movie) for movie in movies]
    single = row_by_row(featurizer, records)
    columns = to_columns(field_columns(movies))
    # what str_or_none takes on trust: every object column holds only str or None
    assert all(type(cell) is str or cell is None for column in columns.values()
               if column.dtype == object for cell in column)
    batch = featurizer.transform(RawColumns.from_columns(columns, len(movies), str_or_none=True))
    assert_bitwise(batch, single)
    assert_bitwise(featurizer.transform(RawColumns.from_columns(columns, len(movies))), single)
    assert_bitwise(featurizer.transform(records), single)
    np.testing.assert_array_equal(model.predict(batch), model.predict(single))


def test_the_examples_and_a_thousand_films_encode_as_their_records(fitted) -> None:
    """The /docs examples, and the bench's 1,000-film batch of them (one column each)."""
    featurizer = fitted[0].steps[0][1]
    items = [dict(EXAMPLES[i % len(EXAMPLES)], title=f"Film {i}") for i in range(1000)]
    movies = _movies(items)
    records = [to_record(movie) for movie in movies]
    columns = to_columns(field_columns(movies))
    assert_bitwise(featurizer.transform(RawColumns.from_columns(columns, 1000, str_or_none=True)),
                   row_by_row(featurizer, records))


@HYPOTHESIS
@given(items=st.lists(ITEM, min_size=1, max_size=10))
def test_records_of_the_columns_encode_as_to_records_records(fitted, items) -> None:
    """Small batches go row by row from to_columns' cells (NaN for an unknown number)."""
    featurizer = fitted[0].steps[0][1]
    movies = _movies(items)
    rows = column_records(to_columns(field_columns(movies)))
    assert_bitwise(row_by_row(featurizer, rows),
                   row_by_row(featurizer, [to_record(movie) for movie in movies]))
