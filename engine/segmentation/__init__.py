"""Retail segmentation: customers grouped by k-means, written in torch, beside scikit-learn's KMeans.

Follows the scenario contract (engine/scenario.py): `fit(df, columns, config, progress, cancel)` returns a
`SegmentationModel` (a `Fitted`) with `predict(df)`, `explain(df, output=None)`, `score(df, reasons=3)` and
`decide(names=[...])`; `load(source)` reads a model file back (tensors and JSON only).

Two input shapes. *Transactions* (invoice lines: customer, date, quantity, unit price, optional
invoice number) are turned into one row per customer: recency, frequency, monetary value,
tenure, average basket and return rate (RFM+). A *customer table* (one row per customer) is
used as it is. Skewed non-negative columns go on a log scale, then everything is scaled by
`engine.tabular.Preprocessor`.

The package, along its seams: `spec` (columns, options, role guessing), `prepare` (file → one row per
customer), `clustering` (torch k-means, silhouette, elbow), `naming` (segment names and actions), `model`
(the fitted model and its explained soft assignment), `fit`, `whatif` (one customer's changed values → the
segment they move to, and why).
"""

from __future__ import annotations

from engine.segmentation.clustering import KMeansResult, elbow_index, kmeans, silhouette_scores
from engine.segmentation.fit import fit
from engine.segmentation.model import SegmentationModel, SoftAssignment
from engine.segmentation.naming import RFM_ACTIONS, name_segments, rfm_name
from engine.segmentation.prepare import Prepared, customer_table, prepare, transactions_to_customers
from engine.segmentation.spec import (
    ABOUT,
    BASELINE,
    BASELINES,
    BASKET,
    CUSTOMERS,
    FEATURE_HELP,
    FREQUENCY,
    K_LIMIT,
    KIND,
    MAX_ROWS,
    MODEL,
    MONETARY,
    RECENCY,
    RETURNS,
    RFM_FEATURES,
    TENURE,
    TRANSACTIONS,
    SegmentationColumns,
    SegmentationConfig,
    default_columns,
    guess_columns,
    guess_roles,
)
from engine.segmentation.whatif import SegmentMove, centre_values, input_plans, what_if

Columns, Config, Model = SegmentationColumns, SegmentationConfig, SegmentationModel
SAMPLE = "mall_customers.csv"
QUICK = SegmentationConfig(k_max=5, restarts=3, scan_restarts=2)
load = SegmentationModel.from_bytes

__all__ = [
    "ABOUT",
    "BASELINE",
    "BASELINES",
    "BASKET",
    "CUSTOMERS",
    "Columns",
    "Config",
    "FEATURE_HELP",
    "FREQUENCY",
    "KIND",
    "KMeansResult",
    "K_LIMIT",
    "MAX_ROWS",
    "MODEL",
    "MONETARY",
    "Model",
    "Prepared",
    "QUICK",
    "RECENCY",
    "RETURNS",
    "RFM_ACTIONS",
    "RFM_FEATURES",
    "SAMPLE",
    "SegmentMove",
    "SegmentationColumns",
    "SegmentationConfig",
    "SegmentationModel",
    "SoftAssignment",
    "TENURE",
    "TRANSACTIONS",
    "centre_values",
    "customer_table",
    "default_columns",
    "elbow_index",
    "fit",
    "guess_columns",
    "guess_roles",
    "input_plans",
    "kmeans",
    "load",
    "name_segments",
    "prepare",
    "rfm_name",
    "silhouette_scores",
    "transactions_to_customers",
    "what_if",
]
