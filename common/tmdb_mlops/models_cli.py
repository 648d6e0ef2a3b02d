"""``tmdb-mlops models list|promote|rollback|export``: the registry from the command line.

These live in the shared package because the registry does: every image that
holds the shared package can list, promote, roll back, and export a version to
a local directory (serving's ``LOCAL_MODEL_DIR`` fallback). Nothing here
unpickles a model.
"""

from __future__ import annotations

from pathlib import Path

import typer

from tmdb_mlops.registry import Registry

models_app = typer.Typer(help="The model registry: list versions, promote, roll back, export.",
                         no_args_is_help=True)


def _registry() -> Registry:
    from tmdb_mlops.config import get_settings
    from tmdb_mlops.logs import configure_logging
    from tmdb_mlops.storage import storage_from_settings

    settings = get_settings()
    configure_logging(settings.log_level, secrets=settings.secret_values())
    return Registry(storage_from_settings(settings), signing_key=settings.model_signing_key)


def _fmt(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) else "-"


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
        table.add_row(
            "*" if version == champion else "",
            version,
            str(meta.get("as_of", "-")),
            str(metrics.get("rows", {}).get("train", "-")),
            _fmt(model.get("rmse")), _fmt(model.get("mae")), _fmt(model.get("r2")),
            _fmt(base.get("global_mean", {}).get("rmse")),
            _fmt(base.get("genre_mean", {}).get("rmse")),
            _fmt(base.get("ridge", {}).get("rmse")),
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


@models_app.command("export")
def export_command(
    version: str = typer.Argument(
        ..., help="A registered version id, or 'champion' for the current champion."
    ),
    directory: Path = typer.Option(
        ..., "--dir", help="Where to write the three bundle files (serving's LOCAL_MODEL_DIR)."
    ),
) -> None:
    """Copy one version's bundle, verified and unchanged, into a local directory."""
    registry = _registry()
    exported, path = registry.export(None if version == "champion" else version, directory)
    typer.echo(f"exported {exported} to {path} (set LOCAL_MODEL_DIR={path} to serve it offline)")
