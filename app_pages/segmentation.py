"""Retail segmentation: group customers by how they buy, name the groups, see why each customer sits where it does."""

from __future__ import annotations

import streamlit as st

from engine import segmentation as seg
from ui import segmentation as view
from ui.data import dataset_picker
from ui.errors import guard
from ui.state import memo
from ui.training import run_key, shared_run, trained_run

SAMPLES = {
    "Online Retail transactions (UCI, real, 1,312 customers)": "online_retail_transactions.csv.gz",
    "Mall customers (made-up teaching table, 200 rows)": "mall_customers.csv",
}
ATTRIBUTION = {
    "online_retail_transactions.csv.gz": "Sample: UCI Machine Learning Repository, *Online Retail* — a UK online shop's "
    "invoices, Dec 2010 – Dec 2011 (Chen, Sain & Guo, 2012), CC BY 4.0; every invoice of 30% of its customers.",
    "mall_customers.csv": "Sample: *Mall Customer Segmentation Data* (Kaggle). **A made-up teaching table, not real "
    "customers**: use it to see how the page works with a ready customer table, not to learn about real shoppers.",
}

st.title(seg.ABOUT.title)
st.caption(
    "Group customers by how they buy — from raw transactions (recency, frequency, spend) or from a customer "
    "table — see what each group looks like, name it, and see why any one customer sits in its group."
)

# ----------------------------------------------------------------------------- a shared link reopens a run
shared_run("segmentation", seg.load, view.shared_results)  # a share link: its results, no training

with st.expander("Already have a model file from this page? Assign new customers with it, no training"):
    view.score_with_model_file()

table = dataset_picker(SAMPLES, key="seg")
if table is None:
    st.stop()
if table.name in ATTRIBUTION:
    (st.warning if table.name == "mall_customers.csv" else st.caption)(ATTRIBUTION[table.name])
df, fp = table.df, table.fingerprint[:12]

# ----------------------------------------------------------------------------- 2 · Columns
columns, config = view.columns_form(df, fp)
with guard("checking your columns"):  # cheap: problems show as sentences before anything runs
    prepared = memo(
        "seg_prepare",
        run_key(table.fingerprint, columns, config.reference_date, config.k),
        lambda: seg.prepare(df, columns, config),
    )
view.prepared_summary(prepared)

# ----------------------------------------------------------------------------- 3 · Train, 4 · Results
model, key, run_id = trained_run("segmentation", table, seg.fit, columns, config, label="Find segments")
view.results(model, key, run_id, table.name)
