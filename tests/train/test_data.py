"""Stage 1, data tests: which partitions are read, verified, de-duplicated and validated."""

from __future__ import annotations

from datetime import date

import pytest

from tests.train.conftest import AS_OF, DATES
from tests.train.synthetic import csv_bytes, synthetic_movies, write_train_partition
from tmdb_mlops import layout
from tmdb_mlops.partitions import IntegrityError
from tmdb_train.data import MIN_TRAINING_ROWS, TrainingDataError, load_training_data

pytestmark = pytest.mark.unit


def test_reads_every_partition_up_to_as_of(store, movies):
    data = load_training_data(store, as_of=AS_OF)
    assert len(data.frame) == len(movies)
    assert [p["dt"] for p in data.partitions] == [d.isoformat() for d in sorted(DATES)]
    assert all(len(p["manifest_sha256"]) == 64 for p in data.partitions)
    oldest_two = sorted(DATES)[:2]
    earlier = load_training_data(store, as_of=oldest_two[-1])
    assert [p["dt"] for p in earlier.partitions] == [d.isoformat() for d in oldest_two]
    assert len(earlier.frame) < len(movies)


def test_partition_without_manifest_is_ignored(store, movies):
    extra = date(2014, 2, 1)
    write_train_partition(store, synthetic_movies(60, seed=99, first_id=10_000), extra)
    assert len(load_training_data(store, as_of=AS_OF).frame) == len(movies) + 60
    store.delete(layout.manifest_key("train", extra))
    data = load_training_data(store, as_of=AS_OF)
    assert len(data.frame) == len(movies)
    assert extra.isoformat() not in {p["dt"] for p in data.partitions}


def test_file_not_matching_its_manifest_is_refused(store):
    key = layout.movies_key("train", DATES[0])
    store.write_bytes(key, store.read_bytes(key).replace(b"Drama", b"Drame", 1))
    with pytest.raises(IntegrityError, match="sha256 does not match"):
        load_training_data(store, as_of=AS_OF)


def test_duplicate_films_keep_the_most_recent_partition(store, movies):
    film = movies.iloc[[0]].copy()
    film["title"] = "Renamed Later"
    write_train_partition(store, film, date(2014, 3, 5))
    write_train_partition(store, film.assign(title="Renamed Earlier"), date(2014, 1, 1))
    data = load_training_data(store, as_of=date(2014, 3, 5))
    assert len(data.frame) == len(movies)
    assert data.frame.set_index("id").loc[film["id"].iloc[0], "title"] == "Renamed Later"
    assert data.rows_read == len(movies) + 2


def test_no_partition_is_a_clear_error(tmp_path):
    from tmdb_mlops.storage import open_storage

    with pytest.raises(TrainingDataError, match="no processed train partition on or before"):
        load_training_data(open_storage(str(tmp_path / "empty")), as_of=AS_OF)


def test_too_few_rows_is_a_clear_error(tmp_path):
    from tmdb_mlops.storage import open_storage

    storage = open_storage(str(tmp_path / "s"))
    write_train_partition(storage, synthetic_movies(MIN_TRAINING_ROWS - 1), AS_OF)
    with pytest.raises(TrainingDataError, match=f"at least {MIN_TRAINING_ROWS}"):
        load_training_data(storage, as_of=AS_OF)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: f.assign(vote_average=f["vote_average"] + 20), "vote_average"),
        (lambda f: f.assign(release_date="01/02/2003"), "release_date"),
        (lambda f: f.assign(runtime="long"), "runtime"),
        (lambda f: f.drop(columns=["genres"]), "columns do not match"),
        (lambda f: f.assign(vote_average=None), "vote_average"),
    ],
)
def test_invalid_partition_is_a_one_line_error(tmp_path, mutate, message):
    from tmdb_mlops.partitions import write_partition
    from tmdb_mlops.storage import open_storage

    storage = open_storage(str(tmp_path / "s"))
    frame = mutate(synthetic_movies(80))
    write_partition(storage, split="train", dt=AS_OF,
                    files={layout.movies_key("train", AS_OF): csv_bytes(frame)}, manifest={})
    with pytest.raises(TrainingDataError, match=message) as info:
        load_training_data(storage, as_of=AS_OF)
    assert "\n" not in str(info.value)


SCHEMA_2_COLUMNS = ["writers", "production_companies", "certification"]


def _write(storage, frame, dt, manifest):
    from tmdb_mlops.partitions import write_partition

    write_partition(storage, split="train", dt=dt,
                    files={layout.movies_key("train", dt): csv_bytes(frame)}, manifest=manifest)


@pytest.mark.parametrize("manifest", [{"schema_version": 1}, {}])
def test_a_schema_1_partition_is_read_with_the_new_columns_missing(tmp_path, manifest):
    """Partitions collected before writers/companies/certification stay readable."""
    from tmdb_mlops.schema import SCHEMA_VERSION, columns_for
    from tmdb_mlops.storage import open_storage

    storage = open_storage(str(tmp_path / "s"))
    old = synthetic_movies(80, seed=4).drop(columns=SCHEMA_2_COLUMNS)
    _write(storage, old, date(2014, 2, 1), manifest)
    new = synthetic_movies(60, seed=5, first_id=1000)
    _write(storage, new, AS_OF, {"schema_version": SCHEMA_VERSION})
    data = load_training_data(storage, as_of=AS_OF)
    assert list(data.frame.columns) == list(columns_for("train"))
    assert [p["schema_version"] for p in data.partitions] == [1, SCHEMA_VERSION]
    from_old = data.frame[data.frame["id"] < 1000]
    assert len(from_old) == 80 and from_old[SCHEMA_2_COLUMNS].isna().all().all()
    assert data.frame[data.frame["id"] >= 1000]["certification"].notna().any()


@pytest.mark.parametrize(
    ("manifest", "drop", "message"),
    [
        ({"schema_version": 1}, [], "schema version 1 \\(missing \\[\\], extra \\['certification'"),
        ({"schema_version": 2}, SCHEMA_2_COLUMNS, "missing \\['certification'"),
        ({"schema_version": 9}, [], "schema version 9; this trainer reads 1..2"),
        ({}, ["writers"], "missing \\['writers'\\]"),
    ],
)
def test_a_header_not_matching_its_schema_version_is_refused(tmp_path, manifest, drop, message):
    from tmdb_mlops.storage import open_storage

    storage = open_storage(str(tmp_path / "s"))
    _write(storage, synthetic_movies(80).drop(columns=drop), AS_OF, manifest)
    with pytest.raises(TrainingDataError, match=message) as info:
        load_training_data(storage, as_of=AS_OF)
    assert "\n" not in str(info.value)
