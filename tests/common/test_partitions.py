"""The partition protocol: manifest last, stale files removed, other dates untouched."""

from __future__ import annotations

from datetime import date

import pytest

from tmdb_mlops import layout
from tmdb_mlops.partitions import (
    IntegrityError,
    list_partitions,
    read_manifest,
    read_verified,
    write_partition,
)
from tmdb_mlops.storage import Storage

pytestmark = pytest.mark.integration

D1, D2 = date(2014, 3, 1), date(2014, 3, 2)


def _write(storage: Storage, dt: date, body: bytes, extra: dict[str, bytes] | None = None) -> dict:
    files = {layout.movies_key("train", dt): body, **(extra or {})}
    return write_partition(storage, split="train", dt=dt, files=files, manifest={"rows": 1})


def test_manifest_records_hashes_and_is_required_for_readers(storage: Storage) -> None:
    manifest = _write(storage, D1, b"id\n1\n")
    assert list_partitions(storage, split="train") == [D1]
    key = layout.movies_key("train", D1)
    assert read_verified(storage, key, manifest) == b"id\n1\n"
    assert read_manifest(storage, split="train", dt=D1)["files"][key]["bytes"] == 5


def test_partition_without_manifest_does_not_exist(storage: Storage) -> None:
    storage.write_bytes(layout.movies_key("train", D2), b"id\n2\n")
    assert list_partitions(storage, split="train") == []
    assert read_manifest(storage, split="train", dt=D2) is None


def test_rewrite_replaces_only_its_date(storage: Storage) -> None:
    stale = layout.raw_prefix("train", D1) + "/old.jsonl.gz"
    _write(storage, D1, b"id\n1\n", {stale: b"old"})
    _write(storage, D2, b"id\n2\n")
    other_before = storage.read_bytes(layout.movies_key("train", D2))
    _write(storage, D1, b"id\n3\n")
    assert not storage.exists(stale)
    assert storage.read_bytes(layout.movies_key("train", D1)) == b"id\n3\n"
    assert storage.read_bytes(layout.movies_key("train", D2)) == other_before
    assert list_partitions(storage, split="train") == [D1, D2]


def test_tampered_file_is_refused(storage: Storage) -> None:
    manifest = _write(storage, D1, b"id\n1\n")
    storage.write_bytes(layout.movies_key("train", D1), b"id\n666\n")
    with pytest.raises(IntegrityError, match="sha256"):
        read_verified(storage, layout.movies_key("train", D1), manifest)


def test_files_outside_the_partition_are_refused(storage: Storage) -> None:
    with pytest.raises(ValueError, match="outside partition"):
        write_partition(storage, split="train", dt=D1,
                        files={layout.movies_key("train", D2): b""}, manifest={})


@pytest.mark.unit
def test_layout_keys() -> None:
    assert layout.movies_key("inference", D1) == "processed/inference/dt=2014-03-01/movies.csv"
    assert layout.manifest_key("train", D1) == "processed/train/dt=2014-03-01/_manifest.json"
    assert layout.bundle_key("v1") == "models/versions/v1/model_bundle.joblib"
    assert layout.dt_from_key("raw/train/dt=2014-03-01/discover.jsonl.gz") == D1
    with pytest.raises(ValueError):
        layout.processed_prefix("validation", D1)
    with pytest.raises(ValueError):
        layout.version_prefix("../escape")


def test_an_older_schema_inference_partition_reads_with_the_added_columns_missing(
        storage: Storage) -> None:
    """One reader for batch prediction and the results page (read_processed_frame)."""
    import io

    import pandas as pd

    from tmdb_mlops.partitions import read_processed_frame
    from tmdb_mlops.schema import columns_for

    old_columns = list(columns_for("inference", version=1))
    row = {name: None for name in old_columns} | {"id": 7, "title": "Old", "runtime": 95.0,
                                                  "release_date": "2014-05-01"}
    buffer = io.StringIO()
    pd.DataFrame([row], columns=old_columns).to_csv(buffer, index=False)
    key = layout.movies_key("inference", D1)
    manifest = write_partition(storage, split="inference", dt=D1,
                               files={key: buffer.getvalue().encode()}, manifest={"rows": 1})
    frame = read_processed_frame(storage, split="inference", dt=D1, manifest=manifest)
    assert list(frame.columns) == list(columns_for("inference"))
    added = set(columns_for("inference")) - set(old_columns)
    assert added and frame[sorted(added)].isna().all().all()
    assert frame.loc[0, "title"] == "Old" and frame.loc[0, "runtime"] == 95.0
    storage.write_bytes(key, buffer.getvalue().encode() + b"8,tampered\n")
    with pytest.raises(IntegrityError, match="sha256"):
        read_processed_frame(storage, split="inference", dt=D1, manifest=manifest)
