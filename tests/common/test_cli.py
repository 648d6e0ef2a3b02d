"""The console script: lists its commands and fails in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).parent / "tmdb-mlops")


def test_help_lists_every_command() -> None:
    result = subprocess.run([CLI, "--help"], capture_output=True, text=True, check=True)
    for command in ("collect", "sandbox", "train", "models", "serve", "demo"):
        assert command in result.stdout


def test_storage_failure_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    """An unreachable S3 endpoint ends `models list` with one line naming the URL."""
    from tests.servers import free_port

    endpoint = f"http://127.0.0.1:{free_port()}"
    env = {"PATH": "/usr/bin:/bin", "STORAGE_URL": "s3://bucket/x", "S3_ENDPOINT_URL": endpoint,
           "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "HOME": str(tmp_path)}
    result = subprocess.run([CLI, "models", "list"], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=120)
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("error: ") and endpoint in lines[-1]
    assert "Traceback" not in result.stderr


def test_invalid_configuration_is_one_line(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "TMDB_RATE_LIMIT": "fast", "HOME": str(tmp_path)}
    result = subprocess.run([CLI, "models", "list"], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=120)
    assert result.returncode == 1
    assert "TMDB_RATE_LIMIT" in result.stderr and "Traceback" not in result.stderr
