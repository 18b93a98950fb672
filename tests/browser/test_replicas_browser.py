"""Two app replicas behind one address, with the real shared store: both servers started here share one
throwaway PostgreSQL and one moto S3 bucket (tests/services.py). An analyst segments the mall sample
on replica A and creates a share link; the link opens on replica B with the same figures; replica A
is stopped and started again and the link still opens there; with the database stopped the home page
says sharing is unavailable, in a sentence. (Two replicas saving at once: the
engine-level test test_two_replicas_saving_at_once_both_land[postgresql+s3] in tests/engine/test_store.py.)
Sign-in is off here, so the link is an "anyone with the link" run (issue 13's rule without sign-in)."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import ARTIFACTS, _require_browser, assert_no_traceback, screenshot, wait_idle
from tests.servers import StreamlitServer
from tests.services import S3_ENV, make_bucket, postgres_server, s3_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def replicas():
    """Replicas A and B, started, on one PostgreSQL database and one bucket; and that database's server."""
    _require_browser()
    with postgres_server() as pg, s3_server() as endpoint:
        make_bucket(endpoint, "team-runs")
        env = {
            **S3_ENV,
            "AWS_ENDPOINT_URL": endpoint,
            "EXPLORER_RUN_STORE": pg.create_database(),
            "EXPLORER_ARTIFACTS": "s3://team-runs/explorer",
        }
        a = StreamlitServer(ARTIFACTS / "streamlit-replica-a.log", env=env)
        b = StreamlitServer(ARTIFACTS / "streamlit-replica-b.log", env=env)
        for log in (a.log, b.log):
            log.unlink(missing_ok=True)
        try:
            yield a.start(), b.start(), pg
        finally:
            a.stop()
            b.stop()


def _headline(page) -> list[str]:
    """The headline figures of the Segments tab (Segments, Customers, Silhouette, Largest segment)."""
    page.get_by_test_id("stMetric").filter(has_text="Silhouette").first.wait_for()
    return [
        m.inner_text()
        for m in page.get_by_test_id("stMetric").all()
        if re.match(r"^(Segments|Customers|Silhouette|Largest segment)\s*\n", m.inner_text())
    ]


def _open_link(page, link: str) -> list[str]:
    page.goto(link)
    page.get_by_text("A shared run").first.wait_for(timeout=120_000)
    wait_idle(page)
    assert_no_traceback(page)
    return _headline(page)


def test_a_link_shared_on_one_replica_opens_on_the_other_and_after_a_restart(browser, replicas):
    a, b, pg = replicas
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    page = ctx.new_page()
    page.set_default_timeout(120_000)
    try:
        page.goto(a.url)
        page.get_by_text("Share links are kept in the shared store (PostgreSQL + S3)").first.wait_for()
        home = page.locator("body").inner_text()
        assert (
            "s3://team-runs" not in home and "127.0.0.1" not in home and "Sharing is unavailable" not in home
        )  # the kind only
        screenshot(page, "replicas_home_store_line")

        page.goto(f"{a.url}/segmentation")
        page.get_by_test_id("stRadio").get_by_text(re.compile(r"^Mall customers")).first.click()
        wait_idle(page)
        page.get_by_role("button", name="Find segments").click()
        page.get_by_text("Segment profiles").first.wait_for()
        wait_idle(page)
        trained = _headline(page)
        assert len(trained) == 4, trained

        page.get_by_role("tab", name="Share").click()
        page.get_by_role("button", name="Create share link").click()
        code = page.get_by_test_id("stCode").filter(has_text="?run=").first
        code.wait_for()
        link_a = code.inner_text().strip()
        run_id = link_a.split("?run=")[1]
        assert link_a.startswith(a.url)
        code.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "screenshots" / "replicas_link_created_on_a.png"))

        on_b = _open_link(page, f"{b.url}/segmentation?run={run_id}")  # another replica, same store
        assert on_b == trained
        screenshot(page, "replicas_link_opened_on_b")

        a.stop()  # replica A goes away and comes back on its address
        assert not a.healthy()
        a.start()
        assert _open_link(page, f"{a.url}/segmentation?run={run_id}") == trained

        pg.stop()  # the database goes down: the home page of a running replica says so, in a sentence
        try:
            page.goto(b.url)
            page.get_by_text("Sharing is unavailable until the run store is back").first.wait_for()
            assert_no_traceback(page)
            screenshot(page, "replicas_store_down_home")
        finally:
            pg.start()
    finally:
        ctx.close()
