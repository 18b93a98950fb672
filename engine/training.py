"""The one training loop every torch model in the engine uses.

Tensors are moved to the device once and batches are index slices of a shuffled
permutation (no DataLoader for in-memory data). Early stopping on a validation split
restores the best weights; the learning rate halves when validation stalls; bf16
autocast runs on CUDA. Progress leaves through a callback, so the loop knows nothing
about who listens; a cancel signal (anything with `is_set()`) stops it between batches.
"""
from __future__ import annotations

import copy
import math
import os
import random
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Protocol

import numpy as np
import torch
from torch import nn

from engine.device import autocast, get_device
from engine.distributed import data_parallel_workers
from engine.models import RNG_LOCK, Dropout

# The global torch RNG is shared by all threads: seeding and weight initialisation happen under
# this lock (which every module constructor takes too), and dropout draws from a per-run
# generator, so parallel jobs stay deterministic.
_INIT_LOCK = RNG_LOCK

# The server's ceiling on any one network's training time, whatever a page option asks for.
SERVER_MAX_SECONDS_VAR = "EXPLORER_MAX_TRAIN_SECONDS"


def time_limit(requested: float | None) -> float:
    """Seconds a network may train: the requested limit, capped by EXPLORER_MAX_TRAIN_SECONDS (default 1800)."""
    ceiling = float(os.environ.get(SERVER_MAX_SECONDS_VAR, "1800"))
    return min(requested, ceiling) if requested is not None else ceiling


ProgressFn = Callable[[dict[str, Any]], None]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class CancelSignal(Protocol):
    def is_set(self) -> bool: ...


class Cancelled(Exception):
    """Training was cancelled by the analyst."""


@dataclass(frozen=True)
class TrainConfig:
    max_epochs: int = 200
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 20
    lr_patience: int = 8
    lr_factor: float = 0.5
    seed: int = 0
    max_seconds: float | None = 600.0
    # Re-initialise the weights from the seed, so the same seed gives the same model whatever
    # the caller did before. Set False to continue training (fine-tuning) a model.
    reset_parameters: bool = True

    def __post_init__(self):
        if self.max_epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError("max_epochs and batch_size must be >= 1 and lr > 0")


@dataclass
class History:
    epochs: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    stopped: str = ""  # why training ended, in words
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "History":
        return cls(**d)


def seed_everything(seed: int) -> torch.Generator:
    """Seed python, numpy and torch; return a torch generator for shuffling."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def as_tensor(x: Any, device: torch.device, dtype: torch.dtype | None = None) -> torch.Tensor:
    t = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    return t.to(device=device, dtype=dtype or t.dtype)


@torch.no_grad()
def predict_batched(model: nn.Module, X: torch.Tensor, batch_size: int = 8192) -> torch.Tensor:
    """Model outputs for X in eval mode, in float32, on X's device."""
    model.eval()
    outs = []
    for start in range(0, len(X), batch_size):
        with autocast(X.device):
            outs.append(model(X[start : start + batch_size]).float())
    return torch.cat(outs) if outs else torch.empty(0)


def _mean_loss(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: LossFn, batch_size: int) -> float:
    model.eval()
    total = torch.zeros((), device=X.device)
    with torch.no_grad():
        for start in range(0, len(X), batch_size):
            xb, yb = X[start : start + batch_size], y[start : start + batch_size]
            with autocast(X.device):
                out = model(xb)
            total += loss_fn(out.float(), yb) * len(xb)
    return float(total) / max(len(X), 1)


def _seed_dropout(model: nn.Module, generator: torch.Generator) -> None:
    """Give every dropout layer the run's own generator (plain nn.Dropout is swapped in place)."""
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is nn.Dropout:
                child = Dropout(child.p)
                setattr(parent, name, child)
            if isinstance(child, Dropout):
                child.generator = generator


def fit_model(
    model: nn.Module,
    train: tuple[Any, Any],
    val: tuple[Any, Any] | None,
    loss_fn: LossFn,
    config: TrainConfig = TrainConfig(),
    *,
    progress: ProgressFn | None = None,
    cancel: CancelSignal | None = None,
    device: torch.device | None = None,
) -> History:
    """Train `model` in place on (X, y); returns the per-epoch history.

    `loss_fn(output, y)` must return the mean loss of a batch. With `val`, early stopping
    and the LR schedule watch the validation loss and the best weights are restored.
    Raises `Cancelled` when `cancel.is_set()`. Under `engine.distributed.use_workers(n > 1)` the same
    loop runs data-parallel on a Ray cluster.
    """
    if data_parallel_workers() > 1:
        from engine.distributed import fit_data_parallel

        return fit_data_parallel(model, train, val, loss_fn, config, progress=progress, cancel=cancel, device=device)
    device = device or get_device()
    with _INIT_LOCK:
        gen = seed_everything(config.seed)
        if config.reset_parameters:
            for module in model.modules():
                if hasattr(module, "reset_parameters"):
                    module.reset_parameters()
    model.to(device)
    _seed_dropout(model, torch.Generator(device=device).manual_seed(config.seed + 1))
    Xtr, ytr = as_tensor(train[0], device, torch.float32), as_tensor(train[1], device)
    if val is not None and len(val[0]) > 0:
        Xva, yva = as_tensor(val[0], device, torch.float32), as_tensor(val[1], device)
    else:
        Xva = yva = None
    n = len(Xtr)
    if n == 0:
        raise ValueError("no training rows")
    batch = min(config.batch_size, n)
    steps = math.ceil(n / batch)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, mode="min", factor=config.lr_factor, patience=config.lr_patience
    )
    history = History()
    max_seconds = time_limit(config.max_seconds)
    best, best_state, bad_epochs = math.inf, None, 0
    t0 = time.perf_counter()
    for epoch in range(1, config.max_epochs + 1):
        model.train()
        order = torch.randperm(n, generator=gen).to(device)
        running = torch.zeros((), device=device)
        for step in range(steps):
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            idx = order[step * batch : (step + 1) * batch]
            xb, yb = Xtr[idx], ytr[idx]
            with autocast(device):
                out = model(xb)
            loss = loss_fn(out.float(), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            running += loss.detach() * len(idx)
        train_loss = float(running) / n
        val_loss = _mean_loss(model, Xva, yva, loss_fn, 8192) if Xva is not None else train_loss
        monitored = val_loss
        sched.step(monitored)
        record = {
            "epoch": epoch,
            "train_loss": train_loss,
            "val_loss": val_loss,
            "lr": opt.param_groups[0]["lr"],
            "seconds": time.perf_counter() - t0,
        }
        history.epochs.append(record)
        if monitored < best - 1e-6:
            best, bad_epochs, history.best_epoch = monitored, 0, epoch
            best_state = copy.deepcopy(model.state_dict())
        else:
            bad_epochs += 1
        if progress is not None:
            progress({**record, "max_epochs": config.max_epochs, "best_epoch": history.best_epoch})
        if not math.isfinite(train_loss):
            history.stopped = f"stopped at epoch {epoch}: the loss became infinite (try a lower learning rate)"
            break
        if bad_epochs >= config.patience:
            history.stopped = f"early stop at epoch {epoch}: no improvement for {config.patience} epochs"
            break
        if record["seconds"] > max_seconds:
            history.stopped = f"time limit of {max_seconds:.0f} s reached at epoch {epoch}"
            break
    else:
        history.stopped = f"ran all {config.max_epochs} epochs"
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    history.seconds = time.perf_counter() - t0
    return history
