"""/results in a real headless chromium: rows, a rendered SVG chart, the predict form."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import require
from tests.serve.conftest import TrainedStore

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_results_page_renders_and_predicts(store_copy: TrainedStore, live_server) -> None:
    require(CHROMIUM.exists(), "chromium (/usr/bin/chromium)")
    from playwright.sync_api import sync_playwright

    server = live_server(STORAGE_URL=str(store_copy.path))
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1600})
            failed: list[str] = []
            page.on("requestfailed", lambda request: failed.append(request.url))
            page.goto(f"{server.url}/results", wait_until="networkidle")
            assert page.locator("tr.film").count() == 25
            assert page.locator("#model-version").inner_text() == store_copy.versions[0]
            chart = page.locator("svg.chart").first
            box = chart.bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 100
            assert page.locator("svg.chart rect.bar").count() > 5

            page.click("#predict-button")
            page.wait_for_function(
                "document.getElementById('predict-result').dataset.prediction !== undefined",
                timeout=15_000,
            )
            value = float(page.locator("#predict-result").get_attribute("data-prediction"))
            assert 0 <= value <= 10
            assert store_copy.versions[0] in page.locator("#predict-result").inner_text()

            page.screenshot(path=str(ARTIFACTS / "results.png"), full_page=True)
            # Posters point at the configured image host, which is offline here; nothing
            # else may fail (no CDN, every asset is served by the app).
            assert [url for url in failed if url.startswith(server.url)] == []
        finally:
            browser.close()
    assert (ARTIFACTS / "results.png").stat().st_size > 10_000
