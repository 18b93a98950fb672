"""Step 1 of every page: pick the bundled sample or upload a CSV; preview it; say what is wrong."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from engine.data import (
    MAX_COLUMNS,
    MAX_ROWS,
    DataError,
    Table,
    impossible_zeros,
    load_table,
    profile,
    sample_rows,
    zeros_as_missing,
)
from ui.dictionary import column_descriptions
from ui.errors import guard
from ui.state import memo
from ui.text import plain

T = TypeVar("T")
SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_data"
UPLOAD = "Upload my own CSV"


@st.cache_resource(show_spinner=False, max_entries=16)
def _load_sample(path: str) -> Table:
    """Bundled files only, read once per server and shared by every session without copying:
    treat the frame as read-only (pandas copy-on-write keeps derived frames independent)."""
    return load_table(path)


def _profile(table: Table):
    return memo("data_profile", table.fingerprint, lambda: profile(table.df), keep=4)


def upload_limit_bytes() -> int:
    """The server's upload limit (.streamlit/config.toml [server] maxUploadSize, in MB)."""
    return int(st.get_option("server.maxUploadSize")) * 2**20


# Reading an upload costs memory in proportion to the upload limit (engine.data: unpacking stops at the limit,
# cells are capped), so the server reads at most this many at once, whoever sent them; the rest wait their turn.
PARALLEL_READS = max(1, int(os.environ.get("EXPLORER_PARALLEL_READS", "2")))
_READING = threading.BoundedSemaphore(PARALLEL_READS)
_WAIT_SECONDS = 300.0


@contextlib.contextmanager
def reading_slot() -> Iterator[None]:
    """Hold one of the server's PARALLEL_READS reading slots; while none is free, say so on the page and wait."""
    if not _READING.acquire(blocking=False):
        note = st.empty()
        note.info(
            "Other files are being read on this server right now; yours is next in line.",
            icon=":material/hourglass_top:",
        )
        got = _READING.acquire(timeout=_WAIT_SECONDS)
        note.empty()
        if not got:
            raise DataError("The server is busy reading other analysts' files. Try your file again in a minute.")
    try:
        yield
    finally:
        _READING.release()


def read_upload(upload: UploadedFile, max_rows: int | None = None) -> Table:
    """An uploaded CSV as a Table (the one way pages read an upload): within the upload limit, in a reading slot."""
    with reading_slot():
        return sample_rows(load_table(upload.getvalue(), upload.name, max_bytes=upload_limit_bytes()), max_rows)


def read_model_file(upload: UploadedFile, load: Callable[[bytes], T]) -> T:
    """An uploaded model file through the scenario's `load`, in a reading slot."""
    with reading_slot():
        return load(upload.getvalue())


def dataset_picker(samples: dict[str, str], key: str, help_text: str = "", max_rows: int | None = None) -> Table | None:
    """Sample data preselected, or an upload; returns the Table (or None while nothing is chosen).

    `max_rows` is the page's row cap: a larger upload is replaced by a seeded random sample, with a notice."""
    st.subheader("1 · Data")
    choice = st.radio(
        "Data",
        [*samples.keys(), UPLOAD],
        key=f"{key}_dataset",
        horizontal=True,
        bind="query-params",
        label_visibility="collapsed",
    )
    if choice == UPLOAD:
        rows = (
            f"above {max_rows:,} rows a random sample is used"
            if max_rows and max_rows < MAX_ROWS
            else f"the first {MAX_ROWS:,} rows are read"
        )
        upload = st.file_uploader(
            f"CSV file (comma, semicolon or tab separated; .csv, .csv.gz or a .zip holding one CSV). Limits: "
            f"{upload_limit_bytes() // 2**20} MB, {MAX_COLUMNS:,} columns; {rows}.",
            type=["csv", "txt", "gz", "tsv", "zip"],
            key=f"{key}_upload",
            help=help_text or None,
        )
        if upload is None:
            st.info("Upload a CSV with one row per record and a header row, or pick the sample data above.")
            return None
        cache = st.session_state.setdefault(f"{key}_tables", {})
        if upload.file_id not in cache:
            cache.clear()  # keep one upload in memory per page and session
            with guard("reading your file"):
                cache[upload.file_id] = read_upload(upload, max_rows)
        table = cache[upload.file_id]
    else:
        with guard("reading the sample data"):
            table = _load_sample(str(SAMPLE_DIR / samples[choice]))
    show_preview(table)
    table = offer_zeros_as_missing(table, key)
    with guard("reading the column descriptions", stop=False):
        column_descriptions(table, key, SAMPLE_DIR / samples[choice] if choice != UPLOAD else None)
    return table


def offer_zeros_as_missing(table: Table, key: str) -> Table:
    """Zeros that cannot be measurements (a blood pressure of 0) flagged under the preview, with a one-click offer to
    treat them as missing; returns the table to use (the same one unless the analyst accepts)."""
    found = memo("data_zeros", table.fingerprint, lambda: impossible_zeros(table.df), keep=4)
    if not found:
        return table
    listed = ", ".join(
        f"**{c}** ({n:,} rows; every other value is {low:,.4g} or more)" for c, (n, low) in found.items()
    )
    st.warning(
        f"Zeros that look like empty cells: {listed}. A value of 0 cannot be measured there, so these are "
        "probably missing values, and 'Missing cells' above does not count them.",
        icon=":material/exposure_zero:",
    )
    if st.checkbox(
        "Treat these zeros as missing values",
        key=f"{key}_zeros_{table.fingerprint[:12]}",
        help="Each page then fills them as it fills any empty cell (the median of the column) and says so.",
    ):
        return memo("data_zeros_table", table.fingerprint, lambda: zeros_as_missing(table, found), keep=2)
    return table


def show_preview(table: Table) -> None:
    df = table.df
    if table.notice:
        st.info(plain(table.notice), icon=":material/content_cut:")
    c1, c2, c3 = st.columns(3)
    c1.metric("Rows", f"{len(df):,}")
    c2.metric("Columns", f"{df.shape[1]:,}")
    c3.metric("Missing cells", f"{int(df.isna().sum().sum()):,}", help="Empty cells anywhere in the table.")
    st.dataframe(df.head(50), height=220, width="stretch")
    with st.expander("Column types and missing values"):
        st.dataframe(_profile(table), hide_index=True, width="stretch")
    if table.notes:
        with st.expander("What we did while reading your file"):
            for note in table.notes:
                st.markdown(f"- {plain(note)}")
