"""The Reorder tab: lead time, review period and service level (checked against the backtest) → how much to order
now for each series, from the stock typed in or read from a column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from engine import forecast as fc
from ui.errors import guard
from ui.results import download_csv


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
    st.markdown(
        "How much to order now so stock lasts until the delivery after next, at the chance of not running out "
        "that you choose. Closed days count as zero demand."
    )
    c1, c2, c3 = st.columns(3)
    # no upper limit on the inputs: a browser would refuse a longer lead time with a bare "between 0 and 13";
    # the reorder table says why instead (lead time plus review period must fit in the forecast horizon)
    fits = f"Lead time plus review period must fit in the {model.freq.units(H)} the model forecasts (train with a longer horizon for more)."
    lead_key, review_key = reorder_keys(model)
    lead = c1.number_input(
        f"Lead time ({unit}s from order to delivery)", 0, None, key=lead_key, bind="query-params", help=fits
    )  # its value: reorder_keys
    review = c2.number_input(
        f"Review period ({unit}s until you order again)", 1, None, key=review_key, bind="query-params", help=fits
    )
    st.session_state["_fc_reorder_last"] = (model.freq, int(lead), int(review))  # re-read in the next file's units
    level = (
        c3.slider(
            "Service level (%)",
            50,
            99,
            95,
            1,
            key="fc_service",
            bind="query-params",
            format="%d%%",
            help="The chance that stock covers demand until the next delivery arrives; higher means more safety stock.",
        )
        / 100
    )
    with c3:
        service_check(model, level)
    numeric = [
        c
        for c in (df.columns if df is not None else [])
        if pd.api.types.is_numeric_dtype(df[c]) and c not in (model.columns.target, *model.columns.all_drivers)
    ]
    source = st.radio(
        "Current stock",
        ["Type it in", "From a column of my file"] if numeric else ["Type it in"],
        horizontal=True,
        key="fc_stock_source",
    )
    stock = None
    if source == "Type it in":
        editor = st.data_editor(
            pd.DataFrame({"series": model.ids, "current stock": 0.0}),
            hide_index=True,
            disabled=["series"],
            key=f"fc_stock_{run_key}",
            height=200,
            width="stretch",
        )
        stock = pd.Series(editor["current stock"].to_numpy(), index=editor["series"])
    else:
        col = st.selectbox("Stock column (its last value per series is used)", numeric, key="fc_stock_col")
        with guard("reading the stock column", stop=False):
            stock = fc.stock_from_column(df, model.columns, col)
    with guard("computing reorder quantities", stop=False):
        table = model.decide(lead_time=int(lead), review_period=int(review), service_level=float(level)).reorder(stock)
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            height=320,
            column_config={c: st.column_config.NumberColumn(format="%.0f") for c in table.columns if c != "series"},
        )
        st.caption(
            f"Suggested order = demand covered over the next {model.freq.units(int(lead) + int(review))} at the chosen "
            "service level (a quantile of that total, centred on the forecast the page uses) minus current stock, "
            "in whole units."
        )
        download_csv(table, "Download the reorder table (CSV)", "reorder_quantities.csv", key="fc_reorder_dl")


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
        st.warning(
            f"In the backtest, the {level:.0%} level covered demand in only {got:.0%} of periods, and no level up "
            f"to 99% reached {level:.0%}: keep extra safety stock.",
            icon=":material/warning:",
        )
        return
    st.warning(
        f"In the backtest, the {level:.0%} level covered demand in only {got:.0%} of periods. The {better}% level "
        f"covered {achieved(model, better / 100):.0%}.",
        icon=":material/warning:",
    )
    st.button(
        f"Use {better}%",
        key="fc_service_fix",
        on_click=_set_service,
        args=(better,),
        help=f"Set the service level to {better}%, the level that reached your {level:.0%} target in the backtest.",
    )
