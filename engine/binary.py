"""Shared by the scenarios that flag rows by a yes/no risk (diagnosis, fraud, maintenance).

One way to do what each of them needs: the network's risk, a class-weighted loss, the two classic baselines
(gradient boosting, logistic regression) fitted and timed, and cost-per-1,000 curves for the threshold chart.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from torch import nn

from engine import evaluate
from engine.explain import Explanation, deep_explain
from engine.training import as_tensor, predict_batched

GRADIENT_BOOSTING = "Gradient boosting"
LOGISTIC = "Logistic regression"


class TabularNet:
    """Mixin for a Fitted whose network reads the analyst's columns through its fields `preprocessor` (an
    engine.tabular.Preprocessor), `net` and `background` (encoded rows SHAP compares against)."""

    @property
    def features(self) -> list[str]:
        """The analyst's columns the model uses, in order."""
        return self.preprocessor.features

    def net_explain(self, df: pd.DataFrame, output_index: int = 0, output_name: str = "the output") -> Explanation:
        """SHAP values of one output of the network, summed back to the analyst's columns. A one-output network's
        output is the log-odds of its risk (shown in % to analysts); with several outputs it is a softmax logit."""
        return deep_explain(self.net, self.background, self.preprocessor.transform(df), df[self.features],
                            self.preprocessor.group_matrix(), self.features, output_index=output_index,
                            output_name=output_name, link="logit" if self.net.n_out == 1 else "identity")


def risk(net: nn.Module, X: np.ndarray) -> np.ndarray:
    """The sigmoid of a network's first output for every row of an encoded matrix (float64, on the net's device)."""
    device = next(net.parameters()).device
    return torch.sigmoid(predict_batched(net, as_tensor(X, device, torch.float32))[:, 0]).cpu().numpy().astype(np.float64)


def weighted_bce(pos_weight: float, device: torch.device):
    """Binary cross-entropy on logits with each positive counted `pos_weight` times (for rare positives)."""
    bce = nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pos_weight, device=device))

    def loss_fn(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return bce(logits, y.float())

    return loss_fn


def fit_baselines(X: np.ndarray, y: np.ndarray, seed: int,
                  names: Sequence[str] = (GRADIENT_BOOSTING, LOGISTIC)) -> tuple[dict[str, Any], dict[str, float]]:
    """The classic baselines fitted on (X, y), in the order of `names`, and the seconds each took."""
    make = {GRADIENT_BOOSTING: lambda: HistGradientBoostingClassifier(random_state=seed, max_iter=200),
            LOGISTIC: lambda: LogisticRegression(max_iter=2000)}
    return evaluate.timed({name: (lambda name=name: make[name]().fit(X, y)) for name in names})


def cost_curves(scores: Mapping[str, np.ndarray], y: np.ndarray, false_alarm: float, missed, caught: float = 0.0,
                max_points: int = 400) -> dict[str, pd.DataFrame]:
    """Per model: expected cost per 1,000 rows against the threshold in [0, 1], thinned for plotting."""
    out = {}
    for name, s in scores.items():
        curve = evaluate.cost_curve(s, y, false_alarm, missed, caught)
        curve["cost_per_1000"] = 1000 * curve["cost"] / max(len(y), 1)
        out[name] = evaluate.thin(curve[(curve["threshold"] >= 0) & (curve["threshold"] <= 1)], max_points)
    return out


def ranking_intervals(y: np.ndarray, scores: Mapping[str, np.ndarray], n: int, seed: int) -> dict[str, dict[str, list[float]]]:
    """95% bootstrap intervals of AUPRC and ROC-AUC on the held-out rows, per model."""
    return evaluate.bootstrap(np.asarray(y).astype(bool), scores,
                              {"auprc": average_precision_score, "roc_auc": roc_auc_score}, n, seed)


def metric_help(rows: str, positives: str, rare: bool = False) -> dict[str, str]:
    """The help texts of the ranking metrics in a page's own words (rows: 'runs', positives: 'failing runs')."""
    return {
        "auprc": f"AUPRC (area under the precision-recall curve): how well the score ranks {positives} above the other "
                 f"{rows}; 1 is perfect, and guessing gets the share of {positives}.",
        "roc_auc": f"ROC-AUC: the chance that one of the {positives} scores above one of the other {rows}; 0.5 is "
                   "guessing." + (f" It looks flattering when {positives} are rare — read AUPRC first." if rare else ""),
        "brier": "Brier score: mean squared gap between the predicted risk and what happened; lower is better, 0 is perfect.",
    }
