"""Diagnosis: predict an outcome from a patient table, beside honest baselines, with reasons."""

from __future__ import annotations

import streamlit as st

from engine import diagnosis as dx
from engine import roles
from ui import diagnosis as views
from ui.data import dataset_picker
from ui.dictionary import for_table
from ui.errors import guard
from ui.options import option_input
from ui.text import plain
from ui.training import shared_run, trained_run

SAMPLES = {
    "Heart disease (Cleveland, 303 patients)": "heart_disease_cleveland.csv",
    "Breast cancer (Wisconsin, 569 biopsies)": "breast_cancer_wisconsin.csv",
}

st.title(dx.ABOUT.title)
st.caption(
    "Predict an outcome (disease yes/no, a diagnosis code) from a patient table, see how sure the model is, "
    "and why — patient by patient. For exploring data, not for clinical decisions."
)

# ----------------------------------------------------------------------------- a shared link reopens a run
shared_run("diagnosis", dx.load, views.results, views.report_lead)  # a share link: its results, no training

with st.expander("Already have a model file from this page? Score new patients with it, no training"):
    views.score_with_model_file()

# ----------------------------------------------------------------------------- 1 · Data
table = dataset_picker(SAMPLES, key="dx", max_rows=dx.MAX_ROWS)
if table is None:
    st.stop()
df = table.df
fp = table.fingerprint[:12]

# ----------------------------------------------------------------------------- 2 · Columns
st.subheader("2 · Columns")
defaults = dx.default_columns(df)
names = list(df.columns)
c1, c2 = st.columns(2)
words = for_table(table)  # the analyst's column descriptions (step 1)
target = c1.selectbox(
    "Outcome column (what to predict)",
    names,
    index=names.index(defaults.target),
    key="dx_target",
    bind="query-params",
    format_func=words.label,
    help="The column holding the diagnosis or outcome you want the model to predict.",
)
outcomes = roles.label_values(df[target])
positive = c2.selectbox(
    "Positive outcome (the one to detect)",
    outcomes[: dx.MAX_CLASSES * 2],
    index=outcomes.index(dx.guess_positive(outcomes)) if outcomes else 0,
    key="dx_positive",
    bind="query-params",
    help="Risk, sensitivity and the ROC curve are about this outcome.",
)
binarise = False
if len(outcomes) > 2:
    binarise = st.checkbox(
        f"Predict '{plain(positive)}' versus all other outcomes (instead of all {len(outcomes)} outcomes)",
        key="dx_binarise",
        bind="query-params",
    )
candidates = [c for c in names if c != target]
features = st.multiselect(
    "Feature columns (what the model may use)",
    candidates,
    default=[f for f in defaults.features if f != target],
    key=f"dx_features_{fp}_{target}",
    format_func=words.label,
    help="Free-text, date and identifier columns are left out by default.",
)
st.caption(roles.summary(df, {"Outcome": target}, features))
with st.expander("Advanced training options"):
    a1, a2, a3 = st.columns(3)
    config = dx.DiagnosisConfig(
        max_epochs=option_input(a1, dx.DiagnosisConfig, "max_epochs", "dx_epochs"),
        dropout=option_input(a2, dx.DiagnosisConfig, "dropout", "dx_dropout", "slider"),
        test_fraction=option_input(a3, dx.DiagnosisConfig, "test_fraction", "dx_test", "slider"),
        seed=option_input(a1, dx.DiagnosisConfig, "seed", "dx_seed"),
        weight_decay=option_input(a2, dx.DiagnosisConfig, "weight_decay", "dx_wd", "select"),
        patience=option_input(a3, dx.DiagnosisConfig, "patience", "dx_patience"),
    )
columns = dx.DiagnosisColumns(target, tuple(features), positive, binarise)
with guard("checking your columns"):
    prepared = dx.prepare(df, columns)  # cheap: problems show before anything trains
for note in prepared.notes:
    st.info(plain(note))

# ----------------------------------------------------------------------------- 3 · Train, 4 · Results
model, key, run_id = trained_run("diagnosis", table, dx.fit, columns, config)
views.results(model, table, key, run_id)
