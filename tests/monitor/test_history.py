"""A history in which the predicted films' outcomes arrive later: the sandbox, real stores, the CLI.

The realized figures of the report are recomputed here independently, from the
stored files themselves (the csv module, not the monitor's code), and every
rerun is checked byte for byte.
"""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.collect.conftest import run_cli
from tests.monitor.conftest import (
    ALL_SETTLED,
    AS_OF,
    FIRST_SETTLED,
    NOTHING_SETTLED,
    PREDICTED_ON,
    WIDE_WINDOW,
    MonitoredStore,
)
from tmdb_mlops import layout
from tmdb_mlops.monitor_report import HORIZON_BUCKETS, MonitoringReport
from tmdb_mlops.storage import open_storage

pytestmark = pytest.mark.integration

SETTLE, MIN_VOTES = 180, 20


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


def _predictions(root: Path) -> list[dict[str, str]]:
    return [row for path in sorted((root / "predictions").glob("dt=*/model=*/predictions.csv"))
            for row in _rows(path)]


def _outcomes(root: Path, until: date) -> dict[str, dict[str, str]]:
    """The latest outcome of each film collected on or before ``until``."""
    latest: dict[str, dict[str, str]] = {}
    for folder in sorted((root / "processed/outcomes").glob("dt=*")):
        if date.fromisoformat(folder.name[3:]) <= until and (folder / "_manifest.json").exists():
            for row in _rows(folder / "movies.csv"):
                latest[row["id"]] = row
    return latest


def _report(root: Path, day: date) -> MonitoringReport:
    return MonitoringReport.from_bytes((root / layout.report_key(day)).read_bytes())


def _rmse(errors: list[float]) -> float:
    return math.sqrt(sum(e * e for e in errors) / len(errors))


def test_outcomes_arrive_only_once_the_ratings_have_settled(sandbox_history: MonitoredStore) -> None:
    root = sandbox_history.path
    predicted = {row["id"]: row["release_date"] for row in _predictions(root)}
    empty = json.loads((root / layout.manifest_key("outcomes", NOTHING_SETTLED)).read_text())
    assert empty["rows"] == 0 and empty["requested"] == 0  # looked at, nothing had settled

    first = _rows(root / layout.movies_key("outcomes", FIRST_SETTLED))
    released_first = {i for i, released in predicted.items()
                      if released == (FIRST_SETTLED - timedelta(days=SETTLE)).isoformat()}
    assert released_first, "the sandbox has films released on 2014-03-07"
    assert {row["id"] for row in first} == released_first  # the window of one day

    wide = _rows(root / layout.movies_key("outcomes", ALL_SETTLED))
    cutoff = (ALL_SETTLED - timedelta(days=SETTLE)).isoformat()
    assert {row["id"] for row in wide} == {i for i, released in predicted.items() if released <= cutoff}
    manifest = json.loads((root / layout.manifest_key("outcomes", ALL_SETTLED)).read_text())
    assert manifest["window_days"] == int(WIDE_WINDOW) and manifest["not_found_count"] == 0
    assert (root / layout.raw_prefix("outcomes", ALL_SETTLED) / "details.jsonl.gz").exists()


def test_before_any_outcome_only_the_estimate_exists(sandbox_history: MonitoredStore) -> None:
    report = _report(sandbox_history.path, NOTHING_SETTLED)
    champion = report.version(report.champion)
    assert champion is not None and champion.matured == 0 and champion.realized is None
    assert [p.dt for p in report.partitions] == [d.isoformat() for d in PREDICTED_ON]
    for partition in report.partitions:
        assert partition.scored == 0 and partition.pending == partition.predictions
        assert 0.3 < partition.estimated_rmse_pending < 3  # direct loss estimation, no outcome
    assert "not judged yet" in " ".join(report.trigger.checks)


def test_realized_metrics_match_an_independent_recomputation(sandbox_history: MonitoredStore) -> None:
    root = sandbox_history.path
    report = _report(root, ALL_SETTLED)
    outcomes = _outcomes(root, ALL_SETTLED)
    cutoff = (ALL_SETTLED - timedelta(days=SETTLE)).isoformat()
    version = report.champion
    metadata = json.loads((root / layout.metadata_key(version)).read_text())
    mean = metadata["monitoring_reference"]["profile"]["target_mean"]
    scored = []
    for row in _predictions(root):
        outcome = outcomes.get(row["id"])
        if row["release_date"] <= cutoff and outcome and int(outcome["vote_count"]) >= MIN_VOTES:
            scored.append((row, float(row["prediction"]), float(outcome["vote_average"])))
    assert len(scored) > 50
    errors = [p - a for _, p, a in scored]
    champion = report.version(version)
    realized = champion.realized
    assert realized.predictions == len(scored)
    assert realized.films == len({row["id"] for row, _, _ in scored})
    assert realized.rmse == pytest.approx(_rmse(errors), abs=1e-6)
    assert realized.mae == pytest.approx(sum(abs(e) for e in errors) / len(errors), abs=1e-6)
    assert realized.bias == pytest.approx(sum(errors) / len(errors), abs=1e-6)
    assert realized.baseline_rmse == pytest.approx(_rmse([mean - a for _, _, a in scored]), abs=1e-6)
    assert realized.estimated_rmse == pytest.approx(
        math.sqrt(sum(float(r["est_squared_error"]) for r, _, _ in scored) / len(scored)), abs=1e-6)
    metrics = json.loads((root / layout.metrics_key(version)).read_text())
    assert champion.holdout_rmse == metrics["model"]["rmse"]
    assert champion.matured == sum(1 for row in _predictions(root) if row["release_date"] <= cutoff)

    for label, low, high in HORIZON_BUCKETS:
        bucket = [p - a for row, p, a in scored if low <= int(row["horizon_days"]) <= high]
        found = [b for b in champion.by_horizon if b.group == label]
        if not bucket:
            assert not found
            continue
        assert found[0].predictions == len(bucket)
        assert found[0].rmse == pytest.approx(_rmse(bucket), abs=1e-6)
    drama = [p - a for row, p, a in scored if "Drama" in row["genres"].split("|")]
    [genre] = [g for g in champion.by_genre if g.group == "Drama"]
    assert genre.predictions == len(drama) and genre.rmse == pytest.approx(_rmse(drama), abs=1e-6)

    # Per prediction date: the estimate made beforehand beside the realized figure.
    for partition in report.partitions:
        own = [(row, p - a) for row, p, a in scored if row["logical_date"] == partition.dt]
        assert partition.scored == len(own)
        if own:
            assert partition.realized_rmse == pytest.approx(_rmse([e for _, e in own]), abs=1e-6)
            assert partition.estimated_rmse_scored is not None


def _snapshot(root: Path) -> dict[str, bytes]:
    keep = ("predictions/", "processed/outcomes/", "raw/outcomes/", "monitoring/")
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*")
            if p.is_file() and str(p.relative_to(root)).startswith(keep)}


def test_reruns_write_identical_bytes(sandbox_history: MonitoredStore) -> None:
    before = _snapshot(sandbox_history.path)
    for day in PREDICTED_ON:
        sandbox_history.run("predict", "--logical-date", day.isoformat())
    sandbox_history.run("collect", "--logical-date", ALL_SETTLED.isoformat(), "--split", "outcomes",
                        COLLECT_OUTCOMES_WINDOW_DAYS=WIDE_WINDOW)
    sandbox_history.run("collect", "--logical-date", FIRST_SETTLED.isoformat(), "--split", "outcomes")
    for day in (NOTHING_SETTLED, ALL_SETTLED):
        sandbox_history.run("monitor", "--logical-date", day.isoformat())
    after = _snapshot(sandbox_history.path)
    assert after.keys() == before.keys()
    assert [key for key in before if after[key] != before[key]] == []


def test_a_new_champion_adds_its_own_folder(sandbox_history: MonitoredStore, tmp_path: Path) -> None:
    root = tmp_path / "store"
    shutil.copytree(sandbox_history.path, root)
    env = {**sandbox_history.env, "STORAGE_URL": str(root)}
    first = next((root / "predictions" / f"dt={PREDICTED_ON[1]}").iterdir()).name
    kept = (root / "predictions" / f"dt={PREDICTED_ON[1]}" / first / "predictions.csv").read_bytes()
    assert run_cli("train", "--as-of", AS_OF.isoformat(), "--seed", "7", env=env).returncode == 0
    versions = sorted(p.name for p in (root / "models/versions").iterdir())
    new = next(v for v in versions if f"model={v}" != first)
    if json.loads((root / layout.CHAMPION_KEY).read_text())["version"] != new:
        assert run_cli("models", "promote", new, env=env).returncode == 0
    assert run_cli("predict", "--logical-date", PREDICTED_ON[1].isoformat(), env=env).returncode == 0
    folders = sorted(p.name for p in (root / "predictions" / f"dt={PREDICTED_ON[1]}").iterdir())
    assert folders == sorted([first, f"model={new}"])
    assert (root / "predictions" / f"dt={PREDICTED_ON[1]}" / first / "predictions.csv").read_bytes() == kept
    assert run_cli("monitor", "--logical-date", ALL_SETTLED.isoformat(), env=env).returncode == 0
    report = _report(root, ALL_SETTLED)
    assert {v.version for v in report.versions} == {first[len("model="):], new}
    assert report.champion == new


def test_predict_refuses_a_model_trained_on_the_dates_films(sandbox_history: MonitoredStore) -> None:
    result = run_cli("predict", "--logical-date", "2013-01-01", env=sandbox_history.env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "may have seen the ratings" in lines[0], lines
    assert not (sandbox_history.path / "predictions/dt=2013-01-01").exists()


def test_collect_all_still_collects_train_and_inference_only(sandbox_history: MonitoredStore) -> None:
    store = open_storage(str(sandbox_history.path))
    assert not store.exists(layout.manifest_key("outcomes", AS_OF))
    assert store.exists(layout.manifest_key("train", AS_OF))
    assert store.exists(layout.manifest_key("inference", AS_OF))
