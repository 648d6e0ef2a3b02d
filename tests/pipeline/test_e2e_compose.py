"""The compose stack for real, with no image registry: docker-compose.yml plus the
offline override, the celery and sandbox profiles, two Celery workers.

One test, in steps, because each needs the previous one's state:

1. the images (ours and the offline third-party ones), then `up` under a project
   name of its own, every published port a free one on 127.0.0.1;
2. a backfill of ``tmdb_collect`` over three dates through Airflow's REST API: the
   partitions in SeaweedFS (boto3 on the published S3 port), the asset-triggered
   training's champion, serving answering with it, tasks on both workers;
3. a second backfill while Postgres, SeaweedFS and one Celery worker restart: every
   run still succeeds (retries), and every partition is whole (its manifest lists
   each file with the right sha256, and nothing else);
4. a corrupted champion bundle written straight into SeaweedFS, serving restarted:
   it answers with the earlier champion, ``model_source: fallback``;
5. ``down`` keeping the volumes, ``up`` again: run history, champion and partitions
   are still there; no secret appears in any service log or task log.

Everything it started (containers, stage containers DockerOperator left, volumes,
the network) is removed at the end, pass or fail. Each step's duration goes to
``test-artifacts/compose-e2e.json``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from tests.conftest import require
from tests.pipeline.compose_stack import (
    BUCKET,
    PREFIX,
    ROOT,
    AirflowApi,
    Stack,
    Store,
    Timings,
    all_task_instances,
    docker_client,
    poll,
    read_env_file,
    wait_runs,
    wait_training_after,
)
from tests.servers import free_port
from tmdb_mlops import layout
from tmdb_mlops.inputs import EXAMPLES

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1500)]

ARTIFACTS = ROOT / "test-artifacts"
WORKERS = 2
# Two backfills of three consecutive dates each; COLLECT_SLICES=3 makes each three
# cover the (short) history once. The schedule is bounded to exactly these dates and
# catchup is off, so every run is a backfill run.
FIRST = [date(2014, 2, 27), date(2014, 2, 28), date(2014, 3, 1)]
SECOND = [date(2014, 2, 24), date(2014, 2, 25), date(2014, 2, 26)]


def _build_images(docker: str, env_file: Path, log: Path) -> dict[str, str]:
    env = {**os.environ, "ENV_FILE": str(env_file), "DOCKER": docker}
    with log.open("ab") as out:
        for script, names in (("build-images.sh", ["collect", "train", "serve", "airflow", "sandbox"]),
                              ("build-offline-images.sh", [])):
            built = subprocess.run([str(ROOT / "scripts" / script), *names], env=env, cwd=ROOT,
                                   stdout=out, stderr=subprocess.STDOUT)
            assert built.returncode == 0, f"scripts/{script} failed (log: {log})"
    return read_env_file(env_file)


def _stack_env(images: dict[str, str], project: str) -> dict[str, str]:
    keep = ("COLLECT_IMAGE", "TRAIN_IMAGE", "SERVE_IMAGE", "AIRFLOW_IMAGE", "SANDBOX_IMAGE",
            "OFFLINE_POSTGRES_IMAGE", "OFFLINE_REDIS_IMAGE", "OFFLINE_SEAWEEDFS_IMAGE", "IMAGE_TAG")
    return {
        **{k: images[k] for k in keep},
        "COMPOSE_NETWORK": project,
        "AIRFLOW_PORT": str(free_port()), "SERVE_PORT": str(free_port()),
        "SEAWEEDFS_PORT": str(free_port()),
        "DOCKER_GID": str(os.stat("/var/run/docker.sock").st_gid),
        # Secrets: random per run, so the log check below can look for each of them.
        "AWS_ACCESS_KEY_ID": f"e2e{secrets.token_hex(6)}",
        "AWS_SECRET_ACCESS_KEY": secrets.token_hex(16),
        "POSTGRES_PASSWORD": secrets.token_hex(12),
        "AIRFLOW_JWT_SECRET": secrets.token_hex(16),
        "AIRFLOW_ADMIN_PASSWORD": secrets.token_hex(12),
        "ADMIN_TOKEN": secrets.token_hex(12),
        "MODEL_SIGNING_KEY": secrets.token_hex(16),
        "TMDB_API_KEY": secrets.token_hex(8),  # the sandbox takes any key
        # The stack: Celery, the sandbox, a tiny history, fast retries.
        "AIRFLOW_EXECUTOR": "CeleryExecutor",
        "AIRFLOW_WORKER_CONCURRENCY": "2",
        "AIRFLOW_TASK_HEARTBEAT_TIMEOUT": "60",
        "TMDB_BASE_URL": "http://tmdb-sandbox:8700/3",
        "TMDB_RATE_LIMIT": "2000",
        "COLLECT_SLICES": "3",
        "COLLECT_HISTORY_START": "2006-01-01",
        "PIPELINE_START_DATE": SECOND[0].isoformat(),
        "PIPELINE_END_DATE": FIRST[-1].isoformat(),
        "PIPELINE_CATCHUP": "false",
        "PIPELINE_RETRIES": "4",
        "PIPELINE_RETRY_DELAY_SECONDS": "5",
        "PIPELINE_TMDB_RATE_LIMIT_SOURCE": f"{project}-ratelimit",
        "MODEL_POLL_SECONDS": "5",
    }


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    docker = docker_client()
    require(docker is not None, "a running Docker engine (scripts/provision.sh starts one)")
    compose = shutil.which("docker-compose")
    require(compose is not None, "Debian's docker-compose (apt-get install docker-compose)")
    require(shutil.which("mmdebstrap") is not None or subprocess.run(
        [docker, "image", "inspect", "tmdb-mlops/base:bookworm-py311"], capture_output=True
    ).returncode == 0, "mmdebstrap (to build the base image)")
    timings = Timings()
    images = _build_images(docker, tmp_path / "images.env", tmp_path / "build.log")
    timings.step("images")
    project = f"tmdbe2e{secrets.token_hex(4)}"
    stack = Stack(compose=compose, docker=docker, env=_stack_env(images, project), workdir=tmp_path,
                  timings=timings)
    try:
        yield stack
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        logs = stack.compose("logs", "--no-color", "--tail", "300", check=False, timeout=120)
        (ARTIFACTS / "compose-e2e-services.log").write_text(logs.stdout[-400_000:])
        timings.step("unfinished")  # ~0 when the test ran to its end
        stack.teardown()
        leftovers = stack.leftovers()
        volumes = stack.run_docker("volume", "ls", "-q", "--filter", f"name={project}", check=False).split()
        timings.step("teardown")
        report = {"project": project, "steps_s": timings.steps, "total_s": timings.total()}
        (ARTIFACTS / "compose-e2e.json").write_text(json.dumps(report, indent=2) + "\n")
        sys.stderr.write(f"compose e2e: {json.dumps(report)}\n")
        assert not leftovers and not volumes, f"left behind: containers {leftovers}, volumes {volumes}"


def _served_version(serving: str, version: str) -> bool:
    card = httpx.get(f"{serving}/model", timeout=10)
    return card.status_code == 200 and card.json()["version"] == version


def test_compose_stack_offline_celery_sandbox(stack: Stack) -> None:
    env, timings = stack.env, stack.timings
    serving = f"http://127.0.0.1:{env['SERVE_PORT']}"
    api = AirflowApi(f"http://127.0.0.1:{env['AIRFLOW_PORT']}", env["AIRFLOW_ADMIN_PASSWORD"])
    store = Store(f"http://127.0.0.1:{env['SEAWEEDFS_PORT']}", env["AWS_ACCESS_KEY_ID"],
                  env["AWS_SECRET_ACCESS_KEY"])

    # 1. The stack, from the offline images only, with two Celery workers.
    config = stack.compose("config", "--services").stdout.split()
    assert {"redis", "airflow-worker", "tmdb-sandbox", "postgres", "seaweedfs"} <= set(config)
    stack.compose("up", "-d", "--no-build", "--scale", f"airflow-worker={WORKERS}", timeout=900)
    for service, image in (("postgres", "OFFLINE_POSTGRES_IMAGE"), ("redis", "OFFLINE_REDIS_IMAGE"),
                           ("seaweedfs", "OFFLINE_SEAWEEDFS_IMAGE")):
        assert stack.inspect(stack.ids(service)[0])["Config"]["Image"] == env[image], service
    workers = stack.ids("airflow-worker")
    assert len(workers) == WORKERS
    for container in (c for s in ("airflow-apiserver", "serving", "seaweedfs") for c in stack.ids(s)):
        for bindings in stack.inspect(container)["HostConfig"]["PortBindings"].values():
            assert all(b["HostIp"] == "127.0.0.1" for b in bindings), container
    poll(lambda: {d["dag_id"] for d in api.request("GET", "/dags")["dags"]} >= {"tmdb_collect",
                                                                                  "tmdb_train"},
          timeout=300, what="both DAGs parsed by the dag-processor")
    assert api.request("GET", "/importErrors")["total_entries"] == 0
    timings.step("up")

    # 2. A backfill over three dates, through the REST API; the DAGs start paused.
    api.backfill("tmdb_collect", FIRST)
    for dag_id in ("tmdb_collect", "tmdb_train"):
        api.request("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
    runs = wait_runs(api, "tmdb_collect", len(FIRST), timeout=600)
    assert sorted(r["logical_date"][:10] for r in runs) == [d.isoformat() for d in FIRST]
    assert {r["run_type"] for r in runs} == {"backfill"}
    assert {r["state"] for r in runs} == {"success"}, runs
    train_runs = wait_training_after(api, runs, timeout=600)
    assert {r["state"] for r in train_runs} == {"success"}, train_runs
    timings.step("backfill_1")

    partitions = store.partitions()
    for split in layout.SPLITS:
        assert sorted(dt for s, dt in partitions if s == split) == FIRST, split
    manifests = store.assert_whole()
    assert sum(m["rows"] for (s, _), m in manifests.items() if s == "train") > 100
    champion = store.champion()["version"]
    poll(lambda: _served_version(serving, champion), timeout=60, what=f"serving {champion}")
    prediction = httpx.post(f"{serving}/predict", json=EXAMPLES[0], timeout=30)
    assert prediction.status_code == 200, prediction.text
    assert prediction.json()["model_version"] == champion
    assert prediction.json()["model_source"] == "registry"

    # The DockerOperator tasks ran on both Celery workers.
    hostnames = {stack.inspect(w)["Config"]["Hostname"] for w in workers}
    used = {ti["hostname"].split(".")[0] for ti in all_task_instances(api, "tmdb_collect")}
    assert hostnames <= used, f"workers {hostnames}, task hosts {used}"
    # Every long-running service passes its own compose healthcheck.
    stack.wait_healthy("postgres", "redis", "seaweedfs", "tmdb-sandbox", "serving", "airflow-apiserver",
                       "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
                       "airflow-worker")
    timings.step("checks_1")

    # 3. A second backfill while Postgres, SeaweedFS and one Celery worker restart.
    api.backfill("tmdb_collect", SECOND)

    def running_task() -> dict | None:
        for run in api.runs("tmdb_collect"):
            if run["logical_date"][:10] in {d.isoformat() for d in SECOND}:
                for ti in api.task_instances("tmdb_collect", run["dag_run_id"]):
                    if ti["state"] == "running" and ti["hostname"]:
                        return ti
        return None

    busy = poll(running_task, timeout=300, what="a task of the second backfill running", every=1)
    stack.compose("restart", "-t", "10", "postgres")
    stack.wait_healthy("postgres")
    stack.compose("restart", "-t", "10", "seaweedfs")
    stack.wait_healthy("seaweedfs")
    victim = next((w for w in workers if stack.inspect(w)["Config"]["Hostname"]
                   == busy["hostname"].split(".")[0]), workers[0])
    stack.run_docker("stop", "-t", "10", victim)
    stack.run_docker("start", victim)
    timings.step("faults")

    runs = wait_runs(api, "tmdb_collect", len(FIRST) + len(SECOND), timeout=900)
    assert {r["run_type"] for r in runs} == {"backfill"}
    assert {r["state"] for r in runs} == {"success"}, runs
    train_runs = wait_training_after(api, runs, timeout=600)
    assert {r["state"] for r in train_runs} == {"success"}, train_runs
    retried = sum(ti["try_number"] > 1 for ti in all_task_instances(api, "tmdb_collect"))
    timings.steps["tasks_retried_after_faults"] = retried
    manifests = store.assert_whole()
    for split in layout.SPLITS:
        assert sorted(dt for s, dt in manifests if s == split) == sorted(FIRST + SECOND), split
    timings.step("backfill_2")

    # 4. A corrupted champion: a fresh server serves the earlier verified champion.
    pointer = store.champion()
    versions = store.versions()
    assert len(versions) >= 2, versions
    if not pointer["previous"]:
        other = next(v for v in reversed(versions) if v != pointer["version"])
        promote_env = stack.workdir / "promote.env"
        promote_env.write_text("".join(f"{k}={v}\n" for k, v in {
            "STORAGE_URL": f"s3://{BUCKET}/{PREFIX}", "S3_ENDPOINT_URL": "http://seaweedfs:8333",
            "AWS_ACCESS_KEY_ID": env["AWS_ACCESS_KEY_ID"],
            "AWS_SECRET_ACCESS_KEY": env["AWS_SECRET_ACCESS_KEY"],
            "MODEL_SIGNING_KEY": env["MODEL_SIGNING_KEY"]}.items()))
        stack.run_docker("run", "--rm", "--network", stack.project, "--env-file", str(promote_env),
                         env["TRAIN_IMAGE"], "models", "promote", other, "--reason", "e2e")
        pointer = store.champion()
    champion, earlier = pointer["version"], pointer["previous"][-1]
    bundle = bytearray(store.read(layout.bundle_key(champion)))
    bundle[len(bundle) // 2] ^= 0xFF
    store.write(layout.bundle_key(champion), bytes(bundle))
    stack.compose("restart", "-t", "10", "serving")

    def fallback() -> dict | None:
        ready = httpx.get(f"{serving}/ready", timeout=10)
        return ready.json() if ready.status_code == 200 else None

    ready = poll(fallback, timeout=120, what="serving ready after the restart")
    assert ready["model_source"] == "fallback", ready
    assert ready["serving_instead_of"] == champion
    assert ready["model_version"] == earlier
    prediction = httpx.post(f"{serving}/predict", json=EXAMPLES[0], timeout=30)
    assert prediction.status_code == 200, prediction.text
    assert prediction.json()["model_source"] == "fallback"
    assert prediction.json()["model_version"] == earlier
    timings.step("corrupted_champion")

    # 5. down keeping the volumes, then up: history, champion and partitions survive.
    history = {(r["dag_id"], r["dag_run_id"], r["state"])
               for dag_id in ("tmdb_collect", "tmdb_train") for r in api.runs(dag_id)}
    objects = {**store.keys("raw/"), **store.keys("processed/")}
    stack.compose("down", "--timeout", "10", timeout=300)
    assert stack.compose("ps", "-q").stdout.split() == []
    stack.compose("up", "-d", "--no-build", "--scale", f"airflow-worker={WORKERS}", timeout=900)
    poll(lambda: {(r["dag_id"], r["dag_run_id"], r["state"]) for dag_id in ("tmdb_collect", "tmdb_train")
                   for r in api.runs(dag_id)} == history,
          timeout=300, what="the Airflow run history after down and up")
    assert store.champion() == pointer
    assert {**store.keys("raw/"), **store.keys("processed/")} == objects
    ready = poll(fallback, timeout=120, what="serving ready after down and up")
    assert (ready["model_version"], ready["model_source"]) == (earlier, "fallback")
    timings.step("down_up")

    # No secret in any service's log, nor in any task log on the logs volume.
    logs = stack.compose("logs", "--no-color", timeout=120).stdout
    secret_names = ("AWS_SECRET_ACCESS_KEY", "POSTGRES_PASSWORD", "AIRFLOW_JWT_SECRET",
                    "AIRFLOW_ADMIN_PASSWORD", "ADMIN_TOKEN", "MODEL_SIGNING_KEY", "TMDB_API_KEY")
    for name in secret_names:
        assert env[name] not in logs, f"{name} appears in a service log"
    scan = stack.compose(
        "exec", "-T", "airflow-apiserver", "python3", "-c",
        "import pathlib, sys\n"
        "secrets = sys.stdin.read().split()\n"
        "hits = sorted({str(p) for p in pathlib.Path('/opt/airflow/logs').rglob('*') if p.is_file()\n"
        "               for s in secrets if s.encode() in p.read_bytes()})\n"
        "print(len(list(pathlib.Path('/opt/airflow/logs').rglob('*.log'))), *hits)\n",
        stdin="\n".join(env[name] for name in secret_names), timeout=120).stdout.split()
    assert int(scan[0]) > 0 and scan[1:] == [], f"task logs with a secret: {scan[1:]}"
    timings.step("secrets_in_logs")
