"""Retail segmentation: group customers by how they buy, name the groups, see why each customer sits where it does."""
from __future__ import annotations

import streamlit as st

from engine import segmentation as seg
from ui import segmentation as view
from ui.data import dataset_picker
from ui.errors import guard
from ui.state import memo
from ui.style import pct
from ui.tabular import batch_scoring
from ui.training import run_key, training_panel

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

st.title("Retail segmentation")
st.caption("Group customers by how they buy — from raw transactions (recency, frequency, spend) or from a customer "
           "table — see what each group looks like, name it, and see why any one customer sits in its group.")

table = dataset_picker(SAMPLES, key="seg")
if table is None:
    st.stop()
if table.name in ATTRIBUTION:
    (st.warning if table.name == "mall_customers.csv" else st.caption)(ATTRIBUTION[table.name])
df, fp = table.df, table.fingerprint[:12]

# ----------------------------------------------------------------------------- 2 · Columns
columns, config = view.columns_form(df, fp)
with guard("checking your columns"):  # cheap: problems show as sentences before anything runs
    prepared = memo("seg_prepare", run_key(table.fingerprint, columns, config.reference_date, config.k),
                    lambda: seg.prepare(df, columns, config))
view.prepared_summary(prepared)

# ----------------------------------------------------------------------------- 3 · Train
job = training_panel("segmentation", run_key(table.fingerprint, columns, config), seg.fit, df, columns, config,
                     label="Find segments")
if job is None or not job.finished_ok:
    st.stop()
model: seg.SegmentationModel = job.result

# ----------------------------------------------------------------------------- 4 · Results
st.subheader("4 · Results")
segments, spread, perf, expl, score, share = st.tabs(
    ["Segments", "Map", "Performance", "Explanations", "Score new data", "Share"])

with segments:
    view.headline(model)
    names = view.names_editor(model, key=f"seg_names_{job.id}")
    c1, c2 = st.columns(2)
    c1.plotly_chart(view.sizes_chart(model, names), key="seg_sizes")
    c1.caption("Grey: share of customers; green: share of net revenue. A small bar next to a tall green one is a "
               "small group that brings in much of the money." if model.columns.shape == seg.TRANSACTIONS
               else "Share of customers in each segment.")
    c2.plotly_chart(view.comparison_heatmap(model, names), key="seg_heat")
    c2.caption("Red: well above the average customer, blue: well below (on the scaled, log where stated, features); "
               "the numbers are each segment's median.")
    st.markdown("**Segment profiles** (medians; categories show the most common value)")
    st.dataframe(view.profile_table(model, names), width="stretch")
    view.download_customers(model, names, key="seg_download_segments")

with spread:
    fig, shown = view.map_chart(model, names)
    st.plotly_chart(fig, key="seg_map")
    st.caption(f"Each dot is a customer ({shown:,} of {model.metrics['customers']:,} shown); customers close together "
               "buy alike. Overlap here is normal: the map squeezes every feature into two directions.")

with perf:
    view.performance(model)
    with st.expander("What was done to the data"):
        for note in model.notes:
            st.markdown(f"- {note}")

with expl:
    st.info(f"**What is explained:** the *soft assignment* — each segment's pull on a customer is the softmax of "
            "minus the squared distance to its centre. Its most likely segment is the k-means segment for "
            f"{pct(model.metrics['soft_agreement'])} of customers (exact by construction), and because its "
            "scores are linear in the scaled features, the SHAP values are exact and add up to the score.",
            icon=":material/info:")
    st.markdown("**Across customers: what pulls them into a segment**")
    j = st.selectbox("Segment", range(model.k), format_func=lambda i: f"{i + 1} · {names[i]}", key="seg_exp_segment")
    with guard("explaining the segments", stop=False):
        sample = memo("seg_exp_rows", job.id, lambda: model.customers[model.features].sample(
            min(500, len(model.customers)), random_state=0))
        exp = memo("seg_exp_global", f"{job.id}_{j}_{names[j]}", lambda: model.explain(features=sample, segment=j, names=names), keep=12)
        view.global_explanation(exp, names[j], key="seg_exp_global")
    st.markdown("**One customer: why this segment**")
    cid = view.customer_picker(model, names, key="seg_drill")
    if cid is not None:
        with guard("explaining this customer", stop=False):
            one = model.customers.loc[[cid], model.features]
            seg_j = int(model.customers.loc[cid, "_segment"])
            exp_one = model.explain(features=one, segment=seg_j, names=names)
            _, proba = model.assign(model.encode(one))
            view.customer_view(model, cid, names, exp_one, proba[0], key="seg_drill")

with score:
    required = ([c for c in (columns.transaction_roles.values()) if c] if columns.shape == seg.TRANSACTIONS
                else list(model.features))
    batch_scoring("seg", lambda d: model.predict(d, names), required, "segments_scored.csv", caption=(
        f"Upload a CSV with the columns {', '.join(required[:10])}{'…' if len(required) > 10 else ''}: each customer in it "
        "gets the segment whose centre is nearest, one row per customer in the download. "
        + ("Recency counts back from the day after the new file's last invoice unless you chose a reference date."
           if columns.shape == seg.TRANSACTIONS else "")))

with share:
    view.download_customers(model, names, key="seg_download_share")
    st.download_button("Download the segmentation model (one file: centres and settings, no customer data)",
                       memo("seg_model_file", job.id, model.to_bytes), file_name="segmentation_model.safetensors",
                       key="seg_model_download",
                       help="A safetensors file with the segment centres and plain-text settings — no code, safe to share.")
