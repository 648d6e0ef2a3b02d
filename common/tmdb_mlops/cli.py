"""The ``tmdb-mlops`` console script.

Each deployable part contributes its commands through a ``register(app)``
function in its own ``cli`` module. A part whose extra is not installed (the
serving image has no collector, say) is reported instead of breaking the rest.
Errors the platform expects end with one line on stderr and exit code 1.
"""

from __future__ import annotations

import importlib
import sys

import typer

from tmdb_mlops import __version__
from tmdb_mlops.errors import PlatformError

app = typer.Typer(
    name="tmdb-mlops",
    help="Predict the TMDB rating of films before release: collect, train, serve.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# module -> (commands it adds, the extra that installs it)
PARTS: dict[str, tuple[tuple[str, ...], str]] = {
    "tmdb_collect.cli": (("collect", "sandbox"), "collect,sandbox"),
    "tmdb_train.cli": (("train", "models"), "train"),
    "tmdb_serve.cli": (("serve",), "serve"),
    "tmdb_mlops.demo": (("demo",), "dev"),
}


def _missing_part(name: str, extra: str, reason: str) -> None:
    @app.command(name=name, help=f"(unavailable here: install the {extra!r} extra)")
    def _unavailable() -> None:
        raise PlatformError(f"'{name}' is not installed in this environment ({reason}); "
                            f"install the '{extra}' extra")


def _register_parts() -> None:
    for module_name, (commands, extra) in PARTS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            for command in commands:
                _missing_part(command, extra, f"missing module {exc.name}")
            continue
        module.register(app)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit."),
) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit()


_register_parts()


def main() -> None:
    """Entry point: run the app and turn expected failures into one line."""
    try:
        app()
    except PlatformError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(1)
    except KeyboardInterrupt:
        typer.secho("interrupted", err=True)
        sys.exit(130)
