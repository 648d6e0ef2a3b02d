"""The train command end to end on synthetic histories: local store, S3 (moto), failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.train.conftest import AS_OF, DATES, settings_for
from tests.train.synthetic import write_history
from tmdb_mlops import layout
from tmdb_mlops.registry import Registry
from tmdb_mlops.schema import PRE_RELEASE_COLUMNS
from tmdb_mlops.storage import open_storage
from tmdb_train.run import train

pytestmark = pytest.mark.integration

TMDB_MLOPS = str(Path(sys.executable).parent / "tmdb-mlops")


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([TMDB_MLOPS, *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})


def store_snapshot(storage) -> dict[str, bytes]:
    return {key: storage.read_bytes(key) for key in storage.list("models")}


def test_train_registers_and_promotes_locally(store):
    report = train(settings_for(store), as_of=AS_OF, seed=3)
    registry = Registry(store, signing_key=None)
    assert registry.list_versions() == [report.version]
    assert registry.champion() == report.version
    metrics = registry.metrics(report.version)
    assert metrics == json.loads(json.dumps(report.metrics))
    for key in ("global_mean", "genre_mean", "ridge"):
        assert metrics["baselines"][key]["rmse"] > 0
    assert metrics["rows"]["train"] + metrics["rows"]["holdout"] == 1200
    assert metrics["date_ranges"]["train"]["max"] <= metrics["date_ranges"]["holdout"]["min"]
    assert metrics["model"]["rmse"] < metrics["baselines"]["global_mean"]["rmse"]
    meta = registry.metadata(report.version)
    assert meta["as_of"] == AS_OF.isoformat()
    assert [p["dt"] for p in meta["partitions"]] == sorted(d.isoformat() for d in DATES)
    assert set(meta["input_schema"]["columns"]) <= set(PRE_RELEASE_COLUMNS)
    assert not {"vote_count", "popularity", "revenue", "vote_average"} & set(
        meta["input_schema"]["columns"])
    assert meta["training_params"]["seed"] == 3
    model = registry.load()
    one_film = pd.DataFrame([{"title": "X", "release_date": "2014-06-01"}])
    assert model.predict_frame(one_film).shape == (1,)


def test_same_partitions_and_seed_give_the_same_metrics(store):
    first = train(settings_for(store), as_of=AS_OF, seed=9)
    second = train(settings_for(store), as_of=AS_OF, seed=9)
    assert first.version != second.version
    assert first.metrics == second.metrics


def test_cli_trains_into_s3_and_lists_models(s3_env, movies):
    from tests.conftest import s3_store

    bucket = s3_env["STORAGE_URL"].split("/")[2]
    storage = s3_store(s3_env["S3_ENDPOINT_URL"], bucket)
    write_history(storage, movies, DATES)
    done = cli("train", "--as-of", AS_OF.isoformat(), "--seed", "1", "--report", "run.json",
               env=s3_env)
    assert done.returncode == 0, done.stderr
    assert "promoted to champion" in done.stdout
    report = json.loads(Path("run.json").read_text())
    registry = Registry(storage, signing_key=None)
    assert registry.champion() == report["version"]
    listing = cli("models", "list", env=s3_env)
    assert listing.returncode == 0, listing.stderr
    assert report["version"] in listing.stdout and "*" in listing.stdout
    assert f"{report['metrics']['model']['rmse']:.3f}" in listing.stdout

    done = cli("train", "--as-of", AS_OF.isoformat(), "--seed", "1", env=s3_env)
    assert done.returncode == 0, done.stderr
    second = registry.list_versions()[-1]
    assert registry.champion() == second  # same data and seed: equal RMSE passes the gate
    promoted = cli("models", "promote", report["version"], env=s3_env)
    assert promoted.returncode == 0, promoted.stderr
    assert registry.champion() == report["version"]
    rolled = cli("models", "rollback", env=s3_env)
    assert rolled.returncode == 0, rolled.stderr
    assert registry.champion() == second


def test_cli_refuses_unknown_versions(tmp_path):
    env = {"STORAGE_URL": str(tmp_path / "store")}
    done = cli("models", "promote", "20990101T000000000Z-ffffff", env=env)
    assert done.returncode == 1
    assert done.stderr.strip().startswith("error:") and "is not registered" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    done = cli("models", "rollback", env=env)
    assert done.returncode == 1 and "nothing to roll back" in done.stderr


@pytest.mark.parametrize("case", ["empty", "invalid", "bad-date"])
def test_empty_or_invalid_training_set_changes_nothing(tmp_path, store, case):
    env = {"STORAGE_URL": store.url}
    first = train(settings_for(store), as_of=AS_OF, seed=1)
    before = store_snapshot(store)
    if case == "empty":
        env = {"STORAGE_URL": str(tmp_path / "empty")}
        args = ("train", "--as-of", AS_OF.isoformat())
    elif case == "invalid":
        key = layout.movies_key("train", AS_OF)
        manifest = json.loads(store.read_bytes(layout.manifest_key("train", AS_OF)))
        from tests.train.synthetic import synthetic_movies, write_train_partition

        bad = synthetic_movies(100, seed=8).assign(vote_average=42.0)
        write_train_partition(store, bad, AS_OF)
        assert manifest["files"][key]["sha256"] != json.loads(
            store.read_bytes(layout.manifest_key("train", AS_OF)))["files"][key]["sha256"]
        args = ("train", "--as-of", AS_OF.isoformat())
    else:
        args = ("train", "--as-of", "2014-13-45")
    done = cli(*args, env=env)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("error:"), done.stderr
    assert "Traceback" not in done.stderr
    assert store_snapshot(store) == before
    assert Registry(store, signing_key=None).champion() == first.version
    if case == "empty":
        assert not open_storage(env["STORAGE_URL"]).list("models")
