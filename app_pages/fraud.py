"""Fraud detection: rank transactions by fraud risk, pick the threshold from money, see why each is flagged."""

from __future__ import annotations

import streamlit as st

from engine import fraud as fr
from ui import fraud as view
from ui.data import dataset_picker
from ui.errors import guard
from ui.text import plain
from ui.training import shared_run, trained_run

SAMPLES = {"Card transactions (ULB, 1,774 rows, 298 frauds)": "creditcard_transactions.csv"}

st.title(fr.ABOUT.title)
st.caption(
    "Rank card transactions, claims or payments by how likely they are fraud, choose the alert threshold from "
    "what a false alarm and a missed fraud cost you, and read why each transaction was flagged."
)

# ----------------------------------------------------------------------------- a shared link reopens a run
shared_run("fraud", fr.load, view.results)  # a share link: its results, no training

with st.expander("Already have a model file from this page? Score new transactions with it, no training"):
    view.score_with_model_file()

# ----------------------------------------------------------------------------- 1 · Data
table = dataset_picker(SAMPLES, key="fr", max_rows=fr.MAX_ROWS)
if table is None:
    st.stop()
df = table.df
if table.name in SAMPLES.values():
    st.info(
        "In this sample 16.8% of transactions are fraud, because genuine ones were left out to keep the file "
        "small; in the full data (and in real life) it is about 0.17%. Expect far lower precision on real "
        "traffic at the same threshold. Data: ULB Machine Learning Group with Worldline, ODbL v1.0 "
        "(Dal Pozzolo et al., 2015).",
        icon=":material/info:",
    )

# ----------------------------------------------------------------------------- 2 · Columns
st.subheader("2 · Columns")
columns = view.column_roles(df, table.fingerprint[:12])
config = view.options(columns.label is not None)
with guard("checking your columns"):
    prepared = fr.prepare(df, columns, config)  # cheap: problems show before anything trains
for note in prepared.notes:
    st.info(plain(note))
if columns.label is None or config.mode == "anomaly":
    st.caption(
        "Unlabelled mode: an autoencoder learns what ordinary transactions look like and scores each one by how "
        "badly it can rebuild it; an isolation forest is the baseline."
    )
else:
    st.caption(
        "Labelled mode: a neural network learns from the known frauds (rare frauds weighted up), beside "
        "gradient boosting and logistic regression trained on the same rows."
    )

# ----------------------------------------------------------------------------- 3 · Train, 4 · Results
model, key, run_id = trained_run("fraud", table, fr.fit, columns, config)
view.results(model, table, key, run_id)
