"""An analyst's path through Retail segmentation in a real browser: upload transactions, segment, read, explain, bad file.

Each file is segmented once and every check on it is made on that run: the mall customers (the page's sample, uploaded
after a bad file) at a laptop's 1366x768 also check the headline metric in view after Train (issue 18, was
test_results_in_view_browser.py)."""

from __future__ import annotations

import time

from tests.browser.conftest import (
    assert_headline_in_view,
    assert_no_traceback,
    open_page,
    screenshot,
    upload,
    wait_idle,
)
from tests.conftest import SAMPLES


def test_upload_transactions_segment_profile_map_and_explain(page, app_url):
    open_page(page, app_url)
    page.get_by_test_id("stSidebarNav").get_by_text("Retail segmentation").click()
    page.get_by_text("Upload my own CSV").click()
    wait_idle(page)
    upload(page, SAMPLES / "online_retail_transactions.csv.gz")
    page.get_by_text("159,926", exact=True).first.wait_for()  # the row count of the preview
    page.get_by_text("1,299", exact=True).first.wait_for()  # customers found before anything runs
    page.get_by_role("button", name="Find segments").click()
    page.get_by_text("Segment profiles").first.wait_for(timeout=120_000)
    wait_idle(page)
    segments = page.get_by_test_id("stMetric").filter(has_text="Segments").first.inner_text()
    assert segments.strip().endswith("3")  # the best-separated number whose segments are all workable sizes
    assert page.get_by_text("Champions").count() >= 1
    assert_no_traceback(page)
    screenshot(page, "segmentation_segments")

    # rename segment 2 in the names table; the new name reaches the charts and the profile table
    editor = page.get_by_test_id("stDataFrame").filter(has_text="suggested action").first
    editor.scroll_into_view_if_needed()
    for _ in range(3):  # the canvas grid takes a moment to accept edits after it is drawn
        editor.dblclick(position={"x": 130, "y": 87})  # the name of segment 2 (35 px rows under a 35 px header)
        time.sleep(0.5)
        page.keyboard.press("Control+A")
        page.keyboard.type("Top buyers")
        time.sleep(0.5)  # let the cell editor take the text before committing it
        page.keyboard.press("Enter")
        deadline = time.time() + 20
        while page.get_by_text("Top buyers").count() < 3 and time.time() < deadline:  # editor, charts, profiles
            time.sleep(0.5)
        if page.get_by_text("Top buyers").count() >= 3:
            break
    wait_idle(page)
    assert page.get_by_text("Top buyers").count() >= 3
    screenshot(page, "segmentation_renamed")

    page.get_by_role("tab", name="Map").click()
    page.get_by_text("Customers on a 2-D map").first.wait_for()
    screenshot(page, "segmentation_map")

    page.get_by_role("tab", name="Quality").click()  # stability and sizes first; the benchmark folded away
    page.get_by_text("Stability:").first.wait_for()
    page.get_by_text("Silhouette by number of segments").first.wait_for()
    screenshot(page, "segmentation_quality")
    page.get_by_text("Engine check: torch k-means beside scikit-learn").first.click()
    ratio = page.get_by_test_id("stMetric").filter(has_text="Inertia ratio").first
    ratio.wait_for()
    assert float(ratio.inner_text().split()[-1]) <= 1.01

    page.get_by_role("tab", name="Explanations").click()
    page.get_by_text("from the average customer to this one").first.wait_for()
    page.get_by_text("In words:").first.wait_for()
    assert_no_traceback(page)
    screenshot(page, "segmentation_explanations")

    # a link created after the rename reopens the run with the renamed segment
    page.get_by_role("tab", name="Share").click()
    page.get_by_role("button", name="Create share link").click()
    code = page.get_by_test_id("stCode").filter(has_text="?run=").first
    code.wait_for()
    link = code.inner_text().strip()
    other = page.context.browser.new_context(
        viewport={"width": 1366, "height": 768}
    )  # a laptop, as analysts open links
    try:
        colleague = other.new_page()
        colleague.set_default_timeout(180_000)
        colleague.goto(link)
        colleague.get_by_text("A shared run").wait_for(timeout=60_000)
        colleague.get_by_text("Segment profiles").first.wait_for()
        wait_idle(colleague)
        screenshot(colleague, "segmentation_shared_renamed")
        deadline = time.time() + 60
        while colleague.get_by_text("Top buyers").count() < 2 and time.time() < deadline:  # the charts' labels
            time.sleep(0.5)
        assert colleague.get_by_text("Top buyers").count() >= 2
        assert_no_traceback(colleague)
    finally:
        other.close()


def test_bad_upload_shows_a_sentence_and_the_next_upload_works(laptop, app_url, tmp_path):
    page = laptop
    open_page(page, app_url, "segmentation")
    page.get_by_text("Upload my own CSV").click()
    wait_idle(page)
    bad = tmp_path / "orders.csv"
    rows = "".join(f"{536000 + i},{12000 + i % 9},yesterday,{1 + i % 4},2.5\n" for i in range(50))
    bad.write_text("InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n" + rows)
    upload(page, bad)
    page.get_by_text("could not be read as dates").first.wait_for()
    assert_no_traceback(page)
    screenshot(page, "segmentation_bad_upload")
    upload(page, SAMPLES / "mall_customers.csv")
    page.get_by_text("200", exact=True).first.wait_for()
    page.get_by_text("A customer (a ready customer table").first.wait_for()
    page.get_by_role("button", name="Find segments").click()
    page.get_by_text("Segment profiles").first.wait_for(timeout=120_000)
    # issue 18: after Train, the Silhouette card is on screen at 1366x768 without scrolling, once
    assert_headline_in_view(page, "Silhouette", "segmentation")
    assert_no_traceback(page)
    screenshot(page, "segmentation_customer_table")
