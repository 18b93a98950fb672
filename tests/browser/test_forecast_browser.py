"""An analyst's path through Demand forecast in a real browser: upload, train, pick a series, drivers, reorder, bad file.

The daily sample trains once (uploaded, with the quick settings), at a laptop's 1366x768 first, and every check is made
on that run: the headline metric in view after Train (issue 18, was test_results_in_view_browser.py), then the path on a
tall window."""

from __future__ import annotations

import re

from tests.browser.conftest import (
    FEWEST_EPOCHS,
    assert_headline_in_view,
    assert_no_traceback,
    open_page,
    screenshot,
    set_number,
    upload,
    wait_idle,
)
from tests.conftest import SAMPLES


def _weekly_file(tmp_path):
    """A weekly file the project never shipped: Rossmann's first 8 stores added up to whole weeks."""
    import pandas as pd
    import pytest

    from tests.conftest import ROOT

    source = next((p for p in (ROOT / "shared", ROOT.parent / "shared") if (p / "datasets").exists()), None)
    if source is None:
        pytest.skip("the shared Rossmann data is not on this machine")
    ross = pd.read_csv(source / "datasets" / "demand_forecasting" / "rossmann_daily_store_sales.csv")
    ross = ross[ross["store"].isin(sorted(ross["store"].unique())[:8])]
    week = pd.to_datetime(ross["date"]).dt.to_period("W-SUN").dt.start_time
    weekly = (
        ross.assign(week=week, days=1)
        .groupby(["store", "week"], as_index=False)
        .agg(sales=("sales", "sum"), promo_days=("promo", "sum"), days=("days", "sum"))
    )
    weekly = weekly[weekly["days"] == 7].drop(columns="days")
    path = tmp_path / "rossmann_weekly_sales.csv"
    weekly.assign(week=weekly["week"].dt.strftime("%Y-%m-%d")).to_csv(path, index=False)
    return path


def test_upload_forecast_pick_a_series_and_reorder_then_a_weekly_file(laptop, app_url, tmp_path):
    """The daily sample, then (in the same session, at 1366×768) a weekly file: the reorder settings carried over are
    re-read in weeks, so the reorder tab opens on a table, not on "lead time plus review period is longer"."""
    weekly = _weekly_file(tmp_path)
    page = laptop
    open_page(page, app_url)
    page.get_by_test_id("stSidebarNav").get_by_text("Demand forecast").click()
    page.get_by_text("Upload my own CSV").click()
    wait_idle(page)
    upload(page, SAMPLES / "online_retail_daily_product_units.csv")
    page.get_by_text("11,220", exact=True).first.wait_for()  # the row count of the preview
    page.get_by_text("Detected daily data: 30 series").first.wait_for()
    set_number(page, "Backtest windows", 1)  # keeps the test quick
    set_number(page, "Most epochs", FEWEST_EPOCHS["forecast"])
    page.get_by_role("button", name="Train and backtest", exact=True).click()
    page.get_by_text("MASE on the backtest windows").first.wait_for(timeout=240_000)
    # issue 18: after Train, the MASE card is on screen at 1366x768 without scrolling, once
    assert_headline_in_view(page, "MASE", "forecast")
    page.set_viewport_size({"width": 1280, "height": 3600})  # Streamlit scrolls inside: a tall page shows the results
    wait_idle(page)
    mase = page.get_by_test_id("stMetric").filter(has_text="MASE").first.inner_text()
    assert re.search(r"MASE\s+\d+\.\d{2}\b", mase), mase
    coverage = page.get_by_test_id("stMetric").filter(has_text="80% interval coverage").first.inner_text()
    assert re.search(r"coverage\s+\d+%", coverage), coverage  # a percentage, not a fraction
    page.get_by_text("Error per day (MAE)").first.wait_for()
    page.get_by_text("The page's forecast has an error (MASE) of").first.wait_for()
    page.get_by_text("The network alone").first.wait_for()
    assert_no_traceback(page)
    screenshot(page, "forecast_performance")

    page.get_by_role("tab", name="Forecasts").click()
    picker = page.get_by_test_id("stSelectbox").filter(has_text="Series").first
    picker.click()
    option = page.get_by_role("option").nth(2)
    chosen = option.inner_text().strip()
    option.click()
    wait_idle(page)
    page.get_by_text(f"{chosen}: history, backtest and forecast").first.wait_for()
    page.locator("text.legendtext", has_text="80% interval").first.wait_for()  # the band's legend entry
    assert_no_traceback(page)
    screenshot(page, "forecast_series")

    page.get_by_role("tab", name="Explanations").click()
    page.get_by_text("Which columns matter most").first.wait_for(timeout=60_000)
    page.get_by_text("Why this forecast").first.wait_for(timeout=60_000)
    assert_no_traceback(page)
    screenshot(page, "forecast_explanations")

    page.get_by_role("tab", name="Reorder").click()
    page.get_by_text("Suggested order = demand covered over the next").first.wait_for()
    page.get_by_text("Download the reorder table (CSV)").first.wait_for()
    assert_no_traceback(page)
    screenshot(page, "forecast_reorder")

    # a weekly file after the daily one, as an analyst on a 1366×768 laptop
    page.set_viewport_size({"width": 1366, "height": 768})
    upload(page, weekly, label="CSV file")
    page.get_by_text("Detected weekly data: 8 series").first.wait_for()
    set_number(page, "Most epochs", FEWEST_EPOCHS["forecast"])
    page.get_by_role("button", name="Train and backtest", exact=True).click()
    page.get_by_text("MASE on the backtest windows").first.wait_for(timeout=300_000)
    page.get_by_text("The forecasts use").first.wait_for()
    page.get_by_text("because it had the lowest error").first.scroll_into_view_if_needed()
    assert_no_traceback(page)
    screenshot(page, "forecast_weekly_performance_1366")
    page.get_by_role("tab", name="Reorder").click()
    wait_idle(page)
    page.get_by_text("Service level (%)").first.scroll_into_view_if_needed()
    page.get_by_text("In the backtest, the 95% level covered demand").first.wait_for()
    assert page.get_by_text("longer than the forecast horizon").count() == 0
    lead = int(page.get_by_role("spinbutton", name="Lead time (weeks from order to delivery)").input_value())
    review = int(page.get_by_role("spinbutton", name="Review period (weeks until you order again)").input_value())
    assert (lead, review) == (1, 1), (lead, review)  # the daily page's 7 + 7 days, read as weeks
    page.get_by_text("Suggested order = demand covered over the next 2 weeks").first.wait_for()
    assert_no_traceback(page)
    screenshot(page, "forecast_weekly_reorder_1366")


def test_bad_upload_shows_a_sentence_and_the_next_upload_works(page, app_url, tmp_path):
    open_page(page, app_url, "forecast")
    page.get_by_text("Upload my own CSV").click()
    wait_idle(page)
    bad = tmp_path / "sales.csv"
    bad.write_text("date,store,units\n2024-01-01,A,3\n2024-13-45,A,4\n2024-01-03,A,5\n")
    upload(page, bad)
    page.get_by_text("could not be read as dates").first.wait_for()
    assert_no_traceback(page)
    screenshot(page, "forecast_bad_upload")
    upload(page, SAMPLES / "online_retail_daily_product_units.csv")
    page.get_by_text("Detected daily data: 30 series").first.wait_for()
    assert_no_traceback(page)
