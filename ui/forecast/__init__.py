"""Demand forecast views: column roles, the per-series chart with its band, accuracy beside the baselines,
drivers (SHAP), reorder quantities, scoring a newer history, sharing. The page decides; this draws.

One module per part of the page: columns.py (step 2), tabs.py (step 4: the results tabs, the report, scoring) and
one module per tab it arranges — accuracy.py (Performance), series.py (Forecasts and Explanations), orders.py
(Reorder), plan.py (Scenario); figures.py draws the charts and names and colours each method.
"""

from ui.forecast.accuracy import (
    KEYS,
    LOWER,
    SEASON_AGO,
    labels,
    mase_note,
    metric_cards,
    per_series_table,
    performance,
    show_metric,
    verdict,
)
from ui.forecast.columns import column_inputs, panel_summary
from ui.forecast.figures import (
    BAND,
    CHOICE_COLOR,
    COLORS,
    SHORT,
    TITLE,
    candidates,
    forecast_chart,
    mase_chart,
    scenario_chart,
)
from ui.forecast.orders import achieved, level_for, reorder, reorder_keys, service_check
from ui.forecast.plan import scenario
from ui.forecast.series import explanations, forecasts, series_label, series_names
from ui.forecast.tabs import report, results, score_history, score_with_model_file

__all__ = [
    "BAND",
    "CHOICE_COLOR",
    "COLORS",
    "KEYS",
    "LOWER",
    "SEASON_AGO",
    "SHORT",
    "TITLE",
    "achieved",
    "candidates",
    "column_inputs",
    "explanations",
    "forecast_chart",
    "forecasts",
    "labels",
    "level_for",
    "mase_chart",
    "mase_note",
    "metric_cards",
    "panel_summary",
    "per_series_table",
    "performance",
    "reorder",
    "reorder_keys",
    "report",
    "results",
    "scenario",
    "scenario_chart",
    "score_history",
    "score_with_model_file",
    "series_label",
    "series_names",
    "service_check",
    "show_metric",
    "verdict",
]
