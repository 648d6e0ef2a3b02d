"""
### tmdb_train

Trains a candidate on every processed train partition up to the run's date,
registers it, and promotes it to champion when it beats the current one.

Scheduled on the `tmdb_processed_train` asset (updated by **tmdb_collect**'s
`collect_train`) or the `tmdb_retrain_requested` asset (updated by **tmdb_monitor**
when the champion degraded or its inputs drifted), and runnable by hand. The
date is the run's logical date, or its `run_after` for asset-triggered and manual
runs, which have none.

* `train`: `tmdb-mlops train --as-of <date>` in the trainer image; its last log
  line (the training summary) is kept as XCom.
* `reload_serving`: `POST /admin/reload` on the serving API (`SERVING_URL`,
  bearer `ADMIN_TOKEN`) and records the version it now serves; without them
  serving picks the champion up by polling.
"""

from __future__ import annotations

from airflow.providers.docker.operators.docker import DockerOperator
from airflow.sdk import DAG, task

from tmdb_dags import (
    PROCESSED_TRAIN,
    RETRAIN_REQUESTED,
    RUN_DATE,
    default_args,
    docker_kwargs,
    image,
    reload_serving,
    start_date,
)

with DAG(
    dag_id="tmdb_train",
    doc_md=__doc__,
    schedule=(PROCESSED_TRAIN | RETRAIN_REQUESTED),
    start_date=start_date(),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["tmdb", "train"],
) as dag:
    train = DockerOperator(
        task_id="train",
        image=image("train"),
        command=f"train --as-of {RUN_DATE}",
        **docker_kwargs(),
    )

    @task(task_id="reload_serving")
    def reload() -> str | None:
        """Tell serving to load the new champion; the returned version is the XCom."""
        return reload_serving()

    train >> reload()
