"""Training cost at 100,000 rows: the whole train command against a bare LightGBM fit.

Usage (after a sandbox collect into STORAGE_URL, e.g. ``tmdb-mlops demo`` or the
commands in docs/training.md)::

    STORAGE_URL=./data .venv/bin/python benchmarks/bench_train.py --as-of 2014-03-01

The collected films are replicated to ``--rows`` (see :func:`resample`) and
written as one processed partition into a temporary local store. Then:

1. ``tmdb-mlops train`` runs as a subprocess (wall time, and its peak RSS from
   ``getrusage(RUSAGE_CHILDREN)``): reading, validating, early stopping, the
   final fit, ridge, evaluation, bundle, registry and gate;
2. the same featurizer encodes the same training side once, and a bare
   ``LGBMRegressor.fit`` with the registered model's parameters is timed on
   that already-encoded matrix: the floor any training command pays.

The ratio (1)/(2) is the overhead of everything around the fit. Figures are
printed, not asserted. The RMSE of the replicated data means little; the
costs are the point.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np


def resample(films, *, rows: int, seed: int):
    """``rows`` rows made of shuffled copies of the films, each copy its own "universe".

    Copy k renames every person (director, cast) with a ``#k`` suffix, so a
    film's duplicate never shares a director with it: plain resampling would put
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
        copy["cast"] = copy["cast"].map(
            lambda c, k=k: None if pd.isna(c) else "|".join(f"{n} #{k}" for n in c.split("|")))
        copies.append(copy)
    frame = pd.concat(copies, ignore_index=True).iloc[:rows].copy()
    frame["id"] = np.arange(1, rows + 1)
    return frame


def main() -> int:
    parser = argparse.ArgumentParser(description="training cost benchmark")
    parser.add_argument("--as-of", default="2014-03-01")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

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
    source = load_training_data(storage_from_settings(settings), as_of=date.fromisoformat(args.as_of))
    frame = resample(source.frame, rows=args.rows, seed=args.seed)
    print(f"source: {len(source.frame)} collected films from {settings.storage_url}, "
          f"resampled to {args.rows} rows")

    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        store = open_storage(str(Path(tmp) / "store"))
        buffer = io.StringIO()
        frame[list(columns_for("train"))].to_csv(buffer, index=False, lineterminator="\n")
        dt = date.fromisoformat(args.as_of)
        write_partition(store, split="train", dt=dt,
                        files={layout.movies_key("train", dt): buffer.getvalue().encode()},
                        manifest={"rows": args.rows, "source": "bench_train resample"})

        command = [str(Path(sys.executable).parent / "tmdb-mlops"), "train", "--as-of", args.as_of,
                   "--seed", str(args.seed)]
        env = {**os.environ, "STORAGE_URL": store.url, "LOG_LEVEL": "WARNING"}
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        whole = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        if done.returncode != 0:
            print(done.stderr)
            return 1
        print(done.stdout.strip())

        registry = Registry(store, signing_key=None)
        version = registry.list_versions()[-1]
        params = json.loads(store.read_bytes(layout.metadata_key(version)))["training_params"]
        lgbm_params = params["lightgbm"]

        train, _ = temporal_split(frame.reset_index(drop=True),
                                  fraction=settings.train_holdout_fraction)
        featurizer = build_pipeline(seed=args.seed).steps[0][1]
        started = time.perf_counter()
        X = featurizer.fit_transform(train, train[TARGET].to_numpy())
        encode = time.perf_counter() - started
        bare = build_pipeline(seed=args.seed, params=lgbm_params).steps[-1][1]
        assert isinstance(bare, LGBMRegressor)
        started = time.perf_counter()
        bare.fit(X, train[TARGET].to_numpy())
        fit = time.perf_counter() - started

    print()
    print(f"rows                         {args.rows:>10,}")
    print(f"training side x features     {X.shape[0]:>10,} x {X.shape[1]}")
    print(f"boosting rounds (chosen)     {lgbm_params['n_estimators']:>10}")
    print(f"whole train command          {whole:>10.1f} s  (subprocess, incl. interpreter start)")
    print(f"encode training side once    {encode:>10.1f} s  (featurizer.fit_transform, OOF)")
    print(f"bare lightgbm fit            {fit:>10.1f} s  (same params, encoded matrix)")
    print(f"ratio whole / bare fit       {whole / fit:>10.1f} x")
    print(f"peak RSS of train command    {peak_mb:>10.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
