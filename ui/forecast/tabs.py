"""Step 4 of the forecast page: the results tabs of a run trained now or opened from a share link, the report, and
scoring a newer history with the trained model or with a model file."""

from __future__ import annotations

import streamlit as st

from engine import forecast as fc
from engine.data import Table
from ui import charts
from ui.forecast.accuracy import _comparison, mase_note, per_series_table, performance
from ui.forecast.figures import forecast_chart, mase_chart
from ui.forecast.orders import reorder
from ui.forecast.plan import scenario
from ui.forecast.series import _series_order, explanations, forecasts, series_label, series_names
from ui.report import appendix, build_report
from ui.share import share_panel
from ui.state import memo
from ui.tabular import batch_scoring, model_file_scoring


def _score_caption(model: fc.ForecastModel) -> str:
    return (
        f"Upload a newer sales history with the columns {', '.join(model.features)}; each series needs at least "
        f"{model.freq.units(model.lags)}. The trained network forecasts the next {model.freq.units(model.horizon)} "
        "from its end, without training again, with the top reasons for each series' total."
    )


def score_history(model: fc.ForecastModel) -> None:
    """Upload a newer history with the same columns → the next horizon per series → CSV."""
    batch_scoring("fc", model.score, model.features, "demand_forecast_new.csv", caption=_score_caption(model))


def report(model: fc.ForecastModel, table: Table | None, exp) -> str:
    top = _series_order(model)[:3]
    named = series_label(series_names(model, table))
    figures = []
    for s in top:
        fig = forecast_chart(model, s)
        fig.update_layout(title=f"{named(s)}: history, backtest and forecast")
        figures.append(fig)
    sections = [
        (
            "Backtest accuracy",
            [model.choice_note + mase_note(model), _comparison(model), mase_chart(model), per_series_table(model)],
        ),
        ("Forecasts (largest series)", figures),
    ]
    if exp is not None:
        sections.append(("Drivers (SHAP)", [charts.shap_bar(exp)]))
    sections += [
        ("Data", [f"{table.name if table else 'data'}: {len(model.ids):,} {model.freq.name} series.", *model.notes]),
        appendix(model.columns, model.config),
    ]
    lead = [model.choice_note + mase_note(model)]
    return build_report(
        f"Demand forecast: {model.columns.target}", sections, subtitle=table.name if table else "", lead=lead
    )


def results(model: fc.ForecastModel, table: Table | None, run_key: str, run_id: str | None) -> None:
    """Step 4: Performance · Forecasts · Explanations · Reorder · Score new data · Share."""
    st.subheader("4 · Results")
    tabs = st.tabs(["Performance", "Forecasts", "Explanations", "Reorder", "Scenario", "Score new data", "Share"])
    with tabs[0]:
        performance(model)
    names = memo("fc_series_names", run_key, lambda: series_names(model, table))
    with tabs[1]:
        forecasts(model, names)
    with tabs[2]:
        explanations(model, run_key, names)
    with tabs[3]:
        reorder(model, table.df if table is not None else None, run_key)
    with tabs[4]:
        scenario(model, table.df if table is not None else None, run_key)
    with tabs[5]:
        score_history(model)
    with tabs[6]:
        share_panel(
            "forecast",
            run_id,
            memo("fc_model_file", run_key, model.to_bytes),
            "forecast_model.safetensors",
            report=lambda: report(model, table, st.session_state.get("_memo_fc_explain", {}).get(run_key)),
        )


def score_with_model_file() -> None:
    """Forecast a newer history with a model file saved earlier from this page — no training."""
    model_file_scoring(
        "fc",
        fc.load,
        "demand_forecast_new.csv",
        caption=_score_caption,
        describe=lambda m: (
            f"{m.freq.name.capitalize()} model of '{m.columns.target}' for {len(m.ids):,} series (seasonal naive's "
            f"backtest MASE: {m.baseline_metrics[fc.SNAIVE]['mase']:.3f})"
        ),
    )
