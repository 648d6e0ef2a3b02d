"""/monitoring, /monitoring.json, the monitoring gauges, and /results serving the stored predictions."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.monitor.history import PREDICTED_ON, History, build_history
from tests.serve.small_models import SIGNING_KEY
from tmdb_mlops import layout
from tmdb_mlops.inputs import INPUT_COLUMNS
from tmdb_mlops.partitions import read_folder_manifest, write_folder
from tmdb_mlops.predictions import read_predictions, to_csv_bytes
from tmdb_mlops.storage import open_storage

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    store = open_storage(str(tmp_path_factory.mktemp("monitored") / "store"))
    return build_history(store, model_signing_key=SIGNING_KEY)


@pytest.fixture
def client(make_client: Callable[..., TestClient], history: History) -> TestClient:
    return make_client(storage_url=history.storage.url)


def test_the_page_shows_realized_against_holdout_drift_and_estimates(
    client: TestClient, history: History
) -> None:
    response = client.get("/monitoring")
    assert response.status_code == 200
    page = response.text
    champion = history.report.version(history.version)
    assert f'id="realized-rmse">{champion.realized.rmse:.3f}<' in page
    assert f'id="holdout-rmse">{champion.holdout_rmse:.3f}<' in page
    assert page.count('<tr class="drift') == len(INPUT_COLUMNS) + 1  # every input and the prediction
    newest = history.report.partitions[-1]
    assert re.search(rf'<tr class="pending"><td>{newest.dt}</td>.*?class="estimated">'
                     rf'{newest.estimated_rmse_pending:.3f}<', page, re.S)
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 3
    assert "No retraining needed" in page
    coverage = champion.interval
    assert (f'id="interval-coverage">{coverage.realized_coverage * 100:.1f}% of '
            f'{coverage.predictions} ratings inside their interval (nominal 80%') in page
    assert "http://" not in page.split("<body>", 1)[1].replace("http://www.w3.org", "")  # no CDN


def test_the_json_is_the_report(client: TestClient, history: History) -> None:
    assert client.get("/monitoring.json").json() == history.report.model_dump(mode="json")


def test_the_gauges_follow_the_report(client: TestClient, history: History) -> None:
    text = client.get("/metrics").text
    champion = history.report.version(history.version)
    assert f'tmdb_monitor_realized_rmse{{version="{history.version}"}} {champion.realized.rmse}' in text
    largest = history.report.drift.largest
    assert (f'tmdb_monitor_drift_largest{{column="{largest.column}",dt="{largest.dt}",'
            f'statistic="{largest.statistic}"}} {largest.value}') in text
    newest = history.report.partitions[-1]
    assert (f'tmdb_monitor_estimated_rmse{{dt="{newest.dt}",version="{history.version}"}} '
            f"{newest.estimated_rmse}") in text
    assert "tmdb_monitor_retrain_requested 0.0" in text


def test_pages_link_to_each_other(client: TestClient) -> None:
    assert 'href="/monitoring"' in client.get("/results").text
    assert client.get("/model").json()["links"]["monitoring"] == "/monitoring"
    assert 'href="/results"' in client.get("/monitoring").text


def test_results_serve_the_stored_predictions(
    make_client: Callable[..., TestClient], history: History, tmp_path: Path
) -> None:
    """One source of predictions: the page shows the file's values, not its own scoring."""
    import shutil

    shutil.copytree(history.storage.url, tmp_path / "store")
    store = open_storage(str(tmp_path / "store"))
    dt = PREDICTED_ON[-1]  # the newest inference partition
    folder = layout.predictions_prefix(dt, history.version)
    manifest = read_folder_manifest(store, folder)
    frame = read_predictions(store, dt, history.version)
    marked = frame.assign(prediction=1.23)  # a value the model would not give every film
    write_folder(store, folder=folder, files={layout.predictions_key(dt, history.version):
                                              to_csv_bytes(marked)},
                 manifest={k: v for k, v in manifest.items() if k != "files"})
    page = make_client(storage_url=store.url).get("/results").text
    assert f"stored: {folder}/" in page
    values = re.findall(r'<td class="prediction">([\d.]+)', page)
    assert values and set(values) == {"1.23"}
    # The stored intervals are shown too, not recomputed.
    shown = re.findall(r'<span class="range-text">(.*?)</span>', page)
    stored = {f"{lo:.2f}–{hi:.2f}" for lo, hi in zip(frame["interval_low"], frame["interval_high"],
                                                      strict=True)}
    assert shown and set(shown) <= stored


def test_results_score_the_partition_when_no_predictions_are_stored(
    make_client: Callable[..., TestClient], history: History, tmp_path: Path
) -> None:
    import shutil

    shutil.copytree(history.storage.url, tmp_path / "store")
    shutil.rmtree(tmp_path / "store" / "predictions")
    page = make_client(storage_url=str(tmp_path / "store")).get("/results").text
    assert "scored by the server" in page
    assert re.findall(r'<td class="prediction">([\d.]+)', page)


def test_without_a_report(make_client: Callable[..., TestClient], champion: str) -> None:
    client = make_client()
    assert "No monitoring report yet" in client.get("/monitoring").text
    assert client.get("/monitoring.json").status_code == 404
    assert "tmdb_monitor_report_logical_date_seconds 0.0" in client.get("/metrics").text
