"""What tests/pipeline/test_e2e_compose.py drives: one compose project, Airflow's REST
API, the stack's bucket through its published S3 port, and the step timings.

Kept apart from the scenario so the test file reads as the steps it checks. The
Docker-client lookup and ``poll`` serve the Airflow end-to-end test as well.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from tests.servers import s3_client
from tmdb_mlops import layout

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILES = (ROOT / "docker-compose.yml", ROOT / "docker-compose.offline.yml")
PROFILES = ("celery", "sandbox")
BUCKET, PREFIX = "tmdb", "data"
TERMINAL = {"success", "failed"}


def docker_client() -> str | None:
    for candidate in ("/usr/bin/docker", shutil.which("docker")):
        if candidate and subprocess.run([candidate, "info"], capture_output=True).returncode == 0:
            return candidate
    return None


def poll(check: Callable[[], Any], *, timeout: float, what: str, every: float = 3.0) -> Any:
    """Call ``check`` until it returns something truthy; bounded, naming what it waited for."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except (httpx.HTTPError, OSError, KeyError, ValueError) as exc:
            last_error = exc
        time.sleep(every)
    raise TimeoutError(f"{what} not reached within {timeout:.0f}s (last error: {last_error})")


def read_env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


class Timings:
    def __init__(self) -> None:
        self.started = time.monotonic()
        self.last = self.started
        self.steps: dict[str, float] = {}

    def step(self, name: str) -> None:
        now = time.monotonic()
        self.steps[name] = round(now - self.last, 1)
        self.last = now

    def total(self) -> float:
        return round(time.monotonic() - self.started, 1)


class Stack:
    """One compose project: docker-compose with both files, both profiles, its env file."""

    def __init__(self, *, compose: str, docker: str, env: dict[str, str], workdir: Path,
                 timings: Timings) -> None:
        self.docker = docker
        self.timings = timings
        self.env = env
        self.project = env["COMPOSE_NETWORK"]
        self.workdir = workdir
        self.env_file = workdir / "compose.env"
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
        self.log = workdir / "compose.log"
        self.base = [compose, "-p", self.project, "--env-file", str(self.env_file)]
        for file in COMPOSE_FILES:
            self.base += ["-f", str(file)]
        for profile in PROFILES:
            self.base += ["--profile", profile]
        # Only the env file configures the stack, never the caller's environment.
        self.process_env = {k: v for k, v in os.environ.items()
                            if k not in env and not k.startswith("COMPOSE_")}

    def compose(self, *args: str, timeout: float = 600, check: bool = True,
                stdin: str | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run([*self.base, *args], capture_output=True, text=True, timeout=timeout,
                                env=self.process_env, cwd=self.workdir, input=stdin)
        with self.log.open("a") as log:
            log.write(f"$ docker-compose {' '.join(args)} -> {result.returncode}\n"
                      f"{result.stdout[-4000:]}{result.stderr[-4000:]}\n")
        if check and result.returncode != 0:
            raise AssertionError(f"docker-compose {' '.join(args)} failed: {result.stderr[-2000:]}")
        return result

    def run_docker(self, *args: str, check: bool = True, timeout: float = 120) -> str:
        result = subprocess.run([self.docker, *args], capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"docker {' '.join(args[:2])} failed: {result.stderr[-2000:]}")
        return result.stdout

    def ids(self, service: str) -> list[str]:
        return self.compose("ps", "-q", service).stdout.split()

    def inspect(self, container: str) -> dict:
        return json.loads(self.run_docker("inspect", container))[0]

    def healthy(self, service: str) -> bool:
        ids = self.ids(service)
        return bool(ids) and all(
            self.inspect(c)["State"].get("Health", {}).get("Status") == "healthy" for c in ids)

    def wait_healthy(self, *services: str, timeout: float = 240) -> None:
        for service in services:
            poll(lambda s=service: self.healthy(s), timeout=timeout,
                  what=f"{service} healthy (its compose healthcheck)")

    def stage_containers(self) -> list[str]:
        """Containers DockerOperator started on the project network (failed attempts stay)."""
        return self.run_docker("ps", "-aq", "--filter", f"network={self.project}").split()

    def leftovers(self) -> list[str]:
        """Every container of this run: the project's and the stage containers on its network."""
        label = f"label=com.docker.compose.project={self.project}"
        return sorted({*self.run_docker("ps", "-aq", "--filter", label, check=False).split(),
                       *self.stage_containers()})

    def teardown(self) -> None:
        # The stage containers first (they hold the network), then the project.
        strays = self.stage_containers()
        if strays:
            self.run_docker("rm", "-f", *strays, check=False)
        self.compose("down", "-v", "--remove-orphans", "--timeout", "10", check=False, timeout=300)
        self.run_docker("volume", "rm", "-f", self.env["PIPELINE_TMDB_RATE_LIMIT_SOURCE"], check=False)
        self.run_docker("network", "rm", self.project, check=False)


class AirflowApi:
    """Airflow 3's REST API with a JWT from the simple auth manager's token endpoint."""

    def __init__(self, base_url: str, password: str) -> None:
        self.base_url = base_url
        self.password = password
        self._client: httpx.Client | None = None

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            token = httpx.post(f"{self.base_url}/auth/token",
                               json={"username": "admin", "password": self.password}, timeout=30)
            token.raise_for_status()
            self._client = httpx.Client(
                base_url=f"{self.base_url}/api/v2", timeout=30,
                headers={"Authorization": f"Bearer {token.json()['access_token']}"})
        return self._client

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.client.request(method, path, **kwargs)
        if response.status_code == 401:  # a new token after a restart, once
            self._client = None
            response = self.client.request(method, path, **kwargs)
        if response.status_code >= 400:  # an HTTPError: polls retry it, others fail with it
            raise httpx.HTTPStatusError(f"{method} {path}: {response.status_code} {response.text[:500]}",
                                        request=response.request, response=response)
        return response.json()

    def runs(self, dag_id: str) -> list[dict]:
        return self.request("GET", f"/dags/{dag_id}/dagRuns",
                            params={"limit": 100, "order_by": "run_after"})["dag_runs"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]

    def backfills_done(self, dag_id: str) -> bool:
        """Whether every backfill of ``dag_id`` is completed: the scheduler marks one
        completed a little after its last run ends, and refuses a new one (409) before."""
        backfills = self.request("GET", "/backfills", params={"dag_id": dag_id})["backfills"]
        return all(b.get("completed_at") for b in backfills)

    def backfill(self, dag_id: str, dates: list[date]) -> dict:
        poll(lambda: self.backfills_done(dag_id), timeout=300,
             what=f"the earlier backfills of {dag_id} completed")
        return self.request("POST", "/backfills", json={
            "dag_id": dag_id, "from_date": f"{dates[0]}T00:00:00Z", "to_date": f"{dates[-1]}T00:00:00Z",
            "max_active_runs": len(dates), "reprocess_behavior": "none"})


class Store:
    """The stack's bucket through the published S3 port, with boto3."""

    def __init__(self, endpoint: str, key: str, secret: str) -> None:
        self.s3 = s3_client(endpoint, key=key, secret=secret)

    def keys(self, prefix: str) -> dict[str, str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET,
                                                                  Prefix=f"{PREFIX}/{prefix}")
        return {obj["Key"].removeprefix(f"{PREFIX}/"): obj["ETag"]
                for page in pages for obj in page.get("Contents", [])}

    def read(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/{key}")["Body"].read()

    def write(self, key: str, data: bytes) -> None:
        self.s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/{key}", Body=data)

    def champion(self) -> dict:
        return json.loads(self.read(layout.CHAMPION_KEY))

    def versions(self) -> list[str]:
        return sorted({key.split("/")[2] for key in self.keys(layout.VERSIONS_PREFIX + "/")})

    def partitions(self) -> dict[tuple[str, date], set[str]]:
        """Every (split, dt) that has any raw or processed object, with its keys."""
        found: dict[tuple[str, date], set[str]] = {}
        for key in [*self.keys("raw/"), *self.keys("processed/")]:
            split, dt = key.split("/")[1], layout.dt_from_key(key)
            if dt is not None:
                found.setdefault((split, dt), set()).add(key)
        return found

    def assert_whole(self) -> dict[tuple[str, date], dict]:
        """Every partition has its manifest, which lists exactly its files with their sha256."""
        manifests = {}
        for (split, dt), keys in self.partitions().items():
            manifest_key = layout.manifest_key(split, dt)
            assert manifest_key in keys, f"{split}/dt={dt}: files without a manifest: {sorted(keys)}"
            manifest = json.loads(self.read(manifest_key))
            listed = manifest["files"]
            assert set(listed) == keys - {manifest_key}, (
                f"{split}/dt={dt}: objects {sorted(keys - {manifest_key})} != manifest {sorted(listed)}")
            for key, entry in listed.items():
                digest = hashlib.sha256(self.read(key)).hexdigest()
                assert digest == entry["sha256"], f"{key}: sha256 differs from its manifest"
            manifests[(split, dt)] = manifest
        return manifests


def wait_runs(api: AirflowApi, dag_id: str, count: int, *, timeout: float) -> list[dict]:
    def done() -> list[dict] | None:
        runs = api.runs(dag_id)
        return runs if len(runs) >= count and all(r["state"] in TERMINAL for r in runs) else None

    return poll(done, timeout=timeout, what=f"{count} {dag_id} runs finished")


def wait_training_after(api: AirflowApi, collect_runs: list[dict], *, timeout: float) -> list[dict]:
    """Every tmdb_train run finished, the last one started after the last asset update."""
    last_end = max(ti["end_date"] for r in collect_runs
                   for ti in api.task_instances("tmdb_collect", r["dag_run_id"])
                   if ti["task_id"] == "collect_train")  # the task whose outlet is the asset

    def done() -> list[dict] | None:
        runs = api.runs("tmdb_train")
        finished = runs and all(r["state"] in TERMINAL for r in runs)
        late = any(r["start_date"] and r["start_date"] >= last_end for r in runs)
        return runs if finished and late else None

    return poll(done, timeout=timeout, what="tmdb_train after the backfill")


def all_task_instances(api: AirflowApi, dag_id: str) -> list[dict]:
    return [ti for r in api.runs(dag_id) for ti in api.task_instances(dag_id, r["dag_run_id"])]
