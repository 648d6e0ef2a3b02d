"""The registry API on every storage backend: versions, champion, promotion, rollback."""

from __future__ import annotations

import json

import pytest

from tests.train.synthetic import synthetic_movies
from tmdb_mlops import layout
from tmdb_mlops.bundle import BundleIntegrityError
from tmdb_mlops.errors import NotFoundError
from tmdb_mlops.registry import (
    Registry,
    RegistryError,
    UnknownVersionError,
    load_local,
    new_version_id,
)
from tmdb_mlops.schema import TARGET
from tmdb_mlops.storage import open_storage
from tmdb_train.pipeline import build_pipeline

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pipeline():
    movies = synthetic_movies(200, seed=5)
    return build_pipeline(params={"n_estimators": 20}).fit(movies, movies[TARGET])


def register(registry: Registry, pipeline, rmse: float = 1.0) -> str:
    return registry.register(
        pipeline=pipeline,
        input_schema={"columns": {"title": {"type": "string"}}},
        metrics={"model": {"rmse": rmse}},
        as_of="2014-03-01",
        partitions=[],
        training_params={},
    )


def test_version_ids_sort_by_time_and_do_not_collide():
    from datetime import UTC, datetime

    early = new_version_id(datetime(2026, 1, 1, 0, 0, 0, 1000, tzinfo=UTC))
    late = new_version_id(datetime(2026, 1, 1, 0, 0, 0, 2000, tzinfo=UTC))
    assert early < late
    same = {new_version_id(datetime(2026, 1, 1, tzinfo=UTC)) for _ in range(200)}
    assert len(same) > 190  # 6 random hex digits: collisions are rare, and register re-draws


def test_registry_lifecycle(storage, pipeline):
    """The same contract on local disk, moto and SeaweedFS."""
    registry = Registry(storage, signing_key=None)
    assert registry.list_versions() == []
    assert registry.champion() is None
    with pytest.raises(NotFoundError, match="no champion"):
        registry.load()

    first = register(registry, pipeline)
    second = register(registry, pipeline)
    assert registry.list_versions() == sorted([first, second]) == [first, second]
    for name in (layout.BUNDLE_FILE, layout.METADATA_FILE, layout.METRICS_FILE):
        assert storage.exists(f"{layout.version_prefix(first)}/{name}")

    registry.promote(first, reason="first")
    assert registry.champion() == first
    assert registry.load().version == first
    registry.promote(second, reason="better")
    assert registry.champion() == second
    pointer = json.loads(storage.read_bytes(layout.CHAMPION_KEY))
    assert pointer["previous"] == [first]

    registry.rollback()
    assert registry.champion() == first
    with pytest.raises(RegistryError, match="no previous champion"):
        registry.rollback()
    assert [h["version"] for h in registry.history()] == [first, second, first]
    assert [h["action"] for h in registry.history()] == ["promote", "promote", "rollback"]


def test_unknown_versions_are_refused(tmp_path, pipeline):
    registry = Registry(open_storage(str(tmp_path / "store")), signing_key=None)
    for action in (lambda: registry.load("nope"), lambda: registry.promote("nope", reason="x"),
                   lambda: registry.metrics("20990101T000000000Z-000000")):
        with pytest.raises(UnknownVersionError, match="is not registered"):
            action()
    with pytest.raises(RegistryError, match="nothing to roll back"):
        registry.rollback()
    with pytest.raises(UnknownVersionError):
        registry.load("../../etc")


def test_half_written_version_is_invisible(tmp_path, pipeline):
    storage = open_storage(str(tmp_path / "store"))
    registry = Registry(storage, signing_key=None)
    version = register(registry, pipeline)
    storage.delete(layout.metadata_key(version))  # as if the writer died before the last file
    assert registry.list_versions() == []
    with pytest.raises(UnknownVersionError):
        registry.promote(version, reason="x")


def test_tampered_registry_bundle_is_refused(tmp_path, pipeline):
    storage = open_storage(str(tmp_path / "store"))
    registry = Registry(storage, signing_key=None)
    version = register(registry, pipeline)
    data = bytearray(storage.read_bytes(layout.bundle_key(version)))
    data[len(data) // 2] ^= 0xFF
    storage.write_bytes(layout.bundle_key(version), bytes(data))
    with pytest.raises(BundleIntegrityError, match="sha256 does not match"):
        registry.load(version)


def test_signing_key_is_enforced_on_s3(moto_endpoint, pipeline):
    from tests.conftest import make_bucket, s3_store

    storage = s3_store(moto_endpoint, make_bucket(moto_endpoint))
    unsigned = register(Registry(storage, signing_key=None), pipeline)
    signed_registry = Registry(storage, signing_key="k" * 32)
    signed = register(signed_registry, pipeline)
    assert signed_registry.load(signed).version == signed
    with pytest.raises(BundleIntegrityError, match="not signed"):
        signed_registry.load(unsigned)
    with pytest.raises(BundleIntegrityError, match="signature"):
        Registry(storage, signing_key="wrong" * 8).load(signed)


def test_export_then_load_local(tmp_path, pipeline):
    registry = Registry(open_storage(str(tmp_path / "store")), signing_key=None)
    version = register(registry, pipeline)
    exported, path = registry.export(version, tmp_path / "local")
    model = load_local(path, signing_key=None)
    assert (exported, model.version, model.source) == (version, version, "local")


def test_export_refuses_a_tampered_version_and_writes_nothing(tmp_path, pipeline):
    storage = open_storage(str(tmp_path / "store"))
    registry = Registry(storage, signing_key=None)
    version = register(registry, pipeline)
    data = bytearray(storage.read_bytes(layout.bundle_key(version)))
    data[0] ^= 0xFF
    storage.write_bytes(layout.bundle_key(version), bytes(data))
    with pytest.raises(BundleIntegrityError, match="sha256 does not match"):
        registry.export(version, tmp_path / "local")
    assert not (tmp_path / "local").exists()


def test_promote_and_rollback_refuse_a_tampered_target(tmp_path, pipeline):
    storage = open_storage(str(tmp_path / "store"))
    registry = Registry(storage, signing_key=None)
    first, second = register(registry, pipeline), register(registry, pipeline)
    registry.promote(first, reason="first")
    original = storage.read_bytes(layout.bundle_key(second))
    tampered = bytearray(original)
    tampered[len(tampered) // 3] ^= 0x01
    storage.write_bytes(layout.bundle_key(second), bytes(tampered))
    with pytest.raises(RegistryError, match=f"refusing to promote to {second}: .*sha256"):
        registry.promote(second, reason="bad")
    assert registry.champion() == first

    storage.write_bytes(layout.bundle_key(second), original)
    registry.promote(second, reason="repaired")
    storage.write_bytes(layout.bundle_key(first), b"corrupted")
    with pytest.raises(RegistryError, match=f"refusing to roll back to {first}"):
        registry.rollback()
    assert registry.champion() == second


def test_register_never_reuses_an_existing_version(tmp_path, pipeline, monkeypatch):
    from tmdb_mlops import registry as registry_module

    registry = Registry(open_storage(str(tmp_path / "store")), signing_key=None)
    ids = iter(["20260101T000000000Z-aaaaaa", "20260101T000000000Z-aaaaaa",
                "20260101T000000000Z-bbbbbb"])
    monkeypatch.setattr(registry_module, "new_version_id", lambda: next(ids))
    first = register(registry, pipeline)
    second = register(registry, pipeline)
    assert (first, second) == ("20260101T000000000Z-aaaaaa", "20260101T000000000Z-bbbbbb")
