"""The monitor's cost per 100,000 predictions joined with outcomes, at 10k, 100k and 1M predictions.

Usage::

    .venv/bin/python benchmarks/bench_monitor.py [--sizes 10000,100000,1000000] [--dates 50]

For each size N a temporary local store is filled as a long-running platform
would have it: a champion trained by the real trainer on 2,000 synthetic films
(so it carries a real drift reference), ``--dates`` daily inference partitions
and as many predictions folders holding N predictions in all (each film is
predicted on ~5 dates, as the 180-day window makes it), and an outcomes
partition with the settled ratings of the films that matured by the monitoring
date (about half). Then ``tmdb_monitor.report.build_report`` (everything the
``monitor`` command does but the interpreter's start-up and the final write) is
timed, and so are its two big parts alone: the join with the realized and
estimated figures, and the drift of every inference partition. The figures are
printed, not asserted: time per 100,000 predictions at each size, and its ratio
to the 100,000 figure (1.0 = linear).
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the synthetic films of the tests

AS_OF = date(2014, 3, 1)


def _csv(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode()


def fill_store(root: Path, *, size: int, dates: int, seed: int = 0) -> tuple[object, date]:
    """A champion, ``dates`` inference and predictions partitions (``size`` rows), the outcomes."""
    from tests.train.synthetic import synthetic_movies, write_train_partition
    from tmdb_mlops import layout
    from tmdb_mlops.config import load_settings
    from tmdb_mlops.partitions import write_folder, write_partition
    from tmdb_mlops.predictions import PREDICTION_COLUMNS
    from tmdb_mlops.schema import columns_for
    from tmdb_mlops.storage import open_storage
    from tmdb_train.run import train

    store = open_storage(str(root))
    settings = load_settings(storage_url=store.url)
    history = synthetic_movies(2000, seed=seed, first_id=100_000)
    write_train_partition(store, history[history["release_date"] < "2013-09-01"], AS_OF)
    version = train(settings, as_of=AS_OF, storage=store).version

    rng = np.random.default_rng(seed)
    per_date = size // dates
    films = per_date * (dates + 4) // 5 + per_date  # each film in ~5 partitions
    pool = synthetic_movies(min(films, 20_000), seed=seed + 1, first_id=100_000)
    pool = pool.iloc[rng.integers(0, len(pool), size=films)].reset_index(drop=True)
    pool["id"] = np.arange(1_000_000, 1_000_000 + films)
    first_day = AS_OF
    monitor_on = first_day + timedelta(days=dates + 200)
    # Release dates: over the window of the first dates, so about half have settled.
    offsets = np.sort(rng.integers(0, dates + 180, size=films))
    pool["release_date"] = [(first_day + timedelta(days=int(k))).isoformat() for k in offsets]
    inference_columns = list(columns_for("inference"))
    for d in range(dates):
        day = first_day + timedelta(days=d)
        start = d * per_date // 5
        rows = pool.iloc[start:start + per_date]
        write_partition(store, split="inference", dt=day,
                        files={layout.movies_key("inference", day): _csv(rows[inference_columns])},
                        manifest={"rows": len(rows), "source": "benchmark", "schema_version": 2})
        released = pd.to_datetime(rows["release_date"])
        predictions = pd.DataFrame({
            "id": rows["id"], "title": rows["title"], "release_date": rows["release_date"],
            "genres": rows["genres"], "logical_date": day.isoformat(),
            "horizon_days": (released - pd.Timestamp(day)).dt.days,
            "model_version": version,
            "prediction": np.clip(rows["vote_average"] + rng.normal(0, 1, len(rows)), 0, 10).round(6),
            "clamped": 0,
            "est_abs_error": rng.uniform(0.5, 1.2, len(rows)).round(6),
            "est_squared_error": rng.uniform(0.4, 1.6, len(rows)).round(6),
        })[list(PREDICTION_COLUMNS)]
        folder = layout.predictions_prefix(day, version)
        write_folder(store, folder=folder, files={layout.predictions_key(day, version): _csv(predictions)},
                     manifest={"stage": "benchmark", "rows": len(predictions)})
    settled = pool[pool["release_date"] <= (monitor_on - timedelta(days=180)).isoformat()]
    settled = settled.drop_duplicates("id")
    outcomes = settled[["id", "release_date", "vote_average", "vote_count", "popularity"]]
    write_partition(store, split="outcomes", dt=monitor_on,
                    files={layout.movies_key("outcomes", monitor_on): _csv(outcomes)},
                    manifest={"rows": len(outcomes), "source": "benchmark"})
    return store, monitor_on


def timed(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description="monitor cost benchmark")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--dates", type=int, default=50)
    args = parser.parse_args()

    import logging

    logging.disable(logging.WARNING)
    from tmdb_mlops.config import load_settings
    from tmdb_mlops.registry import Registry
    from tmdb_monitor.drift import drift_section
    from tmdb_monitor.estimate import partition_quality
    from tmdb_monitor.join import joined
    from tmdb_monitor.realized import version_quality
    from tmdb_monitor.report import build_report

    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="bench-monitor-") as tmp:
            started = time.perf_counter()
            store, monitor_on = fill_store(Path(tmp) / "store", size=size, dates=args.dates)
            setup = time.perf_counter() - started
            settings = load_settings(storage_url=store.url)
            repeats = 3 if size <= 100_000 else 1
            registry = Registry(store, signing_key=None)
            champion = registry.champion()
            metadata, metrics = registry.metadata(champion), registry.metrics(champion)

            def join_and_score(store=store, monitor_on=monitor_on, settings=settings,
                               champion=champion, metadata=metadata, metrics=metrics):
                data = joined(store, logical_date=monitor_on, settle_days=settings.collect_settle_days,
                              min_votes=settings.collect_min_votes)
                version_quality(data.frame, version=champion, champion=True, metrics=metrics,
                                metadata=metadata)
                partition_quality(data.frame, holdout_rmse={champion: metrics["model"]["rmse"]})
                return data

            data = join_and_score()
            predictions = len(data.frame)
            scored = int(data.frame["scored"].sum())
            whole = timed(lambda store=store, monitor_on=monitor_on, settings=settings: build_report(
                settings, logical_date=monitor_on, storage=store), repeats)
            part_join = timed(join_and_score, repeats)
            part_drift = timed(lambda store=store, data=data, monitor_on=monitor_on, settings=settings,
                               champion=champion, metadata=metadata: drift_section(
                store, champion=champion, metadata=metadata, logical_date=monitor_on,
                settings=settings, predictions=data.frame), repeats)
            rows.append((predictions, scored, setup, whole, part_join, part_drift))
            print(f"  {predictions:>9,} predictions ({scored:,} scored, {args.dates} dates): monitor "
                  f"{whole:.2f} s (join+realized {part_join:.2f} s, drift {part_drift:.2f} s); "
                  f"store filled in {setup:.0f} s", flush=True)

    print()
    print("| predictions | scored | whole monitor | per 100,000 | ratio to 100k | join + realized "
          "per 100k | drift per 100k |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    base = next((r for r in rows if r[0] == 100_000), rows[len(rows) // 2])
    base_per = base[3] / base[0] * 100_000
    for predictions, scored, _, whole, part_join, part_drift in rows:
        per = whole / predictions * 100_000
        print(f"| {predictions:,} | {scored:,} | {whole:.2f} s | {per:.2f} s | {per / base_per:.2f} | "
              f"{part_join / predictions * 100_000:.2f} s | {part_drift / predictions * 100_000:.2f} s |")
    if len(rows) >= 2:
        growth = [(b[3] / a[3]) / (b[0] / a[0]) for a, b in zip(rows, rows[1:], strict=False)]
        shown = ", ".join(f"{g:.2f}" for g in growth)
        print(f"\ntime growth / size growth between consecutive sizes: {shown} "
              f"(1.0 = linear, below 1 = a fixed cost still showing; median "
              f"{statistics.median(growth):.2f})")
        marginal = [(b[3] - a[3]) / (b[0] - a[0]) * 100_000 for a, b in zip(rows, rows[1:], strict=False)]
        print("marginal cost per 100,000 more predictions between consecutive sizes: "
              + ", ".join(f"{m:.2f} s" for m in marginal)
              + f"; fixed cost (the {args.dates} partitions, the registry): "
              f"{rows[0][3] - marginal[0] * rows[0][0] / 100_000:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
