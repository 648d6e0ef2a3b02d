"""``tmdb-mlops predict`` and ``tmdb-mlops monitor``: thin wrappers (entry points in pyproject.toml).

Heavy imports (pandas, the bundle) happen inside the commands so that
``tmdb-mlops --help`` stays fast.
"""

from __future__ import annotations

import typer

from tmdb_mlops.options import option_date


def predict(
    logical_date: str = typer.Option(
        ..., "--logical-date", help="Score the inference partition of this date (YYYY-MM-DD)."
    ),
    model: str | None = typer.Option(
        None, "--model", help="A registered version instead of the champion."
    ),
) -> None:
    """Score the inference partition of a date into predictions/dt=D/model=V/ (manifest last)."""
    from tmdb_mlops.config import get_settings
    from tmdb_mlops.logs import configure_logging
    from tmdb_monitor.predict import run_predict

    settings = get_settings()
    configure_logging(settings.log_level, secrets=settings.secret_values())
    manifest = run_predict(settings, logical_date=option_date(logical_date, option="--logical-date"),
                           version=model)
    estimated = manifest["estimated"]["rmse"]
    typer.echo(
        f"predicted {manifest['rows']} films of dt={manifest['logical_date']} with "
        f"{manifest['model_version']} ({manifest['clamped']} clamped; estimated RMSE "
        f"{'not available for this version' if estimated is None else f'{estimated:.3f}'})"
    )


def monitor(
    logical_date: str = typer.Option(
        ..., "--logical-date", help="Monitor as of this date (YYYY-MM-DD)."
    ),
) -> None:
    """Realized and estimated error, drift, and the retraining decision, into monitoring/dt=D/."""
    from tmdb_mlops.config import get_settings
    from tmdb_mlops.logs import configure_logging
    from tmdb_monitor.report import run_monitor, summary

    settings = get_settings()
    configure_logging(settings.log_level, secrets=settings.secret_values())
    report = run_monitor(settings, logical_date=option_date(logical_date, option="--logical-date"))
    typer.echo(summary(report), nl=False)
