"""The monitor's stages on a real local store (synthetic films, a real model): no sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.monitor.history import MONITOR_ON, PREDICTED_ON, History, build_history
from tmdb_mlops import layout
from tmdb_mlops.config import load_settings
from tmdb_mlops.errors import PlatformError
from tmdb_mlops.predictions import list_predictions, read_predictions
from tmdb_mlops.storage import open_storage
from tmdb_monitor.predict import run_predict
from tmdb_monitor.report import build_report, run_monitor, summary

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    return build_history(open_storage(str(tmp_path_factory.mktemp("history") / "store")))


def test_a_model_as_good_as_its_holdout_does_not_ask_for_training(history: History) -> None:
    report = history.report
    champion = report.version(report.champion)
    assert champion.realized is not None and champion.realized.films >= 50
    assert champion.realized.rmse < champion.holdout_rmse * 1.1
    assert champion.realized.baseline_rmse > champion.realized.rmse  # beats the mean on the same films
    assert report.drift.partitions and all(p.flagged == [] for p in report.drift.partitions)
    assert not report.trigger.retrain
    assert [p.dt for p in report.partitions] == [d.isoformat() for d in PREDICTED_ON]
    newest = report.partitions[-1]
    assert newest.scored == 0 and newest.pending == newest.predictions
    assert newest.estimated_rmse_pending == pytest.approx(champion.holdout_rmse, rel=0.3)


def test_worse_outcomes_ask_for_training(tmp_path: Path) -> None:
    degraded = build_history(open_storage(str(tmp_path / "store")), worsen=-2.5)
    assert degraded.report.trigger.retrain
    assert "degraded" in degraded.report.trigger.reasons[0]


def test_predictions_hold_the_contract(history: History) -> None:
    assert list_predictions(history.storage) == [(d, history.version) for d in PREDICTED_ON]
    frame = read_predictions(history.storage, PREDICTED_ON[0], history.version)
    assert frame["prediction"].between(0, 10).all()
    assert (frame["logical_date"] == PREDICTED_ON[0].isoformat()).all()
    assert frame["horizon_days"].between(0, 180).all()
    assert frame["est_squared_error"].notna().all() and (frame["est_abs_error"] >= 0).all()


def test_monitoring_again_gives_the_same_bytes(history: History) -> None:
    key = layout.report_key(MONITOR_ON)
    before = history.storage.read_bytes(key)
    again = build_report(history.settings, logical_date=MONITOR_ON, storage=history.storage)
    assert again.to_bytes() == before
    run_monitor(history.settings, logical_date=MONITOR_ON, storage=history.storage)
    assert history.storage.read_bytes(key) == before
    text = summary(again)
    assert history.version in text and "realized RMSE" in text


def test_predict_without_a_champion_or_a_partition_fails_in_one_line(tmp_path: Path,
                                                                      history: History) -> None:
    empty = open_storage(str(tmp_path / "empty"))
    with pytest.raises(PlatformError, match="no champion"):
        run_predict(load_settings(storage_url=empty.url), logical_date=MONITOR_ON, storage=empty)
    with pytest.raises(PlatformError, match="no inference partition dt=2014-12-31"):
        run_predict(history.settings, logical_date=MONITOR_ON, storage=history.storage)


def test_predictions_carry_the_interval_and_the_report_its_realized_coverage(
    history: History,
) -> None:
    """Issue #13: each prediction's interval is stored; matured ones give a realized coverage."""
    import numpy as np

    from tmdb_mlops.registry import Registry
    from tmdb_monitor.join import joined

    frame = read_predictions(history.storage, PREDICTED_ON[0], history.version)
    assert frame["interval_low"].notna().all() and frame["interval_high"].notna().all()
    assert (frame["interval_low"] <= frame["prediction"]).all()
    assert (frame["prediction"] <= frame["interval_high"]).all()
    assert frame["interval_low"].between(0, 10).all() and frame["interval_high"].between(0, 10).all()
    manifest = history.storage.read_bytes(
        layout.predictions_manifest_key(PREDICTED_ON[0], history.version))
    assert b'"interval_coverage": 0.8' in manifest

    data = joined(history.storage, logical_date=MONITOR_ON,
                  settle_days=history.settings.collect_settle_days,
                  min_votes=history.settings.collect_min_votes).frame
    scored = data[data["scored"] & (data["model_version"] == history.version)]
    inside = (scored["actual"] >= scored["interval_low"]) & (scored["actual"] <= scored["interval_high"])
    interval = history.report.version(history.version).interval
    assert interval is not None and interval.predictions == len(scored) > 0
    assert interval.realized_coverage == pytest.approx(float(inside.mean()), abs=1e-6)
    assert interval.below + interval.above == int((~inside).sum())
    metrics = Registry(history.storage, signing_key=None).metrics(history.version)
    assert interval.nominal_coverage == metrics["interval"]["nominal_coverage"] == 0.8
    assert interval.holdout_coverage == metrics["interval"]["empirical_coverage"]
    assert interval.mean_width == pytest.approx(
        float(np.mean(scored["interval_high"] - scored["interval_low"])), abs=1e-6)
    assert (f"interval coverage, {history.version}: {interval.realized_coverage:.1%} of "
            f"{interval.predictions} matured ratings inside their interval (nominal 80%"
            in summary(history.report))
