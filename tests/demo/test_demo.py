"""The README's demo path, in a temporary directory, with a small date range."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.servers import free_port, stop_pid

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).parent / "tmdb-mlops")


def _read_until(proc: subprocess.Popen, pattern: str, *, timeout: float) -> tuple[str, str]:
    """Read the demo's stdout until a line matches; bounded, and fails if the demo dies."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        if line is None:
            break
        seen.append(line)
        if match := re.search(pattern, line):
            return match.group(1), "\n".join(seen)
    raise AssertionError(f"demo never printed {pattern!r}; output:\n" + "\n".join(seen))


def test_demo_serves_predictions_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "STORAGE_URL": str(tmp_path / "store"),
        "COLLECT_HISTORY_START": "2008-01-01",
        "MODEL_POLL_SECONDS": "0",
    }
    args = [CLI, "demo", "--days", "3", "--port", str(port)]
    proc = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        url, output = _read_until(proc, r"Results: (http://\S+)", timeout=600)
        assert "collect: 3 logical dates" in output
        with urllib.request.urlopen(url, timeout=30) as response:
            page = response.read().decode()
        assert response.status == 200
        assert re.search(r"\b\d\.\d\b", page), "the results page shows no predicted rating"
        assert "Model" in page

        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
        assert proc.returncode == 130, "Ctrl-C should end the demo as interrupted"
        with pytest.raises(OSError):
            urllib.request.urlopen(url, timeout=5)
    finally:
        stop_pid(proc)

    # Re-running reuses the collected partitions (idempotent), and collects nothing again.
    rerun = subprocess.run([*args, "--no-serve"], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert "3 already collected" in rerun.stdout
