"""Sign-in fails closed (issue 23): a secrets file that exists but cannot be read, an [auth] without an allow-list,
or EXPLORER_REQUIRE_SIGN_IN=1 without [auth] gives every visitor a page that says the app is closed and why, and
nothing else; signed in, an address the provider has not verified (or says nothing about) is refused."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.util import patch_config_options

from tests.conftest import ROOT

APP = str(ROOT / "app.py")
AUTH = (
    '[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"\ncookie_secret = "a-test-secret"\n'
    'client_id = "explorer"\nclient_secret = "any"\n'
    'server_metadata_url = "http://127.0.0.1:9/.well-known/openid-configuration"\n'
)


@pytest.fixture(autouse=True)
def _no_sign_in_settings(monkeypatch):
    for var in ("EXPLORER_REQUIRE_SIGN_IN", "EXPLORER_ALLOW_ANY_ACCOUNT", "EXPLORER_ALLOWED_DOMAINS"):
        monkeypatch.delenv(var, raising=False)


def _visit(secrets_path, page: str = "", user: dict | None = None) -> AppTest:
    """The app as a visitor sees it with `secrets_path` as its only secrets file."""
    import streamlit as st

    st.secrets._reset()  # the process-wide secrets: read the file again, as a fresh server would
    with patch_config_options({"secrets.files": [str(secrets_path)]}):
        at = AppTest.from_file(APP, default_timeout=60)
        if user is not None:
            at.user = user
        at.run()
        if page:
            at.switch_page(page).run()
    st.secrets._reset()
    assert not at.exception
    return at


def _closed(at: AppTest) -> str:
    """The closed page's sentence; fails unless the page shows that and nothing else."""
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("This app is closed"), errors
    assert not at.button and not at.get("file_uploader") and not at.subheader and not at.info
    assert [t.value for t in at.title] == ["AI Scenario Explorer"] and not at.markdown
    return errors[0]


def _broken_toml(tmp_path):
    path = tmp_path / "secrets.toml"
    path.write_text(AUTH.replace('client_id = "explorer"', 'client_id = "explorer'))  # one missing quote
    return path


def _a_folder(tmp_path):
    path = tmp_path / "secrets.toml"
    path.mkdir()  # what `docker compose` mounts when the file it should mount is missing
    return path


@pytest.mark.parametrize("make, words", [(_broken_toml, "is not valid TOML"), (_a_folder, "is a folder")])
@pytest.mark.parametrize("page", ["", "app_pages/diagnosis.py"])
def test_an_unreadable_secrets_file_closes_every_page(tmp_path, make, words, page):
    sentence = _closed(_visit(make(tmp_path), page))
    assert words in sentence and "Traceback" not in sentence


def test_require_sign_in_without_auth_closes_the_app(tmp_path, monkeypatch):
    absent = tmp_path / "secrets.toml"
    assert "Models train on" in " ".join(i.value for i in _visit(absent).info)  # nothing required: the open demo
    monkeypatch.setenv("EXPLORER_REQUIRE_SIGN_IN", "1")
    assert "EXPLORER_REQUIRE_SIGN_IN=1" in _closed(_visit(absent))
    (tmp_path / "secrets.toml").write_text('[other]\nkey = "value"\n')
    assert "no [auth] section" in _closed(_visit(absent))


def test_auth_needs_an_allow_list_or_an_explicit_any_account(tmp_path, monkeypatch):
    path = tmp_path / "secrets.toml"
    path.write_text(AUTH)
    assert "EXPLORER_ALLOWED_DOMAINS" in _closed(_visit(path))
    monkeypatch.setenv("EXPLORER_ALLOWED_DOMAINS", "example.com")
    at = _visit(path)
    assert at.button(key="auth_sign_in") and not at.error  # now the sign-in screen
    monkeypatch.delenv("EXPLORER_ALLOWED_DOMAINS")
    monkeypatch.setenv("EXPLORER_ALLOW_ANY_ACCOUNT", "1")
    assert _visit(path).button(key="auth_sign_in")
    path.write_text(AUTH.replace('cookie_secret = "a-test-secret"\n', ""))  # an [auth] that cannot work
    assert "lacks cookie_secret" in _closed(_visit(path))


@pytest.mark.parametrize("verified, let_in", [(True, True), (None, False), (False, False), ("false", False)])
def test_a_signed_in_account_needs_a_verified_address(tmp_path, monkeypatch, verified, let_in):
    path = tmp_path / "secrets.toml"
    path.write_text(AUTH)
    monkeypatch.setenv("EXPLORER_ALLOW_ANY_ACCOUNT", "1")  # even when any account of the provider may come in
    user = {"is_logged_in": True, "sub": "u-1", "email": "ann@example.com", "name": "Ann"}
    if verified is not None:
        user["email_verified"] = verified
    at = _visit(path, user=user)
    refused = [w.value for w in at.warning if "verified" in w.value]
    assert bool(refused) != let_in
    assert ("Models train on" in " ".join(i.value for i in at.info)) == let_in
