"""An analyst's path through Diagnosis in a real browser: upload, train, read, explain, bad file."""
from __future__ import annotations

from tests.browser.conftest import assert_no_traceback, open_page, screenshot, upload, wait_idle
from tests.conftest import SAMPLES


def test_upload_cleveland_train_and_explain(page, app_url):
    open_page(page, app_url)
    page.get_by_test_id("stSidebarNav").get_by_text("Diagnosis").click()
    page.get_by_text("Upload my own CSV").click()
    wait_idle(page)
    upload(page, SAMPLES / "heart_disease_cleveland.csv")
    page.get_by_text("303", exact=True).first.wait_for()  # the row count of the preview
    page.get_by_role("button", name="Train").click()
    page.get_by_text("ROC curve").first.wait_for(timeout=90_000)
    assert page.get_by_test_id("stMetric").filter(has_text="ROC-AUC").count() >= 1
    roc = page.get_by_test_id("stMetric").filter(has_text="ROC-AUC").first.inner_text()
    assert "0." in roc
    screenshot(page, "diagnosis_performance")
    page.get_by_role("tab", name="Explanations").click()
    page.get_by_text("Why this prediction").first.wait_for()
    assert_no_traceback(page)
    screenshot(page, "diagnosis_explanations")

    # Share: nothing is stored until the analyst creates the link; it reopens the same run for another person
    page.get_by_role("tab", name="Share").click()
    page.get_by_text("Nothing is stored until you press the button").wait_for()
    assert page.get_by_test_id("stCode").filter(has_text="?run=").count() == 0
    page.get_by_role("button", name="Create share link").click()
    page.get_by_test_id("stCode").filter(has_text="?run=").first.wait_for()
    screenshot(page, "diagnosis_share_link_created")
    link = page.get_by_test_id("stCode").filter(has_text="?run=").first.inner_text().strip()
    assert link.startswith(app_url) and "/diagnosis?run=" in link
    other = page.context.browser.new_context(viewport={"width": 1280, "height": 1600})
    try:
        colleague = other.new_page()
        colleague.set_default_timeout(180_000)  # reopening computes explanations; slow on a busy machine
        colleague.goto(link)
        colleague.get_by_text("A shared run").wait_for(timeout=60_000)
        colleague.get_by_text("ROC curve").first.wait_for()
        assert colleague.get_by_test_id("stMetric").filter(has_text="ROC-AUC").first.inner_text() == roc
        assert colleague.get_by_role("button", name="Train").count() == 0
        assert_no_traceback(colleague)
        screenshot(colleague, "diagnosis_shared_link")
        colleague.goto(f"{app_url}/diagnosis?run=../../etc/passwd")
        colleague.get_by_text("This share link is not valid").wait_for()
        colleague.get_by_role("button", name="Train").wait_for()
        assert_no_traceback(colleague)
    finally:
        other.close()


def test_bad_upload_shows_a_sentence_and_the_next_upload_works(page, app_url, tmp_path):
    open_page(page, app_url, "diagnosis")
    page.get_by_text("Upload my own CSV").click()
    wait_idle(page)
    bad = tmp_path / "scan.csv"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    upload(page, bad)
    page.get_by_text("is a PNG image, not a CSV file").wait_for()
    assert_no_traceback(page)
    screenshot(page, "diagnosis_bad_upload")
    upload(page, SAMPLES / "breast_cancer_wisconsin.csv")
    page.get_by_text("569", exact=True).first.wait_for()
    assert_no_traceback(page)
