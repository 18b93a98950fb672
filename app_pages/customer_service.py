"""Customer service: route each customer message to the right team, automate what the model is sure of, and say why."""

from __future__ import annotations

import streamlit as st

from engine import customer_service as cs
from ui import customer_service as views
from ui.data import dataset_picker
from ui.errors import guard
from ui.training import shared_run, trained_run

SAMPLES = {"Messages to an online bank (Banking77, 2,999 messages, 77 intents)": cs.SAMPLE}

st.title(cs.ABOUT.title)
st.caption(
    "Learn from messages customers wrote and the team (intent, queue) each one went to: route new messages "
    "automatically when the model is sure enough and to a person otherwise, at the threshold your costs pick, "
    "see the words behind each routing, and spot messages about topics nobody trained for."
)

shared_run("customer_service", cs.load, views.results)  # a share link: its results, no training
views.score_with_model_file()  # in an expander: a model file from this page, no training

# ----------------------------------------------------------------------------- 1 · Data
table = dataset_picker(SAMPLES, key="cs", max_rows=cs.MAX_ROWS)
if table is None:
    st.stop()

# ----------------------------------------------------------------------------- 2 · Columns
st.subheader("2 · Columns")
with guard("reading the columns"):
    columns = views.column_roles(table.df, table.fingerprint[:12])
config = views.options()
with guard("checking your columns"):
    prepared = cs.prepare(table.df, columns, config)  # cheap: problems show before anything trains
for note in prepared.notes:
    st.info(note)
st.caption(f"{len(prepared.texts):,} messages in {len(prepared.classes):,} categories.")

# ----------------------------------------------------------------------------- 3 · Train, 4 · Results
model, key, run_id = trained_run("customer_service", table, cs.fit, columns, config)
views.results(model, table, key, run_id)
