"""The forecast page's figures: a series' history, backtest and forecast with its band, the backtest MASE of every
method, a planned scenario beside the forecast without it; and the names and colours each method has on the page."""

from __future__ import annotations

import plotly.graph_objects as go

from engine import forecast as fc
from engine.forecast import scenario as scn
from ui import charts
from ui.style import BASELINE_COLORS, MODEL_COLOR, NEUTRAL_COLOR, fmt

CHOICE_COLOR = "#333333"
COLORS = {
    fc.MODEL: MODEL_COLOR,
    fc.SNAIVE: BASELINE_COLORS[0],
    fc.ETS: BASELINE_COLORS[1],
    fc.COMBO: BASELINE_COLORS[2],
    fc.CHOICE: CHOICE_COLOR,
}
SHORT = {
    fc.SNAIVE: "seasonal naive",
    fc.ETS: "AutoETS",
    fc.MODEL: "network",
    fc.COMBO: "combination",
    fc.CHOICE: "page's choice",
}
TITLE = {
    fc.CHOICE: "Page's choice",
    fc.MODEL: "Network",
    fc.COMBO: "Combination",
    fc.ETS: "AutoETS",
    fc.SNAIVE: "Seasonal naive",
}
BAND = "rgba(0, 114, 178, 0.18)"
_LAYOUT = dict(  # in the house template (charts.blank_figure)
    margin=dict(l=10, r=10, t=50, b=10), legend=dict(orientation="h", yanchor="top", y=-0.18, x=0)
)


def forecast_chart(model: fc.ForecastModel, series: str, show: int = 120) -> go.Figure:
    """History, the backtest forecasts of every model, and the future forecast (the method the page chose for this
    series) with its 80% band; the network's own forecast beside it when another method was chosen."""
    v = model.series_view(series)
    a, bt, f = v["actuals"], v["backtest"], v["forecast"]
    a = a.iloc[-max(show, len(bt) + model.horizon) :]
    method = model.method_of(series)
    chosen = f"Forecast ({SHORT.get(method, method)})"
    fig = charts.blank_figure()
    fig.update_layout(
        title=f"{series}: history, backtest and forecast",
        height=480,
        xaxis_title=None,
        yaxis_title=model.columns.target,
        **_LAYOUT,
    )
    fig.update_yaxes(automargin=True)
    fig.update_xaxes(automargin=True)
    fig.add_scatter(x=a["date"], y=a["actual"], name="actual", mode="lines", line=dict(color="#333333", width=1.5))
    _backtest_traces(fig, bt, method)
    _future_traces(fig, f, method, chosen)
    _clip_spikes(fig, a, bt, f)
    return fig


def _backtest_traces(fig: go.Figure, bt, method: str) -> None:
    """The backtest windows on `fig`: the 80% band, the network, the seasonal naive, AutoETS and (when the page chose
    it) the combination, one legend entry each."""
    lo, hi = ("chosen_low", "chosen_high") if "chosen_low" in bt else ("model_low", "model_high")
    for w, part in bt.groupby("window"):
        first = w == 1
        fig.add_scatter(
            x=part["date"], y=part[hi], mode="lines", line=dict(width=0), showlegend=False, hoverinfo="skip"
        )
        fig.add_scatter(
            x=part["date"],
            y=part[lo],
            mode="lines",
            line=dict(width=0),
            fill="tonexty",
            fillcolor=BAND,
            name="80% interval",
            legendgroup="band",
            showlegend=False,
            hoverinfo="skip",
        )
        fig.add_scatter(
            x=part["date"],
            y=part["model"],
            name="Network (backtest)",
            legendgroup="model",
            showlegend=first,
            mode="lines",
            line=dict(color=MODEL_COLOR, dash="dash"),
        )
        fig.add_scatter(
            x=part["date"],
            y=part["snaive"],
            name=fc.SNAIVE,
            legendgroup="sn",
            showlegend=first,
            mode="lines",
            line=dict(color=COLORS[fc.SNAIVE], dash="dot"),
        )
        if "ets" in part:
            fig.add_scatter(
                x=part["date"],
                y=part["ets"],
                name="AutoETS",
                legendgroup="ets",
                showlegend=first,
                mode="lines",
                line=dict(color=COLORS[fc.ETS], dash="dot"),
            )
        if method == fc.COMBO and "combo" in part:
            fig.add_scatter(
                x=part["date"],
                y=part["combo"],
                name="Combination",
                legendgroup="combo",
                showlegend=first,
                mode="lines",
                line=dict(color=COLORS[fc.COMBO], dash="dashdot"),
            )


def _future_traces(fig: go.Figure, f, method: str, chosen: str) -> None:
    """The future on `fig`: the 80% band, the network's forecast when another method was chosen, the chosen forecast
    (`chosen`: its legend name) and where the forecast starts."""
    fig.add_scatter(x=f["date"], y=f["high"], mode="lines", line=dict(width=0), showlegend=False, hoverinfo="skip")
    fig.add_scatter(
        x=f["date"],
        y=f["low"],
        mode="lines",
        line=dict(width=0),
        fill="tonexty",
        fillcolor=BAND,
        name="80% interval",
        legendgroup="band",
    )
    if method != fc.MODEL:
        fig.add_scatter(
            x=f["date"],
            y=f["network"],
            name="Network (forecast)",
            mode="lines",
            line=dict(color=MODEL_COLOR, dash="dash"),
        )
    fig.add_scatter(
        x=f["date"],
        y=f["median"],
        name=chosen,
        mode="lines+markers",
        line=dict(color=COLORS.get(method, MODEL_COLOR) if method != fc.MODEL else MODEL_COLOR, width=2.5),
        marker=dict(size=5),
    )
    start = f["date"].iloc[0]
    fig.add_vline(x=start, line_dash="dash", line_color=NEUTRAL_COLOR)
    fig.add_annotation(
        x=start, y=1, yref="paper", text="forecast starts", showarrow=False, xanchor="left", yanchor="bottom"
    )


def _clip_spikes(fig: go.Figure, actuals, backtest, future) -> None:
    """A one-off spike (a bulk order) would flatten everything else: cap the axis and say so on the chart."""
    values = actuals["actual"].dropna()
    if values.empty:
        return
    typical = [float(values.quantile(0.98))]
    for frame, cols in ((backtest, ("model_high",)), (future, ("high",))):
        typical += [float(frame[c].max()) for c in cols if c in frame and frame[c].notna().any()]
    top = max(typical) * 1.2
    spikes = actuals[actuals["actual"] > top]
    if top <= 0 or spikes.empty or float(values.max()) < 2 * top:
        return
    fig.update_yaxes(range=[min(0.0, float(values.min())), top])
    worst = spikes.loc[spikes["actual"].idxmax()]
    fig.add_annotation(
        x=worst["date"],
        y=top,
        text=f"{len(spikes)} day(s) above the chart, up to {worst['actual']:,.0f}",
        showarrow=True,
        arrowhead=2,
        ax=-60,
        ay=20,
        bgcolor="rgba(255,255,255,0.85)",
    )


def candidates(model: fc.ForecastModel) -> dict[str, dict[str, float]]:
    """Every forecast compared on the backtest, the page's choice first (files before the choice: network only)."""
    out = {fc.CHOICE: model.metrics} if fc.COMBO in model.candidate_metrics else {}
    out[fc.MODEL] = model.network_metrics
    if fc.COMBO in model.candidate_metrics:
        out[fc.COMBO] = model.candidate_metrics[fc.COMBO]
    return {**out, **model.baseline_metrics}


def mase_chart(model: fc.ForecastModel) -> go.Figure:
    models = candidates(model)
    fig = charts.blank_figure()
    fig.update_layout(
        title="MASE on the backtest windows (lower is better)",
        height=300,
        xaxis_title="MASE",
        **{**_LAYOUT, "showlegend": False},
    )
    names = list(models)[::-1]
    values = [models[n]["mase"] for n in names]
    fig.add_bar(
        x=values,
        y=[TITLE.get(n, n) for n in names],
        orientation="h",
        marker_color=[COLORS.get(n, NEUTRAL_COLOR) for n in names],
        text=[fmt(v, 2) for v in values],
        textposition="outside",
        cliponaxis=False,
    )
    fig.update_xaxes(range=[0, max(v for v in values if v == v) * 1.2])
    fig.update_yaxes(automargin=True)
    fig.add_vline(x=models[fc.SNAIVE]["mase"], line_dash="dot", line_color=NEUTRAL_COLOR)
    return fig


def scenario_chart(plan: scn.ScenarioPlan, series: str, unit: str) -> go.Figure:
    """One series' forecast with its 80% band, without the plan (grey) and with it (blue)."""
    fig = charts.blank_figure()
    for name, frame, line, band in (
        ("without the plan", plan.base, NEUTRAL_COLOR, "rgba(120, 120, 120, 0.18)"),
        ("with your plan", plan.planned, MODEL_COLOR, BAND),
    ):
        f = frame[frame["series"] == series]
        fig.add_scatter(x=f["date"], y=f["high"], mode="lines", line=dict(width=0), showlegend=False, hoverinfo="skip")
        fig.add_scatter(
            x=f["date"],
            y=f["low"],
            mode="lines",
            line=dict(width=0),
            fill="tonexty",
            fillcolor=band,
            name=f"80% interval {name}",
            hoverinfo="skip",
        )
        fig.add_scatter(
            x=f["date"],
            y=f["median"],
            mode="lines+markers",
            line=dict(color=line, dash="dot" if name.startswith("without") else "solid"),
            name=f"forecast {name}",
        )
    fig.update_layout(
        title=f"{series}: the forecast without and with your plan",
        height=380,
        yaxis_title=f"{unit} per {plan.model.freq.unit}",
        **_LAYOUT,
    )
    return fig
