"""The sandbox's paging faults over real HTTP: duplicate at a page boundary, shift, total drift."""

from __future__ import annotations

import typing

import pytest
import requests

from tests.collect.conftest import SANDBOX_KEY, Sandbox
from tmdb_collect.cli import PagingChoice
from tmdb_collect.sandbox.paging import PagingMode

pytestmark = pytest.mark.integration

# 2014-03-01..2014-08-28: 210 films on 11 pages, ties on release dates at most boundaries
WINDOW = {
    "primary_release_date.gte": "2014-03-01",
    "primary_release_date.lte": "2014-08-28",
    "sort_by": "primary_release_date.asc",
}


def page(sandbox: Sandbox, number: int, **params: object) -> dict:
    response = requests.get(
        f"{sandbox.base_url}/discover/movie",
        params={"api_key": SANDBOX_KEY, **WINDOW, **params, "page": number}, timeout=10,
    )
    response.raise_for_status()
    return response.json()


def ids(body: dict) -> list[int]:
    return [m["id"] for m in body["results"]]


def clean_pages(sandbox: Sandbox) -> list[dict]:
    first = page(sandbox, 1)
    return [first] + [page(sandbox, n) for n in range(2, first["total_pages"] + 1)]


def test_page_duplicate_repeats_the_last_film_of_the_previous_page(sandbox: Sandbox) -> None:
    clean = clean_pages(sandbox)
    sandbox.faults(page_duplicate="transient", transient_requests=2)
    one, two = page(sandbox, 1), page(sandbox, 2)
    assert ids(one) == ids(clean[0])  # page 1 has no previous page
    assert ids(two)[0] == ids(clean[0])[-1]  # a repeat ...
    assert ids(clean[1])[0] not in ids(one) + ids(two)  # ... standing in for a missing film
    assert ids(two)[1:] == ids(clean[1])[1:] and two["total_results"] == clean[1]["total_results"]
    assert ids(page(sandbox, 2)) == ids(two)  # the second request is still spoiled
    assert ids(page(sandbox, 2)) == ids(clean[1])  # the third heals
    assert sandbox.stats()["injected_page_duplicate"] == 2
    sandbox.faults(page_duplicate="persistent")
    assert all(ids(page(sandbox, 3))[0] == ids(clean[1])[-1] for _ in range(4))


def test_page_shift_moves_films_between_pages_from_one_request_to_the_next(
    sandbox: Sandbox,
) -> None:
    clean = clean_pages(sandbox)
    sandbox.faults(page_shift="persistent", seed=7)
    shifted = [page(sandbox, n) for n in range(1, len(clean) + 1)]
    seen = [i for body in shifted for i in ids(body)]
    assert len(seen) == sum(len(body["results"]) for body in clean)
    assert len(set(seen)) < len(seen)  # films moved: some seen twice, others never
    # every page keeps its release dates: only films sharing a date change places
    for before, after in zip(clean, shifted, strict=True):
        assert [m["release_date"] for m in before["results"]] == [
            m["release_date"] for m in after["results"]]
    assert sandbox.stats()["injected_page_shift"] > 0
    # seeded: the same seed, counting afresh, serves the same pages again
    sandbox.faults(page_shift="persistent", seed=7)
    assert [page(sandbox, n) for n in range(1, len(clean) + 1)] == shifted
    # transient: the first request of a page is shifted, the next one is clean
    sandbox.faults(page_shift="transient")
    assert [ids(page(sandbox, n)) for n in range(1, len(clean) + 1)] != [ids(p) for p in clean]
    assert [page(sandbox, n) for n in range(1, len(clean) + 1)] == clean


def test_total_drift_makes_page_1_disagree_with_the_other_pages(sandbox: Sandbox) -> None:
    clean = clean_pages(sandbox)
    total = clean[0]["total_results"]
    sandbox.faults(total_drift="transient", total_drift_by=-1)
    assert page(sandbox, 1)["total_results"] == total - 1
    assert page(sandbox, 2)["total_results"] == total
    assert page(sandbox, 1) == clean[0]  # healed on the second request
    sandbox.faults(total_drift="persistent", total_drift_by=20)
    drifted = page(sandbox, 1)
    assert (drifted["total_results"], drifted["total_pages"]) == (total + 20, len(clean) + 1)
    assert ids(drifted) == ids(clean[0])
    # a query with a single page has no page N to disagree with
    single = page(sandbox, 1, **{"primary_release_date.lte": "2014-03-08"})
    assert single["total_results"] == len(single["results"]) == 16


def test_bad_paging_modes_are_refused_and_the_cli_offers_the_models_modes(
    sandbox: Sandbox,
) -> None:
    bad = requests.put(f"{sandbox.url}/admin/faults", json={"page_shift": "sometimes"}, timeout=5)
    assert bad.status_code == 422
    bad = requests.put(f"{sandbox.url}/admin/faults", json={"transient_requests": 0}, timeout=5)
    assert bad.status_code == 422
    assert [c.value for c in PagingChoice] == list(typing.get_args(PagingMode))
    assert sandbox.faults(reset=True)["page_duplicate"] == "off"
