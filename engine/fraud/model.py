"""The fitted fraud detector, `FraudModel`: scores and flags, reasons in words, thresholds from money, curves, and
the rows an analyst reads; `load` reads a model file back (weights and JSON only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Sequence

import numpy as np
import pandas as pd
import torch

from engine import binary, evaluate
from engine.explain import Explanation, deep_explain
from engine.fraud.networks import _error_score, _recon_errors
from engine.fraud.spec import (
    ABOUT,
    AE_REFERENCE,
    AT_THRESHOLD_KEYS,
    AUTOENCODER,
    CLASSIFIER,
    KIND,
    LABELLED_BASELINES,
    REASON_ROWS_LIMIT,
    UNLABELLED_BASELINES,
    Costs,
    FraudColumns,
    FraudConfig,
)
from engine.models import TabularMLP
from engine.scenario import Fitted
from engine.tabular import Preprocessor
from engine.training import as_tensor, model_device, predict_batched

MINUS = "\u2212"


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
    word = (
        "extremely low"
        if v < q01
        else "unusually low"
        if v < q05
        else "low"
        if v < q25
        else "extremely high"
        if v > q99
        else "unusually high"
        if v > q95
        else "high"
        if v > q75
        else "typical"
    )
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
            return deep_explain(
                self.net, self.background, X, rows, G, self.features, 0, output_name="the fraud score", link="logit"
            )
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
        return binary.cost_curves(
            {name: part[name]},
            part["y"],
            costs.false_alarm,
            costs.miss_costs(part.get("amount"), len(part["y"])),
            costs.caught,
            max_points=600,
        )[name]

    def evaluate(
        self, costs: Costs, threshold: float | None = None, capacity: float | None = None
    ) -> dict[str, dict[str, float]]:
        """Test-row metrics per model: the main model at `threshold` (default its optimum), others at their optimum
        (within `capacity` alerts per 1,000 when given)."""
        if not self.has_label:
            return {}
        y = self.test["y"]
        none_cost = self.no_model_cost(costs)
        out = {}
        for name in self.model_names():
            t = (
                threshold
                if (threshold is not None and name == self.model_name)
                else self.cheapest_threshold(costs, capacity, name)
            )
            s = self.test[name]
            at = evaluate.at_threshold(y, s, t)
            m = {**evaluate.ranking(y, s), **{k: at[k] for k in AT_THRESHOLD_KEYS}, "threshold": t}
            cost = self.held_out_cost(costs, t, name)
            m.update(
                cost=cost,
                cost_per_1000=1000 * cost / len(y),
                saving_vs_none=none_cost - cost,
                fraud_rate=float(y.mean()),
            )
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
