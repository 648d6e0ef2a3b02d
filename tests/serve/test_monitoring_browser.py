"""/monitoring in a real headless chromium: the champion's figures, three SVG charts, the drift table."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.monitor.history import History, build_history
from tests.serve.conftest import ARTIFACTS
from tests.serve.small_models import SIGNING_KEY
from tmdb_mlops.inputs import INPUT_COLUMNS
from tmdb_mlops.storage import open_storage

pytestmark = pytest.mark.browser


def test_monitoring_page_renders(tmp_path: Path, live_server, browser: Browser) -> None:
    history: History = build_history(open_storage(str(tmp_path / "store")),
                                     model_signing_key=SIGNING_KEY)
    server = live_server(STORAGE_URL=str(tmp_path / "store"), MODEL_SIGNING_KEY=SIGNING_KEY)
    champion = history.report.version(history.version)
    page = browser.new_page(viewport={"width": 1200, "height": 1600})
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto(f"{server.url}/results", wait_until="networkidle")
    page.click("#monitoring-link")
    page.wait_for_url(f"{server.url}/monitoring")
    page.wait_for_load_state("networkidle")
    monitoring_requests = len(failed)
    assert page.locator("#realized-rmse").inner_text() == f"{champion.realized.rmse:.3f}"
    assert page.locator("#holdout-rmse").inner_text() == f"{champion.holdout_rmse:.3f}"
    charts = page.locator("svg.chart")
    assert charts.count() == 3
    for index in range(3):
        box = charts.nth(index).bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 100
    assert page.locator("svg.chart circle.point").count() >= 2  # realized by prediction date
    assert page.locator("svg.chart rect.cell").count() >= len(INPUT_COLUMNS)  # the heat map
    assert page.locator("#drift-table tr.drift").count() == len(INPUT_COLUMNS) + 1
    assert page.locator("#estimate-table tr.pending").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "monitoring.png"), full_page=True)
    # /results' posters point at the (offline) image host; nothing of the app may fail.
    assert [url for url in failed if url.startswith(server.url)] == []
    assert len(failed) == monitoring_requests  # /monitoring itself loads nothing from outside
    assert (ARTIFACTS / "monitoring.png").stat().st_size > 10_000
