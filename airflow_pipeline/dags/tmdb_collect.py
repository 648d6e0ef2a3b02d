"""
### tmdb_collect

Daily collection of TMDB films into the object store, one partition per logical date.

* `collect_train`: settled films (training history, one rotating slice per day)
  into `processed/train/dt=<date>/`; updates the `tmdb_processed_train` asset,
  which schedules **tmdb_train**.
* `collect_inference`: films releasing after the date into `processed/inference/dt=<date>/`.

Each task runs `tmdb-mlops collect --logical-date <date> --split ...` in the
collector image. The date is the run's logical date (its `run_after` for a manual
run without one), so backfills and re-runs rewrite exactly their own partition.
All collectors on a host share one TMDB rate budget, as TMDB counts per IP address.

Backfill: `airflow backfill create --dag-id tmdb_collect --from-date 2026-01-01 --to-date 2026-01-03`
or *Trigger > Backfill* in the UI. See docs/orchestration.md.
"""

from __future__ import annotations

from airflow.providers.docker.operators.docker import DockerOperator
from airflow.sdk import DAG

from tmdb_dags import (
    PROCESSED_TRAIN,
    RUN_DATE,
    catchup,
    default_args,
    end_date,
    image,
    start_date,
    tmdb_kwargs,
)

with DAG(
    dag_id="tmdb_collect",
    doc_md=__doc__,
    schedule="@daily",
    start_date=start_date(),
    end_date=end_date(),
    catchup=catchup(),
    max_active_runs=2,
    default_args=default_args(),
    tags=["tmdb", "collect"],
) as dag:
    collect_train = DockerOperator(
        task_id="collect_train",
        image=image("collect"),
        command=f"collect --logical-date {RUN_DATE} --split train",
        outlets=[PROCESSED_TRAIN],
        **tmdb_kwargs(),
    )
    collect_inference = DockerOperator(
        task_id="collect_inference",
        image=image("collect"),
        command=f"collect --logical-date {RUN_DATE} --split inference",
        **tmdb_kwargs(),
    )
