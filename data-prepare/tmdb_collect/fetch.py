"""Windows -> raw TMDB responses: Discover pages (bisecting past the cap) and details.

Requests run concurrently on the client's thread pool in three phases: page 1
of every window (a window reporting more results than TMDB pages through is
split in two and asked again), then every remaining page, then one details
request per film. Responses are kept in a deterministic order (window, page;
film id), so the same source gives the same raw files.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from tmdb_collect.tmdb_client import MovieNotFound, TMDBClient, TMDBError
from tmdb_collect.windows import Window

log = logging.getLogger(__name__)

DISCOVER_PATH = "/discover/movie"
GENRES_PATH = "/genre/movie/list"
PAGE_SIZE = 20  # TMDB's fixed Discover page size


@dataclass
class WindowPages:
    """Every page of one window's Discover query."""

    window: Window
    total_results: int
    pages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def results(self) -> list[dict[str, Any]]:
        return [movie for page in self.pages for movie in page.get("results") or []]

    def summary(self) -> dict[str, Any]:
        """What the manifest records about this window."""
        return {
            "gte": self.window.gte.isoformat(),
            "lte": self.window.lte.isoformat(),
            "total_results": self.total_results,
            "pages": len(self.pages),
            "results": len(self.results),
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


def discover_windows(
    client: TMDBClient,
    windows: list[Window],
    *,
    filters: dict[str, Any],
    max_pages: int,
) -> list[WindowPages]:
    """Every page of every window, bisecting windows above ``max_pages`` pages of results.

    Raises:
        TMDBError: a page failed after its retries (nothing partial is returned).
        WindowError: a single-day window still exceeds the cap.
    """
    cap = max_pages * PAGE_SIZE
    pending = sorted(windows)
    fitting: list[WindowPages] = []
    while pending:
        firsts = client.gather(
            lambda w: _check_page(
                client.get(DISCOVER_PATH, {**filters, **w.params(), "page": 1}), f"window {w}"
            ),
            pending,
            what="discover (first pages)",
        )
        split: list[Window] = []
        for window, first in zip(pending, firsts, strict=True):
            total = int(first.get("total_results") or 0)
            if total > cap:
                halves = window.halves()
                log.info("window %s has %d results (cap %d): bisecting", window, total, cap)
                split.extend(halves)
            else:
                fitting.append(WindowPages(window=window, total_results=total, pages=[first]))
        pending = split
    fitting.sort(key=lambda w: w.window)
    jobs = [
        (wp, page)
        for wp in fitting
        for page in range(2, min(int(wp.pages[0].get("total_pages") or 0), max_pages) + 1)
    ]
    bodies = client.gather(
        lambda job: _check_page(
            client.get(DISCOVER_PATH, {**filters, **job[0].window.params(), "page": job[1]}),
            f"window {job[0].window} page {job[1]}",
        ),
        jobs,
        what="discover (pages)",
    )
    for (wp, _page), body in zip(jobs, bodies, strict=True):
        wp.pages.append(body)
    for wp in fitting:
        if len(wp.results) != wp.total_results:
            log.warning(
                "window %s: %d results for %d reported (the source changed while paging)",
                wp.window,
                len(wp.results),
                wp.total_results,
            )
    return fitting


def fetch_details(client: TMDBClient, movie_ids: list[int]) -> dict[int, dict[str, Any] | None]:
    """Details with credits for each film; None for a film TMDB no longer has (404)."""

    def one(movie_id: int) -> dict[str, Any] | None:
        try:
            body = client.get(f"/movie/{movie_id}", {"append_to_response": "credits"})
        except MovieNotFound:
            log.warning("film %d: details not found (HTTP 404)", movie_id)
            return None
        if not isinstance(body, dict) or body.get("id") != movie_id:
            raise TMDBError(f"GET /movie/{movie_id}: the response is not that film's details")
        return body

    ids = sorted(set(movie_ids))
    return dict(zip(ids, client.gather(one, ids, what="details"), strict=True))
