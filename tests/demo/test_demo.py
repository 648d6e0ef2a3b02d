"""The README's demo path, in a temporary directory, with a small date range."""

from __future__ import annotations

import contextlib
import json
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
        assert "Predictions</dt><dd id=\"predictions-source\">stored:" in page  # predict's files
        # Issue #13: intervals on the page and in the API, explanations on request.
        assert re.search(r"80% interval: covers \d+\.\d% of \d+ later holdout films", output)
        assert 'class="range"' in page and 'id="model-interval">80% nominal' in page
        film = re.search(r'href="(/results/films/\d+)"', page)
        assert film, "no film detail link"
        base = url.rsplit("/results", 1)[0]
        with urllib.request.urlopen(base + film.group(1), timeout=30) as response:
            assert 'class="bar contribution"' in response.read().decode()
        from tmdb_mlops.inputs import EXAMPLES

        request = urllib.request.Request(base + "/predict?explain=true",
                                         data=json.dumps(EXAMPLES[0]).encode(),
                                         headers={"content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
        assert 0 <= answer["interval"]["low"] <= answer["prediction"] <= answer["interval"]["high"]
        explanation = answer["explanation"]
        assert abs(explanation["base_value"] + sum(explanation["contributions"].values())
                   - explanation["raw_prediction"]) < 1e-6

        # The demo moved on in sandbox time until the first predictions matured.
        assert re.search(r"monitor \d{4}-\d\d-\d\d: realized RMSE \d\.\d+ on \d+ matured films",
                         output)
        with urllib.request.urlopen(url.replace("/results", "/monitoring"), timeout=30) as response:
            monitoring = response.read().decode()
        assert re.search(r'id="realized-rmse">\d\.\d{3}<', monitoring), "no realized RMSE"
        assert re.search(r'id="holdout-rmse">\d\.\d{3}<', monitoring), "no holdout RMSE"
        assert 'id="drift-table"' in monitoring
        assert re.search(r'<tr class="pending">.*?class="estimated">\d\.\d{3}<', monitoring, re.S)

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


def _processes_with(marker: str) -> list[int]:
    """PIDs of live processes whose environment holds ``marker`` (the demo's children inherit it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def _port_is_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_make_demo_ended_by_a_signal_leaves_nothing_behind(tmp_path: Path, signum: int) -> None:
    """`kill` (or a closed terminal) on `make demo`'s process group stops every child it started."""
    port = free_port()
    marker = f"TMDB_DEMO_TEST_MARKER={tmp_path.name}"
    env = {
        **os.environ,
        "STORAGE_URL": str(tmp_path / "store"),
        "COLLECT_HISTORY_START": "2010-01-01",
        "MODEL_POLL_SECONDS": "0",
        marker.split("=", 1)[0]: marker.split("=", 1)[1],
        "DEMO_ARGS": f"--days 2 --port {port} --logs {tmp_path / 'logs'}",
    }
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(["make", "--no-print-directory", "demo"], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        _read_until(proc, r"Results: (http://\S+)", timeout=600)
        children = [pid for pid in _processes_with(marker) if pid != proc.pid]
        assert len(children) >= 3, "expected the demo, its sandbox and its server"
        assert not _port_is_free(port)
        os.killpg(proc.pid, signum)
        proc.wait(timeout=60)
        deadline = time.monotonic() + 30
        while _processes_with(marker) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _processes_with(marker) == [], "a process the demo started outlived it"
        assert _port_is_free(port), f"port {port} is still taken after the demo stopped"
    finally:
        for pid in _processes_with(marker):  # only if the assertions above failed
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        stop_pid(proc)
