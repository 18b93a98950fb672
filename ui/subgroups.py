"""The "Subgroups" view of the yes/no pages (diagnosis, fraud, maintenance): pick a column, read the model's
recall and false alarms per group with 95% intervals, and a sentence on whether a gap is larger than chance."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from engine import subgroups as sg
from engine.dictionary import Dictionary
from ui.charts import figure
from ui.style import MODEL_COLOR, NEUTRAL_COLOR
from ui.text import plain

_NONE = "(choose a column)"
LINKED = "_linked_views"  # view settings a share link carries (read by ui.share.share_link)


def chart(result: sg.Subgroups) -> go.Figure:
    """Recall and false-alarm rate per group, with their 95% intervals as error bars."""
    t, positive = result.table, result.positive
    fig = figure(
        f"Per group of '{result.column}': {positive} caught and false alarms (95% intervals)",
        yaxis_title="share of the group's rows",
        height=340,
        yaxis=dict(tickformat=".0%", range=[0, 1.05]),
        legend=dict(orientation="h", yanchor="bottom", y=-0.35, x=0),
    )
    for name, col, ci, color in (
        ("recall: share of " + positive + " caught", "recall", "recall_ci", MODEL_COLOR),
        ("false alarms: share of the others flagged", "false_alarm_rate", "false_alarm_ci", NEUTRAL_COLOR),
    ):
        lo = np.array([c[0] for c in t[ci]])
        hi = np.array([c[1] for c in t[ci]])
        fig.add_bar(
            x=t["group"],
            y=t[col],
            name=name,
            marker_color=color,
            error_y=dict(type="data", symmetric=False, array=hi - t[col], arrayminus=t[col] - lo),
        )
    fig.update_layout(barmode="group", xaxis_title=result.column)
    return fig


def table(result: sg.Subgroups) -> pd.DataFrame:
    """The per-group table in words and percentages, with the interval beside each rate."""
    t, unit, positive = result.table, result.unit, result.positive

    def rate(col: str, ci: str) -> list[str]:
        return [
            ("—" if not np.isfinite(v) else f"{100 * v:.0f}% ({100 * c[0]:.0f}–{100 * c[1]:.0f}%)")
            for v, c in zip(t[col], t[ci])
        ]

    return pd.DataFrame(
        {
            result.column: t["group"],
            unit: t[unit],
            positive: t[positive],
            "flagged": t["flagged"],
            "recall (95% interval)": rate("recall", "recall_ci"),
            "false alarms (95% interval)": rate("false_alarm_rate", "false_alarm_ci"),
            "precision (95% interval)": rate("precision", "precision_ci"),
            "ROC-AUC": [f"{v:.2f}" if np.isfinite(v) else "—" for v in t["roc_auc"]],
            "gap beyond chance": [g or "no" for g in t["gap"]],
        }
    )


def subgroup_view(
    key: str,
    rows: pd.DataFrame,
    y: np.ndarray,
    flagged: np.ndarray,
    score: np.ndarray | None,
    unit: str,
    positive: str,
    exclude: Sequence[str] = (),
    names: Dictionary | None = None,
) -> sg.Subgroups | None:
    """The Subgroups tab: `rows` are the held-out rows (analyst's columns) aligned with y, flagged and score; `names`
    (the data dictionary) labels the column and its codes in the choice, the sentence, the chart and the table."""
    names = names or Dictionary()
    st.caption(
        f"The held-out {unit}, split by one column: does the model catch {plain(positive)} and raise false alarms "
        "alike in every group? Pick a column such as sex, an age (cut into bands) or a product type."
    )
    options = sg.groupable(rows, tuple(exclude))
    if not options:
        st.info("No column of this file has a few groups or numbers to split by.")
        return None
    pick = st.selectbox(
        "Split the held-out results by",
        [_NONE, *options],
        key=f"{key}_subgroup",
        bind="query-params",
        help="A number column is cut into four bands of about equal size.",
        format_func=lambda c: c if c == _NONE else names.label(c),
    )
    linked = st.session_state.setdefault(LINKED, {})  # a share link made from this view opens it split the same way
    linked.pop(f"{key}_subgroup", None)
    if pick == _NONE:
        return None
    linked[f"{key}_subgroup"] = pick
    values = rows[pick]
    if names.values.get(pick):  # coded: "1 = male", never a bare "1"
        values = values.map(lambda v: v if pd.isna(v) else names.value_label(pick, v))
    result = sg.compare(names.label(pick), values, y, flagged, score, unit=unit, positive=positive)
    (st.warning if result.flagged else st.info)(result.sentence, icon=":material/balance:")
    st.plotly_chart(chart(result), key=f"{key}_subgroup_chart")
    st.dataframe(table(result), hide_index=True, width="stretch")
    return result


def report_section(result: sg.Subgroups | None) -> list[tuple[str, list]]:
    """The report's "Results by subgroup" section, when the analyst picked a column (none otherwise)."""
    if result is None:
        return []
    return [(f"Results by subgroup: {result.column}", [result.sentence, table(result), chart(result)])]
