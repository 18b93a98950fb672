"""Predictive maintenance: which production runs will end in a machine failure, and what to service first."""

from __future__ import annotations

import streamlit as st

from engine import maintenance as mt
from ui import maintenance as views
from ui.data import dataset_picker
from ui.errors import guard
from ui.text import plain
from ui.training import shared_run, trained_run

SAMPLES = {"Milling machine runs (AI4I 2020, 7,000 runs)": "ai4i2020_machines_1_7000.csv"}

st.title(mt.ABOUT.title)
st.caption(
    "Predict which production runs will end in a machine failure from what is known before the run, turn "
    "what a failure and a service stop cost into an alert threshold, and see which machines to service first, "
    "and why."
)

shared_run("maintenance", mt.load, views.results)  # a share link: its results, no training
views.score_with_model_file()  # in an expander: a model file from this page, no training

# ----------------------------------------------------------------------------- 1 · Data
table = dataset_picker(SAMPLES, key="mt", max_rows=mt.MAX_ROWS)
if table is None:
    st.stop()

# ----------------------------------------------------------------------------- 2 · Columns
st.subheader("2 · Columns")
with guard("reading the columns"):
    columns = views.column_roles(table.df, table.fingerprint[:12])
config = views.options()
with guard("checking your columns"):
    prepared = mt.prepare(table.df, columns, config)  # cheap: problems show before anything trains
for note in prepared.notes:
    st.info(plain(note))
st.caption(f"{len(prepared.y):,} runs, {int(prepared.y.sum()):,} of them failures ({prepared.y.mean():.1%}).")

# ----------------------------------------------------------------------------- 3 · Train, 4 · Results
model, key, run_id = trained_run("maintenance", table, mt.fit, columns, config)
views.results(model, table, key, run_id)
