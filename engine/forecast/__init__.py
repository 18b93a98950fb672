"""Demand forecast: one global neural forecaster over many series, an honest backtest, reorder quantities.

Follows the scenario contract (engine/scenario.py): `fit(df, columns, config, progress, cancel)` returns a
`ForecastModel` (a `Fitted`) with `metrics`, `baseline_metrics`, `history`, `timings`, `notes`; `predict(df)`
forecasts the next H steps of each series of a newer history; `explain(df, output)` gives SHAP per group of
inputs; `load(source)` reads a model file back (safetensors weights and JSON only).

Data (frame.py, prepare.py): a long table (date, one or more series id columns, the quantity, optional drivers
known in advance such as promotions, prices or opening days). The frequency (daily, weekly, monthly) is detected,
missing dates are filled and reported, and every problem an analyst can fix is a `DataError` sentence.

Model (network.py): one MLP trained across all series (per-series scaling) on a window of past sales, calendar
features of the first forecast step and the known drivers over the lag window and the horizon; it outputs the
10%, 50% and 90% quantiles of each of the next H steps and is trained with the pinball loss through
`engine.training.fit_model`.

Backtest (fit.py, scores.py): rolling origin, `backtest_windows` non-overlapping windows of H steps at the end
of each series. The backtest network is trained only on data before the first origin (its scaling and driver
encoding too); each origin then sees the actuals up to itself and no further. Seasonal naive and AutoETS
(statsforecast, imported lazily) are scored on exactly the same windows. The network shown for the future is
refitted on the whole history.
"""
from engine.data import MAX_ROWS  # rows per upload: the reader's cap (a forecast cannot sample rows away)
from engine.forecast.choose import CHOICE, COMBO
from engine.forecast.config import ForecastConfig
from engine.forecast.fit import fit
from engine.forecast.frame import (MISSING_ID, SEP, ForecastColumns, Frequency, default_columns, detect_frequency,
                                   frequency_of, guess_columns, parse_dates, series_key, stock_from_column)
from engine.forecast.model import KIND, ForecastModel, load
from engine.forecast.network import QUANTILES, TOTAL_LEVELS, n_outputs
from engine.forecast.prepare import Panel, SeriesData, prepare
from engine.forecast.scores import BASELINES, ETS, METRIC_HELP, METRIC_LABELS, MODEL, SNAIVE, scores, seasonal_naive


SAMPLE = "online_retail_daily_product_units.csv"
QUICK = ForecastConfig(horizon=7, backtest_windows=1, hidden=(16,), max_epochs=3, ets=True, refit=True)

# the contract's names for the scenario's classes
Columns = ForecastColumns
Config = ForecastConfig
Model = ForecastModel

__all__ = ["BASELINES", "CHOICE", "COMBO", "Columns", "Config", "ETS", "ForecastColumns", "ForecastConfig", "ForecastModel", "Frequency",
           "KIND", "MAX_ROWS", "METRIC_HELP", "METRIC_LABELS", "MISSING_ID", "MODEL", "Model", "Panel", "QUANTILES",
           "QUICK", "SAMPLE", "SEP", "SNAIVE", "SeriesData", "TOTAL_LEVELS", "default_columns", "detect_frequency", "fit",
           "frequency_of", "guess_columns", "load", "n_outputs", "parse_dates", "prepare", "scores", "seasonal_naive",
           "series_key", "stock_from_column"]
