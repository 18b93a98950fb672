"""Demand forecast views: column roles, the per-series chart with its band, accuracy beside the baselines,
drivers (SHAP), reorder quantities, scoring a newer history, sharing. The page decides; this draws."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from engine import forecast as fc
from engine.forecast import scenario as scn
from engine.data import Table
from engine.forecast.frame import series_descriptions
from engine.options import help_of
from ui import charts
from ui.errors import guard
from ui.options import option_input
from ui.report import appendix, build_report
from ui.results import download_csv, metric_delta
from ui.share import share_panel
from ui.state import memo
from ui.tabular import batch_scoring, dependence_view, model_file_scoring
from ui.style import BASELINE_COLORS, MODEL_COLOR, NEUTRAL_COLOR, fmt, money
from ui.training import run_key as content_key
from ui.text import plain

KEYS = ["mae", "mase", "smape", "coverage", "rmse"]  # the error in the analyst's units first
LOWER = ["mase", "smape", "mae", "rmse"]
SEASON_AGO = {"D": "the same weekday a week earlier", "W": "the same week a year earlier",
              "M": "the same month a year earlier"}
CHOICE_COLOR = "#333333"
COLORS = {fc.MODEL: MODEL_COLOR, fc.SNAIVE: BASELINE_COLORS[0], fc.ETS: BASELINE_COLORS[1], fc.COMBO: BASELINE_COLORS[2],
          fc.CHOICE: CHOICE_COLOR}
SHORT = {fc.SNAIVE: "seasonal naive", fc.ETS: "AutoETS", fc.MODEL: "network", fc.COMBO: "combination",
         fc.CHOICE: "page's choice"}
TITLE = {fc.CHOICE: "Page's choice", fc.MODEL: "Network", fc.COMBO: "Combination", fc.ETS: "AutoETS",
         fc.SNAIVE: "Seasonal naive"}
BAND = "rgba(0, 114, 178, 0.18)"
_LAYOUT = dict(template="plotly_white", margin=dict(l=10, r=10, t=50, b=10), legend=dict(orientation="h", yanchor="top", y=-0.18, x=0))


# ----------------------------------------------------------------------------- 2 · Columns


def _is_flag(s: pd.Series) -> bool:
    values = set(pd.to_numeric(s, errors="coerce").dropna().unique())
    return bool(values) and values <= {0, 1}


def column_inputs(df: pd.DataFrame, fp: str) -> tuple[fc.ForecastColumns, fc.ForecastConfig]:
    """Roles (date, quantity, series ids, drivers, open/closed), data options, horizon and backtest, advanced knobs."""
    defaults, why = memo("fc_defaults", fp, lambda: fc.guess_columns(df))  # reads every date: once per file
    names = list(df.columns)
    c1, c2, c3 = st.columns(3)
    date = c1.selectbox("Date column", names, index=names.index(defaults.date), key=f"fc_date_{fp}",
                        help="The day, week or month each row is about.")
    quantities = [c for c in names if c != date]
    target = c2.selectbox("Quantity to forecast", quantities,
                          index=quantities.index(defaults.target) if defaults.target in quantities else 0, key=f"fc_target_{fp}",
                          help="Units sold (or another demand figure) per date and series.")
    others = [c for c in names if c not in (date, target)]
    series = c3.multiselect("Series id columns (store, item, …)", others, default=[c for c in defaults.series if c in others],
                            key=f"fc_series_{fp}", help="Each combination of these columns is one series to forecast. "
                            "Leave empty when the file holds a single series.")
    rest = [c for c in others if c not in series]
    d1, d2 = st.columns([2, 1])
    drivers = d1.multiselect(
        "Drivers known in advance", rest, default=[c for c in defaults.drivers if c in rest], key=f"fc_drivers_{fp}",
        help="Columns whose future values you know when you forecast: promotions, planned prices, holidays, opening days. "
             "Not figures measured from the sales themselves (number of orders, average price paid): they would leak the "
             "answer. Future values can be given as extra rows with the quantity left empty.")
    flags = ["(none)"] + [c for c in rest if _is_flag(df[c])]
    open_default = defaults.open_flag if defaults.open_flag in flags else "(none)"
    open_flag = d2.selectbox("Open/closed column (1 = open)", flags, index=flags.index(open_default), key=f"fc_open_{fp}",
                             help="Closed days are forecast as zero by every model and left out of the accuracy figures.")
    o1, o2, o3 = st.columns(3)
    columns = fc.ForecastColumns(
        date=date, target=target, series=tuple(series), drivers=tuple(drivers),
        open_flag=None if open_flag == "(none)" else open_flag,
        sum_duplicates=o1.checkbox("Add up rows with the same date and series", key=f"fc_sum_{fp}",
                                   help="When one series has several rows for a date (several orders a day, say)."),
        negative_as_zero=o2.checkbox("Treat negative quantities as zero", key=f"fc_neg_{fp}",
                                     help="Returns are often booked as negative sales; demand cannot be negative."),
        missing_dates_as_zero=o3.checkbox("A date missing from a series means nothing was sold", value=True, key=f"fc_zero_{fp}",
                                          help="Untick when missing dates mean 'not recorded': they are then left out of "
                                               "training and scoring."),
    )
    with guard("reading your dates"):
        freq = memo("fc_freq", content_key(fp, date, target, series), lambda: fc.frequency_of(df, columns), keep=4)
    st.caption("Preselected: " + "; ".join(f"{role} — {reason}" for role, reason in why.items()) + ".")
    horizon_option = help_of(fc.ForecastConfig)["horizon"]  # its default depends on the frequency found
    h1, h2, _ = st.columns(3)
    horizon = h1.number_input(f"Forecast horizon ({freq.unit}s ahead)", horizon_option["min"], horizon_option["max"],
                              freq.horizon, key=f"fc_horizon_{fp}_{freq.kind}", help=horizon_option["help"])
    windows = option_input(h2, fc.ForecastConfig, "backtest_windows", key="fc_windows")
    with st.expander("Advanced training options"):
        a1, a2, a3 = st.columns(3)
        config = fc.ForecastConfig(
            horizon=int(horizon), backtest_windows=int(windows),
            lags=option_input(a1, fc.ForecastConfig, "lags", key="fc_lags"),
            max_epochs=option_input(a2, fc.ForecastConfig, "max_epochs", key="fc_epochs"),
            dropout=option_input(a3, fc.ForecastConfig, "dropout", key="fc_dropout", widget="slider"),
            seed=option_input(a1, fc.ForecastConfig, "seed", key="fc_seed"),
            refit=option_input(a2, fc.ForecastConfig, "refit", key="fc_refit"),
            ets=option_input(a3, fc.ForecastConfig, "ets", key="fc_ets"),
        )
    return columns, config


def panel_summary(panel: fc.Panel) -> None:
    st.markdown(panel.describe())  # plain text from the engine
    for note in panel.notes:
        st.info(plain(note), icon=":material/info:")
    if panel.skipped:
        with st.expander(f"Skipped series ({len(panel.skipped):,})"):
            st.dataframe(pd.DataFrame({"series": list(panel.skipped), "why": list(panel.skipped.values())}),
                         hide_index=True, width="stretch")


# ----------------------------------------------------------------------------- charts


def forecast_chart(model: fc.ForecastModel, series: str, show: int = 120) -> go.Figure:
    """History, the backtest forecasts of every model, and the future forecast (the method the page chose for this
    series) with its 80% band; the network's own forecast beside it when another method was chosen."""
    v = model.series_view(series)
    a, bt, f = v["actuals"], v["backtest"], v["forecast"]
    a = a.iloc[-max(show, len(bt) + model.horizon):]
    method = model.method_of(series)
    chosen = f"Forecast ({SHORT.get(method, method)})"
    fig = go.Figure()
    fig.update_layout(title=f"{series}: history, backtest and forecast", height=480, xaxis_title=None,
                      yaxis_title=model.columns.target, **_LAYOUT)
    fig.update_yaxes(automargin=True)
    fig.update_xaxes(automargin=True)
    fig.add_scatter(x=a["date"], y=a["actual"], name="actual", mode="lines", line=dict(color="#333333", width=1.5))
    lo, hi = ("chosen_low", "chosen_high") if "chosen_low" in bt else ("model_low", "model_high")
    for w, part in bt.groupby("window"):
        first = w == 1
        fig.add_scatter(x=part["date"], y=part[hi], mode="lines", line=dict(width=0), showlegend=False, hoverinfo="skip")
        fig.add_scatter(x=part["date"], y=part[lo], mode="lines", line=dict(width=0), fill="tonexty", fillcolor=BAND,
                        name="80% interval", legendgroup="band", showlegend=False, hoverinfo="skip")
        fig.add_scatter(x=part["date"], y=part["model"], name="Network (backtest)", legendgroup="model", showlegend=first,
                        mode="lines", line=dict(color=MODEL_COLOR, dash="dash"))
        fig.add_scatter(x=part["date"], y=part["snaive"], name=fc.SNAIVE, legendgroup="sn", showlegend=first, mode="lines",
                        line=dict(color=COLORS[fc.SNAIVE], dash="dot"))
        if "ets" in part:
            fig.add_scatter(x=part["date"], y=part["ets"], name="AutoETS", legendgroup="ets", showlegend=first, mode="lines",
                            line=dict(color=COLORS[fc.ETS], dash="dot"))
        if method == fc.COMBO and "combo" in part:
            fig.add_scatter(x=part["date"], y=part["combo"], name="Combination", legendgroup="combo", showlegend=first,
                            mode="lines", line=dict(color=COLORS[fc.COMBO], dash="dashdot"))
    fig.add_scatter(x=f["date"], y=f["high"], mode="lines", line=dict(width=0), showlegend=False, hoverinfo="skip")
    fig.add_scatter(x=f["date"], y=f["low"], mode="lines", line=dict(width=0), fill="tonexty", fillcolor=BAND,
                    name="80% interval", legendgroup="band")
    if method != fc.MODEL:
        fig.add_scatter(x=f["date"], y=f["network"], name="Network (forecast)", mode="lines",
                        line=dict(color=MODEL_COLOR, dash="dash"))
    fig.add_scatter(x=f["date"], y=f["median"], name=chosen, mode="lines+markers",
                    line=dict(color=COLORS.get(method, MODEL_COLOR) if method != fc.MODEL else MODEL_COLOR, width=2.5),
                    marker=dict(size=5))
    start = f["date"].iloc[0]
    fig.add_vline(x=start, line_dash="dash", line_color=NEUTRAL_COLOR)
    fig.add_annotation(x=start, y=1, yref="paper", text="forecast starts", showarrow=False, xanchor="left", yanchor="bottom")
    _clip_spikes(fig, a, bt, f)
    return fig


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
    fig.add_annotation(x=worst["date"], y=top, text=f"{len(spikes)} day(s) above the chart, up to {worst['actual']:,.0f}",
                       showarrow=True, arrowhead=2, ax=-60, ay=20, bgcolor="rgba(255,255,255,0.85)")


def candidates(model: fc.ForecastModel) -> dict[str, dict[str, float]]:
    """Every forecast compared on the backtest, the page's choice first (files before the choice: network only)."""
    out = {fc.CHOICE: model.metrics} if fc.COMBO in model.candidate_metrics else {}
    out[fc.MODEL] = model.network_metrics
    if fc.COMBO in model.candidate_metrics:
        out[fc.COMBO] = model.candidate_metrics[fc.COMBO]
    return {**out, **model.baseline_metrics}


def mase_chart(model: fc.ForecastModel) -> go.Figure:
    models = candidates(model)
    fig = go.Figure()
    fig.update_layout(title="MASE on the backtest windows (lower is better)", height=300, xaxis_title="MASE",
                      **{**_LAYOUT, "showlegend": False})
    names = list(models)[::-1]
    values = [models[n]["mase"] for n in names]
    fig.add_bar(x=values, y=[TITLE.get(n, n) for n in names], orientation="h",
                marker_color=[COLORS.get(n, NEUTRAL_COLOR) for n in names],
                text=[fmt(v, 2) for v in values], textposition="outside", cliponaxis=False)
    fig.update_xaxes(range=[0, max(v for v in values if v == v) * 1.2])
    fig.update_yaxes(automargin=True)
    fig.add_vline(x=models[fc.SNAIVE]["mase"], line_dash="dot", line_color=NEUTRAL_COLOR)
    return fig


# ----------------------------------------------------------------------------- 4 · Results


def verdict(model: fc.ForecastModel) -> None:
    """The page's choice against each baseline, which it chose and why (one sentence), and the network alone."""
    base = {name: m["mase"] for name, m in model.baseline_metrics.items() if m.get("mase")}
    mine, net = model.metrics["mase"], model.network_metrics["mase"]
    ratios = " and ".join(f"**{mine / b:.2f}×** {SHORT.get(n, n)}'s" for n, b in base.items())
    net_ratios = " and ".join(f"{net / b:.2f}× {SHORT.get(n, n)}'s" for n, b in base.items())
    has_choice = fc.COMBO in model.candidate_metrics
    who = "The page's forecast" if has_choice else "The neural forecaster"
    text = f"{who} has an error (MASE) of {mine:.2f}, {ratios} on the same backtest windows."
    if has_choice:
        text += f" {model.choice_note} The network alone: {net_ratios}."
    text += mase_note(model)
    if all(mine / b < 0.97 for b in base.values()):
        st.success(text, icon=":material/check_circle:")
    elif all(mine / b <= 1.03 for b in base.values()) or has_choice:
        st.info(text + " Within 3% counts as a tie: a simple method does as well here.", icon=":material/balance:")
    else:
        st.error(text + " It does not beat the simple baselines: on this data, use them instead.", icon=":material/trending_down:")


def labels(model: fc.ForecastModel) -> dict[str, str]:
    """Metric names as the page shows them: the average error named by the data's period (day, week, month)."""
    return {**fc.METRIC_LABELS, "mae": f"Error per {model.freq.unit} (MAE)", "smape": "sMAPE"}


def show_metric(key: str, value: float | None) -> str:
    """One metric as an analyst reads it: percentages with %, MASE to 2 decimals, errors in units."""
    if value is None or value != value:
        return "–"
    if key == "coverage":
        return f"{100 * value:.0f}%"
    if key == "smape":
        return f"{value:.1f}%"
    if key == "mase":
        return f"{value:.2f}"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}"


def _delta(key: str, value: float | None, base: float | None) -> str | None:
    if value is None or base is None or value != value or base != base:
        return None  # (seasonal naive has no interval: no coverage delta)
    d = value - base
    if key == "smape":
        return f"{d:+.1f} points"
    if key == "mase":
        return f"{d:+.2f}"
    return f"{d:+,.1f}"


def mase_note(model: fc.ForecastModel) -> str:
    """MASE above 1 said plainly: worse than repeating the last season on the history's own scale."""
    mine = model.metrics["mase"]
    if not mine > 1:
        return ""
    ago = SEASON_AGO.get(model.freq.kind, "the value one season earlier")
    sn = model.baseline_metrics.get(fc.SNAIVE, {}).get("mase")
    text = (f" A MASE of {mine:.2f} is above 1: on average the forecast missed by {mine - 1:.0%} more than the simple rule "
            f"'{ago}' misses within the history itself, so these backtest periods were harder to forecast than usual")
    if sn is not None and sn == sn:
        text += f" (that same rule scores {sn:.2f} on them)"
    return text + ". Compare against the baselines on the same windows, not against 1."


def metric_cards(model: fc.ForecastModel) -> None:
    """The average error in the analyst's units first, then MASE, sMAPE, coverage, RMSE; deltas against seasonal naive."""
    m, unit, target = model.metrics, model.freq.unit, model.columns.target
    base = model.baseline_metrics.get(fc.SNAIVE, {})
    who = "the page's forecast" if fc.COMBO in model.candidate_metrics else "the network's forecast"
    st.markdown(f"On average {who} for one {unit} of one series was off by **{show_metric('mae', m['mae'])} {plain(target)}** "
                f"(seasonal naive: {show_metric('mae', base.get('mae'))}); its 80% interval held "
                f"**{show_metric('coverage', m.get('coverage'))}** of the actual values.")
    st.caption("The small coloured numbers compare it with **seasonal naive** on the same windows.")
    names = labels(model)
    for col, k in zip(st.columns(len(KEYS)), KEYS):
        col.metric(names[k], show_metric(k, m.get(k)), help=fc.METRIC_HELP.get(k),
                   **metric_delta(_delta(k, m.get(k), base.get(k)), k in LOWER))


def performance(model: fc.ForecastModel) -> None:
    H, k = model.horizon, model.config.backtest_windows
    st.markdown(f"Backtest: the last **{k} × {model.freq.units(H)}** of each of **{len(model.ids):,} series**, each forecast "
                "only from the data before its window; every model forecasts exactly the same windows.")
    verdict(model)
    metric_cards(model)
    c1, c2 = st.columns([2, 3])  # five forecasts side by side need the wider half
    c1.plotly_chart(mase_chart(model), key="fc_mase")
    c1.caption("Black is the page's choice, blue the network alone, purple their combination, orange seasonal naive, "
               "green AutoETS: the shortest bar wins.")
    c2.dataframe(_comparison(model), width="stretch")
    c2.caption("All forecasts on the same series, windows and days (closed days left out). Seasonal naive has no interval "
               "of its own (when chosen, it borrows the network's). The choice is made on these windows, so its figure "
               "is slightly optimistic.")
    st.markdown("**Per series**")
    table = model.accuracy_table()
    table = per_series_table(model)
    st.dataframe(table, hide_index=True, width="stretch", height=280,
                 column_config={c: st.column_config.NumberColumn(format="%.0f%%" if "coverage" in c else
                                                                 "%.1f%%" if c.startswith("sMAPE") else "%.2f")
                                for c in table.columns if c not in ("series", "forecast used")})
    st.caption("MASE below 1 beats the naive rule on that series' own history; compare the columns row by row.")
    with st.expander("Training curve and what was done to the data"):
        st.plotly_chart(charts.loss_curve(model.history.epochs), key="fc_history")
        st.caption("Validation loss (solid) decides when training stops; the refit on the whole history follows it.")
        st.markdown(f"Backtest network: training {model.history.stopped}. Time: " +
                    ", ".join(f"{k} {v:.1f} s" for k, v in model.timings.items()) + ".")
        for note in model.notes:
            st.markdown(f"- {plain(note)}")
        if model.skipped:
            st.markdown("Skipped series: " + "; ".join(f"**{s}** ({why})" for s, why in list(model.skipped.items())[:50]))


def _series_order(model: fc.ForecastModel) -> list[str]:
    """Largest expected demand over the horizon first (what a planner looks at first)."""
    totals = model.forecast.groupby("series")["median"].sum()
    return sorted(model.ids, key=lambda s: -float(totals.get(s, 0)))


def series_label(names: dict[str, str] | None):
    """'15036 · ASSORTED COLOURS SILK FAN' when the file names its series (a description column), else the id."""
    return lambda s: f"{s} · {names[s]}" if names and s in names else str(s)


def forecasts(model: fc.ForecastModel, names: dict[str, str] | None = None) -> None:
    pick = st.selectbox("Series", _series_order(model), key="fc_series_pick", format_func=series_label(names),
                        help="Series are listed from the largest expected demand down.")
    fig = forecast_chart(model, pick)
    if names and pick in names:
        fig.update_layout(title=f"{series_label(names)(pick)}: history, backtest and forecast")
    st.plotly_chart(fig, key="fc_chart")
    st.caption(f"This series uses the {plain(SHORT.get(model.method_of(pick), pick))} forecast (chosen on the backtest). Black: what "
               "was sold. Dashed and dotted lines: what each model forecast in the backtest windows; blue band: the 80% "
               "interval of the forecast used — about 8 in 10 actual values should fall inside it.")
    f = model.forecast[model.forecast["series"] == pick]
    shown = pd.DataFrame({"date": f["date"].dt.strftime("%a %d %b %Y"), "low (10%)": f["low"], "forecast (median)": f["median"],
                          "high (90%)": f["high"], "open": f["open"]})
    st.dataframe(shown, hide_index=True, width="stretch", height=240,
                 column_config={c: st.column_config.NumberColumn(format="%.1f") for c in ("low (10%)", "forecast (median)", "high (90%)")})
    download_csv(model.forecast_table(), "Download the forecasts of every series (CSV)", "demand_forecast.csv", key="fc_forecast_dl")


def explanations(model: fc.ForecastModel, run_key: str, names: dict[str, str] | None = None) -> None:
    exp = None
    with guard("explaining the forecasts", stop=False):
        exp = memo("fc_explain", run_key, lambda: model.explain(None))
    if exp is None:
        return
    st.markdown(f"**What drives the forecasts** — across {len(exp.data):,} forecasts (every series, backtest and future)")
    c1, c2 = st.columns(2)
    c1.plotly_chart(charts.shap_bar(exp), key="fc_shap_bar")
    c1.caption("Longer bars: inputs that move the forecast the most, on average (SHAP, grouped the way you would name them). "
               "Effects are on a log scale: 0.1 is roughly a 10% change in the forecast.")
    c2.plotly_chart(charts.shap_beeswarm(exp), key="fc_shap_swarm")
    c2.caption("One dot per forecast: right of zero raises it, left lowers it; orange dots are high values of that input, blue low.")
    dependence_view(exp, "fc_shap", labels=getattr(model, "dictionary", None), row_label="forecast", what="input")
    st.markdown("**One forecast**")
    p1, p2 = st.columns(2)
    series = p1.selectbox("Series", _series_order(model), key="fc_explain_series", format_func=series_label(names))
    f = model.forecast[(model.forecast["series"] == series) & model.forecast["open"]]
    if f.empty:
        st.info("Every day of this series' horizon is closed, so every forecast is zero.")
        return
    step = p2.selectbox("Day", list(f["step"]), key=f"fc_explain_step_{series}",
                        format_func=lambda s: f"{f.loc[f['step'] == s, 'date'].iloc[0]:%a %d %b %Y}")
    with guard("explaining this forecast", stop=False):
        point = memo("fc_point", f"{run_key}|{series}|{step}", lambda: model.explain_point(series, int(step)), keep=8)
        fig = charts.shap_waterfall(point, 0, axis_title=f"{model.columns.target} forecast for that day")
        fig.update_layout(title="Why this forecast: from the average forecast to this day's")
        fig.data[0].y = tuple("this forecast" if v == "this row" else v for v in fig.data[0].y)
        st.plotly_chart(fig, key="fc_waterfall")
        st.caption("Start at the average forecast; each bar is one group of inputs pushing this day's forecast up (orange) or "
                   f"down (blue), in {model.columns.target}; the last bar is the forecast itself.")


def reorder_keys(model: fc.ForecastModel) -> tuple[str, str]:
    """The lead time and review period widgets' keys, one pair per unit and horizon: a number typed in days is never
    read as weeks. The first time a pair is used, the last settings (another file's, in its own units) are re-read
    in this model's units when they fit its horizon; otherwise the model's defaults, which always fit, are shown."""
    freq, H = model.freq, model.horizon
    keys = f"fc_lead_{freq.kind}{H}", f"fc_review_{freq.kind}{H}"
    if not any(k in st.session_state or k in st.query_params for k in keys):
        lead, review = model.lead_time, model.review_period
        if (last := st.session_state.get("_fc_reorder_last")) is not None:
            source, was_lead, was_review = last
            again = freq.reread(was_lead, source), max(1, freq.reread(was_review, source))
            lead, review = again if sum(again) <= H else (lead, review)
        st.session_state[keys[0]], st.session_state[keys[1]] = int(lead), int(review)
    return keys


def reorder(model: fc.ForecastModel, df: pd.DataFrame | None, run_key: str) -> None:
    H, unit = model.horizon, model.freq.unit
    st.markdown("How much to order now so stock lasts until the delivery after next, at the chance of not running out "
                "that you choose. Closed days count as zero demand.")
    c1, c2, c3 = st.columns(3)
    # no upper limit on the inputs: a browser would refuse a longer lead time with a bare "between 0 and 13";
    # the reorder table says why instead (lead time plus review period must fit in the forecast horizon)
    fits = f"Lead time plus review period must fit in the {model.freq.units(H)} the model forecasts (train with a longer horizon for more)."
    lead_key, review_key = reorder_keys(model)
    lead = c1.number_input(f"Lead time ({unit}s from order to delivery)", 0, None, key=lead_key, bind="query-params",
                           help=fits)  # its value: reorder_keys
    review = c2.number_input(f"Review period ({unit}s until you order again)", 1, None, key=review_key,
                             bind="query-params", help=fits)
    st.session_state["_fc_reorder_last"] = (model.freq, int(lead), int(review))  # re-read in the next file's units
    level = c3.slider("Service level (%)", 50, 99, 95, 1, key="fc_service", bind="query-params", format="%d%%",
                      help="The chance that stock covers demand until the next delivery arrives; higher means more safety stock.") / 100
    with c3:
        service_check(model, level)
    numeric = [c for c in (df.columns if df is not None else []) if pd.api.types.is_numeric_dtype(df[c])
               and c not in (model.columns.target, *model.columns.all_drivers)]
    source = st.radio("Current stock", ["Type it in", "From a column of my file"] if numeric else ["Type it in"],
                      horizontal=True, key="fc_stock_source")
    stock = None
    if source == "Type it in":
        editor = st.data_editor(pd.DataFrame({"series": model.ids, "current stock": 0.0}), hide_index=True, disabled=["series"],
                                key=f"fc_stock_{run_key}", height=200, width="stretch")
        stock = pd.Series(editor["current stock"].to_numpy(), index=editor["series"])
    else:
        col = st.selectbox("Stock column (its last value per series is used)", numeric, key="fc_stock_col")
        with guard("reading the stock column", stop=False):
            stock = fc.stock_from_column(df, model.columns, col)
    with guard("computing reorder quantities", stop=False):
        table = model.decide(lead_time=int(lead), review_period=int(review), service_level=float(level)).reorder(stock)
        st.dataframe(table, hide_index=True, width="stretch", height=320,
                     column_config={c: st.column_config.NumberColumn(format="%.0f") for c in table.columns if c != "series"})
        st.caption(f"Suggested order = demand covered over the next {model.freq.units(int(lead) + int(review))} at the chosen "
                   "service level (a quantile of that total, centred on the forecast the page uses) minus current stock, "
                   "in whole units.")
        download_csv(table, "Download the reorder table (CSV)", "reorder_quantities.csv", key="fc_reorder_dl")


def _plan_changes(model: fc.ForecastModel, df: pd.DataFrame, series: str, key: str) -> list[scn.DriverChange]:
    """One row of controls per driver: change it or not, how (a value, or a number by %), and on which days (named by
    `series`' dates; with series that end on different dates, by step as well)."""
    kinds = scn.driver_kinds(model, df)
    dates = model.forecast.loc[model.forecast["series"] == series, "date"]
    same = model.forecast.groupby("series")["date"].min().nunique() == 1
    labels = [f"{d:%a %d %b %Y}" if same else f"{model.freq.unit} {k + 1} ({d:%d %b} for {series})"
              for k, d in enumerate(dates)]
    changes = []
    for driver, kind in kinds.items():
        c1, c2, c3 = st.columns([1, 1, 2])
        if not c1.checkbox(f"Change {plain(driver)}", key=f"{key}_on_{driver}"):
            continue
        if kind == "flag":
            on = c2.radio(plain(driver), ["1 (on, open, yes)", "0 (off, closed, no)"], key=f"{key}_flag_{driver}",
                          help="A promotion or holiday on: 1. For an open/closed column, 0 closes the shop on those days.")
            change = dict(value=1.0 if on.startswith("1") else 0.0)
        elif kind == "number":
            change = dict(percent=c2.number_input(f"{plain(driver)}: change by (%)", -90.0, 500.0, -10.0, 5.0,
                                                  key=f"{key}_pct_{driver}", help="A price cut of 10%: −10."))
        else:
            levels = sorted(map(str, df[driver].dropna().unique()))[:200]
            change = dict(value=c2.selectbox(f"{plain(driver)}: set to", levels, key=f"{key}_cat_{driver}"))
        first, last = c3.select_slider(f"{plain(driver)}: on these {model.freq.unit}s", labels, value=(labels[0], labels[-1]),
                                       key=f"{key}_days_{driver}_{labels[0]}")
        changes.append(scn.DriverChange(driver, labels.index(first) + 1, labels.index(last) + 1, **change))
    return changes


def scenario_chart(plan: scn.ScenarioPlan, series: str, unit: str) -> go.Figure:
    """One series' forecast with its 80% band, without the plan (grey) and with it (blue)."""
    fig = go.Figure()
    for name, frame, line, band in (("without the plan", plan.base, NEUTRAL_COLOR, "rgba(120, 120, 120, 0.18)"),
                                    ("with your plan", plan.planned, MODEL_COLOR, BAND)):
        f = frame[frame["series"] == series]
        fig.add_scatter(x=f["date"], y=f["high"], mode="lines", line=dict(width=0), showlegend=False, hoverinfo="skip")
        fig.add_scatter(x=f["date"], y=f["low"], mode="lines", line=dict(width=0), fill="tonexty", fillcolor=band,
                        name=f"80% interval {name}", hoverinfo="skip")
        fig.add_scatter(x=f["date"], y=f["median"], mode="lines+markers", line=dict(color=line, dash="dot" if
                        name.startswith("without") else "solid"), name=f"forecast {name}")
    fig.update_layout(title=f"{series}: the forecast without and with your plan", height=380,
                      yaxis_title=f"{unit} per {plan.model.freq.unit}", **_LAYOUT)
    return fig


def scenario(model: fc.ForecastModel, df: pd.DataFrame | None, run_key: str) -> None:
    """Scenario planning: change the drivers over the horizon (one series or all) → the forecast with its interval and
    the reorder quantity beside the plan without the change, and the difference in units and money."""
    if not model.driver_columns:
        st.info("This model reads no drivers (promotions, prices, holidays, opening days): only the history drives its "
                "forecast, so there is no future to plan. Map the columns you know in advance as drivers in step 2 and "
                "train again to compare plans.", icon=":material/info:")
        return
    if df is None:
        st.info("Scenario planning needs the history the model forecasts from: open the data with the model.",
                icon=":material/info:")
        return
    st.markdown("**Plan the future drivers** — switch a promotion on, change a price, close on a holiday — and compare "
                "the forecast and the order with the plan without the change.")
    c1, c2 = st.columns([2, 2])
    everyone = "All series"
    target = c1.selectbox("Plan for", [everyone, *_series_order(model)], key="fc_plan_series",
                          help="One series, or the same change for every series.")
    numbers = [d for d, k in scn.driver_kinds(model, df).items() if k == "number"]
    prices = [d for d in numbers if "price" in str(d).lower()] + [d for d in numbers if "price" not in str(d).lower()]
    typed = "a price per unit I type"
    how = c2.selectbox("Money from", [*prices, typed], key="fc_plan_money",
                       help="A price driver is read day by day, as planned; or type one price per unit.")
    unit_price = c2.number_input("Price per unit", 0.0, 1e9, 1.0, 0.5, key="fc_plan_price") if how == typed else None
    changes = _plan_changes(model, df, _series_order(model)[0] if target == everyone else target, "fc_plan")
    if not changes:
        st.caption("Tick a driver above to change it; the forecast without a change is the one on the Forecasts tab.")
        return
    series = None if target == everyone else [target]
    plan = None
    with guard("planning the scenario", stop=False):
        plan = memo("fc_plan", f"{run_key}|{target}|{changes}", lambda: scn.plan(model, df, changes, series), keep=4)
    if plan is None:
        return
    summary = plan.summary(price_driver=None if how == typed else how, unit_price=unit_price)
    unit = model.columns.target
    before, after = summary["units without the plan"].sum(), summary["units with the plan"].sum()
    lead_key, review_key = reorder_keys(model)
    decision = dict(lead_time=int(st.session_state.get(lead_key, model.lead_time)),
                    review_period=int(st.session_state.get(review_key, model.review_period)),
                    service_level=float(st.session_state.get("fc_service", round(100 * model.service_level))) / 100)
    orders = None
    with guard("computing the orders of the plan", stop=False):
        orders = plan.reorder(**decision)
    m = st.columns(4)
    m[0].metric(f"{unit} over {model.freq.units(model.horizon)}, without the plan", f"{before:,.0f}")
    m[1].metric(f"{unit} with your plan", f"{after:,.0f}", delta=f"{after - before:+,.0f}")
    if "difference (money)" in summary:
        m[2].metric("Money difference", money(float(summary["difference (money)"].sum())),
                    help="Units times price over the horizon, with the plan minus without it.")
    if orders is not None:
        m[3].metric("Suggested order, with the plan", f"{orders['suggested order · with the plan'].sum():,.0f}",
                    delta=f"{orders['difference in the order'].sum():+,.0f}",
                    help="Order-up-to quantity (Reorder tab settings, no stock on hand), with the plan; the delta is "
                         "the change from the order without it.")
    if plan.outside:
        st.warning("; ".join(f"{d} goes outside the values seen in the history ({lo:g} to {hi:g})"
                             for d, (lo, hi) in plan.outside.items())
                   + ": the network has never seen such values, so this answer is a guess beyond the data.",
                   icon=":material/warning:")
    what = "; ".join(ch.describe(model.freq.unit) for ch in changes)
    share = f" ({(after - before) / before:+.1%})" if before > 0 else ""
    st.markdown(f"**Your plan** ({what}) {'adds' if after >= before else 'takes away'} **{abs(after - before):,.0f} "
                f"{unit}**{share} over the horizon for {target.lower() if target == everyone else target}.")
    show = target if series else st.selectbox("Show series", plan.ids, key="fc_plan_show")
    st.plotly_chart(scenario_chart(plan, show, unit), key="fc_plan_chart")
    others = sorted({SHORT.get(model.method_of(s), s) for s in plan.ids} - {"network"})
    st.caption("Bands: the 80% interval. Only the network reads drivers"
               + (f"; for series forecast by {' or '.join(others)} the plan moves that forecast by the network's change, "
                  "as a ratio per day." if others else "."))
    st.dataframe(summary, hide_index=True, width="stretch", height=min(320, 36 * (len(summary) + 1)),
                 column_config={c: st.column_config.NumberColumn(format="%.0f") for c in summary.columns if c != "series"})
    if orders is not None:
        st.markdown("**Orders without and with the plan** (the download adds the demand covered and safety stock)")
        short = orders[["series", "forecast used", *[c for c in orders.columns if c.startswith(("expected demand",
                        "suggested order"))], "difference in the order"]]
        st.dataframe(short, hide_index=True, width="stretch", height=min(320, 36 * (len(short) + 1)))
        download_csv(orders, "Download the plan's orders (CSV)", "scenario_orders.csv", key="fc_plan_dl")


def achieved(model: fc.ForecastModel, level: float) -> float:
    """The share of backtest totals a `level` quantile covered (interpolated between the learned levels)."""
    pts = sorted((float(q), v) for q, v in model.total_coverage.items() if v == v)
    if not pts:
        return float("nan")
    return float(np.interp(level, [q for q, _ in pts], [v for _, v in pts]))


def level_for(model: fc.ForecastModel, target: float) -> int | None:
    """The lowest service level (whole %, 50–99) whose backtest coverage reached `target`; None if none did."""
    return next((p for p in range(50, 100) if achieved(model, p / 100) >= target - 1e-9), None)


def _set_service(value: int) -> None:
    st.session_state["fc_service"] = value


def service_check(model: fc.ForecastModel, level: float) -> None:
    """Beside the slider: did this level hold in the backtest? If it fell short, a warning and the level that held."""
    got = achieved(model, level)
    if got != got:
        return
    if got >= level - 0.02:
        st.caption(f"In the backtest, the {level:.0%} level covered demand in {got:.0%} of periods.")
        return
    better = level_for(model, level)
    if better is None or better <= round(level * 100):
        st.warning(f"In the backtest, the {level:.0%} level covered demand in only {got:.0%} of periods, and no level up "
                   f"to 99% reached {level:.0%}: keep extra safety stock.", icon=":material/warning:")
        return
    st.warning(f"In the backtest, the {level:.0%} level covered demand in only {got:.0%} of periods. The {better}% level "
               f"covered {achieved(model, better / 100):.0%}.", icon=":material/warning:")
    st.button(f"Use {better}%", key="fc_service_fix", on_click=_set_service, args=(better,),
              help=f"Set the service level to {better}%, the level that reached your {level:.0%} target in the backtest.")


def _score_caption(model: fc.ForecastModel) -> str:
    return (f"Upload a newer sales history with the columns {', '.join(model.features)}; each series needs at least "
            f"{model.freq.units(model.lags)}. The trained network forecasts the next {model.freq.units(model.horizon)} "
            "from its end, without training again, with the top reasons for each series' total.")


def score_history(model: fc.ForecastModel) -> None:
    """Upload a newer history with the same columns → the next horizon per series → CSV."""
    batch_scoring("fc", model.score, model.features, "demand_forecast_new.csv", caption=_score_caption(model))


def per_series_table(model: fc.ForecastModel) -> pd.DataFrame:
    """The engine's per-series accuracy with readable model names, sMAPE in % and coverage in % (not a fraction)."""
    table = model.accuracy_table()
    for c in table.columns:
        if c.startswith("80% coverage"):
            table[c] = 100 * table[c]
    table.columns = [c.replace("sMAPE %", "sMAPE").replace(fc.ETS, "AutoETS").replace(fc.MODEL, "network")
                     for c in table.columns]
    return table


def _comparison(model: fc.ForecastModel) -> pd.DataFrame:
    """Metrics as rows, every forecast as a column, each figure formatted as on the cards."""
    names = labels(model)
    return pd.DataFrame({TITLE.get(n, n): [show_metric(k, m.get(k)) for k in KEYS] for n, m in candidates(model).items()},
                        index=[names[k] for k in KEYS])


def report(model: fc.ForecastModel, table: Table | None, exp) -> str:
    top = _series_order(model)[:3]
    named = series_label(series_names(model, table))
    figures = []
    for s in top:
        fig = forecast_chart(model, s)
        fig.update_layout(title=f"{named(s)}: history, backtest and forecast")
        figures.append(fig)
    sections = [
        ("Backtest accuracy", [model.choice_note + mase_note(model), _comparison(model),
                               mase_chart(model), per_series_table(model)]),
        ("Forecasts (largest series)", figures),
    ]
    if exp is not None:
        sections.append(("Drivers (SHAP)", [charts.shap_bar(exp)]))
    sections += [("Data", [f"{table.name if table else 'data'}: {len(model.ids):,} {model.freq.name} series.", *model.notes]),
                 appendix(model.columns, model.config)]
    lead = [model.choice_note + mase_note(model)]
    return build_report(f"Demand forecast: {model.columns.target}", sections, subtitle=table.name if table else "",
                        lead=lead)


def series_names(model: fc.ForecastModel, table: Table | None) -> dict[str, str]:
    """The series' names from a description column of the file, if it has one (see engine.dictionary)."""
    if table is None:
        return {}
    c = model.columns
    return series_descriptions(table.df, c.series, exclude=[c.date, c.target, *c.drivers, *([c.open_flag] if c.open_flag else [])])


def results(model: fc.ForecastModel, table: Table | None, run_key: str, run_id: str | None) -> None:
    """Step 4: Performance · Forecasts · Explanations · Reorder · Score new data · Share."""
    st.subheader("4 · Results")
    tabs = st.tabs(["Performance", "Forecasts", "Explanations", "Reorder", "Scenario", "Score new data", "Share"])
    with tabs[0]:
        performance(model)
    names = memo("fc_series_names", run_key, lambda: series_names(model, table))
    with tabs[1]:
        forecasts(model, names)
    with tabs[2]:
        explanations(model, run_key, names)
    with tabs[3]:
        reorder(model, table.df if table is not None else None, run_key)
    with tabs[4]:
        scenario(model, table.df if table is not None else None, run_key)
    with tabs[5]:
        score_history(model)
    with tabs[6]:
        share_panel("forecast", run_id, memo("fc_model_file", run_key, model.to_bytes), "forecast_model.safetensors",
                    report=lambda: report(model, table, st.session_state.get("_memo_fc_explain", {}).get(run_key)))


def score_with_model_file() -> None:
    """Forecast a newer history with a model file saved earlier from this page — no training."""
    model_file_scoring("fc", fc.load, "demand_forecast_new.csv", caption=_score_caption, describe=lambda m: (
        f"{m.freq.name.capitalize()} model of '{m.columns.target}' for {len(m.ids):,} series (seasonal naive's "
        f"backtest MASE: {m.baseline_metrics[fc.SNAIVE]['mase']:.3f})"))
