"""The ``tmdb-mlops`` console script.

The shared package owns the shell and the ``models`` commands (the registry is
shared); every other command comes from the part that implements it, through
the ``tmdb_mlops.commands`` entry-point group of that part's pyproject.toml.
The shell never imports or names a part: an image holds only its own part, so
``tmdb-mlops train`` in the serving image is reported as unavailable rather
than failing with a traceback. Errors the platform expects end with one line on
stderr and exit code 1.
"""

from __future__ import annotations

import sys
from importlib.metadata import EntryPoint, entry_points

import typer

from tmdb_mlops import __version__
from tmdb_mlops.errors import PlatformError
from tmdb_mlops.models_cli import models_app

ENTRY_POINT_GROUP = "tmdb_mlops.commands"

#: The commands of the whole platform that parts provide. Only the names: which
#: part provides one is said by that part's entry point, not here.
PLATFORM_COMMANDS: tuple[str, ...] = ("sandbox", "collect", "train", "serve", "demo",
                                      "predict", "monitor")

app = typer.Typer(
    name="tmdb-mlops",
    help="Predict the TMDB rating of films before release: collect, train, serve.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(models_app, name="models")


def _unavailable(name: str, reason: str) -> None:
    @app.command(name=name, help=f"(unavailable here: {reason})")
    def _command() -> None:
        raise PlatformError(f"'{name}' is not available in this environment: {reason}")


def _add(entry_point: EntryPoint) -> None:
    """One discovered command: a typer command function or a typer.Typer of subcommands."""
    try:
        command = entry_point.load()
    except (ImportError, AttributeError) as exc:  # installed without what it imports
        _unavailable(entry_point.name, f"{entry_point.value} cannot be imported ({exc})")
        return
    if isinstance(command, typer.Typer):
        app.add_typer(command, name=entry_point.name)
    else:
        app.command(name=entry_point.name)(command)


def register_commands() -> None:
    """Add every installed part's commands, and a stub for each platform command not installed."""
    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    for name in sorted(found):
        _add(found[name])
    for name in PLATFORM_COMMANDS:
        if name not in found:
            _unavailable(name, "the part that provides it is not installed (see README, Layout)")


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit()


def main() -> None:
    """Entry point: discover the commands, run, and turn expected failures into one line."""
    register_commands()
    try:
        app()
    except PlatformError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.secho("interrupted", err=True)
        sys.exit(130)
