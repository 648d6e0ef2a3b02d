"""The compiled trees (lleaves) give LightGBM's numbers bit for bit, or are not used."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from tests.train.synthetic import fitted_synthetic
from tmdb_mlops.features import featurizer_of
from tmdb_serve.compiled import (
    CompiledForest,
    CompileError,
    compile_forests,
    private_dir,
    probe_rows,
)
from tmdb_serve.fast_predict import FastPredictor

pytestmark = pytest.mark.unit

HOSTILE = [
    {"title": "", "release_date": "2020-02-29"},
    {"title": "\u00e9\u00e8\u4e2d\u6587 \U0001f3ac", "release_date": "1874-01-01", "runtime": 1000,
     "budget": 1e10, "genres": "Drama|Horror|Documentary", "cast": "Nobody|Somebody"},
    {"title": "x" * 300, "release_date": "2100-12-31", "runtime": 1, "budget": 0,
     "original_language": "zz", "production_countries": "", "director": "A|B"},
]


@pytest.fixture(scope="module")
def fitted_with_interval():
    from tmdb_train.interval import fit_interval

    pipeline, train, holdout = fitted_synthetic(700, seed=3)
    payload, _ = fit_interval(pipeline, train=train, holdout=holdout, coverage=0.8, seed=1)
    return pipeline, holdout, payload


def _compiled(pipeline, payload, cache_dir: Path, records) -> FastPredictor:
    fast = FastPredictor(pipeline, interval=payload)
    fast.compile(cache_dir=cache_dir, records=records)
    assert fast.compiled
    return fast


def test_compiled_predictions_and_intervals_equal_lightgbms_bit_for_bit(
        fitted_with_interval, tmp_path: Path) -> None:
    pipeline, holdout, payload = fitted_with_interval
    records = holdout.to_dict("records") + HOSTILE
    plain = FastPredictor(pipeline, interval=payload)
    fast = _compiled(pipeline, payload, tmp_path, records[:3])
    expected_rows = [plain.predict_row(r) for r in records]
    got_rows = [fast.predict_row(r) for r in records]
    assert got_rows == expected_rows  # raw prediction and (low, high): exact floats
    for got, expected in zip(fast.predict_with_intervals(records),
                             plain.predict_with_intervals(records), strict=True):
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(fast.predict_records(records), plain.predict_records(records))
    np.testing.assert_array_equal(fast.predict_records(records[:-3]), pipeline.predict(holdout))
    assert [fast.predict_record(r) for r in records] == [plain.predict_record(r) for r in records]
    # The explanation still sums to the (now compiled) raw prediction.
    raw, _, explanation = fast.predict_row(records[0], explain=True)
    assert explanation is not None
    assert abs(explanation["base_value"] + sum(explanation["contributions"].values()) - raw) < 1e-6


def test_without_an_interval_only_the_point_forest_compiles(fitted_with_interval,
                                                            tmp_path: Path) -> None:
    pipeline, holdout, _ = fitted_with_interval
    records = holdout.to_dict("records")
    fast = FastPredictor(pipeline)
    fast.compile(cache_dir=tmp_path, records=records[:3])
    assert fast.compiled and len(list(tmp_path.glob("*.o"))) == 1
    assert [fast.predict_row(r) for r in records] == [
        FastPredictor(pipeline).predict_row(r) for r in records]
    np.testing.assert_array_equal(fast.predict_records(records), pipeline.predict(holdout))


def test_the_row_path_is_thread_safe(fitted_with_interval, tmp_path: Path) -> None:
    pipeline, holdout, payload = fitted_with_interval
    records = holdout.to_dict("records") * 4
    fast = _compiled(pipeline, payload, tmp_path, records[:3])
    expected = [fast.predict_row(r)[:2] for r in records]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda r: fast.predict_row(r)[:2], records))
    assert got == expected


def test_a_second_compile_loads_the_cached_object_code(fitted_with_interval,
                                                       tmp_path: Path) -> None:
    pipeline, holdout, payload = fitted_with_interval
    records = holdout.to_dict("records")[:3]
    _compiled(pipeline, payload, tmp_path, records)
    cached = sorted(tmp_path.glob("*.o"))
    assert len(cached) == 3  # point, lower, upper
    stamps = [path.stat().st_mtime_ns for path in cached]
    again = _compiled(pipeline, payload, tmp_path, records)
    assert [path.stat().st_mtime_ns for path in sorted(tmp_path.glob("*.o"))] == stamps
    assert again.predict_row(records[0]) == FastPredictor(pipeline, interval=payload).predict_row(
        records[0])


def test_object_code_that_differs_from_lightgbm_is_refused_and_dropped(
        fitted_with_interval, tmp_path: Path) -> None:
    """A stale or foreign cache file (here: another model's code under this model's key)."""
    pipeline, holdout, payload = fitted_with_interval
    other, _, _ = fitted_synthetic(700, seed=3, model_seed=8)
    n = featurizer_of(pipeline).n_features_out_
    assert private_dir(tmp_path / "a") and private_dir(tmp_path / "b")
    mine = CompiledForest(pipeline.steps[-1][1].booster_, n_features=n, cache_dir=tmp_path / "a")
    theirs = CompiledForest(other.steps[-1][1].booster_, n_features=n, cache_dir=tmp_path / "b")
    mine.publish()
    theirs.publish()
    shutil.copyfile(theirs.cache_file, mine.cache_file)  # my key now holds their code
    fast = FastPredictor(pipeline, interval=payload)
    with pytest.raises(CompileError, match="compiled point forest differs from LightGBM"):
        fast.compile(cache_dir=tmp_path / "a", records=holdout.to_dict("records")[:3])
    assert not fast.compiled
    assert not mine.cache_file.exists(), "the wrong object code is deleted"
    assert list((tmp_path / "a").iterdir()) == [], "nothing unproven is cached"
    record = holdout.to_dict("records")[0]
    assert fast.predict_row(record) == FastPredictor(pipeline, interval=payload).predict_row(record)


def test_the_probe_crosses_missing_values_and_extremes() -> None:
    probe = probe_rows(4, [[1.0, 2.0, 3.0, 4.0]])
    assert np.isnan(probe).all(axis=1).any()
    assert (probe == 1e300).all(axis=1).any() and (probe == -1e300).all(axis=1).any()
    assert np.isnan(probe[1:65]).any(), "real rows with features knocked out to NaN"


def test_compile_forests_refuses_a_feature_count_mismatch(fitted_with_interval,
                                                          tmp_path: Path) -> None:
    pipeline, _, _ = fitted_with_interval
    booster = pipeline.steps[-1][1].booster_
    with pytest.raises(CompileError, match="features"):
        compile_forests(booster, None, n_features=booster.num_feature() + 1,
                        probe=np.zeros((1, booster.num_feature() + 1)), cache_dir=tmp_path)


def test_the_service_answers_at_once_and_then_through_proven_compiled_trees(
        make_client, champion: str, tmp_path: Path) -> None:
    from tmdb_mlops.inputs import EXAMPLES

    client = make_client(model_compile_cache_dir=str(tmp_path / "compiled"))
    first = [client.post("/predict", json=example).json() for example in EXAMPLES]
    store = client.app.state.store
    assert store.wait_compiled(timeout=120)
    assert client.get("/model").json()["prediction_path"] == "compiled"
    assert 'tmdb_model_compiles_total{outcome="compiled"} 1.0' in client.get("/metrics").text
    assert [client.post("/predict", json=example).json() for example in EXAMPLES] == first
    batch = client.post("/predict/batch", json={"items": EXAMPLES * 40}).json()["predictions"]
    assert [p["prediction"] for p in batch[:3]] == [p["prediction"] for p in first]
    assert [p["interval"] for p in batch[:3]] == [p["interval"] for p in first]


def test_model_compile_false_keeps_lightgbms_calls(make_client, champion: str,
                                                   tmp_path: Path) -> None:
    client = make_client(model_compile=False, model_compile_cache_dir=str(tmp_path / "c"))
    assert client.app.state.store.wait_compiled(timeout=1)
    assert client.get("/model").json()["prediction_path"] == "lightgbm"
    assert not (tmp_path / "c").exists()


def test_a_cache_folder_others_can_write_is_not_used(fitted_with_interval, tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    """Cached object code runs in the server: only a folder private to this user holds it."""
    pipeline, holdout, payload = fitted_with_interval
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    fast = _compiled(pipeline, payload, shared, holdout.to_dict("records")[:3])
    assert list(shared.iterdir()) == []
    assert "not a folder only this user can write" in caplog.text
    # A private folder inside a folder others can write (and swap it for theirs): the same.
    beneath = shared / "cache"
    _compiled(pipeline, payload, beneath, holdout.to_dict("records")[:3])
    assert list(beneath.iterdir()) == []
    record = holdout.to_dict("records")[0]
    assert fast.predict_row(record) == FastPredictor(pipeline, interval=payload).predict_row(record)


def test_a_compile_stops_at_once_when_the_service_stops(fitted_with_interval,
                                                         tmp_path: Path) -> None:
    """The LLVM compile runs in a child process, killed on stop: nothing cached, nothing used."""
    import threading

    from tmdb_serve.compiled import CompileStopped

    pipeline, holdout, payload = fitted_with_interval
    stop = threading.Event()
    stop.set()
    fast = FastPredictor(pipeline, interval=payload)
    with pytest.raises(CompileStopped):
        fast.compile(cache_dir=tmp_path / "c", records=holdout.to_dict("records")[:3], stop=stop)
    assert not fast.compiled
    assert list((tmp_path / "c").iterdir()) == []  # no object code, no partial file


def test_a_crashing_compiler_fails_only_the_compile(fitted_with_interval, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A child that dies (here: an interpreter that cannot start) leaves LightGBM serving."""
    import sys

    from tmdb_serve import compiled

    pipeline, holdout, payload = fitted_with_interval
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python"))
    (tmp_path / "no-python").write_text("#!/bin/sh\necho 'compiler crashed' >&2\nkill -SEGV $$\n")
    (tmp_path / "no-python").chmod(0o755)
    fast = FastPredictor(pipeline, interval=payload)
    with pytest.raises(compiled.CompileError, match="status -11: compiler crashed"):
        fast.compile(cache_dir=tmp_path / "c", records=holdout.to_dict("records")[:3])
    assert not fast.compiled
    assert list((tmp_path / "c").iterdir()) == []
