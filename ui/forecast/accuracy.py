"""The Performance tab: the page's choice against the baselines in one sentence, the metric cards, every method's
backtest figures side by side and per series, the training curve."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine import forecast as fc
from ui import charts
from ui.forecast.figures import SHORT, TITLE, candidates, mase_chart
from ui.results import metric_delta
from ui.text import plain

KEYS = ["mae", "mase", "smape", "coverage", "rmse"]  # the error in the analyst's units first
LOWER = ["mase", "smape", "mae", "rmse"]
SEASON_AGO = {
    "D": "the same weekday a week earlier",
    "W": "the same week a year earlier",
    "M": "the same month a year earlier",
}


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
        st.error(
            text + " It does not beat the simple baselines: on this data, use them instead.",
            icon=":material/trending_down:",
        )


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
    text = (
        f" A MASE of {mine:.2f} is above 1: on average the forecast missed by {mine - 1:.0%} more than the simple rule "
        f"'{ago}' misses within the history itself, so these backtest periods were harder to forecast than usual"
    )
    if sn is not None and sn == sn:
        text += f" (that same rule scores {sn:.2f} on them)"
    return text + ". Compare against the baselines on the same windows, not against 1."


def metric_cards(model: fc.ForecastModel) -> None:
    """The average error in the analyst's units first, then MASE, sMAPE, coverage, RMSE; deltas against seasonal naive."""
    m, unit, target = model.metrics, model.freq.unit, model.columns.target
    base = model.baseline_metrics.get(fc.SNAIVE, {})
    who = "the page's forecast" if fc.COMBO in model.candidate_metrics else "the network's forecast"
    st.markdown(
        f"On average {who} for one {unit} of one series was off by **{show_metric('mae', m['mae'])} {plain(target)}** "
        f"(seasonal naive: {show_metric('mae', base.get('mae'))}); its 80% interval held "
        f"**{show_metric('coverage', m.get('coverage'))}** of the actual values."
    )
    st.caption("The small coloured numbers compare it with **seasonal naive** on the same windows.")
    names = labels(model)
    for col, k in zip(st.columns(len(KEYS)), KEYS):
        col.metric(
            names[k],
            show_metric(k, m.get(k)),
            help=fc.METRIC_HELP.get(k),
            **metric_delta(_delta(k, m.get(k), base.get(k)), k in LOWER),
        )


def performance(model: fc.ForecastModel) -> None:
    H, k = model.horizon, model.config.backtest_windows
    st.markdown(
        f"Backtest: the last **{k} × {model.freq.units(H)}** of each of **{len(model.ids):,} series**, each forecast "
        "only from the data before its window; every model forecasts exactly the same windows."
    )
    verdict(model)
    metric_cards(model)
    c1, c2 = st.columns([2, 3])  # five forecasts side by side need the wider half
    c1.plotly_chart(mase_chart(model), key="fc_mase")
    c1.caption(
        "Black is the page's choice, blue the network alone, purple their combination, orange seasonal naive, "
        "green AutoETS: the shortest bar wins."
    )
    c2.dataframe(_comparison(model), width="stretch")
    c2.caption(
        "All forecasts on the same series, windows and days (closed days left out). Seasonal naive has no interval "
        "of its own (when chosen, it borrows the network's). The choice is made on these windows, so its figure "
        "is slightly optimistic."
    )
    st.markdown("**Per series**")
    table = model.accuracy_table()
    table = per_series_table(model)
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        height=280,
        column_config={
            c: st.column_config.NumberColumn(
                format="%.0f%%" if "coverage" in c else "%.1f%%" if c.startswith("sMAPE") else "%.2f"
            )
            for c in table.columns
            if c not in ("series", "forecast used")
        },
    )
    st.caption("MASE below 1 beats the naive rule on that series' own history; compare the columns row by row.")
    with st.expander("Training curve and what was done to the data"):
        st.plotly_chart(charts.loss_curve(model.history.epochs), key="fc_history")
        st.caption("Validation loss (solid) decides when training stops; the refit on the whole history follows it.")
        st.markdown(
            f"Backtest network: training {model.history.stopped}. Time: "
            + ", ".join(f"{k} {v:.1f} s" for k, v in model.timings.items())
            + "."
        )
        for note in model.notes:
            st.markdown(f"- {plain(note)}")
        if model.skipped:
            st.markdown(
                "Skipped series: " + "; ".join(f"**{s}** ({why})" for s, why in list(model.skipped.items())[:50])
            )


def per_series_table(model: fc.ForecastModel) -> pd.DataFrame:
    """The engine's per-series accuracy with readable model names, sMAPE in % and coverage in % (not a fraction)."""
    table = model.accuracy_table()
    for c in table.columns:
        if c.startswith("80% coverage"):
            table[c] = 100 * table[c]
    table.columns = [
        c.replace("sMAPE %", "sMAPE").replace(fc.ETS, "AutoETS").replace(fc.MODEL, "network") for c in table.columns
    ]
    return table


def _comparison(model: fc.ForecastModel) -> pd.DataFrame:
    """Metrics as rows, every forecast as a column, each figure formatted as on the cards."""
    names = labels(model)
    return pd.DataFrame(
        {TITLE.get(n, n): [show_metric(k, m.get(k)) for k in KEYS] for n, m in candidates(model).items()},
        index=[names[k] for k in KEYS],
    )
