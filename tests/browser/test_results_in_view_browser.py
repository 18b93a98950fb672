"""Results in view on a laptop (issue 18): after Train, a headline metric is on screen at 1366x768 without scrolling.

Before the page brought its results into view, the headline metric sat 1,300-1,800 px down the page: below the data
preview and column choices, outside a 768 px window. Each page trains on its sample with the quick settings the other
browser tests use.
"""
from __future__ import annotations

import time

import pytest

from tests.browser.conftest import SCREENSHOTS, assert_no_traceback, open_page, wait_idle

WIDTH, HEIGHT = 1366, 768

# (page in the sidebar, Train button's label, text shown once results are drawn, headline metric, quick settings)
PAGES = [
    ("Diagnosis", "Train", "ROC curve", "ROC-AUC", {}),
    ("Fraud detection", "Train", "Precision-recall curve", "AUPRC", {}),
    ("Retail segmentation", "Find segments", "Segment profiles", "Silhouette", {}),
    ("Demand forecast", "Train and backtest", "MASE on the backtest windows", "MASE",
     {"Backtest windows": "1", "Most epochs": "30"}),
    ("Predictive maintenance", "Train", "Precision-recall curve", "AUPRC", {"Most epochs": "15"}),
]


@pytest.mark.parametrize("nav, button, ready, metric, settings", PAGES, ids=[p[0].split()[-1].lower() for p in PAGES])
def test_headline_metric_in_view_after_training(browser, app_url, nav, button, ready, metric, settings):
    ctx = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    try:
        open_page(page, app_url)
        page.get_by_test_id("stSidebarNav").get_by_text(nav).click()
        wait_idle(page)
        page.get_by_role("button", name=button, exact=True).wait_for()
        for name, value in settings.items():
            if name == "Most epochs":
                page.get_by_text("Advanced training options").click()
            box = page.get_by_role("spinbutton", name=name)
            box.fill(value)
            box.press("Enter")
            wait_idle(page)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.get_by_role("button", name=button, exact=True).click()
        try:
            page.get_by_text(ready).first.wait_for(timeout=300_000)
        finally:
            page.screenshot(path=str(SCREENSHOTS / f"results_in_view_{nav.split()[-1].lower()}_ready.png"))
        wait_idle(page)
        time.sleep(3)  # the scroll is retried for 2.5 s while the page draws
        card = page.get_by_test_id("stMetric").filter(has_text=metric).first
        box = card.bounding_box()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"results_in_view_{nav.split()[-1].lower()}.png"))  # the window only
        assert box is not None, f"no {metric} card"
        assert 0 <= box["y"] and box["y"] + box["height"] <= HEIGHT, (
            f"{nav}: the {metric} card is at y={box['y']:.0f}-{box['y'] + box['height']:.0f} px, outside the "
            f"{HEIGHT} px window")
        assert_no_traceback(page)

        # once only: a later rerun (a click elsewhere) leaves the analyst where they scrolled
        scroller = page.get_by_test_id("stMain")
        print(f"{nav}: {metric} card at y={box['y'] + scroller.evaluate('el => el.scrollTop'):.0f} px from the top "
              f"of the page (where it was before it was scrolled to), y={box['y']:.0f} px in the window")
        scroller.evaluate("el => el.scrollTo(0, 0)")
        page.keyboard.press("r")  # Streamlit's shortcut: rerun the script
        wait_idle(page)
        time.sleep(3)
        assert scroller.evaluate("el => el.scrollTop") == 0, "the page scrolled again on a rerun"
    finally:
        ctx.close()
