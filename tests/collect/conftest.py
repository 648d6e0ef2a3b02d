"""Sandboxes for the collector's tests: real ``tmdb-mlops sandbox`` processes on 127.0.0.1.

One sandbox over the default (bokeh) films lives for the session; its faults
are reset before every test that uses it. Tests that need their own films
(adult titles, bad ratings, a window above 10,000 results) start a sandbox
over a small JSON-lines dataset with ``start_sandbox``. Every process is
stopped by its PID.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.servers import free_port, start_http_process, stop_pid
from tmdb_mlops.config import Settings, load_settings

SANDBOX_KEY = "sandbox-test-key"
TMDB_MLOPS = str(Path(sys.executable).parent / "tmdb-mlops")


@dataclass
class Sandbox:
    """A running sandbox and its admin controls."""

    url: str
    proc: subprocess.Popen
    api_key: str | None

    @property
    def base_url(self) -> str:
        return f"{self.url}/3"

    def faults(self, **changes: Any) -> dict[str, Any]:
        response = requests.put(f"{self.url}/admin/faults", json=changes, timeout=5)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        self.faults(reset=True)
        requests.post(f"{self.url}/admin/stats/reset", timeout=5).raise_for_status()

    def stats(self) -> dict[str, int]:
        return requests.get(f"{self.url}/admin/stats", timeout=5).json()

    def stop(self) -> None:
        stop_pid(self.proc)


def start_sandbox(log_dir: Path, *args: str, api_key: str | None = None) -> Sandbox:
    """``tmdb-mlops sandbox`` on a free loopback port, up and answering /health."""
    port = free_port()
    command = [TMDB_MLOPS, "sandbox", "--host", "127.0.0.1", "--port", str(port), *args]
    if api_key:
        command += ["--api-key", api_key]
    url = f"http://127.0.0.1:{port}"
    proc = start_http_process(command, health_url=f"{url}/health",
                              log_path=log_dir / f"sandbox-{port}.log", what="TMDB sandbox")
    sandbox = Sandbox(url=url, proc=proc, api_key=api_key)
    return sandbox


@pytest.fixture(scope="session")
def _bokeh_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    sandbox = start_sandbox(tmp_path_factory.mktemp("sandbox"), api_key=SANDBOX_KEY)
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def sandbox(_bokeh_sandbox: Sandbox) -> Sandbox:
    """The session's sandbox over bokeh's films (key required), faults cleared."""
    _bokeh_sandbox.reset()
    return _bokeh_sandbox


def movie(movie_id: int, released: str, **fields: Any) -> dict[str, Any]:
    """A minimal TMDB movie-details object for a custom dataset."""
    return {
        "id": movie_id,
        "title": f"Film {movie_id}",
        "original_title": f"Film {movie_id}",
        "original_language": "en",
        "overview": "",
        "release_date": released,
        "genres": [{"id": 18, "name": "Drama"}],
        "adult": False,
        "popularity": 1.5,
        "vote_average": 6.5,
        "vote_count": 50,
        "runtime": 100,
        "budget": 0,
        "revenue": 0,
        "production_countries": [{"iso_3166_1": "US", "name": "United States of America"}],
        "credits": {"cast": [], "crew": []},
        **fields,
    }


def write_dataset(path: Path, movies: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(m) + "\n" for m in movies), encoding="utf-8")
    return path


def collect_settings(sandbox: Sandbox, storage_url: str, **overrides: Any) -> Settings:
    """Settings pointing the collector at a sandbox: a short history, fast retries."""
    values: dict[str, Any] = {
        "tmdb_base_url": sandbox.base_url,
        "tmdb_api_key": sandbox.api_key or "any-key",
        "storage_url": storage_url,
        "collect_history_start": date(2012, 1, 1),
        "collect_slices": 2,
        "tmdb_rate_limit": 1000,
        "tmdb_concurrency": 8,
        "tmdb_timeout_seconds": 5,
        "tmdb_max_retries": 4,
    }
    values.update(overrides)
    return load_settings(**values)


def collect_env(sandbox: Sandbox, storage_url: str, **extra: str) -> dict[str, str]:
    """The environment of a ``tmdb-mlops collect`` subprocess against a sandbox."""
    import os

    env = {
        **os.environ,
        "TMDB_BASE_URL": sandbox.base_url,
        "TMDB_API_KEY": sandbox.api_key or "any-key",
        "STORAGE_URL": storage_url,
        "COLLECT_HISTORY_START": "2012-01-01",
        "COLLECT_SLICES": "2",
        "TMDB_RATE_LIMIT": "1000",
        "TMDB_MAX_RETRIES": "2",
        "TMDB_TIMEOUT_SECONDS": "5",
    }
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(
        [TMDB_MLOPS, *args], env=env, capture_output=True, text=True, timeout=timeout
    )
