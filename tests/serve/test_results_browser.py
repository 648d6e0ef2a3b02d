"""/results in a real headless chromium: rows, a rendered SVG chart, the predict form."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.serve.conftest import ARTIFACTS, TrainedStore

pytestmark = pytest.mark.browser


def test_results_page_renders_and_predicts(store_copy: TrainedStore, live_server, browser: Browser) -> None:
    server = live_server(STORAGE_URL=str(store_copy.path))
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
    assert (ARTIFACTS / "results.png").stat().st_size > 10_000


def test_a_films_detail_view_shows_its_interval_and_explanation(
    store_copy: TrainedStore, live_server
, browser: Browser) -> None:
    """Issue #13: range bars on the page, a film's detail view, the form's explanation."""

    server = live_server(STORAGE_URL=str(store_copy.path))
    page = browser.new_page(viewport={"width": 1200, "height": 1400})
    page.goto(f"{server.url}/results", wait_until="networkidle")
    bands = page.locator("tr.film .range-band")
    assert bands.count() == 25
    band = bands.first.bounding_box()
    assert band is not None and band["width"] > 2  # drawn, not only digits
    assert "nominal" in page.locator("#model-interval").inner_text()

    page.click("#predict-button")
    page.wait_for_selector("#predict-explanation:not([hidden])", timeout=15_000)
    assert "interval" in page.locator("#predict-result").inner_text()
    assert page.locator("#predict-explanation tr.contribution-row").count() >= 5

    first = page.locator("tr.film a.film-link").first
    title = first.inner_text()
    first.click()
    page.wait_for_selector("#film-detail", timeout=15_000)
    assert page.locator("h1").inner_text() == title
    assert page.locator("#film-interval .range-band").count() == 1
    bars = page.locator("#film-explanation svg.chart rect.contribution")
    assert bars.count() >= 5
    box = page.locator("#film-explanation svg.chart").bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 100
    inputs = page.locator("#film-inputs dd[data-input]")
    assert inputs.count() >= 10
    assert page.locator("#film-inputs dd[data-input='title']").inner_text() == title
    page.screenshot(path=str(ARTIFACTS / "film-detail.png"), full_page=True)
    assert (ARTIFACTS / "film-detail.png").stat().st_size > 10_000
