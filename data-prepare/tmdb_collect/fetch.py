"""Windows -> raw TMDB responses: Discover pages (bisecting past the cap, re-querying
windows that come back incomplete) and details.

Discover pages are not a stable partition of a query's results: films that tie
on the sort key come back in no documented order, a film can move between
pages from one request to the next, and ``total_results`` is recomputed per
request. So a window is complete only when a pass over its pages agrees on one
``total_results`` and the films seen, counted by unique id, reach it. A window
that falls short is queried again: a second pass in the same sort order, then a
pass in a cross-check order (``original_title.asc``, which does not tie on
release dates), the unique films of every pass put together; then it is
bisected into narrower date windows, down to a single day. A window that still
cannot be completed fails the run (``IncompleteWindowError``) before anything
is written: a film is never lost silently.

Requests run concurrently on the client's thread pool: page 1 of every window
of a round (a window reporting more results than TMDB pages through is split in
two and asked again), then its other pages, then one details request per film.
Responses are kept in a deterministic order (window, pass, page; film id).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from tmdb_collect.tmdb_client import MovieNotFound, TMDBClient, TMDBError
from tmdb_collect.windows import Window, WindowError

log = logging.getLogger(__name__)

DISCOVER_PATH = "/discover/movie"
GENRES_PATH = "/genre/movie/list"
#: What every details request appends: the credits (director, cast, writers) and the
#: release dates (certification). The raw log records the same value.
DETAILS_APPEND = "credits,release_dates"
PAGE_SIZE = 20  # TMDB's fixed Discover page size
DEFAULT_SORT = "primary_release_date.asc"
#: The cross-check order: titles seldom tie, so it cuts pages where release dates tie.
CROSS_CHECK_SORT = "original_title.asc"


class IncompleteWindowError(WindowError):
    """A window's pages still miss films after every re-query and cannot be narrowed."""


def pass_sorts(primary: str) -> tuple[str, ...]:
    """The sort order of each pass over a window: the primary twice, then the cross-check."""
    cross = CROSS_CHECK_SORT if primary != CROSS_CHECK_SORT else DEFAULT_SORT
    return (primary, primary, cross)


@dataclass
class Page:
    """One Discover response and the parameters that asked for it (no credentials)."""

    params: dict[str, Any]
    body: dict[str, Any]

    @property
    def total_results(self) -> int:
        return int(self.body.get("total_results") or 0)

    @property
    def results(self) -> list[dict[str, Any]]:
        return list(self.body.get("results") or [])


@dataclass
class Pass:
    """Every page of one window in one sort order."""

    sort_by: str
    pages: list[Page] = field(default_factory=list)

    @property
    def totals(self) -> set[int]:
        return {page.total_results for page in self.pages}

    @property
    def consistent(self) -> bool:
        """Every page reports the same ``total_results`` as page 1."""
        return len(self.totals) == 1


def unique_ids(passes: list[Pass]) -> set[int]:
    """The ids of the films seen in any of the passes."""
    return {
        movie["id"]
        for one in passes
        for page in one.pages
        for movie in page.results
        if isinstance(movie.get("id"), int)
    }


@dataclass(frozen=True)
class Completeness:
    """Whether the passes over a window found every film TMDB reports in it.

    ``reported`` is the ``total_results`` of the latest pass whose pages agree on
    one (None when no pass did). More unique films than reported (a film added
    while paging) is complete: every film is kept and ``process`` still rejects
    any outside the window.
    """

    unique: int
    reported: int | None
    totals: tuple[int, ...]

    @property
    def complete(self) -> bool:
        return self.reported is not None and self.unique >= self.reported

    def describe(self) -> str:
        if self.reported is None:
            seen = ", ".join(str(t) for t in self.totals)
            return f"{self.unique} unique films, the pages disagree on total_results ({seen})"
        return f"{self.unique} unique films for {self.reported} reported"


def completeness(passes: list[Pass]) -> Completeness:
    """Unique films of all the passes against the latest consistent total."""
    consistent = [one for one in passes if one.consistent]
    return Completeness(
        unique=len(unique_ids(passes)),
        reported=consistent[-1].pages[0].total_results if consistent else None,
        totals=tuple(sorted({t for one in passes for t in one.totals})),
    )


@dataclass
class WindowPages:
    """Every page of every pass over one complete window."""

    window: Window
    passes: list[Pass]

    @property
    def pages(self) -> list[Page]:
        return [page for one in self.passes for page in one.pages]

    @property
    def total_results(self) -> int:
        return completeness(self.passes).reported or 0

    @property
    def results(self) -> list[dict[str, Any]]:
        """Each film once (its first appearance), in pass and page order.

        A result without an integer id cannot be matched across passes: those of
        the first pass are kept, for ``process`` to reject with a reason.
        """
        seen: set[int] = set()
        kept = []
        for number, one in enumerate(self.passes):
            for page in one.pages:
                for movie in page.results:
                    movie_id = movie.get("id")
                    if not isinstance(movie_id, int):
                        if number == 0:
                            kept.append(movie)
                    elif movie_id not in seen:
                        seen.add(movie_id)
                        kept.append(movie)
        return kept

    def summary(self) -> dict[str, Any]:
        """What the manifest records about this window."""
        return {
            "gte": self.window.gte.isoformat(),
            "lte": self.window.lte.isoformat(),
            "total_results": self.total_results,
            "pages": len(self.pages),
            "results": len(self.results),
            "passes": [one.sort_by for one in self.passes],
        }


def _check_page(body: Any, what: str) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise TMDBError(f"{what}: the response is not a Discover page")
    return body


def fetch_genres(client: TMDBClient) -> tuple[dict[int, str], dict[str, Any]]:
    """TMDB's genre id -> name table, and the raw response."""
    body = client.get(GENRES_PATH)
    try:
        table = {int(g["id"]): str(g["name"]) for g in body["genres"]}
    except (KeyError, TypeError, ValueError):
        raise TMDBError(f"GET {GENRES_PATH}: the response is not a genre list") from None
    return table, body


def _get_page(
    client: TMDBClient, window: Window, *, filters: dict[str, Any], sort_by: str, page: int
) -> Page:
    params = {**filters, **window.params(), "sort_by": sort_by, "page": page}
    body = client.get(DISCOVER_PATH, params)
    return Page(params=params, body=_check_page(body, f"window {window} page {page}"))


def _page_through(
    client: TMDBClient,
    jobs: list[tuple[Window, str]],
    *,
    filters: dict[str, Any],
    max_pages: int,
) -> list[Pass]:
    """One pass over each (window, sort order): page 1, then the pages it announces.

    A window whose page 1 reports more results than ``max_pages`` pages hold gets
    only that page; the caller bisects it.
    """
    cap = max_pages * PAGE_SIZE
    firsts = client.gather(
        lambda job: _get_page(client, job[0], filters=filters, sort_by=job[1], page=1),
        jobs,
        what="discover (first pages)",
    )
    passes = [
        Pass(sort_by=sort_by, pages=[first])
        for (_, sort_by), first in zip(jobs, firsts, strict=True)
    ]
    rest = [
        (window, one, number)
        for (window, _), one in zip(jobs, passes, strict=True)
        if one.pages[0].total_results <= cap
        for number in range(2, min(int(one.pages[0].body.get("total_pages") or 0), max_pages) + 1)
    ]
    bodies = client.gather(
        lambda job: _get_page(client, job[0], filters=filters, sort_by=job[1].sort_by,
                              page=job[2]),
        rest,
        what="discover (pages)",
    )
    for (_, one, _), page in zip(rest, bodies, strict=True):
        one.pages.append(page)
    return passes


def discover_windows(
    client: TMDBClient,
    windows: list[Window],
    *,
    filters: dict[str, Any],
    max_pages: int,
) -> list[WindowPages]:
    """Every film of every window, each window proven complete by its unique ids.

    Windows above ``max_pages`` pages of results are bisected until they fit. A
    window whose passes come up short (see :func:`completeness`) is paged again
    in the orders of :func:`pass_sorts`, then bisected by date, down to one day.

    Raises:
        TMDBError: a page failed after its retries (nothing partial is returned).
        WindowError: a single-day window still exceeds the cap.
        IncompleteWindowError: a single-day window is still incomplete after
            every pass (one line: the window, the unique count, the totals).
    """
    cap = max_pages * PAGE_SIZE
    sorts = pass_sorts(str(filters.get("sort_by") or DEFAULT_SORT))
    history: dict[Window, list[Pass]] = {}
    pending = sorted(windows)
    complete: list[WindowPages] = []
    while pending:
        jobs = [(window, sorts[len(history.get(window, []))]) for window in pending]
        fetched = _page_through(client, jobs, filters=filters, max_pages=max_pages)
        pending = []
        for (window, _), new in zip(jobs, fetched, strict=True):
            total = new.pages[0].total_results
            if total > cap:
                log.info("window %s has %d results (cap %d): bisecting", window, total, cap)
                history.pop(window, None)
                pending.extend(window.halves())
                continue
            passes = history.setdefault(window, [])
            passes.append(new)
            verdict = completeness(passes)
            if verdict.complete:
                if len(passes) > 1:
                    log.info("window %s: complete after %d passes (%s)", window, len(passes),
                             verdict.describe())
                complete.append(WindowPages(window=window, passes=history.pop(window)))
            elif len(passes) < len(sorts):
                log.warning("window %s: %s; querying it again (%s)", window,
                            verdict.describe(), sorts[len(passes)])
                pending.append(window)
            elif window.days > 1:
                log.warning("window %s: %s after %d passes; bisecting", window,
                            verdict.describe(), len(passes))
                del history[window]
                pending.extend(window.halves())
            else:
                raise IncompleteWindowError(
                    f"window {window} cannot be collected whole: {verdict.describe()} after "
                    f"{len(passes)} passes ({', '.join(sorts)}), and one day cannot be narrowed"
                )
        pending.sort()
    complete.sort(key=lambda wp: wp.window)
    return complete


def fetch_details(client: TMDBClient, movie_ids: list[int]) -> dict[int, dict[str, Any] | None]:
    """Details with credits for each film; None for a film TMDB no longer has (404)."""

    def one(movie_id: int) -> dict[str, Any] | None:
        try:
            body = client.get(f"/movie/{movie_id}", {"append_to_response": DETAILS_APPEND})
        except MovieNotFound:
            log.warning("film %d: details not found (HTTP 404)", movie_id)
            return None
        if not isinstance(body, dict) or body.get("id") != movie_id:
            raise TMDBError(f"GET /movie/{movie_id}: the response is not that film's details")
        return body

    ids = sorted(set(movie_ids))
    return dict(zip(ids, client.gather(one, ids, what="details"), strict=True))
