"""Diagnosis results: the five tabs, and the HTML report. The page decides what to show; this draws it."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from engine import diagnosis as dx
from engine.data import Table
from engine.dictionary import value_key
from engine.explain import Explanation
from engine.subgroups import Subgroups
from ui import charts
from ui.report import appendix, build_report
from ui.results import comparison_table, metric_cards, verdict
from ui.share import share_panel
from ui.state import memo
from ui.style import pct
from ui.subgroups import report_section, subgroup_view
from ui.tabular import batch_scoring, explain_and_what_if, model_file_scoring, report_head
from ui.text import plain
from ui.training import training_notes

KEYS = ["roc_auc", "accuracy", "sensitivity", "specificity", "brier"]
LABELS = {
    "roc_auc": "ROC-AUC",
    "accuracy": "Accuracy",
    "sensitivity": "Sensitivity",
    "specificity": "Specificity",
    "brier": "Brier score",
    "precision": "Precision",
    "roc_auc_macro": "ROC-AUC (all outcomes)",
}


def _confusion(model: dx.DiagnosisModel, m: dict, threshold: float) -> go.Figure:
    other = f"not {model.positive_class}" if len(model.classes) > 2 else model.classes[1 - model.positive_index]
    return charts.confusion_chart(
        np.array([[m["tn"], m["fp"]], [m["fn"], m["tp"]]]),
        [other, model.positive_class],
        f"Neural network at threshold {threshold:.2f}",
    )


def performance(model: dx.DiagnosisModel) -> float:
    """Metrics beside the baselines, uncertainty, threshold, ROC, confusion, calibration; returns the threshold."""
    n_test = model.n_rows["test"]
    st.markdown(
        f"Measured on **{n_test:,} held-out patients** the models never saw; "
        f"trained on {model.n_rows['train'] + model.n_rows['validation']:,}."
    )
    metric_cards(
        dx.MODEL, model.metrics, model.baseline_metrics, KEYS, LABELS, dx.METRIC_HELP, lower_is_better=["brier"]
    )
    iv = model.intervals.get(dx.MODEL, {}).get("roc_auc")
    if iv and n_test < 1000:
        st.warning(
            f"With only {n_test:,} held-out patients these numbers are uncertain: the model's ROC-AUC could "
            f"plausibly lie anywhere from {iv[0]:.3f} to {iv[1]:.3f} (95% bootstrap interval). "
            "Differences between models smaller than that are noise.",
            icon=":material/straighten:",
        )
    shown = KEYS + [k for k in ("roc_auc_macro",) if k in model.metrics]
    st.dataframe(
        comparison_table(dx.MODEL, model.metrics, model.baseline_metrics, shown, LABELS, model.intervals),
        width="stretch",
    )
    st.caption("Same held-out patients for every model; brackets: 95% bootstrap intervals.")

    threshold = st.slider(
        f"Risk threshold: flag a patient as '{plain(model.positive_class)}' when the risk is at least",
        0.01,
        0.99,
        0.5,
        0.01,
        key="dx_threshold",
        bind="query-params",
    )
    at = model.at_threshold(threshold)
    m = at[dx.MODEL]
    t1, t2, t3 = st.columns(3)
    t1.metric("Sensitivity at this threshold", f"{100 * m['sensitivity']:.1f}%", help=dx.METRIC_HELP["sensitivity"])
    t2.metric("Specificity at this threshold", f"{100 * m['specificity']:.1f}%", help=dx.METRIC_HELP["specificity"])
    t3.metric("Patients flagged", f"{m['tp'] + m['fp']:,} of {n_test:,}")
    g1, g2 = st.columns(2)
    points = {name: (1 - v["specificity"], v["sensitivity"]) for name, v in at.items()}
    g1.plotly_chart(charts.roc_chart(model.roc(), points), key="dx_roc")
    g1.caption(
        "The higher the curve bows towards the top left, the better; dots mark each model at the chosen threshold."
    )
    g2.plotly_chart(_confusion(model, m, threshold), key="dx_confusion")
    g2.caption("Rows: what was true; columns: what the model said. The diagonal is right.")
    st.plotly_chart(charts.calibration_chart(model.calibration()), key="dx_calibration")
    st.caption("Points on the dashed line mean a predicted risk of 30% really comes true for about 30% of patients.")
    training_notes(model, "dx")
    return threshold


def outcome_words(model: dx.DiagnosisModel) -> str:
    """'disease (target = 1)' where the dictionary says what the outcome means, else 'target = 1'."""
    target, positive = model.columns.target, model.positive_class
    meaning = model.dictionary.values.get(target, {}).get(value_key(positive))
    return f"{meaning} ({target} = {positive})" if meaning else f"{model.dictionary.label(target)} = {positive}"


def report_lead(model: dx.DiagnosisModel, threshold: float = 0.5) -> list[str]:
    """The business result and verdict, first in the report and the shared-run banner."""
    m = model.at_threshold(threshold)[dx.MODEL]
    n, sick = model.n_rows["test"], m["tp"] + m["fn"]
    return [
        f"At a risk threshold of {threshold:.0%}, the model flags {m['tp'] + m['fp']:,} of {n:,} held-out patients "
        f"for {outcome_words(model)}. It finds {m['tp']:,} of the {sick:,} who have it ({pct(m['sensitivity'])}) and "
        f"rightly clears {pct(m['specificity'])} of the others.",
        verdict(dx.MODEL, model.metrics, model.baseline_metrics, "roc_auc", "ROC-AUC", intervals=model.intervals),
    ]


def report(
    model: dx.DiagnosisModel,
    table: Table,
    exp: Explanation | None,
    threshold: float = 0.5,
    by_group: Subgroups | None = None,
) -> str:
    at = model.at_threshold(threshold)[dx.MODEL]
    names = model.dictionary
    perf = comparison_table(dx.MODEL, model.metrics, model.baseline_metrics, KEYS, LABELS, model.intervals)
    sections = [
        (
            "Performance on held-out patients",
            [
                perf,
                charts.roc_chart(model.roc()),
                _confusion(model, at, threshold),
                charts.calibration_chart(model.calibration()),
            ],
        )
    ]
    sections += report_section(by_group)
    if exp is not None:
        sections.append(
            ("Explanations (SHAP)", [charts.shap_bar(exp, names=names), charts.shap_beeswarm(exp, names=names)])
        )
    sections += [
        *report_head(table, model, "rows"),
        appendix(
            model.columns,
            model.config,
            names=names,
            extra=[
                f"Risk threshold for the counts above: {threshold:.0%} (a patient is flagged when "
                "the predicted risk is at least this)."
            ],
        ),
    ]
    return build_report(
        f"Diagnosis: predicting {outcome_words(model)}",
        sections,
        subtitle=f"dataset {table.name}",
        lead=report_lead(model, threshold),
    )


def results(model: dx.DiagnosisModel, table: Table, run_key: str, run_id: str | None) -> None:
    """Step 4: Performance · Explanations · What-if · Score new data · Share."""
    df = table.df
    st.subheader("4 · Results")
    perf, groups, expl, whatif, score, share = st.tabs(
        ["Performance", "Subgroups", "Explanations", "What-if", "Score new data", "Share"]
    )
    with perf:
        threshold = performance(model)
    with groups:
        risk = model.test_probabilities()[dx.MODEL]
        by_group = subgroup_view(
            "dx",
            model.held_out(df),
            model.test_positive(),
            risk >= threshold,
            risk,
            "patients",
            "cases",
            exclude=(model.columns.target,),
            names=model.dictionary,
        )
    exp = explain_and_what_if(
        model,
        df,
        model.held_out(df, limit=200),
        run_key,
        "dx",
        (expl, whatif),
        "patient",
        lambda d: float(model.predict(d)["risk"].iloc[0]),
        f"Risk of {outcome_words(model)}",
    )
    with score:
        batch_scoring(
            "dx", model.decide(threshold=threshold).score, model.features, "diagnosis_scores.csv", example=table.df
        )
    with share:
        share_panel(
            "diagnosis",
            run_id,
            memo("dx_model_file", f"{run_key}_{model.dictionary.digest()}", model.to_bytes),
            "diagnosis_model.safetensors",
            report=lambda: report(model, table, exp, threshold, by_group),
            report_key=f"{threshold}_{by_group.column if by_group else ''}",
        )


def score_with_model_file() -> None:
    """Score new rows with a model file saved earlier from this page — no training."""
    model_file_scoring(
        "dx",
        dx.load,
        "diagnosis_scores.csv",
        lambda m: f"Model for '{m.columns.target} = {m.positive_class}' from {len(m.features)} columns",
    )
