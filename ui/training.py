"""Step 3 of every page: one Train button, a job off the script thread, live progress, cancel.

A run is identified by `run_key` (a hash of data, columns and options): a rerun of the
script, or any click elsewhere on the page, finds the job again and never retrains. While a
job runs its id is in the URL (`?job=`): a reload of the page finds it again in the server's
registry of jobs (ids are unguessable, so only this session or the same URL can).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from typing import Any, Callable

import streamlit as st

from engine.jobs import CANCELLED, FAILED, QUEUED, Job, RunnerLost, SessionBusy, get_job
from engine.runners import default_runner
from engine.scenario import abouts
from ui import charts
from ui.errors import guard
from ui.text import plain

log = logging.getLogger("explorer.jobs")

_MAX_KEPT = 4  # finished runs kept per session (each holds a model)
GRACE_VAR = "EXPLORER_SESSION_GRACE_SECONDS"  # a closed tab's jobs are cancelled this long after it left (60)
# Pages whose networks train in the shared loop (engine.training), which can run data-parallel.
DATA_PARALLEL_PAGES = {a.name for a in abouts() if a.data_parallel}


def run_key(*parts: Any) -> str:
    """A stable content hash of what defines a run (data fingerprint, columns, options)."""
    blob = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _jobs() -> OrderedDict[str, Job]:
    return st.session_state.setdefault("_explorer_jobs", OrderedDict())


def find_job(key: str) -> Job | None:
    return _jobs().get(key)


def session_id() -> str:
    """This browser tab's Streamlit session: the owner of the jobs it starts."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else ""


def _keep(jobs: OrderedDict[str, Job]) -> None:
    """At most _MAX_KEPT runs per session; a job still going is never dropped (it stays cancellable)."""
    while len(jobs) > _MAX_KEPT:
        old = next((k for k, j in jobs.items() if not j.active), None)
        if old is None:
            return
        jobs.pop(old)


class _Reaper:
    """One thread per server: cancels the jobs of sessions that ended (the tab was closed or reloaded without
    following its job), once they have been gone for EXPLORER_SESSION_GRACE_SECONDS (a brief network drop
    reconnects to the same session and loses nothing)."""

    def __init__(self) -> None:
        self.gone_since: dict[str, float] = {}
        threading.Thread(target=self._loop, name="explorer-job-reaper", daemon=True).start()

    def _loop(self) -> None:
        while True:
            time.sleep(2.0)
            try:
                self.sweep()
            except Exception:  # noqa: BLE001 - the reaper must outlive any one bad sweep
                log.exception("checking for jobs of closed sessions failed")

    def sweep(self) -> None:
        from streamlit.runtime import Runtime

        if not Runtime.exists():
            return
        runtime, runner = Runtime.instance(), default_runner()
        grace = float(os.environ.get(GRACE_VAR, "60"))
        owners = set(runner.owners())
        for owner in owners:
            if runtime.is_active_session(owner):
                self.gone_since.pop(owner, None)
                continue
            since = self.gone_since.setdefault(owner, time.monotonic())
            if time.monotonic() - since >= grace:
                n = runner.cancel_owner(owner)
                self.gone_since.pop(owner, None)
                log.info("cancelled %d training job%s of a browser session that ended", n, "" if n == 1 else "s")
        for owner in list(self.gone_since):
            if owner not in owners:
                self.gone_since.pop(owner)


@st.cache_resource(show_spinner=False)
def _reaper() -> _Reaper:
    return _Reaper()


def training_panel(
    page: str, key: str, fn: Callable[..., Any], *args: Any, label: str = "Train", **kwargs: Any
) -> Job | None:
    """The Train button and the job's progress; returns the job for `key` (None if not started)."""
    st.subheader("3 · Train")
    workers = _workers_option(page)
    if workers > 1:
        key = run_key(key, "workers", workers)
    jobs = _jobs()
    _reaper()
    job = jobs.get(key) or _reattach(page, key)
    if job is None or job.status in (FAILED, CANCELLED):
        if st.button(label, type="primary", key=f"{page}_train"):
            try:
                job = default_runner().submit(
                    fn, *args, name=page, run_key=key, workers=workers, owner=session_id(), **kwargs
                )
            except SessionBusy as busy:
                st.warning(busy.message, icon=":material/hourglass_top:")
            except RunnerLost as lost:
                st.warning(lost.message, icon=":material/cloud_off:")
            else:
                jobs[key] = job
                st.query_params["job"] = job.id  # a reload while it trains finds it again
                _keep(jobs)
    _other_jobs(page, job)
    if job is None:
        st.caption("Training runs in the background: you can keep reading the page while it works.")
        return None
    for notice in job.notices:
        st.warning(notice, icon=":material/memory:")
    if job.active:
        _watch(job)
    elif job.status == FAILED:
        st.error(job.error, icon=":material/error:")
    elif job.status == CANCELLED:
        st.warning("Training was cancelled. Press Train to start again.")
    else:
        last = job.latest
        _scroll_here_once(job.id)
        st.success(
            f"Trained in {job.elapsed():.1f} s"
            + (
                f" · {last.get('epoch', 0)} epochs, best at epoch {last.get('best_epoch', 0)}"
                if last and "best_epoch" in last
                else ""
            )
            + ". Change the data, columns or options to train a new model.",
            icon=":material/check_circle:",
        )
    return job


# Runs inside the component's iframe (same origin) and scrolls the page's own scroll container (Streamlit scrolls
# inside stMain, not the window). It brings the first headline metric card below this point into view with as much
# as fits above it: the "Trained in" line (this block) if it fits, else the results' tab bar, else the card itself.
# Retried while the rest of the page is still being drawn; stops as soon as the analyst scrolls, clicks or types.
_SCROLL_JS = """<script>
(() => {
  const frame = window.frameElement;
  if (!frame) return;
  const doc = window.parent.document;
  const anchor = frame.closest('[data-testid="stElementContainer"]') || frame;
  const after = el => anchor.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING;
  const shown = el => el.getClientRects().length > 0 && el.getBoundingClientRect().height > 0;
  const first = sel => [...doc.querySelectorAll(sel)].find(el => after(el) && shown(el));
  const header = 64;  /* Streamlit's fixed header */
  let stopped = false;
  const stop = () => { stopped = true; };
  ['wheel', 'touchstart', 'keydown', 'mousedown'].forEach(e => doc.addEventListener(e, stop, {once: true, passive: true}));
  const go = () => {
    if (stopped || !anchor.isConnected) return;
    const room = window.parent.innerHeight - header - 16;
    const card = first('[data-testid="stMetric"]');
    let target = anchor;
    if (card) {
      const bottom = card.getBoundingClientRect().bottom;
      target = [anchor, first('[data-testid="stTabs"]'), card].find(
        el => el && (el === card || bottom - el.getBoundingClientRect().top <= room));
    }
    target.style.scrollMarginTop = header + 'px';
    target.scrollIntoView({block: 'start'});
  };
  /* until a metric card has been drawn and held its place for 2.5 s, or 20 s in all: a busy server draws the
     results several seconds after the "Trained in" line (at load 10, 11 s; a 6 s retry left the card below) */
  const start = Date.now();
  let cardAt = null;
  const tick = () => {
    go();
    const now = Date.now();
    if (cardAt === null && first('[data-testid="stMetric"]')) cardAt = now;
    if (stopped || now - start > 20000 || (cardAt !== null && now - cardAt > 2500)) return;
    setTimeout(tick, now - start < 1500 ? 250 : 500);
  };
  setTimeout(tick, 50);
})();
</script><!-- JOB -->"""


def _scroll_here_once(job_id: str) -> None:
    """Bring the results into view once per finished job, in this session: on the rerun right after training ends
    (or when a `?job=` link reopens a finished job), not on the later reruns every click makes."""
    import streamlit.components.v1 as components

    done: set[str] = st.session_state.setdefault("_explorer_scrolled", set())
    first = job_id not in done
    done.add(job_id)
    # The element is drawn on every rerun (inert after the first): an element that came and went would shift the
    # positions of everything below it, and Streamlit would then reset the results' tabs to the first one.
    components.html(_SCROLL_JS.replace("JOB", job_id) if first else "<!-- scrolled -->", height=0)


def _reattach(page: str, key: str) -> Job | None:
    """The job named by `?job=` in the URL, when it trained this page's run (after a reload)."""
    job_id = st.query_params.get("job")
    job = get_job(job_id) if job_id else None
    if job is None or job.name != page:
        return None
    if job.run_key != key:
        if job.active:
            st.info(
                "A training run from this link is still going, but with other data or options than the page "
                "shows now (an uploaded file is not kept when the page reloads). Pick the same data and options "
                "to follow it.",
                icon=":material/link:",
            )
        return None
    _jobs()[key] = job
    default_runner().adopt(job, session_id())  # it now ends with this tab, not the one that was reloaded
    return job


def _other_jobs(page: str, shown: Job | None) -> None:
    """This tab's other training jobs (other data or options, or another page), each with its Cancel button."""
    others = [j for j in _jobs().values() if j.active and j is not shown]
    if not others:
        return
    with st.container(border=True):
        st.caption(
            f"Also training in this tab ({len(others)}): press Train with those settings again to follow "
            "one, or cancel it here."
        )
        for other in others:
            c1, c2 = st.columns([4, 1])
            where = "this page" if other.name == page else f"the {other.name} page"
            state = "training" if other.status != QUEUED else "waiting"
            c1.markdown(
                f"A job on {where}, {state} · started {time.strftime('%H:%M:%S', time.localtime(other.submitted))}"
            )
            if c2.button("Cancel", key=f"cancel_other_{other.id}"):
                other.cancel()
                st.rerun()


def _workers_option(page: str) -> int:
    """'Train on N workers' (data-parallel), offered only on a Ray cluster and on pages using the shared loop."""
    runner = default_runner()
    if page not in DATA_PARALLEL_PAGES or getattr(runner, "kind", "") != "ray":
        return 1
    with guard("reading the cluster's size", stop=False):
        try:
            most = runner.max_data_parallel_workers()
        except RunnerLost as lost:  # the cluster stopped answering: a sentence, and the page goes on drawing
            st.warning(lost.message, icon=":material/cloud_off:")
            return 1
        if most < 2:
            return 1
        with st.expander("Cluster options"):
            return int(
                st.number_input(
                    "Train on N workers",
                    1,
                    most,
                    1,
                    key=f"{page}_workers",
                    bind="query-params",
                    help="Splits each batch of rows across N CPU workers of the cluster (data-parallel training). Worth it "
                    "only for big tables: starting the workers takes tens of seconds, so on small tables one "
                    "worker is faster. Results match one worker closely, not to the last digit.",
                )
            )
    return 1


@st.fragment(run_every=1.0)
def _watch(job: Job) -> None:
    """Redrawn every second while the job runs; the full page reruns once it ends.

    Epoch loops report epoch/max_epochs/train_loss (a loss curve is drawn); other jobs
    (e.g. k-means) may report a "message" and a "fraction" done.
    """
    if not job.active:
        st.rerun()  # the whole page now shows the results
    with guard("showing the training progress", stop=False):
        events = list(job.events)  # a snapshot: the worker thread appends to the list
        last = events[-1] if events else {}
        if "epoch" in last:
            done = last["epoch"] / last.get("max_epochs", last["epoch"])
            text = last.get("message") or (
                f"Epoch {last['epoch']} of at most {last.get('max_epochs', '?')} "
                f"(stops early once it stops improving) · {last.get('seconds', 0):.1f} s"
            )
        elif job.status == QUEUED:
            ahead = default_runner().queued_before(job)
            if default_runner().held(job):
                text = "Waiting for your other training job in this tab to end (one at a time per tab). It starts on its own."
            elif ahead == 0:  # next in line (on a cluster, a fresh worker may still be starting)
                text = "Waiting for a free training slot; yours is next. It starts on its own."
            else:
                text = (
                    f"Waiting for a free training slot: other sessions are training ({ahead} job"
                    f"{'s' if ahead != 1 else ''} ahead of yours). It starts on its own."
                )
            done = 0.0
        else:
            done, text = last.get("fraction", 0.0), last.get("message", "Preparing the data and starting…")
        if "model" in last:  # a job that trains several networks in turn names the current one
            text = f"{last['model']} · {text}"
            events = [e for e in events if e.get("model") == last["model"]]
        st.progress(min(float(done), 1.0), text=text)
        if "train_loss" in last:
            st.plotly_chart(charts.loss_curve(events))
    if st.button("Cancel training", key=f"cancel_{job.id}"):
        job.cancel()


def trained_run(
    page: str,
    table: Any,
    fit: Callable[..., Any],
    columns: Any,
    config: Any,
    *,
    label: str = "Train",
    key_parts: tuple = (),
    **fit_kwargs: Any,
) -> tuple[Any, str, str | None]:
    """Step 3 for a scenario on the contract (engine.scenario): the Train panel for (data, columns, config); once
    trained, the run offered for sharing (stored only if the analyst creates a link). Stops the script until a
    model is ready; returns (model, job id, run id). `key_parts` (e.g. a test file's fingerprint) and `fit_kwargs`
    (e.g. that file's rows) are for pages whose fit reads more than the table."""
    from dataclasses import asdict

    from ui.share import shareable_run

    key = run_key(table.fingerprint, *key_parts, columns, config)
    job = training_panel(page, key, fit, table.df, columns, config, label=label, **fit_kwargs)
    if job is None or not job.finished_ok:
        st.stop()
    from ui.dictionary import attach

    model = attach(job.result, table)  # the analyst's column descriptions travel with the model file and link
    from ui.compare import compare_panel, remember

    remember(page, job.id, table, asdict(columns), asdict(config))
    compare_panel(page, job.id, _jobs())
    run_id = shareable_run(page, job.id, model.to_bytes, table, asdict(columns), asdict(config), model.metrics)
    lead_verdict(page, model)  # the run's verdict first, above its results; the page's money refines it (weigh_money)
    return model, job.id, run_id


def shared_run(
    page: str,
    load: Callable[[bytes], Any],
    results: Callable[..., None],
    lead: Callable[[Any], list[str]] | None = None,
) -> None:
    """When the URL names a shared run of this page: its results, reopened without training, then stop the script.

    The model and its dataset are read once per session (a dataset can take seconds to read, and every click
    reruns the page). `results(model, table, run_key, run_id)` is the page's results view; `load` its
    scenario's `load`; `lead(model)` the business result and verdict the banner opens with (the headline beside the
    best baseline when not given). Every page opens its share links through this."""
    from ui.share import open_shared_run, shared_banner
    from ui.state import memo

    st.session_state.pop(_VERDICT, None)  # a slot of an earlier run is never written again
    shared = open_shared_run(page)
    if shared is not None:
        with guard("opening the shared run"):
            model, table = memo(f"{page}_shared_run", shared.id, lambda: (load(shared.model), shared.dataset()), keep=1)
            shared_banner(shared, page, lead(model) if lead else headline_verdict(page, model))
            results(model, table, shared.id, shared.id)
        st.stop()


def headline_verdict(page: str, model: Any, money: dict[str, float] | None = None, unit: str = "rows") -> list[str]:
    """The run's verdict (ui.results.verdict): the headline metric beside the best baseline, weighed by both 95%
    intervals and, where the page prices its decision, by `money` (cost per 1,000 `unit` by model)."""
    from engine.scenario import scenario
    from ui.results import verdict

    label, _ = model.headline()
    key = model.HEADLINE or next(iter(model.metrics), "")
    name = getattr(model, "model_name", None) or getattr(scenario(page), "MODEL", "The model")
    return [
        verdict(
            name,
            model.metrics,
            model.baseline_metrics,
            key,
            label,
            lower_is_better=key in ("mase", "smape", "mae", "rmse", "brier"),
            intervals=model.intervals,
            money=money,
            unit=unit,
        )
    ]


_VERDICT = "_lead_verdict"  # this run's verdict slot on the page that trained: (page, model, slot)


def lead_verdict(page: str, model: Any) -> None:
    """The verdict first in the results of the page that trained (the share banner shows it on a shared run)."""
    slot = st.empty()
    st.session_state[_VERDICT] = (page, model, slot)
    slot.info(headline_verdict(page, model)[0], icon=":material/balance:")


def weigh_money(cost: float, baseline: str, baseline_cost: float, no_model_cost: float, unit: str) -> str | None:
    """The page's money at the analyst's costs (per 1,000 `unit`: the model's, its priced baseline's, no model's)
    weighed into the verdict shown first; returns the sentence (None on a page that did not train this run)."""
    from engine.scenario import scenario

    held = st.session_state.get(_VERDICT)
    if held is None:
        return None
    page, model, slot = held
    name = getattr(model, "model_name", None) or getattr(scenario(page), "MODEL", "The model")
    money = {name: cost, baseline: baseline_cost, "No model": no_model_cost}
    sentence = headline_verdict(page, model, money, unit)[0]
    slot.info(sentence, icon=":material/balance:")
    return sentence


def training_notes(model: Any, key: str) -> None:
    """One way to show how a contract model trained: its loss curve, why it stopped, what was done to the data."""
    with st.expander("Training curve and what was done to the data"):
        st.plotly_chart(charts.loss_curve(model.history.epochs), key=f"{key}_history")
        st.markdown(f"Training {model.history.stopped}.")
        for note in model.notes:
            st.markdown(f"- {plain(note)}")
