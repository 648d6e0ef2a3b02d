"""Collector throughput against a rate-limited, slow sandbox (figures only, no assertions).

Starts ``tmdb-mlops sandbox`` with 50 ms added latency and a 40 requests/s
server-side limit (TMDB's), then collects one logical date's inference split
(about 210 films: 11 Discover pages, 210 details, the genre list) with the
collector's defaults (40 requests/s client-side, 8 in flight). Prints the
requests per second achieved as a ratio to the 40 allowed, the 429s the server
sent, and whether every film was collected (no request lost).

Usage: .venv/bin/python benchmarks/bench_collect.py [--latency-ms 50] [--limit 40]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.servers import free_port, stop_pid, wait_until  # noqa: E402
from tmdb_collect.collect import run_collect  # noqa: E402
from tmdb_collect.tmdb_client import TMDBClient  # noqa: E402
from tmdb_mlops.config import load_settings  # noqa: E402
from tmdb_mlops.partitions import read_manifest  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--limit", type=float, default=40.0, help="server and client req/s")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--logical-date", default="2014-03-01")
    args = parser.parse_args()

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    sandbox = subprocess.Popen(
        [str(Path(sys.executable).parent / "tmdb-mlops"), "sandbox", "--port", str(port),
         "--latency-ms", str(args.latency_ms), "--rate-limit", str(args.limit),
         "--log-level", "WARNING"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    try:
        wait_until(lambda: requests.get(f"{url}/health", timeout=2).ok, timeout=90,
                   what="sandbox")
        time.sleep(1.5)  # let the server's token bucket fill, as after any idle second
        with tempfile.TemporaryDirectory() as store:
            settings = load_settings(
                tmdb_base_url=f"{url}/3", tmdb_api_key="bench", storage_url=store,
                tmdb_rate_limit=args.limit, tmdb_concurrency=args.concurrency,
                log_level="WARNING",
            )
            client = TMDBClient.from_settings(settings)
            dt = date.fromisoformat(args.logical_date)
            started = time.monotonic()
            run_collect(logical_date=dt, split="inference", settings=settings, client=client)
            elapsed = time.monotonic() - started
            from tmdb_mlops.storage import open_storage

            manifest = read_manifest(open_storage(store), split="inference", dt=dt)
        server = requests.get(f"{url}/admin/stats", timeout=5).json()
    finally:
        stop_pid(sandbox)

    stats = client.stats
    ok = stats["status_200"]
    films = sum(w["total_results"] for w in manifest["query"]["windows"])
    rate = ok / elapsed
    lost = films - manifest["rows"] - manifest["rejected"]["count"]
    print(f"sandbox: {args.latency_ms:g} ms latency, {args.limit:g} req/s server limit; "
          f"client: {args.limit:g} req/s, {args.concurrency} in flight")
    print(f"requests answered 200: {ok} (discover+genres {ok - server.get('ok_details', 0)}, "
          f"details {server.get('ok_details', 0)}) in {elapsed:.2f} s")
    print(f"throughput: {rate:.1f} req/s = {rate / args.limit:.1%} of the allowed {args.limit:g}")
    print(f"429s sent by the server: {server.get('status_429', 0)}; client retries: "
          f"{stats['retries']}")
    print(f"films reported {films}, collected {manifest['rows']}, rejected "
          f"{manifest['rejected']['count']}, lost {lost}")


if __name__ == "__main__":
    main()
