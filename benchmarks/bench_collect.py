"""Collector throughput against a rate-limited, slow sandbox (figures only, no assertions).

Starts ``tmdb-mlops sandbox`` with 50 ms added latency and a 40 requests/s
server-side limit (TMDB's, per client IP), then measures two things:

* ``single``: one logical date's inference split (about 210 films: 11 Discover
  pages, 210 details, the genre list) collected in this process with the
  collector's defaults (40 requests/s, 8 in flight).
* ``parallel``: four collectors at once as separate ``tmdb-mlops collect``
  processes, as a backfill runs them (two logical dates x two splits; the DAG
  runs both splits of ``max_active_runs=2`` dates side by side), all sharing one
  host budget of 40 requests/s through ``TMDB_RATE_LIMIT_DIR``. The same four
  partitions are first collected from the sandbox without latency or limit, as
  the reference every film is checked against. ``--separate`` runs the
  collectors without the shared budget instead (each at 40 requests/s: the
  behaviour before it), for comparison.

Prints the requests per second achieved as a ratio to the limit, the 429s the
server sent (``GET /admin/stats``), failed runs, and films lost against the
reference. The parallel window runs from the first request the sandbox saw to
the last (polled every 0.1 s), so process start-up is not counted.

Usage: .venv/bin/python benchmarks/bench_collect.py [--mode single|parallel|both]
       [--latency-ms 50] [--limit 40] [--collectors 4] [--separate]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.servers import free_port, stop_pid, wait_until  # noqa: E402
from tmdb_collect.collect import run_collect  # noqa: E402
from tmdb_collect.tmdb_client import TMDBClient  # noqa: E402
from tmdb_mlops import layout  # noqa: E402
from tmdb_mlops.config import load_settings  # noqa: E402
from tmdb_mlops.partitions import read_manifest  # noqa: E402
from tmdb_mlops.storage import open_storage  # noqa: E402

TMDB_MLOPS = str(Path(sys.executable).parent / "tmdb-mlops")
#: Inherited variables the collector subprocesses must not see (a developer's
#: shell or .env): the benchmark sets every one it needs.
OWN_PREFIXES = ("TMDB_", "STORAGE_", "S3_", "COLLECT_", "AWS_", "LOG_LEVEL")


class Sandbox:
    """The benchmark's sandbox and its admin endpoints."""

    def __init__(self, *, latency_ms: float, limit: float) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        port = self.url.rsplit(":", 1)[1]
        self.proc = subprocess.Popen(
            [TMDB_MLOPS, "sandbox", "--port", port, "--latency-ms", str(latency_ms),
             "--rate-limit", str(limit), "--log-level", "WARNING"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        wait_until(lambda: requests.get(f"{self.url}/health", timeout=2).ok, timeout=90,
                   what="sandbox")

    @property
    def base_url(self) -> str:
        return f"{self.url}/3"

    def faults(self, **changes: Any) -> None:
        requests.put(f"{self.url}/admin/faults", json=changes, timeout=5).raise_for_status()

    def stats(self) -> dict[str, int]:
        return requests.get(f"{self.url}/admin/stats", timeout=5).json()

    def fresh(self) -> None:
        """The start-up faults again (latency, limit), zeroed stats, a full server bucket."""
        self.faults(reset=True)
        requests.post(f"{self.url}/admin/stats/reset", timeout=5).raise_for_status()
        time.sleep(1.5)  # as after any idle second

    def stop(self) -> None:
        stop_pid(self.proc)


def bench_single(sandbox: Sandbox, args: argparse.Namespace) -> None:
    """One collector in this process: the client's own limiter against the server's."""
    sandbox.fresh()
    with tempfile.TemporaryDirectory() as store:
        settings = load_settings(
            tmdb_base_url=sandbox.base_url, tmdb_api_key="bench", storage_url=store,
            tmdb_rate_limit=args.limit, tmdb_concurrency=args.concurrency, log_level="WARNING",
        )
        client = TMDBClient.from_settings(settings)
        dt = date.fromisoformat(args.logical_date)
        started = time.monotonic()
        run_collect(logical_date=dt, split="inference", settings=settings, client=client)
        elapsed = time.monotonic() - started
        manifest = read_manifest(open_storage(store), split="inference", dt=dt)
    server = sandbox.stats()
    stats = client.stats
    ok = stats["status_200"]
    films = sum(w["total_results"] for w in manifest["query"]["windows"])
    rate = ok / elapsed
    lost = films - manifest["rows"] - manifest["rejected"]["count"]
    print(f"== single: one collector, inference dt={dt}")
    print(f"sandbox: {args.latency_ms:g} ms latency, {args.limit:g} req/s server limit; "
          f"client: {args.limit:g} req/s, {args.concurrency} in flight")
    print(f"requests answered 200: {ok} (discover+genres {ok - server.get('ok_details', 0)}, "
          f"details {server.get('ok_details', 0)}) in {elapsed:.2f} s")
    print(f"throughput: {rate:.1f} req/s = {rate / args.limit:.1%} of the allowed {args.limit:g}")
    print(f"429s sent by the server: {server.get('status_429', 0)}; client retries: "
          f"{stats['retries']}")
    print(f"films reported {films}, collected {manifest['rows']}, rejected "
          f"{manifest['rejected']['count']}, lost {lost}")


def partitions(end: date, count: int) -> list[tuple[date, str]]:
    """What ``count`` parallel collectors of a backfill collect: both splits of each date."""
    days = (count + 1) // 2
    return [(end - timedelta(days=back), split)
            for back in range(days - 1, -1, -1) for split in layout.SPLITS][:count]


def film_ids(store: str, dt: date, split: str) -> set[int] | None:
    storage = open_storage(store)
    key = layout.movies_key(split, dt)
    if not storage.exists(key):
        return None
    rows = csv.DictReader(io.StringIO(storage.read_bytes(key).decode("utf-8")))
    return {int(row["id"]) for row in rows}


def reference(sandbox: Sandbox, jobs: list[tuple[date, str]], store: str) -> None:
    """The same partitions from the sandbox without latency or limit: the films expected."""
    sandbox.faults(latency_ms=0, rate_limit=1_000_000)
    settings = load_settings(tmdb_base_url=sandbox.base_url, tmdb_api_key="bench",
                             storage_url=store, tmdb_rate_limit=2000, tmdb_concurrency=16,
                             log_level="WARNING")
    for dt, split in jobs:
        run_collect(logical_date=dt, split=split, settings=settings)


class Watch(threading.Thread):
    """Polls the sandbox's request count: the window from its first to its last request."""

    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__(daemon=True)
        self.sandbox = sandbox
        self.first: float | None = None
        self.last: float | None = None
        self.stopping = threading.Event()

    def run(self) -> None:
        seen = 0
        while not self.stopping.is_set():
            before = time.monotonic()
            count = self.sandbox.stats().get("requests", 0)
            if count and self.first is None:
                self.first = before
            if count != seen:
                seen, self.last = count, time.monotonic()
            self.stopping.wait(0.1)


def bench_parallel(sandbox: Sandbox, args: argparse.Namespace) -> None:
    """Several ``tmdb-mlops collect`` processes at once, sharing (or not) one host budget."""
    jobs = partitions(date.fromisoformat(args.logical_date), args.collectors)
    with tempfile.TemporaryDirectory() as work:
        ref_store, store, budget = (str(Path(work) / name) for name in ("ref", "store", "budget"))
        reference(sandbox, jobs, ref_store)
        sandbox.fresh()
        env = {k: v for k, v in os.environ.items() if not k.startswith(OWN_PREFIXES)}
        env.update({
            "TMDB_BASE_URL": sandbox.base_url, "TMDB_API_KEY": "bench", "STORAGE_URL": store,
            "TMDB_RATE_LIMIT": f"{args.limit:g}", "TMDB_CONCURRENCY": str(args.concurrency),
            "LOG_LEVEL": "WARNING",
        })
        if not args.separate:
            env["TMDB_RATE_LIMIT_DIR"] = budget
        watch = Watch(sandbox)
        watch.start()
        procs = [
            subprocess.Popen([TMDB_MLOPS, "collect", "--logical-date", dt.isoformat(),
                              "--split", split], env=env, cwd=work, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
            for dt, split in jobs
        ]
        errors = [proc.communicate(timeout=1800)[1] for proc in procs]
        time.sleep(0.3)  # one more poll after the last answer
        watch.stopping.set()
        watch.join()
        server = sandbox.stats()
        failed = [(job, err) for job, proc, err in zip(jobs, procs, errors, strict=True)
                  if proc.returncode != 0]
        expected = lost = extra = 0
        rows: list[str] = []
        for dt, split in jobs:
            want = film_ids(ref_store, dt, split) or set()
            got = film_ids(store, dt, split)
            expected += len(want)
            lost += len(want - (got or set()))
            extra += len((got or set()) - want)
            rows.append(f"{split} dt={dt}: {len(got) if got is not None else 'not written'}"
                        f"/{len(want)}")

    ok = server.get("status_200", 0)
    window = (watch.last or 0) - (watch.first or 0)
    rate = ok / window if window > 0 else 0.0
    budget_line = ("no shared budget: each collector at its own "
                   f"{args.limit:g} req/s" if args.separate else
                   f"one host budget of {args.limit:g} req/s shared through TMDB_RATE_LIMIT_DIR")
    print(f"== parallel: {len(jobs)} collectors as processes, {budget_line}")
    print(f"sandbox: {args.latency_ms:g} ms latency, {args.limit:g} req/s server limit; "
          f"each collector {args.concurrency} in flight")
    print(f"partitions (films collected/reference): {'; '.join(rows)}")
    print(f"requests answered 200: {ok} of {server.get('requests', 0)} sent, in {window:.2f} s "
          "(first to last request at the sandbox)")
    print(f"aggregate throughput: {rate:.1f} req/s = {rate / args.limit:.1%} of the server's "
          f"limit of {args.limit:g}")
    print(f"429s sent by the server: {server.get('status_429', 0)} "
          f"({server.get('status_429', 0) / max(1, server.get('requests', 0)):.1%} of requests)")
    print(f"failed runs: {len(failed)} of {len(jobs)}; lost films: {lost} of {expected} "
          f"(against the reference; {extra} unexpected)")
    for (dt, split), err in failed:
        last = [line for line in err.splitlines() if line.startswith("error:")]
        print(f"  failed {split} dt={dt}: {last[-1] if last else err.strip()[-200:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["single", "parallel", "both"], default="both")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--limit", type=float, default=40.0, help="server and client req/s")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--logical-date", default="2014-03-01")
    parser.add_argument("--collectors", type=int, default=4, help="parallel collectors")
    parser.add_argument("--separate", action="store_true",
                        help="parallel collectors without the shared budget (for comparison)")
    args = parser.parse_args()

    sandbox = Sandbox(latency_ms=args.latency_ms, limit=args.limit)
    try:
        if args.mode in ("single", "both"):
            bench_single(sandbox, args)
        if args.mode in ("parallel", "both"):
            bench_parallel(sandbox, args)
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
