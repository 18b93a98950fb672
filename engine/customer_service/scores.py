"""Customer service, the measures: the three metrics on held-out messages, the softmax of the network's logits, which
messages a threshold routes automatically, and the two scikit-learn baselines."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline, make_union
from sklearn.svm import LinearSVC

from engine.customer_service.spec import LOGISTIC, SVM

# ----------------------------------------------------------------------------- metrics

METRIC_HELP = {
    "accuracy": "Accuracy: share of held-out messages routed to their right category.",
    "macro_f1": "Macro-F1: the F1 score (precision and recall together) of each category, averaged so a small "
    "category counts as much as a big one.",
    "top3": "Top-3 accuracy: share of held-out messages whose right category is among the model's three first "
    "guesses (what a person picking from three suggestions would get).",
}


def _top_k(y: np.ndarray, scores: np.ndarray, k: int = 3) -> float:
    k = min(k, scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return float((top == y[:, None]).any(1).mean())


def _macro_f1(y: np.ndarray, scores: np.ndarray) -> float:
    return float(f1_score(y, scores.argmax(1), average="macro", labels=np.unique(y), zero_division=0))


METRICS = {"accuracy": lambda y, s: float((s.argmax(1) == y).mean()), "macro_f1": _macro_f1, "top3": _top_k}


def scores_of(y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    return {k: fn(y, scores) for k, fn in METRICS.items()}


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def automatic(confidence: np.ndarray, threshold: float) -> np.ndarray:
    """Which messages are routed automatically: confidence at least the threshold; a threshold of 1 routes none
    (a softmax can round to exactly 1)."""
    return (np.asarray(confidence) >= threshold) & (threshold < 1.0)


# ----------------------------------------------------------------------------- baselines


def _word_tfidf() -> TfidfVectorizer:
    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True)


def make_baselines(seed: int) -> dict[str, Any]:
    """The two scikit-learn baselines, unfitted (figures on Banking77 in shared/datasets/customer_service)."""
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, lowercase=True, min_df=2)
    return {
        SVM: make_pipeline(make_union(_word_tfidf(), chars), LinearSVC(C=0.5, random_state=seed)),
        # one-vs-rest liblinear: as accurate here as the multinomial fit (0.894 on Banking77) and 4x faster
        LOGISTIC: make_pipeline(_word_tfidf(), OneVsRestClassifier(LogisticRegression(C=10, solver="liblinear"))),
    }


def baseline_scores(model: Any, texts: list[str]) -> np.ndarray:
    """Class scores of a fitted baseline: probabilities where it has them, else decision values."""
    return model.predict_proba(texts) if hasattr(model, "predict_proba") else model.decision_function(texts)
