"""An analyst's path through Predictive maintenance in a real browser at 1366x768: train on the sample, read."""
from __future__ import annotations

from tests.browser.conftest import SCREENSHOTS, assert_no_traceback, open_page, screenshot


def test_train_on_the_sample_and_read_the_results(browser, app_url):
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    try:
        open_page(page, app_url)
        page.get_by_test_id("stSidebarNav").get_by_text("Predictive maintenance").click()
        page.get_by_text("7,000", exact=True).first.wait_for()  # the row count of the preview
        page.get_by_text("Advanced training options").click()
        epochs = page.get_by_role("spinbutton", name="Most epochs")
        epochs.fill("15")
        epochs.press("Enter")
        page.get_by_role("button", name="Train").click()
        page.get_by_text("Precision-recall curve").first.wait_for(timeout=300_000)
        auprc = page.get_by_test_id("stMetric").filter(has_text="AUPRC").first
        auprc.scroll_into_view_if_needed()
        assert "0." in auprc.inner_text()
        assert page.get_by_text("95% intervals").count() >= 1  # the one verdict, first in the results
        assert_no_traceback(page)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "maintenance_performance.png"))  # what the analyst sees at 1366x768
        page.get_by_role("tab", name="Costs & threshold").click()
        page.get_by_text("Saving vs no model").first.wait_for()
        page.get_by_role("tab", name="Service list").click()
        page.get_by_text("riskiest first").first.wait_for()
        page.get_by_test_id("stDataFrame").filter(visible=True).first.wait_for()
        assert_no_traceback(page)
        screenshot(page, "maintenance_service_list")
    finally:
        ctx.close()
