"""
### tmdb_monitor

Daily, once **tmdb_collect** has collected the date's inference partition (issue #12):
`predict` keeps the champion's predictions (`predictions/dt=<date>/model=<version>/`),
`collect_outcomes` fetches the ratings of the predicted films that have settled,
`monitor` writes `monitoring/dt=<date>/report.json`; `retrain_needed` logs the report's
decision, and when the champion degraded or its inputs drifted `request_training`
updates the `tmdb_retrain_requested` asset, on which **tmdb_train** is scheduled too.
Outputs are keyed by the logical date: backfills and re-runs are idempotent.
See docs/monitoring.md.
"""

from __future__ import annotations

from airflow.providers.docker.operators.docker import DockerOperator
from airflow.providers.standard.sensors.external_task import ExternalTaskSensor
from airflow.sdk import DAG, task

from tmdb_dags import (
    RETRAIN_REQUESTED,
    RUN_DATE,
    catchup,
    default_args,
    docker_kwargs,
    end_date,
    image,
    monitoring_decision,
    start_date,
    tmdb_kwargs,
    wait_poke_seconds,
)

with DAG(
    dag_id="tmdb_monitor",
    doc_md=__doc__,
    schedule="@daily",
    start_date=start_date(),
    end_date=end_date(),
    catchup=catchup(),
    max_active_runs=1,
    default_args=default_args(),
    tags=["tmdb", "monitor"],
) as dag:
    collected = ExternalTaskSensor(
        task_id="wait_for_collection", external_dag_id="tmdb_collect",
        external_task_id="collect_inference", mode="reschedule",
        poke_interval=wait_poke_seconds(), timeout=6 * 3600,
    )
    predict = DockerOperator(task_id="predict", image=image("monitor"),
                             command=f"predict --logical-date {RUN_DATE}", **docker_kwargs())
    outcomes = DockerOperator(task_id="collect_outcomes", image=image("collect"),
                              command=f"collect --logical-date {RUN_DATE} --split outcomes",
                              **tmdb_kwargs())
    monitor = DockerOperator(task_id="monitor", image=image("monitor"),
                             command=f"monitor --logical-date {RUN_DATE}", **docker_kwargs())

    @task.short_circuit(task_id="retrain_needed")
    def retrain_needed(run_date: str) -> bool:
        """The report's decision; its reasons (or the checks that did not fire) go to the log."""
        return monitoring_decision(run_date)[0]

    @task(task_id="request_training", outlets=[RETRAIN_REQUESTED])
    def request_training(run_date: str) -> list[str]:
        """Update the asset tmdb_train is scheduled on; the reasons are the XCom."""
        return monitoring_decision(run_date)[1]

    collected >> predict >> outcomes >> monitor >> retrain_needed(RUN_DATE) >> request_training(RUN_DATE)
