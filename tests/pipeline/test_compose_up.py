"""docker-compose.yml for real, as far as this machine allows: the serving service
started by Debian's docker-compose from our own image, healthy by its compose
healthcheck, on a loopback-only port.

Serving runs alone (`--no-deps`) on a local store: the quick check of one service's
compose definition; the whole stack, built without any registry, is
test_e2e_compose.py. Its own project name and network keep it apart from a real
stack on this host; the project is taken down (`down -v`) and its container
removed by id, pass or fail.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import require
from tests.servers import free_port, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]


def _docker() -> str | None:
    for candidate in ("/usr/bin/docker", shutil.which("docker")):
        if candidate and subprocess.run([candidate, "info"], capture_output=True).returncode == 0:
            return candidate
    return None


@pytest.fixture
def serve_image(tmp_path: Path) -> str:
    """The serving image of these sources (built once; immutable tags make later calls free)."""
    docker = _docker()
    require(docker is not None, "a running Docker engine (scripts/provision.sh starts one)")
    require(shutil.which("docker-compose") is not None, "Debian's docker-compose")
    env_file = tmp_path / "images.env"
    subprocess.run([str(ROOT / "scripts/build-images.sh"), "serve"],
                   env={**os.environ, "ENV_FILE": str(env_file), "DOCKER": docker},
                   check=True, cwd=ROOT, capture_output=True)
    images = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    return images["SERVE_IMAGE"]


@pytest.fixture
def compose(tmp_path: Path, serve_image: str) -> Iterator[tuple[list[str], dict[str, str]]]:
    project = f"tmdbtest{secrets.token_hex(4)}"
    env = {
        "SERVE_IMAGE": serve_image,
        # Required by the file; nothing but serving starts.
        "COLLECT_IMAGE": serve_image, "TRAIN_IMAGE": serve_image, "AIRFLOW_IMAGE": serve_image,
        "AWS_ACCESS_KEY_ID": "compose-up-key",
        "AWS_SECRET_ACCESS_KEY": secrets.token_hex(8),
        "AIRFLOW_JWT_SECRET": secrets.token_hex(8),
        "POSTGRES_PASSWORD": secrets.token_hex(8),
        "AIRFLOW_ADMIN_PASSWORD": secrets.token_hex(8),
        "ADMIN_TOKEN": secrets.token_hex(8),
        "COMPOSE_STORAGE_URL": "/tmp/store",  # a local store inside the container
        "COMPOSE_NETWORK": project,
        "SERVE_PORT": str(free_port()),
    }
    env_file = tmp_path / "compose.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    base = [shutil.which("docker-compose") or "docker-compose", "-f", str(ROOT / "docker-compose.yml"),
            "-p", project, "--env-file", str(env_file)]
    clean = {k: v for k, v in os.environ.items() if k not in env}
    try:
        yield base, env
    finally:
        ids = subprocess.run([*base, "ps", "-q"], capture_output=True, text=True, env=clean,
                             cwd=tmp_path).stdout.split()
        subprocess.run([*base, "down", "-v", "--timeout", "5"], capture_output=True, env=clean,
                       cwd=tmp_path)
        for container in ids:
            subprocess.run([_docker() or "docker", "rm", "-f", container], capture_output=True)


def test_serving_service_comes_up_healthy(compose: tuple[list[str], dict[str, str]],
                                          tmp_path: Path) -> None:
    base, env = compose
    clean = {k: v for k, v in os.environ.items() if k not in env}
    up = subprocess.run([*base, "up", "-d", "--no-deps", "--no-build", "serving"],
                        capture_output=True, text=True, env=clean, cwd=tmp_path, timeout=120)
    assert up.returncode == 0, up.stderr
    container = subprocess.run([*base, "ps", "-q", "serving"], capture_output=True, text=True,
                               env=clean, cwd=tmp_path, check=True).stdout.strip()
    docker = _docker() or "docker"

    def inspect() -> dict:
        out = subprocess.run([docker, "inspect", container], capture_output=True, text=True,
                             check=True).stdout
        return json.loads(out)[0]

    # The compose healthcheck itself (first probe after its 15 s interval), bounded.
    wait_until(lambda: inspect()["State"]["Health"]["Status"] == "healthy", timeout=120,
               what="the serving service's healthcheck")
    state = inspect()
    assert state["Config"]["Image"] == env["SERVE_IMAGE"]
    assert state["Config"]["User"] == "tmdb"
    bindings = state["HostConfig"]["PortBindings"]["8000/tcp"]
    assert bindings == [{"HostIp": "127.0.0.1", "HostPort": env["SERVE_PORT"]}]
    # Secrets reach the container from the env file only.
    environment = dict(item.split("=", 1) for item in state["Config"]["Env"])
    assert environment["ADMIN_TOKEN"] == env["ADMIN_TOKEN"]
    assert environment["AWS_SECRET_ACCESS_KEY"] == env["AWS_SECRET_ACCESS_KEY"]

    serving = f"http://127.0.0.1:{env['SERVE_PORT']}"
    assert httpx.get(f"{serving}/health", timeout=10).status_code == 200
    # An empty store: up and healthy, but not ready until a champion exists.
    assert httpx.get(f"{serving}/ready", timeout=10).status_code == 503
