"""Diagnosis: predict an outcome from a patient table, beside honest baselines, with reasons."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from engine import diagnosis as dx
from ui import charts
from ui.data import dataset_picker
from ui.errors import guard
from ui.results import comparison_table, metric_cards
from ui.state import memo
from ui.tabular import batch_scoring, explanation_panel, what_if
from ui.training import run_key, training_panel

SAMPLES = {
    "Heart disease (Cleveland, 303 patients)": "heart_disease_cleveland.csv",
    "Breast cancer (Wisconsin, 569 biopsies)": "breast_cancer_wisconsin.csv",
}
KEYS = ["roc_auc", "accuracy", "sensitivity", "specificity", "brier"]
LABELS = {"roc_auc": "ROC-AUC", "accuracy": "Accuracy", "sensitivity": "Sensitivity", "specificity": "Specificity",
          "brier": "Brier score", "precision": "Precision", "roc_auc_macro": "ROC-AUC (all outcomes)"}

st.title("Diagnosis")
st.caption("Predict an outcome (disease yes/no, a diagnosis code) from a patient table, see how sure the model is, "
           "and why — patient by patient. For exploring data, not for clinical decisions.")

table = dataset_picker(SAMPLES, key="dx")
if table is None:
    st.stop()
df = table.df
fp = table.fingerprint[:12]

# ----------------------------------------------------------------------------- 2 · Columns
st.subheader("2 · Columns")
defaults = dx.default_columns(df)
names = list(df.columns)
c1, c2 = st.columns(2)
target = c1.selectbox("Outcome column (what to predict)", names, index=names.index(defaults.target), key=f"dx_target_{fp}",
                      help="The column holding the diagnosis or outcome you want the model to predict.")
outcomes = sorted(dx._label_strings(df[target]).dropna().unique().astype(str), key=lambda c: (len(c), c))
positive = c2.selectbox("Positive outcome (the one to detect)", outcomes[:dx.MAX_CLASSES * 2],
                        index=outcomes.index(dx.guess_positive(outcomes)) if outcomes else 0, key=f"dx_pos_{fp}_{target}",
                        help="Risk, sensitivity and the ROC curve are about this outcome.")
binarise = False
if len(outcomes) > 2:
    binarise = st.checkbox(f"Predict '{positive}' versus all other outcomes (instead of all {len(outcomes)} outcomes)",
                           key=f"dx_bin_{fp}_{target}")
candidates = [c for c in names if c != target]
features = st.multiselect("Feature columns (what the model may use)", candidates,
                          default=[f for f in defaults.features if f != target], key=f"dx_features_{fp}_{target}",
                          help="Free-text and date columns are left out by default.")
with st.expander("Advanced training options"):
    helps = dx.DiagnosisConfig.help()
    a1, a2, a3 = st.columns(3)
    config = dx.DiagnosisConfig(
        max_epochs=a1.number_input("Most epochs", 5, 2000, 300, key="dx_epochs", help=helps["max_epochs"]["help"]),
        dropout=a2.slider("Dropout", 0.0, 0.8, 0.3, 0.05, key="dx_dropout", help=helps["dropout"]["help"]),
        test_fraction=a3.slider("Held-out share", 0.1, 0.5, 0.25, 0.05, key="dx_test", help=helps["test_fraction"]["help"]),
        seed=a1.number_input("Random seed", 0, 10_000, 0, key="dx_seed", help=helps["seed"]["help"]),
        weight_decay=a2.select_slider("Weight decay", [0.0, 1e-4, 1e-3, 1e-2, 0.1], 1e-3, key="dx_wd", help=helps["weight_decay"]["help"]),
    )
columns = dx.DiagnosisColumns(target, tuple(features), positive, binarise)
with guard("checking your columns"):
    prepared = dx.prepare(df, columns)  # cheap: problems show before anything trains
for note in prepared.notes:
    st.info(note)

# ----------------------------------------------------------------------------- 3 · Train
job = training_panel("diagnosis", run_key(table.fingerprint, columns, config), dx.fit, df, columns, config)
if job is None or not job.finished_ok:
    st.stop()
model: dx.DiagnosisModel = job.result

# ----------------------------------------------------------------------------- 4 · Results
st.subheader("4 · Results")
perf, expl, whatif, score, share = st.tabs(["Performance", "Explanations", "What-if", "Score new data", "Share"])

with perf:
    n_test = model.n_rows["test"]
    st.markdown(f"Measured on **{n_test:,} held-out patients** the models never saw; "
                f"trained on {model.n_rows['train'] + model.n_rows['validation']:,}.")
    metric_cards(dx.MODEL, model.metrics, model.baseline_metrics, KEYS, LABELS, dx.METRIC_HELP, lower_is_better=["brier"])
    iv = model.intervals.get(dx.MODEL, {}).get("roc_auc")
    if iv and n_test < 1000:
        st.warning(f"With only {n_test:,} held-out patients these numbers are uncertain: the model's ROC-AUC could "
                   f"plausibly lie anywhere from {iv[0]:.3f} to {iv[1]:.3f} (95% bootstrap interval). "
                   "Differences between models smaller than that are noise.", icon=":material/straighten:")
    shown = KEYS + [k for k in ("roc_auc_macro",) if k in model.metrics]
    st.dataframe(comparison_table(dx.MODEL, model.metrics, model.baseline_metrics, shown, LABELS, model.intervals), width="stretch")
    st.caption("Same held-out patients for every model; brackets: 95% bootstrap intervals.")

    threshold = st.slider(f"Risk threshold: flag a patient as '{model.positive_class}' when the risk is at least",
                          0.01, 0.99, 0.5, 0.01, key="dx_threshold")
    at = model.at_threshold(threshold)
    m = at[dx.MODEL]
    t1, t2, t3 = st.columns(3)
    t1.metric("Sensitivity at this threshold", f"{100 * m['sensitivity']:.1f}%", help=dx.METRIC_HELP["sensitivity"])
    t2.metric("Specificity at this threshold", f"{100 * m['specificity']:.1f}%", help=dx.METRIC_HELP["specificity"])
    t3.metric("Patients flagged", f"{m['tp'] + m['fp']:,} of {n_test:,}")
    g1, g2 = st.columns(2)
    points = {name: (1 - v["specificity"], v["sensitivity"]) for name, v in at.items()}
    g1.plotly_chart(charts.roc_chart(model.roc(), points), key="dx_roc")
    g1.caption("The higher the curve bows towards the top left, the better; dots mark each model at the chosen threshold.")
    other = f"not {model.positive_class}" if len(model.classes) > 2 else model.classes[1 - model.positive_index]
    g2.plotly_chart(charts.confusion_chart(np.array([[m["tn"], m["fp"]], [m["fn"], m["tp"]]]), [other, model.positive_class],
                                           f"Neural network at threshold {threshold:.2f}"), key="dx_confusion")
    g2.caption("Rows: what was true; columns: what the model said. The diagonal is right.")
    st.plotly_chart(charts.calibration_chart(model.calibration()), key="dx_calibration")
    st.caption("Points on the dashed line mean a predicted risk of 30% really comes true for about 30% of patients.")
    with st.expander("Training curve and what was done to the data"):
        st.plotly_chart(charts.loss_curve(model.history.epochs), key="dx_history")
        st.markdown(f"Training {model.history.stopped}.")
        for note in model.notes:
            st.markdown(f"- {note}")


held = model.held_out(df, limit=200)
exp = None
with guard("explaining the model", stop=False):
    exp = memo("dx_explain", job.id, lambda: model.explain(held))

with expl:
    if exp is not None:
        explanation_panel(exp, "dx_exp", row_label="patient", row_names=[f"patient in row {i + 1:,}" for i in held.index])

with whatif:
    pick = st.selectbox("Start from patient", list(held.index), format_func=lambda i: f"row {i + 1:,}", key="dx_whatif_row")
    order = list(exp.importance().index) if exp is not None else model.features
    with guard("updating the what-if", stop=False):
        what_if(df.loc[pick, model.features], model.preprocessor.plans_, order,
                lambda d: float(model.predict(d)["risk"].iloc[0]), model.explain, key=f"dx_wi_{pick}",
                risk_label=f"Risk of {model.columns.target} = {model.positive_class}")

with score:
    batch_scoring("dx", lambda d: model.score(d, threshold), model.features, "diagnosis_scores.csv")

with share:
    st.download_button("Download the trained model (one file, weights only)", memo("dx_model_file", job.id, model.to_bytes),
                       file_name="diagnosis_model.safetensors", key="dx_model_download",
                       help="A safetensors file with the network weights and plain-text settings — no code, safe to share.")
