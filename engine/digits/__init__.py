"""Digit recognizer: handwritten digits (28×28 grey images) in the Kaggle "Digit Recognizer" layout.

Verbs shared by every scenario: `fit(df, columns, config, progress, cancel, test_df=None)`
returns a `DigitModel` with `metrics` (the CNN's), `baseline_metrics` (the classic
784-128-10 MLP and a logistic regression, on the same held-out images), `history`,
`predict`, `explain`, `save`; `load(path)` reads it back (weights and JSON only).

An image is one row `label,pixel0..pixel783`: 0 is background, 255 is ink, row-major
(`pixelK` is row K // 28, column K % 28). Both networks read the 784 pixels scaled to 0–1.
`prepare_image` turns a drawing or a photo into such a row the way MNIST was made:
grayscale, ink made bright, cropped to the ink, scaled into 20×20, centred by its centre
of mass in 28×28.

The package, by responsibility: `spec` (names, columns, options), `networks` (the CNN and the MLP), `images`
(reading and checking a table of images), `pictures` (a drawing or a photo made into an image), `model` (the
fitted `DigitModel`: scoring, SHAP, what the page reads) and `fit` (training all three models on one split).
Every public name is importable from `engine.digits`, as before the split.
"""

from __future__ import annotations

from engine.digits.fit import article_note, augment, fit
from engine.digits.images import (
    Images,
    Prepared,
    labels_from_frame,
    pixel_columns,
    pixels_from_frame,
    prepare,
    read_images,
)
from engine.digits.model import METRIC_HELP, DigitModel, load, mean_abs_attribution, summary_metrics
from engine.digits.networks import DigitCNN, make_mlp
from engine.digits.pictures import ERASE_PARTS, nudge, prepare_image, read_image
from engine.digits.spec import (
    ARTICLE,
    BASELINES,
    DIGITS,
    KIND,
    LOGREG,
    MAX_IMAGE_PIXELS,
    MAX_ROWS,
    MIN_PER_CLASS,
    MIN_ROWS,
    MLP,
    MODEL,
    MODELS,
    N_PIXELS,
    PIXELS,
    SIDE,
    DigitColumns,
    DigitConfig,
    article_training,
    default_columns,
)
from engine.scenario import About, Decision

ABOUT = About(
    name=KIND,
    title="Digit recognizer",
    icon=":material/draw:",
    headline="accuracy",
    prefix="dg",
    purpose="Teach a network to read handwritten digits (MNIST or your own images): a CNN beside the classic MLP "
    "and a simple baseline, the digits it confuses, which pixels drove a reading — then draw a digit.",
    decision=Decision(lambda m: {"network": MLP}, lambda m, rows: m.predict(rows)),  # another reader
    data_parallel=True,
)

# The contract's names (engine/scenario.py).
Columns, Config, Model = DigitColumns, DigitConfig, DigitModel
SAMPLE = "mnist_train_500.csv"
QUICK = DigitConfig(cnn_epochs=2, mlp_epochs=3, augment=False)

__all__ = [
    "ABOUT",
    "ARTICLE",
    "BASELINES",
    "DIGITS",
    "ERASE_PARTS",
    "KIND",
    "LOGREG",
    "MAX_IMAGE_PIXELS",
    "MAX_ROWS",
    "METRIC_HELP",
    "MIN_PER_CLASS",
    "MIN_ROWS",
    "MLP",
    "MODEL",
    "MODELS",
    "N_PIXELS",
    "PIXELS",
    "QUICK",
    "SAMPLE",
    "SIDE",
    "Columns",
    "Config",
    "DigitCNN",
    "DigitColumns",
    "DigitConfig",
    "DigitModel",
    "Images",
    "Model",
    "Prepared",
    "article_note",
    "article_training",
    "augment",
    "default_columns",
    "fit",
    "labels_from_frame",
    "load",
    "make_mlp",
    "mean_abs_attribution",
    "nudge",
    "pixel_columns",
    "pixels_from_frame",
    "prepare",
    "prepare_image",
    "read_image",
    "read_images",
    "summary_metrics",
]
