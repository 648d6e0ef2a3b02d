"""The window scheme: deterministic per date, complete over the slices, no gaps, bisectable."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tmdb_collect.windows import (
    Window,
    WindowError,
    inference_window,
    train_range,
    train_windows,
)

pytestmark = pytest.mark.unit

START = date(1940, 1, 1)


def windows(day: date, *, slices: int = 30, settle: int = 180) -> list[Window]:
    return train_windows(day, history_start=START, slices=slices, settle_days=settle)


def days_of(window: Window) -> set[date]:
    return {window.gte + timedelta(days=i) for i in range(window.days)}


@pytest.mark.parametrize("slices", [1, 7, 30])
def test_consecutive_dates_cover_the_history_exactly_once(slices: int) -> None:
    first = date(2014, 3, 1)
    covered: list[date] = []
    for offset in range(slices):
        for window in windows(first + timedelta(days=offset), slices=slices, settle=0):
            covered.extend(days_of(window))
    # every day up to the first date's end is covered once; later days only grow the last year
    end = train_range(first, history_start=START, settle_days=0).lte
    early = [d for d in covered if d <= end]
    assert len(early) == len(set(early))
    assert set(early) == days_of(Window(START, end))


def test_rerunning_a_date_gives_the_same_windows() -> None:
    assert windows(date(2014, 3, 1)) == windows(date(2014, 3, 1))


def test_windows_are_whole_years_clipped_to_the_settled_range() -> None:
    day = date(2014, 3, 1)
    end = day - timedelta(days=181)
    got = windows(day, slices=1)
    assert got[0] == Window(START, date(1940, 12, 31))
    assert got[-1] == Window(date(end.year, 1, 1), end)
    for before, after in zip(got, got[1:], strict=False):
        assert after.gte == before.lte + timedelta(days=1)


def test_nothing_before_the_history_has_settled() -> None:
    assert windows(date(1940, 3, 1)) == []


def test_halves_cover_a_window_exactly() -> None:
    window = Window(date(2013, 1, 1), date(2013, 12, 31))
    left, right = window.halves()
    assert left.gte == window.gte and right.lte == window.lte
    assert right.gte == left.lte + timedelta(days=1)
    assert left.days + right.days == window.days
    assert abs(left.days - right.days) <= 1


def test_a_single_day_cannot_be_bisected() -> None:
    with pytest.raises(WindowError, match="single day"):
        Window(date(2013, 1, 1), date(2013, 1, 1)).halves()


def test_inference_starts_after_every_train_window() -> None:
    day = date(2014, 3, 1)
    inference = inference_window(day, horizon_days=180)
    assert inference == Window(day, day + timedelta(days=180))
    assert all(w.lte < inference.gte for w in windows(day, slices=1, settle=0))
