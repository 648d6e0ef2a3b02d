"""The bundle contract: verified (sha256, HMAC) before anything is unpickled."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.train.synthetic import synthetic_movies
from tmdb_mlops import bundle as bundle_module
from tmdb_mlops.bundle import BundleFiles, BundleIntegrityError, build_bundle, load_verified, write_local
from tmdb_mlops.partitions import dumps_json
from tmdb_mlops.registry import load_local
from tmdb_mlops.schema import TARGET
from tmdb_train.pipeline import build_pipeline

pytestmark = pytest.mark.unit

KEY = "test-signing-key-1234"


@pytest.fixture(scope="module")
def movies():
    return synthetic_movies(300, seed=11)


@pytest.fixture(scope="module")
def pipeline(movies):
    return build_pipeline(params={"n_estimators": 30}).fit(movies, movies[TARGET])


def make(pipeline, *, key=None, leaky=False, movies=None) -> BundleFiles:
    return build_bundle(
        version="20260101T000000000Z-abcdef",
        pipeline=pipeline,
        input_schema={"columns": {"title": {"type": "string"}}},
        metrics={"model": {"rmse": 1.0}},
        as_of="2014-03-01",
        partitions=[{"dt": "2014-03-01", "manifest_sha256": "0" * 64}],
        training_params={"seed": 1},
        signing_key=key,
    )


@pytest.fixture(autouse=True)
def no_unpickling_before_checks(monkeypatch):
    """Record every unpickling, to prove a refused bundle was never unpickled."""
    import joblib

    calls = []
    real = joblib.load
    monkeypatch.setattr(joblib, "load", lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


def test_round_trip_gives_the_same_predictions(pipeline, movies, no_unpickling_before_checks):
    files = make(pipeline)
    model = load_verified(files, source="registry", where="test")
    assert model.version == "20260101T000000000Z-abcdef"
    assert model.source == "registry"
    meta = model.metadata
    for field in ("created_at", "as_of", "partitions", "feature_names", "input_schema",
                  "library_versions", "git_revision", "training_params", "bundle_sha256"):
        assert field in meta, field
    assert "signature" not in meta
    assert model.metrics == {"model": {"rmse": 1.0}}
    expected = pipeline.predict(movies)
    np.testing.assert_array_equal(model.predict_frame(movies), expected)


def test_tampered_bundle_is_refused_before_unpickling(pipeline, no_unpickling_before_checks):
    files = make(pipeline)
    tampered = BundleFiles(bundle=files.bundle + b"x", metadata=files.metadata,
                           metrics=files.metrics)
    with pytest.raises(BundleIntegrityError, match="sha256 does not match"):
        load_verified(tampered, source="registry", where="test")
    assert no_unpickling_before_checks == []


def test_tampered_metrics_are_refused(pipeline):
    files = make(pipeline)
    forged = BundleFiles(bundle=files.bundle, metadata=files.metadata,
                         metrics=dumps_json({"model": {"rmse": 0.01}}))
    with pytest.raises(BundleIntegrityError, match="metrics.json"):
        load_verified(forged, source="registry", where="test")


def test_signed_bundle_loads_with_the_key(pipeline):
    files = make(pipeline, key=KEY)
    assert json.loads(files.metadata)["signature"]["algorithm"] == "HMAC-SHA256"
    assert load_verified(files, source="local", signing_key=KEY, where="t").source == "local"


def test_rehashed_tampered_bundle_fails_the_signature(pipeline, no_unpickling_before_checks):
    """An attacker who rewrites the bundle AND its sha256 in metadata still lacks the key."""
    files = make(pipeline, key=KEY)
    evil_bundle = files.bundle + b"evil"
    metadata = json.loads(files.metadata)
    metadata["bundle_sha256"] = bundle_module.sha256_hex(evil_bundle)
    forged = BundleFiles(bundle=evil_bundle, metadata=dumps_json(metadata), metrics=files.metrics)
    with pytest.raises(BundleIntegrityError, match="signature does not match"):
        load_verified(forged, source="registry", signing_key=KEY, where="t")
    with pytest.raises(BundleIntegrityError, match="signature does not match"):
        load_verified(files, source="registry", signing_key="another-key", where="t")
    assert no_unpickling_before_checks == []


def test_unsigned_bundle_refused_when_a_key_is_configured(pipeline):
    with pytest.raises(BundleIntegrityError, match="not signed"):
        load_verified(make(pipeline), source="registry", signing_key=KEY, where="t")


def test_leaky_pipeline_is_refused_at_load(movies):
    leaky = build_pipeline(post_release=True, params={"n_estimators": 10}).fit(movies, movies[TARGET])
    with pytest.raises(BundleIntegrityError, match="post-release"):
        load_verified(make(leaky), source="registry", where="t")


def test_load_local_verifies_the_same_way(pipeline, tmp_path):
    directory = write_local(tmp_path / "model", make(pipeline, key=KEY))
    assert load_local(directory, signing_key=KEY).source == "local"
    with pytest.raises(BundleIntegrityError, match="not signed|signature"):
        load_local(write_local(tmp_path / "unsigned", make(pipeline)), signing_key=KEY)
    (directory / "model_bundle.joblib").write_bytes(b"not a pickle")
    with pytest.raises(BundleIntegrityError, match="sha256"):
        load_local(directory, signing_key=KEY)


def test_signing_key_never_comes_from_the_environment(pipeline, tmp_path, monkeypatch):
    """Settings come only through the caller: an env key must not change what loads."""
    monkeypatch.setenv("MODEL_SIGNING_KEY", KEY)
    unsigned = write_local(tmp_path / "unsigned", make(pipeline))
    assert load_local(unsigned, signing_key=None).source == "local"


def test_load_local_missing_directory_is_one_line(tmp_path):
    from tmdb_mlops.errors import PlatformError

    with pytest.raises(PlatformError, match="no model bundle"):
        load_local(tmp_path / "nowhere", signing_key=None)
