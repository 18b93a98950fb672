"""The digits page's charts: accuracy per model, training curves, the confusion matrix, recall by digit, pixel SHAP
maps (one image, and the mean per digit) and the gallery of misread images for the report."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from engine import digits as dg
from engine.explain import Explanation
from ui import charts
from ui.style import MODEL_COLOR, NEGATIVE_COLOR, NEUTRAL_COLOR, POSITIVE_COLOR, pct


def accuracy_bars(model: dg.DigitModel) -> go.Figure:
    names = list(dg.MODELS)
    values = [model.metrics["accuracy"]] + [model.baseline_metrics[n]["accuracy"] for n in names[1:]]
    colors = charts.series_colors([dg.MODEL, *dg.BASELINES])
    fig = charts.figure(
        "Accuracy on the test images (higher is better)", height=260, xaxis=dict(range=[min(values) - 0.05, 1.0])
    )
    fig.add_bar(
        x=values,
        y=names,
        orientation="h",
        marker_color=[colors[n] for n in names],
        text=[pct(v) for v in values],
        textposition="inside",
        insidetextanchor="end",
        textfont=dict(color="white"),
    )
    fig.update_yaxes(autorange="reversed", type="category")
    return fig


def training_curves(model: dg.DigitModel) -> go.Figure:
    """Validation loss per epoch of both networks."""
    colors = charts.series_colors([dg.MODEL, *dg.BASELINES])
    fig = charts.figure(
        "Training curves (validation loss: lower is better)", xaxis_title="epoch", yaxis_title="loss", height=320
    )
    for name in (dg.MODEL, dg.MLP):
        h = pd.DataFrame(model.histories[name].epochs)
        fig.add_scatter(x=h["epoch"], y=h["val_loss"], name=f"{name} · validation", line=dict(color=colors[name]))
        fig.add_scatter(
            x=h["epoch"], y=h["train_loss"], name=f"{name} · training", line=dict(color=colors[name], dash="dot")
        )
    return fig


def confusion_heatmap(counts: np.ndarray, normalised: bool, title: str) -> go.Figure:
    counts = np.asarray(counts)
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    z = share if normalised else counts
    text = [
        [
            (f"{100 * share[i, j]:.0f}%" if share[i, j] >= 0.005 else "")
            if normalised
            else (f"{counts[i, j]:,}" if counts[i, j] else "")
            for j in range(10)
        ]
        for i in range(10)
    ]
    labels = [str(d) for d in dg.DIGITS]
    fig = charts.figure(title, xaxis_title="digit the model read", yaxis_title="true digit", height=520)
    # a square-root colour scale keeps the few mistakes visible beside the large diagonal
    fig.add_heatmap(
        z=np.sqrt(z / max(z.max(), 1e-9)),
        x=labels,
        y=labels,
        text=text,
        texttemplate="%{text}",
        colorscale="Blues",
        zmin=0,
        zmax=1,
        showscale=False,
        customdata=counts,
        hovertemplate="true %{y}, read %{x}: %{customdata:,} image(s)<extra></extra>",
    )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", side="bottom")
    return fig


def recall_by_digit(model: dg.DigitModel) -> go.Figure:
    colors = charts.series_colors([dg.MODEL, *dg.BASELINES])
    fig = charts.figure(
        "Recall by digit (share of each digit read right)",
        xaxis_title="digit",
        yaxis_title="recall",
        height=320,
        barmode="group",
    )
    for name in dg.MODELS:
        pc = model.per_class(name)
        fig.add_bar(
            x=pc["digit"].astype(str),
            y=pc["recall"],
            name=name,
            marker_color=colors[name],
            hovertemplate=f"{name}<br>digit %{{x}}: %{{y:.1%}}<extra></extra>",
        )
    lows = [model.per_class(n)["recall"].min() for n in dg.MODELS]
    fig.update_yaxes(range=[max(0.0, min(lows) - 0.05), 1.0])
    charts.legend_on_top(fig)
    fig.update_xaxes(type="category")
    return fig


def attribution_map(exp: Explanation, i: int = 0, title: str = "Pixel attributions (SHAP)") -> go.Figure:
    """Orange pixels pushed the score of the digit up, blue pushed it down; the digit's outline in grey."""
    v = exp.values[i].reshape(dg.SIDE, dg.SIDE)
    ink = exp.data.iloc[i].to_numpy(dtype=np.float32).reshape(dg.SIDE, dg.SIDE)
    lim = float(np.abs(v).max()) or 1.0
    fig = charts.figure(title, height=330, showlegend=False, margin=dict(l=10, r=10, t=40, b=10))
    fig.add_heatmap(
        z=v,
        zmin=-lim,
        zmax=lim,
        zmid=0,
        colorscale=[[0, NEGATIVE_COLOR], [0.5, "#ffffff"], [1, POSITIVE_COLOR]],
        colorbar=dict(title="push", tickvals=[-lim, 0, lim], ticktext=["away", "0", "towards"], len=0.8),
        hovertemplate="row %{y}, column %{x}: %{z:+.3f}<extra></extra>",
    )
    fig.add_contour(
        z=ink,
        contours=dict(start=100, end=100, coloring="none"),
        line=dict(color=NEUTRAL_COLOR, width=1.5),
        showscale=False,
        hoverinfo="skip",
    )
    fig.update_yaxes(autorange="reversed", scaleanchor="x", showticklabels=False, showgrid=False, zeroline=False)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, constrain="domain")
    return fig


def digit_attribution_grid(mean_abs: np.ndarray, counts: Sequence[int], title: str) -> go.Figure:
    """Small multiples (2×5), one 28×28 map per digit of the mean |pixel attribution|, on one shared colour scale so
    the digits compare: dark pixels are where the network looks to decide on that digit."""
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=2,
        cols=5,
        horizontal_spacing=0.02,
        vertical_spacing=0.1,
        subplot_titles=[
            f"{d} · " + ({0: "no image", 1: "1 image"}.get(counts[d]) or f"{counts[d]} images") for d in dg.DIGITS
        ],
        figure=charts.figure(title),  # the house style, then this chart's own size
    )
    top = float(np.nanmax(mean_abs)) if np.isfinite(mean_abs).any() else 1.0
    for d in dg.DIGITS:
        fig.add_heatmap(
            z=mean_abs[d].reshape(dg.SIDE, dg.SIDE),
            row=d // 5 + 1,
            col=d % 5 + 1,
            coloraxis="coloraxis",
            name=str(d),
            hovertemplate=f"digit {d}<br>row %{{y}}, column %{{x}}: %{{z:.4f}}<extra></extra>",
        )
    fig.update_layout(
        height=430,
        showlegend=False,
        margin=dict(l=10, r=10, t=70, b=10),
        coloraxis=dict(
            colorscale=[[0, "#ffffff"], [1, MODEL_COLOR]],
            cmin=0,
            cmax=top or 1.0,
            colorbar=dict(title="mean |push|", len=0.9),
        ),
    )
    fig.update_layout(annotations=[a.update(font=dict(size=12)) for a in fig.layout.annotations])
    fig.update_yaxes(autorange="reversed", showticklabels=False, showgrid=False, zeroline=False)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, constrain="domain")
    for d in dg.DIGITS:  # square pixels in every panel
        fig.update_yaxes(scaleanchor=f"x{'' if d == 0 else d + 1}", row=d // 5 + 1, col=d % 5 + 1)
    return fig


def gallery_figure(model: dg.DigitModel, pick: str = dg.MODEL, limit: int = 20, per_row: int = 10) -> go.Figure:
    """The most confident mistakes as one picture (for the report): each tile captioned true → read."""
    wrong = model.misclassified(pick).head(limit)
    fig = charts.figure(
        f"Misread test images · {pick} (true → read)",
        height=140 + 70 * max(1, -(-len(wrong) // per_row)),
        showlegend=False,
    )
    if not len(wrong):
        return fig
    rows = -(-len(wrong) // per_row)
    tile = dg.SIDE + 4
    board = np.zeros((rows * tile, per_row * tile), np.float32)
    for k, i in enumerate(wrong["index"]):
        r, c = divmod(k, per_row)
        board[r * tile + 2 : r * tile + 2 + dg.SIDE, c * tile + 2 : c * tile + 2 + dg.SIDE] = model.test_image(int(i))
    fig.add_heatmap(z=board, colorscale="Greys", showscale=False, hoverinfo="skip")
    for k, (t, p) in enumerate(zip(wrong["true"], wrong["predicted"])):
        r, c = divmod(k, per_row)
        fig.add_annotation(
            x=c * tile + tile / 2,
            y=r * tile + tile + 1,
            text=f"{t} → {p}",
            showarrow=False,
            yshift=-6,
            font=dict(size=11),
        )
    fig.update_yaxes(autorange="reversed", scaleanchor="x", visible=False)
    fig.update_xaxes(visible=False)
    return fig
