"""The completeness rule of a window's Discover passes: unique ids against a consistent total."""

from __future__ import annotations

from datetime import date

import pytest

from tmdb_collect.fetch import (
    CROSS_CHECK_SORT,
    Page,
    Pass,
    WindowPages,
    completeness,
    pass_sorts,
)
from tmdb_collect.windows import Window

pytestmark = pytest.mark.unit

ASC = "primary_release_date.asc"


def one_pass(*pages: list[int | None], totals: list[int] | int, sort_by: str = ASC) -> Pass:
    """A pass whose page i holds films ``pages[i]`` and reports ``totals[i]``."""
    if isinstance(totals, int):
        totals = [totals] * len(pages)
    return Pass(sort_by=sort_by, pages=[
        Page(params={"page": n, "sort_by": sort_by},
             body={"page": n, "results": [{"id": i} for i in ids], "total_results": total})
        for n, (ids, total) in enumerate(zip(pages, totals, strict=True), start=1)
    ])


def test_a_duplicate_cannot_stand_in_for_a_missing_film() -> None:
    # 3 films reported, 3 results served, but film 3 is missing and film 2 repeated
    verdict = completeness([one_pass([1, 2], [2], totals=3)])
    assert not verdict.complete
    assert verdict.unique == 2 and verdict.reported == 3
    assert verdict.describe() == "2 unique films for 3 reported"


def test_a_clean_pass_is_complete() -> None:
    verdict = completeness([one_pass([1, 2], [3], totals=3)])
    assert verdict.complete and verdict.describe() == "3 unique films for 3 reported"


def test_pages_disagreeing_on_the_total_are_not_complete_even_when_the_count_fits() -> None:
    verdict = completeness([one_pass([1, 2], [3], totals=[4, 3])])
    assert not verdict.complete and verdict.reported is None
    assert verdict.describe() == "3 unique films, the pages disagree on total_results (3, 4)"


def test_passes_are_united_and_the_latest_consistent_total_counts() -> None:
    first = one_pass([1, 2], [2], totals=3)  # film 3 missing
    second = one_pass([1, 3], [3], totals=3)  # film 2 missing
    assert not completeness([first]).complete
    united = completeness([first, second])
    assert united.complete and united.unique == 3
    # an inconsistent later pass does not override the consistent one before it
    third = one_pass([1], [2], totals=[9, 3])
    assert completeness([first, second, third]).reported == 3
    # one more film than reported (a film added meanwhile) is complete: every film is kept
    assert completeness([one_pass([1, 2], [3, 4], totals=3)]).complete


def test_window_pages_give_each_film_once_in_first_seen_order() -> None:
    window = Window(date(2013, 1, 1), date(2013, 1, 31))
    first = one_pass([5, 2], [2, None], totals=4)
    second = one_pass([9, 5], [2, 7], totals=4, sort_by=CROSS_CHECK_SORT)
    pages = WindowPages(window=window, passes=[first, second])
    ids = [m["id"] for m in pages.results]
    assert ids == [5, 2, None, 9, 7]  # a result without an id kept once, for process to reject
    summary = pages.summary()
    assert summary["total_results"] == 4 and summary["pages"] == 4
    assert summary["results"] == 5 and summary["passes"] == [ASC, CROSS_CHECK_SORT]


def test_the_passes_are_the_primary_order_twice_then_a_cross_check() -> None:
    assert pass_sorts(ASC) == (ASC, ASC, CROSS_CHECK_SORT)
    assert pass_sorts(CROSS_CHECK_SORT)[2] != CROSS_CHECK_SORT
