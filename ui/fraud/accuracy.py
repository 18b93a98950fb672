"""The Performance tab: held-out metrics beside the baselines, precision-recall and ROC curves, and how the score
separates frauds from genuine transactions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from engine import fraud as fr
from ui import charts
from ui.results import comparison_table, metric_cards
from ui.style import MODEL_COLOR, POSITIVE_COLOR, pct
from ui.tabular import held_out_line

KEYS = ["auprc", "roc_auc", "precision", "recall", "f1"]
LABELS = {
    "auprc": "AUPRC",
    "roc_auc": "ROC-AUC",
    "precision": "Precision",
    "recall": "Recall",
    "f1": "F1",
    "cost_per_1000": "Cost per 1,000 transactions",
    "alerts_per_1000": "Alerts per 1,000 transactions",
    "threshold": "Threshold",
}


def _rows_line(model: fr.FraudModel) -> str:
    latest = f"the **{model.n_rows['test']:,} latest transactions** (split by time)" if model.columns.time else None
    return held_out_line(model.n_rows, "transactions", latest, threshold_on_validation=not model.folds)


def performance(model: fr.FraudModel, ev: dict, threshold: float) -> None:
    st.markdown(_rows_line(model))
    main, rest = ev[model.model_name], {k: v for k, v in ev.items() if k != model.model_name}
    metric_cards(model.model_name, main, rest, KEYS, LABELS, fr.METRIC_HELP)
    st.caption(
        f"Fraud rate of these rows: {pct(main['fraud_rate'])} — what guessing gets for AUPRC. Precision, recall "
        f"and F1: {model.model_name.lower()} at your threshold ({threshold:.3f}); the others at their own "
        "cheapest threshold for the same costs."
    )
    st.dataframe(comparison_table(model.model_name, main, rest, KEYS, LABELS, model.intervals), width="stretch")
    st.caption("Same held-out rows for every model; brackets: 95% bootstrap intervals.")
    if fr.AE_REFERENCE in ev:
        gain = main["auprc"] - ev[fr.AE_REFERENCE]["auprc"]
        st.info(
            f"**What the labels buy:** an autoencoder trained on the same rows without the labels reaches an AUPRC "
            f"of {ev[fr.AE_REFERENCE]['auprc']:.3f}; learning from the labels gives {main['auprc']:.3f} "
            f"({gain:+.3f}).",
            icon=":material/label:",
        )
    g1, g2 = st.columns(2)
    pr_points = {k: (v["recall"], v["precision"]) for k, v in ev.items() if np.isfinite(v["precision"])}
    g1.plotly_chart(charts.pr_chart(model.pr_curves(), pr_points, main["fraud_rate"]), key="fr_pr")
    g1.caption(
        "Higher and further right is better: more frauds caught with fewer false alarms. Dots: each model at its threshold."
    )
    roc_points = {k: (v["fp"] / max(v["fp"] + v["tn"], 1), v["recall"]) for k, v in ev.items()}
    g2.plotly_chart(charts.roc_chart(model.roc_curves(), roc_points), key="fr_roc")
    g2.caption("The closer to the top left, the better; with rare frauds, small moves on the left matter most.")
    st.plotly_chart(score_histogram(model.test_scores(), threshold, model.score_name), key="fr_hist")
    st.caption(
        "Genuine transactions should pile up on the left and frauds on the right; the dashed line is your threshold."
    )


def score_histogram(frame: pd.DataFrame, threshold: float, score_name: str) -> go.Figure:
    title = (
        f"How the {score_name} separates frauds from genuine transactions"
        if "truth" in frame
        else f"How the {score_name} is spread over transactions"
    )
    fig = charts.figure(
        title,
        barmode="overlay",
        height=340,
        xaxis=dict(title=score_name, range=[0, 1]),
        yaxis_title="% of transactions",
        legend=dict(yanchor="top", y=0.98, xanchor="center", x=0.5),
    )
    groups = [("genuine", MODEL_COLOR), ("fraud", POSITIVE_COLOR)] if "truth" in frame else [(None, MODEL_COLOR)]
    for truth, color in groups:
        s = frame["score"] if truth is None else frame.loc[frame["truth"] == truth, "score"]
        fig.add_histogram(
            x=s,
            name=truth or "all transactions",
            marker_color=color,
            opacity=0.6,
            histnorm="percent",
            xbins=dict(start=0, end=1, size=0.025),
        )
    fig.add_vline(x=threshold, line_dash="dash", line_color="black", annotation_text="threshold")
    return fig
