"""A sparse real dataset replayed through the sandbox still gives a model better than the mean.

Users may replay their own films (``tmdb-mlops sandbox --dataset FILE``), and many
film datasets hold little more than a year, a runtime, a budget, genres and a
rating. This builds such a dataset from the bokeh-sampledata films (real ratings;
release dates cut to the year, no credits, languages, countries, companies or
certification) and runs it through the real collector and trainer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.servers import free_port, start_http_process, stop_pid
from tmdb_mlops.registry import Registry
from tmdb_mlops.storage import open_storage

pytestmark = pytest.mark.integration

TMDB_MLOPS = str(Path(sys.executable).parent / "tmdb-mlops")
AS_OF = "2014-03-01"


def sparse(movie: dict[str, Any]) -> dict[str, Any]:
    """Only year, runtime, budget, genres and a rating (plus id and title, which TMDB needs)."""
    year = (movie.get("release_date") or "")[:4]
    return {
        "id": movie["id"],
        "title": movie["title"],
        "release_date": f"{year}-01-01" if year else "",
        "runtime": movie["runtime"],
        "budget": movie["budget"],
        "genres": movie["genres"],
        "vote_average": movie["vote_average"],
        "vote_count": movie["vote_count"],
    }


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([TMDB_MLOPS, *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})


def test_a_sparse_dataset_still_beats_the_mean_baseline(tmp_path: Path) -> None:
    from tmdb_collect.sandbox.dataset import load_bokeh_movies

    dataset = tmp_path / "sparse.jsonl"
    dataset.write_text("".join(json.dumps(sparse(m)) + "\n" for m in load_bokeh_movies()))
    port = free_port()
    proc = start_http_process(
        [TMDB_MLOPS, "sandbox", "--host", "127.0.0.1", "--port", str(port),
         "--dataset", str(dataset)],
        health_url=f"http://127.0.0.1:{port}/health", log_path=tmp_path / "sandbox.log",
        what="TMDB sandbox",
    )
    store = str(tmp_path / "store")
    try:
        done = run("collect", "--logical-date", AS_OF, "--split", "train", env={
            "STORAGE_URL": store, "TMDB_BASE_URL": f"http://127.0.0.1:{port}/3",
            "TMDB_API_KEY": "sandbox-key", "COLLECT_SLICES": "1", "TMDB_RATE_LIMIT": "5000",
            "TMDB_CONCURRENCY": "16"})
        assert done.returncode == 0, done.stderr[-2000:]
    finally:
        stop_pid(proc)
    done = run("train", "--as-of", AS_OF, env={"STORAGE_URL": store})
    assert done.returncode == 0, done.stderr[-2000:]
    registry = Registry(open_storage(store), signing_key=None)
    metrics = registry.metrics(registry.champion())
    assert metrics["rows"]["train"] + metrics["rows"]["holdout"] >= 7000, metrics["rows"]
    model, base = metrics["model"]["rmse"], metrics["baselines"]
    # Measured 12.7% below the mean (1.122 vs 1.286) and 5.6% below the genre mean;
    # the bar keeps some slack for seeds and library versions.
    assert model <= 0.92 * base["global_mean"]["rmse"], metrics
    assert model < base["genre_mean"]["rmse"], metrics
