"""Which release dates a logical date collects: deterministic query windows.

Train: the history runs from ``collect_history_start`` to the day before
``D - collect_settle_days`` (ratings of younger films have not settled). It is
cut into calendar years; logical date D collects the years Y with
``(Y - start.year) % slices == D.toordinal() % slices``. So ``slices``
consecutive logical dates cover the whole history, re-running D collects the
same windows, and the windows of a date never overlap or leave gaps.

Inference: primary release dates from D to D + ``collect_inference_horizon_days``.
The train range ends before D, so no film can fall in both splits of one date.

A window whose query reports more results than TMDB will page through (500
pages of 20) is bisected by date until every piece fits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from tmdb_mlops.errors import PlatformError


class WindowError(PlatformError):
    """A query window cannot be collected whole."""


@dataclass(frozen=True, order=True)
class Window:
    """An inclusive range of primary release dates: one Discover query."""

    gte: date
    lte: date

    def __post_init__(self) -> None:
        if self.lte < self.gte:
            raise ValueError(f"empty window {self.gte}..{self.lte}")

    @property
    def days(self) -> int:
        return (self.lte - self.gte).days + 1

    def params(self) -> dict[str, str]:
        """The Discover filters selecting this window."""
        return {
            "primary_release_date.gte": self.gte.isoformat(),
            "primary_release_date.lte": self.lte.isoformat(),
        }

    def halves(self) -> tuple[Window, Window]:
        """Two adjacent windows covering this one exactly (first half never shorter)."""
        if self.days < 2:
            raise WindowError(
                f"window {self} is a single day and still holds more results than TMDB pages "
                "through; it cannot be collected whole"
            )
        middle = self.gte + timedelta(days=(self.days - 1) // 2)
        return Window(self.gte, middle), Window(middle + timedelta(days=1), self.lte)

    def contains(self, day: date) -> bool:
        return self.gte <= day <= self.lte

    def __str__(self) -> str:
        return f"{self.gte.isoformat()}..{self.lte.isoformat()}"


def train_range(logical_date: date, *, history_start: date, settle_days: int) -> Window | None:
    """All release dates whose rating has settled by D, or None before the history starts."""
    end = logical_date - timedelta(days=settle_days + 1)
    return Window(history_start, end) if end >= history_start else None


def train_windows(
    logical_date: date,
    *,
    history_start: date,
    slices: int,
    settle_days: int,
) -> list[Window]:
    """The calendar-year windows logical date D collects for training, oldest first."""
    full = train_range(logical_date, history_start=history_start, settle_days=settle_days)
    if full is None:
        return []
    chosen = logical_date.toordinal() % slices
    windows = []
    for year in range(full.gte.year, full.lte.year + 1):
        if (year - full.gte.year) % slices != chosen:
            continue
        windows.append(Window(max(date(year, 1, 1), full.gte), min(date(year, 12, 31), full.lte)))
    return windows


def inference_window(logical_date: date, *, horizon_days: int) -> Window:
    """Films released from D to D + horizon: the ones to predict before release."""
    return Window(logical_date, logical_date + timedelta(days=horizon_days))
