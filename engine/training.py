"""The one training loop every torch model in the engine uses.

Tensors are moved to the device once and batches are index slices of a shuffled
permutation (no DataLoader for in-memory data). Early stopping on a validation split
restores the best weights; the learning rate halves when validation stalls; bf16
autocast runs on CUDA. Progress leaves through a callback, so the loop knows nothing
about who listens; a cancel signal (anything with `is_set()`) stops it between batches.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import math
import os
import random
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Callable, Iterator, Protocol

import numpy as np
import torch
from torch import nn

from engine.device import autocast, get_device
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

    @classmethod
    def of(cls, options: Any, **changes: Any) -> TrainConfig:
        """The loop's settings taken from a scenario's Config (the fields both share), with `changes` on top."""
        shared = {f.name for f in fields(cls)} & {f.name for f in fields(options)}
        return cls(**{**{k: getattr(options, k) for k in shared}, **changes})


@dataclass
class History:
    epochs: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    stopped: str = ""  # why training ended, in words
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
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


def place(x: Any, dtype: torch.dtype | None = None) -> Any:
    """A module, tensor or array on the device training runs on (engine.device decides: EXPLORER_DEVICE, a job's
    `use_device`). With the `Fitted` base (engine.scenario), the one owner of device placement: scenarios and views
    never ask for a device, they hand their tensors here or to the loop."""
    device = get_device()
    if isinstance(x, nn.Module):
        return x.to(device)
    return as_tensor(x, device, dtype)


def trains_on_gpu() -> bool:
    """Whether networks train on a CUDA GPU here (for the words of a time estimate; placement stays with `place`)."""
    return get_device().type == "cuda"


def model_device(model: nn.Module) -> torch.device:
    """Where a model's weights (else its buffers) live; the CPU for a model with neither."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


@torch.no_grad()
def predict_batched(model: nn.Module, X: Any, batch_size: int = 8192) -> torch.Tensor:
    """Model outputs for X (an array or tensor of numbers, taken as float32 and placed beside the model's weights, so
    callers never ask for a device) in eval mode, in float32, on the model's device."""
    X = as_tensor(X, model_device(model), torch.float32)
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


def initialise(model: nn.Module, config: TrainConfig) -> torch.Generator:
    """Seed everything and (unless fine-tuning) re-initialise the weights from the seed; the shuffling generator."""
    with _INIT_LOCK:
        gen = seed_everything(config.seed)
        if config.reset_parameters:
            for module in model.modules():
                reset = getattr(module, "reset_parameters", None)
                if callable(reset):
                    reset()
    return gen


def seed_dropout(model: nn.Module, generator: torch.Generator) -> None:
    """Give every dropout layer the run's own generator (plain nn.Dropout is swapped in place)."""
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is nn.Dropout:
                child = Dropout(child.p)
                setattr(parent, name, child)
            if isinstance(child, Dropout):
                child.generator = generator


class Progress:
    """The one adapter between a job's progress function and the steps of a fit (None: nobody listens).

    `progress(event)` forwards an event; `say(message)` shows a message while keeping the last numbers (the
    loss curve stays on screen); `stage(model, offset, total)` gives the progress function of one network
    among several, its epochs numbered across all of them so the bar only moves forward."""

    def __init__(self, progress: ProgressFn | None):
        self.fn = progress
        self.last: dict[str, Any] = {}

    def __call__(self, event: dict[str, Any]) -> None:
        self.last = dict(event)
        if self.fn is not None:
            self.fn(event)

    def say(self, message: str, **extra: Any) -> None:
        if self.fn is not None:
            self.fn({**self.last, "message": message, **extra})

    def stage(self, model: str, offset: int = 0, total: int | None = None) -> ProgressFn | None:
        if self.fn is None:
            return None

        def report(event: dict[str, Any]) -> None:
            numbered = {
                **event,
                "model": model,
                "epoch": offset + event["epoch"],
                "best_epoch": offset + event.get("best_epoch", 0),
            }
            if total is not None:
                numbered["max_epochs"] = total
            self(numbered)

        return report


class Callback:
    """A hook into `fit_model` (skorch's callbacks): override what you need. `on_epoch_end` returns a
    reason in words to stop training, or None. Callbacks run in list order; all of them run every
    epoch, and the first reason given wins."""

    def on_train_begin(self, loop: Loop) -> None: ...

    def on_epoch_end(self, loop: Loop, record: dict[str, float]) -> str | None: ...

    def on_train_end(self, loop: Loop) -> None: ...


@dataclass
class Loop:
    """What callbacks may read (and the optimiser they may steer) while `fit_model` runs."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    config: TrainConfig
    history: History
    epoch: int = 0


class StopOnNonFinite(Callback):
    def on_epoch_end(self, loop: Loop, record: dict[str, float]) -> str | None:
        if not math.isfinite(record["train_loss"]):
            return f"stopped at epoch {loop.epoch}: the loss became infinite (try a lower learning rate)"
        return None


class ReduceLROnPlateau(Callback):
    """Halve (lr_factor) the learning rate when the monitored loss stalls for lr_patience epochs."""

    def on_train_begin(self, loop: Loop) -> None:
        self.sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
            loop.optimizer, mode="min", factor=loop.config.lr_factor, patience=loop.config.lr_patience
        )

    def on_epoch_end(self, loop: Loop, record: dict[str, float]) -> str | None:
        self.sched.step(record["val_loss"])
        record["lr"] = loop.optimizer.param_groups[0]["lr"]
        return None


class EarlyStopping(Callback):
    """Keep the weights of the best epoch (lowest validation loss), stop after `patience` epochs without
    improvement, and put the best weights back at the end."""

    def on_train_begin(self, loop: Loop) -> None:
        self.best, self.bad = math.inf, 0
        self.state: dict[str, Any] | None = None

    def on_epoch_end(self, loop: Loop, record: dict[str, float]) -> str | None:
        if record["val_loss"] < self.best - 1e-6:
            self.best, self.bad, loop.history.best_epoch = record["val_loss"], 0, loop.epoch
            self.state = copy.deepcopy(loop.model.state_dict())
        else:
            self.bad += 1
        if self.bad >= loop.config.patience:
            return f"early stop at epoch {loop.epoch}: no improvement for {loop.config.patience} epochs"
        return None

    def on_train_end(self, loop: Loop) -> None:
        if self.state is not None:
            loop.model.load_state_dict(self.state)


class ReportProgress(Callback):
    """Send each epoch's numbers to the page's progress function (the loop knows nothing of who listens)."""

    def __init__(self, progress: ProgressFn):
        self.progress = progress

    def on_epoch_end(self, loop: Loop, record: dict[str, float]) -> str | None:
        self.progress({**record, "max_epochs": loop.config.max_epochs, "best_epoch": loop.history.best_epoch})
        return None


class TimeLimit(Callback):
    """Stop once the training time passes the config's limit, capped by the server's (EXPLORER_MAX_TRAIN_SECONDS)."""

    def on_train_begin(self, loop: Loop) -> None:
        self.limit = time_limit(loop.config.max_seconds)

    def on_epoch_end(self, loop: Loop, record: dict[str, float]) -> str | None:
        if record["seconds"] > self.limit:
            return f"time limit of {self.limit:.0f} s reached at epoch {loop.epoch}"
        return None


def default_callbacks(progress: ProgressFn | None = None, time_limit: Callback | None = None) -> list[Callback]:
    """What every network gets unless its scenario says otherwise, in the order they run. `time_limit` replaces
    TimeLimit (the data-parallel loop's own, whose stop decision all the ranks take together)."""
    return [
        StopOnNonFinite(),
        ReduceLROnPlateau(),
        EarlyStopping(),
        *([ReportProgress(progress)] if progress is not None else []),
        time_limit or TimeLimit(),
    ]


def begin(model: nn.Module, params: Any, config: TrainConfig, hooks: list[Callback]) -> tuple[Loop, float]:
    """Before the first epoch: the optimiser over `params`, the loop's state, the callbacks' start; (loop, t0)."""
    opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    loop = Loop(model, opt, config, History())
    for cb in hooks:
        cb.on_train_begin(loop)
    return loop, time.perf_counter()


def end_epoch(loop: Loop, hooks: list[Callback], record: dict[str, float]) -> bool:
    """Record an epoch and run every callback on it; True (with `history.stopped` set) when one says stop."""
    loop.history.epochs.append(record)
    reasons = [cb.on_epoch_end(loop, record) for cb in hooks]
    stop = next((r for r in reasons if r), None)
    if stop:
        loop.history.stopped = stop
    return bool(stop)


def end_training(loop: Loop, hooks: list[Callback], t0: float) -> History:
    """After the last epoch: the reason when all epochs ran, the callbacks' endings (best weights back), timing."""
    if not loop.history.stopped:
        loop.history.stopped = f"ran all {loop.config.max_epochs} epochs"
    for cb in hooks:
        cb.on_train_end(loop)
    loop.model.eval()
    loop.history.seconds = time.perf_counter() - t0
    return loop.history


class Strategy(Protocol):
    """Another way to run `fit_model` (same arguments, same History), installed with `use_strategy`: the loop
    hands its work to it. engine/distributed.py's `DataParallel` (Ray Train) is one; the loop never imports it,
    so the layers point one way (a runner installs the strategy for a job, the scenario modules stay unchanged)."""

    def fit(
        self,
        model: nn.Module,
        train: tuple[Any, Any],
        val: tuple[Any, Any] | None,
        loss_fn: LossFn,
        config: TrainConfig,
        *,
        progress: ProgressFn | None,
        cancel: CancelSignal | None,
        device: torch.device | None,
    ) -> History: ...


_STRATEGY: contextvars.ContextVar[Strategy | None] = contextvars.ContextVar("explorer_strategy", default=None)


@contextlib.contextmanager
def use_strategy(strategy: Strategy | None) -> Iterator[None]:
    """Within this block (and this thread or task), `fit_model` runs through `strategy` (None: the plain loop)."""
    token = _STRATEGY.set(strategy)
    try:
        yield
    finally:
        _STRATEGY.reset(token)


def current_strategy() -> Strategy | None:
    """The strategy `fit_model` hands its work to here (None: the plain loop below)."""
    return _STRATEGY.get()


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
    callbacks: list[Callback] | None = None,
) -> History:
    """Train `model` in place on (X, y); returns the per-epoch history.

    `loss_fn(output, y)` must return the mean loss of a batch; a loss that is an `nn.Module` (say
    `BCEWithLogitsLoss(pos_weight=...)`) is moved to the training device with the model. Early stopping,
    the learning-rate schedule, progress and the time limit are callbacks (`default_callbacks(progress)`
    unless `callbacks` is given); without `val` they watch the training loss. Raises `Cancelled` when
    `cancel.is_set()` (checked between batches). Under `use_strategy(s)` the work goes to `s.fit` instead
    (e.g. data-parallel on a Ray cluster, engine/distributed.py; custom callbacks do not apply there).
    """
    strategy = current_strategy()
    if strategy is not None:
        return strategy.fit(model, train, val, loss_fn, config, progress=progress, cancel=cancel, device=device)
    device = device or get_device()
    gen = initialise(model, config)
    model.to(device)
    if isinstance(loss_fn, nn.Module):  # a loss with tensors of its own (class weights): they follow the model
        loss_fn.to(device)
    seed_dropout(model, torch.Generator(device=device).manual_seed(config.seed + 1))
    Xtr, ytr = as_tensor(train[0], device, torch.float32), as_tensor(train[1], device)
    Xva: torch.Tensor | None = None
    yva: torch.Tensor | None = None
    if val is not None and len(val[0]) > 0:
        Xva, yva = as_tensor(val[0], device, torch.float32), as_tensor(val[1], device)
    n = len(Xtr)
    if n == 0:
        raise ValueError("no training rows")
    batch = min(config.batch_size, n)
    steps = math.ceil(n / batch)
    hooks = callbacks if callbacks is not None else default_callbacks(progress)
    loop, t0 = begin(model, model.parameters(), config, hooks)
    opt = loop.optimizer
    member_loss = getattr(model, "training_loss", None)
    step_loss = member_loss(loss_fn) if member_loss is not None else loss_fn  # e.g. per ensemble member
    for epoch in range(1, config.max_epochs + 1):
        loop.epoch = epoch
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
            loss = step_loss(out.float(), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            running += loss.detach() * len(idx)
        train_loss = float(running) / n
        val_loss = _mean_loss(model, Xva, yva, loss_fn, 8192) if Xva is not None and yva is not None else train_loss
        record = {
            "epoch": epoch,
            "train_loss": train_loss,
            "val_loss": val_loss,
            "lr": opt.param_groups[0]["lr"],
            "seconds": time.perf_counter() - t0,
        }
        if end_epoch(loop, hooks, record):
            break
    return end_training(loop, hooks, t0)
