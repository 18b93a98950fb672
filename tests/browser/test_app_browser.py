"""App-wide browser checks: the home page, and a page opened directly as the first request."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

from tests.browser.conftest import ROOT, _free_port, _require_browser, assert_no_traceback

TITLES = ["Home", "Diagnosis", "Retail segmentation", "Digit recognizer", "Fraud detection", "Demand forecast"]


def test_a_direct_link_as_the_first_request_runs_through_the_app(browser, tmp_path):
    """A shared link is often the first thing a freshly started server sees: it must get the app's
    navigation and page config, not a page run on its own."""
    _require_browser()
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true", "--server.address=127.0.0.1",
         f"--server.port={port}"], cwd=ROOT, stdout=open(tmp_path / "server.log", "w"), stderr=subprocess.STDOUT,
        env={**os.environ, "EXPLORER_RUN_STORE": str(tmp_path / "runs")},
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.3)
        ctx = browser.new_context(viewport={"width": 1280, "height": 1200})
        page = ctx.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{url}/fraud")
        page.get_by_text("1 · Data").first.wait_for()
        nav = page.get_by_test_id("stSidebarNav").inner_text()
        for title in TITLES:
            assert title in nav, nav
        assert "segmentation\n" not in nav.lower().replace("retail segmentation", "")
        assert_no_traceback(page)
        ctx.close()
    finally:
        proc.terminate()
        proc.wait(10)


def test_home_page_lists_every_scenario_and_the_device(page, app_url):
    page.goto(app_url)
    page.get_by_text("Models train on").wait_for()
    body = page.locator("body").inner_text()
    for title in TITLES[1:]:
        assert title in body
    assert "CPU" in body or "GPU" in body
    assert_no_traceback(page)
