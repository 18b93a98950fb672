"""An analyst's path through Predictive maintenance in a real browser at 1366x768: train on the sample, read.

The page trains once, and every check is made on that run: the headline metric in view after Train (issue 18, was
test_results_in_view_browser.py) and the analyst's path through the results."""

from __future__ import annotations

from tests.browser.conftest import (
    FEWEST_EPOCHS,
    SCREENSHOTS,
    assert_headline_in_view,
    assert_no_traceback,
    open_page,
    screenshot,
    set_number,
)


def test_train_on_the_sample_and_read_the_results(laptop, app_url):
    page = laptop
    open_page(page, app_url)
    page.get_by_test_id("stSidebarNav").get_by_text("Predictive maintenance").click()
    page.get_by_text("7,000", exact=True).first.wait_for()  # the row count of the preview
    set_number(page, "Most epochs", FEWEST_EPOCHS["maintenance"])
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Precision-recall curve").first.wait_for(timeout=300_000)
    # issue 18: after Train, the AUPRC card is on screen at 1366x768 without scrolling, once
    assert_headline_in_view(page, "AUPRC", "maintenance")
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
