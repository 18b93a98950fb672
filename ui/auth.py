"""Sign-in: Streamlit's own `st.login` / `st.user` / `st.logout`, on when secrets.toml has `[auth]`.

With `[auth]` (any OpenID Connect provider) every visitor signs in before any page, and only accounts
whose e-mail address the provider has verified (`email_verified` true; a missing claim is refused) from
an allowed domain (EXPLORER_ALLOWED_DOMAINS="example.com,example.org") may use the app; letting any
account of the provider in takes an explicit EXPLORER_ALLOW_ANY_ACCOUNT=1. Without `[auth]` the app is
open (a demo or a one-person machine) and shared runs are visible to anyone with their link.

Sign-in fails closed: a secrets file that exists but cannot be read (bad TOML, or the folder that
`docker compose` mounts when the file it should mount is missing), an `[auth]` section that lacks what
`st.login` needs, sign-in without an allow-list, or EXPLORER_REQUIRE_SIGN_IN=1 without `[auth]`, gives
every visitor one page that says the app is closed and why, and nothing else.

A signed-out visitor of a share link is sent to the provider; Streamlit always returns to the app's
home after sign-in, so the link's page and run id travel in a short-lived cookie set in the browser
before leaving, and the home page forwards to them once. Only the owner id (the provider's `sub`)
is used for runs; names and e-mail addresses are shown on the page, never logged.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from engine.store import is_run_id

log = logging.getLogger("explorer.auth")

REQUIRE_VAR = "EXPLORER_REQUIRE_SIGN_IN"  # 1: never serve the app without working sign-in
ALLOW_ANY_VAR = "EXPLORER_ALLOW_ANY_ACCOUNT"  # 1: any verified account of the provider (no domain allow-list)
DOMAINS_VAR = "EXPLORER_ALLOWED_DOMAINS"
_AUTH_KEYS = ("redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url")  # st.login()'s
RETURN_COOKIE = "explorer_after_sign_in"
_RETURN = re.compile(r"^([a-z_]{1,40})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9]{16})$")


@dataclass(frozen=True)
class Viewer:
    """The signed-in analyst: `id` is the provider's stable subject id (what runs record as owner)."""

    id: str
    email: str
    name: str


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _unreadable_secrets_file() -> str | None:
    """Why a secrets file that exists cannot be read (Streamlit itself would then carry on without it), or None."""
    from streamlit import config

    for path in config.get_option("secrets.files") or []:
        p = Path(path)
        if not (p.exists() or p.is_symlink()) or not str(path).endswith(".toml"):
            continue  # absent (the usual case), or a folder of secrets (Kubernetes style), which Streamlit reads
        if p.is_dir():
            return (
                f"the secrets file {p.name} is a folder, not a file (a container mounts an empty folder there "
                "when the file it should mount is missing)"
            )
        try:
            tomllib.loads(p.read_text(encoding="utf-8"))
        except OSError as exc:
            return f"the secrets file {p.name} cannot be read ({exc.strerror or type(exc).__name__})"
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            return f"the secrets file {p.name} is not valid TOML ({exc})"
    return None


def _auth_section() -> Mapping[str, Any] | None:
    if not st.secrets.load_if_toml_exists() or "auth" not in st.secrets:
        return None
    section = st.secrets["auth"]
    return section if isinstance(section, Mapping) else {}


_reported: set[str] = set()


def sign_in_problem() -> str | None:
    """Why this server must stay closed (sign-in is wanted but cannot work as configured), or None.

    Checked on every page run, so a fixed file opens the app without a restart."""
    reason = _unreadable_secrets_file()
    section = None
    if reason is None:
        try:
            section = _auth_section()
        except Exception as exc:  # noqa: BLE001 - whatever Streamlit raised, the app must not open
            reason = f"its secrets could not be loaded ({type(exc).__name__})"
    if reason is None and section is None and _flag(REQUIRE_VAR):
        reason = f"{REQUIRE_VAR}=1 is set, but no [auth] section was found in .streamlit/secrets.toml"
    if reason is None and section is not None:
        missing = [k for k in _AUTH_KEYS if not section.get(k)]
        if missing:
            reason = f"the [auth] section of its secrets lacks {', '.join(missing)}"
        elif importlib.util.find_spec("authlib") is None:
            reason = "Authlib, which sign-in needs, is not installed (pip install Authlib)"
        elif not allowed_domains() and not _flag(ALLOW_ANY_VAR):
            reason = (
                f"sign-in is on, but no e-mail domain is allowed: set {DOMAINS_VAR} (for example example.com), "
                f"or {ALLOW_ANY_VAR}=1 to let in any account the provider has verified"
            )
    if reason is None:
        return None
    sentence = (
        f"This app is closed: its sign-in is not set up correctly, so nobody can be let in safely — {reason}. "
        "An administrator of this server needs to fix it and restart the app."
    )
    if sentence not in _reported:
        _reported.add(sentence)
        log.error("sign-in is misconfigured, every page is closed: %s", reason)
    return sentence


def sign_in_enabled() -> bool:
    """True when the deployment configured OpenID Connect (`[auth]` in .streamlit/secrets.toml) and it can work;
    see `sign_in_problem` for a configuration that closes the app instead."""
    try:
        return sign_in_problem() is None and _auth_section() is not None
    except Exception:  # noqa: BLE001 - sign_in_problem already closed the app for this
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
    """E-mail domains allowed to use the app (EXPLORER_ALLOWED_DOMAINS, comma separated)."""
    raw = os.environ.get(DOMAINS_VAR, "")
    return [d.strip().lower().lstrip("@") for d in raw.split(",") if d.strip()]


def domain_refusal(
    email: str, email_verified: Any = None, domains: list[str] | None = None, allow_any: bool | None = None
) -> str | None:
    """A sentence when this account may not use the app; None when it may.

    The provider must have verified the address (`email_verified` true: a missing claim proves nothing), and
    its domain must be allowed; with no allow-list only an explicit EXPLORER_ALLOW_ANY_ACCOUNT=1 lets any in."""
    domains = allowed_domains() if domains is None else domains
    allow_any = _flag(ALLOW_ANY_VAR) if allow_any is None else allow_any
    domain = email.rsplit("@", 1)[-1].lower() if "@" in email else ""
    if email_verified is not True and str(email_verified).lower() != "true":
        return (
            "Your provider has not confirmed that your e-mail address is verified, so this app cannot check who "
            "you are. Verify the address with your provider (or use an account whose address is verified) and "
            "sign in again."
        )
    if not domains and not allow_any:
        return "This app lets in no accounts yet: its administrator has not said which e-mail domains may use it."
    if domains and domain not in domains:
        listed = ", ".join(domains)
        return (
            f"This app is for accounts from {listed}; you are signed in as {email or 'an account without an e-mail address'}. "
            "Sign out and sign in with an account from one of those domains."
        )
    return None


def may_use_app() -> bool:
    """Sign-in is off (and not wanted), or the visitor is signed in with an allowed account."""
    if sign_in_problem() is not None:
        return False
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
    st.html(
        f"<script>document.cookie = '{RETURN_COOKIE}={value}; path=/; max-age=900; SameSite=Lax';</script>",
        unsafe_allow_javascript=True,
    )


def gate(url_path: str) -> None:
    """Before any page: the sign-in screen (signed out) or the refusal (account not allowed); then stop.

    Signed in and allowed: the account and a sign-out button in the sidebar. Sign-in off: nothing.
    Sign-in wanted but broken (`sign_in_problem`): a page that says the app is closed and why, and nothing else.
    """
    problem = sign_in_problem()
    if problem is not None:
        st.title("AI Scenario Explorer")
        st.error(problem, icon=":material/lock:")
        st.stop()
    if not sign_in_enabled():
        return
    if not _logged_in():
        st.title("AI Scenario Explorer")
        run_id = st.query_params.get("run")
        if is_run_id(run_id) and re.fullmatch(r"[a-z_]{1,40}", url_path or ""):
            st.info(
                "This link opens a shared run. Sign in to see it; you will come back to it afterwards.",
                icon=":material/lock:",
            )
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
    match = _RETURN.fullmatch(value) if isinstance(value, str) else None
    if not match or match.group(1) not in pages:
        return
    used = _used_return_cookies()
    if value in used:
        return
    if len(used) > 10_000:
        used.clear()
    used.add(value)
    st.switch_page(pages[match.group(1)], query_params={"run": match.group(2)})
