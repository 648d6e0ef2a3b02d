"""The contracts the monitoring added to the shared package: keys, folders, predictions, report, bundle."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest

from tmdb_mlops import layout
from tmdb_mlops.monitor_report import (
    MonitoringReport,
    TriggerDecision,
    horizon_bucket,
    latest_report,
    read_report,
)
from tmdb_mlops.partitions import IntegrityError, read_folder_manifest, write_folder
from tmdb_mlops.predictions import PREDICTION_COLUMNS, read_csv_bytes, to_csv_bytes
from tmdb_mlops.schema import columns_for
from tmdb_mlops.storage import Storage

D = date(2014, 3, 1)


@pytest.mark.unit
def test_keys() -> None:
    assert layout.predictions_key(D, "v1") == "predictions/dt=2014-03-01/model=v1/predictions.csv"
    assert layout.predictions_manifest_key(D, "v1").endswith("model=v1/_manifest.json")
    assert layout.report_key(D) == "monitoring/dt=2014-03-01/report.json"
    assert layout.movies_key("outcomes", D) == "processed/outcomes/dt=2014-03-01/movies.csv"
    assert layout.model_from_key("predictions/dt=2014-03-01/model=v-2/x") == "v-2"
    assert layout.OUTCOMES not in layout.SPLITS  # `--split all` stays train + inference
    assert list(columns_for("outcomes")) == ["id", "release_date", "vote_average", "vote_count",
                                             "popularity"]
    with pytest.raises(ValueError):
        layout.predictions_prefix(D, "../escape")
    assert [horizon_bucket(d) for d in (0, 30, 31, 180, 181, None)] == [
        "0-30", "0-30", "31-90", "91-180", "181+", "unknown"]


@pytest.mark.integration
def test_a_folder_is_written_manifest_last_and_verified(storage: Storage) -> None:
    folder = layout.predictions_prefix(D, "v1")
    stale = f"{folder}/old.csv"
    storage.write_bytes(stale, b"old")
    manifest = write_folder(storage, folder=folder, files={f"{folder}/a.csv": b"a"},
                            manifest={"stage": "test"})
    assert not storage.exists(stale)
    assert read_folder_manifest(storage, folder) == manifest
    assert manifest["files"][f"{folder}/a.csv"]["bytes"] == 1
    other = layout.predictions_prefix(D, "v2")
    write_folder(storage, folder=other, files={f"{other}/a.csv": b"b"}, manifest={})
    assert storage.exists(f"{folder}/a.csv")  # another version's folder is never touched
    with pytest.raises(ValueError, match="outside folder"):
        write_folder(storage, folder=folder, files={f"{other}/x": b""}, manifest={})


@pytest.mark.unit
def test_the_predictions_file_round_trips_with_fixed_bytes() -> None:
    frame = pd.DataFrame({
        "id": [2, 1], "title": ["B, the sequel", "A"], "release_date": ["2014-03-02", None],
        "genres": ["Drama|Comedy", None], "logical_date": ["2014-03-01"] * 2,
        "horizon_days": pd.array([1, None], dtype="Int64"), "model_version": ["v1"] * 2,
        "prediction": [6.123456789, 10.0], "clamped": [0, 1],
        "est_abs_error": [0.5, np.nan], "est_squared_error": [0.36, np.nan],
        "interval_low": [5.2, np.nan], "interval_high": [7.0, np.nan],
    })
    data = to_csv_bytes(frame)
    assert data == to_csv_bytes(frame.iloc[::-1])  # rows sorted by id
    assert data.splitlines()[0].decode() == ",".join(PREDICTION_COLUMNS)
    back = read_csv_bytes(data)
    assert back["id"].tolist() == [1, 2] and back["prediction"].tolist() == [10.0, 6.123457]
    assert back["horizon_days"].isna().tolist() == [True, False]
    assert back["interval_low"].isna().tolist() == [True, False]
    assert back["interval_high"].tolist()[1] == 7.0
    assert to_csv_bytes(back) == data


@pytest.mark.unit
def test_a_predictions_file_of_format_1_reads_without_intervals() -> None:
    """Files written before issue #13 have no interval columns: they read as missing."""
    old_columns = [c for c in PREDICTION_COLUMNS if c not in ("interval_low", "interval_high")]
    data = (",".join(old_columns) + "\n"
            + "1,A,2014-03-02,Drama,2014-03-01,1,v1,6.5,0,0.5,0.36\n").encode()
    back = read_csv_bytes(data)
    assert list(back.columns) == list(PREDICTION_COLUMNS)
    assert back["prediction"].tolist() == [6.5]
    assert back["interval_low"].isna().all() and back["interval_high"].isna().all()
    with pytest.raises(ValueError, match="are not"):
        read_csv_bytes(b"id,title\n1,A\n")


@pytest.mark.unit
def test_the_report_round_trips_and_is_read_through_its_manifest(tmp_path) -> None:
    from tmdb_mlops.storage import open_storage

    storage = open_storage(str(tmp_path / "store"))
    report = MonitoringReport(logical_date=D.isoformat(), champion="v1",
                              trigger=TriggerDecision(retrain=True, reasons=["why"]))
    assert MonitoringReport.from_bytes(report.to_bytes()) == report
    assert read_report(storage, D) is None and latest_report(storage) is None
    folder = layout.monitoring_prefix(D)
    write_folder(storage, folder=folder, files={layout.report_key(D): report.to_bytes()}, manifest={})
    assert latest_report(storage) == report
    storage.write_bytes(layout.report_key(D), report.to_bytes() + b" ")
    with pytest.raises(IntegrityError):
        read_report(storage, D)


@pytest.mark.unit
def test_a_bundle_without_the_monitoring_parts_still_loads() -> None:
    """Bundles trained before issue #12 have no estimator and no reference: loaded as before."""
    from tests.train.synthetic import fitted_synthetic
    from tmdb_mlops.bundle import build_bundle, load_verified

    pipeline, _, _ = fitted_synthetic(300, n_estimators=10)
    args = {"version": "v1", "pipeline": pipeline, "input_schema": {"columns": {}}, "metrics": {},
            "as_of": D.isoformat(), "partitions": [], "training_params": {}, "revision": "test"}
    old = load_verified(build_bundle(**args), source="registry", where="old")
    assert old.loss_estimator is None and "monitoring_reference" not in old.metadata
    estimator = {"format": 1, "absolute": None, "squared": None, "summary": {}}
    files = build_bundle(**args, loss_estimator=estimator, monitoring_reference={"profile": {"rows": 1}})
    new = load_verified(files, source="registry", where="new")
    assert new.loss_estimator == estimator
    assert json.loads(files.metadata)["monitoring_reference"] == {"profile": {"rows": 1}}
