"""Predictive maintenance: which production runs will end in a machine failure, and what to service first."""
from __future__ import annotations

from dataclasses import asdict

import streamlit as st

from engine import maintenance as mt
from ui import maintenance as views
from ui.data import dataset_picker
from ui.errors import guard
from ui.share import open_shared_run, persist_run
from ui.training import run_key, training_panel

SAMPLES = {"Milling machine runs (AI4I 2020, 7,000 runs)": "ai4i2020_machines_1_7000.csv"}

st.title("Predictive maintenance")
st.caption("Predict which production runs will end in a machine failure from what is known before the run, turn "
           "what a failure and a service stop cost into an alert threshold, and see which machines to service first, "
           "and why.")

# ----------------------------------------------------------------------------- a shared link reopens a run
shared = open_shared_run("maintenance")
if shared is not None:
    with guard("opening the shared run"):
        views.results(mt.load(shared.model), shared.dataset(), shared.id, shared.id)
    st.stop()

with st.expander("Already have a model file from this page? Score new runs with it, no training"):
    views.score_with_model_file()

# ----------------------------------------------------------------------------- 1 · Data
table = dataset_picker(SAMPLES, key="mt", max_rows=mt.MAX_ROWS)
if table is None:
    st.stop()
df = table.df

# ----------------------------------------------------------------------------- 2 · Columns
st.subheader("2 · Columns")
with guard("reading the columns"):
    columns = views.column_roles(df, table.fingerprint[:12])
config = views.options()
with guard("checking your columns"):
    prepared = mt.prepare(df, columns, config)  # cheap: problems show before anything trains
for note in prepared.notes:
    st.info(note)
st.caption(f"{len(prepared.y):,} runs, {int(prepared.y.sum()):,} of them failures ({prepared.y.mean():.1%}).")

# ----------------------------------------------------------------------------- 3 · Train
job = training_panel("maintenance", run_key(table.fingerprint, columns, config), mt.fit, df, columns, config)
if job is None or not job.finished_ok:
    st.stop()
model: mt.MaintenanceModel = job.result

# ----------------------------------------------------------------------------- 4 · Results
run_id = persist_run("maintenance", job.id, model.to_bytes, table, asdict(columns), asdict(config), model.metrics)
views.results(model, table, job.id, run_id)
