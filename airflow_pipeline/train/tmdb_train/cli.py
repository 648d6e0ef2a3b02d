"""``tmdb-mlops train`` and ``tmdb-mlops models list|promote|rollback``: thin wrappers.

Heavy imports (pandas, sklearn, lightgbm) happen inside the commands so that
``tmdb-mlops --help`` stays fast.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import typer

from tmdb_mlops.errors import PlatformError


def _as_of(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PlatformError(f"--as-of must be a date YYYY-MM-DD, not {value!r}") from None


def _registry():
    from tmdb_mlops.config import get_settings
    from tmdb_mlops.logs import configure_logging
    from tmdb_mlops.registry import Registry
    from tmdb_mlops.storage import storage_from_settings

    settings = get_settings()
    configure_logging(settings.log_level)
    return Registry(storage_from_settings(settings), signing_key=settings.model_signing_key)


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
    configure_logging(settings.log_level)
    result = train(settings, as_of=_as_of(as_of), seed=seed)
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(
            {"version": result.version, "metrics": result.metrics, "decision": result.decision},
            indent=2, sort_keys=True,
        ) + "\n")
    typer.echo(result.summary)


models_app = typer.Typer(help="The model registry: list versions, promote, roll back.",
                         no_args_is_help=True)


@models_app.command("list")
def list_command() -> None:
    """Registered versions with their holdout metrics against the baselines; * = champion."""
    from rich.console import Console
    from rich.table import Table

    registry = _registry()
    champion = registry.champion()
    table = Table(title=f"models in {registry.storage.url}")
    for column in ("", "version", "as_of", "rows", "RMSE", "MAE", "R²",
                   "mean RMSE", "genre RMSE", "ridge RMSE", "vs mean", "gate"):
        table.add_column(column)
    for version in registry.list_versions():
        meta, metrics = registry.metadata(version), registry.metrics(version)
        model, base = metrics.get("model", {}), metrics.get("baselines", {})
        decision = registry.decision(version)

        def fmt(value: object) -> str:
            return f"{value:.3f}" if isinstance(value, int | float) else "-"

        table.add_row(
            "*" if version == champion else "",
            version,
            str(meta.get("as_of", "-")),
            str(metrics.get("rows", {}).get("train", "-")),
            fmt(model.get("rmse")), fmt(model.get("mae")), fmt(model.get("r2")),
            fmt(base.get("global_mean", {}).get("rmse")),
            fmt(base.get("genre_mean", {}).get("rmse")),
            fmt(base.get("ridge", {}).get("rmse")),
            f"{metrics.get('improvement', {}).get('rmse_vs_global_mean', 0):.1%}",
            "-" if decision is None else ("promoted" if decision["promoted"] else "refused"),
        )
    Console(width=200).print(table)
    if champion is None:
        typer.echo("no champion yet")


@models_app.command("promote")
def promote_command(
    version: str = typer.Argument(..., help="A registered version id."),
    reason: str = typer.Option("manual promotion", "--reason", help="Recorded in the history."),
) -> None:
    """Make VERSION the champion (no gate: a person decided)."""
    registry = _registry()
    registry.promote(version, reason=reason)
    typer.echo(f"champion is now {version}")


@models_app.command("rollback")
def rollback_command(
    reason: str = typer.Option("manual rollback", "--reason", help="Recorded in the history."),
) -> None:
    """Return to the previous champion."""
    record = _registry().rollback(reason=reason)
    typer.echo(f"champion is now {record['version']} ({record['reason']})")


def register(app: typer.Typer) -> None:
    """Add ``train`` and ``models`` to the ``tmdb-mlops`` app."""
    app.command("train")(train_command)
    app.add_typer(models_app, name="models")
