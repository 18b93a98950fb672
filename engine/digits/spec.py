"""The digit recognizer's names, columns and options (the Kaggle "Digit Recognizer" layout: label, pixel0..pixel783)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from engine import options
from engine.options import option as _opt
from engine.options import validate
from engine.training import Callback, ReportProgress, StopOnNonFinite, TimeLimit, TrainConfig

KIND = "digits"
SIDE = 28
N_PIXELS = SIDE * SIDE
DIGITS = list(range(10))
PIXELS = [f"pixel{i}" for i in range(N_PIXELS)]
MODEL = "CNN"
MLP = "MLP (784-128-10)"
LOGREG = "Logistic regression"
BASELINES = (LOGREG, MLP)  # the first is the baseline every metric card is compared with
MODELS = (MODEL, MLP, LOGREG)
MIN_ROWS = 50
MIN_PER_CLASS = 5
MAX_ROWS = 100_000  # images per upload; a larger file is randomly sampled down
MAX_IMAGE_PIXELS = 40_000_000  # a photo larger than this is refused (decompression bombs)
PIXEL_NAME = re.compile(r"^pixel(\d+)$", re.IGNORECASE)
_LABEL_WORDS = ("label", "digit", "class", "target", "y")


@dataclass(frozen=True)
class DigitColumns:
    """Which column holds the digit (0–9). Pixels are pixel0..pixel783 (found automatically)."""

    label: str = "label"


def default_columns(df: pd.DataFrame) -> DigitColumns:
    lowered = {str(c).strip().lower(): c for c in df.columns}
    for word in _LABEL_WORDS:
        if word in lowered:
            return DigitColumns(label=str(lowered[word]))
    non_pixel = [c for c in df.columns if not PIXEL_NAME.match(str(c))]
    return DigitColumns(label=str(non_pixel[0]) if non_pixel else "label")


@dataclass(frozen=True)
class DigitConfig:
    """Analyst-facing options; the defaults work on the MNIST sample."""

    cnn_epochs: int = _opt(
        15,
        "Most passes of the CNN over the training images (it stops earlier once it stops improving).",
        min=1,
        max=200,
        label="Most CNN epochs",
    )
    mlp_epochs: int = _opt(
        30, "Most passes of the MLP over the training images.", min=1, max=500, label="Most MLP epochs"
    )
    augment: bool = _opt(
        True,
        "Also show the CNN a slightly shifted, turned and resized copy of every training image: "
        "twice the training time, fewer mistakes (on the MNIST sample about half), and steadier on drawn digits.",
    )
    channels: int = _opt(
        16,
        "Filters in the CNN's first layer (the second has twice as many): more is slower and can learn finer strokes.",
        choices=(4, 8, 16, 32, 64, 128),
        label="CNN filters",
    )
    batch_size: int = _opt(
        128,
        "Images per training step (smaller for small files, so every pass still makes about 50 steps).",
        min=16,
        max=4096,
    )
    lr: float = _opt(2e-3, "Learning rate: the step size of training.", min=1e-5, max=0.1)
    weight_decay: float = options.weight_decay(1e-4)
    patience: int = _opt(4, "Passes without improvement before a network stops early.", min=1, max=100)
    test_fraction: float = _opt(
        0.2,
        "Share of your images held out to measure the models (used only without a separate test file).",
        min=0.05,
        max=0.5,
        step=0.05,
        label="Held-out share",
    )
    val_fraction: float = _opt(0.1, "Share of the training images used to decide when to stop.", min=0.05, max=0.4)
    article_recipe: bool = _opt(
        False,
        "Train the MLP exactly as the source article does: 784-128-10, plain Adam "
        "(learning rate 0.001, no weight decay), 10 epochs, batch 128, 10% of the training "
        "images for validation, no early stopping and no learning-rate schedule. "
        "The article reports about 98% on the full MNIST (60,000 training images).",
        label="The article's recipe for the MLP",
    )
    seed: int = options.seed()
    max_seconds: float = options.max_seconds(600.0)

    def __post_init__(self):
        validate(self)

    def train_config(self, epochs: int, n_train: int) -> TrainConfig:
        batch = min(self.batch_size, max(16, n_train // 50))
        return TrainConfig(
            max_epochs=epochs,
            batch_size=batch,
            lr=self.lr,
            weight_decay=self.weight_decay,
            patience=self.patience,
            lr_patience=max(1, self.patience // 2),
            seed=self.seed,
            max_seconds=self.max_seconds,
        )


# The source article's one concrete system: the MLP 784-128-10 with plain Adam, exactly these settings.
ARTICLE: dict[str, Any] = dict(epochs=10, batch_size=128, lr=1e-3, val_fraction=0.1, reported_accuracy=0.98)


def article_training(config: DigitConfig, progress: Any = None) -> tuple[TrainConfig, list[Callback]]:
    """The article's recipe as a loop: 10 epochs of plain Adam at batch 128, no early stopping (the last epoch's
    weights are kept), no schedule; only the non-finite guard, progress and the server's time limit remain."""
    loop = TrainConfig(
        max_epochs=ARTICLE["epochs"],
        batch_size=ARTICLE["batch_size"],
        lr=ARTICLE["lr"],
        weight_decay=0.0,
        seed=config.seed,
        max_seconds=config.max_seconds,
    )
    return loop, [StopOnNonFinite(), *([ReportProgress(progress)] if progress is not None else []), TimeLimit()]
