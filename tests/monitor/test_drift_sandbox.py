"""Drift, for real: an inference partition shifted on purpose is flagged, an unshifted one is not.

The sandbox serves synthetic films (``conftest.drift_history``): upcoming films
drawn from the training population in 2014, the same films an hour longer in
2015, and all of them documentaries in 2016. The real collector, trainer,
predictor and monitor run over them.
"""

from __future__ import annotations

import pytest

from tests.monitor.conftest import DRIFT_DATES, MonitoredStore
from tmdb_mlops import layout
from tmdb_mlops.monitor_report import MonitoringReport, PartitionDrift

pytestmark = pytest.mark.integration


def _partitions(store: MonitoredStore) -> dict[str, PartitionDrift]:
    report = MonitoringReport.from_bytes(
        (store.path / layout.report_key(DRIFT_DATES["documentary"])).read_bytes())
    return {p.dt: p for p in report.drift.partitions}


def _column(partition: PartitionDrift, name: str):
    return next(c for c in partition.columns if c.column == name)


def test_every_raw_input_and_the_prediction_is_compared(drift_history: MonitoredStore) -> None:
    from tmdb_mlops.inputs import INPUT_COLUMNS

    partitions = _partitions(drift_history)
    assert sorted(partitions) == sorted(d.isoformat() for d in DRIFT_DATES.values())
    for partition in partitions.values():
        assert [c.column for c in partition.columns] == [*INPUT_COLUMNS, "prediction"]
        assert partition.predicted_by is not None


def test_an_unshifted_partition_is_not_flagged(drift_history: MonitoredStore) -> None:
    partition = _partitions(drift_history)[DRIFT_DATES["unshifted"].isoformat()]
    assert partition.rows > 300
    assert partition.flagged == []
    assert _column(partition, "runtime").value < 0.1


def test_films_an_hour_longer_are_flagged(drift_history: MonitoredStore) -> None:
    partition = _partitions(drift_history)[DRIFT_DATES["runtime"].isoformat()]
    runtime = _column(partition, "runtime")
    assert runtime.flagged and runtime.value > 1.0  # PSI over the training deciles
    assert any(name.startswith("runtime: psi") for name in partition.flagged)
    assert not _column(partition, "genres").flagged


def test_all_documentaries_are_flagged_and_trigger_training(drift_history: MonitoredStore) -> None:
    report = MonitoringReport.from_bytes(
        (drift_history.path / layout.report_key(DRIFT_DATES["documentary"])).read_bytes())
    partition = _partitions(drift_history)[DRIFT_DATES["documentary"].isoformat()]
    genres = _column(partition, "genres")
    assert genres.flagged and genres.top_changes[0].value == "Documentary"
    assert genres.top_changes[0].current == 1.0 and genres.top_changes[0].change > 0.7
    assert not _column(partition, "runtime").flagged
    assert report.trigger.retrain
    assert any("genres: share_change" in reason for reason in report.trigger.reasons)
    assert report.drift.largest is not None and report.drift.largest.column in {"genres", "prediction"}
