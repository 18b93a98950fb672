"""The Flagged transactions tab: the transactions at or above the threshold with their top reasons, and one of them
explained."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine import fraud as fr
from engine.explain import Explanation
from ui import charts
from ui.results import download_csv

FLAG_LIMIT = 200  # flagged transactions listed (and explained) on the page


def flagged_view(
    model: fr.FraudModel, top: pd.DataFrame, exp: Explanation | None, threshold: float, limit: int
) -> None:
    flagged = top[top[model.score_name] >= threshold]
    where = "held-out transactions" if model.has_label else "transactions in your file"
    if flagged.empty:
        st.info(f"No {where} score at or above the threshold ({threshold:.3f}). Lower it to see flagged transactions.")
        return
    more = " (the highest shown)" if len(flagged) == limit else ""
    st.markdown(
        f"**{len(flagged):,} flagged {where}**{more}, highest {model.score_name} first, each with the columns "
        "that pushed it up the most."
    )
    config = {
        "row": st.column_config.NumberColumn("row in your file", format="%d"),
        model.score_name: st.column_config.ProgressColumn(model.score_name, min_value=0, max_value=1, format="%.3f"),
        "top reasons": st.column_config.TextColumn("top reasons", width="large"),
    }
    if model.columns.amount in flagged:
        config[model.columns.amount] = st.column_config.NumberColumn(model.columns.amount, format="%.2f")
    st.dataframe(flagged, hide_index=True, width="stretch", height=320, column_config=config)
    download_csv(flagged, "Download the flagged list (CSV)", "flagged_transactions.csv", key="fr_flagged_download")
    whom = "genuine training transactions" if model.has_label else "the training transactions"
    st.caption(f'Reasons compare each value with {whom} ("unusually low": below 95% of them; "extremely": 99%).')
    if exp is None:
        return
    pick = st.selectbox(
        "Look closer at",
        list(flagged.index),
        key="fr_flag_pick",
        format_func=lambda i: f"row {int(top.loc[i, 'row']):,} · {model.score_name} {top.loc[i, model.score_name]:.3f}",
    )
    st.markdown(
        "**Why it was flagged:** " + ("; ".join(model.row_reasons(exp, int(pick))) or "no single column stands out")
    )
    fig = charts.shap_waterfall(
        exp, int(pick), axis_title=None if model.mode == "labelled" else "reconstruction error", names=model.dictionary
    )
    st.plotly_chart(fig, key="fr_waterfall")
    unit = (
        "points of the fraud score (percentage points), as on every chart of the tab"
        if model.mode == "labelled"
        else "reconstruction error; each column's exact share"
    )
    towards = "fraud" if model.mode == "labelled" else "unusual"
    st.caption(f"From the average transaction to this one: orange bars push towards {towards}, blue away ({unit}).")
