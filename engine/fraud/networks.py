"""Fraud detection's networks and losses: the classifier with its loss for rare frauds (class-weighted or focal),
and the autoencoder whose reconstruction error is the anomaly score (trained with a trimmed loss)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from engine.binary import weighted_bce
from engine.fraud.spec import FraudConfig
from engine.models import TabularMLP, tabular_network
from engine.training import History, LossFn, as_tensor, fit_model, model_device, predict_batched


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
    history = fit_model(
        net,
        (X[train], X[train]),
        (X[val], X[val]),
        trimmed_mse(config.trim),
        config.train_config(len(train)),
        progress=progress,
        cancel=cancel,
    )
    ref = float(np.quantile(_recon_errors(net, X[train]), 0.95)) or 1e-12
    return net, history, ref


def _classifier(X_train: np.ndarray, y_train: np.ndarray, config: FraudConfig) -> tuple[nn.Module, LossFn]:
    """The fraud network and its loss for these training labels (weighted or focal, for rare frauds)."""
    n_pos = float(y_train.sum())
    if config.loss == "focal":
        loss_fn = focal_loss(alpha=min(0.75, max(0.25, 1 - n_pos / len(y_train))))
    else:
        loss_fn = weighted_bce((len(y_train) - n_pos) / max(n_pos, 1.0))
    return tabular_network(X_train, 1, config.hidden, config.dropout), loss_fn
