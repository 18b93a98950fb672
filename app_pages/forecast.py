"""Demand forecast: one network for every series, tested on past windows beside honest baselines, with reorder quantities."""

from __future__ import annotations

import streamlit as st

from engine import forecast as fc
from ui import forecast as views
from ui.data import dataset_picker
from ui.errors import guard
from ui.state import memo
from ui.training import run_key, shared_run, trained_run

SAMPLES = {
    "Online Retail: daily units of 30 best sellers (UK gift shop, 2010–11)": "online_retail_daily_product_units.csv"
}

st.title(fc.ABOUT.title)
st.caption(
    "Forecast sales per store or item with intervals: a neural network, exponential smoothing, seasonal naive and "
    "their combination are tested on past periods and the best is used; see which drivers matter, and how much to "
    "reorder for the service level you want."
)

shared_run("forecast", fc.load, views.results)  # a share link: its results, no training

with st.expander("Already have a model file from this page? Forecast a newer history with it, no training"):
    views.score_with_model_file()

# ----------------------------------------------------------------------------- 1 · Data
table = dataset_picker(
    SAMPLES,
    key="fc",
    help_text="A long table: one row per date and series (store, item), the quantity "
    "sold, and optional drivers such as promotions or opening days.",
)
if table is None:
    st.stop()
df = table.df
fp = table.fingerprint[:12]

# ----------------------------------------------------------------------------- 2 · Columns
st.subheader("2 · Columns")
columns, config = views.column_inputs(df, fp)
key = run_key(table.fingerprint, columns, config)
with guard("checking your data"):
    panel = memo("fc_panel", key, lambda: fc.prepare(df, columns, config))  # cheap: problems show before training
views.panel_summary(panel)

# ----------------------------------------------------------------------------- 3 · Train, 4 · Results
model, job_id, run_id = trained_run("forecast", table, fc.fit, columns, config, label="Train and backtest")
views.results(model, table, job_id, run_id)
