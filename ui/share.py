"""Share: links an analyst creates (and can delete), `?run=<id>` links reopened, My runs, model files, reports.

Training stores nothing. A finished run is offered for sharing (`shareable_run`); the Share tab says
what a link would store and until when, and stores it only when the analyst presses **Create share
link**. Signed in, the analyst picks who can open it; the creator can delete it here or on My runs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
import traceback
from dataclasses import dataclass, replace
from typing import Any, Callable
from urllib.parse import quote, urlencode, urlsplit

import streamlit as st

from engine.data import Table
from engine.scenario import about, abouts
from engine.store import (
    LINK,
    OWNER_ONLY,
    SIGNED_IN,
    NotAllowed,
    Run,
    RunStore,
    SignInRequired,
    StoreUnavailable,
    UnknownRun,
    check_access,
    run_ref,
    store_kind,
)
from ui import auth
from ui.errors import guard
from ui.results import DOWNLOAD_ONLY
from ui.state import memo
from ui.style import currency
from ui.text import plain

log = logging.getLogger("explorer.runs")

VISIBILITY_LABELS = {SIGNED_IN: "Anyone signed in to this app", OWNER_ONLY: "Only me", LINK: "Anyone with the link"}
_OFFERS, _CREATED, _LINKS = "_share_offers", "_share_created", "_share_links"


@dataclass
class ShareOffer:
    """What a share link for a finished run would store; held in the session, written only on request."""

    page: str
    job_id: str
    model_bytes: Callable[[], bytes]
    table: Table
    columns: dict[str, Any]
    settings: dict[str, Any]
    metrics: dict[str, Any]


@st.cache_resource(show_spinner=False)
def _open_store() -> RunStore:
    return RunStore()


_RETRY_AFTER = 20.0  # seconds: how long an outage answer is reused before the store is tried again
_outage: dict[str, Any] = {"until": 0.0, "error": None}


def log_failure(what: str, run_id: str) -> None:
    """Log the exception being handled with the run named by its short hash, in the message and the traceback
    (a store's error can quote the run's file path, which holds its id)."""
    ref = run_ref(run_id)
    log.error("%s %s\n%s", what, ref, traceback.format_exc().replace(str(run_id), ref))


def run_store() -> RunStore:
    """One store per server process (EXPLORER_RUN_STORE / EXPLORER_ARTIFACTS, kept EXPLORER_RUN_TTL_DAYS days).

    StoreUnavailable (a sentence) while its database or bucket cannot be reached. A failed open is not
    cached: the store is tried again after a few seconds, so sharing comes back with the store, without
    a restart, and pages do not wait on a dead database at every rerun."""
    if _outage["error"] is not None and time.time() < _outage["until"]:
        raise _outage["error"]
    try:
        store = _open_store()
    except StoreUnavailable as exc:
        _outage.update(until=time.time() + _RETRY_AFTER, error=exc)
        log.warning("run store unavailable: %s", exc.message)
        raise
    _outage.update(until=0.0, error=None)
    return store


def unreachable(exc: StoreUnavailable) -> str:
    """What the page says of a store that is down: its kind only. Where it is and what failed go to the log."""
    log.warning("run store unavailable: %s", exc.cause)
    return f"{store_kind()} cannot be reached right now."


def sharing_unavailable(exc: StoreUnavailable) -> None:
    """The sentence wherever sharing is offered while the store is down (the results above still show). It names
    the kind of store only; where it is and what failed go to the server log, for the operator."""
    st.warning(
        f"Sharing is unavailable until the run store is back: {unreachable(exc)} "
        "Your results on this page are not affected; try again in a minute.",
        icon=":material/cloud_off:",
    )


def store_health() -> tuple[bool, str]:
    """(ok, sentence) for the home page: the kind of store share links are kept in, or that sharing is unavailable
    right now. Every visitor reads it, so it never names a host, bucket or folder (the log does)."""
    try:
        store = run_store()
        store.check()
    except StoreUnavailable as exc:
        return False, (
            f"Sharing is unavailable until the run store is back: {unreachable(exc)} "
            "Training works as usual; share links and My runs return with the store."
        )
    except Exception:  # never a traceback on the home page
        log.exception("checking the run store")
        return False, "Sharing is unavailable: the run store could not be checked (see the server log)."
    return True, f"Share links are kept in {store_kind()}."


def _day(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%d %b %Y")


_COOKIE = "explorer_runs"  # signed out: the links this browser created, kept across reloads (ids ~ signature)
_COOKIE_DAYS = 400
_COOKIE_MAX = 60  # newest ids kept (a cookie holds about 4 KB)


@st.cache_resource(show_spinner=False)
def _browser_key() -> bytes:
    """The key that signs the browser's list of its links: a deployment's EXPLORER_COOKIE_SECRET, else one per server
    process (after a restart an older list is still shown, but its links can no longer be deleted from it)."""
    import os
    import secrets

    return (os.environ.get("EXPLORER_COOKIE_SECRET") or "").encode() or secrets.token_bytes(32)


def _signature(ids: list[str]) -> str:
    import hmac

    return hmac.new(_browser_key(), ".".join(ids).encode(), "sha256").hexdigest()[:32]


def browser_runs() -> tuple[list[str], bool]:
    """The run ids this browser's cookie lists, and whether this server signed that list (then they are the browser's
    own, to delete too; otherwise they are only listed, as anyone holding the links could open them)."""
    import hmac

    from engine.store import is_run_id

    try:
        raw = str((st.context.cookies or {}).get(_COOKIE, ""))
    except Exception:  # no browser (a bare script, a test harness)
        return [], False
    payload, _, mac = raw.partition("~")
    ids = [i for i in payload.split(".") if is_run_id(i)][:_COOKIE_MAX]
    return ids, bool(ids) and hmac.compare_digest(mac, _signature(ids))


def _created_here() -> list[str]:
    """Run ids created in this browser (what My runs lists and may delete when signed out): this session's, and those
    a signed cookie of this browser lists from earlier visits."""
    if _CREATED not in st.session_state:
        ids, signed = browser_runs()
        st.session_state[_CREATED] = list(ids) if signed else []
    return st.session_state[_CREATED]


def remember_in_browser() -> None:
    """Signed out: write this browser's links into its cookie (signed, newest last), once per change, so My runs
    lists them after a reload. Signed in, the run store keeps them by owner, on every browser."""
    if auth.viewer() is not None:
        return
    ids = _created_here()[-_COOKIE_MAX:]
    value = ".".join(ids) + "~" + _signature(ids)
    if not ids or st.session_state.get("_explorer_cookie") == value:
        return
    st.session_state["_explorer_cookie"] = value
    st.html(
        f"<script>document.cookie = '{_COOKIE}={value}; path=/; max-age={_COOKIE_DAYS * 86400}; "
        "SameSite=Lax';</script>",
        unsafe_allow_javascript=True,
    )


def saved_runs(page: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """The analyst's share links, newest first (`RunStore.list` rows): signed in, the runs they own, from any
    browser; signed out, those created in this browser session. StoreUnavailable while the store is down."""
    me = auth.viewer()
    if me is not None:
        return run_store().list(page=page, owner=me.id, limit=limit)
    created = _created_here()
    listed, _ = browser_runs()  # an unsigned list (a restarted server): shown, never deletable here
    ids = list(dict.fromkeys([*created, *listed]))
    rows = run_store().list(page=page, ids=ids, limit=limit) if ids else []
    return [r for r in rows if r["id"] in created or r.get("owner") is None]


def session_links(page: str) -> dict[str, str]:
    """The links created in this session for runs of `page` and not deleted since: run id -> the job id of the run
    it stores."""
    created = _created_here()
    return {
        run_id: job_id
        for (p, job_id), run_id in st.session_state.get(_LINKS, {}).items()
        if p == page and run_id in created
    }


def _may_delete(run: Run) -> bool:
    viewer = auth.viewer_id()
    return (run.owner is not None and run.owner == viewer) or (run.owner is None and run.id in _created_here())


def open_shared_run(page: str) -> Run | None:
    """The run named by `?run=` in the URL, or None. A bad, deleted, expired or forbidden link gets a sentence."""
    run_id = st.query_params.get("run")
    if not run_id:
        return None
    viewer = auth.viewer_id()
    try:
        store = run_store()
        info = store.info(run_id)  # every rerun: a deleted or expired run stops showing at once
        if info.page != page:
            store.load(run_id, page=page)  # the sentence naming the right page
        check_access(info.owner, info.visibility, viewer)
        run = memo("shared_run", f"{run_id}:{viewer}", lambda: store.load(run_id, page=page, viewer=viewer), keep=2)
    except SignInRequired as exc:
        message = (
            exc.message
            if auth.sign_in_enabled()
            else (
                "This shared run is only for people signed in to this app, and sign-in is not set up on this server "
                "any more. Ask the sender to share it again."
            )
        )
        st.warning(message, icon=":material/lock:")
        return None
    except (UnknownRun, NotAllowed) as exc:
        st.warning(plain(exc.message), icon=":material/link_off:")
        return None
    except StoreUnavailable as exc:
        st.warning(
            f"This link cannot be opened until the run store is back: {unreachable(exc)} Try again in a "
            "minute; the page below works as usual.",
            icon=":material/cloud_off:",
        )
        return None
    except Exception:  # noqa: BLE001 (the store's disk or index: logged by log_failure, a sentence on the page)
        log_failure("opening run", run_id)
        st.warning(
            "The run store cannot be read right now, so this link cannot be opened. Try again in a minute; "
            "the page below works as usual.",
            icon=":material/link_off:",
        )
        return None
    return run


def shared_banner(run: Run, page: str, lead: list[str]) -> None:
    """The box above a reopened run: its business result and verdict first (`lead`), then where it came from, and
    its settings in words folded away."""
    from ui.report import settings_in_words

    when = dt.datetime.fromtimestamp(run.created).strftime("%d %b %Y, %H:%M")
    mine = " you" if run.owner is not None and run.owner == auth.viewer_id() else ""
    with st.container(border=True):
        for line in [line for line in lead if line][:3]:
            st.markdown(f"**{plain(line)}**" if line is lead[0] else plain(line))
        st.markdown(
            f"A shared run{' created by' + mine if mine else ''}, reopened without training: dataset "
            f"{plain(run.dataset_name)} ({run.n_rows:,} rows), trained {when}; kept until {_day(run.expires)}."
        )
        with st.expander("How this run was made (columns and settings)"):
            for line in settings_in_words(run.columns, run.settings):
                st.markdown(f"- {plain(line)}")
        if st.button("Start my own analysis instead", key=f"{page}_leave_shared"):
            st.query_params.clear()
            st.rerun()


def shareable_run(
    page: str,
    job_id: str,
    model_bytes: Callable[[], bytes],
    table: Table,
    columns: dict[str, Any],
    settings: dict[str, Any],
    metrics: dict[str, Any],
) -> str | None:
    """Offer a finished run for sharing (nothing is written); the id of its link if the analyst created one."""
    st.session_state.setdefault(_OFFERS, {})[page] = ShareOffer(
        page, job_id, model_bytes, table, columns, settings, metrics
    )
    run_id = st.session_state.setdefault(_LINKS, {}).get((page, job_id))
    return run_id if run_id in _created_here() else None


def update_offer(page: str, job_id: str, model_bytes: Callable[[], bytes]) -> None:
    """What a link for this run would store, after the analyst changed a decision (renamed segments, say)."""
    offer = st.session_state.get(_OFFERS, {}).get(page)
    if offer is not None and offer.job_id == job_id:
        st.session_state[_OFFERS][page] = replace(offer, model_bytes=model_bytes)


# Views of the results kept in the URL that a link carries along, so a colleague opens the run as it was shown
# (the subgroup column picked on Diagnosis, Fraud or Maintenance).
LINKED_VIEWS = ("_subgroup",)
_VIEW_PREFIXES = {a.name: (a.prefix,) for a in abouts() if a.subgroups}  # each page's widget keys


def share_link(url_path: str, run_id: str) -> str:
    """The link that reopens `run_id` on its page: `run` and this page's own view keys (e.g. `dx_subgroup`), each
    named exactly and its value quoted, so nothing else in the address the analyst arrived by (a crafted key, a
    second `run=`) reaches the link."""
    url = st.context.url or ""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    own = {f"{prefix}{suffix}" for prefix in _VIEW_PREFIXES.get(url_path, ()) for suffix in LINKED_VIEWS}
    views = {
        k: str(v)
        for k, v in {**st.query_params.to_dict(), **st.session_state.get("_linked_views", {})}.items()
        if k in own
    }
    return f"{origin}/{quote(url_path)}?" + urlencode({"run": run_id, **dict(sorted(views.items()))}, quote_via=quote)


def _create_link(offer: ShareOffer) -> None:
    """The Create share link box: what will be stored, for how long, for whom; stores on the press."""
    try:
        store = run_store()
    except StoreUnavailable as exc:
        sharing_unavailable(exc)
        return
    until = _day(time.time() + store.ttl_days * 86_400)
    st.markdown("**Share these results** — create a link that reopens them for someone else, without training.")
    st.markdown(
        f"Creating a link stores on this server: your dataset **{plain(offer.table.name)}** "
        f"({len(offer.table.df):,} rows), the trained model and its results (metrics and settings). They are "
        f"kept until **{until}** ({store.ttl_days:g} days), then removed automatically; you can delete them "
        "sooner here or on **My runs**. Nothing is stored until you press the button."
    )
    me = auth.viewer()
    visibility = LINK
    if me is not None:
        visibility = st.radio(
            "Who can open the link",
            [SIGNED_IN, OWNER_ONLY],
            format_func=VISIBILITY_LABELS.get,
            key=f"{offer.page}_link_visibility",
            horizontal=True,
        )
    else:
        st.caption("Sign-in is off on this server: anyone who has the link can open it.")
    if st.button("Create share link", type="primary", icon=":material/add_link:", key=f"{offer.page}_create_link"):
        with guard("creating the share link", stop=False):
            try:
                run_id = store.save(
                    offer.page,
                    offer.model_bytes(),
                    offer.table,
                    offer.columns,
                    offer.settings,
                    offer.metrics,
                    owner=me.id if me else None,
                    visibility=visibility,
                )
            except StoreUnavailable as exc:  # the sharing sentence, not guard's generic error box
                sharing_unavailable(exc)
                return
            log.info("run %s created on %s (%s)", run_ref(run_id), offer.page, visibility)
            _created_here().append(run_id)
            st.session_state.setdefault(_LINKS, {})[(offer.page, offer.job_id)] = run_id
            st.rerun()


def delete_run(run_id: str) -> None:
    """Delete a link this session may delete (its owner signed in, or its creator's browser session)."""
    viewer = auth.viewer_id()
    run_store().delete(run_id, requester=viewer)
    log.info("run %s deleted", run_ref(run_id))
    created = _created_here()
    if run_id in created:
        created.remove(run_id)


def _link_box(url_path: str, run_id: str) -> None:
    """A stored run's link: who can open it, until when, and (for its creator) delete."""
    try:
        run = run_store().info(run_id)
    except UnknownRun as exc:
        st.info(plain(exc.message), icon=":material/link_off:")
        return
    except StoreUnavailable as exc:
        sharing_unavailable(exc)
        return
    st.markdown("**Link to this run** — opens these results without training again:")
    st.code(share_link(url_path, run_id), language=None)
    who = VISIBILITY_LABELS.get(run.visibility, "Only its creator")
    st.caption(
        f"Who can open it: {who}. Kept until {_day(run.expires)}, then removed automatically. "
        "The link carries a random 128-bit id."
    )
    if _may_delete(run):
        c1, c2 = st.columns([1, 3])
        if c1.button(
            "Delete this link",
            icon=":material/delete:",
            key=f"{url_path}_delete_link",
            help="Removes the stored run, its model and (when no other run uses it) its dataset; the link "
            "then says it was deleted. Your results stay on this page until you leave.",
        ):
            with guard("deleting the link", stop=False):
                delete_run(run_id)
                st.rerun()
        c2.page_link("app_pages/my_runs.py", label="All my runs", icon=":material/folder_shared:")


def share_panel(
    url_path: str,
    run_id: str | None,
    model_file: bytes,
    file_name: str,
    report: Callable[[], str] | None = None,
    report_key: str = "",
) -> None:
    """The Share tab: create / show / delete the link, the model file, the HTML report (`report_key`: what else the
    report depends on, such as the threshold on screen, so a changed decision makes a new report)."""
    remember_in_browser()
    if run_id:
        _link_box(url_path, run_id)
    else:
        offer = st.session_state.get(_OFFERS, {}).get(url_path)
        if offer is not None:
            _create_link(offer)
        else:
            st.info("This run cannot be shared as a link; you can still download the model and the report.")
    c1, c2 = st.columns(2)
    c1.download_button(
        "Download the trained model (one file)",
        model_file,
        file_name=file_name,
        key=f"{url_path}_model_dl",
        on_click=DOWNLOAD_ONLY,
        help="A safetensors file: the network's weights and plain-text settings, no code — safe to share. "
        "Upload it on this page (Score new data) to score new rows without training.",
    )
    if report is not None:
        c2.download_button(
            "Download a report (HTML)",
            memo(
                f"{url_path}_report",
                f"{run_id}_{hashlib.sha1(model_file).hexdigest()}_{report_key}_{currency()}",
                report,
                keep=2,
            ),
            file_name=file_name.rsplit(".", 1)[0] + "_report.html",
            mime="text/html",
            key=f"{url_path}_report_dl",
            on_click=DOWNLOAD_ONLY,
            help="One self-contained HTML file with the settings, data summary, metrics and interactive charts.",
        )


def headline_words(page: str, metrics: dict[str, Any]) -> str:
    """A stored run's headline number in words ("ROC-AUC 0.912"), or "" when it has none."""
    listed = about(page)
    value = metrics.get(listed.headline) if listed else None
    return f"{listed.headline_label} {value:.3f}" if isinstance(value, (int, float)) and value == value else ""


def my_runs() -> None:
    """My runs: signed in, the analyst's runs from any browser; otherwise those created in this session."""
    me = auth.viewer()
    try:
        run_store()
    except StoreUnavailable as exc:
        st.warning(
            f"My runs is unavailable until the run store is back: {unreachable(exc)} "
            "Training on every page works as usual.",
            icon=":material/cloud_off:",
        )
        return
    with guard("reading your runs"):
        rows = saved_runs()
        if me is not None:
            st.caption(
                "The share links you created while signed in, from any browser. Each is removed on its "
                "expiry date; delete one sooner here."
            )
        else:
            remember_in_browser()
            st.caption(
                "You are not signed in, so this lists the links created in this browser (kept in a cookie, "
                "also after a reload). They keep working until they expire. "
                + (
                    "Sign in to keep your links with you on every browser and device."
                    if auth.sign_in_enabled()
                    else "Sign-in is off on this server; with it on, your links would follow you to every "
                    "browser and device."
                )
            )
    if not rows:
        st.info(
            "You have not created any share links yet. Train a model on any page, then press "
            "**Create share link** on its Share tab.",
            icon=":material/info:",
        )
        return
    for row in rows:
        title = about(row["page"]).title if about(row["page"]) else row["page"]
        with st.container(border=True):
            c1, c2 = st.columns([4, 1])
            headline = headline_words(row["page"], row["metrics"])
            c1.markdown(
                f"**{title}** · {plain(row['dataset_name'])} ({row['n_rows']:,} rows) · created "
                f"{dt.datetime.fromtimestamp(row['created']).strftime('%d %b %Y, %H:%M')}"
                + (f" · {headline}" if headline else "")
            )
            c1.caption(
                f"{VISIBILITY_LABELS.get(row['visibility'], 'Only its creator')} · kept until {_day(row['expires'])}"
            )
            c1.code(share_link(row["page"], row["id"]), language=None)
            c2.page_link(
                f"app_pages/{row['page']}.py",
                label="Open",
                icon=":material/open_in_new:",
                query_params={"run": row["id"]},
            )
            if c2.button("Delete", icon=":material/delete:", key=f"my_runs_delete_{row['id']}"):
                with guard("deleting the link", stop=False):
                    delete_run(row["id"])
                    st.rerun()
