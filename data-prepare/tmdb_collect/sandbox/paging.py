"""Paging faults of the sandbox: Discover pages that are not a stable partition, like TMDB's.

TMDB pages a Discover query on the fly. Nothing ties page 2 to the ordering
page 1 was cut from: films sharing the sort key (many share a release date)
come back in no documented order, the index changes between requests, and
``total_results`` is recomputed per request. Three faults reproduce what a
collector sees then, each ``off``, ``transient`` or ``persistent``:

* ``page_duplicate`` - the first film of page N+1 is replaced by a repeat of
  the last film of page N: one film missing, one repeated, the count unchanged.
* ``page_shift`` - each request re-draws the order among films that tie on the
  sort key (seeded by ``seed``, the query, the page and the request's number),
  so a film moves from one page to another between two requests.
* ``total_drift`` - page 1 of a query with more than one page reports
  ``total_results + total_drift_by`` (and the matching ``total_pages``); the
  other pages report the true total.

A transient fault spoils the first ``transient_requests`` requests of each
query and page (a query is its parameters besides ``page``, ``api_key`` and
``language``); later requests of that page are served clean, so a re-query
heals. A persistent fault spoils every request. Counters restart whenever the
faults are changed (``PUT /admin/faults``). Injected faults are counted in the
sandbox's stats as ``injected_page_duplicate``, ``injected_page_shift`` (only
when the page's films differ from the clean page) and ``injected_total_drift``.
"""

from __future__ import annotations

import threading
import zlib
from collections import Counter
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from tmdb_collect.sandbox.catalogue import PAGE_SIZE, SORT_KEYS, Catalogue, DiscoverQuery

PagingMode = Literal["off", "transient", "persistent"]

#: Parameters that do not make a different query.
NOT_THE_QUERY = frozenset({"page", "api_key", "language"})


class PagingFaults(BaseModel):
    """Paging faults: fields of the sandbox's ``Faults``."""

    page_duplicate: PagingMode = Field(
        "off", description="page N+1 starts with a repeat of page N's last film"
    )
    page_shift: PagingMode = Field(
        "off", description="films tying on the sort key are re-ordered per request"
    )
    total_drift: PagingMode = Field(
        "off", description="page 1 reports total_results + total_drift_by"
    )
    total_drift_by: int = Field(1, description="what page 1 adds to total_results")
    transient_requests: int = Field(
        1, ge=1, description="requests of each query and page a transient fault spoils"
    )


class PagingFaultsPatch(BaseModel):
    """A partial update of :class:`PagingFaults` (fields of ``FaultsPatch``)."""

    page_duplicate: PagingMode | None = None
    page_shift: PagingMode | None = None
    total_drift: PagingMode | None = None
    total_drift_by: int | None = None
    transient_requests: int | None = Field(None, ge=1)


def query_key(params: dict[str, str]) -> str:
    """The query a request belongs to: its parameters besides page and credentials."""
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in NOT_THE_QUERY)


def redraw_ties(
    catalogue: Catalogue, query: DiscoverQuery, positions: np.ndarray, *, seed: int
) -> np.ndarray:
    """The same films in the same sort order, ties broken by a seeded draw instead of id."""
    field, _, direction = query.sort_by.rpartition(".")
    key = getattr(catalogue, SORT_KEYS[field])[positions]
    if direction == "desc":
        key = -key
    noise = np.random.default_rng(seed).random(len(positions))
    return positions[np.lexsort((noise, key))]


def with_total(body: bytes, total: int) -> bytes:
    """A page body whose ``total_results`` (and ``total_pages``) say ``total``."""
    head, found, _ = body.rpartition(b',"total_pages":')
    if not found:
        return body
    pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
    return head + b',"total_pages":%d,"total_results":%d}' % (pages, total)


class PagingFaultState:
    """Per query and page request counters, and the faulty pages they select."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, int]] = Counter()

    def clear(self) -> None:
        """Start counting afresh (the faults changed)."""
        with self._lock:
            self._requests.clear()

    def page(
        self,
        catalogue: Catalogue,
        query: DiscoverQuery,
        params: dict[str, str],
        positions: np.ndarray,
        *,
        page: int,
        faults: PagingFaults,
        seed: int,
        stats: Counter[str],
    ) -> bytes:
        """One Discover page's JSON with the paging faults in force applied."""
        modes = (faults.page_duplicate, faults.page_shift, faults.total_drift)
        if all(mode == "off" for mode in modes):
            return catalogue.page_json(positions, page=page)
        key = query_key(params)
        with self._lock:
            self._requests[key, page] += 1
            number = self._requests[key, page]

        def on(mode: PagingMode) -> bool:
            return mode == "persistent" or (
                mode == "transient" and number <= faults.transient_requests
            )

        served = positions
        start = (page - 1) * PAGE_SIZE
        if on(faults.page_shift):
            draw = zlib.crc32(f"{seed}|{key}|{page}|{number}".encode())
            served = redraw_ties(catalogue, query, positions, seed=draw)
            chunk = slice(start, start + PAGE_SIZE)
            if not np.array_equal(served[chunk], positions[chunk]):
                stats["injected_page_shift"] += 1
        if on(faults.page_duplicate) and page > 1 and start < len(served):
            served = served.copy()
            served[start] = served[start - 1]
            stats["injected_page_duplicate"] += 1
        body = catalogue.page_json(served, page=page)
        if on(faults.total_drift) and page == 1 and len(positions) > PAGE_SIZE:
            body = with_total(body, max(0, len(positions) + faults.total_drift_by))
            stats["injected_total_drift"] += 1
        return body
