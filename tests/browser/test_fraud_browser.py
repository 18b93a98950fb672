"""An analyst's path through Fraud detection in a real browser: upload, train, costs, flagged list, bad files.

The page trains once on the sample (uploaded), at a laptop's 1366x768 first, and every check is made on that run: the
headline metric in view after Train (issue 18, was test_results_in_view_browser.py), then the path on a tall window."""

from __future__ import annotations

import time

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


def test_upload_train_set_costs_and_read_the_flagged_list(laptop, app_url):
    page = laptop
    open_page(page, app_url)
    page.get_by_test_id("stSidebarNav").get_by_text("Fraud detection").click()
    page.get_by_text("Upload my own CSV").click()
    wait_idle(page)
    upload(page, SAMPLES / "creditcard_transactions.csv")
    page.get_by_text("1,774", exact=True).first.wait_for()  # the row count of the preview
    set_number(page, "Most epochs", FEWEST_EPOCHS["fraud"])
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Precision-recall curve").first.wait_for(timeout=180_000)
    # issue 18: after Train, the AUPRC card is on screen at 1366x768 without scrolling, once
    assert_headline_in_view(page, "AUPRC", "fraud")
    page.set_viewport_size({"width": 1280, "height": 4200})  # Streamlit scrolls inside: a tall page shows the results
    wait_idle(page)
    auprc = page.get_by_test_id("stMetric").filter(has_text="AUPRC").first.inner_text()
    assert "0." in auprc
    assert_no_traceback(page)
    screenshot(page, "fraud_performance")

    # the two costs: a dearer false alarm moves the cheapest threshold up
    cheapest = page.locator("p", has_text="Cheapest threshold").first
    before = cheapest.inner_text()
    box = page.get_by_role("spinbutton", name="Cost of reviewing a false alarm")
    box.fill("200")
    box.press("Enter")
    wait_idle(page)
    deadline = time.time() + 30
    while cheapest.inner_text() == before and time.time() < deadline:
        time.sleep(0.5)
    assert cheapest.inner_text() != before, before
    page.get_by_role("tab", name="Cost & threshold").click()
    page.get_by_text("Expected cost per 1,000 transactions").first.wait_for()
    assert page.get_by_test_id("stMetric").filter(has_text="Saving vs no model").count() == 1
    screenshot(page, "fraud_cost")

    page.get_by_role("tab", name="Flagged transactions").click()
    page.get_by_text("Why it was flagged").first.wait_for()
    page.get_by_text("Why this prediction").first.wait_for()  # the waterfall
    why = page.locator("p", has_text="Why it was flagged").first.inner_text()
    assert any(w in why for w in ("unusually", "extremely", "high (", "low (")), why
    assert_no_traceback(page)
    screenshot(page, "fraud_flagged")

    page.get_by_role("tab", name="Explanations").click()
    page.get_by_text("Which columns matter most").first.wait_for()
    assert_no_traceback(page)
    screenshot(page, "fraud_explanations")


def test_bad_uploads_show_a_sentence_and_the_next_upload_works(page, app_url, tmp_path):
    open_page(page, app_url, "fraud")
    page.get_by_text("Upload my own CSV").click()
    wait_idle(page)
    three = tmp_path / "three_labels.csv"
    three.write_text("v1,v2,amount,is_fraud\n" + "".join(f"{i % 7},{i % 5},{i}.5,{i % 3}\n" for i in range(120)))
    upload(page, three)
    page.get_by_text("it must have exactly two").wait_for()
    assert_no_traceback(page)
    screenshot(page, "fraud_bad_label")
    refunds = tmp_path / "refunds.csv"
    refunds.write_text(
        "v1,v2,amount,is_fraud\n"
        + "".join(f"{i % 7},{i % 5},{-i if i == 3 else i}.5,{int(i % 6 == 0)}\n" for i in range(120))
    )
    upload(page, refunds)
    page.get_by_text("negative value").wait_for()
    bad = tmp_path / "scan.csv"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    upload(page, bad)
    page.get_by_text("is a PNG image, not a CSV file").wait_for()
    assert_no_traceback(page)
    upload(page, SAMPLES / "creditcard_transactions.csv")
    page.get_by_text("1,774", exact=True).first.wait_for()
    page.get_by_role("button", name="Train").wait_for()
    assert_no_traceback(page)
