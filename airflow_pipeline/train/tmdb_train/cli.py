"""``tmdb-mlops train``: a thin wrapper (the entry point is in pyproject.toml).

Heavy imports (pandas, sklearn, lightgbm) happen inside the commands so that
``tmdb-mlops --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from tmdb_mlops.options import option_date


def train_command(
    as_of: str = typer.Option(..., "--as-of", help="Use train partitions with dt on or before this date."),
    seed: int | None = typer.Option(None, "--seed", help="Random seed (default TRAIN_SEED)."),
    report: Path | None = typer.Option(
        None, "--report", help="Also write the run's metrics and promotion decision to this JSON file."
    ),
) -> None:
    """Train on the processed partitions, register a version, and run the promotion gate."""
    from tmdb_mlops.config import get_settings
    from tmdb_mlops.logs import configure_logging
    from tmdb_train.run import train

    settings = get_settings()
    configure_logging(settings.log_level, secrets=settings.secret_values())
    result = train(settings, as_of=option_date(as_of, option="--as-of"), seed=seed)
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(
            {"version": result.version, "metrics": result.metrics, "decision": result.decision},
            indent=2, sort_keys=True,
        ) + "\n")
    typer.echo(result.summary)
