"""App-wide browser checks: the home page, and a page opened directly as the first request."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.browser.conftest import ROOT, _require_browser, assert_no_traceback
from tests.pages.sharing import create_share_link
from tests.servers import ServerDidNotStart, StreamlitServer

TITLES = ["Home", "Diagnosis", "Retail segmentation", "Digit recognizer", "Fraud detection", "Demand forecast"]


def test_a_share_link_as_a_fresh_servers_first_request_opens_the_run(browser, tmp_path):
    """A shared link is often the first thing a freshly started server sees: it must get the app's navigation and
    page config (not a page run on its own) and open the stored run without training. The run is made the way an
    analyst makes one (AppTest: train on the sample, Create share link) in the store the new server reads."""
    _require_browser()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    at.switch_page("app_pages/diagnosis.py").run()
    at.button(key="diagnosis_train").click().run()
    job = next(iter(at.session_state["_explorer_jobs"].values()))
    assert job.wait(180) and job.status == "done", job.error
    at.run()
    auc = {m.label: m.value for m in at.metric}["ROC-AUC"]
    run_id = create_share_link(at, "diagnosis")

    # a server that has answered nothing yet (StreamlitServer fails the test if it never becomes healthy)
    with StreamlitServer(tmp_path / "server.log", timeout=90) as server:
        ctx = browser.new_context(viewport={"width": 1366, "height": 768})
        page = ctx.new_page()
        page.set_default_timeout(90_000)
        page.goto(f"{server.url}/diagnosis?run={run_id}")
        card = page.get_by_test_id("stMetric").filter(has_text="ROC-AUC").first
        card.wait_for()
        assert auc in card.inner_text(), (auc, card.inner_text())
        nav = page.get_by_test_id("stSidebarNav").inner_text()
        for title in TITLES:
            assert title in nav, nav
        assert "segmentation\n" not in nav.lower().replace("retail segmentation", "")
        assert page.get_by_text("reopened without training").count() >= 1  # the shared run's banner
        assert_no_traceback(page)
        ctx.close()


def test_a_server_that_cannot_start_fails_the_wait(tmp_path):
    """The health wait of every browser test fails, with the log's path, when the server never answers."""
    with pytest.raises(ServerDidNotStart, match="did not answer"):
        StreamlitServer(tmp_path / "bad.log", args=["--server.port=not-a-port"], timeout=20).start()


def test_home_page_lists_every_scenario_and_the_device(page, app_url):
    page.goto(app_url)
    page.get_by_text("Models train on").wait_for()
    body = page.locator("body").inner_text()
    for title in TITLES[1:]:
        assert title in body
    assert "CPU" in body or "GPU" in body
    assert_no_traceback(page)
