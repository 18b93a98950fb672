"""The one training loop: learns, stops early, reports progress, can be cancelled, is seeded."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from torch import nn

from engine.device import get_device
from engine.models import TabularMLP
from engine.training import Cancelled, TrainConfig, fit_model, predict_batched


def _data(n=600, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.float32)[:, None]
    return X, y


def _fit(seed=0, **cfg):
    X, y = _data()
    model = TabularMLP(5, 1, (16,), 0.0)
    hist = fit_model(
        model,
        (X[:400], y[:400]),
        (X[400:], y[400:]),
        nn.BCEWithLogitsLoss(),
        TrainConfig(max_epochs=cfg.pop("max_epochs", 40), batch_size=32, lr=1e-2, seed=seed, **cfg),
    )
    return model, hist, X


def test_learns_a_simple_rule():
    model, hist, X = _fit()
    acc = (
        (predict_batched(model, torch.as_tensor(X[400:], device=get_device()))[:, 0] > 0).cpu().numpy()
        == (X[400:, 0] + 0.5 * X[400:, 1] > 0)
    ).mean()
    assert acc > 0.9
    assert hist.epochs[-1]["val_loss"] < hist.epochs[0]["val_loss"]


def test_early_stopping_restores_the_best_epoch():
    model, hist, _ = _fit(max_epochs=300, patience=5)
    assert "early stop" in hist.stopped
    assert len(hist.epochs) < 300
    best = min(e["val_loss"] for e in hist.epochs)
    assert hist.epochs[hist.best_epoch - 1]["val_loss"] == pytest.approx(best)


def test_same_seed_same_model():
    a, _, X = _fit(seed=3)
    b, _, _ = _fit(seed=3)
    xt = torch.as_tensor(X, device=get_device())
    assert torch.equal(predict_batched(a, xt), predict_batched(b, xt))


def test_progress_callback_and_cancel():
    X, y = _data()
    events = []
    cancel = threading.Event()

    def progress(e):
        events.append(e)
        if e["epoch"] == 3:
            cancel.set()

    with pytest.raises(Cancelled):
        fit_model(
            TabularMLP(5, 1),
            (X, y),
            None,
            nn.BCEWithLogitsLoss(),
            TrainConfig(max_epochs=50),
            progress=progress,
            cancel=cancel,
        )
    assert [e["epoch"] for e in events] == [1, 2, 3]
    assert {"train_loss", "val_loss", "lr", "max_epochs"} <= set(events[0])


def test_parallel_runs_are_as_deterministic_as_one_alone():
    """Two jobs training at once (threads share torch's global RNG) give what each gives alone."""
    X, y = _data()

    def run(seed):
        model = TabularMLP(5, 1, (32, 16), dropout=0.3)
        fit_model(
            model,
            (X[:400], y[:400]),
            (X[400:], y[400:]),
            nn.BCEWithLogitsLoss(),
            TrainConfig(max_epochs=15, batch_size=32, seed=seed, patience=100),
        )
        return predict_batched(model, torch.as_tensor(X, device=get_device())).cpu()

    alone = {s: run(s) for s in (1, 2)}
    together = {}
    done = threading.Event()

    def build_models_meanwhile():  # a page loading a model file draws from the same global RNG
        while not done.is_set():
            TabularMLP(5, 1, (8,))

    builder = threading.Thread(target=build_models_meanwhile)
    builder.start()
    threads = [threading.Thread(target=lambda s=s: together.__setitem__(s, run(s))) for s in (1, 2, 1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    builder.join()
    for s in (1, 2):
        assert torch.equal(together[s], alone[s])


def test_a_strategy_takes_the_loops_work_only_inside_its_block():
    """Data-parallel training enters the loop as a strategy (engine.training.use_strategy), never imported by it."""
    from engine.distributed import DataParallel, data_parallel_workers, use_workers
    from engine.training import History, current_strategy, use_strategy

    class OneEpochOfNothing:
        """A strategy that trains nothing and says so, recording what the loop handed it."""

        def __init__(self):
            self.calls = []

        def fit(self, model, train, val, loss_fn, config, *, progress, cancel, device):
            self.calls.append((model, len(train[0]), config.max_epochs))
            return History(stopped="handed to the strategy")

    X, y = _data()
    model, strategy = TabularMLP(5, 1, (16,), 0.0), OneEpochOfNothing()
    with use_strategy(strategy):
        assert current_strategy() is strategy
        hist = fit_model(model, (X, y), None, nn.BCEWithLogitsLoss(), TrainConfig(max_epochs=7))
    assert hist.stopped == "handed to the strategy" and strategy.calls == [(model, len(X), 7)]
    assert current_strategy() is None
    assert "epochs" in fit_model(model, (X, y), None, nn.BCEWithLogitsLoss(), TrainConfig(max_epochs=1)).stopped
    with use_workers(1):  # one worker is the plain loop
        assert current_strategy() is None and data_parallel_workers() == 1
    with use_workers(3):
        assert current_strategy() == DataParallel(3) and data_parallel_workers() == 3


def test_a_loss_with_tensors_of_its_own_follows_the_model_to_its_device():
    """Scenarios never ask for a device: class weights built on the CPU are moved with the model by the loop."""
    X, y = _data()
    loss = nn.BCEWithLogitsLoss(pos_weight=torch.tensor(3.0))
    model = TabularMLP(5, 1, (16,), 0.0)
    fit_model(model, (X, y), None, loss, TrainConfig(max_epochs=1))
    assert loss.pos_weight.device == next(model.parameters()).device
    assert loss.pos_weight.device.type == get_device().type
