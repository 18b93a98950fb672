"""Fraud detection: rank transactions by how likely they are fraud, and pick the alert threshold from money.

Follows the scenario contract (engine/scenario.py): `fit(df, columns, config, progress, cancel)`
returns a `FraudModel` (a `Fitted`); `load(source)` reads a model file back (weights and JSON only).

Two modes:
- labelled (a fraud label is mapped): an MLP for heavily imbalanced data (class-weighted
  or focal loss); baselines on the same split: gradient boosting and logistic regression.
  An autoencoder is trained beside it without the labels, so the page can show what the
  labels buy.
- unlabelled: an autoencoder whose reconstruction error is the anomaly score; baseline
  an isolation forest. With a label present (mode "anomaly") the label is used only to
  measure how well the scores rank frauds.

Splits are stratified, or ordered by time when a time column is mapped (train on the
earliest transactions, test on the latest). The alert threshold is the cheapest by expected
cost (`best_threshold`, a pure function) on out-of-fold scores: every training row scored by
a model trained without it (`threshold_folds`), so the choice rests on all training rows rather
than a small validation slice: on the sample that slice put it at 0.49-0.56 where the held-out optimum was
0.01-0.12, and out-of-fold scores cut the cost above the hindsight optimum by 61% (bench/threshold.py). A bootstrap band shows how far it could still move. All metrics are on the
test rows.

The package, by responsibility: `spec` (names, columns, options, the metric help), `prepare` (reading and checking
the analyst's table), `networks` (the classifier's loss, the autoencoder and its trimmed loss), `model` (the fitted
`FraudModel`: scoring, reasons, thresholds from money, curves) and `fit` (training every model on one split).
Every public name is importable from `engine.fraud`, as before the split.
"""

from __future__ import annotations

from engine import evaluate  # noqa: F401 (read as fr.evaluate)
from engine.data import MAX_ROWS
from engine.evaluate import best_threshold, cost_curve, expected_cost  # the fraud page's names
from engine.fraud.fit import bootstrap_intervals, fit
from engine.fraud.model import MINUS, FraudModel, describe_value, format_number, load
from engine.fraud.networks import _error_score, _recon_errors, autoencoder, focal_loss, trimmed_mse
from engine.fraud.prepare import (
    OUTCOME_WORDS,
    TIME_WORDS,
    Prepared,
    default_columns,
    guess_fraud_value,
    label_values,
    prepare,
)
from engine.fraud.spec import (
    ABOUT,
    AE_REFERENCE,
    AT_THRESHOLD_KEYS,
    AUTOENCODER,
    CLASSIFIER,
    GRADIENT_BOOSTING,
    ISOLATION_FOREST,
    KIND,
    LABELLED_BASELINES,
    LOGISTIC,
    MAX_LABEL_VALUES_SHOWN,
    METRIC_HELP,
    MIN_FRAUDS,
    MIN_ROWS,
    REASON_ROWS_LIMIT,
    REFERENCE_MAX_ROWS,
    UNLABELLED_BASELINES,
    Costs,
    FraudColumns,
    FraudConfig,
    auto_batch_size,
)

# The contract's names (engine/scenario.py).
Columns, Config, Model = FraudColumns, FraudConfig, FraudModel
MODEL = CLASSIFIER
BASELINES = LABELLED_BASELINES + (AE_REFERENCE,)
SAMPLE = "creditcard_transactions.csv"
QUICK = FraudConfig(max_epochs=10, bootstrap=20)

__all__ = [
    "ABOUT",
    "AE_REFERENCE",
    "AT_THRESHOLD_KEYS",
    "AUTOENCODER",
    "BASELINES",
    "CLASSIFIER",
    "GRADIENT_BOOSTING",
    "ISOLATION_FOREST",
    "KIND",
    "LABELLED_BASELINES",
    "LOGISTIC",
    "MAX_LABEL_VALUES_SHOWN",
    "MINUS",
    "MAX_ROWS",
    "METRIC_HELP",
    "MIN_FRAUDS",
    "MIN_ROWS",
    "MODEL",
    "OUTCOME_WORDS",
    "QUICK",
    "REASON_ROWS_LIMIT",
    "REFERENCE_MAX_ROWS",
    "SAMPLE",
    "TIME_WORDS",
    "UNLABELLED_BASELINES",
    "Columns",
    "Config",
    "Costs",
    "FraudColumns",
    "FraudConfig",
    "FraudModel",
    "Model",
    "Prepared",
    "_error_score",
    "_recon_errors",
    "auto_batch_size",
    "autoencoder",
    "best_threshold",
    "bootstrap_intervals",
    "cost_curve",
    "default_columns",
    "describe_value",
    "expected_cost",
    "fit",
    "focal_loss",
    "format_number",
    "guess_fraud_value",
    "label_values",
    "load",
    "prepare",
    "trimmed_mse",
]
