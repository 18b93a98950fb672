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
Every score lies in [0, 1]; higher means more suspicious.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, ClassVar, Sequence

import numpy as np
import pandas as pd
import torch
from sklearn.ensemble import HistGradientBoostingClassifier, IsolationForest
from sklearn.linear_model import LogisticRegression
from torch import nn

from engine import binary, evaluate, options, roles
from engine.binary import weighted_bce
from engine.data import MAX_ROWS, DataError, check_finite
from engine.evaluate import best_threshold, cost_curve, expected_cost  # noqa: F401 (the fraud page's names)
from engine.options import option as _opt
from engine.options import validate
from engine.scenario import About, Decision, Fitted
from engine.explain import Explanation, deep_explain
from engine.models import TabularMLP, tabular_network
from engine.tabular import Preprocessor
from engine.training import (History, LossFn, Progress, TrainConfig, as_tensor, fit_model, model_device, predict_batched,
                             seed_everything)

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
_FRAUD_WORDS = ("1", "fraud", "fraudulent", "yes", "y", "true", "t", "positive", "bad", "chargeback", "suspicious")
_QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
MINUS = "\u2212"
ABOUT = About(
    name=KIND, title="Fraud detection", icon=":material/policy:", headline="auprc", prefix="fr",
    purpose="Rank transactions by fraud risk — learning from known frauds, or spotting unusual ones without "
            "labels — pick the alert threshold from what mistakes cost you, and see why each one is flagged.",
    decision=Decision(lambda m: {"threshold": 0.0}, lambda m, rows: m.predict(rows)["flagged"]),
    data_parallel=True, subgroups=True, capacity=True)


# ----------------------------------------------------------------------------- roles and options


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

    mode: str = _opt("auto", "Which detector to train: 'auto' learns from the fraud label when one is mapped, "
                     "'anomaly' ignores the label and looks for unusual transactions (the label then only "
                     "measures how well that worked).", choices=("auto", "anomaly"))
    loss: str = _opt("weighted", "How the network copes with rare frauds: 'weighted' counts each fraud as much as all "
                     "genuine rows together; 'focal' concentrates on the hard cases.", choices=("weighted", "focal"))
    hidden: tuple[int, ...] = _opt((32, 16), "Neurons in each hidden layer of the network.")
    dropout: float = options.dropout(0.3)
    weight_decay: float = options.weight_decay(1e-3)
    lr: float = _opt(3e-3, "Learning rate: the step size of training.", min=1e-5, max=0.1)
    max_epochs: int = options.max_epochs(150)
    batch_size: int = _opt(0, "Rows per training step; 0 picks one from the table size.", min=0, max=65536)
    patience: int = _opt(20, "Passes without improvement before training stops early.", min=3, max=200)
    bottleneck: int = _opt(4, "Autoencoder: size of the squeezed middle layer (smaller finds coarser anomalies).", min=2, max=64)
    trim: float = _opt(0.25, "Autoencoder: share of the worst-rebuilt rows in each training step that it ignores, so "
                       "frauds hidden in the data do not teach it to rebuild them.", min=0.0, max=0.5)
    test_fraction: float = options.test_fraction(0.25)
    val_fraction: float = _opt(0.2, "Share of the training rows used to stop training early.", min=0.1, max=0.4)
    threshold_folds: int = options.threshold_folds()
    compare_unlabelled: bool = _opt(True, "With a label, also train the autoencoder without it, to show what the labels buy.")
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


# ----------------------------------------------------------------------------- reading the analyst's table


label_values = roles.label_values
OUTCOME_WORDS = ("class", "is_fraud", "isfraud", "fraud", "label", "target", "fraud_flag", "is_fraudulent", "y")
TIME_WORDS = ("time", "timestamp", "datetime", "date", "trans_date_trans_time", "transaction_time", "unix_time", "step")


def guess_fraud_value(values: Sequence[str], counts: pd.Series | None = None) -> str | None:
    """'1', 'fraud', 'yes', … if present, else the rarer of two values."""
    return roles.positive_value(values, counts if counts is not None and len(counts) == 2 else None, _FRAUD_WORDS)


def default_columns(df: pd.DataFrame) -> FraudColumns:
    """Sensible defaults (engine.roles): a label named like one (`Class`, `FraudFound_P`), an amount and a time
    column by name; identifiers (`PolicyNumber`) and dates are never features."""
    label = roles.outcome(df, OUTCOME_WORDS, max_values=20, fallback=False).column
    amount = roles.by_name(df, ("amount", "amt"), exclude=[label], what="amount").column
    time = roles.by_name(df, TIME_WORDS, exclude=[label], what="time").column
    return FraudColumns(label=label, features=roles.features(df, exclude=[label, time]), amount=amount, time=time)


@dataclass
class Prepared:
    df: pd.DataFrame  # the feature columns of the rows kept
    features: list[str]
    y: np.ndarray | None  # 1 = fraud, 0 = genuine; None without a label
    fraud_value: str | None
    genuine_value: str | None
    amount: np.ndarray | None
    time: np.ndarray | None  # sortable numbers (seconds or ns since epoch)
    rows: np.ndarray  # positions in the analyst's table
    notes: list[str]


def _amounts(df: pd.DataFrame, col: str, notes: list[str]) -> np.ndarray:
    s = df[col]
    x = pd.to_numeric(s, errors="coerce") if not pd.api.types.is_bool_dtype(s) else s.astype(float)
    bad = x.isna() & s.notna()
    if pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s):
        bad = bad | (s.astype("string").str.strip() == "")
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"The amount column '{col}' should hold numbers but has text such as '{s.iloc[first]}' "
            f"(data row {first + 1:,}; {int(bad.sum()):,} cell(s) in all). Write amounts as plain numbers without "
            "currency signs or thousands separators (1809.50, not '€1,809.50'), or pick no amount column."
        )
    x = x.to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(x).any():
        raise DataError(f"The amount column '{col}' has infinite values. Replace them with the real amounts.")
    neg = np.flatnonzero(x < 0)
    if len(neg):
        raise DataError(
            f"The amount column '{col}' has {len(neg):,} negative value(s) (the first, {x[neg[0]]:,.2f}, in data row "
            f"{neg[0] + 1:,}). Amounts must be zero or more: remove refunds and reversals from the file, or pick no "
            "amount column."
        )
    missing = np.isnan(x)
    if missing.all():
        raise DataError(f"The amount column '{col}' is empty in every row. Pick another amount column, or none.")
    if missing.any():
        med = float(np.nanmedian(x))
        notes.append(f"{int(missing.sum()):,} row(s) have no amount in '{col}'; their amount was taken as the median "
                     f"({med:,.2f}) when costing a missed fraud.")
        x = np.where(missing, med, x)
    return x


def _times(df: pd.DataFrame, col: str) -> np.ndarray:
    s = df[col]
    if pd.api.types.is_bool_dtype(s):
        raise DataError(f"The time column '{col}' holds yes/no values, not times. Pick a date/time column, or none.")
    if pd.api.types.is_numeric_dtype(s):
        x = s.to_numpy(dtype=float, na_value=np.nan)
        if np.isinf(x).any():
            raise DataError(f"The time column '{col}' has infinite values. Replace them with real times.")
        return x
    if pd.api.types.is_datetime64_any_dtype(s):
        t = pd.to_datetime(s)
    else:
        text = s.astype("string").str.strip()
        t = pd.to_datetime(text, errors="coerce", format="mixed")
        bad = t.isna() & text.notna() & (text != "")
        if bad.any():
            first = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"The time column '{col}' has {int(bad.sum()):,} value(s) that are not dates or times, such as "
                f"'{s.iloc[first]}' (data row {first + 1:,}). Write every time in one format such as "
                "2024-03-31 14:05, or pick no time column (the split is then random)."
            )
    if getattr(t.dt, "tz", None) is not None:
        t = t.dt.tz_convert("UTC").dt.tz_localize(None)
    ns = t.astype("datetime64[ns]").to_numpy().astype("int64").astype(float)
    ns[t.isna().to_numpy()] = np.nan
    return ns


def prepare(df: pd.DataFrame, columns: FraudColumns, config: FraudConfig | None = None) -> Prepared:
    """Check the table against the chosen columns; DataError with a sentence if it cannot work."""
    config = config or FraudConfig()
    notes: list[str] = []
    for role, col in (("label", columns.label), ("amount", columns.amount), ("time", columns.time)):
        if col is not None and col not in df.columns:
            raise DataError(f"The {role} column '{col}' is not in your file. Pick one of its columns, or none.")
    if columns.amount is not None and columns.amount == columns.label:
        raise DataError("The same column is picked as the fraud label and the amount. Pick a different amount column.")
    if columns.time is not None and columns.time in (columns.label, columns.amount):
        raise DataError(f"'{columns.time}' is picked as the time column and for another role. Pick a different time column.")
    features = [f for f in dict.fromkeys(columns.features) if f not in (columns.label, columns.time)]
    if columns.time is not None and columns.time in columns.features:
        notes.append(f"'{columns.time}' orders the split (train on earlier, test on later transactions); "
                     "it is not used as a feature.")
    absent = [f for f in features if f not in df.columns]
    if absent:
        raise DataError(f"Feature column(s) {', '.join(map(repr, absent))} are not in your file. Pick features from its columns.")
    if not features:
        hint = (" Only one column was found: if your file uses another separator (such as spaces), save it as "
                "comma-separated." if df.shape[1] == 1 else "")
        raise DataError("Pick at least one feature column (besides the label and the time)." + hint)

    keep = np.ones(len(df), dtype=bool)
    labels = None
    if columns.label is not None:
        labels = roles.label_text(df[columns.label])
        n_missing = int(labels.isna().sum())
        if n_missing == len(df):
            raise DataError(f"The label column '{columns.label}' is empty in every row. Fill it in (fraud or genuine), "
                            "or pick no label to look for unusual transactions instead.")
        if n_missing:
            notes.append(f"Dropped {n_missing:,} row(s) whose label '{columns.label}' is empty.")
        keep &= labels.notna().to_numpy()
    times = None
    if columns.time is not None:
        times = _times(df, columns.time)
        no_time = np.isnan(times) & keep
        if no_time.all():
            raise DataError(f"The time column '{columns.time}' is empty. Pick another time column, or none.")
        if no_time.any():
            notes.append(f"Dropped {int(no_time.sum()):,} row(s) with no time in '{columns.time}'.")
        keep &= ~np.isnan(times)
    rows = np.flatnonzero(keep)
    if len(rows) > MAX_ROWS:
        rng = np.random.default_rng(config.seed)
        rows = np.sort(rng.choice(rows, size=MAX_ROWS, replace=False))
        notes.append(f"Your table has {int(keep.sum()):,} usable rows, more than the {MAX_ROWS:,} this page trains on: "
                     f"it used a random sample of {MAX_ROWS:,} rows (the fraud rate stays as in your file).")
    if len(rows) < MIN_ROWS:
        raise DataError(f"Only {len(rows):,} usable row(s); at least {MIN_ROWS} transactions are needed to train a "
                        "model and still keep some aside to test it honestly. Add more rows.")

    y = fraud = genuine = None
    if labels is not None:
        lab = labels.iloc[rows]
        counts = lab.value_counts()
        values = sorted(counts.index.astype(str), key=lambda c: (len(c), c))
        name = columns.label
        if len(values) > 2:
            shown = ", ".join(f"'{v}'" for v in values[:MAX_LABEL_VALUES_SHOWN]) + ("…" if len(values) > MAX_LABEL_VALUES_SHOWN else "")
            raise DataError(
                f"The label column '{name}' has {len(values):,} different values ({shown}); it must have exactly two: "
                "fraud and genuine (such as 1/0 or yes/no). Merge the values into two, pick another label column, "
                "or pick no label to look for unusual transactions."
            )
        fraud = columns.fraud_value if columns.fraud_value is not None else guess_fraud_value(values, counts)
        if len(values) == 1:  # decided by the value's meaning: a page preselects the only value whatever it is
            only = values[0]
            if guess_fraud_value(values) == only:
                raise DataError(
                    f"Every row of '{name}' is marked as fraud ('{only}'), so there are no genuine transactions to "
                    "learn the difference from. Add genuine transactions to the file."
                )
            raise DataError(
                f"No row of '{name}' is marked as fraud: every row has the value '{only}'. A model cannot learn fraud "
                "without examples of it. Check that the fraud rows are in the file, or pick no label to look for "
                "unusual transactions instead."
            )
        if fraud is None or str(fraud) not in values:
            raise DataError(f"'{fraud}' is not a value of '{name}'. Pick which value means fraud: "
                            f"{' or '.join(repr(v) for v in values)}.")
        fraud = str(fraud)
        genuine = next(v for v in values if v != fraud)
        y = (lab == fraud).to_numpy().astype(np.int64)
        n_fraud, n_genuine = int(y.sum()), int(len(y) - y.sum())
        if n_fraud < MIN_FRAUDS:
            raise DataError(
                f"Only {n_fraud} row(s) of '{name}' are fraud ('{fraud}'); at least {MIN_FRAUDS} are needed to learn "
                "from some and test on others. Add more known frauds, or pick no label to look for unusual "
                "transactions."
            )
        if n_genuine < MIN_FRAUDS:
            raise DataError(
                f"Only {n_genuine} row(s) of '{name}' are genuine ('{genuine}') and the rest are fraud; at least "
                f"{MIN_FRAUDS} genuine transactions are needed. Add genuine transactions, or check which value means fraud."
            )
    sub = df.iloc[rows]
    check_finite(sub, features)
    amount = _amounts(sub, columns.amount, notes) if columns.amount is not None else None
    return Prepared(
        df=sub[features].reset_index(drop=True), features=features, y=y, fraud_value=fraud, genuine_value=genuine,
        amount=amount, time=times[rows] if times is not None else None, rows=rows, notes=notes,
    )


# ----------------------------------------------------------------------------- models


def focal_loss(gamma: float = 2.0, alpha: float = 0.5):
    """Binary focal loss on logits (Lin et al. 2017): down-weights the easy, well-classified rows."""

    def loss_fn(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        y = y.float()
        bce = nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none")
        p_t = torch.exp(-bce)
        a_t = alpha * y + (1 - alpha) * (1 - y)
        return (a_t * (1 - p_t) ** gamma * bce).mean()

    return loss_fn


def trimmed_mse(trim: float):
    """Mean squared reconstruction error over the best-rebuilt (1 - trim) share of the batch's rows.

    Unlabelled data hold the frauds too; ignoring the worst-rebuilt rows keeps the autoencoder
    from learning to rebuild them (a robust autoencoder), which lifts AUPRC on the sample from
    ~0.3 to ~0.75 (stratified split).
    """

    def loss_fn(out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        err = ((out - x) ** 2).mean(dim=1)
        if trim > 0 and len(err) > 1:
            err = torch.topk(err, max(1, int(round((1 - trim) * len(err)))), largest=False, sorted=False).values
        return err.mean()

    return loss_fn


def autoencoder(n_in: int, bottleneck: int) -> TabularMLP:
    """An MLP that squeezes the row through a narrow middle layer and rebuilds it."""
    width = max(2 * bottleneck, min(64, 2 * n_in))
    return TabularMLP(n_in, n_in, (width, bottleneck, width), dropout=0.0)


@torch.no_grad()
def _recon_errors(net: nn.Module, X: np.ndarray, batch: int = 65536) -> np.ndarray:
    """Mean squared reconstruction error per row, computed on the model's device in chunks."""
    device = model_device(net)
    out = []
    for start in range(0, len(X), batch):
        xb = as_tensor(X[start : start + batch], device, torch.float32)
        rec = predict_batched(net, xb)
        out.append(((rec - xb) ** 2).mean(dim=1).cpu().numpy())
    return np.concatenate(out) if out else np.empty(0)


def _error_score(err: np.ndarray, ref: float) -> np.ndarray:
    """Reconstruction error → (0, 1): 0.5 where the error equals the 95th percentile of training rows."""
    return err / (err + ref)


def _train_autoencoder(X, train, val, config: FraudConfig, progress, cancel) -> tuple[TabularMLP, History, float]:
    net = autoencoder(X.shape[1], config.bottleneck)
    history = fit_model(net, (X[train], X[train]), (X[val], X[val]), trimmed_mse(config.trim), config.train_config(len(train)),
                        progress=progress, cancel=cancel)
    ref = float(np.quantile(_recon_errors(net, X[train]), 0.95)) or 1e-12
    return net, history, ref




def format_number(v: float) -> str:
    """1,809 · −9.2 · 0.53 — with a real minus sign."""
    if v is None or not np.isfinite(v):
        return "missing"
    a = abs(v)
    text = f"{a:,.0f}" if a >= 100 else f"{a:.1f}" if a >= 1 else f"{a:.2f}"
    return (MINUS if v < 0 and text.strip("0.,") else "") + text


def describe_value(column: str, value, quantiles: Sequence[float] | None) -> str:
    """'V14 unusually low (−9.2)': where the value sits in the training rows' distribution."""
    if quantiles is None:
        return f"{column} is '{value}'"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return f"{column} is '{value}'"
    if not np.isfinite(v):
        return f"{column} missing"
    q01, q05, q25, _, q75, q95, q99 = quantiles
    word = ("extremely low" if v < q01 else "unusually low" if v < q05 else "low" if v < q25 else
            "extremely high" if v > q99 else "unusually high" if v > q95 else "high" if v > q75 else "typical")
    return f"{column} {word} ({format_number(v)})"


# ----------------------------------------------------------------------------- the fitted model


@dataclass
class FraudModel(binary.YesNo, Fitted):
    KIND: ClassVar[str] = KIND
    HEADLINE: ClassVar[str] = ABOUT.headline
    METRIC_LABELS: ClassVar[dict[str, str]] = {"auprc": "AUPRC", "roc_auc": "ROC-AUC"}
    LEGACY_PREFIXES: ClassVar[dict[str, str]] = {"ref": "reference"}  # files of the first version

    columns: FraudColumns
    config: FraudConfig
    mode: str  # "labelled" | "unlabelled"
    preprocessor: Preprocessor
    net: TabularMLP  # classifier (the TabM network, engine/tabnet.py; an MLP in older files) or autoencoder
    error_ref: float  # autoencoder: training error at the 95th percentile (score 0.5)
    background: np.ndarray
    quantiles: dict[str, list[float]]  # quantiles of genuine (or all) training rows per numeric feature, for reasons
    val: dict[str, np.ndarray]  # y, amount, per-model scores on the validation rows
    test: dict[str, np.ndarray]  # y, amount, row, per-model scores on the test rows (metrics)
    fraud_value: str | None = None
    genuine_value: str | None = None
    reference: TabularMLP | None = None  # labelled mode: the autoencoder trained without the labels
    reference_ref: float = 1.0
    default_costs: Costs = field(default_factory=Costs)
    threshold: float | None = None  # decision: flag at or above it; None = cheapest at the default costs
    folds: dict[str, np.ndarray] = field(default_factory=dict)  # y, amount, out-of-fold scores of the training rows

    def __post_init__(self):
        if not self.metrics and self.has_label:  # files of the first version kept no metrics
            ev = self.evaluate(self.default_costs)
            self.metrics = ev.pop(self.model_name, {})
            self.baseline_metrics = ev

    # -- names ----------------------------------------------------------------------
    @property
    def model_name(self) -> str:
        return CLASSIFIER if self.mode == "labelled" else AUTOENCODER

    @property
    def baselines(self) -> tuple[str, ...]:
        return LABELLED_BASELINES if self.mode == "labelled" else UNLABELLED_BASELINES

    @property
    def has_label(self) -> bool:
        return "y" in self.test

    @property
    def has_amount(self) -> bool:
        return "amount" in self.val

    @property
    def score_name(self) -> str:
        return "fraud score" if self.mode == "labelled" else "anomaly score"

    def model_names(self) -> list[str]:
        names = [self.model_name, *self.baselines]
        if AE_REFERENCE in self.test:
            names.append(AE_REFERENCE)
        return names

    # -- scoring --------------------------------------------------------------------
    def _encode(self, df: pd.DataFrame) -> np.ndarray:
        return self.preprocessor.transform(df)

    def scores(self, df: pd.DataFrame) -> np.ndarray:
        """Score in [0, 1] for each row; higher is more suspicious."""
        X = self._encode(df)
        if self.mode == "labelled":
            return binary.risk(self.net, X)
        return _error_score(_recon_errors(self.net, X), self.error_ref)

    @property
    def decision_threshold(self) -> float:
        """`threshold`, or (None) the cheapest at the default costs."""
        return self.cheapest_threshold(self.default_costs) if self.threshold is None else self.threshold

    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        """Score and flag (score >= `threshold`, default: cost-optimal at the default costs) for each row."""
        t = self.decision_threshold
        s = self.scores(df)
        return pd.DataFrame({self.score_name: s, "flagged": np.where(s >= t, "yes", "no")}, index=df.index)

    def explain(self, df: pd.DataFrame, output: None = None) -> Explanation:
        """Per-column contributions to each row's score (SHAP for the classifier, error shares for the autoencoder)."""
        X = self._encode(df)
        rows = df[self.features].reset_index(drop=True)
        G = self.preprocessor.group_matrix()
        if self.mode == "labelled":
            return deep_explain(self.net, self.background, X, rows, G, self.features, 0,
                                output_name="the fraud score", link="logit")
        # The reconstruction error is a sum over columns, so each column's share is an exact contribution.
        device = model_device(self.net)

        def per_column(A: np.ndarray) -> np.ndarray:
            xt = as_tensor(np.asarray(A, np.float32), device, torch.float32)
            rec = predict_batched(self.net, xt)
            sq = ((rec - xt) ** 2).cpu().numpy().astype(np.float64) / A.shape[1]
            return sq @ G

        bg = per_column(self.background)
        values = per_column(X) - bg.mean(axis=0)
        return Explanation(values, float(bg.sum(axis=1).mean()), rows, list(self.features), "the reconstruction error")

    def row_reasons(self, exp: Explanation, i: int, k: int = 3) -> list[str]:
        """Top-k columns pushing row i towards fraud, in words ("V14 unusually low (−9.2)")."""
        row = exp.row(i)
        up = row[row["contribution"] > 0].head(k)
        return [describe_value(c, v, self.quantiles.get(c)) for c, v in zip(up["column"], up["value"])]

    def reasons(self, df: pd.DataFrame, pred: pd.DataFrame, k: int) -> list[str]:
        """Reasons in words for the flagged rows only (the most suspicious REASON_ROWS_LIMIT of them)."""
        flagged = np.flatnonzero(pred["flagged"].to_numpy() == "yes")
        top = flagged[np.argsort(-pred[self.score_name].to_numpy()[flagged], kind="stable")][:REASON_ROWS_LIMIT]
        words = [""] * len(pred)
        if len(top):
            exp = self.explain(df.iloc[top])
            for j, r in enumerate(top):
                words[r] = "; ".join(self.row_reasons(exp, j, k))
        return words

    # -- money (cheapest_threshold, threshold_band, held_out_best: engine.binary.YesNo) -------------------
    def choice_rows(self, name: str | None = None) -> dict[str, np.ndarray] | None:
        """The rows a threshold is chosen on: out-of-fold training rows when kept (files before them: validation);
        None without a label (no threshold from costs)."""
        if not self.has_label:
            return None
        name = name or self.model_name
        part = self.folds if name in self.folds else self.val
        return {"y": part["y"], "score": part[name], **({"amount": part["amount"]} if "amount" in part else {})}

    def alert_threshold(self, per_1000: float) -> float:
        """The score that flags about `per_1000` of every 1,000 rows (for data without a label)."""
        s = self.test["all_scores"] if "all_scores" in self.test else self.val[self.model_name]
        return float(np.quantile(s, min(max(1 - per_1000 / 1000, 0.0), 1.0)))

    def cost_curve(self, costs: Costs, name: str | None = None, on: str = "test") -> pd.DataFrame:
        """Expected cost per 1,000 transactions against the threshold (thinned for plotting)."""
        part = self.test if on == "test" else self.val
        name = name or self.model_name
        return binary.cost_curves({name: part[name]}, part["y"], costs.false_alarm,
                                  costs.miss_costs(part.get("amount"), len(part["y"])), costs.caught, max_points=600)[name]

    def evaluate(self, costs: Costs, threshold: float | None = None, capacity: float | None = None) -> dict[str, dict[str, float]]:
        """Test-row metrics per model: the main model at `threshold` (default its optimum), others at their optimum
        (within `capacity` alerts per 1,000 when given)."""
        if not self.has_label:
            return {}
        y = self.test["y"]
        none_cost = self.no_model_cost(costs)
        out = {}
        for name in self.model_names():
            t = threshold if (threshold is not None and name == self.model_name) else self.cheapest_threshold(costs, capacity, name)
            s = self.test[name]
            at = evaluate.at_threshold(y, s, t)
            m = {**evaluate.ranking(y, s), **{k: at[k] for k in AT_THRESHOLD_KEYS}, "threshold": t}
            cost = self.held_out_cost(costs, t, name)
            m.update(cost=cost, cost_per_1000=1000 * cost / len(y), saving_vs_none=none_cost - cost,
                     fraud_rate=float(y.mean()))
            out[name] = m
        return out

    def no_model_cost(self, costs: Costs) -> float:
        """Cost on the test rows of flagging nothing (every fraud missed)."""
        y = self.test["y"].astype(bool)
        return float(costs.miss_costs(self.test.get("amount"), len(y))[y].sum())

    # -- curves ---------------------------------------------------------------------------
    def pr_curves(self) -> dict[str, pd.DataFrame]:
        return {name: evaluate.pr_table(self.test["y"], self.test[name], 400) for name in self.model_names()}

    def roc_curves(self) -> dict[str, pd.DataFrame]:
        return {name: evaluate.roc_table(self.test["y"], self.test[name], 400) for name in self.model_names()}

    def test_scores(self) -> pd.DataFrame:
        """Held-out scores of the main model with the truth, for the score-distribution chart."""
        frame = pd.DataFrame({"score": self.test[self.model_name]})
        if self.has_label:
            frame["truth"] = np.where(self.test["y"] == 1, "fraud", "genuine")
        return frame

    # -- the rows an analyst reads ---------------------------------------------------------
    def candidates(self, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Rows the flagged list draws from, and their scores: held-out rows with a label, else every row."""
        if self.mode == "labelled" or self.has_label:
            return self.test["row"], self.test[self.model_name]
        if "all_rows" in self.test:
            return self.test["all_rows"], self.test["all_scores"]
        return np.arange(len(df)), self.scores(df)

    def top_rows(self, df: pd.DataFrame, limit: int = 200) -> tuple[pd.DataFrame, Explanation | None]:
        """The `limit` highest-scoring candidate rows with scores, truth, amount and reasons; and their Explanation."""
        rows, s = self.candidates(df)
        order = np.argsort(-s, kind="stable")[:limit]
        picked = df.iloc[rows[order]]
        frame = pd.DataFrame({"row": rows[order] + 1, self.score_name: s[order]})
        if self.has_label:
            frame["known fraud"] = np.where(self.test["y"][order] == 1, "yes", "no")
        if self.columns.amount is not None and self.columns.amount in df.columns:
            frame[self.columns.amount] = picked[self.columns.amount].to_numpy()
        exp = None
        if len(picked):
            exp = self.explain(picked)
            frame["top reasons"] = ["; ".join(self.row_reasons(exp, i)) for i in range(len(picked))]
        return frame, exp


load = FraudModel.from_bytes


# ----------------------------------------------------------------------------- fit


def _classifier(X_train: np.ndarray, y_train: np.ndarray, config: FraudConfig) -> tuple[TabularMLP, LossFn]:
    """The fraud network and its loss for these training labels (weighted or focal, for rare frauds)."""
    n_pos = float(y_train.sum())
    if config.loss == "focal":
        loss_fn = focal_loss(alpha=min(0.75, max(0.25, 1 - n_pos / len(y_train))))
    else:
        loss_fn = weighted_bce((len(y_train) - n_pos) / max(n_pos, 1.0))
    return tabular_network(X_train, 1, config.hidden, config.dropout), loss_fn


def _baselines(config: FraudConfig) -> dict[str, Callable[[], object]]:
    """Makers of the baselines. Gradient boosting is set up for rare frauds: sklearn's default early stopping (on for
    > 10k rows) stops after ~10 trees when frauds are 0.2%, and without it lr 0.1 overfits them; lr 0.05 with L2 does
    well at every size."""
    return {GRADIENT_BOOSTING: lambda: HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, l2_regularization=1.0,
                                                                      early_stopping=False, random_state=config.seed),
            LOGISTIC: lambda: LogisticRegression(max_iter=1000)}


bootstrap_intervals = binary.ranking_intervals


def fit(
    df: pd.DataFrame,
    columns: FraudColumns,
    config: FraudConfig = FraudConfig(),
    progress=None,
    cancel=None,
) -> FraudModel:
    """Train the detector and its baselines on one split; thresholds on validation rows, metrics on test rows."""
    prep = prepare(df, columns, config)
    seed_everything(config.seed)
    train, val, test = binary.split(prep.y, config.test_fraction, config.val_fraction, config.seed, order=prep.time,
                                    rows=len(prep.df), unit="transactions", positives="fraud")
    pre = Preprocessor().fit(prep.df.iloc[train], prep.features)
    X = pre.transform(prep.df)
    labelled = prep.y is not None and config.mode == "auto"
    y = prep.y
    val_scores: dict[str, np.ndarray] = {}
    test_scores: dict[str, np.ndarray] = {}
    reference, reference_ref, error_ref = None, 1.0, 1.0
    timings: dict[str, float] = {}
    clock = time.perf_counter
    relay = Progress(progress)
    say = relay.say
    notes = list(prep.notes) + pre.notes_

    folds: dict[str, np.ndarray] = {}
    if labelled:
        t0 = clock()
        net, loss_fn = _classifier(X[train], y[train], config)
        history = fit_model(net, (X[train], y[train].astype(np.float32)[:, None]), (X[val], y[val].astype(np.float32)[:, None]), loss_fn,
                            config.train_config(len(train)), progress=relay, cancel=cancel)
        s = binary.risk(net, X)
        val_scores[CLASSIFIER], test_scores[CLASSIFIER] = s[val], s[test]
        timings[CLASSIFIER] = clock() - t0
        del s
        for name, make in _baselines(config).items():
            t0 = clock()
            say(f"Network trained; now the baseline: {name.lower()} on the same rows…")
            est = make().fit(X[train], y[train])
            val_scores[name], test_scores[name] = est.predict_proba(X[val])[:, 1], est.predict_proba(X[test])[:, 1]
            timings[name] = clock() - t0
        t0 = clock()
        trainval = np.sort(np.r_[train, val])
        folds = binary.out_of_fold(X, y, trainval, config.threshold_folds, config.seed,
                                   lambda y_fit: _classifier(X[train], y_fit, config),
                                   config.train_config(len(trainval)), history, _baselines(config), CLASSIFIER,
                                   cancel, say)
        if not folds:
            notes += binary.threshold_rows_note(config.threshold_folds, len(val), len(trainval), "transactions")
        if folds:
            timings["threshold folds"] = clock() - t0
            if prep.amount is not None:
                folds["amount"] = prep.amount[trainval]
        if config.compare_unlabelled:
            t0 = clock()
            say("Now an autoencoder without the labels, to show what the labels buy…")
            # a reference, not the product: on big tables it learns from a sample of the rows
            pick = np.random.default_rng(config.seed)
            ref_train = train if len(train) <= REFERENCE_MAX_ROWS else np.sort(pick.choice(train, REFERENCE_MAX_ROWS, replace=False))
            ref_val = val if len(val) <= REFERENCE_MAX_ROWS // 4 else np.sort(pick.choice(val, REFERENCE_MAX_ROWS // 4, replace=False))
            reference, _, reference_ref = _train_autoencoder(X, ref_train, ref_val, config, None, cancel)
            val_scores[AE_REFERENCE] = _error_score(_recon_errors(reference, X[val]), reference_ref)
            test_scores[AE_REFERENCE] = _error_score(_recon_errors(reference, X[test]), reference_ref)
            timings[AE_REFERENCE] = clock() - t0
    else:
        if prep.y is not None:
            notes.append("The label is not used to train: the autoencoder looks for unusual transactions, and the "
                         "label only measures how well that works.")
        t0 = clock()
        net, history, error_ref = _train_autoencoder(X, train, val, config, relay, cancel)
        err = _error_score(_recon_errors(net, X), error_ref)
        val_scores[AUTOENCODER], test_scores[AUTOENCODER] = err[val], err[test]
        timings[AUTOENCODER] = clock() - t0
        t0 = clock()
        say("Autoencoder trained; now the baseline: isolation forest…")
        iso = IsolationForest(random_state=config.seed, n_jobs=1).fit(X[train])
        val_scores[ISOLATION_FOREST] = -iso.score_samples(X[val])
        test_scores[ISOLATION_FOREST] = -iso.score_samples(X[test])
        timings[ISOLATION_FOREST] = clock() - t0

    def part(rows: np.ndarray, scores: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {"row": prep.rows[rows]}
        if y is not None:
            out["y"] = y[rows]
        if prep.amount is not None:
            out["amount"] = prep.amount[rows]
        out.update({k: np.asarray(v, dtype=np.float64) for k, v in scores.items()})
        return out

    test_part = part(test, test_scores)
    if not labelled and y is None:
        test_part["all_rows"] = prep.rows  # no label: the flagged list covers the whole table
        test_part["all_scores"] = err
    intervals = {}
    if y is not None and len(test) <= 20_000:
        intervals = bootstrap_intervals(y[test], test_scores, config.bootstrap, config.seed)

    background = evaluate.background_sample(X, train, config.seed)
    # "unusually low" means: compared with genuine training transactions when the label says which they are
    reference_rows = train[y[train] == 0] if y is not None else train
    train_df = prep.df.iloc[reference_rows]
    quantiles = {}
    for p in pre.plans_:
        if p.kind == "numeric":
            vals = pd.to_numeric(train_df[p.name], errors="coerce").dropna().to_numpy(float)
            if len(vals):
                quantiles[p.name] = [float(q) for q in np.quantile(vals, _QUANTILES)]
    default_costs = Costs(missed_is_amount=prep.amount is not None)
    say("Measuring every model on the held-out rows…")
    return FraudModel(
        columns=FraudColumns(columns.label, tuple(prep.features), columns.amount, columns.time, prep.fraud_value),
        config=config, mode="labelled" if labelled else "unlabelled", preprocessor=pre, net=net.eval(),
        error_ref=error_ref, background=background, history=history, quantiles=quantiles,
        val=part(val, val_scores), test=test_part, intervals=intervals, notes=notes,
        n_rows={"train": len(train), "validation": len(val), "test": len(test), "used": len(prep.rows)},
        fraud_value=prep.fraud_value, genuine_value=prep.genuine_value, reference=reference,
        reference_ref=reference_ref, default_costs=default_costs, timings=timings, folds=folds,
    )


# The contract's names (engine/scenario.py).
Columns, Config, Model = FraudColumns, FraudConfig, FraudModel
MODEL = CLASSIFIER
BASELINES = LABELLED_BASELINES + (AE_REFERENCE,)
SAMPLE = "creditcard_transactions.csv"
QUICK = FraudConfig(max_epochs=10, bootstrap=20)
