"""Data-parallel training (DDP) of the shared loop on a Ray cluster, with Ray Train's TorchTrainer.

For tables too big for one device's time budget. `use_workers(n)` (set per job by the Ray runner)
installs `DataParallel(n)` as the shared loop's strategy (`engine.training.use_strategy`), so
`fit_model` hands its work here while the scenario modules and the loop stay unchanged; this module
imports the loop, never the other way round. The loop is the same as the one-worker loop, step for step:

- Every rank draws the same shuffled order each epoch; each step's batch of `batch_size` rows is
  split by rank (rows rank, rank+N, …), and DDP averages the gradients, so one step sees the same
  rows as one worker's step (the per-rank losses are weighted by their share of the batch).
- Training and validation losses are summed over ranks (all-reduce), and each epoch ends with the
  shared loop's callbacks (engine.training: learning-rate schedule, early stopping with the best
  weights, progress), so every rank takes the same decisions the one-worker loop would.
- Stop decisions (cancel from the analyst, the time limit) are all-reduced with MAX at every
  check (`_AgreedStop`, the loop's time-limit callback): either every rank stops or none does, so
  no rank can hang in a collective.
- Rank 0 reports progress and sends the best weights back (safetensors bytes) through a small
  relay actor; this process restores them into the caller's model.

CPU workers with the gloo backend (what runs on the project's machines); GPU workers are left
for later (the loss functions of the scenarios hold tensors on the caller's device).
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import torch
from torch import nn

from engine.training import (
    Callback,
    Cancelled,
    CancelSignal,
    History,
    Loop,
    LossFn,
    ProgressFn,
    TrainConfig,
    begin,
    current_strategy,
    default_callbacks,
    end_epoch,
    end_training,
    initialise,
    seed_dropout,
    time_limit,
    use_strategy,
)

CHECK_EVERY_STEPS = 25  # how often (in steps) the ranks agree on whether to stop, besides each epoch end
STORAGE_VAR = "EXPLORER_RAY_TRAIN_STORAGE"  # Ray Train's run folder; shared storage on a multi-node cluster


@dataclass(frozen=True)
class DataParallel:
    """The shared loop's strategy (engine.training.Strategy) for `workers` Ray Train workers."""

    workers: int

    def fit(
        self,
        model: nn.Module,
        train: tuple[Any, Any],
        val: tuple[Any, Any] | None,
        loss_fn: LossFn,
        config: TrainConfig,
        *,
        progress: ProgressFn | None = None,
        cancel: CancelSignal | None = None,
        device: torch.device | None = None,
    ) -> History:
        return fit_data_parallel(
            model, train, val, loss_fn, config, progress=progress, cancel=cancel, device=device, workers=self.workers
        )


@contextlib.contextmanager
def use_workers(n: int) -> Iterator[None]:
    """Within this block (and this thread or task), the shared loop trains on `n` data-parallel workers."""
    n = max(1, int(n))
    with use_strategy(DataParallel(n) if n > 1 else None):
        yield


def data_parallel_workers() -> int:
    """How many data-parallel workers the shared loop uses here (1: the plain loop)."""
    strategy = current_strategy()
    return strategy.workers if isinstance(strategy, DataParallel) else 1


class _Relay:
    """Carries progress and the result from rank 0 to the caller, and the cancel mark the other way."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.result: tuple[str, bytes, dict[str, Any]] | None = None
        self.cancelled = False

    def push(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    def read(self, since: int) -> list[dict[str, Any]]:
        return self.events[since:]

    def cancel(self) -> None:
        self.cancelled = True

    def is_cancelled(self) -> bool:
        return self.cancelled

    def finish(self, status: str, weights: bytes, history: dict[str, Any]) -> None:
        self.result = (status, weights, history)

    def outcome(self) -> tuple[str, bytes, dict[str, Any]] | None:
        return self.result


def fit_data_parallel(
    model: nn.Module,
    train: tuple[Any, Any],
    val: tuple[Any, Any] | None,
    loss_fn: LossFn,
    config: TrainConfig,
    *,
    progress: ProgressFn | None = None,
    cancel: CancelSignal | None = None,
    device: torch.device | None = None,
    workers: int | None = None,
) -> History:
    """`fit_model` on `workers` (default: `data_parallel_workers()`) Ray Train workers; same arguments, same History.

    Raises `Cancelled` when `cancel.is_set()` (every rank stops at its next check).
    """
    import ray
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer
    from safetensors.torch import load as load_weights

    workers = workers or data_parallel_workers()
    relay: Any = ray.remote(num_cpus=0)(_Relay).remote()  # an actor handle: its methods are called with .remote()
    data = ray.put(
        {
            "train": tuple(_numpy(a) for a in train),
            "val": tuple(_numpy(a) for a in val) if val is not None and len(val[0]) else None,
        }
    )
    trainer = TorchTrainer(
        _train_loop,
        train_loop_config={"model": model.cpu(), "data": data, "loss_fn": loss_fn, "config": config, "relay": relay},
        scaling_config=ScalingConfig(num_workers=workers, use_gpu=False, resources_per_worker={"CPU": 1}),
        run_config=RunConfig(
            name=f"explorer-{uuid.uuid4().hex[:12]}",
            storage_path=os.environ.get(STORAGE_VAR) or os.path.join(tempfile.gettempdir(), "explorer-ray-train"),
        ),
    )
    failure: list[BaseException] = []

    def fit() -> None:
        try:
            trainer.fit()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            failure.append(exc)

    if progress is not None:
        progress({"message": f"Starting {workers} training workers on the cluster…", "fraction": 0.0})
    thread = threading.Thread(target=fit, name="explorer-ddp", daemon=True)
    thread.start()
    seen, told = 0, False
    while thread.is_alive():
        thread.join(0.5)
        events = ray.get(relay.read.remote(seen))
        seen += len(events)
        for event in events:
            if progress is not None:
                progress(event)
        if cancel is not None and not told and cancel.is_set():
            ray.get(relay.cancel.remote())
            told = True
            thread.join(15)  # ranks stop at their next check; one still waiting for a CPU stops when it starts
            if thread.is_alive():
                raise Cancelled()
    for event in ray.get(relay.read.remote(seen)):
        if progress is not None:
            progress(event)
    outcome = ray.get(relay.outcome.remote())
    if outcome is None:
        raise RuntimeError(f"data-parallel training ended without a result: {failure[0] if failure else 'no error'}")
    status, weights, history = outcome
    if status == "cancelled":
        raise Cancelled()
    model.load_state_dict(load_weights(weights))
    model.to(device or torch.device("cpu")).eval()
    return History.from_dict(history)


def _numpy(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _agree_to_stop(flag: bool) -> bool:
    """True on every rank when any rank wants to stop (MAX all-reduce)."""
    import torch.distributed as dist

    t = torch.tensor([1.0 if flag else 0.0])
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def _sum(values: list[float]) -> list[float]:
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


class _AgreedStop(Callback):
    """The data-parallel loop's stop decisions, taken by all ranks together (MAX all-reduce): the analyst's
    cancel (only rank 0 asks the relay) and the time limit. Used as the loop's TimeLimit callback, so it runs
    on every rank every epoch (every rank joins each collective); `between_steps()` is the mid-epoch check."""

    def __init__(self, relay: Any, rank: int) -> None:
        self.relay, self.rank, self.last_ask, self.cancelled = relay, rank, 0.0, False

    def _asked(self) -> bool:
        import ray

        if self.rank != 0 or time.monotonic() - self.last_ask < 0.25:
            return False
        self.last_ask = time.monotonic()
        return bool(ray.get(self.relay.is_cancelled.remote()))

    def between_steps(self) -> bool:
        self.cancelled = _agree_to_stop(self._asked())
        return self.cancelled

    def on_train_begin(self, loop: Loop) -> None:
        self.limit = time_limit(loop.config.max_seconds)

    def on_epoch_end(self, loop: Loop, record: dict[str, float]) -> str | None:
        import ray

        over_time = record["seconds"] > self.limit
        if not _agree_to_stop(over_time or self._asked()):
            return None
        if over_time or not ray.get(self.relay.is_cancelled.remote()):
            return f"time limit of {self.limit:.0f} s reached at epoch {loop.epoch}"
        self.cancelled = True
        return "cancelled"

    def on_train_end(self, loop: Loop) -> None: ...


def _train_loop(cfg: dict[str, Any]) -> None:
    """One rank of the data-parallel loop (runs in a Ray Train worker): the steps are split across the ranks;
    what happens at each epoch's end is the shared loop's callbacks (engine.training), which see the same
    all-reduced losses on every rank and so take the same decisions."""
    import ray
    import ray.train
    from safetensors.torch import save as save_weights
    from torch.nn.parallel import DistributedDataParallel

    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    torch.set_num_threads(1)
    model, config, loss_fn, relay = cfg["model"], cfg["config"], cfg["loss_fn"], cfg["relay"]
    data = ray.get(cfg["data"])
    gen = initialise(model, config)  # the same order on every rank
    seed_dropout(model, torch.Generator().manual_seed(config.seed + 1 + rank))
    ddp = DistributedDataParallel(model)
    # Copies: arrays from the object store are read-only.
    Xtr = torch.tensor(np.asarray(data["train"][0]), dtype=torch.float32)
    ytr = torch.tensor(np.asarray(data["train"][1]))
    Xva: torch.Tensor | None = None
    yva: torch.Tensor | None = None
    if data["val"] is not None:  # each rank scores its share of the validation rows
        Xva = torch.tensor(np.asarray(data["val"][0][rank::world]), dtype=torch.float32)
        yva = torch.tensor(np.asarray(data["val"][1][rank::world]))
    n = len(Xtr)
    batch = min(config.batch_size, n)
    steps = math.ceil(n / batch)
    stopper = _AgreedStop(relay, rank)
    report = (lambda event: relay.push.remote({**event, "workers": world})) if rank == 0 else None
    hooks = default_callbacks(report, time_limit=stopper)
    loop, t0 = begin(model, ddp.parameters(), config, hooks)
    opt = loop.optimizer
    step_loss = model.training_loss(loss_fn) if hasattr(model, "training_loss") else loss_fn  # as in fit_model
    for epoch in range(1, config.max_epochs + 1):
        loop.epoch = epoch
        ddp.train()
        order = torch.randperm(n, generator=gen)
        running = 0.0
        counted = 0
        for step in range(steps):
            if step % CHECK_EVERY_STEPS == 0 and stopper.between_steps():
                break
            chunk = order[step * batch : (step + 1) * batch]
            if len(chunk) < world:  # too few rows left to give every rank one: skipped on every rank alike
                continue
            mine = chunk[rank::world]
            out = ddp(Xtr[mine])
            loss = step_loss(out.float(), ytr[mine])
            # DDP averages gradients over ranks: weight each rank's mean by its share of the batch.
            (loss * (len(mine) * world / len(chunk))).backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            running += float(loss.detach()) * len(mine)
            counted += len(mine)
        if stopper.cancelled:
            break
        val_sum, val_n = 0.0, 0.0
        if Xva is not None:
            model.eval()
            with torch.no_grad():
                if len(Xva):
                    val_sum, val_n = float(loss_fn(model(Xva).float(), yva)) * len(Xva), len(Xva)
        tr_sum, tr_n, val_sum, val_n = _sum([running, counted, val_sum, val_n])
        train_loss = tr_sum / max(tr_n, 1)
        record = {
            "epoch": epoch,
            "train_loss": train_loss,
            "val_loss": val_sum / max(val_n, 1) if Xva is not None else train_loss,
            "lr": opt.param_groups[0]["lr"],
            "seconds": time.perf_counter() - t0,
        }
        if end_epoch(loop, hooks, record):
            break
    history = end_training(loop, hooks, t0)  # the best epoch's weights are back in `model`
    history.stopped += f" ({world} data-parallel workers)"
    if rank == 0:
        status = "cancelled" if stopper.cancelled else "done"
        weights = save_weights({k: v.contiguous() for k, v in model.state_dict().items()}) if status == "done" else b""
        ray.get(relay.finish.remote(status, weights, history.to_dict()))
