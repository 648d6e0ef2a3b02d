"""The collector behind Discover pages that shift: every film exactly once, or a clean failure.

Each test serves the session sandbox's films with a paging fault (see
``tmdb_collect.sandbox.paging``) and collects D=2014-03-01. A fault that a
re-query can heal must give the processed CSV of a clean run, byte for byte;
one that cannot must end the run with one ``error:`` line naming the window,
before anything is written.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.collect.conftest import (
    Sandbox,
    collect_env,
    collect_settings,
    movie,
    run_cli,
    start_sandbox,
    write_dataset,
)
from tmdb_collect.collect import run_collect
from tmdb_mlops import layout
from tmdb_mlops.partitions import list_partitions, read_manifest
from tmdb_mlops.storage import Storage, open_storage

pytestmark = pytest.mark.integration

D = date(2014, 3, 1)
SPLIT = "inference"  # 2014-03-01..2014-08-28: 210 films on 11 pages, dates tie at 7 boundaries


def movies_csv(storage: Storage, split: str = SPLIT) -> bytes:
    return storage.read_bytes(layout.movies_key(split, D))


def csv_ids(data: bytes) -> list[int]:
    return [int(row["id"]) for row in csv.DictReader(io.StringIO(data.decode()))]


def partition_bytes(storage: Storage, split: str) -> dict[str, bytes]:
    keys = storage.list(layout.raw_prefix(split, D)) + storage.list(
        layout.processed_prefix(split, D))
    return {key: storage.read_bytes(key) for key in keys}


@pytest.fixture(scope="module")
def clean_csv(_bokeh_sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The inference CSV of D collected with no fault."""
    _bokeh_sandbox.reset()
    storage = open_storage(str(tmp_path_factory.mktemp("clean")))
    run_collect(logical_date=D, split=SPLIT, settings=collect_settings(_bokeh_sandbox, storage.url))
    windows = read_manifest(storage, split=SPLIT, dt=D)["query"]["windows"]
    assert [w["passes"] for w in windows] == [["primary_release_date.asc"]]
    return movies_csv(storage)


HEALING = {
    "page duplicate, transient": ({"page_duplicate": "transient"}, "injected_page_duplicate"),
    "shift, transient": ({"page_shift": "transient", "seed": 3}, "injected_page_shift"),
    "total +1, transient": ({"total_drift": "transient"}, "injected_total_drift"),
    "total -1, transient": (
        {"total_drift": "transient", "total_drift_by": -1}, "injected_total_drift"),
    # spoiling the first two requests of every page also spoils the re-query
    "page duplicate, twice": (
        {"page_duplicate": "transient", "transient_requests": 2}, "injected_page_duplicate"),
    "shift, persistent": ({"page_shift": "persistent", "seed": 5}, "injected_page_shift"),
    "page duplicate, persistent": ({"page_duplicate": "persistent"}, "injected_page_duplicate"),
    "total +1, persistent": ({"total_drift": "persistent"}, "injected_total_drift"),
}


@pytest.mark.parametrize("faults, injected", HEALING.values(), ids=HEALING.keys())
def test_a_fault_a_requery_heals_gives_the_clean_runs_bytes(
    sandbox: Sandbox, clean_csv: bytes, tmp_path: Path, faults: dict[str, Any], injected: str
) -> None:
    sandbox.faults(**faults)
    storage = open_storage(str(tmp_path / "store"))
    run_collect(logical_date=D, split=SPLIT, settings=collect_settings(sandbox, storage.url))
    assert sandbox.stats()[injected] > 0
    data = movies_csv(storage)
    ids = csv_ids(data)
    assert len(ids) == len(set(ids)) == 210
    assert data == clean_csv
    windows = read_manifest(storage, split=SPLIT, dt=D)["query"]["windows"]
    # the fault was noticed: a window was queried again, or narrowed
    assert len(windows) > 1 or len(windows[0]["passes"]) > 1
    assert all(w["results"] >= w["total_results"] for w in windows)
    assert windows[0]["gte"] == "2014-03-01" and windows[-1]["lte"] == "2014-08-28"


def test_a_persistent_total_drift_is_healed_by_narrower_windows(
    sandbox: Sandbox, clean_csv: bytes, tmp_path: Path
) -> None:
    """Every multi-page query disagrees with itself: only single-page windows are whole."""
    sandbox.faults(total_drift="persistent", total_drift_by=-1)
    storage = open_storage(str(tmp_path / "store"))
    run_collect(logical_date=D, split=SPLIT, settings=collect_settings(sandbox, storage.url))
    assert movies_csv(storage) == clean_csv
    windows = read_manifest(storage, split=SPLIT, dt=D)["query"]["windows"]
    assert len(windows) > 10 and all(w["total_results"] <= 20 for w in windows)


def test_a_window_that_cannot_be_completed_fails_the_run_and_writes_nothing(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """2013-01-01 holds 172 train films (9 pages); with page 1's total always off by one,
    no pass over that single day is consistent."""
    store = tmp_path / "store"
    storage = open_storage(str(store))
    settings = collect_settings(sandbox, storage.url, collect_enrich=False)
    run_collect(logical_date=D, split="train", settings=settings)
    before = partition_bytes(storage, "train")
    sandbox.faults(total_drift="persistent")
    result = run_cli("collect", "--logical-date", D.isoformat(), "--split", "all",
                     env=collect_env(sandbox, str(store), COLLECT_ENRICH="false"))
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [result.stderr.strip().splitlines()[-1]]
    assert errors[0].startswith("error: window 2013-01-01..2013-01-01 cannot be collected whole")
    assert "172 unique films" in errors[0] and "(172, 173)" in errors[0]
    assert "Traceback" not in result.stderr
    assert partition_bytes(storage, "train") == before  # the complete partition is kept
    assert list_partitions(storage, split="inference") == []  # nothing new appears
    assert storage.list("raw/inference") == []


@pytest.fixture(scope="module")
def tied_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """45 films released on one day whose titles sort as their ids do, so every order
    pages them alike, served with a persistent page-boundary duplicate from start-up."""
    films = [movie(i, "2013-02-01") for i in range(101, 146)]
    films += [movie(i, f"2013-03-{i - 199:02d}") for i in range(200, 210)]
    data = write_dataset(tmp_path_factory.mktemp("tied") / "films.jsonl", films)
    sandbox = start_sandbox(tmp_path_factory.mktemp("tied-logs"), "--dataset", str(data),
                            "--page-duplicate", "persistent")
    yield sandbox
    sandbox.stop()


def test_a_duplicate_no_order_escapes_fails_naming_the_day(
    tied_sandbox: Sandbox, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    result = run_cli("collect", "--logical-date", D.isoformat(), "--split", "train",
                     env=collect_env(tied_sandbox, str(store)))
    assert result.returncode == 1, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: window 2013-02-01..2013-02-01 cannot be collected whole: "
                           "43 unique films for 45 reported after 3 passes")
    assert list_partitions(open_storage(str(store)), split="train") == []
    assert open_storage(str(store)).list("raw/train") == []
    # the same films without the fault are collected whole
    tied_sandbox.faults(page_duplicate="off")
    try:
        result = run_cli("collect", "--logical-date", D.isoformat(), "--split", "train",
                         env=collect_env(tied_sandbox, str(store)))
    finally:
        tied_sandbox.faults(reset=True)
    assert result.returncode == 0, result.stderr
    manifest = read_manifest(open_storage(str(store)), split="train", dt=D)
    assert manifest["rows"] == 55
