"""The column-wise batch encoder and the single-row encoder are one contract.

``MovieFeaturizer.transform`` / ``fit_transform`` run ``tmdb_mlops.batch_features``;
``encode_record`` (serving's /predict) runs ``MovieFeaturizer._encode``. These tests
hold the two to identical features, bit for bit (``assert_bitwise``: the same NaN
positions and the same 64 bits everywhere else, so even -0.0 against 0.0 fails),
and identical predictions: on the whole holdout, on records hypothesis draws from
hostile values (missing in every spelling, empty lists, unicode, whitespace,
separators, extreme numbers, dates as text/date/datetime/garbage, lists against
"A|B" strings), as records, as object frames and as typed frames; and for fitting,
against a reference out-of-fold encoder written with the scalar helpers the
featurizer had before the batch encoder existed.
"""

from __future__ import annotations

import math
import pickle
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.train.synthetic import fitted_synthetic, synthetic_movies
from tmdb_mlops.cells import split_list, target_stats, text
from tmdb_mlops.features import EXPERIMENT_COLUMNS, MovieFeaturizer, NameStats
from tmdb_mlops.inputs import INPUT_COLUMNS
from tmdb_mlops.schema import TARGET

pytestmark = pytest.mark.unit

HYPOTHESIS = settings(max_examples=60, deadline=None,
                      suppress_health_check=[HealthCheck.too_slow,
                                             HealthCheck.function_scoped_fixture])


def assert_bitwise(batch: np.ndarray, rows: np.ndarray) -> None:
    """The same shape, NaN in the same cells, and the same bits in every other cell."""
    batch = np.asarray(batch, dtype=np.float64)
    rows = np.asarray(rows, dtype=np.float64).reshape(batch.shape)
    nan = np.isnan(batch)
    np.testing.assert_array_equal(nan, np.isnan(rows))
    mismatch = batch.view(np.int64) != rows.view(np.int64)
    mismatch &= ~nan
    assert not mismatch.any(), (
        f"{int(mismatch.sum())} cells differ, first at {np.argwhere(mismatch)[:5].tolist()}: "
        f"{batch[mismatch][:5]} against {rows[mismatch][:5]}"
    )


def row_by_row(featurizer: MovieFeaturizer, records: list[dict]) -> np.ndarray:
    return np.array([featurizer.encode_record(r) for r in records],
                    dtype=np.float64).reshape(len(records), featurizer.n_features_out_)


@pytest.fixture(scope="module")
def fitted():
    return fitted_synthetic(700, seed=3)


# --- the whole holdout --------------------------------------------------------------------


def test_transform_equals_the_single_row_path_on_the_whole_holdout(fitted) -> None:
    pipeline, train, holdout = fitted
    featurizer, model = pipeline.steps[0][1], pipeline.steps[-1][1]
    records = holdout.to_dict("records")
    batch = featurizer.transform(holdout)
    single = row_by_row(featurizer, records)
    assert_bitwise(batch, single)
    assert_bitwise(featurizer.transform(records), single)  # a list of records too
    np.testing.assert_array_equal(pipeline.predict(holdout), model.predict(single))
    assert_bitwise(featurizer.transform(train), row_by_row(featurizer, train.to_dict("records")))


def test_transform_equals_the_single_row_path_on_the_sandbox_shaped_csv(fitted) -> None:
    """As the trainer reads it: every column text, then pandera's dtypes (string, float)."""
    from tmdb_train.data import validate

    pipeline, _, holdout = fitted
    featurizer = pipeline.steps[0][1]
    typed = validate(holdout.reset_index(drop=True).astype({"id": "int64"}), where="test")
    assert isinstance(typed["title"].dtype, pd.StringDtype)
    assert_bitwise(featurizer.transform(typed), row_by_row(featurizer, typed.to_dict("records")))


def test_empty_batch() -> None:
    featurizer = MovieFeaturizer().fit(synthetic_movies(80, seed=1),
                                       synthetic_movies(80, seed=1)[TARGET])
    assert featurizer.transform(synthetic_movies(5).iloc[:0]).shape == (0, len(
        featurizer.get_feature_names_out()))
    assert featurizer.transform([]).shape == (0, featurizer.n_features_out_)


# --- fitting: the out-of-fold encoding against the scalar reference --------------------------


def reference_fit_transform(featurizer: MovieFeaturizer, frame: pd.DataFrame,
                            y: np.ndarray) -> tuple[np.ndarray, dict]:
    """The featurizer's fitting before the batch encoder, rewritten with the scalar helpers.

    Returns the out-of-fold matrix and the full-data statistics ``fit`` must store.
    """
    from sklearn.model_selection import KFold

    columns = [c for c in featurizer.input_columns if c in frame.columns]
    series = {c: frame[c].astype(object) for c in columns}
    cells = [s.where(s.notna(), None).tolist() for s in series.values()]
    records = [{c: cells[j][i] for j, c in enumerate(columns)} for i in range(len(frame))]

    def stats_of(rows: list[dict], target: np.ndarray) -> NameStats:
        return NameStats(
            directors=target_stats((featurizer._director(r) for r in rows), target),
            cast=target_stats((featurizer._cast(r) for r in rows), target),
            writers=target_stats((featurizer._writers(r) for r in rows), target),
            companies=target_stats((featurizer._companies(r) for r in rows), target),
            prior=float(np.mean(target)),
        )

    out = np.empty((len(records), featurizer.n_features_out_))
    folds = KFold(n_splits=min(featurizer.te_folds, len(records)), shuffle=True,
                  random_state=featurizer.random_state)
    for fit_idx, enc_idx in folds.split(records):
        stats = stats_of([records[i] for i in fit_idx], y[fit_idx])
        for i in enc_idx:
            out[i] = featurizer._encode(records[i], stats=stats)
    full = stats_of(records, y)
    counters = {
        "genres": [g for r in records for g in split_list(r.get("genres"))],
        "countries": [c for r in records for c in split_list(r.get("production_countries"))],
        "languages": [t for r in records if (t := text(r.get("original_language")))],
        "certifications": [t for r in records if (t := text(r.get("certification")))],
    }
    return out, {"stats": full, "counters": counters}


def assert_fit_matches_reference(frame: pd.DataFrame, y: np.ndarray, **params) -> None:
    from collections import Counter

    featurizer = MovieFeaturizer(**params)
    encoded = featurizer.fit_transform(frame, y)
    expected, fitted_state = reference_fit_transform(featurizer, frame, y)
    assert_bitwise(encoded, expected)
    stats = fitted_state["stats"]
    assert featurizer.director_stats_ == stats.directors
    assert featurizer.cast_stats_ == stats.cast
    assert featurizer.writer_stats_ == stats.writers
    assert featurizer.company_stats_ == stats.companies
    assert featurizer.prior_ == stats.prior
    counters = fitted_state["counters"]
    assert Counter(counters["genres"]).keys() >= set(featurizer.genres_)
    assert featurizer.languages_ == sorted(featurizer.languages_)
    for values, fitted_values, min_count in (
        (counters["genres"], featurizer.genres_, featurizer.min_genre_count),
        (counters["countries"], featurizer.countries_, featurizer.min_country_count),
        (counters["languages"], featurizer.languages_, featurizer.min_language_count),
        (counters["certifications"], featurizer.certifications_,
         featurizer.min_certification_count),
    ):
        counts = Counter(values)
        assert all(counts[v] >= min_count for v in fitted_values)
    # and transform (full statistics) equals the single-row path on the same frame
    assert_bitwise(featurizer.transform(frame), row_by_row(featurizer, frame.to_dict("records")))


def test_fit_transform_equals_the_scalar_reference() -> None:
    movies = synthetic_movies(900, seed=5)
    assert_fit_matches_reference(movies, movies[TARGET].to_numpy(), random_state=3)
    # the leakage experiment's columns go through the same encoder
    assert_fit_matches_reference(movies, movies[TARGET].to_numpy(),
                                 post_release_columns=EXPERIMENT_COLUMNS)


def test_fit_transform_on_duplicated_and_padded_names_equals_the_reference() -> None:
    """Names repeated within a row, whitespace, empty items, more names than top-k."""
    movies = synthetic_movies(300, seed=8)
    movies["cast"] = [f" Actor {i % 7} | Actor {i % 7}||Actor {i % 3} | | Actor {i % 11}|Extra"
                      for i in range(len(movies))]
    movies["writers"] = [None if i % 4 == 0 else f"Director {i % 5}| Writer {i % 9} |"
                         for i in range(len(movies))]
    movies["director"] = [f"  Director {i % 5}  " if i % 3 else "" for i in range(len(movies))]
    assert_fit_matches_reference(movies, movies[TARGET].to_numpy(), random_state=9)


# --- hostile and randomised records -------------------------------------------------------

KNOWN_PEOPLE = ["Director 1", "Director 2", "Director 7", "Actor 3", "Actor 10", "Actor 41",
                "Writer 4", "Writer 9", "Studio 1", "Studio 5"]
MISSING = [None, math.nan, pd.NA, pd.NaT, np.float32("nan"), np.nan]
WEIRD_TEXT = st.sampled_from(["", " ", "\t", "\u00a0", "|", "||", " | ", "Ünïcødé 名前", "🎬",
                              "Part II", "2: The Return", "x" * 300, "a\nb", "None", "nan"])
NAME = st.one_of(st.sampled_from(KNOWN_PEOPLE), WEIRD_TEXT,
                 st.sampled_from(KNOWN_PEOPLE).map(lambda n: f"  {n}\u3000"),
                 st.text(max_size=12))
GENRE = st.sampled_from(["Drama", "Comedy", "Horror", "Documentary", "Western", " Drama ", ""])
MISSING_VALUE = st.sampled_from(MISSING)


def list_cell(item: st.SearchStrategy) -> st.SearchStrategy:
    """A list field as the CSV writes it ("A|B"), as a request sends it, or missing."""
    items = st.lists(item, max_size=7)
    return st.one_of(
        MISSING_VALUE,
        items.map("|".join),
        items,
        items.map(tuple),
        st.lists(st.one_of(item, st.integers(-5, 5), st.none()), max_size=4),
        st.just([]),
        st.just(""),
    )


NUMBER = st.one_of(
    MISSING_VALUE,
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, -0.0, 1e308, -1e308, 5e-324, 10**400, True, False, "120", " 95 ",
                     "1_000", "abc", "", "inf", "nan", [90], "1e999"]),
)
DATE = st.one_of(
    MISSING_VALUE,
    st.dates(min_value=date(1, 1, 1)).map(date.isoformat),
    st.dates(),
    st.datetimes(),
    st.dates().map(lambda d: pd.Timestamp(d.year, d.month, d.day)),
    st.sampled_from(["2014-02-30", "garbage", "2014-03-01T10:00:00Z", "20140301",
                     " 2014-03-01 ", "2014-W09-6", "99999-01-01", "", 20140301, 2014.5]),
    st.text(max_size=14),
)
TEXT = st.one_of(MISSING_VALUE, WEIRD_TEXT, st.text(max_size=40), st.integers(), st.floats(),
                 st.lists(st.text(max_size=3), max_size=2))
CATEGORY = st.one_of(MISSING_VALUE, st.sampled_from(["en", "fr", " en ", "EN", "xx", "", "zz",
                                                     "R", "PG-13", " PG ", "NC-17", 5]),
                     st.text(max_size=4))

RECORD_FIELDS = {
    "title": TEXT,
    "overview": TEXT,
    "release_date": DATE,
    "genres": list_cell(GENRE),
    "runtime": NUMBER,
    "budget": NUMBER,
    "original_language": CATEGORY,
    "production_countries": list_cell(st.sampled_from(["US", "GB", "FR", "JP", "ZZ", " "])),
    "director": st.one_of(MISSING_VALUE, NAME, st.integers(0, 3)),
    "cast": list_cell(NAME),
    "writers": list_cell(NAME),
    "production_companies": list_cell(NAME),
    "certification": CATEGORY,
    "vote_count": NUMBER,  # read only by the leakage experiment's variant
    "unknown_field": TEXT,
}
RECORD = st.fixed_dictionaries({}, optional=RECORD_FIELDS)


def _object_frame(records: list[dict]) -> pd.DataFrame:
    """The records as one object column each, every value exactly as given."""
    columns = sorted({k for r in records for k in r})
    data = {}
    for column in columns:
        values = np.empty(len(records), dtype=object)
        for i, record in enumerate(records):
            values[i] = record.get(column)
        data[column] = values
    return pd.DataFrame(data, index=pd.RangeIndex(len(records)))


@HYPOTHESIS
@given(records=st.lists(RECORD, min_size=1, max_size=25))
def test_hostile_records_encode_identically(fitted, records) -> None:
    pipeline, _, _ = fitted
    featurizer, model = pipeline.steps[0][1], pipeline.steps[-1][1]
    single = row_by_row(featurizer, records)
    assert_bitwise(featurizer.transform(records), single)
    assert_bitwise(featurizer.transform(_object_frame(records)), single)
    np.testing.assert_array_equal(pipeline.predict(_object_frame(records)), model.predict(single))


@HYPOTHESIS
@given(records=st.lists(RECORD, min_size=1, max_size=25))
def test_hostile_records_in_an_inferred_frame_encode_as_its_rows(fitted, records) -> None:
    """pandas infers the dtypes (floats, strings, datetimes): the frame's rows are the truth."""
    featurizer = fitted[0].steps[0][1]
    frame = pd.DataFrame.from_records(records) if any(records) else pd.DataFrame(index=[0])
    frame = frame.reindex(range(len(records)))
    assert_bitwise(featurizer.transform(frame), row_by_row(featurizer, frame.to_dict("records")))


@HYPOTHESIS
@given(records=st.lists(RECORD, min_size=12, max_size=40),
       targets=st.lists(st.floats(0, 10), min_size=40, max_size=40))
def test_fitting_on_hostile_records_equals_the_reference(records, targets) -> None:
    frame = _object_frame(records)
    y = np.asarray(targets[: len(records)], dtype=np.float64)
    assert_fit_matches_reference(frame, y, min_genre_count=1, min_language_count=1,
                                 min_country_count=1, min_certification_count=1,
                                 te_folds=3)


def test_every_input_column_is_exercised_by_the_hostile_records() -> None:
    """A new input column must be added to RECORD above, or it is not tested here."""
    assert set(INPUT_COLUMNS) <= set(RECORD_FIELDS)


# --- pickles ------------------------------------------------------------------------------


def test_pickles_carry_no_derived_cache_and_predict_the_same(fitted) -> None:
    pipeline, _, holdout = fitted
    featurizer = pipeline.steps[0][1]
    featurizer.transform(holdout)  # builds the batch encoder's tables
    state = featurizer.__getstate__()
    assert "_tables" not in state and "_full_stats" not in state
    clone = pickle.loads(pickle.dumps(pipeline))
    assert_bitwise(clone.steps[0][1].transform(holdout), featurizer.transform(holdout))
    np.testing.assert_array_equal(clone.predict(holdout), pipeline.predict(holdout))


def test_a_schema_1_pickle_encodes_identically_both_ways() -> None:
    from tests.common.test_features import schema_1_pipeline

    pipeline, records, expected, _ = schema_1_pipeline()
    featurizer = pipeline.steps[0][1]
    assert_bitwise(featurizer.transform(pd.DataFrame(records)), row_by_row(featurizer, records))
    np.testing.assert_array_equal(pipeline.predict(pd.DataFrame(records)), expected)


def test_dates_and_datetimes_columns(fitted) -> None:
    featurizer = fitted[0].steps[0][1]
    frame = pd.DataFrame({"release_date": pd.to_datetime(["2014-03-01", None, "1999-12-31"]),
                          "title": ["A", "B", "C"]})
    records = [{"release_date": datetime(2014, 3, 1, 12)}, {"release_date": date(1999, 12, 31)}]
    assert_bitwise(featurizer.transform(frame), row_by_row(featurizer, frame.to_dict("records")))
    assert_bitwise(featurizer.transform(records), row_by_row(featurizer, records))


# --- large statistics tables: looked up by hash ---------------------------------------------


def _fresh_featurizer(fitted) -> tuple:
    """The fitted pipeline's featurizer with its lookup indexes dropped (rebuilt on use)."""
    pipeline, _, holdout = fitted
    featurizer = pickle.loads(pickle.dumps(pipeline.steps[0][1]))
    return featurizer, holdout


@HYPOTHESIS
@given(records=st.lists(RECORD, min_size=1, max_size=25))
def test_hashed_lookups_encode_as_the_rows(fitted, records, monkeypatch) -> None:
    """Every table looked up by hash (HASHED_FROM 0): the same bits as the scalar path."""
    from tmdb_mlops import batch_features

    monkeypatch.setattr(batch_features, "HASHED_FROM", 0)
    featurizer, holdout = _fresh_featurizer(fitted)
    unknown = [{"cast": "Actor 3|\ud800 lone|Nobody|Actor 10", "director": "\udcff",
                "writers": ["Writer 4", "Writer 4 "], "production_companies": "Studio 1|?"}]
    for rows in (holdout.to_dict("records"), records + unknown):
        assert_bitwise(featurizer.transform(rows), row_by_row(featurizer, rows))
    assert all(type(table._index).__name__ == "_HashedNames"
               for table in featurizer._stat_tables().values())


def test_a_hash_shared_by_an_unknown_name_never_passes_for_a_known_one(
        fitted, monkeypatch) -> None:
    """Unknown names all given a known name's hash: the name check turns them away."""
    from tmdb_mlops import batch_features

    featurizer, holdout = _fresh_featurizer(fitted)
    tables = featurizer._stat_tables()
    ids = {name: i for i, name in enumerate(sorted(
        {name for table in tables.values() for name in table.names}))}
    taken = {key: ids[table.names[0]] for key, table in tables.items()}

    def hashes(names: np.ndarray) -> np.ndarray:  # an unknown name: the hash of a known one
        shared = taken["cast"] if any(n.startswith("Stranger") for n in names.tolist()) \
            else taken["directors"]
        return np.fromiter((ids.get(n, shared) for n in names.tolist()), dtype=np.int64,
                           count=len(names))

    monkeypatch.setattr(batch_features, "HASHED_FROM", 0)
    monkeypatch.setattr(batch_features, "_hashes", hashes)
    rows = holdout.to_dict("records")
    rows = [{**r, "cast": f"Stranger {i}|{r['cast']}", "director": f"Nobody {i}"}
            for i, r in enumerate(rows)]
    assert_bitwise(featurizer.transform(rows), row_by_row(featurizer, rows))
    assert all(type(table._index).__name__ == "_HashedNames"
               for table in featurizer._stat_tables().values())


def test_colliding_hashes_in_a_table_fall_back_to_the_names(fitted, monkeypatch) -> None:
    from tmdb_mlops import batch_features

    featurizer, holdout = _fresh_featurizer(fitted)
    monkeypatch.setattr(batch_features, "HASHED_FROM", 0)
    monkeypatch.setattr(batch_features, "_hashes",
                        lambda names: np.zeros(len(names), dtype=np.int64))
    rows = holdout.to_dict("records")
    assert_bitwise(featurizer.transform(rows), row_by_row(featurizer, rows))
    assert all(type(table._index).__name__ == "_ObjectNames"
               for table in featurizer._stat_tables().values())
