"""Shared by the scenarios that flag rows by a yes/no risk (diagnosis, fraud, maintenance).

One way to do what each of them needs: the network's risk, a class-weighted loss, the two classic baselines
(gradient boosting, logistic regression) fitted and timed, and cost-per-1,000 curves for the threshold chart.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from torch import nn

from engine import evaluate
from engine.explain import Explanation, deep_explain
from engine.training import History, TrainConfig, as_tensor, fit_model, predict_batched

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


FOLDS_MAX_ROWS = 200_000  # above this many training rows the validation slice alone picks the threshold


def out_of_fold(X: np.ndarray, y: np.ndarray, rows: np.ndarray, folds: int, seed: int,
                make_net: Callable[[np.ndarray], tuple[nn.Module, Any]], train_config: TrainConfig, history: History,
                baselines: Mapping[str, Callable[[], Any]] | None = None, name: str = "network", cancel=None,
                say: Callable[[str], None] | None = None) -> dict[str, np.ndarray]:
    """Every row of `rows` scored by models trained without it (k stratified folds): thresholds chosen on these
    scores rest on all training rows, not on a small validation slice whose cheapest threshold moves a lot between
    runs (bench/threshold.py). Empty when k < 2 (too few positives) or when there are over FOLDS_MAX_ROWS rows (the
    validation slice is then large, and k more fits would be slow).

    `make_net(y_fit)` gives a fresh network and its loss for those labels; the fold networks train for the epochs
    the main one needed (`history`), with no rows left to stop them early. `baselines`: name -> unfitted estimator
    factory, scored the same way. Returns {"y": labels of `rows`, name: risks, baseline: risks, ...}."""
    k = min(folds, int(y[rows].sum()), int((y[rows] == 0).sum()))
    if k < 2 or len(rows) > FOLDS_MAX_ROWS:
        return {}
    epochs = max(history.best_epoch or len(history.epochs), 1)
    config = dataclasses.replace(train_config, max_epochs=epochs, patience=epochs + 1, lr_patience=epochs + 1)
    baselines = baselines or {}
    out = {n: np.zeros(len(rows)) for n in (name, *baselines)}
    for i, (a, b) in enumerate(StratifiedKFold(k, shuffle=True, random_state=seed).split(rows, y[rows])):
        if say:
            say(f"Choosing the alert threshold on rows the models did not see: fold {i + 1} of {k}…")
        fit_rows, score_rows = rows[a], rows[b]
        net, loss_fn = make_net(y[fit_rows])
        fit_model(net, (X[fit_rows], y[fit_rows].astype(np.float32)[:, None]), None, loss_fn, config, cancel=cancel)
        out[name][b] = risk(net.eval(), X[score_rows])
        for n, make in baselines.items():
            out[n][b] = make().fit(X[fit_rows], y[fit_rows]).predict_proba(X[score_rows])[:, 1]
    return {"y": y[rows], **out}


def threshold_rows_note(folds: int, n_val: int, n_rows: int, unit: str) -> list[str]:
    """Why the threshold fell back to the validation rows although folds were asked for (a note for the page)."""
    if folds < 2:
        return []
    why = (f"above {FOLDS_MAX_ROWS:,} training rows they are plenty, and scoring every training row by fold models "
           "would take too long" if n_rows > FOLDS_MAX_ROWS else "too few positives to split the training rows into folds")
    return [f"The alert threshold is chosen on the {n_val:,} validation {unit} ({why})."]
