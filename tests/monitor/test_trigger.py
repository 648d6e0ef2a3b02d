"""The retraining decision alone (tmdb_monitor.trigger.decide): fires on degradation, not otherwise."""

from __future__ import annotations

import pytest

from tmdb_mlops.monitor_report import ColumnDrift, ErrorStats, PartitionDrift, VersionQuality
from tmdb_monitor.trigger import decide

pytestmark = pytest.mark.unit


def champion(rmse: float | None, films: int, holdout: float | None = 1.0) -> VersionQuality:
    realized = None if rmse is None else ErrorStats(predictions=films, films=films, rmse=rmse)
    return VersionQuality(version="v1", champion=True, holdout_rmse=holdout, realized=realized)


def drift(*flagged: str) -> PartitionDrift:
    column = ColumnDrift(column="runtime", kind="number", rows=100, statistic="psi", value=0.1,
                         threshold=0.25, missing_threshold=0.15)
    return PartitionDrift(dt="2014-06-01", rows=100, columns=[column], flagged=list(flagged))


RULE = {"margin": 0.1, "min_matured": 50, "drift_retrain": True}


def test_realized_rmse_past_the_margin_on_enough_films_triggers_training() -> None:
    decision = decide(champion=champion(1.2, 60), newest_drift=drift(), **RULE)
    assert decision.retrain
    assert decision.reasons == [
        "performance of v1: realized RMSE 1.200 on 60 matured films against holdout RMSE 1.000 "
        "(+20.0%; margin 10%): degraded"
    ]


@pytest.mark.parametrize(("rmse", "films"), [(1.09, 500), (1.2, 49), (None, 0), (0.8, 500)],
                         ids=["within-margin", "too-few-films", "nothing-matured", "better"])
def test_no_degradation_no_training(rmse: float | None, films: int) -> None:
    decision = decide(champion=champion(rmse, films), newest_drift=drift(), **RULE)
    assert not decision.retrain and decision.reasons == []
    assert len(decision.checks) == 2  # performance and drift were both checked, and said so


def test_drift_in_the_newest_partition_triggers_training_unless_switched_off() -> None:
    flagged = drift("runtime: psi 1.200 > 0.25")
    assert decide(champion=champion(1.0, 500), newest_drift=flagged, **RULE).reasons == [
        "drift in inference dt=2014-06-01: runtime: psi 1.200 > 0.25"]
    off = decide(champion=champion(1.0, 500), newest_drift=flagged,
                 **{**RULE, "drift_retrain": False})
    assert not off.retrain and "MONITOR_DRIFT_RETRAIN is off" in off.checks[-1]


def test_both_reasons_are_reported_and_a_missing_champion_is_no_reason() -> None:
    both = decide(champion=champion(2.0, 100), newest_drift=drift("genres: share_change 0.9 > 0.15"),
                  **RULE)
    assert both.retrain and len(both.reasons) == 2
    nobody = decide(champion=None, newest_drift=None, **RULE)
    assert not nobody.retrain and nobody.checks[0] == "no champion: nothing to judge"
    unknown = decide(champion=champion(2.0, 100, holdout=None), newest_drift=None, **RULE)
    assert not unknown.retrain and "no holdout RMSE" in unknown.checks[0]
