"""The app served through deploy/nginx.conf (nginx from Debian, a throwaway certificate, the session's app server as
its one replica): the page loads and trains under the shipped content security policy with no violation in the
console, every answer carries HSTS and the CSP, plain HTTP only redirects to HTTPS, and a client hammering the
server is slowed to 429s by limit_req."""

from __future__ import annotations

import ssl
import subprocess
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import assert_no_traceback, screenshot, wait_idle
from tests.deploy.test_container import _nginx, local_proxy_config
from tests.servers import free_port

pytestmark = pytest.mark.browser
_UNVERIFIED = ssl._create_unverified_context()  # the throwaway certificate


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture(scope="module")
def proxy(app_url, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nginx")
    https_port, http_port = free_port(), free_port()
    main = local_proxy_config(tmp, urlsplit(app_url).netloc, https_port, http_port)
    main.write_text("master_process off;\n" + main.read_text())  # one process as this user: no worker user to switch to
    server = subprocess.Popen(
        [_nginx(), "-p", str(tmp), "-c", str(main), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"https://127.0.0.1:{https_port}"
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", context=_UNVERIFIED, timeout=5)
                break
            except OSError:
                assert server.poll() is None, (tmp / "error.log").read_text()
                time.sleep(0.3)
        yield url, f"http://127.0.0.1:{http_port}"
    finally:
        server.terminate()
        server.wait(15)


def test_the_app_trains_under_the_shipped_csp_with_no_violation(browser, proxy):
    url, _ = proxy
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, ignore_https_errors=True)
    page = ctx.new_page()
    page.set_default_timeout(120_000)
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    try:
        answer = page.goto(url)
        headers = answer.all_headers()
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["strict-transport-security"].startswith("max-age=")
        page.get_by_text("Models train on").wait_for()
        page.get_by_test_id("stSidebarNav").get_by_text("Diagnosis").click()
        page.get_by_text("1 · Data").wait_for()
        page.goto(f"{url}/diagnosis?dx_epochs=10")
        page.get_by_role("button", name="Train").click()
        page.get_by_text("ROC curve").first.wait_for(timeout=240_000)
        page.locator(".js-plotly-plot").first.wait_for()  # plotly draws under the policy
        wait_idle(page)
        assert_no_traceback(page)
        screenshot(page, "diagnosis_behind_the_proxy")
    finally:
        ctx.close()
    violations = [m for m in console if "Content Security Policy" in m or "Refused to" in m]
    # The one request Streamlit makes to another site: the tab's icon (page_icon=":material/…:") from Google's font
    # server. The policy blocks it on purpose (no visitor's address goes to Google); the tab shows no icon.
    violations = [m for m in violations if "fonts.gstatic.com/s/i/short-term/release/materialsymbols" not in m]
    assert not violations, violations


def test_plain_http_only_redirects_and_limit_req_answers_429(proxy):
    url, plain = proxy
    opener = urllib.request.build_opener(_NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(f"{plain}/diagnosis?run=x", timeout=10)
    assert redirect.value.code == 301 and redirect.value.headers["Location"].startswith("https://")
    codes = []
    for _ in range(400):  # far beyond 20 a second with a burst of 200
        try:
            codes.append(urllib.request.urlopen(f"{url}/_stcore/health", context=_UNVERIFIED, timeout=10).status)
        except urllib.error.HTTPError as exc:
            codes.append(exc.code)
    assert codes.count(200) >= 150 and codes.count(429) >= 50, {c: codes.count(c) for c in set(codes)}
