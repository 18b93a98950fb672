"""The Forecasts and Explanations tabs: one series' chart and table, the drivers of the forecasts (SHAP) and of one
forecast; the series listed from the largest expected demand and named from a description column when there is one."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine import forecast as fc
from engine.data import Table
from engine.forecast.frame import series_descriptions
from ui import charts
from ui.errors import guard
from ui.forecast.figures import SHORT, forecast_chart
from ui.results import download_csv
from ui.state import memo
from ui.tabular import dependence_view
from ui.text import plain


def _series_order(model: fc.ForecastModel) -> list[str]:
    """Largest expected demand over the horizon first (what a planner looks at first)."""
    totals = model.forecast.groupby("series")["median"].sum()
    return sorted(model.ids, key=lambda s: -float(totals.get(s, 0)))


def series_label(names: dict[str, str] | None):
    """'15036 · ASSORTED COLOURS SILK FAN' when the file names its series (a description column), else the id."""
    return lambda s: f"{s} · {names[s]}" if names and s in names else str(s)


def forecasts(model: fc.ForecastModel, names: dict[str, str] | None = None) -> None:
    pick = st.selectbox(
        "Series",
        _series_order(model),
        key="fc_series_pick",
        format_func=series_label(names),
        help="Series are listed from the largest expected demand down.",
    )
    fig = forecast_chart(model, pick)
    if names and pick in names:
        fig.update_layout(title=f"{series_label(names)(pick)}: history, backtest and forecast")
    st.plotly_chart(fig, key="fc_chart")
    st.caption(
        f"This series uses the {plain(SHORT.get(model.method_of(pick), pick))} forecast (chosen on the backtest). Black: what "
        "was sold. Dashed and dotted lines: what each model forecast in the backtest windows; blue band: the 80% "
        "interval of the forecast used — about 8 in 10 actual values should fall inside it."
    )
    f = model.forecast[model.forecast["series"] == pick]
    shown = pd.DataFrame(
        {
            "date": f["date"].dt.strftime("%a %d %b %Y"),
            "low (10%)": f["low"],
            "forecast (median)": f["median"],
            "high (90%)": f["high"],
            "open": f["open"],
        }
    )
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        height=240,
        column_config={
            c: st.column_config.NumberColumn(format="%.1f") for c in ("low (10%)", "forecast (median)", "high (90%)")
        },
    )
    download_csv(
        model.forecast_table(),
        "Download the forecasts of every series (CSV)",
        "demand_forecast.csv",
        key="fc_forecast_dl",
    )


def explanations(model: fc.ForecastModel, run_key: str, names: dict[str, str] | None = None) -> None:
    exp = None
    with guard("explaining the forecasts", stop=False):
        exp = memo("fc_explain", run_key, lambda: model.explain(None))
    if exp is None:
        return
    st.markdown(
        f"**What drives the forecasts** — across {len(exp.data):,} forecasts (every series, backtest and future)"
    )
    c1, c2 = st.columns(2)
    c1.plotly_chart(charts.shap_bar(exp), key="fc_shap_bar")
    c1.caption(
        "Longer bars: inputs that move the forecast the most, on average (SHAP, grouped the way you would name them). "
        "Effects are on a log scale: 0.1 is roughly a 10% change in the forecast."
    )
    c2.plotly_chart(charts.shap_beeswarm(exp), key="fc_shap_swarm")
    c2.caption(
        "One dot per forecast: right of zero raises it, left lowers it; orange dots are high values of that input, blue low."
    )
    dependence_view(exp, "fc_shap", labels=getattr(model, "dictionary", None), row_label="forecast", what="input")
    st.markdown("**One forecast**")
    p1, p2 = st.columns(2)
    series = p1.selectbox("Series", _series_order(model), key="fc_explain_series", format_func=series_label(names))
    f = model.forecast[(model.forecast["series"] == series) & model.forecast["open"]]
    if f.empty:
        st.info("Every day of this series' horizon is closed, so every forecast is zero.")
        return
    step = p2.selectbox(
        "Day",
        list(f["step"]),
        key=f"fc_explain_step_{series}",
        format_func=lambda s: f"{f.loc[f['step'] == s, 'date'].iloc[0]:%a %d %b %Y}",
    )
    with guard("explaining this forecast", stop=False):
        point = memo("fc_point", f"{run_key}|{series}|{step}", lambda: model.explain_point(series, int(step)), keep=8)
        fig = charts.shap_waterfall(point, 0, axis_title=f"{model.columns.target} forecast for that day")
        fig.update_layout(title="Why this forecast: from the average forecast to this day's")
        fig.data[0].y = tuple("this forecast" if v == "this row" else v for v in fig.data[0].y)
        st.plotly_chart(fig, key="fc_waterfall")
        st.caption(
            "Start at the average forecast; each bar is one group of inputs pushing this day's forecast up (orange) or "
            f"down (blue), in {model.columns.target}; the last bar is the forecast itself."
        )


def series_names(model: fc.ForecastModel, table: Table | None) -> dict[str, str]:
    """The series' names from a description column of the file, if it has one (see engine.dictionary)."""
    if table is None:
        return {}
    c = model.columns
    return series_descriptions(
        table.df, c.series, exclude=[c.date, c.target, *c.drivers, *([c.open_flag] if c.open_flag else [])]
    )
