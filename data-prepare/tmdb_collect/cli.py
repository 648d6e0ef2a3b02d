"""The ``collect`` and ``sandbox`` commands of ``tmdb-mlops`` (entry points in pyproject.toml).

Thin wrappers: settings come from the environment, the work is done by
``collect.run_collect`` and ``sandbox.server.create_app``. Heavy imports stay
inside the commands so ``tmdb-mlops --help`` is fast.
"""

from __future__ import annotations

import enum
import logging
import socket
from pathlib import Path

import typer

from tmdb_mlops.errors import PlatformError
from tmdb_mlops.layout import ALL_SPLITS, COLLECTION_SPLITS
from tmdb_mlops.options import option_date

log = logging.getLogger(__name__)


#: ``--split``: one of the storage layout's splits, or all of them.
SplitChoice = enum.StrEnum("SplitChoice", {name: name for name in (*COLLECTION_SPLITS, ALL_SPLITS)})

#: The sandbox's paging-fault modes (``sandbox.paging.PagingMode``, kept out of the import
#: path of ``--help``; a test checks the two agree).
PagingChoice = enum.StrEnum("PagingChoice", {m: m for m in ("off", "transient", "persistent")})


def collect(
    logical_date: str = typer.Option(
        ..., "--logical-date", help="The run's logical date D (YYYY-MM-DD), never the wall clock."
    ),
    split: SplitChoice = typer.Option(
        SplitChoice(ALL_SPLITS), "--split",
        help="train, inference, all (both), or outcomes (the settled ratings of predicted films).",
    ),
) -> None:
    """Collect one logical date from TMDB into the store (settings from the environment)."""
    from tmdb_mlops.config import get_settings
    from tmdb_mlops.logs import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level, secrets=settings.secret_values())
    dt = option_date(logical_date, option="--logical-date")
    try:
        from tmdb_collect.collect import run_collect
    except ModuleNotFoundError as exc:
        raise PlatformError(f"collect needs the 'collect' extra (missing {exc.name})") from None

    manifests = run_collect(logical_date=dt, split=split.value, settings=settings)
    for manifest in manifests:
        log.info(
            "done: %s dt=%s rows=%d rejected=%d",
            manifest["split"], manifest["dt"], manifest["rows"], manifest["rejected"]["count"],
        )


def _check_port(host: str, port: int) -> None:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise PlatformError(f"cannot listen on {host}:{port} ({exc.strerror})") from None


def sandbox(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind (loopback default)."),
    port: int = typer.Option(8700, "--port", min=1, max=65535),
    dataset: Path | None = typer.Option(
        None, "--dataset", help="JSON lines of TMDB movie-details objects (default: bokeh films)."
    ),
    api_key: str | None = typer.Option(
        None, "--api-key", envvar="SANDBOX_API_KEY",
        help="Accept only this api_key / bearer token (default: any non-empty value).",
    ),
    fail_429_rate: float = typer.Option(0.0, "--fail-429-rate", min=0, max=1),
    fail_5xx_rate: float = typer.Option(0.0, "--fail-5xx-rate", min=0, max=1),
    latency_ms: float = typer.Option(0.0, "--latency-ms", min=0),
    rate_limit: float | None = typer.Option(
        None, "--rate-limit", min=0.001, help="Server-side requests per second (429 above)."
    ),
    max_page: int = typer.Option(500, "--max-page", min=1, help="TMDB refuses pages above 500."),
    retry_after: int = typer.Option(1, "--retry-after", min=0, help="Retry-After of a 429."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random fault draws."),
    page_duplicate: PagingChoice = typer.Option(
        PagingChoice.off, "--page-duplicate",
        help="Page N+1 starts with a repeat of page N's last film (one film missing).",
    ),
    page_shift: PagingChoice = typer.Option(
        PagingChoice.off, "--page-shift",
        help="Films tying on the sort key are re-ordered per request (films move pages).",
    ),
    total_drift: PagingChoice = typer.Option(
        PagingChoice.off, "--total-drift",
        help="Page 1 of a multi-page query reports total_results + --total-drift-by.",
    ),
    total_drift_by: int = typer.Option(1, "--total-drift-by"),
    transient_requests: int = typer.Option(
        1, "--transient-requests", min=1,
        help="How many requests of each query and page a transient paging fault spoils.",
    ),
    log_level: str = typer.Option("INFO", "--log-level"),
) -> None:
    """Serve an offline TMDB-compatible API over real films (see docs/collection.md)."""
    from tmdb_mlops.logs import configure_logging

    configure_logging(log_level)
    _check_port(host, port)
    try:
        import pycountry  # noqa: F401 - needed by the default dataset's mapping
        import uvicorn

        from tmdb_collect.sandbox.catalogue import Catalogue
        from tmdb_collect.sandbox.dataset import load_movies
        from tmdb_collect.sandbox.server import Faults, create_app
    except ModuleNotFoundError as exc:
        raise PlatformError(f"sandbox needs the 'sandbox' extra (missing {exc.name})") from None

    catalogue = Catalogue(load_movies(dataset))
    faults = Faults(
        fail_429_rate=fail_429_rate,
        fail_5xx_rate=fail_5xx_rate,
        latency_ms=latency_ms,
        rate_limit=rate_limit,
        max_page=max_page,
        retry_after=retry_after,
        seed=seed,
        page_duplicate=page_duplicate.value,
        page_shift=page_shift.value,
        total_drift=total_drift.value,
        total_drift_by=total_drift_by,
        transient_requests=transient_requests,
    )
    app = create_app(catalogue, faults=faults, api_key=api_key or None)
    log.info("TMDB sandbox: %d films on http://%s:%d/3", len(catalogue), host, port)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
