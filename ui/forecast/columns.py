"""Step 2 of the forecast page: the columns' roles, the data options, the horizon and backtest, the advanced knobs;
then what was built from the file."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine import forecast as fc
from engine.options import help_of
from ui.errors import guard
from ui.options import option_input
from ui.state import memo
from ui.text import plain
from ui.training import run_key as content_key


def _is_flag(s: pd.Series) -> bool:
    values = set(pd.to_numeric(s, errors="coerce").dropna().unique())
    return bool(values) and values <= {0, 1}


def _roles(df: pd.DataFrame, fp: str, defaults: fc.ForecastColumns) -> tuple[str, str, list[str], list[str], str]:
    """The columns' roles, preselected from `defaults`: date, quantity, series ids, drivers known in advance and the
    open/closed flag ("(none)" when there is none)."""
    names = list(df.columns)
    c1, c2, c3 = st.columns(3)
    date = c1.selectbox(
        "Date column",
        names,
        index=names.index(defaults.date),
        key=f"fc_date_{fp}",
        help="The day, week or month each row is about.",
    )
    quantities = [c for c in names if c != date]
    target = c2.selectbox(
        "Quantity to forecast",
        quantities,
        index=quantities.index(defaults.target) if defaults.target in quantities else 0,
        key=f"fc_target_{fp}",
        help="Units sold (or another demand figure) per date and series.",
    )
    others = [c for c in names if c not in (date, target)]
    series = c3.multiselect(
        "Series id columns (store, item, …)",
        others,
        default=[c for c in defaults.series if c in others],
        key=f"fc_series_{fp}",
        help="Each combination of these columns is one series to forecast. "
        "Leave empty when the file holds a single series.",
    )
    rest = [c for c in others if c not in series]
    d1, d2 = st.columns([2, 1])
    drivers = d1.multiselect(
        "Drivers known in advance",
        rest,
        default=[c for c in defaults.drivers if c in rest],
        key=f"fc_drivers_{fp}",
        help="Columns whose future values you know when you forecast: promotions, planned prices, holidays, opening days. "
        "Not figures measured from the sales themselves (number of orders, average price paid): they would leak the "
        "answer. Future values can be given as extra rows with the quantity left empty.",
    )
    flags = ["(none)"] + [c for c in rest if _is_flag(df[c])]
    open_default = defaults.open_flag if defaults.open_flag in flags else "(none)"
    open_flag = d2.selectbox(
        "Open/closed column (1 = open)",
        flags,
        index=flags.index(open_default),
        key=f"fc_open_{fp}",
        help="Closed days are forecast as zero by every model and left out of the accuracy figures.",
    )
    return date, target, series, drivers, open_flag


def _horizon_and_options(fp: str, freq: fc.Frequency) -> fc.ForecastConfig:
    """The horizon (its default and unit from the frequency found), the backtest windows and the advanced knobs."""
    horizon_option = help_of(fc.ForecastConfig)["horizon"]  # its default depends on the frequency found
    h1, h2, _ = st.columns(3)
    horizon = h1.number_input(
        f"Forecast horizon ({freq.unit}s ahead)",
        horizon_option["min"],
        horizon_option["max"],
        freq.horizon,
        key=f"fc_horizon_{fp}_{freq.kind}",
        help=horizon_option["help"],
    )
    windows = option_input(h2, fc.ForecastConfig, "backtest_windows", key="fc_windows")
    with st.expander("Advanced training options"):
        a1, a2, a3 = st.columns(3)
        config = fc.ForecastConfig(
            horizon=int(horizon),
            backtest_windows=int(windows),
            lags=option_input(a1, fc.ForecastConfig, "lags", key="fc_lags"),
            max_epochs=option_input(a2, fc.ForecastConfig, "max_epochs", key="fc_epochs"),
            dropout=option_input(a3, fc.ForecastConfig, "dropout", key="fc_dropout", widget="slider"),
            seed=option_input(a1, fc.ForecastConfig, "seed", key="fc_seed"),
            refit=option_input(a2, fc.ForecastConfig, "refit", key="fc_refit"),
            ets=option_input(a3, fc.ForecastConfig, "ets", key="fc_ets"),
        )
    return config


def column_inputs(df: pd.DataFrame, fp: str) -> tuple[fc.ForecastColumns, fc.ForecastConfig]:
    """Roles (date, quantity, series ids, drivers, open/closed), data options, horizon and backtest, advanced knobs."""
    defaults, why = memo("fc_defaults", fp, lambda: fc.guess_columns(df))  # reads every date: once per file
    date, target, series, drivers, open_flag = _roles(df, fp, defaults)
    o1, o2, o3 = st.columns(3)
    columns = fc.ForecastColumns(
        date=date,
        target=target,
        series=tuple(series),
        drivers=tuple(drivers),
        open_flag=None if open_flag == "(none)" else open_flag,
        sum_duplicates=o1.checkbox(
            "Add up rows with the same date and series",
            key=f"fc_sum_{fp}",
            help="When one series has several rows for a date (several orders a day, say).",
        ),
        negative_as_zero=o2.checkbox(
            "Treat negative quantities as zero",
            key=f"fc_neg_{fp}",
            help="Returns are often booked as negative sales; demand cannot be negative.",
        ),
        missing_dates_as_zero=o3.checkbox(
            "A date missing from a series means nothing was sold",
            value=True,
            key=f"fc_zero_{fp}",
            help="Untick when missing dates mean 'not recorded': they are then left out of training and scoring.",
        ),
    )
    with guard("reading your dates"):
        freq = memo("fc_freq", content_key(fp, date, target, series), lambda: fc.frequency_of(df, columns), keep=4)
    st.caption("Preselected: " + "; ".join(f"{role} — {reason}" for role, reason in why.items()) + ".")
    config = _horizon_and_options(fp, freq)
    return columns, config


def panel_summary(panel: fc.Panel) -> None:
    st.markdown(panel.describe())  # plain text from the engine
    for note in panel.notes:
        st.info(plain(note), icon=":material/info:")
    if panel.skipped:
        with st.expander(f"Skipped series ({len(panel.skipped):,})"):
            st.dataframe(
                pd.DataFrame({"series": list(panel.skipped), "why": list(panel.skipped.values())}),
                hide_index=True,
                width="stretch",
            )
