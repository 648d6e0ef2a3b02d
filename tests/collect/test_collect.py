"""The collector end to end over HTTP: partitions, idempotency, no leakage, failures.

Most tests collect D=2014-03-01 with a short history (2012 onwards in two
slices, so D collects 2013 up to its settling date, about 330 films) plus
the inference window (about 210 films) from the session's sandbox.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import date
from pathlib import Path

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
from tests.conftest import s3_store
from tests.servers import free_port
from tmdb_collect.collect import run_collect
from tmdb_mlops import layout
from tmdb_mlops.partitions import list_partitions, read_manifest, read_verified
from tmdb_mlops.schema import POST_RELEASE_COLUMNS, SCHEMA_VERSION, columns_for
from tmdb_mlops.storage import Storage, open_storage

pytestmark = pytest.mark.integration

D = date(2014, 3, 1)


def csv_rows(storage: Storage, split: str, dt: date = D) -> list[dict[str, str]]:
    manifest = read_manifest(storage, split=split, dt=dt)
    data = read_verified(storage, layout.movies_key(split, dt), manifest)
    return list(csv.DictReader(io.StringIO(data.decode())))


def partition_bytes(storage: Storage, split: str, dt: date = D) -> dict[str, bytes]:
    keys = storage.list(layout.raw_prefix(split, dt)) + storage.list(
        layout.processed_prefix(split, dt))
    return {key: storage.read_bytes(key) for key in keys}


def check_both_partitions(storage: Storage, sandbox: Sandbox) -> None:
    assert list_partitions(storage, split="train") == [D]
    assert list_partitions(storage, split="inference") == [D]
    train, inference = csv_rows(storage, "train"), csv_rows(storage, "inference")
    assert len(train) > 200 and len(inference) > 100
    assert list(train[0]) == list(columns_for("train"))
    assert list(inference[0]) == list(columns_for("inference"))
    assert not set(POST_RELEASE_COLUMNS) & set(inference[0])
    assert not {r["id"] for r in train} & {r["id"] for r in inference}
    assert all(r["release_date"] <= "2013-09-01" and int(r["vote_count"]) >= 20 for r in train)
    assert all("2014-03-01" <= r["release_date"] <= "2014-08-28" for r in inference)
    ids = [int(r["id"]) for r in train]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    manifest = read_manifest(storage, split="train", dt=D)
    assert manifest["rows"] == len(train)
    assert manifest["schema_version"] == SCHEMA_VERSION
    assert manifest["source"] == sandbox.base_url
    assert manifest["query"]["requested_windows"] == ["2013-01-01..2013-09-01"]
    assert manifest["rejected"]["count"] == 0
    assert sandbox.api_key not in json.dumps(manifest)
    raw = storage.read_bytes(f"{layout.raw_prefix('train', D)}/details.jsonl.gz")
    lines = [json.loads(line) for line in gzip.decompress(raw).splitlines()]
    assert len(lines) == len(train)
    assert all({"credits", "release_dates"} <= set(line["response"]) for line in lines)
    # the sandbox's films carry writers, companies and a certification where the source does
    for column in ("writers", "production_companies", "certification"):
        assert sum(bool(r[column]) for r in train) > len(train) / 10, column


def test_collects_both_splits_into_the_local_store(sandbox: Sandbox, tmp_path: Path) -> None:
    storage = open_storage(str(tmp_path / "store"))
    run_collect(logical_date=D, split="all", settings=collect_settings(sandbox, storage.url))
    check_both_partitions(storage, sandbox)


def test_collects_both_splits_into_s3(sandbox: Sandbox, s3_env: dict[str, str],
                                      moto_endpoint: str) -> None:
    result = run_cli("collect", "--logical-date", D.isoformat(), "--split", "all",
                     env=collect_env(sandbox, s3_env["STORAGE_URL"]))
    assert result.returncode == 0, result.stderr
    bucket = s3_env["STORAGE_URL"].removeprefix("s3://").split("/")[0]
    check_both_partitions(s3_store(moto_endpoint, bucket), sandbox)
    # not a terminal: plain log lines, no progress bar
    assert "details:" in result.stderr and "\r" not in result.stderr
    assert sandbox.api_key not in result.stderr


def test_rerunning_a_date_gives_identical_bytes_and_leaves_other_dates(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    storage = open_storage(str(tmp_path / "store"))
    settings = collect_settings(sandbox, storage.url)
    other = date(2014, 3, 2)
    run_collect(logical_date=other, split="train", settings=settings)
    other_before = partition_bytes(storage, "train", other)
    run_collect(logical_date=D, split="all", settings=settings)
    first = {s: partition_bytes(storage, s) for s in ("train", "inference")}
    run_collect(logical_date=D, split="all", settings=settings)
    assert {s: partition_bytes(storage, s) for s in ("train", "inference")} == first
    assert partition_bytes(storage, "train", other) == other_before
    # the neighbouring date collected the other slice of the history
    assert read_manifest(storage, split="train", dt=other)["query"]["requested_windows"] == [
        "2012-01-01..2012-12-31"]


def test_windows_above_the_cap_are_bisected_and_collected_whole(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    whole = open_storage(str(tmp_path / "whole"))
    run_collect(logical_date=D, split="train",
                settings=collect_settings(sandbox, whole.url, collect_enrich=False))
    # 180 results a query: the 2013 window must be split (172 of its films are dated
    # 1 January, the source's "day unknown", so a smaller cap could not hold that day)
    sandbox.faults(max_page=9)
    bisected = open_storage(str(tmp_path / "bisected"))
    run_collect(logical_date=D, split="train",
                settings=collect_settings(sandbox, bisected.url, collect_enrich=False,
                                          tmdb_max_pages=9))
    windows = read_manifest(bisected, split="train", dt=D)["query"]["windows"]
    assert len(windows) >= 3 and all(w["total_results"] <= 180 for w in windows)
    assert all(w["results"] == w["total_results"] for w in windows)
    assert windows[0]["gte"] == "2013-01-01" and windows[-1]["lte"] == "2013-09-01"
    for before, after in zip(windows, windows[1:], strict=False):
        assert date.fromisoformat(after["gte"]).toordinal() == (
            date.fromisoformat(before["lte"]).toordinal() + 1)
    key = layout.movies_key("train", D)
    assert bisected.read_bytes(key) == whole.read_bytes(key)


def test_an_empty_window_writes_an_empty_partition(sandbox: Sandbox, tmp_path: Path) -> None:
    storage = open_storage(str(tmp_path / "store"))
    later = date(2020, 1, 1)  # the sandbox's films end in 2014
    run_collect(logical_date=later, split="inference",
                settings=collect_settings(sandbox, storage.url))
    manifest = read_manifest(storage, split="inference", dt=later)
    assert manifest["rows"] == 0 and manifest["query"]["windows"][0]["total_results"] == 0
    assert csv_rows(storage, "inference", later) == []


def test_collection_survives_429s_5xx_and_timeouts(sandbox: Sandbox, tmp_path: Path) -> None:
    clean = open_storage(str(tmp_path / "clean"))
    run_collect(logical_date=D, split="inference", settings=collect_settings(sandbox, clean.url))
    sandbox.faults(fail_429_rate=0.05, fail_5xx_rate=0.05, malformed_rate=0.02, next_hang=2,
                   hang_seconds=3, retry_after=1, seed=3)
    faulty = open_storage(str(tmp_path / "faulty"))
    run_collect(logical_date=D, split="inference",
                settings=collect_settings(sandbox, faulty.url, tmdb_timeout_seconds=1,
                                          tmdb_max_retries=8))
    stats = sandbox.stats()
    assert stats["injected_429"] > 0 and stats["injected_5xx"] > 0 and stats["injected_hang"] == 2
    key = layout.movies_key("inference", D)
    assert faulty.read_bytes(key) == clean.read_bytes(key)


def test_a_bad_key_exits_1_with_one_line_and_no_manifest(sandbox: Sandbox, tmp_path: Path) -> None:
    store = tmp_path / "store"
    result = run_cli("collect", "--logical-date", D.isoformat(), "--split", "all",
                     env=collect_env(sandbox, str(store), TMDB_API_KEY="wrong-key-4567"))
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "HTTP 401" in errors[0]
    assert "Traceback" not in result.stderr and "wrong-key-4567" not in result.stderr
    assert list_partitions(open_storage(str(store)), split="train") == []


def test_a_failure_mid_run_leaves_no_new_manifest_and_keeps_the_old_one(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    storage = open_storage(str(store))
    settings = collect_settings(sandbox, storage.url)
    run_collect(logical_date=D, split="inference", settings=settings)
    before = partition_bytes(storage, "inference")
    sandbox.faults(fail_5xx_rate=1.0, target="details")  # Discover works, details never do
    result = run_cli("collect", "--logical-date", D.isoformat(), "--split", "all",
                     env=collect_env(sandbox, str(store), TMDB_MAX_RETRIES="1"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: GET /movie/")
    assert list_partitions(storage, split="train") == []
    assert storage.list("raw/train") == []
    assert partition_bytes(storage, "inference") == before


def test_unreachable_tmdb_and_storage_fail_with_one_line(sandbox: Sandbox, tmp_path: Path) -> None:
    down = run_cli("collect", "--logical-date", D.isoformat(), "--split", "train",
                   env=collect_env(sandbox, str(tmp_path / "s"), TMDB_MAX_RETRIES="1",
                                   TMDB_BASE_URL=f"http://127.0.0.1:{free_port()}/3"))
    assert down.returncode == 1 and "cannot connect" in down.stderr.splitlines()[-1]
    no_store = run_cli("collect", "--logical-date", D.isoformat(), "--split", "train",
                       env=collect_env(sandbox, "s3://missing-bucket/x",
                                       S3_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}",
                                       AWS_ACCESS_KEY_ID="a", AWS_SECRET_ACCESS_KEY="b"))
    assert no_store.returncode == 1
    assert no_store.stderr.strip().splitlines()[-1].startswith("error: s3://missing-bucket/x")
    bad_date = run_cli("collect", "--logical-date", "2014-02-30", env=collect_env(sandbox, "s"))
    assert bad_date.returncode == 1 and "--logical-date must be a date YYYY-MM-DD" in bad_date.stderr


@pytest.fixture(scope="module")
def odd_sandbox(tmp_path_factory: pytest.TempPathFactory):
    """Films of 2013 where half carry an impossible rating, plus an adult title."""
    films = [movie(i, f"2013-02-{1 + i % 28:02d}") for i in range(1, 41)]
    films += [movie(100 + i, "2013-03-01", vote_average=11.5) for i in range(40)]
    films += [movie(500, "2013-04-01", adult=True)]
    data = write_dataset(tmp_path_factory.mktemp("odd") / "films.jsonl", films)
    sandbox = start_sandbox(tmp_path_factory.mktemp("odd-logs"), "--dataset", str(data))
    yield sandbox
    sandbox.stop()


def test_too_many_rejected_rows_fail_the_run(odd_sandbox: Sandbox, tmp_path: Path) -> None:
    store = tmp_path / "store"
    result = run_cli("collect", "--logical-date", D.isoformat(), "--split", "train",
                     env=collect_env(odd_sandbox, str(store)))
    assert result.returncode == 1
    assert "40 of 80 rows rejected" in result.stderr and "vote_average" in result.stderr
    assert list_partitions(open_storage(str(store)), split="train") == []
    # with a tolerant threshold the good half is written and the rejects are recorded
    result = run_cli("collect", "--logical-date", D.isoformat(), "--split", "train",
                     env=collect_env(odd_sandbox, str(store), COLLECT_MAX_REJECT_FRACTION="0.6"))
    assert result.returncode == 0, result.stderr
    manifest = read_manifest(open_storage(str(store)), split="train", dt=D)
    assert manifest["rows"] == 40 and manifest["rejected"]["count"] == 40
    assert len(manifest["rejected"]["rows"]) == 40
    # a user's dataset without writers, companies or release dates gives empty cells
    rows = csv_rows(open_storage(str(store)), "train")
    assert {(r["writers"], r["production_companies"], r["certification"]) for r in rows} == {
        ("", "", "")}


def test_a_window_above_10000_films_is_collected_whole(tmp_path: Path) -> None:
    """The real cap: 10,050 films in one year need two windows of at most 500 pages."""
    films = [movie(i, f"2005-{1 + i % 12:02d}-{1 + i % 28:02d}") for i in range(1, 10_051)]
    data = write_dataset(tmp_path / "many.jsonl", films)
    big = start_sandbox(tmp_path / "logs", "--dataset", str(data))
    try:
        storage = open_storage(str(tmp_path / "store"))
        settings = collect_settings(big, storage.url, collect_history_start=date(2005, 1, 1),
                                    collect_slices=1, collect_enrich=False,
                                    tmdb_concurrency=16)
        run_collect(logical_date=date(2006, 12, 1), split="train", settings=settings)
    finally:
        big.stop()
    manifest = read_manifest(storage, split="train", dt=date(2006, 12, 1))
    windows = manifest["query"]["windows"]
    assert manifest["rows"] == 10_050
    assert sum(w["total_results"] for w in windows) == 10_050
    assert all(w["pages"] <= 500 for w in windows) and len(windows) >= 3  # 2005 split + 2006
