"""Customer service, the networks: one text network (engine.text.TextBag) trained in the shared loop, the averaged
logits of several, and the out-of-fold scores the confidence threshold and the new-topic level are chosen on."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedKFold
from torch import nn

from engine.customer_service.scores import softmax
from engine.customer_service.spec import Config
from engine.text import TextBag, Vocabulary
from engine.training import History, TrainConfig, fit_model, predict_batched


def _train_net(
    X: np.ndarray,
    y: np.ndarray,
    val: tuple[np.ndarray, np.ndarray] | None,
    vocab: Vocabulary,
    n_out: int,
    config: Config,
    seed: int,
    progress=None,
    cancel=None,
    epochs: int | None = None,
) -> tuple[TextBag, History]:
    net = TextBag(len(vocab), n_out, config.dim, config.dropout, config.two_blocks).set_blocks(vocab.pieces())
    ce = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    changes = {"seed": seed}
    if epochs is not None:  # a fold network: as many epochs as the first one needed, nothing to stop it early
        changes.update(max_epochs=epochs, patience=epochs + 1, lr_patience=epochs + 1)
    history = fit_model(
        net,
        (X, y),
        val,
        lambda out, yb: ce(out, yb),
        TrainConfig.of(config, **changes),
        progress=progress,
        cancel=cancel,
    )
    return net, history


def _logits(nets: list[TextBag], X: np.ndarray) -> np.ndarray:
    outs = [predict_batched(n, X).cpu().numpy() for n in nets]
    return np.mean(outs, axis=0).astype(np.float64)


def out_of_fold(
    X: np.ndarray,
    y: np.ndarray,
    rows: np.ndarray,
    vocab: Vocabulary,
    n_out: int,
    config: Config,
    epochs: int,
    cancel=None,
    say=None,
) -> dict[str, np.ndarray]:
    """Every row of `rows` scored by a network trained without it (k stratified folds); fold i also leaves out of its
    training all messages of one intent (picked at random among those with enough messages), whose held-out messages
    then stand for new topics. Returns oof_conf / oof_wrong / oof_y (known intents only) and new_conf (new topics)."""
    k = config.threshold_folds
    counts = np.bincount(y[rows], minlength=n_out)
    if k < 2 or counts[counts > 0].min() < k:
        return {}
    rng = np.random.default_rng(config.seed)
    big = np.flatnonzero(counts >= 2 * k)
    left_out = rng.choice(big, size=min(k, len(big)), replace=False) if len(big) >= 3 else np.array([], int)
    conf, wrong, known = np.zeros(len(rows)), np.zeros(len(rows), bool), np.ones(len(rows), bool)
    new_conf = []
    for i, (a, b) in enumerate(StratifiedKFold(k, shuffle=True, random_state=config.seed).split(rows, y[rows])):
        if say:
            say(f"Choosing the confidence threshold on messages the network did not see: fold {i + 1} of {k}…")
        fit_rows = rows[a]
        if i < len(left_out):
            fit_rows = fit_rows[y[fit_rows] != left_out[i]]
        net, _ = _train_net(
            X[fit_rows], y[fit_rows], None, vocab, n_out, config, config.seed + 100 + i, cancel=cancel, epochs=epochs
        )
        p = softmax(_logits([net], X[rows[b]]))
        conf[b], wrong[b] = p.max(1), p.argmax(1) != y[rows[b]]
        if i < len(left_out):
            unseen = y[rows[b]] == left_out[i]
            known[b[unseen]] = False
            new_conf.append(p.max(1)[unseen])
    return {
        "oof_conf": conf[known],
        "oof_wrong": wrong[known].astype(np.uint8),
        "oof_y": y[rows][known],
        "new_conf": np.concatenate(new_conf) if new_conf else np.zeros(0),
    }
