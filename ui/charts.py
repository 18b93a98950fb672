"""Plotly figures shared by the pages. Each takes numbers/frames from the engine and returns a Figure.

Model in blue, baselines in orange/green on every chart (see ui.style).
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from engine.dictionary import Dictionary
from engine.explain import Explanation, format_value
from ui.style import BASELINE_COLORS, MODEL_COLOR, NEGATIVE_COLOR, NEUTRAL_COLOR, POSITIVE_COLOR, in_currency

_LAYOUT = dict(
    margin=dict(l=10, r=10, t=50, b=10),
    height=360,
    legend=dict(
        yanchor="bottom",
        y=0.02,
        xanchor="right",
        x=0.98,
        bgcolor="rgba(255,255,255,0.8)",
        bordercolor="#dddddd",
        borderwidth=1,
    ),
)


# Naming a template makes plotly check all of it again (the defaults of every trace type): 10-20 ms a figure, about a
# third of a results page's rerun. It is checked once, here; each figure starts from a copy of the checked layout, and
# everything a chart sets afterwards is checked as usual (the figure's and the layout's checks are switched back on).
_TEMPLATE = go.Layout(template="plotly_white").to_plotly_json()


def blank_figure() -> go.Figure:
    """An empty figure in the house template; every page's figure starts here."""
    fig = go.Figure(layout=copy.deepcopy(_TEMPLATE), _validate=False)
    fig._validate = fig.layout._validate = True
    return fig


def figure(title: str, **layout) -> go.Figure:
    """A blank figure with the house layout (margins, height, legend box); `layout` replaces any of its keys."""
    fig = blank_figure()
    fig.update_layout(title=title, **{**_LAYOUT, **layout})
    return fig


def legend_on_top(fig: go.Figure, rows: int = 1) -> go.Figure:
    """A horizontal legend between the title and the plot, neither overlapping: the title is pinned to the top of the
    figure and the top margin holds `rows` lines of legend (a narrow column wraps a long legend)."""
    fig.update_layout(
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
        title=dict(yref="container", y=1.0, yanchor="top", pad=dict(t=12)),
        margin=dict(t=48 + 24 * rows),
    )
    return fig


def series_colors(names: Sequence[str]) -> dict[str, str]:
    """First name is the model (blue); the rest are baselines in a fixed order."""
    return {
        n: (MODEL_COLOR if i == 0 else BASELINE_COLORS[(i - 1) % len(BASELINE_COLORS)]) for i, n in enumerate(names)
    }


def loss_curve(events: Sequence[dict[str, Any]]) -> go.Figure:
    df = pd.DataFrame(list(events))  # a snapshot: a running job appends to its list
    fig = legend_on_top(
        figure("Training progress (loss: lower is better)", xaxis_title="epoch", yaxis_title="loss", height=300)
    )  # above the plot: never over the "best so far" line's label
    if len(df):
        fig.add_scatter(
            x=df["epoch"], y=df["train_loss"], name="training rows", line=dict(color=MODEL_COLOR, dash="dot")
        )
        fig.add_scatter(x=df["epoch"], y=df["val_loss"], name="validation rows", line=dict(color=MODEL_COLOR))
        if "best_epoch" in df and df["best_epoch"].iloc[-1]:
            fig.add_vline(
                x=int(df["best_epoch"].iloc[-1]),
                line_dash="dash",
                line_color=NEUTRAL_COLOR,
                annotation_text="best so far",
            )
    return fig


def roc_chart(curves: dict[str, pd.DataFrame], points: dict[str, tuple[float, float]] | None = None) -> go.Figure:
    """ROC curves (model first) with each model's operating point at the chosen threshold."""
    colors = series_colors(list(curves))
    fig = figure(
        "ROC curve",
        xaxis_title="false-alarm rate (1 − specificity)",
        yaxis_title="sensitivity",
        xaxis=dict(range=[0, 1]),
        yaxis=dict(range=[0, 1.02]),
        height=420,
    )
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="guessing", line=dict(color=NEUTRAL_COLOR, dash="dash"))
    for name, c in curves.items():
        fig.add_scatter(
            x=c["fpr"],
            y=c["tpr"],
            name=name,
            mode="lines",
            line=dict(color=colors[name], width=3 if name == next(iter(curves)) else 2),
            customdata=c["threshold"],
            hovertemplate="threshold %{customdata:.2f}<br>FPR %{x:.2f} · TPR %{y:.2f}",
        )
    for name, (x, y) in (points or {}).items():
        fig.add_scatter(
            x=[x],
            y=[y],
            mode="markers",
            name=f"{name} at threshold",
            showlegend=False,
            marker=dict(color=colors.get(name, NEUTRAL_COLOR), size=13, line=dict(color="black", width=1.5)),
        )
    return fig


def pr_chart(
    curves: dict[str, pd.DataFrame],
    points: dict[str, tuple[float, float]] | None = None,
    base_rate: float | None = None,
) -> go.Figure:
    """Precision-recall curves (model first; frames with recall, precision, threshold) with operating points.

    `base_rate` (the share of positives) draws what guessing gets; `points` maps a model to (recall, precision).
    """
    colors = series_colors(list(curves))
    fig = figure(
        "Precision-recall curve",
        xaxis_title="recall (share of positives caught)",
        yaxis_title="precision (share of flags that are right)",
        xaxis=dict(range=[0, 1]),
        yaxis=dict(range=[0, 1.02]),
        height=450,
        legend=dict(orientation="h", yanchor="top", y=-0.2, xanchor="left", x=0),
    )  # curves fill the corners
    if base_rate is not None:
        fig.add_scatter(
            x=[0, 1],
            y=[base_rate, base_rate],
            mode="lines",
            name="guessing",
            line=dict(color=NEUTRAL_COLOR, dash="dash"),
        )
    for name, c in curves.items():
        fig.add_scatter(
            x=c["recall"],
            y=c["precision"],
            name=name,
            mode="lines",
            line_shape="hv",
            line=dict(color=colors[name], width=3 if name == next(iter(curves)) else 2),
            customdata=c["threshold"],
            hovertemplate="threshold %{customdata:.3f}<br>recall %{x:.2f} · precision %{y:.2f}",
        )
    for name, (x, y) in (points or {}).items():
        fig.add_scatter(
            x=[x],
            y=[y],
            mode="markers",
            name=f"{name} at threshold",
            showlegend=False,
            marker=dict(color=colors.get(name, NEUTRAL_COLOR), size=13, line=dict(color="black", width=1.5)),
        )
    return fig


def calibration_chart(curves: dict[str, pd.DataFrame]) -> go.Figure:
    colors = series_colors(list(curves))
    fig = figure(
        "Calibration: predicted risk vs what happened",
        xaxis_title="mean predicted risk",
        yaxis_title="observed share with the outcome",
        xaxis=dict(range=[0, 1]),
        yaxis=dict(range=[0, 1]),
        height=400,
    )
    fig.add_scatter(
        x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated", line=dict(color=NEUTRAL_COLOR, dash="dash")
    )
    for name, c in curves.items():
        fig.add_scatter(
            x=c["predicted"],
            y=c["observed"],
            name=name,
            mode="lines+markers",
            line=dict(color=colors[name]),
            customdata=c["patients"],
            hovertemplate="predicted %{x:.2f}<br>observed %{y:.2f}<br>%{customdata} rows",
        )
    return fig


def confusion_chart(counts: np.ndarray, labels: Sequence[str], title: str = "Confusion matrix") -> go.Figure:
    counts = np.asarray(counts)
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    text = [
        [f"{counts[i, j]:,}<br>({100 * share[i, j]:.0f}% of row)" for j in range(counts.shape[1])]
        for i in range(counts.shape[0])
    ]
    fig = figure(title, xaxis_title="predicted", yaxis_title="actual", height=340)
    fig.add_heatmap(
        z=share,
        x=[str(v) for v in labels],
        y=[str(v) for v in labels],
        text=text,
        texttemplate="%{text}",
        colorscale="Blues",
        zmin=0,
        zmax=1,
        showscale=False,
        hoverinfo="skip",
    )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", side="bottom")
    return fig


def probability_bars(probabilities: dict[str, float], title: str = "Predicted probabilities") -> go.Figure:
    fig = figure(title, height=260, xaxis=dict(range=[0, 1], title="probability"))
    names = list(probabilities)
    fig.add_bar(
        x=[probabilities[n] for n in names],
        y=names,
        orientation="h",
        marker_color=MODEL_COLOR,
        text=[f"{100 * probabilities[n]:.0f}%" for n in names],
        textposition="outside",
    )
    fig.update_yaxes(type="category", autorange="reversed")
    return fig


# ----------------------------------------------------------------------------- SHAP


def _namer(names: Dictionary | None):
    """The analyst's label of a column ('chest pain type (cp)') and of a value ('4 = asymptomatic')."""
    d = names or Dictionary()
    return (lambda c: d.label(c, width=30)), (lambda c, v: d.value_label(c, v))


def in_points(exp: Explanation) -> Explanation:
    """A probability explained in log-odds (`link == "logit"`), re-read in points of risk (percentage points): each
    row's change in risk, from the average to its own, shared among its columns in proportion to their log-odds
    effects, so a row's points add up to its risk minus the average risk (in %). Every chart of the Explanations tab
    (importance, beeswarm, waterfall, dependence) draws these, so one number means the same on all of them. Other
    outputs come back unchanged."""
    if exp.link != "logit":
        return exp
    f, b = exp.outputs, float(exp.base_value)
    p, p0 = 1 / (1 + np.exp(-f)), 1 / (1 + np.exp(-b))
    moved = f - b
    tiny = np.abs(moved) < 1e-9
    slope = np.where(tiny, p * (1 - p), (p - p0) / np.where(tiny, 1.0, moved))  # tiny moves: the sigmoid's slope
    return Explanation(
        100 * exp.values * slope[:, None], 100 * p0, exp.data, exp.feature_names, exp.output_name, "points"
    )


def effect_unit(exp: Explanation) -> str:
    """The unit every SHAP axis states: points of risk for a probability, else the output's own units."""
    if exp.link in ("logit", "points"):
        return f"points of {exp.output_name} (percentage points)"
    return f"{exp.output_name}, in its own units"


def shap_bar(exp: Explanation, top: int = 15, names: Dictionary | None = None) -> go.Figure:
    label, _ = _namer(names)
    unit, exp = effect_unit(exp), in_points(exp)
    imp = exp.importance().head(top)[::-1]
    fig = figure(
        "Which columns matter most (mean |SHAP|)",
        xaxis_title=f"average effect, in {unit}",
        height=max(260, 28 * len(imp) + 90),
    )
    fig.add_bar(
        x=imp.values,
        y=[label(c) for c in imp.index],
        orientation="h",
        marker_color=MODEL_COLOR,
        hovertemplate="%{y}: %{x:.3g}<extra></extra>",
    )
    return fig


def _color_scale(values: pd.Series) -> np.ndarray:
    """Each value's rank in its column, 0..1 (low blue → high orange); categories grey."""
    num = pd.to_numeric(values, errors="coerce")
    if num.notna().sum() < max(2, len(values) // 2):
        return np.full(len(values), np.nan)
    return num.rank(pct=True).to_numpy()


def shap_beeswarm(exp: Explanation, top: int = 12, seed: int = 0, names: Dictionary | None = None) -> go.Figure:
    """One dot per row and column: where it sits shows the effect, its colour how high the value was."""
    label, value = _namer(names)
    unit, exp = effect_unit(exp), in_points(exp)
    order = list(exp.importance().head(top).index)
    fig = figure(
        "Effect of each column, one dot per row",
        xaxis_title=f"effect on the row, in {unit}",
        height=max(300, 34 * len(order) + 110),
        showlegend=False,
    )
    rng = np.random.default_rng(seed)
    scale_shown = False
    for pos, col in enumerate(order[::-1]):
        j = exp.feature_names.index(col)
        colour = _color_scale(exp.data[col])
        jitter = pos + rng.uniform(-0.3, 0.3, len(exp.data))
        marker = dict(size=6, opacity=0.8)
        if np.isnan(colour).all():
            marker["color"] = NEUTRAL_COLOR
        else:  # the colour key once, on the first column that has one (a category at the bottom has none)
            marker.update(
                color=colour,
                colorscale=[[0, NEGATIVE_COLOR], [0.5, "#dddddd"], [1, POSITIVE_COLOR]],
                cmin=0,
                cmax=1,
                showscale=not scale_shown,
                colorbar=dict(title="value", tickvals=[0, 1], ticktext=["low", "high"], len=0.5),
            )
            scale_shown = True
        fig.add_scatter(
            x=exp.values[:, j],
            y=jitter,
            mode="markers",
            marker=marker,
            name=label(col),
            text=[value(col, v) for v in exp.data[col]],
            hovertemplate=f"{label(col)}: %{{text}}<br>effect %{{x:+.3g}}<extra></extra>",
        )
    fig.update_yaxes(
        tickvals=list(range(len(order))), ticktext=[label(c) for c in order[::-1]], range=[-0.6, len(order) - 0.4]
    )
    fig.add_vline(x=0, line_color=NEUTRAL_COLOR)
    return fig


def shap_waterfall(
    exp: Explanation,
    i: int,
    top: int = 10,
    axis_title: str | None = None,
    probability: Callable[[Sequence[str]], float] | None = None,
    names: Dictionary | None = None,
) -> go.Figure:
    """From the average prediction to this row's, one column at a time (largest effects shown).

    A probability explained in log-odds (`exp.link == "logit"`) reads in %: the start and end as probabilities,
    each bar as the percentage points it moves the risk in the order drawn, the axis ticked in %; the log-odds the
    bars add up in are in the tooltip. Other outputs are shown in their own units (`axis_title` names them).
    `probability(columns)`: the probability (0-1) once only `columns` have pushed, for an output whose probability is
    not a sigmoid of it alone (a softmax over segments): the bars are then drawn in percentage points, the explained
    output's own units in the tooltip."""
    label, value = _namer(names)
    logit = exp.link == "logit"
    log_odds, exp = exp, in_points(exp)  # a probability: the bars in points of risk, as on every chart of the tab
    row = exp.row(i)
    shown, rest = row.head(top), row.iloc[top:]
    labels = [
        f"{label(c)}: {value(c, v)}"
        if names and (label(c) != c or value(c, v) != format_value(v))
        else f"{c} = {format_value(v)}"
        for c, v in zip(shown["column"], shown["value"])
    ]
    deltas = list(shown["contribution"])
    groups = [[c] for c in shown["column"]]
    if len(rest):
        labels.append(f"{len(rest)} other columns")
        deltas.append(float(rest["contribution"].sum()))
        groups.append(list(rest["column"]))
    labels, deltas, groups = labels[::-1], deltas[::-1], groups[::-1]
    end = float(exp.outputs[i])
    if probability is not None:
        return _probability_waterfall(exp, labels, deltas, groups, end, probability, axis_title)
    if logit:  # the same points as the beeswarm's dot for this row; the log-odds they came from on hover
        by_column = dict(zip(log_odds.feature_names, log_odds.values[i]))
        odds = [sum(by_column[c] for c in g) for g in groups]
        text = [f"{exp.base_value:.1f}%", *[f"{d:+.1f} pts" for d in deltas], f"{end:.1f}%"]
        title = axis_title or f"{exp.output_name} in %; each bar in {effect_unit(log_odds)}"
        custom = [log_odds.base_value, *odds, float(log_odds.outputs[i])]
    else:
        text = [f"{exp.base_value:.2f}", *[f"{d:+.2f}" for d in deltas], f"{end:.2f}"]
        title = axis_title or f"{exp.output_name}"
        custom = [exp.base_value, *deltas, end]
    fig = figure(
        "Why this prediction: from the average to this row",
        height=max(300, 30 * len(labels) + 130),
        xaxis_title=title,
        showlegend=False,
        margin=dict(l=10, r=70, t=50, b=10),
    )  # r: the last bar's label
    fig.add_waterfall(
        orientation="h",
        y=["average (base value)", *labels, "this row"],
        x=[exp.base_value, *deltas, 0],
        measure=["absolute", *["relative"] * len(deltas), "total"],
        increasing=dict(marker=dict(color=POSITIVE_COLOR)),
        decreasing=dict(marker=dict(color=NEGATIVE_COLOR)),
        totals=dict(marker=dict(color=MODEL_COLOR)),
        text=text,
        textposition="outside",
        cliponaxis=False,
        connector=dict(line=dict(color="#cccccc")),
        customdata=custom,
        hovertemplate="%{y}<br>%{text}" + (" · log-odds %{customdata:+.2f}" if logit else "") + "<extra></extra>",
    )
    fig.update_yaxes(autorange="reversed", type="category")
    if logit:
        fig.update_xaxes(ticksuffix="%", rangemode="tozero")
    return fig


def _probability_waterfall(
    exp: Explanation,
    labels: list[str],
    deltas: list[float],
    groups: list[list[str]],
    end: float,
    probability: Callable[[Sequence[str]], float],
    axis_title: str | None,
) -> go.Figure:
    """The waterfall in percentage points of a probability computed along the columns in the order drawn."""
    added: list[str] = []
    p = [100 * probability(added)]
    for g in groups:
        added += g
        p.append(100 * probability(added))
    steps = list(np.diff(p))
    text = [f"{p[0]:.1f}%", *[f"{d:+.1f} pts" for d in steps], f"{p[-1]:.1f}%"]
    fig = figure(
        "Why this prediction: from the average to this row",
        height=max(300, 30 * len(labels) + 130),
        xaxis_title=axis_title or f"{exp.output_name} as a probability (%)",
        showlegend=False,
        margin=dict(l=10, r=70, t=50, b=10),
    )
    fig.add_waterfall(
        orientation="h",
        y=["average (base value)", *labels, "this row"],
        x=[p[0], *steps, 0],
        measure=["absolute", *["relative"] * len(steps), "total"],
        increasing=dict(marker=dict(color=POSITIVE_COLOR)),
        decreasing=dict(marker=dict(color=NEGATIVE_COLOR)),
        totals=dict(marker=dict(color=MODEL_COLOR)),
        text=text,
        textposition="outside",
        cliponaxis=False,
        connector=dict(line=dict(color="#cccccc")),
        customdata=[exp.base_value, *deltas, end],
        hovertemplate="%{y}<br>%{text} · " + exp.output_name + " %{customdata:+.2f}<extra></extra>",
    )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(ticksuffix="%", range=[0, 100 * 1.12])
    return fig


def shap_dependence(exp: Explanation, column: str, names: Dictionary | None = None) -> go.Figure:
    """The column's value against its effect: the shape of what the model learned about it."""
    label, value = _namer(names)
    unit, exp = effect_unit(exp), in_points(exp)
    j = exp.feature_names.index(column)
    fig = figure(
        f"How '{label(column)}' changes the prediction",
        xaxis_title=label(column),
        yaxis_title=f"effect, in {unit}",
        height=360,
        showlegend=False,
    )
    fig.add_scatter(
        x=exp.data[column],
        y=exp.values[:, j],
        mode="markers",
        marker=dict(color=MODEL_COLOR, opacity=0.7),
        text=[value(column, v) for v in exp.data[column]],
        hovertemplate=f"{label(column)}: %{{text}}<br>effect %{{y:+.3g}}<extra></extra>",
    )
    codes = (names or Dictionary()).values.get(column)
    if codes and pd.api.types.is_numeric_dtype(exp.data[column]):  # coded axis: ticks say what the codes mean
        seen = sorted({float(v) for v in exp.data[column].dropna()})
        fig.update_xaxes(tickvals=seen, ticktext=[value(column, v) for v in seen])
    fig.add_hline(y=0, line_color=NEUTRAL_COLOR)
    return fig


def cost_chart(
    curves: dict[str, pd.DataFrame], threshold: float, no_model: float, unit: str = "transactions"
) -> go.Figure:
    """Cost per 1,000 rows (`unit`: transactions, runs) against the threshold, per model, with 'flag nothing' as the reference."""
    colors = series_colors(list(curves))
    fig = figure(
        f"Expected cost per 1,000 {unit}, by threshold",
        height=380,
        xaxis=dict(title="threshold", range=[0, 1]),
        yaxis=dict(title=f"cost per 1,000 {unit}{in_currency()}", range=[0, 1.25 * no_model if no_model > 0 else None]),
    )
    legend_on_top(fig)  # above the plot: never over "your threshold" or the no-model line
    fig.add_hline(
        y=no_model,
        line_dash="dot",
        line_color=NEUTRAL_COLOR,
        annotation_text="no model (flag nothing)",
        annotation_position="bottom right",
    )
    for name, c in curves.items():
        fig.add_scatter(
            x=c["threshold"],
            y=c["cost_per_1000"],
            name=name,
            mode="lines",
            line_shape="hv",
            line=dict(color=colors[name], width=3 if name == next(iter(curves)) else 2),
            hovertemplate="threshold %{x:.3f}<br>cost %{y:,.0f}<extra>" + name + "</extra>",
        )
        best = c.loc[c["cost_per_1000"].idxmin()]
        fig.add_scatter(
            x=[best["threshold"]],
            y=[best["cost_per_1000"]],
            mode="markers",
            showlegend=False,
            marker=dict(color=colors[name], size=11, symbol="diamond", line=dict(color="black", width=1)),
            hovertemplate="cheapest: %{x:.3f}<extra>" + name + "</extra>",
        )
    fig.add_vline(x=threshold, line_dash="dash", line_color=NEUTRAL_COLOR, annotation_text="your threshold")
    return fig
