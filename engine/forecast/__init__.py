"""Demand forecast: one global neural forecaster over many series, an honest backtest, reorder quantities.

Follows the scenario contract (engine/scenario.py): `fit(df, columns, config, progress, cancel)` returns a
`ForecastModel` (a `Fitted`) with `metrics`, `baseline_metrics`, `history`, `timings`, `notes`; `predict(df)`
forecasts the next H steps of each series of a newer history; `explain(df, output)` gives SHAP per group of
inputs; `load(source)` reads a model file back (safetensors weights and JSON only).

Data (frame.py, prepare.py): a long table (date, one or more series id columns, the quantity, optional drivers
known in advance such as promotions, prices or opening days). The frequency (daily, weekly, monthly) is detected,
missing dates are filled and reported, and every problem an analyst can fix is a `DataError` sentence.

Model (network.py): one MLP trained across all series on a look-back window of past sales, calendar features of
the first forecast step and the known drivers over the look-back and the horizon; it outputs the 10%, 50% and 90%
quantiles of each of the next H steps and of the running total (pinball loss through `engine.training.fit_model`).
Why this shape (from the literature): it is the N-BEATS recipe without the stacks — a global model shared by every
series, each series scaled by its own mean (so short and long, small and large series teach one network), inputs
and targets on a log scale, and a look-back tied to the frequency (four weeks of days, a year of weeks, two years of
months; shortened with a note when the history is short). A global model learns from the whole panel, which is
what lets it forecast a series with one or two years of weekly data at all; drivers and quantiles fit in as
extra inputs and outputs, which an ES-RNN hybrid would make harder to keep. On top of the series' mean, each
window is read relative to its own recent level (`ForecastNet`: a week of days, the last week or month), the
level subtracted from the lags and added back to every output, as DeepAR scales each window by its context and
ARIMA differences a trending series: the layers learn the change from the level, which is what held up on short
weekly and monthly histories (bench/forecast.py: the network alone went from 1.17× and 2.56× AutoETS's error on
weekly Online Retail and monthly Rossmann to at or below it). The 80% band and the running-total levels are then
calibrated step by step on the validation windows (`calibrate`, conformalised quantile regression), so coverage
stays near 80% whatever the level does to the spread.

Choice (choose.py): no single method wins everywhere (M4: Comb and ES-RNN; M5: only a third of teams beat
seasonal naive). The backtest scores the network, AutoETS, seasonal naive and their combination on the same
windows and the page uses the best — per series when there are two or more windows and a method is clearly
better there, otherwise the overall best — with its interval and reorder totals, and says which and why in one
sentence. The network alone is still reported (`network_metrics`, the `network` columns of the forecast).

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
from engine.forecast.frame import (
    MISSING_ID,
    SEP,
    ForecastColumns,
    Frequency,
    default_columns,
    detect_frequency,
    frequency_of,
    guess_columns,
    parse_dates,
    series_key,
    stock_from_column,
)
from engine.forecast.model import ABOUT, KIND, ForecastModel, load
from engine.forecast.network import QUANTILES, TOTAL_LEVELS, n_outputs
from engine.forecast.prepare import Panel, SeriesData, prepare
from engine.forecast.scores import BASELINES, ETS, METRIC_HELP, METRIC_LABELS, MODEL, SNAIVE, scores, seasonal_naive

SAMPLE = "online_retail_daily_product_units.csv"
QUICK = ForecastConfig(horizon=7, backtest_windows=1, hidden=(16,), max_epochs=3, ets=True, refit=True)

# the contract's names for the scenario's classes
Columns = ForecastColumns
Config = ForecastConfig
Model = ForecastModel

__all__ = [
    "ABOUT",
    "BASELINES",
    "CHOICE",
    "COMBO",
    "Columns",
    "Config",
    "ETS",
    "ForecastColumns",
    "ForecastConfig",
    "ForecastModel",
    "Frequency",
    "KIND",
    "MAX_ROWS",
    "METRIC_HELP",
    "METRIC_LABELS",
    "MISSING_ID",
    "MODEL",
    "Model",
    "Panel",
    "QUANTILES",
    "QUICK",
    "SAMPLE",
    "SEP",
    "SNAIVE",
    "SeriesData",
    "TOTAL_LEVELS",
    "default_columns",
    "detect_frequency",
    "fit",
    "frequency_of",
    "guess_columns",
    "load",
    "n_outputs",
    "parse_dates",
    "prepare",
    "scores",
    "seasonal_naive",
    "series_key",
    "stock_from_column",
]
