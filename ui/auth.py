"""Sign-in: Streamlit's own `st.login` / `st.user` / `st.logout`, on when secrets.toml has `[auth]`.

With `[auth]` (any OpenID Connect provider) every visitor signs in before any page; an optional
allow-list of e-mail domains (EXPLORER_ALLOWED_DOMAINS="example.com,example.org") narrows who may use
the app. Without it the app is open (a demo or a one-person machine) and shared runs are visible to
anyone with their link.

A signed-out visitor of a share link is sent to the provider; Streamlit always returns to the app's
home after sign-in, so the link's page and run id travel in a short-lived cookie set in the browser
before leaving, and the home page forwards to them once. Only the owner id (the provider's `sub`)
is used for runs; names and e-mail addresses are shown on the page, never logged.
"""
from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from typing import Any

import streamlit as st

from engine.store import is_run_id

RETURN_COOKIE = "explorer_after_sign_in"
_RETURN = re.compile(r"^([a-z_]{1,40})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9]{16})$")


@dataclass(frozen=True)
class Viewer:
    """The signed-in analyst: `id` is the provider's stable subject id (what runs record as owner)."""
    id: str
    email: str
    name: str


def sign_in_enabled() -> bool:
    """True when the deployment configured OpenID Connect (`[auth]` in .streamlit/secrets.toml)."""
    try:
        return bool(st.secrets.load_if_toml_exists()) and "auth" in st.secrets
    except Exception:  # an unreadable secrets file: the server log has Streamlit's own message
        return False


def _logged_in() -> bool:
    return bool(st.user.get("is_logged_in", False))


def viewer() -> Viewer | None:
    """The signed-in analyst, or None (signed out, or sign-in is off)."""
    if not sign_in_enabled() or not _logged_in():
        return None
    user: dict[str, Any] = st.user.to_dict()
    sub = str(user.get("sub") or user.get("email") or "")
    if not sub:
        return None
    email = str(user.get("email") or "")
    return Viewer(id=sub, email=email, name=str(user.get("name") or email or "you"))


def viewer_id() -> str | None:
    """The owner id recorded on runs this analyst creates (None when signed out or sign-in is off)."""
    v = viewer()
    return v.id if v else None


def allowed_domains() -> list[str]:
    """E-mail domains allowed to use the app (EXPLORER_ALLOWED_DOMAINS, comma separated); empty: any."""
    raw = os.environ.get("EXPLORER_ALLOWED_DOMAINS", "")
    return [d.strip().lower().lstrip("@") for d in raw.split(",") if d.strip()]


def domain_refusal(email: str, email_verified: Any = None, domains: list[str] | None = None) -> str | None:
    """A sentence when this account may not use the app; None when it may."""
    domains = allowed_domains() if domains is None else domains
    if not domains:
        return None
    domain = email.rsplit("@", 1)[-1].lower() if "@" in email else ""
    if email_verified is False:
        return "Your provider has not verified your e-mail address, so this app cannot check who you are. Verify it and sign in again."
    if domain not in domains:
        listed = ", ".join(domains)
        return (f"This app is for accounts from {listed}; you are signed in as {email or 'an account without an e-mail address'}. "
                "Sign out and sign in with an account from one of those domains.")
    return None


def may_use_app() -> bool:
    """Sign-in is off, or the visitor is signed in with an allowed account."""
    if not sign_in_enabled():
        return True
    if not _logged_in():
        return False
    return domain_refusal(str(st.user.get("email") or ""), st.user.get("email_verified")) is None


@st.cache_resource(show_spinner=False)
def _used_return_cookies() -> set[str]:
    """Return cookies already followed (each forwards once)."""
    return set()


def _remember_return(url_path: str, run_id: str) -> None:
    """Set, in the browser, where to go after sign-in (15 minutes; only a page name and a run id)."""
    value = f"{url_path}.{run_id}.{secrets.token_hex(8)}"
    st.html(f"<script>document.cookie = '{RETURN_COOKIE}={value}; path=/; max-age=900; SameSite=Lax';</script>",
            unsafe_allow_javascript=True)


def gate(url_path: str) -> None:
    """Before any page: the sign-in screen (signed out) or the refusal (account not allowed); then stop.

    Signed in and allowed: the account and a sign-out button in the sidebar. Sign-in off: nothing.
    """
    if not sign_in_enabled():
        return
    if not _logged_in():
        st.title("AI Scenario Explorer")
        run_id = st.query_params.get("run")
        if is_run_id(run_id) and re.fullmatch(r"[a-z_]{1,40}", url_path or ""):
            st.info("This link opens a shared run. Sign in to see it; you will come back to it afterwards.",
                    icon=":material/lock:")
            _remember_return(url_path, run_id)
        else:
            st.markdown("This app is for signed-in members of this team. Sign in to start.")
        if st.button("Sign in", type="primary", icon=":material/login:", key="auth_sign_in"):
            st.login()
        st.stop()
    email = str(st.user.get("email") or "")
    refusal = domain_refusal(email, st.user.get("email_verified"))
    if refusal:
        st.title("AI Scenario Explorer")
        st.warning(refusal, icon=":material/block:")
        if st.button("Sign out", key="auth_sign_out_refused"):
            st.logout()
        st.stop()
    v = viewer()
    with st.sidebar:
        st.caption(f"Signed in as **{v.name}**" + (f" ({email})" if email and email != v.name else ""))
        if st.button("Sign out", icon=":material/logout:", key="auth_sign_out"):
            st.logout()


def return_after_sign_in(pages: dict[str, Any]) -> None:
    """Once signed in, forward to the share link that sent the visitor to sign in (if any, once)."""
    if not sign_in_enabled() or not _logged_in() or st.query_params.get("run"):
        return
    value = st.context.cookies.get(RETURN_COOKIE) or ""
    match = _RETURN.fullmatch(value)
    if not match or match.group(1) not in pages:
        return
    used = _used_return_cookies()
    if value in used:
        return
    if len(used) > 10_000:
        used.clear()
    used.add(value)
    st.switch_page(pages[match.group(1)], query_params={"run": match.group(2)})
