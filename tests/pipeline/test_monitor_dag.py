"""The tmdb_monitor DAG: wiring, rendered commands, images, and its trigger firing only on degradation."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.monitor.history import MONITOR_ON, build_history
from tests.pipeline.test_dags import SECRETS, _dagbag, _render, airflow_home  # noqa: F401
from tmdb_mlops.storage import open_storage

pytestmark = pytest.mark.unit

TAG = "0.1.0-abc1234"


@pytest.fixture
def dagbag(airflow_home: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: F811
    return _dagbag(
        monkeypatch,
        IMAGE_TAG=TAG,
        COLLECT_IMAGE=f"tmdb-mlops/collect:{TAG}",
        TRAIN_IMAGE=f"tmdb-mlops/train:{TAG}",
        MONITOR_IMAGE=f"tmdb-mlops/monitor:{TAG}",
        PIPELINE_DOCKER_NETWORK="tmdb-net",
        PIPELINE_START_DATE="2026-01-01",
        STORAGE_URL="s3://tmdb/data",
        **SECRETS,
    )


def test_graph_schedule_and_settings(dagbag) -> None:
    assert dagbag.import_errors == {}
    dag = dagbag.dags["tmdb_monitor"]
    assert dag.schedule == "@daily" and dag.catchup is True and dag.max_active_runs == 1
    assert {"tmdb", "monitor"} <= set(dag.tags) and "tmdb_monitor" in dag.doc_md
    order = ["wait_for_collection", "predict", "collect_outcomes", "monitor", "retrain_needed",
             "request_training"]
    assert set(dag.task_ids) == set(order)
    for upstream, task in zip(order, order[1:], strict=False):
        assert dag.get_task(task).upstream_task_ids == {upstream}
    sensor = dag.get_task("wait_for_collection")
    assert (sensor.external_dag_id, sensor.external_task_id) == ("tmdb_collect", "collect_inference")
    assert sensor.mode == "reschedule"
    for task in dag.tasks:
        assert task.retries >= 1 and task.retry_exponential_backoff > 1, task.task_id


def test_images_commands_and_the_tmdb_budget(dagbag) -> None:
    dag = dagbag.dags["tmdb_monitor"]
    logical = datetime(2026, 3, 5, tzinfo=UTC)
    run_after = datetime(2026, 3, 9, 4, tzinfo=UTC)
    expected = {"predict": ("monitor", "predict --logical-date 2026-03-05"),
                "collect_outcomes": ("collect", "collect --logical-date 2026-03-05 --split outcomes"),
                "monitor": ("monitor", "monitor --logical-date 2026-03-05")}
    for task_id, (image, command) in expected.items():
        task = dag.get_task(task_id)
        assert task.image == f"tmdb-mlops/{image}:{TAG}"
        assert _render(task, logical_date=logical, run_after=run_after)["command"] == command
        assert task.mount_tmp_dir is False and task.auto_remove == "success"
        assert task.network_mode == "tmdb-net"
        assert not set(SECRETS) & set(task.environment)
    manual = _render(dag.get_task("monitor"), logical_date=None, run_after=run_after)
    assert manual["command"] == "monitor --logical-date 2026-03-09"
    from tmdb_dags import RATE_LIMIT_DIR

    outcomes = dag.get_task("collect_outcomes")
    assert outcomes.environment["TMDB_RATE_LIMIT_DIR"] == RATE_LIMIT_DIR
    assert [m["Target"] for m in outcomes.mounts] == [RATE_LIMIT_DIR]
    assert not dag.get_task("predict").mounts


def test_training_follows_the_monitors_request(dagbag) -> None:
    request = dagbag.dags["tmdb_monitor"].get_task("request_training")
    assert [a.name for a in request.outlets] == ["tmdb_retrain_requested"]
    condition = repr(dagbag.dags["tmdb_train"].timetable.asset_condition)
    assert "tmdb_processed_train" in condition and "tmdb_retrain_requested" in condition


def test_no_secret_in_rendered_templates_or_serialized_dag(dagbag) -> None:
    from airflow.serialization.serialized_objects import DagSerialization

    dag = dagbag.dags["tmdb_monitor"]
    serialized = json.dumps(DagSerialization.to_dict(dag), default=str)
    when = datetime(2026, 3, 5, tzinfo=UTC)
    for task in dag.tasks:
        rendered = repr(_render(task, logical_date=when, run_after=when))
        for name, secret in SECRETS.items():
            assert secret not in rendered and secret not in serialized, f"{name} in {task.task_id}"


@pytest.mark.parametrize(("worsen", "fires"), [(0.0, False), (-2.5, True)],
                         ids=["as-good-as-holdout", "degraded"])
def test_the_trigger_fires_on_degradation_and_not_otherwise(
    dagbag, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    worsen: float, fires: bool,
) -> None:
    """The DAG's own task callables, on a report the real monitor wrote."""
    store = open_storage(str(tmp_path / "store"))
    history = build_history(store, worsen=worsen)
    assert history.report.trigger.retrain is fires
    monkeypatch.setenv("STORAGE_URL", store.url)
    dag = dagbag.dags["tmdb_monitor"]
    with caplog.at_level(logging.INFO):
        decided = dag.get_task("retrain_needed").python_callable(MONITOR_ON.isoformat())
    assert decided is fires
    if fires:
        assert "retrain: performance of" in caplog.text and "degraded" in caplog.text
        reasons = dag.get_task("request_training").python_callable(MONITOR_ON.isoformat())
        assert reasons == history.report.trigger.reasons
    else:
        assert "no retraining needed" in caplog.text
    with pytest.raises(RuntimeError, match="no monitoring report"):
        dag.get_task("retrain_needed").python_callable("2030-01-01")
