"""An analyst's path through Customer service in a real browser at 1366x768: upload messages, train, read the
decision, explain a message, edit it in the what-if, share the run and reopen the link."""

from __future__ import annotations

import time

import pandas as pd

from tests.browser.conftest import assert_no_traceback, open_page, screenshot, upload, wait_idle
from tests.conftest import SAMPLES


def _metric(page, label: str) -> str:
    card = page.get_by_test_id("stMetric").filter(has_text=label).filter(visible=True).first
    card.scroll_into_view_if_needed()
    return card.inner_text()


def _spin(page, name: str, value: str) -> None:
    box = page.get_by_role("spinbutton", name=name)
    box.fill(value)
    box.press("Enter")
    wait_idle(page)


def test_upload_train_decide_explain_edit_and_share(browser, app_url, tmp_path):
    df = pd.read_csv(SAMPLES / "banking77_messages_3k.csv")
    top = df["category"].value_counts().index[:12]
    small = tmp_path / "messages.csv"
    df = df[df["category"].isin(top)]
    df.to_csv(small, index=False)
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    try:
        open_page(page, app_url)
        page.get_by_test_id("stSidebarNav").get_by_text("Customer service").click()
        page.get_by_text("Upload my own CSV").click()
        wait_idle(page)
        upload(page, small)
        page.get_by_text("messages in 12 categories").first.wait_for()
        page.get_by_text("Advanced training options").click()
        _spin(page, "Most epochs", "10")
        _spin(page, "Threshold folds", "2")
        _spin(page, "Networks averaged", "1")
        page.get_by_role("button", name="Train").click()
        page.get_by_text("Per category").first.wait_for(timeout=400_000)
        wait_idle(page)
        assert "0." in _metric(page, "Accuracy")
        assert page.get_by_text("linear SVM").count() >= 1
        assert_no_traceback(page)
        screenshot(page, "customer_service_performance")

        # the decision: the cheapest threshold for the costs, and how much is automated at it
        page.get_by_role("tab", name="What to automate").click()
        page.locator("p", has_text="Cheapest threshold").first.wait_for()
        assert "%" in _metric(page, "Routed automatically")
        cheapest = page.locator("p", has_text="Cheapest threshold").first
        before = cheapest.inner_text()
        _spin(page, "Cost of a misrouted message", "300")
        deadline = time.time() + 30
        while cheapest.inner_text() == before and time.time() < deadline:
            time.sleep(0.5)
        assert cheapest.inner_text() != before, before
        screenshot(page, "customer_service_decision")

        # one message explained: its words tinted in the text
        page.get_by_role("tab", name="Explanations").click()
        page.get_by_text("Most telling words per category").first.wait_for()
        shown = page.get_by_test_id("stHtml").filter(visible=True).first
        shown.scroll_into_view_if_needed()
        assert shown.locator("span[title]").count() >= 1
        assert_no_traceback(page)
        screenshot(page, "customer_service_explanation")

        # the what-if: an edited message gets its own intent, route and highlighted words; HTML shows as typed
        page.get_by_role("tab", name="What-if").click()
        box = page.get_by_role("textbox", name="Message")
        box.scroll_into_view_if_needed()
        before = _metric(page, "Intent").split()[-1]
        other = df[df["category"] != before].iloc[0]  # a message of another intent, in HTML tags
        typed = f"<b>{other['text']}</b>"
        box.fill(typed)
        box.press("Control+Enter")
        wait_idle(page)
        page.get_by_text("with your edit").first.wait_for()
        html_box = page.get_by_test_id("stHtml").filter(visible=True).filter(has_text="<b>").first
        assert html_box.inner_text().strip() == typed
        assert _metric(page, "Intent").split()[-1] == other["category"]
        assert_no_traceback(page)
        screenshot(page, "customer_service_what_if")

        # share: create the link, a colleague opens it and reads the same accuracy without training
        page.get_by_role("tab", name="Performance").click()
        accuracy = _metric(page, "Accuracy")
        page.get_by_role("tab", name="Share").click()
        page.get_by_role("button", name="Create share link").click()
        page.get_by_test_id("stCode").filter(has_text="?run=").first.wait_for()
        link = page.get_by_test_id("stCode").filter(has_text="?run=").first.inner_text().strip()
        assert "/customer_service?run=" in link
        other = browser.new_context(viewport={"width": 1366, "height": 768})
        try:
            colleague = other.new_page()
            colleague.set_default_timeout(180_000)
            colleague.goto(link)
            colleague.get_by_text("A shared run").wait_for(timeout=60_000)
            colleague.get_by_text("Per category").first.wait_for()
            assert _metric(colleague, "Accuracy") == accuracy
            assert colleague.get_by_role("button", name="Train").count() == 0
            assert_no_traceback(colleague)
            screenshot(colleague, "customer_service_shared_link")
        finally:
            other.close()
    finally:
        ctx.close()
