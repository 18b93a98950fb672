"""The Explanations tab (SHAP, or each column's share of the reconstruction error, across held-out transactions) and
the What-if tab (edit one transaction, see its score, flag and reasons)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine import fraud as fr
from engine.explain import Explanation
from ui import charts
from ui.errors import guard
from ui.tabular import dependence_view, what_if


def explanations_view(model: fr.FraudModel, exp: Explanation) -> None:
    how = (
        "SHAP values of the network"
        if model.mode == "labelled"
        else "each column's share of the autoencoder's reconstruction error, above the average transaction's"
    )
    st.markdown(f"**Across {len(exp.data):,} held-out transactions** — {how}.")
    c1, c2 = st.columns(2)
    c1.plotly_chart(charts.shap_bar(exp, names=model.dictionary), key="fr_shap_bar")
    c1.caption("Longer bars: columns that move the score the most, on average.")
    c2.plotly_chart(charts.shap_beeswarm(exp, names=model.dictionary), key="fr_shap_swarm")
    c2.caption("Dots right of zero push towards fraud; orange dots are high values of that column, blue low.")
    dependence_view(exp, "fr_shap", labels=model.dictionary, row_label="transaction")


def what_if_view(
    model: fr.FraudModel, df: pd.DataFrame, top: pd.DataFrame | None, exp: Explanation | None, threshold: float
) -> None:
    """Edit one transaction's values → its score, whether it would be flagged at the analyst's threshold, and how its
    reasons change. Starts from the highest-scoring transactions (the flagged list), where 'what would clear it' is
    the question; without a label the score is the autoencoder's anomaly score."""
    if model.mode == "labelled":
        st.caption(
            f"Start from a transaction and change its values: its fraud score, whether it would be flagged at your "
            f"threshold ({threshold:.3f}) and the reasons update at once."
        )
    else:
        st.caption(
            f"Without a label the what-if moves the anomaly score — how unlike the training transactions this one "
            f"is — and whether it would be flagged at your threshold ({threshold:.3f}); a labelled run would "
            "answer with the risk of fraud instead."
        )
    if top is not None and len(top):
        rows = [int(r) - 1 for r in top["row"]]
        score_of = dict(zip(rows, top[model.score_name]))
    else:
        rows = [int(i) for i in model.held_out(df, 200).index]
        score_of = {}
    pick = st.selectbox(
        "Start from transaction",
        rows,
        key="fr_whatif_row",
        format_func=lambda r: f"row {r + 1:,}" + (f" · {model.score_name} {score_of[r]:.3f}" if r in score_of else ""),
        help="Highest score first: the transactions your threshold flags come at the top.",
    )
    order = list(exp.importance().index) if exp is not None else model.features

    def verdict(edited: pd.Series, before: float, after: float) -> None:
        def said(s: float) -> str:
            return f"**{'flagged' if s >= threshold else 'not flagged'}** ({model.score_name} {s:.3f})"

        st.markdown(
            f"At your threshold ({threshold:.3f}): as recorded {said(before)}; with your changes {said(after)}."
        )
        was = model.row_reasons(model.explain(df.iloc[[pick]][model.features]), 0)
        now = model.row_reasons(model.explain(edited.to_frame().T), 0)
        c1, c2 = st.columns(2)
        c1.markdown("**Reasons as recorded:** " + ("; ".join(was) or "no single column stands out"))
        c2.markdown("**Reasons with your changes:** " + ("; ".join(now) or "no single column stands out"))

    with guard("updating the what-if", stop=False):
        what_if(
            df.iloc[pick][model.features],
            model.preprocessor.plans_,
            order,
            lambda d: float(model.scores(d)[0]),
            model.explain,
            key=f"fr_wi_{pick}",
            risk_label=model.score_name.capitalize(),
            verdict=verdict,
            names=model.dictionary,
        )
