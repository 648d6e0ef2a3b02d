"""Command-line values every part's commands parse the same way.

Each part registers its own commands (entry points ``tmdb_mlops.commands``), so
what their options have in common lives here, once: a bad value is the same
one-line ``ConfigError`` whichever command was given it.
"""

from __future__ import annotations

from datetime import date

from tmdb_mlops.errors import ConfigError


def option_date(value: str, *, option: str) -> date:
    """``value`` as a date, or a one-line error naming ``option`` (never a traceback)."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{option} must be a date YYYY-MM-DD, not {value!r}") from None
