"""The app with EXPLORER_RUNNER=ray, joined to the test session's local Ray instance (RAY_ADDRESS):
the home page says where jobs run, Diagnosis trains on its sample, and a reload with `?job=`
while it trains finds the same job again (no second Train click)."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser.conftest import ARTIFACTS, SCREENSHOTS, _require_browser, assert_no_traceback, screenshot, wait_idle
from tests.servers import StreamlitServer

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def ray_app_url(ray_runner):
    import ray

    _require_browser()
    log = ARTIFACTS / "streamlit-ray-server.log"
    log.unlink(missing_ok=True)
    env = {"EXPLORER_RUNNER": "ray", "RAY_ADDRESS": ray.get_runtime_context().gcs_address}
    with StreamlitServer(log, env=env, timeout=60) as server:
        yield server.url


def _viewport_shot(page, locator, name: str) -> None:
    """What the analyst sees around `locator` (Streamlit scrolls an inner container, so full-page shots
    show only the top)."""
    locator.first.scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def test_diagnosis_trains_on_ray_and_a_reload_reattaches(browser, ray_app_url):
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    page = ctx.new_page()
    page.set_default_timeout(90_000)
    try:
        page.goto(ray_app_url)
        page.get_by_text("Training jobs run on the Ray cluster").wait_for()
        assert "2 CPUs" in page.get_by_text("Training jobs run on the Ray cluster").inner_text()
        screenshot(page, "ray_home")
        page.goto(f"{ray_app_url}/diagnosis")
        page.get_by_role("button", name="Train").wait_for()
        wait_idle(page)
        assert page.get_by_text("Cluster options").count() == 1  # "Train on N workers" is offered on Ray
        page.get_by_role("button", name="Train").click()
        page.wait_for_function("() => location.search.includes('job=')")
        job_id = parse_qs(urlsplit(page.url).query)["job"][0]
        page.reload()  # a new session: only the URL knows the job
        page.get_by_role("button", name="Cancel training").wait_for(timeout=30_000)  # still training, re-attached
        assert page.get_by_role("button", name="Train", exact=True).count() == 0
        _viewport_shot(page, page.get_by_role("button", name="Cancel training"), "ray_reattached_while_training")
        page.get_by_text("ROC curve").first.wait_for(timeout=180_000)
        assert page.get_by_text("Trained in").count() == 1
        assert parse_qs(urlsplit(page.url).query)["job"][0] == job_id
        assert "0." in page.get_by_test_id("stMetric").filter(has_text="ROC-AUC").first.inner_text()
        assert_no_traceback(page)
        _viewport_shot(page, page.get_by_text("Trained in"), "ray_diagnosis_results")
    finally:
        ctx.close()
