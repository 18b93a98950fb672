"""The Segments and Map tabs: the editable segment names, the headline figures, sizes, the heatmap of how each segment
differs from the average customer, the profile table, and the customers on a 2-D map."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from engine import roles
from engine import segmentation as seg
from engine.explain import format_value
from ui import charts
from ui.segmentation.quality import METRIC_HELP
from ui.style import NEUTRAL_COLOR, fmt, pct

SEGMENT_COLORS = [
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
    "#882255",
    "#999999",
]


LAYOUT = dict(  # in the house template (charts.blank_figure)
    margin=dict(l=10, r=10, t=80, b=10), legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0)
)


def names_editor(model: seg.SegmentationModel, key: str) -> list[str]:
    """Table of segments with suggested names and actions; the analyst may rename them."""
    prof = model.profile
    frame = pd.DataFrame(
        {
            "segment": range(1, model.k + 1),
            "name": model.names,
            "customers": prof["customers"].iloc[1:].to_numpy(),
            "share of customers": (100 * prof["share of customers"].iloc[1:]).round(1).to_numpy(),
        }
    )
    if "share of revenue" in prof:
        frame["share of revenue"] = (100 * prof["share of revenue"].iloc[1:]).round(1).to_numpy()
    frame["suggested action"] = model.actions
    edited = st.data_editor(
        frame,
        key=key,
        hide_index=True,
        width="stretch",
        disabled=[c for c in frame.columns if c != "name"],
        column_config={
            "name": st.column_config.TextColumn("name (click to rename)", required=True, max_chars=40),
            "share of customers": st.column_config.NumberColumn(format="%.1f%%"),
            "share of revenue": st.column_config.NumberColumn(format="%.1f%%"),
            "suggested action": st.column_config.TextColumn(width="large"),
        },
    )
    st.caption(
        "Names are suggestions from each segment's recency, frequency and spend (or its most distinctive "
        "columns). Click a name to rename it; the new names carry into every chart and download."
    )
    names = [str(n).strip() or model.names[i] for i, n in enumerate(edited["name"].tolist())]
    used: set[str] = set()
    for i, n in enumerate(names):  # keep names unique so charts stay readable (and the model accepts them)
        count = 1
        while names[i] in used:
            count += 1
            names[i] = f"{n} ({count})"
        used.add(names[i])
    return names


def headline(model: seg.SegmentationModel) -> None:
    m = model.metrics
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(
        "Segments",
        f"{int(m['k'])}",
        help=METRIC_HELP["k"],
        delta=None if int(m["k"]) == int(m["suggested_k"]) else f"suggested: {int(m['suggested_k'])}",
        delta_color="off",
    )
    c2.metric("Customers", f"{int(m['customers']):,}", help="Customers placed in a segment.")
    c3.metric("Silhouette", fmt(m["silhouette"]), help=METRIC_HELP["silhouette"])
    shares = model.profile["share of customers"].iloc[1:]
    c4.metric("Largest segment", pct(float(shares.max())), help="Share of customers in the biggest segment.")


def sizes_chart(model: seg.SegmentationModel, names: Sequence[str]) -> go.Figure:
    prof = model.profile.iloc[1:]
    fig = charts.blank_figure()
    fig.update_layout(title="Segment sizes", yaxis_title="share (%)", height=360, **LAYOUT)
    fig.add_bar(
        x=list(names),
        y=100 * prof["share of customers"],
        name="share of customers",
        marker_color=NEUTRAL_COLOR,
        hovertemplate="%{x}: %{y:.1f}% of customers<extra></extra>",
    )
    if "share of revenue" in prof:
        fig.add_bar(
            x=list(names),
            y=100 * prof["share of revenue"],
            name="share of revenue (net spend)",
            marker_color="#009E73",
            hovertemplate="%{x}: %{y:.1f}% of revenue<extra></extra>",
        )
    charts.legend_on_top(fig)
    fig.update_xaxes(type="category")
    return fig


def profile_table(model: seg.SegmentationModel, names: Sequence[str]) -> pd.DataFrame:
    prof = model.profile.copy()
    prof.index = ["All customers", *names]
    out = pd.DataFrame(index=prof.index)
    out["customers"] = prof["customers"].map(lambda v: f"{int(v):,}")
    out["share of customers"] = prof["share of customers"].map(pct)
    if "share of revenue" in prof:
        out["share of revenue"] = prof["share of revenue"].map(pct)
    for col in model.features:
        if col in prof:
            numeric = pd.api.types.is_numeric_dtype(prof[col])
            out[f"{col} (median)" if numeric else col] = prof[col].map(lambda v, c=col: show(c, v))
    return out


_PLAIN_WORDS = {"year", "yr", "born", "birth", "code", "zip", "postcode", "postal", "id"}  # read as labels, not amounts


def show(col: str, v) -> str:
    """A profile value as an analyst reads it: rates as percentages, counts without decimals, years and codes as
    written (1967, not 1,967)."""
    if col == seg.RETURNS and isinstance(v, (int, float, np.floating)):
        return pct(float(v))
    if isinstance(v, (int, float, np.integer, np.floating)) and np.isfinite(v) and _PLAIN_WORDS & set(roles.words(col)):
        return f"{v:.0f}" if abs(v) >= 1000 or float(v).is_integer() else f"{v:g}"
    return format_value(v)


def comparison_heatmap(model: seg.SegmentationModel, names: Sequence[str]) -> go.Figure:
    """Each segment's centre per column in standard deviations from the average customer; text = median value."""
    z = model.centre_z()
    prof = model.profile  # row 0: all customers

    def compact(c: str, v) -> str:  # a narrow cell: 67,506 reads "67.5k", so neighbouring numbers never run together
        if (
            isinstance(v, (int, float, np.integer, np.floating))
            and np.isfinite(v)
            and abs(v) >= 10_000
            and not _PLAIN_WORDS & set(roles.words(c))
        ):
            return f"{v / 1e6:.1f}M" if abs(v) >= 1e6 else f"{v / 1e3:.1f}k"
        return show(c, v)

    text = [[compact(c, prof[c].iloc[j + 1]) if c in prof else "" for c in z.columns] for j in range(model.k)]
    wide = len(z.columns) > 8
    fig = charts.blank_figure()
    fig.update_layout(
        title="How each segment differs from the average customer",
        height=max(320, 50 * model.k + 170),
        **{**LAYOUT, "legend": {}, "margin": dict(l=10, r=10, t=50, b=10)},
    )
    fig.add_heatmap(
        z=z.to_numpy(),
        x=[str(c) for c in z.columns],
        y=list(names),
        text=text,
        texttemplate="%{text}",
        textfont=dict(size=10 if wide else 13),
        colorscale=[[0, "#0072B2"], [0.5, "#f7f7f7"], [1, "#D55E00"]],
        zmid=0,
        zmin=-2.5,
        zmax=2.5,
        colorbar=dict(title="std. dev.<br>from average", len=0.8),
        hovertemplate="%{y} · %{x}<br>median %{text}<br>%{z:+.2f} std. dev. from the average<extra></extra>",
    )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", side="bottom", tickangle=-25)
    return fig


def map_chart(model: seg.SegmentationModel, names: Sequence[str]) -> tuple[go.Figure, int]:
    pts, centres = model.map_2d()
    ev = model.pca_explained
    fig = charts.blank_figure()
    fig.update_layout(
        title="Customers on a 2-D map (principal components of the scaled features)",
        height=560,
        xaxis_title=f"component 1 ({pct(ev[0], 0)} of the spread)",
        yaxis_title=f"component 2 ({pct(ev[1], 0)} of the spread)",
        **LAYOUT,
    )
    for j in range(model.k):
        p = pts[pts["segment"] == j]
        fig.add_scattergl(
            x=p["pc1"],
            y=p["pc2"],
            mode="markers",
            name=names[j],
            text=p["customer"],
            marker=dict(color=SEGMENT_COLORS[j % len(SEGMENT_COLORS)], size=6, opacity=0.65),
            hovertemplate=f"customer %{{text}}<br>{names[j]}<extra></extra>",
        )
    fig.add_scatter(
        x=centres["pc1"],
        y=centres["pc2"],
        mode="markers",
        name="segment centres",
        text=list(names),
        marker=dict(symbol="x", size=14, color="black", line=dict(width=2, color="white")),
        hovertemplate="centre of %{text}<extra></extra>",
    )
    for x, y, name in zip(centres["pc1"], centres["pc2"], names):
        fig.add_annotation(
            x=x,
            y=y,
            text=name,
            showarrow=False,
            yshift=16,
            bgcolor="rgba(255,255,255,0.85)",
            font=dict(size=12, color="black"),
        )
    charts.legend_on_top(fig)
    return fig, len(pts)
