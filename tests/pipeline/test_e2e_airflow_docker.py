"""The whole pipeline for real: Airflow 3 standalone runs the project's DAGs,
DockerOperator runs the stage images against SeaweedFS and the TMDB sandbox on
the host, and a serving container answers with the promoted champion.

One test, in steps, because each step needs the previous one's state (a
backfill, then the asset-triggered training, then a re-run, then what the
Airflow UI shows of it all in a headless chromium). Everything
started is stopped by PID or container id at the end, pass or fail.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import make_bucket, require
from tests.pipeline.compose_stack import docker_client, read_env_file
from tests.pipeline.compose_stack import poll as _poll
from tests.servers import S3_ACCESS_KEY, S3_SECRET_KEY, free_port, port_open, s3_client, stop_pid
from tmdb_mlops import layout
from tmdb_mlops.partitions import list_partitions, read_manifest
from tmdb_mlops.storage import open_storage

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1500)]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
UI_TIMEOUT_MS = 60_000
# Three consecutive logical dates; COLLECT_SLICES=3 makes them cover the history
# from COLLECT_HISTORY_START once, so each container collects a small window.
DATES = [date(2014, 2, 27), date(2014, 2, 28), date(2014, 3, 1)]
RERUN = DATES[1]
TERMINAL = {"success", "failed"}


class Airflow:
    """A thin REST client for the standalone instance (JWT from the simple auth manager)."""

    def __init__(self, base_url: str, password_file: Path) -> None:
        self.base_url = base_url
        self.password_file = password_file
        self._client: httpx.Client | None = None

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            password = json.loads(self.password_file.read_text())["admin"]
            token = httpx.post(f"{self.base_url}/auth/token",
                               json={"username": "admin", "password": password}, timeout=30)
            token.raise_for_status()
            self._client = httpx.Client(
                base_url=f"{self.base_url}/api/v2", timeout=30,
                headers={"Authorization": f"Bearer {token.json()['access_token']}"},
            )
        return self._client

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(path, params=params)
        response.raise_for_status()
        return response.json()

    def patch(self, path: str, body: dict) -> Any:
        response = self.client.patch(path, json=body)
        response.raise_for_status()
        return response.json()

    def runs(self, dag_id: str) -> list[dict]:
        return self.get(f"/dags/{dag_id}/dagRuns", limit=100, order_by="run_after")["dag_runs"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]

    def xcom(self, dag_id: str, run_id: str, task_id: str) -> Any:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value"
        return self.get(path, deserialize=True)["value"]


@contextlib.contextmanager
def _process(args: list[str], *, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    with log.open("ab") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=out, start_new_session=True,
                                cwd=ROOT)
    try:
        yield proc
    finally:
        stop_pid(proc, timeout=30)


@contextlib.contextmanager
def _container(docker: str, args: list[str]) -> Iterator[str]:
    container = subprocess.run([docker, "run", "-d", *args], capture_output=True, text=True,
                               check=True).stdout.strip()
    try:
        yield container
    finally:
        subprocess.run([docker, "rm", "-f", container], capture_output=True)


def _partition_state(endpoint: str, bucket: str) -> dict[str, tuple[str, datetime]]:
    """Every processed object with its ETag and LastModified: what a re-run may touch."""
    client = s3_client(endpoint)
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="tmdb/processed/")
    return {
        obj["Key"]: (obj["ETag"], obj["LastModified"])
        for page in pages for obj in page.get("Contents", [])
    }


def _check_airflow_ui(base_url: str, *, password_file: Path, collect_runs: list[dict]) -> None:
    """What a user sees: log into the Airflow UI, both DAGs listed, the backfilled runs shown.

    The UI is a React app reading the same REST API, so this checks that the
    simple auth manager's login form, the DAG list and the runs view render what
    the API reported, in a real chromium. Screenshots go to test-artifacts/.
    """
    from playwright.sync_api import expect, sync_playwright

    password = json.loads(password_file.read_text())["admin"]
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(UI_TIMEOUT_MS)
        try:
            # An anonymous visit is sent to the simple auth manager's login form.
            page.goto(f"{base_url}/dags")
            expect(page.locator("input[name=username]"),
                   "the simple auth manager's login form").to_be_visible(timeout=UI_TIMEOUT_MS)
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", password)
            page.get_by_role("button", name="Sign in").click()
            expect(page, "login did not land on the DAG list").to_have_url(
                f"{base_url}/dags", timeout=UI_TIMEOUT_MS)

            for dag_id in ("tmdb_collect", "tmdb_train"):
                link = page.locator(f'a[href="/dags/{dag_id}"]', has_text=dag_id)
                expect(link.first, f"{dag_id} in the UI's DAG list").to_be_visible(
                    timeout=UI_TIMEOUT_MS)
            page.screenshot(path=str(ARTIFACTS / "airflow-dags.png"), full_page=True)

            page.goto(f"{base_url}/dags/tmdb_collect/runs")
            rows = page.locator("tbody tr")
            for run in collect_runs:
                row = rows.filter(has=page.locator(
                    f'a[href="/dags/tmdb_collect/runs/{run["dag_run_id"]}"]'))
                label = f"backfilled run {run['dag_run_id']} in the tmdb_collect runs view"
                expect(row, label).to_have_count(1, timeout=UI_TIMEOUT_MS)
                expect(row, label).to_contain_text(run["logical_date"][:10])
                expect(row, label).to_contain_text("Backfill")
                expect(row, label).to_contain_text("Success")
            expect(rows, "runs other than the backfill in the runs view").to_have_count(
                len(collect_runs))
            page.screenshot(path=str(ARTIFACTS / "airflow-runs.png"), full_page=True)
        except AssertionError:
            # What the page showed when a check failed, for the CI artifacts.
            page.screenshot(path=str(ARTIFACTS / "airflow-ui-failure.png"), full_page=True)
            raise
        finally:
            browser.close()


def _monitor_step(api: Airflow, airflow_env: dict[str, str], tmp_path: Path, store) -> None:
    """A backfill of tmdb_monitor for the last date, checked through the API and the bucket.

    The backfill is created while the DAG is paused and the DAG unpaused only once
    the dag-processor has moved its next run past the backfill, so the scheduler's
    catch-up creates no run for the earlier dates.
    """
    from tmdb_mlops.monitor_report import read_report
    from tmdb_mlops.predictions import list_predictions

    day = DATES[-1]
    trains_before = {r["dag_run_id"] for r in api.runs("tmdb_train")}
    created = subprocess.run(
        [str(BIN / "airflow"), "backfill", "create", "--dag-id", "tmdb_monitor",
         "--from-date", day.isoformat(), "--to-date", day.isoformat()],
        env=airflow_env, capture_output=True, text=True, cwd=tmp_path,
    )
    assert created.returncode == 0, created.stdout[-3000:] + created.stderr[-3000:]
    _poll(lambda: (lambda n: n is None or n[:10] > day.isoformat())(
        api.get("/dags/tmdb_monitor")["next_dagrun_logical_date"]) or None,
        timeout=180, what="tmdb_monitor's next run past the backfill")
    api.patch("/dags/tmdb_monitor", {"is_paused": False})

    def monitor_done() -> list[dict] | None:
        runs = api.runs("tmdb_monitor")
        return runs if runs and all(r["state"] in TERMINAL for r in runs) else None

    [run] = _poll(monitor_done, timeout=600, what="the tmdb_monitor run")
    states = {ti["task_id"]: ti["state"] for ti in api.task_instances("tmdb_monitor", run["dag_run_id"])}
    assert run["state"] == "success", states
    assert set(states.values()) == {"success"}, states
    champion = json.loads(store.read_bytes(layout.CHAMPION_KEY))["version"]
    assert (day, champion) in list_predictions(store)
    outcomes = read_manifest(store, split="outcomes", dt=day)
    assert outcomes is not None and outcomes["rows"] == 0  # nothing released 180 days before
    report = read_report(store, day)
    assert report is not None and report.champion == champion and report.trigger.retrain
    assert api.xcom("tmdb_monitor", run["dag_run_id"], "request_training") == report.trigger.reasons

    def retraining_done() -> dict | None:
        new = [r for r in api.runs("tmdb_train") if r["dag_run_id"] not in trains_before]
        return new[-1] if new and all(r["state"] in TERMINAL for r in api.runs("tmdb_train")) else None

    retrained = _poll(retraining_done, timeout=600, what="the training the monitor requested")
    assert retrained["run_type"] == "asset_triggered" and retrained["state"] == "success"


def test_backfill_train_serve_and_rerun(seaweed, tmp_path: Path) -> None:
    docker = docker_client()
    require(docker is not None, "a running Docker engine (scripts/provision.sh starts one)")
    require(shutil.which("mmdebstrap") is not None or subprocess.run(
        [docker, "image", "inspect", "tmdb-mlops/base:bookworm-py311"], capture_output=True
    ).returncode == 0, "mmdebstrap (to build the base image)")
    require(CHROMIUM.exists(), "chromium (/usr/bin/chromium, for the Airflow UI check)")
    started = time.monotonic()
    logs = tmp_path / "logs"
    logs.mkdir()

    # 1. Images: the base (built once per machine) and the three stage images.
    env_file = tmp_path / "images.env"
    subprocess.run([str(ROOT / "scripts/build-images.sh"), "collect", "train", "serve", "monitor"],
                   env={**os.environ, "ENV_FILE": str(env_file), "DOCKER": docker},
                   check=True, cwd=ROOT, stdout=(logs / "build.log").open("wb"),
                   stderr=subprocess.STDOUT)
    images = read_env_file(env_file)
    build_seconds = time.monotonic() - started

    bucket = make_bucket(seaweed.endpoint)
    sandbox_port, serve_port, airflow_port = free_port(), free_port(), free_port()
    admin_token = secrets.token_urlsafe(16)
    settings = {
        "STORAGE_URL": f"s3://{bucket}/tmdb",
        "S3_ENDPOINT_URL": seaweed.endpoint,
        "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
        "TMDB_BASE_URL": f"http://127.0.0.1:{sandbox_port}/3",
        "TMDB_API_KEY": "e2e-sandbox-key",
        "TMDB_RATE_LIMIT": "2000",
        "COLLECT_SLICES": "3",
        "COLLECT_HISTORY_START": "2006-01-01",
        "MODEL_SIGNING_KEY": secrets.token_hex(16),
        "LOG_LEVEL": "INFO",
    }
    store = open_storage(settings["STORAGE_URL"], endpoint_url=seaweed.endpoint,
                         access_key_id=S3_ACCESS_KEY, secret_access_key=S3_SECRET_KEY)

    with contextlib.ExitStack() as stack:
        # 2. The TMDB sandbox and the serving container on the host's loopback.
        stack.enter_context(_process(
            [str(BIN / "tmdb-mlops"), "sandbox", "--host", "127.0.0.1", "--port", str(sandbox_port)],
            env={**os.environ, **settings}, log=logs / "sandbox.log"))
        _poll(lambda: port_open(sandbox_port), timeout=120, what="sandbox", every=0.5)

        serve_env = {**settings, "ADMIN_TOKEN": admin_token, "MODEL_POLL_SECONDS": "0"}
        stack.enter_context(_container(docker, [
            "--network", "host", *(a for k, v in serve_env.items() for a in ("-e", f"{k}={v}")),
            images["SERVE_IMAGE"], "serve", "--host", "127.0.0.1", "--port", str(serve_port),
        ]))
        serving = f"http://127.0.0.1:{serve_port}"
        _poll(lambda: httpx.get(f"{serving}/health").status_code == 200, timeout=120,
              what="serving container")

        # 3. Airflow standalone with the project's DAGs, paused until the backfill exists.
        airflow_home = tmp_path / "airflow"
        airflow_env = {
            **os.environ, **settings,
            "ENV_FILE": str(env_file),
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW_PORT": str(airflow_port),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            # Airflow's log servers have fixed default ports; free ones avoid clashing
            # with another Airflow on this host (e.g. `make airflow`).
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "airflow_pipeline/dags"),
            "PIPELINE_DOCKER_NETWORK": "host",
            "PIPELINE_START_DATE": DATES[0].isoformat(),
            "PIPELINE_END_DATE": DATES[-1].isoformat(),
            "PIPELINE_RETRIES": "1",
            "PIPELINE_RETRY_DELAY_SECONDS": "5",
            "PIPELINE_WAIT_POKE_SECONDS": "5",
            # Drift thresholds this low flag every partition: the monitor's retraining
            # request, and the training it schedules, then happen on every run (step 7).
            "MONITOR_PSI_THRESHOLD": "0.000001",
            "MONITOR_SHARE_THRESHOLD": "0.000001",
            "SERVING_URL": serving,
            "ADMIN_TOKEN": admin_token,
        }
        stack.enter_context(_process([str(ROOT / "scripts/airflow-standalone.sh")],
                                     env=airflow_env, log=logs / "airflow.log"))
        api = Airflow(f"http://127.0.0.1:{airflow_port}", airflow_home / "passwords.json")
        _poll(lambda: {d["dag_id"] for d in api.get("/dags")["dags"]} >= {"tmdb_collect",
                                                                            "tmdb_train"},
              timeout=240, what="both DAGs parsed")
        assert api.get("/importErrors")["total_entries"] == 0

        # 4. A backfill of tmdb_collect over the three logical dates (the CLI a user runs).
        created = subprocess.run(
            [str(BIN / "airflow"), "backfill", "create", "--dag-id", "tmdb_collect",
             "--from-date", DATES[0].isoformat(), "--to-date", DATES[-1].isoformat()],
            env=airflow_env, capture_output=True, text=True, cwd=tmp_path,
        )
        assert created.returncode == 0, created.stdout[-3000:] + created.stderr[-3000:]
        for dag_id in ("tmdb_collect", "tmdb_train"):
            api.patch(f"/dags/{dag_id}", {"is_paused": False})

        def collect_runs_done() -> list[dict] | None:
            runs = api.runs("tmdb_collect")
            done = len(runs) == 3 and all(r["state"] in TERMINAL for r in runs)
            return runs if done else None

        runs = _poll(collect_runs_done, timeout=600, what="the three backfill runs")
        assert sorted(r["logical_date"][:10] for r in runs) == [d.isoformat() for d in DATES]
        assert {r["run_type"] for r in runs} == {"backfill"}
        assert {r["state"] for r in runs} == {"success"}, runs

        # Exactly those dates' partitions, with manifests, written by the containers.
        for split in layout.SPLITS:
            assert list_partitions(store, split=split) == DATES, split
            for dt in DATES:
                manifest = read_manifest(store, split=split, dt=dt)
                assert manifest is not None and manifest["dt"] == dt.isoformat()
        train_rows = sum(read_manifest(store, split="train", dt=dt)["rows"] for dt in DATES)
        assert train_rows > 100

        # 5. tmdb_train ran from the asset, promoted a champion, serving reloaded it.
        last_collect_end = max(
            ti["end_date"] for r in runs
            for ti in api.task_instances("tmdb_collect", r["dag_run_id"])
            if ti["task_id"] == "collect_train"
        )

        def final_train_run() -> dict | None:
            train_runs = api.runs("tmdb_train")
            if any(r["state"] not in TERMINAL for r in train_runs):
                return None
            latest = [r for r in train_runs if r["start_date"] and r["start_date"] >= last_collect_end]
            return latest[-1] if latest else None

        train_run = _poll(final_train_run, timeout=600, what="tmdb_train after the backfill")
        assert train_run["run_type"] == "asset_triggered"
        assert train_run["state"] == "success"
        champion = json.loads(store.read_bytes(layout.CHAMPION_KEY))
        served = api.xcom("tmdb_train", train_run["dag_run_id"], "reload_serving")
        assert served == champion["version"]

        card = httpx.get(f"{serving}/model").json()
        assert card["version"] == champion["version"]
        from tmdb_mlops.inputs import EXAMPLES

        prediction = httpx.post(f"{serving}/predict", json=EXAMPLES[0], timeout=30)
        assert prediction.status_code == 200, prediction.text
        assert prediction.json()["model_version"] == champion["version"]
        assert 0 <= prediction.json()["prediction"] <= 10

        # 6. Re-running one date replaces that date's partitions and nothing else.
        before = _partition_state(seaweed.endpoint, bucket)
        rerun_id = next(r["dag_run_id"] for r in runs if r["logical_date"].startswith(
            RERUN.isoformat()))
        subprocess.run(
            [str(BIN / "airflow"), "tasks", "clear", "tmdb_collect", "--yes",
             "--start-date", RERUN.isoformat(), "--end-date", RERUN.isoformat()],
            env=airflow_env, check=True, capture_output=True, cwd=tmp_path,
        )

        def rerun_done() -> bool:
            run = api.get(f"/dags/tmdb_collect/dagRuns/{rerun_id}")
            tis = api.task_instances("tmdb_collect", rerun_id)
            return run["state"] in TERMINAL and all(ti["try_number"] >= 2 for ti in tis) and run

        rerun = _poll(rerun_done, timeout=300, what="the re-run of one date")
        assert rerun["state"] == "success"
        after = _partition_state(seaweed.endpoint, bucket)
        marker = f"dt={RERUN.isoformat()}/"
        for key, state in before.items():
            if marker in key:
                continue
            assert after.get(key) == state, f"{key} changed by the re-run of {RERUN}"
        rerun_manifests = [k for k in after if marker in k and k.endswith(layout.MANIFEST_FILE)]
        assert len(rerun_manifests) == 2
        for key in rerun_manifests:
            assert after[key][1] > before[key][1], f"{key} was not rewritten"
        assert {k for k in after if marker not in k} == {k for k in before if marker not in k}

        # Let the training the re-run triggered finish before stopping Airflow, so no
        # container outlives the test. That run is created only after the asset event,
        # so wait for it to exist, not merely for no run to be active.
        rerun_collect_end = max(ti["end_date"] for ti in api.task_instances("tmdb_collect", rerun_id)
                                if ti["task_id"] == "collect_train")

        def rerun_training_done() -> bool:
            train_runs = api.runs("tmdb_train")
            return all(r["state"] in TERMINAL for r in train_runs) and any(
                r["start_date"] and r["start_date"] >= rerun_collect_end for r in train_runs)

        _poll(rerun_training_done, timeout=300, what="the training the re-run triggered")

        # 7. tmdb_monitor for the last date: the champion's predictions kept, the outcomes
        # looked for (none has settled yet), the report, and the retraining it requests.
        _monitor_step(api, airflow_env, tmp_path, store)

        # 8. The Airflow UI shows both DAGs and the backfilled runs (all successful,
        # the re-run included).
        _check_airflow_ui(api.base_url, password_file=api.password_file,
                          collect_runs=api.runs("tmdb_collect"))

    total = time.monotonic() - started
    sys.stderr.write(f"e2e: images {build_seconds:.0f}s, total {total:.0f}s\n")
