"""The analyst's options (engine.options metadata: one place for help, limits and widget labels)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine import options
from engine.options import option as _opt
from engine.options import validate
from engine.training import TrainConfig


@dataclass(frozen=True)
class ForecastConfig:
    """Analyst-facing options; defaults work on the sample data."""

    horizon: int = _opt(
        14, "How many steps (days, weeks or months) ahead to forecast.", min=1, max=366, label="Forecast horizon"
    )
    backtest_windows: int = _opt(
        3,
        "How many past periods of one horizon each to test the forecasts on. "
        "More windows: a steadier verdict, longer training.",
        min=1,
        max=12,
        label="Backtest windows",
    )
    lags: int = _opt(
        0,
        "How many past steps the network looks at (0: a month of days, a year of weeks, two years of months).",
        min=0,
        max=400,
        label="Look-back (0 = automatic)",
    )
    hidden: tuple[int, ...] = _opt((256, 128), "Neurons in each hidden layer of the network.")
    dropout: float = options.dropout(0.1)
    lr: float = _opt(2e-3, "Learning rate: the step size of training.", min=1e-5, max=0.1, label="Learning rate")
    weight_decay: float = _opt(
        1e-4, "How strongly large weights are penalised (regularisation).", min=0.0, max=0.1, label="Weight decay"
    )
    max_epochs: int = options.max_epochs(150, low=2)
    batch_size: int = _opt(
        256,
        "Training windows per step (at least; more when there are many windows).",
        min=16,
        max=65536,
        label="Batch size",
    )
    patience: int = _opt(
        15, "Passes without improvement before training stops early.", min=2, max=200, label="Patience"
    )
    seed: int = options.seed()
    max_seconds: float = _opt(
        300.0, "Time limit for training each network, in seconds.", min=5, max=3600, label="Time limit (s)"
    )
    refit: bool = _opt(
        True,
        "After the backtest, train the network again on the whole history for the future forecast.",
        label="Refit on the whole history for the future",
    )
    ets: bool = _opt(
        True, "Also fit exponential smoothing (AutoETS) per series as a second baseline.", label="AutoETS baseline"
    )
    ets_max_series: int = _opt(
        300,
        "Skip the AutoETS baseline above this many series (it fits one model per series and window).",
        min=1,
        label="Most series for AutoETS",
    )
    max_train_windows: int = _opt(
        300_000,
        "Most training windows used (a random sample of them above that).",
        min=1000,
        label="Most training windows",
    )

    def __post_init__(self):
        validate(self)

    def train_config(
        self, n_windows: int = 0, max_epochs: int | None = None, patience: int | None = None
    ) -> TrainConfig:
        """Batches grow with the data so an epoch stays at most ~256 steps (many series train in minutes, not hours),
        and shrink for small data so an epoch still makes at least ~16 steps."""
        batch = min(max(self.batch_size, math.ceil(n_windows / 256)), max(32, n_windows // 16))
        return TrainConfig(
            max_epochs=max_epochs or self.max_epochs,
            batch_size=batch,
            lr=self.lr,
            weight_decay=self.weight_decay,
            patience=patience or self.patience,
            seed=self.seed,
            max_seconds=self.max_seconds,
        )
