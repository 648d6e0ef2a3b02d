"""DAG integrity: the files parse, the graph and settings are as designed, the
commands render with the run's date, and no secret reaches a rendered field."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "airflow_pipeline" / "dags"
SECRETS = {
    "TMDB_API_KEY": "tmdb-key-5f1c0a9e",
    "TMDB_READ_ACCESS_TOKEN": "tmdb-token-77e2b0c4",
    "AWS_ACCESS_KEY_ID": "AKIA-test-3c9d",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-91b4e7f2",
    "MODEL_SIGNING_KEY": "signing-key-0d6a2c11",
    "ADMIN_TOKEN": "admin-token-4be8f9a0",
}


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("airflow-home")
    os.environ.setdefault("AIRFLOW_HOME", str(home))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    return home


def _dagbag(monkeypatch: pytest.MonkeyPatch, **env: str):
    """A fresh DagBag: the DAGs read their configuration when parsed."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


@pytest.fixture
def dagbag(airflow_home: Path, monkeypatch: pytest.MonkeyPatch):
    return _dagbag(
        monkeypatch,
        IMAGE_TAG="0.1.0-abc1234",
        COLLECT_IMAGE="tmdb-mlops/collect:0.1.0-abc1234",
        TRAIN_IMAGE="tmdb-mlops/train:0.1.0-abc1234",
        PIPELINE_DOCKER_NETWORK="tmdb-net",
        PIPELINE_START_DATE="2026-01-01",
        STORAGE_URL="s3://tmdb/data",
        **SECRETS,
    )


def _render(task, *, logical_date: datetime | None, run_after: datetime) -> dict[str, object]:
    """Render every template field the way the task runner does, for one run."""
    dag_run = SimpleNamespace(logical_date=logical_date, run_after=run_after, conf={})
    context = {"dag_run": dag_run, "dag": task.dag, "task": task, "params": {}}
    if logical_date is not None:
        context["logical_date"] = logical_date
    env = task.dag.get_template_env()
    return {
        field: task.render_template(getattr(task, field), context, env)
        for field in task.template_fields
    }


def test_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == {"tmdb_collect", "tmdb_train", "tmdb_monitor"}


def test_cli_reports_no_import_errors(airflow_home: Path, tmp_path: Path) -> None:
    """What an operator runs: ``airflow dags list-import-errors --local``."""
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / "home"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    airflow = str(Path(sys.executable).parent / "airflow")
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)

    def import_errors(folder: Path) -> list[dict]:
        out = subprocess.run(
            [airflow, "dags", "list-import-errors", "--local", "--output", "json"],
            env={**env, "AIRFLOW__CORE__DAGS_FOLDER": str(folder)},
            capture_output=True, text=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])  # after Airflow's warnings

    assert import_errors(DAGS) == []
    broken = tmp_path / "broken-dags"
    broken.mkdir()
    (broken / "broken_dag.py").write_text("from airflow.sdk import DAG\nraise ValueError('x')\n")
    assert [e["filepath"] for e in import_errors(broken)] == [str(broken / "broken_dag.py")]


def test_tags_retries_and_bounds(dagbag) -> None:
    for dag_id, tag in (("tmdb_collect", "collect"), ("tmdb_train", "train")):
        dag = dagbag.dags[dag_id]
        assert {"tmdb", tag} <= set(dag.tags)
        assert dag.max_active_runs <= 2
        assert dag.doc_md and dag_id in dag.doc_md
        for task in dag.tasks:
            assert task.retries >= 1, task.task_id
            assert task.retry_exponential_backoff > 1, task.task_id


def test_collect_schedule(dagbag) -> None:
    dag = dagbag.dags["tmdb_collect"]
    assert dag.catchup is True
    assert dag.start_date == datetime(2026, 1, 1, tzinfo=UTC)
    assert dag.schedule == "@daily"
    assert dag.end_date is None  # unbounded unless PIPELINE_END_DATE is set


def test_task_graph(dagbag) -> None:
    collect = dagbag.dags["tmdb_collect"]
    assert set(collect.task_ids) == {"collect_train", "collect_inference"}
    assert all(not t.upstream_task_ids for t in collect.tasks)  # independent splits
    outlets = collect.get_task("collect_train").outlets
    assert [a.name for a in outlets] == ["tmdb_processed_train"]

    train = dagbag.dags["tmdb_train"]
    assert set(train.task_ids) == {"train", "reload_serving"}
    assert train.get_task("reload_serving").upstream_task_ids == {"train"}
    assert "tmdb_processed_train" in repr(train.timetable.asset_condition)


def test_docker_settings(dagbag) -> None:
    for dag_id in ("tmdb_collect", "tmdb_train"):
        for task in dagbag.dags[dag_id].tasks:
            if task.task_type != "DockerOperator":
                continue
            assert task.mount_tmp_dir is False
            assert task.auto_remove == "success"
            assert task.network_mode == "tmdb-net"
            assert task.image.endswith(":0.1.0-abc1234")
            assert task.environment["STORAGE_URL"] == "s3://tmdb/data"


def test_commands_render_with_the_logical_date(dagbag) -> None:
    run_after = datetime(2026, 3, 9, 4, 0, tzinfo=UTC)
    logical = datetime(2026, 3, 5, tzinfo=UTC)
    collect = dagbag.dags["tmdb_collect"]
    for split in ("train", "inference"):
        rendered = _render(collect.get_task(f"collect_{split}"), logical_date=logical,
                           run_after=run_after)
        assert rendered["command"] == f"collect --logical-date 2026-03-05 --split {split}"
    rendered = _render(dagbag.dags["tmdb_train"].get_task("train"), logical_date=logical,
                       run_after=run_after)
    assert rendered["command"] == "train --as-of 2026-03-05"


def test_manual_run_without_logical_date_uses_run_after(dagbag) -> None:
    run_after = datetime(2026, 3, 9, 23, 30, tzinfo=UTC)
    task = dagbag.dags["tmdb_collect"].get_task("collect_train")
    rendered = _render(task, logical_date=None, run_after=run_after)
    assert rendered["command"] == "collect --logical-date 2026-03-09 --split train"
    train = dagbag.dags["tmdb_train"].get_task("train")
    assert _render(train, logical_date=None, run_after=run_after)["command"] == (
        "train --as-of 2026-03-09"
    )


def test_no_secret_in_rendered_templates_or_serialized_dag(dagbag) -> None:
    from airflow.serialization.serialized_objects import DagSerialization

    when = datetime(2026, 3, 5, tzinfo=UTC)
    for dag_id in ("tmdb_collect", "tmdb_train"):
        dag = dagbag.dags[dag_id]
        serialized = json.dumps(DagSerialization.to_dict(dag), default=str)
        for task in dag.tasks:
            rendered = repr(_render(task, logical_date=when, run_after=when))
            for name, secret in SECRETS.items():
                assert secret not in rendered, f"{name} in {dag_id}.{task.task_id}"
                assert secret not in serialized, f"{name} in serialized {dag_id}"
            if task.task_type == "DockerOperator":
                # The stages still get the secrets they need, privately.
                private = task._private_environment
                assert private["TMDB_API_KEY"] == SECRETS["TMDB_API_KEY"]
                assert private["AWS_SECRET_ACCESS_KEY"] == SECRETS["AWS_SECRET_ACCESS_KEY"]
                assert "ADMIN_TOKEN" not in private  # least privilege
                assert not set(SECRETS) & set(task.environment)


def test_collectors_share_the_hosts_tmdb_budget(dagbag, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every TMDB task mounts one budget directory and is told where it is (docs/collection.md)."""
    from tmdb_dags import RATE_LIMIT_DIR

    collect = dagbag.dags["tmdb_collect"]
    for task in collect.tasks:
        assert task.environment["TMDB_RATE_LIMIT_DIR"] == RATE_LIMIT_DIR
        [mount] = task.mounts
        assert mount["Target"] == RATE_LIMIT_DIR and mount["Type"] == "volume"
        assert mount["Source"] == "tmdb-mlops-ratelimit"  # created by the engine on first use
        assert mount["VolumeOptions"]["DriverConfig"]["Options"]["type"] == "tmpfs"
        assert task.mount_tmp_dir is False
    train = dagbag.dags["tmdb_train"].get_task("train")
    assert not train.mounts and "TMDB_RATE_LIMIT_DIR" not in train.environment

    # A host directory instead: bind-mounted, so processes outside Docker can share it.
    bound = _dagbag(monkeypatch, PIPELINE_TMDB_RATE_LIMIT_SOURCE="/var/lib/tmdb-mlops/ratelimit")
    for task in bound.dags["tmdb_collect"].tasks:
        [mount] = task.mounts
        assert mount["Type"] == "bind" and mount["Source"] == "/var/lib/tmdb-mlops/ratelimit"
        assert mount["Target"] == RATE_LIMIT_DIR
