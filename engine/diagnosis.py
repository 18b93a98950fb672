"""Diagnosis: predict an outcome (binary or multi-class) from a patient table.

Verbs shared by every scenario: `fit(df, columns, config, progress, cancel)` returns a
`DiagnosisModel` with `metrics`, `baseline_metrics`, `history`, `predict`, `explain`,
`save`; `load(path)` reads it back (weights and JSON only).

Model: a regularised MLP (dropout, weight decay, early stopping) with class weights.
Baselines on the same held-out split: logistic regression and gradient boosting, fitted
on the same preprocessed training rows.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve
from sklearn.model_selection import train_test_split
from torch import nn

from engine import artifacts
from engine.options import option as _opt
from engine.data import DataError, check_finite
from engine.device import get_device
from engine.explain import Explanation, deep_explain
from engine.models import TabularMLP
from engine.tabular import Preprocessor
from engine.training import History, TrainConfig, as_tensor, fit_model, predict_batched, seed_everything

KIND = "diagnosis"
MODEL = "Neural network"
BASELINES = ("Logistic regression", "Gradient boosting")
MAX_CLASSES = 20
MAX_ROWS = 200_000  # patients per upload; a larger file is randomly sampled down (ui.data.dataset_picker)
MIN_ROWS = 20
MIN_PER_CLASS = 5
_POSITIVE_WORDS = ("1", "yes", "y", "true", "positive", "pos", "m", "malignant", "disease", "sick", "abnormal")


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
    dropout: float = _opt(0.3, "Share of neurons switched off at random while training (guards against memorising).", min=0.0, max=0.8)
    weight_decay: float = _opt(1e-3, "How strongly large weights are penalised (regularisation).", min=0.0, max=0.1)
    lr: float = _opt(3e-3, "Learning rate: the step size of training.", min=1e-5, max=0.1)
    max_epochs: int = _opt(300, "Most passes over the training rows (training stops earlier when it stops improving).", min=5, max=2000)
    batch_size: int = _opt(32, "Rows per training step.", min=8, max=4096)
    patience: int = _opt(30, "Passes without improvement before training stops early.", min=3, max=200)
    test_fraction: float = _opt(0.25, "Share of rows held out to measure the model (never seen in training).", min=0.1, max=0.5)
    val_fraction: float = _opt(0.2, "Share of the training rows used to decide when to stop.", min=0.1, max=0.4)
    seed: int = _opt(0, "Random seed: the same seed, data and settings give the same result.")
    bootstrap: int = _opt(200, "Resamples used for the uncertainty intervals of the metrics.", min=0, max=2000)
    max_seconds: float = _opt(300.0, "Time limit for training the network, in seconds.", min=5, max=3600)

    def __post_init__(self):
        if not 0.05 <= self.test_fraction <= 0.5 or not 0.05 <= self.val_fraction <= 0.5:
            raise ValueError("test_fraction and val_fraction must lie between 0.05 and 0.5")

    def train_config(self) -> TrainConfig:
        return TrainConfig(
            max_epochs=self.max_epochs, batch_size=self.batch_size, lr=self.lr, weight_decay=self.weight_decay,
            patience=self.patience, seed=self.seed, max_seconds=self.max_seconds,
        )

    @classmethod
    def help(cls) -> dict[str, dict]:
        return {f.name: dict(f.metadata) for f in fields(cls)}


# ----------------------------------------------------------------------------- validation


def _label_strings(s: pd.Series) -> pd.Series:
    """Outcome values as clean strings ("1" not "1.0")."""
    if pd.api.types.is_float_dtype(s):
        vals = s.dropna()
        if len(vals) and np.all(np.mod(vals, 1) == 0):
            return s.map(lambda v: v if pd.isna(v) else str(int(v)))
    return s.map(lambda v: v if pd.isna(v) else str(v).strip())


def guess_positive(classes: Sequence[str], counts: pd.Series | None = None) -> str:
    for word in _POSITIVE_WORDS:
        for c in classes:
            if c.lower() == word:
                return c
    if counts is not None and len(counts):
        return str(counts.idxmin())
    return classes[-1]


def default_columns(df: pd.DataFrame) -> DiagnosisColumns:
    """Sensible defaults: the outcome is a column named like one, else the last column with few values."""
    from engine.data import column_kind

    names = list(df.columns)
    lowered = {str(c).lower(): c for c in names}
    target = None
    for word in ("target", "outcome", "diagnosis", "label", "class", "y", "disease", "num"):
        if word in lowered:
            target = lowered[word]
            break
    if target is None:
        for c in reversed(names):
            if 2 <= df[c].nunique(dropna=True) <= MAX_CLASSES:
                target = c
                break
    target = target if target is not None else names[-1]
    features = tuple(
        c for c in names if c != target and column_kind(df[c]) in ("numeric", "categorical")
    )
    return DiagnosisColumns(target=target, features=features)


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
        raise DataError(f"The outcome column '{columns.target}' is not in your file. Pick one of its columns as the outcome.")
    features = [f for f in columns.features if f != columns.target]
    absent = [f for f in features if f not in df.columns]
    if absent:
        raise DataError(f"Feature column(s) {', '.join(map(repr, absent))} are not in your file. Pick features from its columns.")
    if not features:
        hint = (
            " Only one column was found: if your file uses another separator (such as spaces), save it as comma-separated."
            if df.shape[1] == 1 else ""
        )
        raise DataError("Pick at least one feature column besides the outcome." + hint)
    labels = _label_strings(df[columns.target])
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
        raise DataError(f"'{positive}' is not a value of '{columns.target}'. Pick the positive outcome from: {', '.join(classes[:10])}.")
    if columns.binarise and len(classes) > 2:
        rest = f"not {positive}"
        notes.append(f"Outcome turned into two groups: '{positive}' versus the other {len(classes) - 1} values ('{rest}').")
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


def threshold_metrics(y_pos: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """Sensitivity, specificity, accuracy and the confusion counts at a risk threshold."""
    y_pos = np.asarray(y_pos).astype(bool)
    pred = np.asarray(p) >= threshold
    tp, fn = int((pred & y_pos).sum()), int((~pred & y_pos).sum())
    tn, fp = int((~pred & ~y_pos).sum()), int((pred & ~y_pos).sum())
    return {
        "sensitivity": tp / (tp + fn) if tp + fn else float("nan"),
        "specificity": tn / (tn + fp) if tn + fp else float("nan"),
        "precision": tp / (tp + fp) if tp + fp else float("nan"),
        "accuracy": (tp + tn) / max(len(y_pos), 1),
        "tp": tp, "fp": fp, "tn": tn, "fn": fn,
    }


def summary_metrics(y: np.ndarray, proba: np.ndarray, positive_index: int, threshold: float = 0.5) -> dict[str, float]:
    y_pos = y == positive_index
    p = proba[:, positive_index]
    out = {
        "roc_auc": float(roc_auc_score(y_pos, p)) if 0 < y_pos.sum() < len(y_pos) else float("nan"),
        "brier": float(brier_score_loss(y_pos, p)),
    }
    at = threshold_metrics(y_pos, p, threshold)
    out.update({k: at[k] for k in ("sensitivity", "specificity", "precision")})
    if proba.shape[1] > 2:  # multi-class: accuracy over all outcomes (most likely class)
        out["accuracy"] = float((proba.argmax(1) == y).mean())
        out["roc_auc_macro"] = float(roc_auc_score(y, proba, multi_class="ovr", average="macro"))
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


def bootstrap_intervals(y, probas: dict[str, np.ndarray], positive_index: int, n: int, seed: int) -> dict[str, dict[str, tuple[float, float]]]:
    """95% bootstrap intervals of ROC-AUC and accuracy on the held-out rows, per model."""
    if n <= 0:
        return {}
    rng = np.random.default_rng(seed)
    stats: dict[str, dict[str, list[float]]] = {k: {"roc_auc": [], "accuracy": []} for k in probas}
    y_pos = y == positive_index
    for _ in range(n):
        idx = rng.integers(0, len(y), len(y))
        if y_pos[idx].all() or not y_pos[idx].any():
            continue
        for name, pr in probas.items():
            stats[name]["roc_auc"].append(roc_auc_score(y_pos[idx], pr[idx, positive_index]))
            acc = (pr[idx].argmax(1) == y[idx]).mean() if pr.shape[1] > 2 else ((pr[idx, positive_index] >= 0.5) == y_pos[idx]).mean()
            stats[name]["accuracy"].append(acc)
    return {
        name: {m: (float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))) for m, v in d.items() if v}
        for name, d in stats.items()
    }


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
class DiagnosisModel:
    columns: DiagnosisColumns
    config: DiagnosisConfig
    classes: list[str]
    positive_index: int
    preprocessor: Preprocessor
    net: TabularMLP
    background: np.ndarray
    history: History
    metrics: dict[str, float]
    baseline_metrics: dict[str, dict[str, float]]
    intervals: dict[str, dict[str, tuple[float, float]]]
    test: dict[str, np.ndarray]  # y and per-model probabilities on the held-out rows
    notes: list[str]
    n_rows: dict[str, int]
    timings: dict[str, float] = field(default_factory=dict)  # fit seconds per model

    @property
    def positive_class(self) -> str:
        return self.classes[self.positive_index]

    @property
    def features(self) -> list[str]:
        return self.preprocessor.features

    # -- scoring --------------------------------------------------------------------
    def _logits(self, X: np.ndarray) -> torch.Tensor:
        device = next(self.net.parameters()).device
        return predict_batched(self.net, as_tensor(X, device, torch.float32))

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        return _proba_from_logits(self._logits(self.preprocessor.transform(df)), self.positive_index)

    def predict(self, df: pd.DataFrame, threshold: float = 0.5) -> pd.DataFrame:
        """Risk of the positive outcome and the predicted outcome for each row."""
        proba = self.predict_proba(df)
        risk = proba[:, self.positive_index]
        if len(self.classes) == 2:
            other = self.classes[1 - self.positive_index]
            predicted = np.where(risk >= threshold, self.positive_class, other)
        else:
            predicted = np.asarray(self.classes)[proba.argmax(1)]
        out = pd.DataFrame({"risk": risk, "predicted": predicted}, index=df.index)
        if len(self.classes) > 2:
            for i, c in enumerate(self.classes):
                out[f"P({c})"] = proba[:, i]
        return out

    def explain(self, df: pd.DataFrame) -> Explanation:
        """SHAP values of the positive outcome's logit, per analyst column."""
        X = self.preprocessor.transform(df)
        name = f"the risk of {self.columns.target} = {self.positive_class}"
        return deep_explain(
            self.net, self.background, X, df[self.features], self.preprocessor.group_matrix(), self.features,
            output_index=0 if self.net.n_out == 1 else self.positive_index, output_name=name,
        )

    def score(self, df: pd.DataFrame, threshold: float = 0.5, reasons: int = 3) -> pd.DataFrame:
        """Batch scoring: the input rows with risk, predicted outcome and top reasons in words."""
        pred = self.predict(df, threshold)
        if reasons:
            exp = self.explain(df)
            pred["top reasons"] = ["; ".join(exp.reasons(i, reasons, "raises risk", "lowers risk")) for i in range(len(df))]
        return pd.concat([df.reset_index(drop=True), pred.reset_index(drop=True)], axis=1)

    # -- what the page reads -----------------------------------------------------------
    def test_probabilities(self) -> dict[str, np.ndarray]:
        """Held-out risk of the positive outcome per model (model first, then baselines)."""
        return {name: self.test[name][:, self.positive_index] for name in (MODEL, *BASELINES) if name in self.test}

    def held_out(self, df: pd.DataFrame, limit: int | None = None) -> pd.DataFrame:
        """The held-out (test) rows of the analyst's table, as the model saw them."""
        rows = self.test["row"][:limit] if limit else self.test["row"]
        return df.iloc[rows]

    def test_positive(self) -> np.ndarray:
        return self.test["y"] == self.positive_index

    def roc(self) -> dict[str, pd.DataFrame]:
        y = self.test_positive()
        out = {}
        for name, p in self.test_probabilities().items():
            fpr, tpr, thr = roc_curve(y, p)
            out[name] = pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": np.clip(thr, 0, 1)})
        return out

    def at_threshold(self, threshold: float) -> dict[str, dict[str, float]]:
        y = self.test_positive()
        return {name: threshold_metrics(y, p, threshold) for name, p in self.test_probabilities().items()}

    def calibration(self, bins: int = 8) -> dict[str, pd.DataFrame]:
        """Reliability curve per model: mean predicted risk vs observed rate, by risk bin (quantiles)."""
        y = self.test_positive().astype(float)
        out = {}
        for name, p in self.test_probabilities().items():
            edges = np.unique(np.quantile(p, np.linspace(0, 1, bins + 1)))
            which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, max(len(edges) - 2, 0))
            frame = pd.DataFrame({"p": p, "y": y, "bin": which}).groupby("bin").agg(
                predicted=("p", "mean"), observed=("y", "mean"), patients=("y", "size")
            )
            out[name] = frame.reset_index(drop=True)
        return out

    # -- persistence ---------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        tensors = {f"net.{k}": v for k, v in self.net.state_dict().items()}
        tensors["background"] = self.background
        tensors.update({f"test.{k}": v for k, v in self.test.items()})
        meta = {
            "columns": asdict(self.columns),
            "config": asdict(self.config),
            "classes": self.classes,
            "positive_index": self.positive_index,
            "preprocessor": self.preprocessor.to_dict(),
            "net": self.net.spec(),
            "history": self.history.to_dict(),
            "metrics": self.metrics,
            "baseline_metrics": self.baseline_metrics,
            "intervals": self.intervals,
            "notes": self.notes,
            "n_rows": self.n_rows,
            "timings": self.timings,
        }
        return artifacts.to_bytes(KIND, tensors, meta)

    def save(self, path: str | Path) -> None:
        Path(path).write_bytes(self.to_bytes())


def load(source: str | Path | bytes) -> DiagnosisModel:
    """Read a model file saved by `DiagnosisModel.save` (weights and JSON only)."""
    tensors, meta = artifacts.load_artifact(source, KIND)
    try:
        cols = meta["columns"]
        columns = DiagnosisColumns(cols["target"], tuple(cols["features"]), cols["positive_class"], cols["binarise"])
        cfg = dict(meta["config"])
        cfg["hidden"] = tuple(cfg["hidden"])
        net = TabularMLP(**meta["net"])
        net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net.")})
        net.to(get_device()).eval()
        return DiagnosisModel(
            columns=columns,
            config=DiagnosisConfig(**cfg),
            classes=list(meta["classes"]),
            positive_index=int(meta["positive_index"]),
            preprocessor=Preprocessor.from_dict(meta["preprocessor"]),
            net=net,
            background=tensors["background"].numpy(),
            history=History.from_dict(meta["history"]),
            metrics=meta["metrics"],
            baseline_metrics=meta["baseline_metrics"],
            intervals={k: {m: tuple(v) for m, v in d.items()} for k, d in meta["intervals"].items()},
            test={k[5:]: v.numpy() for k, v in tensors.items() if k.startswith("test.")},
            notes=list(meta["notes"]),
            n_rows=dict(meta["n_rows"]),
            timings=dict(meta.get("timings", {})),
        )
    except (KeyError, TypeError, ValueError, RuntimeError):
        raise DataError("This diagnosis model file is incomplete or damaged. Download it again from the page that trained it.") from None


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
    idx = np.arange(len(prep.y))
    if test_rows is None:
        trainval, test = train_test_split(idx, test_size=config.test_fraction, stratify=prep.y, random_state=config.seed)
    else:
        held = np.isin(prep.rows, np.asarray(test_rows))
        trainval, test = idx[~held], idx[held]
    train, val = train_test_split(
        trainval, test_size=config.val_fraction, stratify=prep.y[trainval], random_state=config.seed
    )
    features = [f for f in columns.features if f != columns.target]
    pre = Preprocessor().fit(prep.df.iloc[train], features)
    X = pre.transform(prep.df)
    y = prep.y
    K = len(prep.classes)
    counts = np.bincount(y[train], minlength=K).astype(float)

    if K == 2:
        net = TabularMLP(X.shape[1], 1, config.hidden, config.dropout)
        pos = prep.positive_index
        pos_weight = torch.tensor(counts[1 - pos] / max(counts[pos], 1.0), device=get_device())
        bce = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
        target = (y == pos).astype(np.float32)[:, None]

        def loss_fn(out, yb):
            return bce(out, yb)
    else:
        net = TabularMLP(X.shape[1], K, config.hidden, config.dropout)
        weights = torch.tensor(len(train) / (K * np.maximum(counts, 1.0)), dtype=torch.float32, device=get_device())
        ce = nn.CrossEntropyLoss(weight=weights)
        target = y

        def loss_fn(out, yb):
            return ce(out, yb)

    clock = time.perf_counter()
    history = fit_model(
        net, (X[train], target[train]), (X[val], target[val]), loss_fn, config.train_config(),
        progress=progress, cancel=cancel,
    )
    timings = {MODEL: time.perf_counter() - clock}
    logits = predict_batched(net, as_tensor(X[test], next(net.parameters()).device, torch.float32))
    proba_test = _proba_from_logits(logits, prep.positive_index)

    clock = time.perf_counter()
    lr = LogisticRegression(max_iter=2000).fit(X[trainval], y[trainval])
    timings[BASELINES[0]] = time.perf_counter() - clock
    clock = time.perf_counter()
    gb = HistGradientBoostingClassifier(random_state=config.seed, max_iter=200).fit(X[trainval], y[trainval])
    timings[BASELINES[1]] = time.perf_counter() - clock
    test_probs = {MODEL: proba_test, BASELINES[0]: lr.predict_proba(X[test]), BASELINES[1]: gb.predict_proba(X[test])}
    yt = y[test]
    metrics = summary_metrics(yt, proba_test, prep.positive_index)
    baseline_metrics = {name: summary_metrics(yt, test_probs[name], prep.positive_index) for name in BASELINES}
    intervals = bootstrap_intervals(yt, test_probs, prep.positive_index, config.bootstrap if len(test) < 2000 else 0, config.seed)

    rng = np.random.default_rng(config.seed)
    background = X[rng.choice(train, size=min(100, len(train)), replace=False)]
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
