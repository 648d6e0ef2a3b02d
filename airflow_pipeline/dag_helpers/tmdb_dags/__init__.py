"""What the project's DAGs share: images, Docker settings, container environment.

Imported only by the DAG files (it needs Airflow), and installed as its own
small distribution (``airflow_pipeline/dag_helpers``) into the Airflow image and
nowhere else, so that every DagBag can import it, with or without the DAGs
folder on ``sys.path``. The list of settings forwarded to the containers comes
from :class:`~tmdb_mlops.config.Settings` itself (``plain_names``,
``secret_names``) instead of a copy.

Everything is read from the environment when a DAG file is parsed. The
dag-processor, the scheduler and the task runner all parse the files with the
same environment, which compose (``env_file: .env``), ``make airflow`` and the
tests set up the same way, so one ``.env`` configures the images, the stages and
the DAGs. Nothing here does I/O beyond ``os.environ`` (except :func:`reload_serving`,
which runs inside a task, never at parse time).

Secrets are split from plain settings on purpose: they go to DockerOperator's
``private_environment``, which is neither a template field nor serialized, so
they never reach the metadata database, the rendered-template view or the logs.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import Asset
from docker.types import DriverConfig, Mount

from tmdb_mlops.config import Settings

#: The processed train partitions: collect_train updates it, tmdb_train is scheduled on it.
PROCESSED_TRAIN = Asset(name="tmdb_processed_train", uri="tmdb-mlops://processed/train")

#: A retraining asked for by the monitoring (issue #12): tmdb_monitor's request_training
#: updates it when the champion degraded or its inputs drifted; tmdb_train is scheduled on
#: it too (``PROCESSED_TRAIN | RETRAIN_REQUESTED``).
RETRAIN_REQUESTED = Asset(name="tmdb_retrain_requested", uri="tmdb-mlops://monitoring/retrain")

#: The run's logical date, or its run_after when there is none (manual and
#: asset-triggered runs in Airflow 3); never the container's wall clock.
#: ``logical_date`` is absent from the template context of such runs, so read
#: it from ``dag_run``.
RUN_DATE = "{{ (dag_run.logical_date or dag_run.run_after) | ds }}"

#: Where a TMDB task's container finds the host's shared TMDB budget
#: (``TMDB_RATE_LIMIT_DIR`` inside the container).
RATE_LIMIT_DIR = "/run/tmdb-mlops/ratelimit"

#: The default source of that directory: a Docker volume the engine creates on
#: first use, in memory (tmpfs), writable by the stages' non-root user.
RATE_LIMIT_VOLUME = "tmdb-mlops-ratelimit"

#: Settings the stage containers receive as plain environment (visible in the
#: UI): every non-secret field of :class:`~tmdb_mlops.config.Settings`.
PLAIN_ENV: tuple[str, ...] = Settings.plain_names()

#: Secrets the stages need, passed through ``private_environment`` only. The
#: serving admin token stays out: no stage container needs it.
SECRET_ENV: tuple[str, ...] = tuple(name for name in Settings.secret_names() if name != "ADMIN_TOKEN")


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def image(stage: str) -> str:
    """The immutable image reference of a stage (``COLLECT_IMAGE``, ``TRAIN_IMAGE``...).

    Written once into ``.env`` by ``scripts/build-images.sh``; the fallback names
    the tag so a missing build fails with an obvious "image not found".
    """
    tag = _env("IMAGE_TAG", "unset-run-scripts-build-images")
    return _env(f"{stage.upper()}_IMAGE", f"tmdb-mlops/{stage}:{tag}")


def start_date() -> pendulum.DateTime:
    """First logical date of the daily schedule (``PIPELINE_START_DATE``)."""
    return pendulum.parse(_env("PIPELINE_START_DATE", "2026-01-01"), tz="UTC")  # type: ignore[return-value]


def end_date() -> pendulum.DateTime | None:
    """Last logical date of the daily schedule (``PIPELINE_END_DATE``), none by default.

    Bounding the schedule lets a test or a one-off history load own exactly the
    dates it backfills: no scheduled run can appear after the end.
    """
    value = _env("PIPELINE_END_DATE", "")
    return pendulum.parse(value, tz="UTC") if value else None  # type: ignore[return-value]


def catchup() -> bool:
    """Whether missed days are scheduled (``PIPELINE_CATCHUP``, on by default)."""
    return _env("PIPELINE_CATCHUP", "true").lower() in {"1", "true", "yes", "on"}


def default_args() -> dict[str, Any]:
    """Retries with exponential backoff: TMDB and S3 hiccups should heal without a human."""
    return {
        "owner": "tmdb-mlops",
        "retries": int(_env("PIPELINE_RETRIES", "3")),
        "retry_delay": timedelta(seconds=float(_env("PIPELINE_RETRY_DELAY_SECONDS", "60"))),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=30),
        "execution_timeout": timedelta(hours=2),
    }


def wait_poke_seconds() -> float:
    """How often tmdb_monitor checks that the date's collection is done (``PIPELINE_WAIT_POKE_SECONDS``)."""
    return float(_env("PIPELINE_WAIT_POKE_SECONDS", "60"))


def plain_environment() -> dict[str, str]:
    """The non-secret settings forwarded to the containers (only those set)."""
    return {name: os.environ[name] for name in PLAIN_ENV if os.environ.get(name)}


def private_environment() -> dict[str, str]:
    """The secrets forwarded to the containers (only those set)."""
    return {name: os.environ[name] for name in SECRET_ENV if os.environ.get(name)}


def docker_kwargs() -> dict[str, Any]:
    """DockerOperator arguments every stage task shares.

    ``mount_tmp_dir=False``: the stages write to the object store, never to a
    host directory, and a bind mount breaks when Airflow itself runs in a
    container. ``auto_remove="success"`` keeps failed containers for inspection.
    ``PIPELINE_DOCKER_NETWORK`` is ``host`` when the S3 server and TMDB sandbox
    listen on the host's loopback (tests, ``make airflow``), a compose network
    name in the compose stack.
    """
    return {
        "docker_url": _env("PIPELINE_DOCKER_URL", _env("DOCKER_HOST", "unix://var/run/docker.sock")),
        "network_mode": _env("PIPELINE_DOCKER_NETWORK", "bridge"),
        "api_version": _env("PIPELINE_DOCKER_API_VERSION", "auto"),
        "mount_tmp_dir": False,
        "auto_remove": "success",
        "force_pull": False,
        "tty": False,
        "environment": plain_environment(),
        "private_environment": private_environment(),
    }


def rate_budget_mount() -> Mount:
    """The host's TMDB budget directory, for every container that calls TMDB.

    TMDB limits requests per IP address, so every collector on one host (both
    splits, the dates of a backfill, any later TMDB task) must draw on one budget:
    ``tmdb_collect.rate_budget`` keeps it in a file that all of them lock.
    ``PIPELINE_TMDB_RATE_LIMIT_SOURCE`` names where that file lives:

    * a Docker volume name (default ``tmdb-mlops-ratelimit``): created by the
      engine on first use, so it works out of the box, also when Airflow itself
      runs in a container; tmpfs, because the state (the next send time) only
      matters while collectors run; one per engine, i.e. one per host, which is
      the scope TMDB counts (Celery workers on other hosts have their own);
    * an absolute host directory, bind-mounted: processes outside Docker (a
      ``tmdb-mlops collect`` by hand with ``TMDB_RATE_LIMIT_DIR`` set to it) then
      share the budget too. It must exist and be writable by uid 10001.
    """
    source = _env("PIPELINE_TMDB_RATE_LIMIT_SOURCE", RATE_LIMIT_VOLUME)
    if source.startswith("/"):
        return Mount(target=RATE_LIMIT_DIR, source=source, type="bind")
    memory = DriverConfig("local", {"type": "tmpfs", "device": "tmpfs", "o": "size=1m,mode=0777"})
    return Mount(target=RATE_LIMIT_DIR, source=source, type="volume", driver_config=memory)


def tmdb_kwargs() -> dict[str, Any]:
    """DockerOperator arguments of a task that calls TMDB: :func:`docker_kwargs` and the budget.

    The budget is :func:`rate_budget_mount`, with ``TMDB_RATE_LIMIT_DIR`` pointing
    at it inside the container. ``TMDB_RATE_LIMIT`` is then the budget of the whole host rather than of each
    container: a collector running alone gets all of it, four in parallel a
    quarter each, and the host never sends more than TMDB allows.
    """
    kwargs = docker_kwargs()
    kwargs["mounts"] = [rate_budget_mount()]
    kwargs["environment"] = {**kwargs["environment"], "TMDB_RATE_LIMIT_DIR": RATE_LIMIT_DIR}
    return kwargs


def reload_serving() -> str | None:
    """Ask the serving API to check the champion now; return the version it serves.

    Runs inside a task. Without ``SERVING_URL`` or ``ADMIN_TOKEN`` serving picks
    the new champion up by polling ``models/champion.json`` instead, and the task
    says so. The token is read here, at run time, so it never enters a template.
    """
    import json
    import logging
    import urllib.request

    log = logging.getLogger(__name__)
    url = os.environ.get("SERVING_URL", "").rstrip("/")
    token = os.environ.get("ADMIN_TOKEN", "")
    if not url or not token:
        log.info("SERVING_URL or ADMIN_TOKEN unset: serving picks up the champion by polling")
        return None
    request = urllib.request.Request(
        f"{url}/admin/reload",
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (configured URL)
        result = json.loads(response.read())
    log.info("serving reload: outcome=%s version=%s", result.get("outcome"), result.get("model_version"))
    if result.get("outcome") in {"refused", "error"}:
        raise RuntimeError(f"serving refused the champion: {result.get('detail', '')}")
    return result.get("model_version")


def monitoring_decision(run_date: str) -> tuple[bool, list[str]]:
    """The retraining decision of ``monitoring/dt=<run_date>/report.json``, logged line by line.

    Runs inside a task (never at parse time). The report is the results file of
    the monitor stage (``tmdb_mlops.monitor_report``, the pure rule is the
    monitor's ``trigger.decide``); its reasons, or the checks that did not fire,
    go to the task log. Returns (retrain, the lines logged).

    Raises:
        RuntimeError: the date has no report (the monitor task did not write one).
    """
    import logging
    from datetime import date

    from tmdb_mlops.config import load_settings
    from tmdb_mlops.monitor_report import read_report
    from tmdb_mlops.storage import storage_from_settings

    log = logging.getLogger(__name__)
    storage = storage_from_settings(load_settings())
    report = read_report(storage, date.fromisoformat(run_date))
    if report is None:
        raise RuntimeError(f"{storage.url}: no monitoring report for {run_date}")
    lines = report.trigger.reasons if report.trigger.retrain else report.trigger.checks
    for line in lines:
        log.info("%s: %s", "retrain" if report.trigger.retrain else "checked", line)
    if not report.trigger.retrain:
        log.info("monitoring of %s: no retraining needed", run_date)
    return report.trigger.retrain, lines
