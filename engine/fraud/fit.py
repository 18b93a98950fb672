"""Training fraud detection on one split: the network (labelled: a classifier beside gradient boosting, logistic
regression, out-of-fold scores for the threshold and a label-free reference autoencoder; unlabelled: an
autoencoder beside an isolation forest), then the `FraudModel` that holds their scores on the held-out rows."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, IsolationForest
from sklearn.linear_model import LogisticRegression
from torch import nn

from engine import binary, evaluate
from engine.fraud.model import FraudModel
from engine.fraud.networks import _classifier, _error_score, _recon_errors, _train_autoencoder
from engine.fraud.prepare import Prepared, prepare
from engine.fraud.spec import (
    AE_REFERENCE,
    AUTOENCODER,
    CLASSIFIER,
    GRADIENT_BOOSTING,
    ISOLATION_FOREST,
    LOGISTIC,
    REFERENCE_MAX_ROWS,
    Costs,
    FraudColumns,
    FraudConfig,
)
from engine.models import TabularMLP
from engine.tabular import Preprocessor
from engine.training import History, Progress, fit_model, seed_everything

_QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


def _baselines(config: FraudConfig) -> dict[str, Callable[[], Any]]:
    """Makers of the baselines. Gradient boosting is set up for rare frauds: sklearn's default early stopping (on for
    > 10k rows) stops after ~10 trees when frauds are 0.2%, and without it lr 0.1 overfits them; lr 0.05 with L2 does
    well at every size."""
    return {
        GRADIENT_BOOSTING: lambda: HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.05, l2_regularization=1.0, early_stopping=False, random_state=config.seed
        ),
        LOGISTIC: lambda: LogisticRegression(max_iter=1000),
    }


bootstrap_intervals = binary.ranking_intervals

Rows = tuple[np.ndarray, np.ndarray, np.ndarray]  # positions of the training, validation and test rows


@dataclass
class _Trained:
    """What the models of one fit leave: the main network and its history, every model's scores on the validation
    and test rows and its seconds; labelled: the out-of-fold scores and the label-free reference autoencoder;
    unlabelled: the autoencoder's error at score 0.5 and every row's score."""

    net: nn.Module  # the classifier (engine.models.tabular_network) or the autoencoder
    history: History
    val_scores: dict[str, np.ndarray] = field(default_factory=dict)
    test_scores: dict[str, np.ndarray] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    folds: dict[str, np.ndarray] = field(default_factory=dict)
    reference: TabularMLP | None = None
    reference_ref: float = 1.0
    error_ref: float = 1.0
    all_scores: np.ndarray | None = None


def _train_labelled(
    X: np.ndarray, prep: Prepared, rows: Rows, config: FraudConfig, relay: Progress, cancel, notes: list[str]
) -> _Trained:
    """The classifier, then its baselines on the same rows, the out-of-fold scores and the reference autoencoder."""
    train, val, test = rows
    y = prep.y
    assert y is not None
    clock = time.perf_counter
    t0 = clock()
    net, loss_fn = _classifier(X[train], y[train], config)
    history = fit_model(
        net,
        (X[train], y[train].astype(np.float32)[:, None]),
        (X[val], y[val].astype(np.float32)[:, None]),
        loss_fn,
        config.train_config(len(train)),
        progress=relay,
        cancel=cancel,
    )
    s = binary.risk(net, X)
    run = _Trained(net, history)
    run.val_scores[CLASSIFIER], run.test_scores[CLASSIFIER] = s[val], s[test]
    run.timings[CLASSIFIER] = clock() - t0
    del s
    for name, make in _baselines(config).items():
        t0 = clock()
        relay.say(f"Network trained; now the baseline: {name.lower()} on the same rows…")
        est = make().fit(X[train], y[train])
        run.val_scores[name], run.test_scores[name] = est.predict_proba(X[val])[:, 1], est.predict_proba(X[test])[:, 1]
        run.timings[name] = clock() - t0
    _threshold_folds(run, X, prep, rows, config, relay, cancel, notes)
    if config.compare_unlabelled:
        _reference(run, X, rows, config, relay, cancel)
    return run


def _threshold_folds(
    run: _Trained,
    X: np.ndarray,
    prep: Prepared,
    rows: Rows,
    config: FraudConfig,
    relay: Progress,
    cancel,
    notes: list[str],
) -> None:
    """Every training and validation row scored by models trained without it (the rows a threshold is chosen on);
    a note instead when there are too few rows for the folds."""
    train, val, _ = rows
    y = prep.y
    assert y is not None
    t0 = time.perf_counter()
    trainval = np.sort(np.r_[train, val])
    folds = binary.out_of_fold(
        X,
        y,
        trainval,
        config.threshold_folds,
        config.seed,
        lambda y_fit: _classifier(X[train], y_fit, config),
        config.train_config(len(trainval)),
        run.history,
        _baselines(config),
        CLASSIFIER,
        cancel,
        relay.say,
    )
    if not folds:
        notes += binary.threshold_rows_note(config.threshold_folds, len(val), len(trainval), "transactions")
    if folds:
        run.timings["threshold folds"] = time.perf_counter() - t0
        if prep.amount is not None:
            folds["amount"] = prep.amount[trainval]
    run.folds = folds


def _reference(run: _Trained, X: np.ndarray, rows: Rows, config: FraudConfig, relay: Progress, cancel) -> None:
    """The autoencoder trained without the labels, scored beside the classifier: what the labels buy."""
    train, val, test = rows
    t0 = time.perf_counter()
    relay.say("Now an autoencoder without the labels, to show what the labels buy…")
    # a reference, not the product: on big tables it learns from a sample of the rows
    pick = np.random.default_rng(config.seed)
    ref_train = (
        train if len(train) <= REFERENCE_MAX_ROWS else np.sort(pick.choice(train, REFERENCE_MAX_ROWS, replace=False))
    )
    ref_val = (
        val
        if len(val) <= REFERENCE_MAX_ROWS // 4
        else np.sort(pick.choice(val, REFERENCE_MAX_ROWS // 4, replace=False))
    )
    run.reference, _, run.reference_ref = _train_autoencoder(X, ref_train, ref_val, config, None, cancel)
    run.val_scores[AE_REFERENCE] = _error_score(_recon_errors(run.reference, X[val]), run.reference_ref)
    run.test_scores[AE_REFERENCE] = _error_score(_recon_errors(run.reference, X[test]), run.reference_ref)
    run.timings[AE_REFERENCE] = time.perf_counter() - t0


def _train_unlabelled(
    X: np.ndarray, prep: Prepared, rows: Rows, config: FraudConfig, relay: Progress, cancel, notes: list[str]
) -> _Trained:
    """The autoencoder (its reconstruction error is the score), then the isolation forest on the same rows."""
    train, val, test = rows
    clock = time.perf_counter
    if prep.y is not None:
        notes.append(
            "The label is not used to train: the autoencoder looks for unusual transactions, and the "
            "label only measures how well that works."
        )
    t0 = clock()
    net, history, error_ref = _train_autoencoder(X, train, val, config, relay, cancel)
    err = _error_score(_recon_errors(net, X), error_ref)
    run = _Trained(net, history, error_ref=error_ref, all_scores=err)
    run.val_scores[AUTOENCODER], run.test_scores[AUTOENCODER] = err[val], err[test]
    run.timings[AUTOENCODER] = clock() - t0
    t0 = clock()
    relay.say("Autoencoder trained; now the baseline: isolation forest…")
    iso = IsolationForest(random_state=config.seed, n_jobs=1).fit(X[train])
    run.val_scores[ISOLATION_FOREST] = -iso.score_samples(X[val])
    run.test_scores[ISOLATION_FOREST] = -iso.score_samples(X[test])
    run.timings[ISOLATION_FOREST] = clock() - t0
    return run


def _part(prep: Prepared, rows: np.ndarray, scores: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The rows' positions in the analyst's table, their truth and amount, and every model's scores."""
    out: dict[str, np.ndarray] = {"row": prep.rows[rows]}
    if prep.y is not None:
        out["y"] = prep.y[rows]
    if prep.amount is not None:
        out["amount"] = prep.amount[rows]
    out.update({k: np.asarray(v, dtype=np.float64) for k, v in scores.items()})
    return out


def _quantiles(prep: Prepared, pre: Preprocessor, train: np.ndarray) -> dict[str, list[float]]:
    """Quantiles of each numeric feature, for reasons in words."""
    y = prep.y
    # "unusually low" means: compared with genuine training transactions when the label says which they are
    reference_rows = train[y[train] == 0] if y is not None else train
    train_df = prep.df.iloc[reference_rows]
    quantiles = {}
    for p in pre.plans_:
        if p.kind == "numeric":
            vals = pd.to_numeric(train_df[p.name], errors="coerce").dropna().to_numpy(float)
            if len(vals):
                quantiles[p.name] = [float(q) for q in np.quantile(vals, _QUANTILES)]
    return quantiles


def fit(
    df: pd.DataFrame, columns: FraudColumns, config: FraudConfig = FraudConfig(), progress=None, cancel=None
) -> FraudModel:
    """Train the detector and its baselines on one split; thresholds on validation rows, metrics on test rows."""
    prep = prepare(df, columns, config)
    seed_everything(config.seed)
    train, val, test = binary.split(
        prep.y,
        config.test_fraction,
        config.val_fraction,
        config.seed,
        order=prep.time,
        rows=len(prep.df),
        unit="transactions",
        positives="fraud",
    )
    pre = Preprocessor().fit(prep.df.iloc[train], prep.features)
    X = pre.transform(prep.df)
    labelled = prep.y is not None and config.mode == "auto"
    y = prep.y
    relay = Progress(progress)
    notes = list(prep.notes) + pre.notes_
    train_models = _train_labelled if labelled else _train_unlabelled
    run = train_models(X, prep, (train, val, test), config, relay, cancel, notes)

    test_part = _part(prep, test, run.test_scores)
    if not labelled and y is None and run.all_scores is not None:  # (unlabelled: all_scores is every row's score)
        test_part["all_rows"] = prep.rows  # no label: the flagged list covers the whole table
        test_part["all_scores"] = run.all_scores
    intervals = {}
    if y is not None and len(test) <= 20_000:
        intervals = bootstrap_intervals(y[test], run.test_scores, config.bootstrap, config.seed)

    background = evaluate.background_sample(X, train, config.seed)
    quantiles = _quantiles(prep, pre, train)
    default_costs = Costs(missed_is_amount=prep.amount is not None)
    relay.say("Measuring every model on the held-out rows…")
    return FraudModel(
        columns=FraudColumns(columns.label, tuple(prep.features), columns.amount, columns.time, prep.fraud_value),
        config=config,
        mode="labelled" if labelled else "unlabelled",
        preprocessor=pre,
        net=run.net.eval(),  # type: ignore[arg-type]  # the field's class reads either network back (TabularMLP.from_spec)
        error_ref=run.error_ref,
        background=background,
        history=run.history,
        quantiles=quantiles,
        val=_part(prep, val, run.val_scores),
        test=test_part,
        intervals=intervals,
        notes=notes,
        n_rows={"train": len(train), "validation": len(val), "test": len(test), "used": len(prep.rows)},
        fraud_value=prep.fraud_value,
        genuine_value=prep.genuine_value,
        reference=run.reference,
        reference_ref=run.reference_ref,
        default_costs=default_costs,
        timings=run.timings,
        folds=run.folds,
    )
