"""Training the digit recognizer: the MLP, the CNN (on augmented images) and the logistic regression on one split."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from torch import nn

from engine import evaluate
from engine.digits.images import Prepared, prepare
from engine.digits.model import DigitModel, summary_metrics
from engine.digits.networks import DigitCNN, make_mlp
from engine.digits.spec import (
    ARTICLE,
    BASELINES,
    LOGREG,
    MLP,
    MODEL,
    MODELS,
    N_PIXELS,
    SIDE,
    DigitColumns,
    DigitConfig,
    article_training,
)
from engine.models import TabularMLP
from engine.training import Cancelled, History, Progress, ProgressFn, fit_model, seed_everything


def augment(
    X: np.ndarray,
    copies: int = 1,
    seed: int = 0,
    max_degrees: float = 12.0,
    max_shift: float = 2.5,
    max_zoom: float = 0.1,
) -> np.ndarray:
    """Randomly turned (±12°), shifted (±2.5 px) and resized (±10%) copies of flat 28×28 images (0–1)."""
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(seed)
    x = torch.as_tensor(np.asarray(X, dtype=np.float32)).reshape(-1, 1, SIDE, SIDE)
    n, out = len(x), []
    for _ in range(copies):
        angle = (torch.rand(n, generator=g) * 2 - 1) * math.radians(max_degrees)
        zoom = 1 + (torch.rand(n, generator=g) * 2 - 1) * max_zoom
        shift = (torch.rand(n, 2, generator=g) * 2 - 1) * (max_shift / (SIDE / 2))
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        out.append(F.grid_sample(x, grid, align_corners=False, padding_mode="zeros").reshape(n, N_PIXELS).numpy())
    return np.concatenate(out) if out else np.empty((0, N_PIXELS), np.float32)


def _split(y: np.ndarray, fraction: float, seed: int, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split of positions `idx`; the held-out part has at least one image per digit present."""
    k = len(np.unique(y[idx]))
    n_out = min(max(int(round(fraction * len(idx))), k), len(idx) - k)
    return train_test_split(idx, test_size=n_out, stratify=y[idx], random_state=seed)


def _fit_logreg(X: np.ndarray, y: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """The logistic regression baseline on pixels / 255 as ten weight vectors ("coef" (10, 784), "intercept" (10,)),
    and its seconds."""
    with warnings.catch_warnings():  # 200 iterations are enough for a baseline; no convergence chatter in the log
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted, took = evaluate.timed({LOGREG: lambda: LogisticRegression(C=0.1, max_iter=200).fit(X, y)})
    lr = fitted[LOGREG]
    coef = np.zeros((10, N_PIXELS), np.float32)
    intercept = np.full(10, -1e4, np.float32)  # a digit absent from training is never predicted
    if len(lr.classes_) == 2:  # sklearn keeps one weight vector for two classes
        coef[lr.classes_] = np.stack([-lr.coef_[0], lr.coef_[0]]) / 2
        intercept[lr.classes_] = np.array([-lr.intercept_[0], lr.intercept_[0]]) / 2
    else:
        coef[lr.classes_], intercept[lr.classes_] = lr.coef_, lr.intercept_
    return {"coef": coef, "intercept": intercept}, took


def _positions(prep: Prepared, y: np.ndarray, config: DigitConfig) -> tuple[np.ndarray, ...]:
    """The training, validation and test positions: (trainval, train, val) in the training table and the test
    images, labels and rows (the separate test file's, or those held out of the training table)."""
    idx = np.arange(len(y))
    if prep.test is not None:
        trainval, Xt, yt, test_rows = idx, prep.test.X, prep.test.labels, prep.test.rows
    else:
        trainval, test = _split(y, config.test_fraction, config.seed, idx)
        Xt, yt, test_rows = prep.train.X[test], y[test], prep.train.rows[test]
    train, val = _split(
        y, ARTICLE["val_fraction"] if config.article_recipe else config.val_fraction, config.seed, trainval
    )
    return trainval, train, val, Xt, yt, test_rows


def _train_mlp(
    X: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    val: np.ndarray,
    config: DigitConfig,
    stage: ProgressFn | None,
    cancel,
) -> tuple[TabularMLP, History]:
    """The MLP on the training positions, with the article's recipe or the page's settings: (network, history)."""
    mlp = make_mlp()
    ce = nn.CrossEntropyLoss()
    if config.article_recipe:
        loop, hooks = article_training(config, stage)
        history = fit_model(mlp, (X[train], y[train]), (X[val], y[val]), ce, loop, callbacks=hooks, cancel=cancel)
    else:
        history = fit_model(
            mlp,
            (X[train], y[train]),
            (X[val], y[val]),
            ce,
            config.train_config(config.mlp_epochs, len(train)),
            progress=stage,
            cancel=cancel,
        )
    return mlp, history


def _train_cnn(
    X: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    val: np.ndarray,
    config: DigitConfig,
    steps: Progress,
    offset: int,
    cancel,
) -> tuple[DigitCNN, History, int]:
    """The CNN on the training positions (and their augmented copies when asked): (network, history, images added)."""
    Xc, yc = X[train], y[train]
    if config.augment:
        Xc = np.concatenate([Xc, augment(Xc, 1, config.seed)])
        yc = np.concatenate([yc, yc])
    cnn = DigitCNN(config.channels)
    history = fit_model(
        cnn,
        (Xc, yc),
        (X[val], y[val]),
        nn.CrossEntropyLoss(),
        config.train_config(config.cnn_epochs, len(train)),
        progress=steps.stage(MODEL, offset, offset + config.cnn_epochs),
        cancel=cancel,
    )
    return cnn, history, len(Xc) - len(train)


def _measure(
    model: DigitModel,
    X: np.ndarray,
    train: np.ndarray,
    Xt: np.ndarray,
    yt: np.ndarray,
    test_rows: np.ndarray,
    n_augmented: int,
) -> None:
    """All three models on the same test images: their probabilities, metrics, SHAP background and notes."""
    config = model.config
    probs = {m: model.proba(Xt, m) for m in MODELS}
    model.test = {"y": yt, "X": np.clip(np.rint(Xt), 0, 255).astype(np.uint8), "row": test_rows, **probs}
    model.metrics = summary_metrics(yt, probs[MODEL])
    model.baseline_metrics = {m: summary_metrics(yt, probs[m]) for m in BASELINES}
    model.background = evaluate.background_sample(X, train, config.seed).astype(np.float32)
    if config.augment:
        model.notes = model.notes + [
            f"The CNN also trained on {n_augmented:,} shifted, turned and resized copies of the training images."
        ]
    if config.article_recipe:
        model.notes = model.notes + [article_note(model)]


def fit(
    df: pd.DataFrame,
    columns: DigitColumns = DigitColumns(),
    config: DigitConfig = DigitConfig(),
    progress=None,
    cancel=None,
    test_df: pd.DataFrame | None = None,
) -> DigitModel:
    """Train the logistic regression, the MLP and the CNN on one split and measure all three on the same test images.

    With `test_df` (labelled, same layout) the models are measured on it and all of `df` trains;
    otherwise `config.test_fraction` of `df` is held out (stratified by digit).
    """
    prep = prepare(df, columns, test_df)
    seed_everything(config.seed)
    X, y = prep.train.X / 255.0, prep.train.labels
    trainval, train, val, Xt, yt, test_rows = _positions(prep, y, config)
    mlp_epochs = ARTICLE["epochs"] if config.article_recipe else config.mlp_epochs
    total = mlp_epochs + config.cnn_epochs
    steps = Progress(progress)
    mlp, mlp_history = _train_mlp(X, y, train, val, config, steps.stage(MLP, 0, total), cancel)
    cnn, cnn_history, n_augmented = _train_cnn(X, y, train, val, config, steps, len(mlp_history.epochs), cancel)

    # the baseline last: the networks report progress at once, the page never waits silently
    if cancel is not None and cancel.is_set():
        raise Cancelled()
    logreg, took = _fit_logreg(X[trainval], y[trainval])
    seconds = {MLP: mlp_history.seconds, MODEL: cnn_history.seconds, **took}  # the model's `timings`

    model = DigitModel(
        columns=columns,
        config=config,
        cnn=cnn,
        mlp=mlp,
        logreg=logreg,
        background=np.empty((0, N_PIXELS), np.float32),
        histories={MLP: mlp_history, MODEL: cnn_history},
        history=cnn_history,
        test={},
        notes=prep.notes,
        timings=seconds,
        n_rows={
            "train": len(train),
            "validation": len(val),
            "test": len(yt),
            "separate_test": int(prep.test is not None),
            "augmented": n_augmented,
        },
    )
    _measure(model, X, train, Xt, yt, test_rows, n_augmented)
    return model


def article_note(model: DigitModel) -> str:
    """One sentence: what the article's recipe reached here, beside the CNN and the article's own figure."""
    acc, cnn = model.baseline_metrics[MLP]["accuracy"], model.metrics["accuracy"]
    return (
        f"The article's recipe (MLP 784-128-10, plain Adam, {ARTICLE['epochs']} epochs, batch {ARTICLE['batch_size']}, "
        f"10% validation, no early stopping) reached {acc:.1%} on these {len(model.test['y']):,} held-out images, "
        f"beside the CNN's {cnn:.1%}. The article reports about {ARTICLE['reported_accuracy']:.0%} on the full MNIST, "
        f"which trains on 60,000 images; this run trained on {model.n_rows['train']:,}."
    )
