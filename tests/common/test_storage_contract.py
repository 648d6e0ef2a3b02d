"""One contract, three backends: local directory, moto's S3 server, SeaweedFS."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tests.conftest import make_bucket, s3_store
from tests.servers import SeaweedServer
from tmdb_mlops.errors import NotFoundError, StorageError
from tmdb_mlops.storage import LocalStorage, S3Storage, Storage

pytestmark = pytest.mark.integration


def test_write_read_roundtrip(storage: Storage) -> None:
    storage.write_bytes("a/b/c.txt", b"hello")
    assert storage.read_bytes("a/b/c.txt") == b"hello"
    assert storage.exists("a/b/c.txt")
    assert not storage.exists("a/b/missing.txt")


def test_overwrite_replaces_whole_object(storage: Storage) -> None:
    storage.write_bytes("k.bin", b"x" * 10_000)
    storage.write_bytes("k.bin", b"short")
    assert storage.read_bytes("k.bin") == b"short"


def test_list_is_sorted_relative_and_prefix_scoped(storage: Storage) -> None:
    for key in ("p/dt=2014-01-02/b", "p/dt=2014-01-01/a", "q/c", "pp/d"):
        storage.write_bytes(key, b"1")
    assert storage.list("p") == ["p/dt=2014-01-01/a", "p/dt=2014-01-02/b"]
    assert storage.list("missing") == []
    assert set(storage.list()) == {"p/dt=2014-01-01/a", "p/dt=2014-01-02/b", "q/c", "pp/d"}


def test_delete_is_idempotent(storage: Storage) -> None:
    storage.write_bytes("gone", b"1")
    storage.delete("gone")
    storage.delete("gone")
    assert not storage.exists("gone")


def test_missing_key_names_url_and_cause(storage: Storage) -> None:
    with pytest.raises(NotFoundError) as info:
        storage.read_bytes("nope/missing.json")
    message = str(info.value)
    assert "nope/missing.json" in message and "no such key" in message
    assert "\n" not in message


def test_keys_cannot_escape_the_root(storage: Storage) -> None:
    with pytest.raises(StorageError):
        storage.write_bytes("../outside", b"1")


def test_readers_never_see_partial_writes(storage: Storage) -> None:
    """A reader racing a writer sees either the old or the new object, whole."""
    old, new = b"o" * 200_000, b"n" * 300_000
    storage.write_bytes("race", old)
    seen: set[bytes] = set()
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            seen.add(storage.read_bytes("race"))

    thread = threading.Thread(target=reader)
    thread.start()
    for _ in range(5):
        storage.write_bytes("race", new)
        storage.write_bytes("race", old)
    stop.set()
    thread.join()
    assert seen <= {old, new}


def test_local_write_leaves_no_temp_files(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path)
    store.write_bytes("x/y", b"1")
    assert [p.name for p in (tmp_path / "x").iterdir()] == ["y"]


def test_missing_bucket_is_one_line(moto_endpoint: str) -> None:
    store = s3_store(moto_endpoint, "no-such-bucket-here")
    with pytest.raises(NotFoundError, match="no-such-bucket-here.*does not exist"):
        store.check()
    with pytest.raises(NotFoundError, match="s3://no-such-bucket-here"):
        store.read_bytes("k")


def test_wrong_credentials_are_one_line(seaweed: SeaweedServer) -> None:
    bucket = make_bucket(seaweed.endpoint)
    store = S3Storage(
        f"s3://{bucket}",
        endpoint_url=seaweed.endpoint,
        access_key_id="wrong",
        secret_access_key="wrong",
    )
    with pytest.raises(StorageError) as info:
        store.write_bytes("k", b"1")
    assert "access denied" in str(info.value) and bucket in str(info.value)


def test_unreachable_endpoint_is_one_line() -> None:
    from tests.servers import free_port

    endpoint = f"http://127.0.0.1:{free_port()}"
    store = S3Storage("s3://bucket/p", endpoint_url=endpoint, access_key_id="a",
                      secret_access_key="b", max_attempts=1)
    with pytest.raises(StorageError, match="endpoint unreachable") as info:
        store.read_bytes("k")
    assert endpoint in str(info.value)


def test_seaweed_data_survives_a_restart(tmp_path: Path) -> None:
    """Persistence: what was written is still there after the server restarts."""
    server = SeaweedServer(data_dir=tmp_path / "weed")
    server.start()
    try:
        bucket = make_bucket(server.endpoint)
        s3_store(server.endpoint, bucket).write_bytes("models/champion.json", b'{"v": 1}')
    finally:
        server.stop()
    restarted = SeaweedServer(data_dir=tmp_path / "weed", s3_port=server.s3_port)
    restarted.start()
    try:
        assert s3_store(restarted.endpoint, bucket).read_bytes("models/champion.json") == b'{"v": 1}'
    finally:
        restarted.stop()
