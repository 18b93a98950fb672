"""Customer service, training: the network(s) and both baselines on one stratified split, the threshold and the
new-topic level chosen out of fold, everything measured on the held-out messages."""

from __future__ import annotations

import functools
import time

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from engine import binary, evaluate
from engine.customer_service.model import CustomerServiceModel
from engine.customer_service.networks import _logits, _train_net, out_of_fold
from engine.customer_service.prepare import prepare
from engine.customer_service.scores import METRICS, baseline_scores, make_baselines, scores_of, softmax
from engine.customer_service.spec import BASELINES, MODEL, NEW_TOPIC_MISSES, Columns, Config, Costs
from engine.data import DataError
from engine.text import TextBag, TextEnsemble, Vocabulary
from engine.training import History, Progress


def _intervals(y: np.ndarray, scores: dict[str, np.ndarray], n: int, seed: int) -> dict[str, dict[str, list[float]]]:
    return evaluate.bootstrap(y, scores, METRICS, n, seed, valid=lambda yy: True)


def _split(
    rows: np.ndarray, y: np.ndarray, config: Config, test_rows: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, validation, held-out) positions: stratified, or the given held-out rows and a stratified rest."""
    try:
        if test_rows is None:
            return binary.split(y, config.test_fraction, config.val_fraction, config.seed)
        held = np.isin(rows, np.asarray(test_rows))
        tv, test = np.flatnonzero(~held), np.flatnonzero(held)
        from sklearn.model_selection import train_test_split

        train, val = train_test_split(tv, test_size=config.val_fraction, stratify=y[tv], random_state=config.seed)
        return train, val, test
    except ValueError:
        raise DataError(
            "The messages cannot be split into training, validation and held-out parts with every category "
            "in each: there are too many categories for this few messages. Add messages, or merge rare "
            "categories."
        ) from None


def _train_members(
    X: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    val: np.ndarray,
    vocab: Vocabulary,
    K: int,
    config: Config,
    report: Progress,
    cancel,
) -> tuple[list[TextBag], History, float]:
    """The page's network(s), each on its own seed: the networks, the first one's history, their seconds in all."""
    nets: list[TextBag] = []
    histories: list[History] = []
    seconds = 0.0
    for m in range(config.members):
        stage = report.stage(
            f"Network {m + 1} of {config.members}" if config.members > 1 else MODEL,
            m * config.max_epochs,
            config.members * config.max_epochs,
        )
        clock = time.perf_counter()
        net, h = _train_net(X[train], y[train], (X[val], y[val]), vocab, K, config, config.seed + m, stage, cancel)
        seconds += time.perf_counter() - clock
        nets.append(net)
        histories.append(h)
    return nets, histories[0], seconds


def _new_topic(folds: dict[str, np.ndarray]) -> tuple[dict[str, float], float]:
    """How well the out-of-fold confidence tells a left-out category apart (ROC-AUC), and the confidence level below
    which a message reads as a new topic (0 when no category could be left out)."""
    new_topic = {}
    if len(folds["new_conf"]):
        both = np.r_[folds["oof_conf"], folds["new_conf"]]
        is_new = np.r_[np.zeros(len(folds["oof_conf"])), np.ones(len(folds["new_conf"]))]
        new_topic["auroc"] = float(roc_auc_score(is_new, -both))
    level = float(np.quantile(folds["oof_conf"], NEW_TOPIC_MISSES)) if new_topic else 0.0
    return new_topic, level


def fit(
    df: pd.DataFrame,
    columns: Columns,
    config: Config = Config(),
    progress=None,
    cancel=None,
    *,
    test_rows: np.ndarray | None = None,
) -> CustomerServiceModel:
    """Train the network(s) and both baselines on one stratified split; measure all on the held-out messages.
    `test_rows` (positions in `df`) fixes the held-out messages (the benchmark uses Banking77's own test split)."""
    prep = prepare(df, columns, config)
    report = Progress(progress)
    y, K = prep.y, len(prep.classes)
    train, val, test = _split(prep.rows, y, config, test_rows)
    report.say("Building the vocabulary of words and word pieces…")
    vocab = Vocabulary.build([prep.texts[i] for i in train], min_count=config.min_count)
    X = vocab.encode(prep.texts).astype(np.float32)
    nets, history, seconds = _train_members(X, y, train, val, vocab, K, config, report, cancel)
    fit_rows = np.sort(np.r_[train, val])
    epochs = max(history.best_epoch or len(history.epochs), 1)
    folds = out_of_fold(X, y, fit_rows, vocab, K, config, epochs, cancel, report.say)
    report.say("Training the baselines (TF-IDF + logistic regression, linear SVM)…")
    texts = np.asarray(prep.texts, dtype=object)
    fitted_baselines, base_seconds = evaluate.timed(
        {
            name: functools.partial(est.fit, list(texts[fit_rows]), y[fit_rows])
            for name, est in make_baselines(config.seed).items()
        }
    )
    yt = y[test]
    ensemble = TextEnsemble.of(nets)
    scores = {
        MODEL: softmax(_logits([ensemble], X[test])).astype(np.float32),
        **{k: baseline_scores(m, list(texts[test])).astype(np.float32) for k, m in fitted_baselines.items()},
    }
    if not folds:  # the validation messages choose the threshold
        pv = softmax(_logits([ensemble], X[val]))
        folds = {
            "oof_conf": pv.max(1),
            "oof_wrong": (pv.argmax(1) != y[val]).astype(np.uint8),
            "oof_y": y[val],
            "new_conf": np.zeros(0),
        }
    report.say("Measuring on the held-out messages…")
    new_topic, level = _new_topic(folds)
    counts = np.bincount(y[fit_rows], minlength=K)
    model = CustomerServiceModel(
        columns=Columns(columns.text, columns.category, tuple(columns.groups)),
        config=config,
        classes=prep.classes,
        vocabulary=vocab,
        net=ensemble,
        test={"y": yt, "row": prep.rows[test], **scores, **{k: np.asarray(v) for k, v in folds.items()}},
        train_counts={c: int(n) for c, n in zip(prep.classes, counts)},
        new_topic=new_topic,
        metrics=scores_of(yt, scores[MODEL]),
        baseline_metrics={k: scores_of(yt, scores[k]) for k in BASELINES},
        intervals=_intervals(yt, scores, config.bootstrap, config.seed),
        history=history,
        timings={MODEL: seconds, **base_seconds},
        notes=prep.notes
        + [
            f"Vocabulary: {len(vocab) - 1:,} words, word pairs and word pieces seen at least {config.min_count} times "
            "in the training messages."
        ],
        n_rows={"train": len(train), "validation": len(val), "test": len(test)},
        new_topic_level=level,
    )
    return model.decide(threshold=model.cheapest_threshold(Costs()))
