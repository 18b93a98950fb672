"""Diagnosis: predict an outcome (binary or multi-class) from a patient table.

Follows the scenario contract (engine/scenario.py): `fit(df, columns, config, progress, cancel)`
returns a `DiagnosisModel` (a `Fitted`); `load(source)` reads a model file back (weights and JSON only).

Model: a regularised MLP (dropout, weight decay, early stopping) with class weights.
Baselines on the same held-out split: logistic regression and gradient boosting, fitted
on the same preprocessed training rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar, Sequence

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score
from torch import nn

from engine import binary, evaluate, options, roles
from engine.data import DataError, check_finite
from engine.explain import Explanation
from engine.models import AnyTabularNet, tabular_network
from engine.options import option as _opt
from engine.options import validate
from engine.scenario import About, Decision, Fitted
from engine.tabular import Preprocessor
from engine.training import TrainConfig, fit_model, predict_batched, seed_everything

KIND = "diagnosis"
MODEL = "Neural network"
BASELINES = (binary.LOGISTIC, binary.GRADIENT_BOOSTING)
MAX_CLASSES = 20
MAX_ROWS = 200_000  # patients per upload; a larger file is randomly sampled down (ui.data.dataset_picker)
MIN_ROWS = 20
MIN_PER_CLASS = 5
ABOUT = About(
    name=KIND,
    title="Diagnosis",
    icon=":material/stethoscope:",
    headline="roc_auc",
    prefix="dx",
    purpose="Predict an outcome such as heart disease from a patient table; see sensitivity, specificity, "
    "calibration and, patient by patient, which values drove the risk. Try what-ifs.",
    decision=Decision(lambda m: {"threshold": 0.0}, lambda m, rows: m.predict(rows)["predicted"]),  # everyone flagged
    data_parallel=True,
    subgroups=True,
)


@dataclass(frozen=True)
class DiagnosisColumns:
    """Which column is the outcome, which are features, which outcome counts as positive."""

    target: str
    features: tuple[str, ...]
    positive_class: str | None = None  # None: guessed (e.g. "1", "M", "yes", else the rarer class)
    binarise: bool = False  # with >2 outcomes: positive class vs all the others


@dataclass(frozen=True)
class DiagnosisConfig:
    """Analyst-facing options; defaults work on the sample data."""

    hidden: tuple[int, ...] = _opt((64, 32), "Neurons in each hidden layer of the network.")
    dropout: float = options.dropout(0.3)
    weight_decay: float = options.weight_decay(1e-3)
    lr: float = _opt(3e-3, "Learning rate: the step size of training.", min=1e-5, max=0.1)
    max_epochs: int = options.max_epochs(300)
    batch_size: int = _opt(32, "Rows per training step.", min=8, max=4096)
    patience: int = _opt(30, "Passes without improvement before training stops early.", min=3, max=2000)
    test_fraction: float = options.test_fraction(0.25)
    val_fraction: float = _opt(0.2, "Share of the training rows used to decide when to stop.", min=0.1, max=0.4)
    seed: int = options.seed()
    bootstrap: int = options.bootstrap()
    max_seconds: float = options.max_seconds(300.0)

    def __post_init__(self):
        validate(self)

    def train_config(self) -> TrainConfig:
        return TrainConfig.of(self)


# ----------------------------------------------------------------------------- validation

OUTCOME_WORDS = ("target", "outcome", "diagnosis", "label", "class", "y", "disease", "num")


def guess_positive(classes: Sequence[str], counts: pd.Series | None = None) -> str:
    return roles.positive_value(classes, counts) or classes[-1]


def default_columns(df: pd.DataFrame) -> DiagnosisColumns:
    """Sensible defaults: the outcome is a column named like one, else the last column with few values;
    identifiers (a patient number) and dates are not features."""
    guess = roles.outcome(df, OUTCOME_WORDS, max_values=MAX_CLASSES)
    target = guess.column if guess.column is not None else df.columns[-1]
    return DiagnosisColumns(target=target, features=roles.features(df, exclude=[target]))


@dataclass
class Prepared:
    df: pd.DataFrame
    y: np.ndarray  # class indices
    classes: list[str]
    positive_index: int
    notes: list[str]
    binary: bool
    rows: np.ndarray  # positions in the analyst's table of the rows kept


def prepare(df: pd.DataFrame, columns: DiagnosisColumns) -> Prepared:
    """Check the table against the chosen columns; DataError with a sentence if it cannot work."""
    notes: list[str] = []
    if columns.target not in df.columns:
        raise DataError(
            f"The outcome column '{columns.target}' is not in your file. Pick one of its columns as the outcome."
        )
    features = [f for f in columns.features if f != columns.target]
    absent = [f for f in features if f not in df.columns]
    if absent:
        raise DataError(
            f"Feature column(s) {', '.join(map(repr, absent))} are not in your file. Pick features from its columns."
        )
    if not features:
        hint = (
            " Only one column was found: if your file uses another separator (such as spaces), save it as comma-separated."
            if df.shape[1] == 1
            else ""
        )
        raise DataError("Pick at least one feature column besides the outcome." + hint)
    labels = roles.label_text(df[columns.target])
    n_missing = int(labels.isna().sum())
    if n_missing == len(df):
        raise DataError(
            f"The outcome column '{columns.target}' is empty in every row. "
            "The model learns from rows whose outcome is known: fill it in, or pick another column."
        )
    if n_missing:
        notes.append(f"Dropped {n_missing:,} row(s) whose outcome '{columns.target}' is missing.")
    keep = labels.notna().to_numpy()
    df, labels = df.loc[keep, [*features, columns.target]].reset_index(drop=True), labels[keep].reset_index(drop=True)
    counts = labels.value_counts()
    if len(counts) < 2:
        raise DataError(
            f"The outcome column '{columns.target}' has only one value ('{counts.index[0]}'). "
            "The model needs examples of at least two outcomes, such as patients with and without the disease."
        )
    if len(counts) > MAX_CLASSES:
        raise DataError(
            f"The outcome column '{columns.target}' has {len(counts):,} different values; this page predicts a "
            f"category (2 to {MAX_CLASSES} outcomes, such as yes/no or a diagnosis code). If it is a measurement, "
            "turn it into groups first, or pick another outcome column."
        )
    if len(df) < MIN_ROWS:
        raise DataError(
            f"Only {len(df):,} rows have an outcome; at least {MIN_ROWS} are needed to train a model and still "
            "keep some rows aside to test it honestly. Add more rows."
        )
    check_finite(df, features)
    classes = sorted(counts.index.astype(str), key=lambda c: (len(c), c))
    positive = columns.positive_class if columns.positive_class is not None else guess_positive(classes, counts)
    positive = str(positive)
    if positive not in classes:
        raise DataError(
            f"'{positive}' is not a value of '{columns.target}'. Pick the positive outcome from: {', '.join(classes[:10])}."
        )
    if columns.binarise and len(classes) > 2:
        rest = f"not {positive}"
        notes.append(
            f"Outcome turned into two groups: '{positive}' versus the other {len(classes) - 1} values ('{rest}')."
        )
        labels = labels.where(labels == positive, rest)
        classes, counts = [rest, positive], labels.value_counts()
    rare = counts[counts < MIN_PER_CLASS]
    if len(rare):
        c, n = rare.index[0], int(rare.iloc[0])
        raise DataError(
            f"The outcome '{c}' occurs in only {n} row(s); each outcome needs at least {MIN_PER_CLASS} rows "
            "so some can be held out for testing. Merge rare outcomes"
            + (", or tick 'positive class versus the rest'." if len(classes) > 2 else ", or add rows.")
        )
    index = {c: i for i, c in enumerate(classes)}
    y = labels.map(index).to_numpy(np.int64)
    return Prepared(df, y, classes, index[positive], notes, binary=len(classes) == 2, rows=np.flatnonzero(keep))


# ----------------------------------------------------------------------------- metrics


def summary_metrics(y: np.ndarray, proba: np.ndarray, positive_index: int, threshold: float = 0.5) -> dict[str, float]:
    """The page's scores on held-out rows: ROC-AUC, Brier, and sensitivity/specificity/precision/accuracy at the threshold."""
    y_pos = y == positive_index
    p = proba[:, positive_index]
    out = {"roc_auc": evaluate.ranking(y_pos, p)["roc_auc"], "brier": evaluate.brier(y_pos, p)}
    at = evaluate.at_threshold(y_pos, p, threshold)
    out.update({k: at[k] for k in ("sensitivity", "specificity", "precision")})
    if proba.shape[1] > 2:  # multi-class: accuracy over all outcomes (most likely class)
        out.update(evaluate.multiclass(y, proba))
    else:
        out["accuracy"] = at["accuracy"]
    return out


METRIC_HELP = {
    "roc_auc": "ROC-AUC: how well the risk score ranks patients with the outcome above those without; 1 is perfect, 0.5 is guessing.",
    "accuracy": "Share of held-out patients whose predicted outcome is right.",
    "sensitivity": "Sensitivity (recall): share of patients with the outcome that the model flags.",
    "specificity": "Specificity: share of patients without the outcome that the model correctly leaves unflagged.",
    "brier": "Brier score: mean squared gap between predicted risk and what happened; lower is better, 0 is perfect.",
    "precision": "Precision: share of flagged patients who really have the outcome.",
    "roc_auc_macro": "ROC-AUC averaged over every outcome (one versus the rest).",
}


def intervals_of(
    y: np.ndarray, probas: dict[str, np.ndarray], positive_index: int, n: int, seed: int
) -> dict[str, dict[str, list[float]]]:
    """95% bootstrap intervals of ROC-AUC and accuracy on the held-out rows, per model."""
    pos = positive_index

    def accuracy(yy: np.ndarray, pp: np.ndarray) -> float:
        return float((pp.argmax(1) == yy).mean() if pp.shape[1] > 2 else ((pp[:, pos] >= 0.5) == (yy == pos)).mean())

    return evaluate.bootstrap(
        y,
        probas,
        {"roc_auc": lambda yy, pp: roc_auc_score(yy == pos, pp[:, pos]), "accuracy": accuracy},
        n,
        seed,
        valid=lambda yy: 0 < int((yy == pos).sum()) < len(yy),
    )


# ----------------------------------------------------------------------------- the fitted model


def _proba_from_logits(logits: torch.Tensor, positive_index: int) -> np.ndarray:
    """Logits → probabilities in class order. A single logit is the positive outcome's."""
    logits = logits.float().cpu()
    if logits.shape[1] == 1:
        p = torch.sigmoid(logits[:, 0]).numpy()
        cols = [p, 1 - p] if positive_index == 0 else [1 - p, p]
        return np.stack(cols, axis=1)
    return torch.softmax(logits, dim=1).numpy()


@dataclass
class DiagnosisModel(binary.YesNo, Fitted):
    KIND: ClassVar[str] = KIND
    HEADLINE: ClassVar[str] = ABOUT.headline
    METRIC_LABELS: ClassVar[dict[str, str]] = {"roc_auc": "ROC-AUC", "accuracy": "Accuracy"}
    MODEL_NAMES: ClassVar[tuple[str, ...]] = (MODEL, *BASELINES)

    columns: DiagnosisColumns
    config: DiagnosisConfig
    classes: list[str]
    positive_index: int
    preprocessor: Preprocessor
    net: AnyTabularNet  # TabularMLP.from_spec: the TabM network (engine/tabnet.py), or the MLP of older files
    background: np.ndarray
    test: dict[str, np.ndarray]  # y, row and per-model probabilities on the held-out rows
    threshold: float = 0.5  # decision: flag a row when the risk of the positive outcome reaches it

    @property
    def positive_class(self) -> str:
        return self.classes[self.positive_index]

    # -- scoring --------------------------------------------------------------------
    def _logits(self, X: np.ndarray) -> torch.Tensor:
        return predict_batched(self.net, X)

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        return _proba_from_logits(self._logits(self.preprocessor.transform(df)), self.positive_index)

    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        """Risk of the positive outcome and the predicted outcome for each row (at `threshold`)."""
        proba = self.predict_proba(df)
        risk = proba[:, self.positive_index]
        if len(self.classes) == 2:
            other = self.classes[1 - self.positive_index]
            predicted = np.where(risk >= self.threshold, self.positive_class, other)
        else:
            predicted = np.asarray(self.classes)[proba.argmax(1)]
        out = pd.DataFrame({"risk": risk, "predicted": predicted}, index=df.index)
        if len(self.classes) > 2:
            for i, c in enumerate(self.classes):
                out[f"P({c})"] = proba[:, i]
        return out

    def explain(self, df: pd.DataFrame, output: str | None = None) -> Explanation:
        """SHAP values of one outcome's logit (default: the positive outcome), per analyst column."""
        cls = self.positive_class if output is None else str(output)
        index = self.classes.index(cls)
        if self.net.n_out == 1 and index != self.positive_index:
            raise ValueError("a two-outcome model explains the positive outcome only")
        return self.net_explain(df, 0 if self.net.n_out == 1 else index, f"the risk of {self.columns.target} = {cls}")

    def reasons_words(self) -> tuple[str, str]:
        return "raises risk", "lowers risk"

    # -- what the page reads -----------------------------------------------------------
    def held_out_y(self) -> np.ndarray:
        return self.test["y"] == self.positive_index

    def held_out_scores(self, name: str | None = None) -> np.ndarray:
        return self.test[name or MODEL][:, self.positive_index]

    def test_probabilities(self) -> dict[str, np.ndarray]:
        """Held-out risk of the positive outcome per model (model first, then baselines)."""
        return {name: self.held_out_scores(name) for name in self.model_names()}

    def test_positive(self) -> np.ndarray:
        return self.held_out_y()

    def roc(self) -> dict[str, pd.DataFrame]:
        y = self.test_positive()
        return {name: evaluate.roc_table(y, p) for name, p in self.test_probabilities().items()}

    def calibration(self, bins: int = 8) -> dict[str, pd.DataFrame]:
        """Reliability curve per model: mean predicted risk vs observed rate, by risk bin (quantiles)."""
        y = self.test_positive()
        return {
            name: evaluate.calibration_table(y, p, bins).rename(columns={"rows": "patients"})
            for name, p in self.test_probabilities().items()
        }


load = DiagnosisModel.from_bytes


# ----------------------------------------------------------------------------- fit


def fit(
    df: pd.DataFrame,
    columns: DiagnosisColumns,
    config: DiagnosisConfig = DiagnosisConfig(),
    progress=None,
    cancel=None,
    *,
    test_rows: np.ndarray | None = None,
) -> DiagnosisModel:
    """Train the MLP and the baselines on one stratified split and measure all on held-out rows.

    `test_rows` (positions in `df`) fixes the held-out rows, e.g. for cross-validation.
    """
    prep = prepare(df, columns)
    seed_everything(config.seed)
    held = None if test_rows is None else np.isin(prep.rows, np.asarray(test_rows))
    train, val, test = binary.split(prep.y, config.test_fraction, config.val_fraction, config.seed, held=held)
    trainval = np.sort(np.r_[train, val])
    features = [f for f in columns.features if f != columns.target]
    pre = Preprocessor().fit(prep.df.iloc[train], features)
    X = pre.transform(prep.df)
    y = prep.y
    K = len(prep.classes)
    counts = np.bincount(y[train], minlength=K).astype(float)

    loss_fn: nn.Module  # a loss module: its weights follow the network to the training device (engine.training)
    if K == 2:
        net = tabular_network(X[train], 1, config.hidden, config.dropout)
        pos = prep.positive_index
        loss_fn = binary.weighted_bce(counts[1 - pos] / max(counts[pos], 1.0))
        target = (y == pos).astype(np.float32)[:, None]
    else:
        net = tabular_network(X[train], K, config.hidden, config.dropout)
        loss_fn = nn.CrossEntropyLoss(
            weight=torch.tensor(len(train) / (K * np.maximum(counts, 1.0)), dtype=torch.float32)
        )
        target = y

    clock = time.perf_counter()
    history = fit_model(
        net,
        (X[train], target[train]),
        (X[val], target[val]),
        loss_fn,
        config.train_config(),
        progress=progress,
        cancel=cancel,
    )
    timings = {MODEL: time.perf_counter() - clock}
    logits = predict_batched(net, X[test])
    proba_test = _proba_from_logits(logits, prep.positive_index)

    baselines, seconds = binary.fit_baselines(X[trainval], y[trainval], config.seed, BASELINES)
    timings.update(seconds)
    test_probs = {MODEL: proba_test, **{name: est.predict_proba(X[test]) for name, est in baselines.items()}}
    yt = y[test]
    metrics = summary_metrics(yt, proba_test, prep.positive_index)
    baseline_metrics = {name: summary_metrics(yt, test_probs[name], prep.positive_index) for name in BASELINES}
    intervals = intervals_of(
        yt, test_probs, prep.positive_index, config.bootstrap if len(test) < 2000 else 0, config.seed
    )
    background = evaluate.background_sample(X, train, config.seed)
    model = DiagnosisModel(
        columns=DiagnosisColumns(columns.target, tuple(features), prep.classes[prep.positive_index], columns.binarise),
        config=config,
        classes=prep.classes,
        positive_index=prep.positive_index,
        preprocessor=pre,
        net=net,
        background=background,
        history=history,
        metrics=metrics,
        baseline_metrics=baseline_metrics,
        intervals=intervals,
        test={"y": yt, "row": prep.rows[test], **test_probs},
        notes=prep.notes + pre.notes_,
        n_rows={"train": len(train), "validation": len(val), "test": len(test)},
        timings=timings,
    )
    return model


# The contract's names (engine/scenario.py).
Columns, Config, Model = DiagnosisColumns, DiagnosisConfig, DiagnosisModel
SAMPLE = "heart_disease_cleveland.csv"
QUICK = DiagnosisConfig(max_epochs=15, bootstrap=20)
