"""Fixtures of the serving tests: small real models in a temporary store, or trained bundles.

Unit tests build the app on a real ``Registry`` over a local store in ``tmp_path``
holding small models fitted once per session (``tests.serve.small_models``);
integration tests use bundles that the collector and trainer produced.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from tests.conftest import require
from tests.serve.small_models import (
    AS_OF,
    SIGNING_KEY,
    SmallModel,
    fit_nan_model,
    fit_overshooting_model,
    fit_small_model,
    register,
    training_films,
)
from tests.servers import free_port, start_http_process, stop_pid
from tmdb_mlops.config import load_settings
from tmdb_mlops.registry import Registry
from tmdb_mlops.storage import Storage, open_storage

# --- unit: small real models on a temporary store ------------------------------------------


@pytest.fixture(scope="session")
def films() -> pd.DataFrame:
    return training_films()


@pytest.fixture(scope="session")
def small_model(films: pd.DataFrame) -> SmallModel:
    """The champion of most tests."""
    return fit_small_model(films, seed=1)


@pytest.fixture(scope="session")
def second_model(films: pd.DataFrame) -> SmallModel:
    """Another seed: a new champion whose predictions differ from ``small_model``'s."""
    return fit_small_model(films, seed=2)


@pytest.fixture(scope="session")
def overshooting_model(films: pd.DataFrame) -> SmallModel:
    return fit_overshooting_model(films)


@pytest.fixture(scope="session")
def nan_model(films: pd.DataFrame) -> SmallModel:
    return fit_nan_model(films)


@pytest.fixture
def store(tmp_path: Path) -> Storage:
    return open_storage(str(tmp_path / "store"))


@pytest.fixture
def registry(store: Storage) -> Registry:
    """The registry the app reads, on the same store and with the same signing key."""
    return Registry(store, signing_key=SIGNING_KEY)


@pytest.fixture
def champion(registry: Registry, small_model: SmallModel) -> str:
    """``small_model`` registered and promoted: the version the app starts with."""
    return register(registry, small_model)


def unreachable_store(**overrides: Any) -> dict[str, Any]:
    """Settings of an S3 store whose endpoint nobody listens on: every call is a StorageError."""
    return {"storage_url": "s3://unreachable/tmdb", "s3_endpoint_url": f"http://127.0.0.1:{free_port()}",
            "aws_access_key_id": "test", "aws_secret_access_key": "test", **overrides}


@pytest.fixture
def make_client(tmp_path: Path, store: Storage) -> Iterator[Callable[..., TestClient]]:
    """Build the real app on settings and enter its lifespan; every client is closed at the end.

    The app reads the ``store`` fixture (where the tests register their models)
    unless the overrides name another ``storage_url``; then it opens that one
    from the settings, as the server does.
    """
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        from tmdb_serve.main import create_app

        settings = load_settings(**{
            "storage_url": str(tmp_path / "store"), "model_poll_seconds": 0,
            "model_signing_key": SIGNING_KEY, **overrides,
        })
        app = create_app(settings, storage=None if "storage_url" in overrides else store)
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient], champion: str) -> TestClient:
    return make_client()


# --- integration: real bundles trained on a collected sandbox history ---------------------


@dataclass
class TrainedStore:
    """A local store with a collected history and three registered versions (v1 champion)."""

    path: Path
    versions: list[str]

    def registry(self) -> Registry:
        return Registry(open_storage(str(self.path)), signing_key=None)


def copy_store(source: Path, destination) -> None:
    """Every object of a local store into another store (an S3 bucket)."""
    src = open_storage(str(source))
    for key in src.list():
        destination.write_bytes(key, src.read_bytes(key))


@pytest.fixture(scope="session")
def trained_store(tmp_path_factory: pytest.TempPathFactory) -> TrainedStore:
    """Sandbox -> ``tmdb-mlops collect`` -> the trainer's ``train`` three times (seeds differ).

    The real collector and trainer produce the bundles, so the service is tested
    on exactly what production serves. Each test copies this store before changing it.
    """
    from datetime import date

    from tests.collect.conftest import collect_env, run_cli, start_sandbox
    from tmdb_train.run import train

    root = tmp_path_factory.mktemp("trained")
    store = root / "store"
    sandbox = start_sandbox(root / "logs", api_key="serve-test-key")
    try:
        env = collect_env(sandbox, str(store), COLLECT_HISTORY_START="2011-01-01",
                          COLLECT_SLICES="1", TMDB_CONCURRENCY="16")
        result = run_cli("collect", "--logical-date", AS_OF, "--split", "all", env=env)
        assert result.returncode == 0, result.stderr[-2000:]
    finally:
        sandbox.stop()
    settings = load_settings(storage_url=str(store))
    versions = [
        train(settings, as_of=date.fromisoformat(AS_OF), seed=seed).version for seed in (1, 2, 3)
    ]
    trained = TrainedStore(path=store, versions=versions)
    registry = trained.registry()
    if registry.champion() != versions[0]:
        registry.promote(versions[0], reason="tests start from the first version")
    return trained


@pytest.fixture
def store_copy(trained_store: TrainedStore, tmp_path: Path) -> TrainedStore:
    """A private copy of the trained store: tests may promote and tamper freely."""
    import shutil

    path = tmp_path / "store"
    shutil.copytree(trained_store.path, path)
    return TrainedStore(path=path, versions=trained_store.versions)


@dataclass
class LiveServer:
    """``tmdb-mlops serve`` on a free loopback port, stopped by its PID."""

    url: str
    proc: subprocess.Popen
    log: Path

    def stop(self) -> None:
        stop_pid(self.proc)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def start_server(env_overrides: dict[str, str], *, log_dir: Path) -> LiveServer:
    port = free_port()
    log = log_dir / f"serve-{port}.log"
    env = {**os.environ, "MODEL_POLL_SECONDS": "0", **env_overrides}
    url = f"http://127.0.0.1:{port}"
    proc = start_http_process(
        [str(Path(sys.executable).parent / "tmdb-mlops"), "serve", "--host", "127.0.0.1",
         "--port", str(port)],
        health_url=f"{url}/health", log_path=log, env=env, what="tmdb-mlops serve", timeout=60,
    )
    server = LiveServer(url=url, proc=proc, log=log)
    return server


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    servers: list[LiveServer] = []

    def start(**env: str) -> LiveServer:
        server = start_server(env, log_dir=tmp_path)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


# --- browser: Debian's chromium through playwright ----------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def browser() -> Iterator[Any]:
    """A headless chromium (required: a missing one fails in CI); screenshots go to ARTIFACTS."""
    require(CHROMIUM.exists(), "chromium (/usr/bin/chromium)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()
