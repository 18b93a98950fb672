"""The README's Ray trial as written: `EXPLORER_RUNNER=ray streamlit run app.py` with no RAY_ADDRESS starts a
local Ray instance inside the server. The home page says where jobs run, Diagnosis trains on its sample, a reload
with `?job=` while it trains finds the same job again (no second Train click), and a tab closed while its job
trains has that job cancelled (the Streamlit session ended)."""

from __future__ import annotations

import os
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser.conftest import ARTIFACTS, SCREENSHOTS, _require_browser, assert_no_traceback, screenshot, wait_idle
from tests.servers import StreamlitServer

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def ray_app():
    _require_browser()
    try:
        import ray  # noqa: F401
    except ImportError:
        reason = "the Ray trial needs the ray extra: pip install -e '.[ray,test]' (.ci/run does)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI must run the Ray tests, but " + reason, pytrace=False)
        pytest.skip(reason)
    log = ARTIFACTS / "streamlit-ray-server.log"
    log.unlink(missing_ok=True)
    # The README's trial command, and only it (a short grace before a closed tab's jobs are cancelled, for the test).
    server = StreamlitServer(log, env={"EXPLORER_RUNNER": "ray", "EXPLORER_SESSION_GRACE_SECONDS": "2"}, timeout=90)
    for var in ("RAY_ADDRESS", "EXPLORER_RAY_LOCAL_CPUS", "EXPLORER_RAY_OBJECT_STORE_MB"):
        server.env.pop(var, None)
    with server:
        yield server.url, log


def _viewport_shot(page, locator, name: str) -> None:
    """What the analyst sees around `locator` (Streamlit scrolls an inner container, so full-page shots
    show only the top)."""
    locator.first.scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def test_the_trial_trains_on_ray_a_reload_reattaches_and_a_closed_tab_cancels(browser, ray_app):
    url, log = ray_app
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    page = ctx.new_page()
    page.set_default_timeout(120_000)
    try:
        page.goto(url)
        page.get_by_text("Training jobs run on the Ray cluster").wait_for()
        assert f"{os.cpu_count()} CPUs" in page.get_by_text("Training jobs run on the Ray cluster").inner_text()
        screenshot(page, "ray_home")
        page.goto(f"{url}/diagnosis")
        page.get_by_role("button", name="Train").wait_for()
        wait_idle(page)
        if (os.cpu_count() or 1) >= 2:
            assert page.get_by_text("Cluster options").count() == 1  # "Train on N workers" is offered on Ray
        page.get_by_role("button", name="Train").click()
        page.wait_for_function("() => location.search.includes('job=')")
        job_id = parse_qs(urlsplit(page.url).query)["job"][0]
        page.reload()  # a new session: only the URL knows the job
        page.get_by_role("button", name="Cancel training").wait_for(timeout=60_000)  # still training, re-attached
        assert page.get_by_role("button", name="Train", exact=True).count() == 0
        _viewport_shot(page, page.get_by_role("button", name="Cancel training"), "ray_reattached_while_training")
        page.get_by_text("ROC curve").first.wait_for(timeout=240_000)
        assert page.get_by_text("Trained in").count() == 1
        assert parse_qs(urlsplit(page.url).query)["job"][0] == job_id
        assert "0." in page.get_by_test_id("stMetric").filter(has_text="ROC-AUC").first.inner_text()
        assert_no_traceback(page)
        _viewport_shot(page, page.get_by_text("Trained in"), "ray_diagnosis_results")
    finally:
        ctx.close()

    # A tab that closes while its job trains: the job is cancelled once its session has gone (here after 2 s).
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    page = ctx.new_page()
    page.set_default_timeout(120_000)
    page.goto(f"{url}/diagnosis?dx_epochs=2000&dx_patience=2000&dx_seed=7")  # trains for minutes
    page.get_by_role("button", name="Train").click()
    page.get_by_role("button", name="Cancel training").wait_for()
    ctx.close()
    deadline = time.time() + 60
    while time.time() < deadline and "of a browser session that ended" not in log.read_text():
        time.sleep(0.5)
    assert "cancelled 1 training job of a browser session that ended" in log.read_text()
