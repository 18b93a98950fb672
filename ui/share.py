"""Share: persist a trained run, show its link, reopen `?run=<id>` links, model files and reports."""
from __future__ import annotations

import datetime as dt
import html
from typing import Any, Callable
from urllib.parse import urlsplit

import streamlit as st

from engine.data import Table
from engine.store import Run, RunStore, UnknownRun
from ui.errors import guard
from ui.state import memo


@st.cache_resource(show_spinner=False)
def run_store() -> RunStore:
    """One store per server process (location: EXPLORER_RUN_STORE)."""
    return RunStore()


def open_shared_run(page: str) -> Run | None:
    """The run named by `?run=` in the URL, or None. A bad id gets a sentence and the normal page."""
    run_id = st.query_params.get("run")
    if not run_id:
        return None
    try:
        run = memo("shared_run", run_id, lambda: run_store().load(run_id, page=page), keep=2)
    except UnknownRun as exc:
        st.warning(exc.message, icon=":material/link_off:")
        return None
    when = dt.datetime.fromtimestamp(run.created).strftime("%d %b %Y, %H:%M")
    settings = ", ".join(f"{k} = {v}" for k, v in list(run.settings.items())[:8])
    with st.container(border=True):
        st.markdown(f"**A shared run**, reopened without training: dataset **{html.escape(run.dataset_name)}** "
                    f"({run.n_rows:,} rows), trained {when}.")
        st.caption(f"Settings: {settings}" if settings else "Default settings.")
        if st.button("Start my own analysis instead", key=f"{page}_leave_shared"):
            st.query_params.clear()
            st.rerun()
    return run


def persist_run(page: str, job_id: str, model_bytes: Callable[[], bytes], table: Table,
                columns: dict[str, Any], settings: dict[str, Any], metrics: dict[str, Any]) -> str | None:
    """Save a finished run once (per job) and return its id; None (with a note) if the store fails."""
    def save() -> str:
        return run_store().save(page, model_bytes(), table, columns, settings, metrics)

    run_id = None
    with guard("saving the run for sharing", stop=False):
        run_id = memo(f"{page}_persisted", job_id, save, keep=4)
    return run_id


def share_link(url_path: str, run_id: str) -> str:
    url = st.context.url or ""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    return f"{origin}/{url_path}?run={run_id}"


def share_panel(url_path: str, run_id: str | None, model_file: bytes, file_name: str, report: Callable[[], str] | None = None) -> None:
    """The Share tab: the link, the model file, the HTML report."""
    if run_id:
        link = share_link(url_path, run_id)
        st.markdown("**Link to this run** — anyone who opens it sees these results without training again:")
        st.code(link, language=None)
        st.caption("The link carries a random 128-bit id; runs are kept until the server's retention limit removes the oldest.")
    else:
        st.info("This run could not be saved for sharing; you can still download the model and the report.")
    c1, c2 = st.columns(2)
    c1.download_button("Download the trained model (one file)", model_file, file_name=file_name, key=f"{url_path}_model_dl",
                       help="A safetensors file: the network's weights and plain-text settings, no code — safe to share. "
                            "Upload it on this page (Score new data) to score new rows without training.")
    if report is not None:
        c2.download_button("Download a report (HTML)", memo(f"{url_path}_report", run_id or file_name, report, keep=2),
                           file_name=file_name.rsplit(".", 1)[0] + "_report.html", mime="text/html", key=f"{url_path}_report_dl",
                           help="One self-contained HTML file with the settings, data summary, metrics and interactive charts.")


def show_shared_run(page: str, load: Callable[[bytes], Any], results: Callable[..., None]) -> None:
    """When the URL names a shared run of this page: its results, reopened without training, then stop the script.

    `results(model, table, run_key, run_id)` is the page's results view; `load` its scenario's `load`."""
    shared = open_shared_run(page)
    if shared is not None:
        with guard("opening the shared run"):
            results(load(shared.model), shared.dataset(), shared.id, shared.id)
        st.stop()
