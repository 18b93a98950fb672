"""Browser tests: a real Streamlit server on a free loopback port and headless Chromium.

Outside CI a missing Chromium skips these tests with the reason; with CI=true it fails them.
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from tests.servers import StreamlitServer, free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.browser


def _require_browser() -> None:
    missing = [] if os.path.exists(CHROMIUM) else [f"Chromium ({CHROMIUM})"]
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("the playwright package")
    if missing:
        reason = f"browser tests need {' and '.join(missing)}: run `apt-get install -y chromium` (.ci/run does)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI must run the browser tests, but " + reason, pytrace=False)
        pytest.skip(reason)


_free_port = free_port  # older imports


@pytest.fixture(scope="session")
def app_url():
    """Start `streamlit run app.py` once for all browser tests; its log goes to artifacts/."""
    _require_browser()
    log = ARTIFACTS / "streamlit-server.log"
    log.unlink(missing_ok=True)
    with StreamlitServer(log, timeout=60) as server:
        yield server.url


@pytest.fixture(scope="session")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, app_url):
    """A fresh browser context (a new user) with a tall viewport; fails the test on a rendered traceback."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 1600})
    pg = ctx.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    ctx.close()


def open_page(page, app_url: str, url_path: str = "") -> None:
    """Open a page of the app and wait until Streamlit has rendered it."""
    page.goto(f"{app_url}/{url_path}")
    page.get_by_test_id("stApp").wait_for()
    wait_idle(page)


def wait_idle(page, timeout: float = 60) -> None:
    """Wait until the script has finished running (Streamlit shows a status widget while running)."""
    deadline = time.time() + timeout
    time.sleep(0.5)
    while time.time() < deadline:
        if page.locator('[data-testid="stStatusWidget"]').count() == 0:
            return
        time.sleep(0.3)


def upload(page, path: Path, index: int = 0, label: str | None = None) -> None:
    """Upload into the index-th *visible* file uploader (or the one whose label contains `label`)."""
    uploaders = page.get_by_test_id("stFileUploader").filter(visible=True)
    if label is not None:
        uploaders = uploaders.filter(has_text=label)
    uploaders.nth(index).locator('input[type="file"]').set_input_files(str(path))
    wait_idle(page)


def assert_no_traceback(page) -> None:
    text = page.locator("body").inner_text()
    assert "Traceback" not in text, "a traceback reached the page"
    assert page.get_by_test_id("stException").count() == 0, "an exception box reached the page"


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^a-z0-9_-]+', '_', name.lower())}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
