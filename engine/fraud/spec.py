"""Fraud detection's names, columns and options: what the page, the model file and the contract read."""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine import binary, options
from engine.options import option as _opt
from engine.options import validate
from engine.scenario import About, Decision
from engine.training import TrainConfig

KIND = "fraud"
CLASSIFIER = "Neural network"
AUTOENCODER = "Autoencoder"
GRADIENT_BOOSTING, LOGISTIC = binary.GRADIENT_BOOSTING, binary.LOGISTIC
ISOLATION_FOREST = "Isolation forest"
AE_REFERENCE = "Autoencoder (labels unused)"
LABELLED_BASELINES = (GRADIENT_BOOSTING, LOGISTIC)
UNLABELLED_BASELINES = (ISOLATION_FOREST,)
MIN_ROWS = 50
MIN_FRAUDS = 10
MAX_LABEL_VALUES_SHOWN = 6
REFERENCE_MAX_ROWS = 200_000  # the label-free reference autoencoder trains on at most this many rows
REASON_ROWS_LIMIT = 5000  # batch scoring explains at most this many flagged rows
ABOUT = About(
    name=KIND,
    title="Fraud detection",
    icon=":material/policy:",
    headline="auprc",
    prefix="fr",
    purpose="Rank transactions by fraud risk — learning from known frauds, or spotting unusual ones without "
    "labels — pick the alert threshold from what mistakes cost you, and see why each one is flagged.",
    decision=Decision(lambda m: {"threshold": 0.0}, lambda m, rows: m.predict(rows)["flagged"]),
    data_parallel=True,
    subgroups=True,
    capacity=True,
)


@dataclass(frozen=True)
class FraudColumns:
    """Which column is the fraud label (optional), the amount, the time, and the features."""

    label: str | None
    features: tuple[str, ...]
    amount: str | None = None
    time: str | None = None
    fraud_value: str | None = None  # the label value meaning fraud; None: guessed ("1", "fraud", "yes", else the rarer)


@dataclass(frozen=True)
class FraudConfig:
    """Analyst-facing options; defaults work on the sample data."""

    mode: str = _opt(
        "auto",
        "Which detector to train: 'auto' learns from the fraud label when one is mapped, "
        "'anomaly' ignores the label and looks for unusual transactions (the label then only "
        "measures how well that worked).",
        choices=("auto", "anomaly"),
    )
    loss: str = _opt(
        "weighted",
        "How the network copes with rare frauds: 'weighted' counts each fraud as much as all "
        "genuine rows together; 'focal' concentrates on the hard cases.",
        choices=("weighted", "focal"),
    )
    hidden: tuple[int, ...] = _opt((32, 16), "Neurons in each hidden layer of the network.")
    dropout: float = options.dropout(0.3)
    weight_decay: float = options.weight_decay(1e-3)
    lr: float = _opt(3e-3, "Learning rate: the step size of training.", min=1e-5, max=0.1)
    max_epochs: int = options.max_epochs(150)
    batch_size: int = _opt(0, "Rows per training step; 0 picks one from the table size.", min=0, max=65536)
    patience: int = _opt(20, "Passes without improvement before training stops early.", min=3, max=200)
    bottleneck: int = _opt(
        4, "Autoencoder: size of the squeezed middle layer (smaller finds coarser anomalies).", min=2, max=64
    )
    trim: float = _opt(
        0.25,
        "Autoencoder: share of the worst-rebuilt rows in each training step that it ignores, so "
        "frauds hidden in the data do not teach it to rebuild them.",
        min=0.0,
        max=0.5,
    )
    test_fraction: float = options.test_fraction(0.25)
    val_fraction: float = _opt(0.2, "Share of the training rows used to stop training early.", min=0.1, max=0.4)
    threshold_folds: int = options.threshold_folds()
    compare_unlabelled: bool = _opt(
        True, "With a label, also train the autoencoder without it, to show what the labels buy."
    )
    seed: int = options.seed()
    bootstrap: int = options.bootstrap()
    max_seconds: float = options.max_seconds(300.0)

    def __post_init__(self):
        validate(self)

    def train_config(self, n_train: int) -> TrainConfig:
        return TrainConfig.of(self, batch_size=self.batch_size or auto_batch_size(n_train))


def auto_batch_size(n_train: int) -> int:
    """64 rows for small tables, growing so an epoch stays near 200 steps, at most 4,096."""
    if n_train <= 12_800:
        return 64
    return int(min(4096, 2 ** round(math.log2(n_train / 200))))


# What a false alarm's review and a missed fraud (fixed, or the transaction's amount) cost: the yes/no base's Costs.
Costs = binary.Costs
AT_THRESHOLD_KEYS = ("precision", "recall", "f1", "tp", "fp", "fn", "tn", "alerts_per_1000")  # what the page shows


METRIC_HELP = {
    **binary.metric_help("transactions", "frauds", rare=True),
    "precision": "Precision: of the transactions flagged at the chosen threshold, the share that really are fraud.",
    "recall": "Recall: of all frauds, the share flagged at the chosen threshold.",
    "f1": "F1: one number balancing precision and recall at the chosen threshold (their harmonic mean); 1 is perfect.",
    "cost_per_1000": "Expected cost per 1,000 transactions at the threshold: false alarms times their review cost "
    "plus what the missed frauds cost.",
    "alerts_per_1000": "How many of every 1,000 transactions are flagged for review at the threshold.",
    "threshold": "The score at or above which a transaction is flagged.",
}
