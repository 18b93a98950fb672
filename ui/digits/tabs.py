"""Step 4 of the digits page: the results tabs, the report, a shared run's results and a model file read back."""

from __future__ import annotations

import streamlit as st

from engine import digits as dg
from engine.data import Table
from ui.data import read_model_file
from ui.digits.accuracy import KEYS, LABELS, in_order, nudge_view, performance, performance_summary
from ui.digits.explanations import explanation_view
from ui.digits.figures import accuracy_bars, confusion_heatmap, gallery_figure, recall_by_digit, training_curves
from ui.digits.new_images import batch_prediction, drawing_view
from ui.errors import guard
from ui.report import appendix, build_report
from ui.results import comparison_table
from ui.share import share_panel
from ui.state import memo
from ui.style import pct
from ui.text import plain


def report(model: dg.DigitModel, data_label: str) -> str:
    n = model.n_rows
    sections = [
        (
            "Performance on the test images",
            [
                comparison_table(dg.MODEL, model.metrics, in_order(model), [*KEYS, "errors"], LABELS),
                accuracy_bars(model),
                confusion_heatmap(model.confusion(), False, "Confusion matrix · CNN (counts)"),
                model.per_class().round(4),
                recall_by_digit(model),
                gallery_figure(model),
                training_curves(model),
            ],
        ),
        (
            "Data",
            [
                f"{data_label}. Trained on {n['train']:,} images ({n['validation']:,} more decided when to stop); "
                f"tested on {n['test']:,} images ({model.test_source}).",
                *model.notes,
            ],
        ),
        appendix(model.columns, model.config),
    ]
    from ui.training import headline_verdict

    lead = [
        f"The CNN reads {pct(model.metrics['accuracy'])} of {n['test']:,} test images right.",
        *headline_verdict("digits", model),
    ]
    return build_report("Digit recognizer: CNN vs MLP vs logistic regression", sections, subtitle=data_label, lead=lead)


def results(model: dg.DigitModel, run_key: str, run_id: str | None, data_label: str, share: bool = True) -> None:
    """Step 4: Performance · Explanations · Draw a digit · Predict new images · Share."""
    st.subheader("4 · Results")
    names = ["Performance", "Explanations", "Draw a digit", "Predict new images"] + (["Share"] if share else [])
    tabs = st.tabs(names)
    with tabs[0]:
        performance_summary(model)
        performance(model, "dg_perf")
        nudge_view(model, "dg_nudge")
        with st.expander("Training curves and what was done to the data"):
            st.plotly_chart(training_curves(model), key="dg_history")
            st.caption(
                "Both networks stop once the validation loss (solid) stops falling; a widening gap to the training "
                "loss (dotted) means memorising."
            )
            st.markdown(f"CNN: {model.histories[dg.MODEL].stopped}; MLP: {model.histories[dg.MLP].stopped}.")
            for note in model.notes:
                st.markdown(f"- {plain(note)}")
    with tabs[1]:
        explanation_view(model, run_key, "dg_expl")
    with tabs[2]:
        drawing_view(model, run_key, "dg_draw")
    with tabs[3]:
        batch_prediction(model, "dg")
    if share:
        with tabs[4]:
            share_panel(
                "digits",
                run_id,
                memo("dg_model_file", run_key, model.to_bytes),
                "digit_models.safetensors",
                report=lambda: report(model, data_label),
            )


def model_from_file() -> tuple[dg.DigitModel, str] | None:
    """A model file saved earlier on this page (its results, drawing and batch prediction need no training)."""
    upload = st.file_uploader(
        "Model file (.safetensors, downloaded from this page)", type=["safetensors"], key="dg_model_upload"
    )
    if upload is None:
        return None
    model = None
    with guard("reading the model file", stop=False):
        model = memo("dg_uploaded_model", upload.file_id, lambda: read_model_file(upload, dg.load), keep=1)
        st.success(
            f"Models read: the CNN's test accuracy was {pct(model.metrics['accuracy'], 2)} on "
            f"{model.n_rows['test']:,} images. Its results are below; draw a digit or predict new images there."
        )
    return (model, upload.file_id) if model is not None else None


def shared_results(model: dg.DigitModel, table: Table, key: str, run_id: str | None) -> None:
    """A shared run's results (the page's results with the shared dataset named)."""
    results(model, key, run_id, f"{table.name}: {len(table.df):,} images")
