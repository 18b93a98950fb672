"""The Scenario tab: change the drivers over the horizon (one series or all) → the forecast and the order with the
plan beside those without it, and the difference in units and money."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine import forecast as fc
from engine.forecast import scenario as scn
from ui.errors import guard
from ui.forecast.figures import SHORT, scenario_chart
from ui.forecast.orders import reorder_keys
from ui.forecast.series import _series_order
from ui.results import download_csv
from ui.state import memo
from ui.style import money
from ui.text import plain


def _plan_changes(model: fc.ForecastModel, df: pd.DataFrame, series: str, key: str) -> list[scn.DriverChange]:
    """One row of controls per driver: change it or not, how (a value, or a number by %), and on which days (named by
    `series`' dates; with series that end on different dates, by step as well)."""
    kinds = scn.driver_kinds(model, df)
    dates = model.forecast.loc[model.forecast["series"] == series, "date"]
    same = model.forecast.groupby("series")["date"].min().nunique() == 1
    labels = [
        f"{d:%a %d %b %Y}" if same else f"{model.freq.unit} {k + 1} ({d:%d %b} for {series})"
        for k, d in enumerate(dates)
    ]
    changes = []
    for driver, kind in kinds.items():
        c1, c2, c3 = st.columns([1, 1, 2])
        if not c1.checkbox(f"Change {plain(driver)}", key=f"{key}_on_{driver}"):
            continue
        if kind == "flag":
            on = c2.radio(
                plain(driver),
                ["1 (on, open, yes)", "0 (off, closed, no)"],
                key=f"{key}_flag_{driver}",
                help="A promotion or holiday on: 1. For an open/closed column, 0 closes the shop on those days.",
            )
            change = dict(value=1.0 if on.startswith("1") else 0.0)
        elif kind == "number":
            change = dict(
                percent=c2.number_input(
                    f"{plain(driver)}: change by (%)",
                    -90.0,
                    500.0,
                    -10.0,
                    5.0,
                    key=f"{key}_pct_{driver}",
                    help="A price cut of 10%: −10.",
                )
            )
        else:
            levels = sorted(map(str, df[driver].dropna().unique()))[:200]
            change = dict(value=c2.selectbox(f"{plain(driver)}: set to", levels, key=f"{key}_cat_{driver}"))
        first, last = c3.select_slider(
            f"{plain(driver)}: on these {model.freq.unit}s",
            labels,
            value=(labels[0], labels[-1]),
            key=f"{key}_days_{driver}_{labels[0]}",
        )
        changes.append(scn.DriverChange(driver, labels.index(first) + 1, labels.index(last) + 1, **change))
    return changes


def _plan_orders(model: fc.ForecastModel, plan: scn.ScenarioPlan) -> pd.DataFrame | None:
    """The orders with and without the plan, at the Reorder tab's settings (its defaults until it is opened); None
    where they could not be computed (the analyst was told)."""
    lead_key, review_key = reorder_keys(model)
    decision = dict(
        lead_time=int(st.session_state.get(lead_key, model.lead_time)),
        review_period=int(st.session_state.get(review_key, model.review_period)),
        service_level=float(st.session_state.get("fc_service", round(100 * model.service_level))) / 100,
    )
    orders = None
    with guard("computing the orders of the plan", stop=False):
        orders = plan.reorder(**decision)
    return orders


def _plan_cards(
    model: fc.ForecastModel, summary: pd.DataFrame, orders: pd.DataFrame | None, before: float, after: float, unit: str
) -> None:
    """Units without and with the plan over the horizon, the money difference and the suggested order with the plan."""
    m = st.columns(4)
    m[0].metric(f"{unit} over {model.freq.units(model.horizon)}, without the plan", f"{before:,.0f}")
    m[1].metric(f"{unit} with your plan", f"{after:,.0f}", delta=f"{after - before:+,.0f}")
    if "difference (money)" in summary:
        m[2].metric(
            "Money difference",
            money(float(summary["difference (money)"].sum())),
            help="Units times price over the horizon, with the plan minus without it.",
        )
    if orders is not None:
        m[3].metric(
            "Suggested order, with the plan",
            f"{orders['suggested order · with the plan'].sum():,.0f}",
            delta=f"{orders['difference in the order'].sum():+,.0f}",
            help="Order-up-to quantity (Reorder tab settings, no stock on hand), with the plan; the delta is "
            "the change from the order without it.",
        )


def _plan_details(
    model: fc.ForecastModel,
    plan: scn.ScenarioPlan,
    summary: pd.DataFrame,
    orders: pd.DataFrame | None,
    target: str,
    series: list[str] | None,
    unit: str,
) -> None:
    """The plan's chart for one series, the table per series and the orders without and with the plan."""
    show = target if series else st.selectbox("Show series", plan.ids, key="fc_plan_show")
    st.plotly_chart(scenario_chart(plan, show, unit), key="fc_plan_chart")
    others = sorted({SHORT.get(model.method_of(s), s) for s in plan.ids} - {"network"})
    st.caption(
        "Bands: the 80% interval. Only the network reads drivers"
        + (
            f"; for series forecast by {' or '.join(others)} the plan moves that forecast by the network's change, "
            "as a ratio per day."
            if others
            else "."
        )
    )
    st.dataframe(
        summary,
        hide_index=True,
        width="stretch",
        height=min(320, 36 * (len(summary) + 1)),
        column_config={c: st.column_config.NumberColumn(format="%.0f") for c in summary.columns if c != "series"},
    )
    if orders is not None:
        st.markdown("**Orders without and with the plan** (the download adds the demand covered and safety stock)")
        short = orders[
            [
                "series",
                "forecast used",
                *[c for c in orders.columns if c.startswith(("expected demand", "suggested order"))],
                "difference in the order",
            ]
        ]
        st.dataframe(short, hide_index=True, width="stretch", height=min(320, 36 * (len(short) + 1)))
        download_csv(orders, "Download the plan's orders (CSV)", "scenario_orders.csv", key="fc_plan_dl")


def scenario(model: fc.ForecastModel, df: pd.DataFrame | None, run_key: str) -> None:
    """Scenario planning: change the drivers over the horizon (one series or all) → the forecast with its interval and
    the reorder quantity beside the plan without the change, and the difference in units and money."""
    if not model.driver_columns:
        st.info(
            "This model reads no drivers (promotions, prices, holidays, opening days): only the history drives its "
            "forecast, so there is no future to plan. Map the columns you know in advance as drivers in step 2 and "
            "train again to compare plans.",
            icon=":material/info:",
        )
        return
    if df is None:
        st.info(
            "Scenario planning needs the history the model forecasts from: open the data with the model.",
            icon=":material/info:",
        )
        return
    st.markdown(
        "**Plan the future drivers** — switch a promotion on, change a price, close on a holiday — and compare "
        "the forecast and the order with the plan without the change."
    )
    c1, c2 = st.columns([2, 2])
    everyone = "All series"
    target = c1.selectbox(
        "Plan for",
        [everyone, *_series_order(model)],
        key="fc_plan_series",
        help="One series, or the same change for every series.",
    )
    numbers = [d for d, k in scn.driver_kinds(model, df).items() if k == "number"]
    prices = [d for d in numbers if "price" in str(d).lower()] + [d for d in numbers if "price" not in str(d).lower()]
    typed = "a price per unit I type"
    how = c2.selectbox(
        "Money from",
        [*prices, typed],
        key="fc_plan_money",
        help="A price driver is read day by day, as planned; or type one price per unit.",
    )
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
    orders = _plan_orders(model, plan)
    _plan_cards(model, summary, orders, before, after, unit)
    if plan.outside:
        st.warning(
            "; ".join(
                f"{d} goes outside the values seen in the history ({lo:g} to {hi:g})"
                for d, (lo, hi) in plan.outside.items()
            )
            + ": the network has never seen such values, so this answer is a guess beyond the data.",
            icon=":material/warning:",
        )
    what = "; ".join(ch.describe(model.freq.unit) for ch in changes)
    share = f" ({(after - before) / before:+.1%})" if before > 0 else ""
    st.markdown(
        f"**Your plan** ({what}) {'adds' if after >= before else 'takes away'} **{abs(after - before):,.0f} "
        f"{unit}**{share} over the horizon for {target.lower() if target == everyone else target}."
    )
    _plan_details(model, plan, summary, orders, target, series, unit)
