"""The Quality tab: whether the segments hold when fitted again and are workable sizes, the choice of the number of
segments (elbow and silhouette), and the engine check of the torch k-means beside scikit-learn's."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from engine import segmentation as seg
from engine.segmentation.fit import LARGE_SHARE, SMALL_SHARE  # the k scan's suggestion weighs the same sizes
from engine.training import trains_on_gpu
from ui import charts
from ui.results import comparison_table, metric_delta
from ui.style import BASELINE_COLORS, MODEL_COLOR, NEUTRAL_COLOR, fmt, pct

METRIC_HELP = {
    "silhouette": "Silhouette: how much closer customers are to their own segment than to the next one, from -1 to 1. "
    "Above 0.25 means real structure; above 0.5 means clearly separated groups. Measured on a sample.",
    "inertia": "Inertia: the sum of squared distances from each customer to its segment centre (on the scaled "
    "features). Lower is tighter; only comparable between runs with the same data and number of segments.",
    "inertia_ratio": "Torch k-means inertia divided by scikit-learn's on the same data and k. 1.00 means equally tight "
    "segments; below 1 is tighter.",
    "ari_vs_baseline": "Adjusted Rand index between the two methods' segments: 1 means they put every customer in the "
    "same group, 0 means no more agreement than chance.",
    "k": "Number of segments used. The suggestion is the number with the highest silhouette score.",
    "soft_agreement": "Share of customers whose most likely segment under the explained soft assignment is their "
    "k-means segment (it is 100% by construction; shown as a check).",
}
LABELS = {"silhouette": "Silhouette", "inertia": "Inertia", "iterations": "Iterations"}


def performance_table(model: seg.SegmentationModel) -> pd.DataFrame:
    """Silhouette, inertia and iterations of both methods (iterations are counts: shown without decimals)."""

    def counts(m: dict[str, float]) -> dict:
        return {**m, "iterations": int(m["iterations"])}

    return comparison_table(
        seg.MODEL,
        counts(model.metrics),
        {n: counts(m) for n, m in model.baseline_metrics.items()},
        ["silhouette", "inertia", "iterations"],
        LABELS,
    )


STABLE_ARI, UNSTABLE_ARI = 0.9, 0.7  # adjusted Rand index between two independent fits


def stability_sentence(model: seg.SegmentationModel) -> tuple[str, bool]:
    """Do the segments hold when fitted again independently? (scikit-learn's k-means, its own random starts.)"""
    ari = float(model.metrics["ari_vs_baseline"])
    verdict = (
        "stable: refitting puts customers in the same segments"
        if ari >= STABLE_ARI
        else "fairly stable: most customers stay in their segment when refitted"
        if ari >= UNSTABLE_ARI
        else "unstable: many customers move to another segment when refitted, so read the segments with care "
        "(try another number of segments)"
    )
    return (
        f"**Stability: {verdict}.** A second, independent fit (scikit-learn's k-means with its own random starts) "
        f"agrees with these segments at {ari:.2f} on a 0-to-1 scale (adjusted Rand index; "
        f"{STABLE_ARI:g} and above is stable, below {UNSTABLE_ARI:g} is not).",
        ari >= UNSTABLE_ARI,
    )


def size_advice(model: seg.SegmentationModel, names: Sequence[str]) -> tuple[str, bool]:
    """Whether the segment sizes are workable: none too small to act on alone, none holding most customers."""
    prof = model.profile.iloc[1:]
    shares = prof["share of customers"].to_numpy(dtype=float)
    counts = prof["customers"].to_numpy()
    small = [j for j, s in enumerate(shares) if s < SMALL_SHARE]
    big = [j for j, s in enumerate(shares) if s > LARGE_SHARE]
    lo, hi = int(np.argmin(shares)), int(np.argmax(shares))
    parts = []
    if small:
        parts.append(
            " and ".join(
                f"'{names[j]}' holds only {pct(float(shares[j]))} of customers ({int(counts[j]):,})" for j in small
            )
            + f": under {SMALL_SHARE:.0%}, too small to run a campaign on alone — treat it as a niche or try "
            "fewer segments"
        )
    if big:
        parts.append(
            f"'{names[big[0]]}' holds {pct(float(shares[big[0]]))} of customers: more than half, so it may hide "
            "several groups — try more segments"
        )
    if not parts:
        return (
            f"**Sizes: workable.** From {pct(float(shares[lo]))} ('{names[lo]}') to {pct(float(shares[hi]))} "
            f"('{names[hi]}') of customers: every segment is large enough to act on and none dominates.",
            True,
        )
    return "**Sizes: " + "; ".join(parts) + ".**", False


def k_sentence(model: seg.SegmentationModel) -> str:
    """The elbow chart's k and the suggested k, reconciled in one sentence."""
    m = model.metrics
    k, suggested, elbow = int(m["k"]), int(m["suggested_k"]), int(m["elbow_k"])
    scan = model.scan
    top = int(scan.loc[scan["silhouette"].idxmax(), "k"]) if len(scan) else suggested
    if top != suggested:  # the best-separated number leaves a segment too small or too large: the page says so itself
        text = (
            f"The segments are best separated at {top}, but then a segment is too small to act on or holds more "
            f"than half the customers; the page suggests {suggested}, the best-separated number whose segments are "
            f"all workable sizes (each at least {SMALL_SHARE:.0%}, none over {LARGE_SHARE:.0%})"
            + (f"; the elbow chart bends at {elbow}." if elbow != suggested else ", where the elbow chart bends too.")
        )
    elif elbow == suggested:
        text = (
            f"The elbow (where more segments stop tightening them much) and the best separation (silhouette) both "
            f"point to {suggested} segments."
        )
    else:
        text = (
            f"The elbow chart bends at {elbow} segments, where adding more stops tightening them much, but the "
            f"segments are best separated at {suggested} (highest silhouette); the page suggests {suggested} because "
            f"distinct segments are what you can act on — {elbow} is worth a look too."
        )
    if k != suggested:
        text += f" You chose {k}."
    return text


def performance(model: seg.SegmentationModel, names: Sequence[str]) -> None:
    """Quality tab: stability and size advice first, the choice of k, then the engine benchmark folded away."""
    m, b = model.metrics, model.baseline_metrics[seg.BASELINE]
    for text, good in (stability_sentence(model), size_advice(model, names)):
        (st.success if good else st.warning)(text, icon=":material/check_circle:" if good else ":material/warning:")
    st.markdown(k_sentence(model))
    st.plotly_chart(scan_chart(model), key="seg_scan")
    st.caption(
        "Left: the elbow curve — where adding a segment stops tightening them much. Right: silhouette — higher "
        "means better separated; the suggested number is its highest point among workable segment sizes."
    )
    with st.expander("Engine check: torch k-means beside scikit-learn"):
        st.markdown(
            f"Both methods segment the same **{int(m['customers']):,} customers** into **{int(m['k'])}** segments "
            f"with {model.config.restarts} restarts each; silhouette is measured on {int(m['sample']):,} of them. "
            "This checks the app's own k-means against the reference implementation."
        )
        c1, c2 = st.columns(2)
        c1.metric(
            f"Silhouette ({seg.MODEL})",
            fmt(m["silhouette"]),
            help=METRIC_HELP["silhouette"],
            **metric_delta(f"{m['silhouette'] - b['silhouette']:+.3f} vs scikit-learn"),
        )
        c2.metric(
            f"Inertia ({seg.MODEL})",
            fmt(m["inertia"]),
            help=METRIC_HELP["inertia"],
            **metric_delta(f"{m['inertia'] - b['inertia']:+,.2f} vs scikit-learn", lower_is_better=True),
        )
        c1, c2, c3 = st.columns(3)
        c1.metric(
            "Inertia ratio (torch ÷ scikit-learn)", f"{m['inertia_ratio']:.4f}", help=METRIC_HELP["inertia_ratio"]
        )
        c2.metric(
            "Agreement with scikit-learn (ARI)", f"{m['ari_vs_baseline']:.3f}", help=METRIC_HELP["ari_vs_baseline"]
        )
        c3.metric(
            "Time to fit (torch vs scikit-learn)",
            f"{model.timings[seg.MODEL]:.2f} s vs {model.timings[seg.BASELINE]:.2f} s",
            help="Wall time of the final k-means on all customers, both on this machine's "
            f"{'GPU' if trains_on_gpu() else 'CPU'}; bench/segmentation.py measures it at scale.",
        )
        st.dataframe(performance_table(model), width="stretch")
        st.caption("Same customers, same scaled features, same k and restarts for both methods.")


def scan_chart(model: seg.SegmentationModel) -> go.Figure:
    scan = model.scan
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("Elbow: inertia by number of segments", "Silhouette by number of segments"),
        figure=charts.blank_figure(),
    )
    fig.add_scatter(
        x=scan["k"], y=scan["inertia"], mode="lines+markers", name="inertia", line=dict(color=MODEL_COLOR), row=1, col=1
    )
    fig.add_scatter(
        x=scan["k"],
        y=scan["silhouette"],
        mode="lines+markers",
        name="silhouette",
        line=dict(color=MODEL_COLOR),
        row=1,
        col=2,
    )
    m = model.metrics
    marks = [
        (int(m["suggested_k"]), "suggested", BASELINE_COLORS[0], 2),
        (int(m["elbow_k"]), "elbow", NEUTRAL_COLOR, 1),
    ]
    if int(m["k"]) != int(m["suggested_k"]):
        marks += [(int(m["k"]), "your choice", MODEL_COLOR, 1), (int(m["k"]), "your choice", MODEL_COLOR, 2)]
    for k, label, colour, col in marks:
        row = scan[scan["k"] == k]
        if len(row):
            y = "silhouette" if col == 2 else "inertia"
            fig.add_scatter(
                x=row["k"],
                y=row[y],
                mode="markers+text",
                text=[label],
                textposition="top center",
                marker=dict(size=14, color=colour, line=dict(color="black", width=1)),
                showlegend=False,
                row=1,
                col=col,
            )
    fig.update_layout(height=360, showlegend=False, margin=dict(l=10, r=10, t=50, b=10))
    fig.update_xaxes(title_text="number of segments", dtick=1)
    return fig
