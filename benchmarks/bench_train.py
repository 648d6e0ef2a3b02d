"""Training and batch-prediction cost: the whole train command against a bare LightGBM fit.

Usage (after a sandbox collect into STORAGE_URL, e.g. ``tmdb-mlops demo`` or the
commands in docs/training.md)::

    STORAGE_URL=./data .venv/bin/python benchmarks/bench_train.py --as-of 2014-03-01 \
        [--rows 100000] [--rows 1000000]

The collected films are replicated to ``--rows`` (see :func:`resample`) and
written as one processed partition into a temporary local store. Then:

1. ``tmdb-mlops train`` runs as a subprocess (wall time, and its peak RSS from
   ``getrusage(RUSAGE_CHILDREN)``): reading, validating, early stopping, the
   final fit, ridge, evaluation, bundle, registry and gate;
2. the same featurizer encodes the same training side once, and a bare
   ``LGBMRegressor.fit`` with the registered model's parameters is timed on
   that already-encoded matrix: the floor any training command pays.

3. ``pipeline.predict`` of the registered pipeline on 1,000 and 100,000 rows
   against its LightGBM model's own ``predict`` on the already-encoded matrix,
   in interleaved rounds (the ratio is taken within each round, then the median).

The ratio (1)/(2) is the overhead of everything around the fit; (3) is what
the featurizer adds to a prediction. Peak RSS is the train subprocess's own
(``getrusage(RUSAGE_CHILDREN)`` after it, the only child waited for by then).
Goals (issue #15): (1)/(2) <= 3, peak RSS < 4 GiB at 1,000,000 rows, (3) <= 2.
Figures are printed, not asserted. The RMSE of the replicated data means
little; the costs are the point.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np


def resample(films, *, rows: int, seed: int):
    """``rows`` rows made of shuffled copies of the films, each copy its own "universe".

    Copy k renames every person and company (director, cast, writers, production
    companies) with a ``#k`` suffix, so a film's duplicate never shares a name with
    it: plain resampling would put
    exact copies in other folds of the out-of-fold target encoding, leak the
    target through them and make early stopping quit after a few rounds, which
    would benchmark an unrealistically small model.
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    copies = []
    for k in range(-(-rows // len(films))):
        copy = films.iloc[rng.permutation(len(films))].copy()
        copy["director"] = copy["director"].map(lambda d, k=k: None if pd.isna(d) else f"{d} #{k}")
        for column in ("cast", "writers", "production_companies"):
            copy[column] = copy[column].map(
                lambda c, k=k: None if pd.isna(c) else "|".join(f"{n} #{k}" for n in c.split("|")))
        copies.append(copy)
    frame = pd.concat(copies, ignore_index=True).iloc[:rows].copy()
    frame["id"] = np.arange(1, rows + 1)
    return frame


def main() -> int:
    parser = argparse.ArgumentParser(description="training cost benchmark")
    parser.add_argument("--as-of", default="2014-03-01")
    parser.add_argument("--rows", type=int, action="append",
                        help="rows to resample to (repeatable; default 100,000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved predict rounds")
    args = parser.parse_args()
    sizes = sorted(args.rows or [100_000])  # ascending: RUSAGE_CHILDREN keeps the maximum
    results = [run(rows=rows, as_of=args.as_of, seed=args.seed, rounds=args.rounds)
               for rows in sizes]
    if any(result is None for result in results):
        return 1
    report([r for r in results if r is not None])
    return 0


def run(*, rows: int, as_of: str, seed: int, rounds: int) -> dict | None:
    """One size: the train command, the bare fit and the predict ratios."""
    import pandas as pd
    from lightgbm import LGBMRegressor

    from tmdb_mlops import layout
    from tmdb_mlops.config import load_settings
    from tmdb_mlops.partitions import write_partition
    from tmdb_mlops.registry import Registry
    from tmdb_mlops.schema import TARGET, columns_for
    from tmdb_mlops.storage import open_storage, storage_from_settings
    from tmdb_train.data import load_training_data
    from tmdb_train.pipeline import build_pipeline
    from tmdb_train.split import temporal_split

    settings = load_settings()
    source = load_training_data(storage_from_settings(settings), as_of=date.fromisoformat(as_of))
    frame = resample(source.frame, rows=rows, seed=seed)
    print(f"source: {len(source.frame)} collected films from {settings.storage_url}, "
          f"resampled to {rows} rows", flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        store = open_storage(str(Path(tmp) / "store"))
        buffer = io.StringIO()
        frame[list(columns_for("train"))].to_csv(buffer, index=False, lineterminator="\n")
        dt = date.fromisoformat(as_of)
        write_partition(store, split="train", dt=dt,
                        files={layout.movies_key("train", dt): buffer.getvalue().encode()},
                        manifest={"rows": rows, "source": "bench_train resample"})

        command = [str(Path(sys.executable).parent / "tmdb-mlops"), "train", "--as-of", as_of,
                   "--seed", str(seed)]
        env = {**os.environ, "STORAGE_URL": store.url, "LOG_LEVEL": "WARNING"}
        del buffer
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        whole = time.perf_counter() - started
        # The largest resident set of any child waited for so far: the train commands,
        # the largest of which is the largest size run.
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        if done.returncode != 0:
            print(done.stderr)
            return None
        print(done.stdout.strip(), flush=True)

        registry = Registry(store, signing_key=None)
        version = registry.list_versions()[-1]
        params = json.loads(store.read_bytes(layout.metadata_key(version)))["training_params"]
        lgbm_params = params["lightgbm"]
        pipeline = registry.load(version).pipeline

    train, holdout = temporal_split(frame.reset_index(drop=True),
                                    fraction=settings.train_holdout_fraction)
    del frame
    featurizer = build_pipeline(seed=seed).steps[0][1]
    started = time.perf_counter()
    X = featurizer.fit_transform(train, train[TARGET].to_numpy())
    encode = time.perf_counter() - started
    bare = build_pipeline(seed=seed, params=lgbm_params).steps[-1][1]
    assert isinstance(bare, LGBMRegressor)
    started = time.perf_counter()
    bare.fit(X, train[TARGET].to_numpy())
    fit = time.perf_counter() - started
    shape = X.shape
    del X

    predict = {}
    scoring = pd.concat([holdout, train], ignore_index=True)
    model = pipeline.steps[-1][1]
    for size in (1_000, 100_000):
        batch = scoring.iloc[:size]
        if len(batch) < size:
            continue
        encoded = pipeline.steps[0][1].transform(batch)
        np.testing.assert_array_equal(pipeline.predict(batch), model.predict(encoded))
        repeat = max(1, 20_000 // size)
        pairs = []
        for _ in range(rounds):
            whole_predict = _best(lambda b=batch: pipeline.predict(b), repeat)
            model_predict = _best(lambda e=encoded: model.predict(e), repeat)
            pairs.append((whole_predict, model_predict))
        predict[size] = {
            "pipeline_ms": statistics.median(p for p, _ in pairs) * 1e3,
            "model_ms": statistics.median(m for _, m in pairs) * 1e3,
            "ratio": statistics.median(p / m for p, m in pairs),
        }

    return {"rows": rows, "shape": shape, "rounds": lgbm_params["n_estimators"],
            "whole": whole, "encode": encode, "fit": fit, "peak_mb": peak_mb,
            "predict": predict}


def _best(fn, repeat: int) -> float:
    """The fastest of ``repeat`` calls, in seconds (a shared machine only adds time)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def report(results: list[dict]) -> None:
    print()
    print("| rows | training side x features | rounds | whole train command | encode training "
          "side once (OOF) | bare LightGBM fit | whole / bare fit | peak RSS of train |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['rows']:,} | {r['shape'][0]:,} x {r['shape'][1]} | {r['rounds']} "
              f"| {r['whole']:.1f} s | {r['encode']:.1f} s | {r['fit']:.1f} s "
              f"| {r['whole'] / r['fit']:.2f}x | {r['peak_mb']:,.0f} MiB |")
    print()
    print("| rows | predicted rows | pipeline.predict | model.predict on the encoded matrix "
          "| ratio (median of rounds) |")
    print("|---:|---:|---:|---:|---:|")
    for r in results:
        for size, p in r["predict"].items():
            print(f"| {r['rows']:,} | {size:,} | {p['pipeline_ms']:.1f} ms | "
                  f"{p['model_ms']:.1f} ms | {p['ratio']:.2f}x |")
    print()
    print("| goal | measured | met |")
    print("|---|---:|---|")
    for r in results:
        ratio = r["whole"] / r["fit"]
        print(f"| whole / bare fit at {r['rows']:,} rows <= 3x | {ratio:.2f}x | "
              f"{'yes' if ratio <= 3 else 'NO'} |")
        if r["rows"] >= 1_000_000:
            print(f"| peak RSS at {r['rows']:,} rows < 4 GiB | {r['peak_mb']:,.0f} MiB | "
                  f"{'yes' if r['peak_mb'] < 4096 else 'NO'} |")
        for size, p in r["predict"].items():
            print(f"| pipeline.predict / model.predict at {size:,} rows <= 2x "
                  f"({r['rows']:,}-row model) | {p['ratio']:.2f}x | "
                  f"{'yes' if p['ratio'] <= 2 else 'NO'} |")


if __name__ == "__main__":
    sys.exit(main())
