"""Column descriptions: one expander in the data step of every page, and the dictionary a run is saved with.

The analyst uploads a dictionary CSV (column, description[, value labels]) or types into a small table; a
bundled sample brings its own. The dictionary is kept per dataset (its fingerprint) in the session, and
attached to the trained model (`attach`) so charts, what-ifs, reports, model files and share links use it.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from engine.data import DataError, Table
from engine.dictionary import Dictionary
from ui.results import DOWNLOAD_ONLY
from ui.text import plain

_KEPT = "_explorer_dictionaries"  # fingerprint → Dictionary, this session
MAX_EDITABLE_COLUMNS = 200  # wider tables (images as pixels) take an uploaded dictionary only


def sample_dictionary(sample_path: str | Path) -> Dictionary:
    """The dictionary shipped beside a sample (sample_data/<name>.dictionary.csv), or an empty one."""
    path = Path(sample_path)
    name = path.name.split(".")[0] + ".dictionary.csv"
    found = path.with_name(name)
    return _read_sample(str(found)) if found.exists() else Dictionary()


@st.cache_resource(show_spinner=False, max_entries=16)
def _read_sample(path: str) -> Dictionary:
    return Dictionary.from_csv(path, name=Path(path).name)


def for_table(table: Table | None) -> Dictionary:
    """The dictionary the analyst gave this dataset in this session (empty when none)."""
    if table is None:
        return Dictionary()
    return st.session_state.get(_KEPT, {}).get(table.fingerprint, Dictionary())


def attach(model: Any, table: Table | None) -> Any:
    """A shallow copy of the trained model carrying this dataset's dictionary (the weights are shared), so a model
    file or share link made from it keeps the descriptions; the model itself when there is nothing to attach."""
    d = for_table(table)
    if not d or getattr(model, "dictionary", None) == d:
        return model
    labelled = copy.copy(model)
    labelled.dictionary = d
    return labelled


def dictionary_csv(dictionary: Dictionary, df: pd.DataFrame, max_codes: int = 8) -> bytes:
    """The dictionary as the CSV the page reads back (column, description, value labels): every column of `df`, and
    for a coded column not yet labelled (a few whole numbers or words) its codes to fill in ("0=; 1=")."""
    from engine.dictionary import value_key

    frame = dictionary.to_frame(df.columns)
    for i, c in enumerate(frame["column"]):
        if c in df.columns and not frame.at[i, "values"]:
            codes = df[c].dropna().unique()
            if 2 <= len(codes) <= max_codes and (
                df[c].dtype == object
                or pd.api.types.is_integer_dtype(df[c])
                or all(float(v).is_integer() for v in codes)
            ):
                frame.at[i, "values"] = "; ".join(f"{value_key(v)}=" for v in sorted(codes, key=value_key))
    return frame.rename(columns={"values": "value labels"}).to_csv(index=False).encode("utf-8")


def column_descriptions(table: Table, key: str, sample_path: str | Path | None = None) -> Dictionary:
    """The 'Column descriptions' expander: upload a dictionary CSV or type descriptions; returns the dictionary in
    force (kept for `attach`). Bad files and bad typed value labels get a sentence; the page keeps serving."""
    base = sample_dictionary(sample_path) if sample_path else Dictionary()
    columns = list(table.df.columns)
    with st.expander(
        "Column descriptions" + (" (from the sample's dictionary)" if base else ""), icon=":material/menu_book:"
    ):
        st.caption(
            "Say what each column means and what its codes stand for ('chest pain type' for `cp`, "
            "'1=disease; 0=no disease'). Charts, what-ifs, reports, model files and share links then use "
            "your words. Upload a CSV with two or three columns — column, description, value labels — or "
            "type into the table."
        )
        upload = st.file_uploader(
            "Dictionary CSV (column, description, value labels)",
            type=["csv", "txt", "tsv"],
            key=f"{key}_dictionary_upload",
        )
        source = "sample"
        if upload is not None:
            try:
                base = Dictionary.from_csv(upload.getvalue(), name=upload.name)
                source = upload.file_id
            except DataError as exc:
                st.warning(f"{plain(exc.message)} The descriptions below are unchanged.", icon=":material/menu_book:")
        dictionary = base
        if len(columns) <= MAX_EDITABLE_COLUMNS:
            edited = st.data_editor(
                base.to_frame(columns),
                hide_index=True,
                width="stretch",
                num_rows="fixed",
                height=240,
                key=f"{key}_dictionary_{table.fingerprint[:12]}_{source}",
                column_config={
                    "column": st.column_config.TextColumn("Column", disabled=True),
                    "description": st.column_config.TextColumn("Description", max_chars=200),
                    "values": st.column_config.TextColumn(
                        "Value labels", max_chars=200, help="e.g. 1=disease; 0=no disease"
                    ),
                },
            )
            try:
                dictionary = Dictionary.from_frame(pd.DataFrame(edited).fillna(""))
            except DataError as exc:
                st.warning(
                    f"{plain(exc.message)} Until then the other descriptions are used.", icon=":material/menu_book:"
                )
        if len(columns) <= MAX_EDITABLE_COLUMNS:  # one click: the column list (and what is typed above) as a file
            st.download_button(
                "Download as a dictionary CSV"
                if dictionary
                else "Write a dictionary from the column list (CSV to fill in)",
                dictionary_csv(dictionary, table.df),
                file_name=f"{Path(table.name).name.split('.')[0]}.dictionary.csv",
                mime="text/csv",
                key=f"{key}_dictionary_download",
                on_click=DOWNLOAD_ONLY,
                help="One row per column of your file, with the codes each coded column holds; fill in "
                "what they mean (in a spreadsheet or above) and upload it next time.",
            )
        missing = dictionary.unknown(columns)
        if missing:
            st.caption(
                f"Not in this file, so not used: {plain(', '.join(missing[:8]))}{'…' if len(missing) > 8 else ''}."
            )
    st.session_state.setdefault(_KEPT, {})[table.fingerprint] = dictionary
    return dictionary
