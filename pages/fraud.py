"""Fraud detection: rank transactions by fraud risk, pick the threshold from money, see why each is flagged."""
from __future__ import annotations

import streamlit as st

from engine import fraud as fr
from ui import fraud as view
from ui.data import dataset_picker
from ui.errors import guard
from ui.state import memo
from ui.tabular import batch_scoring
from ui.training import run_key, training_panel

SAMPLES = {"Card transactions (ULB, 1,774 rows, 298 frauds)": "creditcard_transactions.csv"}
FLAG_LIMIT = 200  # flagged transactions listed (and explained) on the page

st.title("Fraud detection")
st.caption("Rank card transactions, claims or payments by how likely they are fraud, choose the alert threshold from "
           "what a false alarm and a missed fraud cost you, and read why each transaction was flagged.")

table = dataset_picker(SAMPLES, key="fr")
if table is None:
    st.stop()
df = table.df
fp = table.fingerprint[:12]
if table.name in SAMPLES.values():
    st.info("In this sample 16.8% of transactions are fraud, because genuine ones were left out to keep the file "
            "small; in the full data (and in real life) it is about 0.17%. Expect far lower precision on real "
            "traffic at the same threshold. Data: ULB Machine Learning Group with Worldline, ODbL v1.0 "
            "(Dal Pozzolo et al., 2015).", icon=":material/info:")

# ----------------------------------------------------------------------------- 2 · Columns
st.subheader("2 · Columns")
columns = view.column_roles(df, fp)
config = view.options(columns.label is not None)
with guard("checking your columns"):
    prepared = fr.prepare(df, columns, config)  # cheap: problems show before anything trains
for note in prepared.notes:
    st.info(note)
if columns.label is None or config.mode == "anomaly":
    st.caption("Unlabelled mode: an autoencoder learns what ordinary transactions look like and scores each one by how "
               "badly it can rebuild it; an isolation forest is the baseline.")
else:
    st.caption("Labelled mode: a neural network learns from the known frauds (rare frauds weighted up), beside "
               "gradient boosting and logistic regression trained on the same rows.")

# ----------------------------------------------------------------------------- 3 · Train
job = training_panel("fraud", run_key(table.fingerprint, columns, config), fr.fit, df, columns, config)
if job is None or not job.finished_ok:
    st.stop()
model: fr.FraudModel = job.result

# ----------------------------------------------------------------------------- 4 · Results
st.subheader("4 · Results")
costs = None
if model.has_label:
    st.markdown("**What mistakes cost you** — the page picks the threshold with the lowest expected cost.")
    with guard("reading the costs"):
        costs = view.money_inputs(model, "fr")
threshold = view.threshold_slider(model, costs, f"fr_{job.id[:8]}")
ev = model.evaluate(costs, threshold) if costs is not None else {}

top = exp_top = exp_global = None
with guard("explaining the flagged transactions", stop=False):
    top, exp_top = memo("fr_top", job.id, lambda: model.top_rows(df, FLAG_LIMIT))
with guard("explaining the model", stop=False):
    exp_global = memo("fr_explain", job.id, lambda: model.explain(model.held_out(df, 200)))

if model.has_label:
    perf, cost, flagged, expl, score, share = st.tabs(
        ["Performance", "Cost & threshold", "Flagged transactions", "Explanations", "Score new data", "Share"])
    with perf:
        view.performance(model, ev, threshold)
        view.training_notes(model)
    with cost:
        view.cost_view(model, costs, ev, threshold)
else:
    perf, flagged, expl, score, share = st.tabs(
        ["Scores", "Flagged transactions", "Explanations", "Score new data", "Share"])
    with perf:
        st.markdown(f"No label, so no accuracy can be measured: the {model.score_name} says how unlike the rest of your "
                    "file a transaction is. Check the flagged ones by hand, and add a label once you know outcomes.")
        st.plotly_chart(view.score_histogram(model.test_scores(), threshold, model.score_name), key="fr_hist")
        st.caption("Most transactions should sit on the left; the long tail on the right is what gets flagged.")
        view.training_notes(model)

with flagged:
    if top is not None:
        view.flagged_view(model, top, exp_top, threshold, FLAG_LIMIT)

with expl:
    if exp_global is not None:
        view.explanations_view(model, exp_global)

with score:
    batch_scoring("fr", lambda d: model.score(d, threshold), model.features, "fraud_scores.csv")
    st.caption(f"Each row gets its {model.score_name}, whether it is flagged at your threshold ({threshold:.3f}), and "
               "for flagged rows the top three reasons.")

with share:
    st.download_button("Download the trained model (one file, weights only)", memo("fr_model_file", job.id, model.to_bytes),
                       file_name="fraud_model.safetensors", key="fr_model_download",
                       help="A safetensors file with the network weights and plain-text settings — no code, safe to share.")
