"""Sign-in with a real OpenID Connect provider on localhost (oidc-provider-mock) and the app's `[auth]`
pointing at it: alice shares a run with everyone signed in, bob (signed out) signs in and lands on it,
alice deletes the link and it stops working, an "only me" link gives bob a sentence, and an account
outside the allowed domain is refused. The secrets file lives in a temp folder (`--secrets.files`).
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
from pathlib import Path

import pytest

from tests.browser.conftest import ROOT, _require_browser, assert_no_traceback, screenshot, wait_idle
from tests.servers import StreamlitServer, free_port

USERS = {
    "alice": {"email": "alice@example.com", "email_verified": True, "name": "Alice Analyst"},
    "bob": {"email": "bob@example.com", "email_verified": True, "name": "Bob Colleague"},
    "mallory": {"email": "mallory@elsewhere.test", "email_verified": True, "name": "Mallory"},
    "eve": {"email": "eve@example.com", "name": "Eve"},  # an allowed domain, but no email_verified claim
}


@pytest.fixture(scope="module")
def provider():
    """A real OIDC provider on a free localhost port, with three users and their claims."""
    try:
        import oidc_provider_mock as oidc
    except ImportError:
        reason = "the sign-in test needs the oidc-provider-mock package (the test extra: pip install -e '.[test]')"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI must run the sign-in test, but " + reason, pytrace=False)
        pytest.skip(reason)
    with oidc.run_server_in_thread() as server:
        base = f"http://localhost:{server.server_port}"
        for sub, claims in USERS.items():
            req = urllib.request.Request(
                f"{base}/users/{sub}",
                data=json.dumps(claims).encode(),
                method="PUT",
                headers={"Content-Type": "application/json"},
            )
            assert urllib.request.urlopen(req, timeout=10).status == 204
        yield base


@pytest.fixture(scope="module")
def signed_app(provider, tmp_path_factory):
    """The app with `[auth]` for the provider, an allow-list of example.com and its own run store."""
    _require_browser()
    tmp = tmp_path_factory.mktemp("signed_app")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    secrets = tmp / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "{url}/oauth2callback"\n'
        'cookie_secret = "a-throwaway-secret-for-this-test-only"\n'
        'client_id = "ai-scenario-explorer"\n'
        'client_secret = "any-secret-the-mock-accepts"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n'
    )
    log_path = ROOT / "artifacts" / "streamlit-signed-in-server.log"
    log_path.unlink(missing_ok=True)
    env = {
        "EXPLORER_RUN_STORE": str(tmp / "runs"),
        "EXPLORER_ALLOWED_DOMAINS": "example.com",
        "EXPLORER_RUN_TTL_DAYS": "14",
    }
    with StreamlitServer(log_path, env=env, args=[f"--secrets.files={secrets}"], port=port, timeout=60):
        yield url, tmp / "runs", log_path


def _person(browser):
    """A new browser profile (its own cookies) at the analyst's window size."""
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    ctx.route("https://cdn.jsdelivr.net/**", lambda route: route.abort())  # the provider's stylesheet; offline here
    page = ctx.new_page()
    page.set_default_timeout(180_000)  # the shared machines are often busy
    return ctx, page


def _sign_in(page, sub: str) -> None:
    """On the app's sign-in screen: press Sign in, then authorize as `sub` on the provider's form."""
    page.get_by_role("button", name="Sign in").click()
    page.locator('input[name="sub"]').wait_for()
    page.locator('input[name="sub"]').fill(sub)
    page.get_by_role("button", name="Authorize").click()


def _store_runs(root: Path) -> set[str]:
    return (
        {p.name for p in (root / "runs").iterdir() if not p.name.startswith(".")} if (root / "runs").exists() else set()
    )


def _create_link(page, who: str) -> str:
    page.get_by_test_id("stRadio").get_by_text(who, exact=True).click()
    wait_idle(page)
    assert page.get_by_role("radio", name=who).is_checked()
    page.get_by_role("button", name="Create share link").click()
    code = page.get_by_test_id("stCode").filter(has_text="?run=").first
    code.wait_for()
    return code.inner_text().strip()


def test_alice_shares_bob_signs_in_to_see_it_and_deleted_or_private_links_say_so(browser, signed_app):
    url, store, log_path = signed_app
    alice_ctx, alice = _person(browser)
    bob_ctx, bob = _person(browser)
    try:
        # alice: every page waits behind sign-in; she signs in and trains Diagnosis on the sample
        alice.goto(f"{url}/diagnosis")
        alice.get_by_role("button", name="Sign in").wait_for()
        assert alice.get_by_text("1 · Data").count() == 0
        screenshot(alice, "sign_in_screen")
        _sign_in(alice, "alice")
        alice.get_by_text("Signed in as").wait_for()
        assert "Alice Analyst" in alice.get_by_test_id("stSidebar").inner_text()
        alice.goto(f"{url}/diagnosis?dx_epochs=5")  # a new session, still signed in (the cookie); the fewest epochs
        alice.get_by_text("Signed in as").wait_for()
        alice.get_by_role("button", name="Train").click()
        alice.get_by_text("ROC curve").first.wait_for(timeout=240_000)
        assert _store_runs(store) == set(), "training stored a run before alice asked for a link"
        alice.get_by_role("tab", name="Share").click()
        alice.get_by_text("kept until").first.wait_for()
        alice.get_by_role("button", name="Create share link").scroll_into_view_if_needed()
        screenshot(alice, "share_tab_before_a_link")
        link = _create_link(alice, "Anyone signed in to this app")
        screenshot(alice, "share_link_signed_in")
        run_id = link.split("?run=")[1]
        assert link == f"{url}/diagnosis?run={run_id}" and _store_runs(store) == {run_id}

        # bob, signed out, opens the link: he is asked to sign in, then lands on the run
        bob.goto(link)
        bob.get_by_text("This link opens a shared run").wait_for()
        assert bob.get_by_text("ROC curve").count() == 0
        _sign_in(bob, "bob")
        bob.get_by_text("A shared run").wait_for()
        bob.get_by_text("ROC curve").first.wait_for()
        assert f"run={run_id}" in bob.url and bob.get_by_role("button", name="Delete this link").count() == 0
        assert_no_traceback(bob)
        screenshot(bob, "bob_sees_the_shared_run")

        # alice deletes it: the run's files go and bob's reload says it was deleted
        alice.get_by_role("button", name="Delete this link").click()
        alice.get_by_role("button", name="Create share link").wait_for()
        assert _store_runs(store) == set()
        bob.goto(link)
        bob.get_by_text("was deleted by the analyst who created it").wait_for()
        assert bob.get_by_text("A shared run").count() == 0

        # an "only me" link: alice sees it on My runs; bob gets a sentence, never the data
        private = _create_link(alice, "Only me")
        alice.get_by_test_id("stSidebarNav").get_by_text("My runs").click()
        alice.get_by_role("heading", name="My runs").wait_for()
        alice.get_by_text("Only me · kept until").wait_for()
        alice.get_by_test_id("stCode").filter(has_text=private).wait_for()
        assert alice.get_by_test_id("stCode").count() == 1  # the deleted link is not listed
        screenshot(alice, "my_runs_signed_in")
        bob.goto(private)
        bob.get_by_text("kept it to themselves").wait_for()
        assert bob.get_by_text("A shared run").count() == 0 and bob.get_by_text("ROC curve").count() == 0
        assert_no_traceback(bob)
        bob.goto(f"{url}/my_runs")
        bob.get_by_text("not created any share links").wait_for()  # alice's runs are not listed for bob

        # alice, in a new session, trains again: Compare runs offers her saved run from the other session
        alice.goto(f"{url}/diagnosis?dx_epochs=5&dx_dropout=0.1")
        alice.get_by_role("button", name="Train").click()
        alice.get_by_text("1 run of this page in this session, 1 saved on My runs").wait_for(timeout=240_000)
    finally:
        alice_ctx.close()
        bob_ctx.close()
    server_log = log_path.read_text()
    assert re.search(r"run r:[0-9a-f]{10} created on diagnosis", server_log)  # run events name a hash of the run ...
    for personal in ("alice@example.com", "bob@example.com", "Alice Analyst", "Bob Colleague"):
        assert personal not in server_log  # ... and nothing else about the people


def test_an_account_outside_the_allowed_domains_is_refused_and_can_sign_out(browser, signed_app):
    url, _, _ = signed_app
    ctx, page = _person(browser)
    try:
        page.goto(url)
        _sign_in(page, "mallory")
        page.get_by_text("This app is for accounts from example.com").wait_for()
        assert page.get_by_test_id("stSidebarNav").count() == 0
        assert page.get_by_text("Models train on").count() == 0
        assert_no_traceback(page)
        # signing out ends the session at the provider too, and comes back to the sign-in screen
        page.get_by_role("button", name="Sign out").click()
        page.get_by_role("button", name="End session").click()
        page.get_by_role("button", name="Sign in").wait_for()
        page.goto(f"{url}/diagnosis")
        page.get_by_role("button", name="Sign in").wait_for()
        assert page.get_by_text("1 · Data").count() == 0
        # an address of the allowed domain that the provider does not say is verified proves nothing
        _sign_in(page, "eve")
        page.get_by_text("has not confirmed that your e-mail address is verified").wait_for()
        assert page.get_by_test_id("stSidebarNav").count() == 0 and page.get_by_text("1 · Data").count() == 0
        assert_no_traceback(page)
    finally:
        ctx.close()
