"""Evaluation shared by every scenario: binary and multi-class scores, curves, bootstrap intervals,
baselines fitted with their timings, and the SHAP background sample.

One function per idea, so two pages never compute "sensitivity" or a 95% interval differently.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, precision_recall_curve, roc_auc_score, roc_curve


def at_threshold(y_pos: np.ndarray, score: np.ndarray, threshold: float) -> dict[str, float]:
    """Everything that depends on a cut: confusion counts, sensitivity (recall), specificity,
    precision, F1, accuracy and alerts per 1,000 rows, for rows flagged when score >= threshold."""
    y_pos = np.asarray(y_pos).astype(bool)
    flagged = np.asarray(score) >= threshold
    tp, fp = int((flagged & y_pos).sum()), int((flagged & ~y_pos).sum())
    fn, tn = int((~flagged & y_pos).sum()), int((~flagged & ~y_pos).sum())
    nan = float("nan")
    recall = tp / (tp + fn) if tp + fn else nan
    return {
        "sensitivity": recall,
        "recall": recall,
        "specificity": tn / (tn + fp) if tn + fp else nan,
        "precision": tp / (tp + fp) if tp + fp else nan,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else nan,
        "accuracy": (tp + tn) / max(len(y_pos), 1),
        "alerts_per_1000": 1000 * (tp + fp) / max(len(y_pos), 1),
        "tp": tp,
        "fp": fp,
        "tn": tn,
        "fn": fn,
    }


def _both_classes(y_pos: np.ndarray) -> bool:
    return 0 < int(np.sum(y_pos)) < len(y_pos)


def ranking(y_pos: np.ndarray, score: np.ndarray) -> dict[str, float]:
    """Threshold-free binary scores: ROC-AUC and AUPRC (NaN when only one class is present)."""
    y_pos = np.asarray(y_pos).astype(bool)
    if not _both_classes(y_pos):
        return {"roc_auc": float("nan"), "auprc": float("nan")}
    return {"roc_auc": float(roc_auc_score(y_pos, score)), "auprc": float(average_precision_score(y_pos, score))}


def brier(y_pos: np.ndarray, p: np.ndarray) -> float:
    return float(brier_score_loss(np.asarray(y_pos).astype(bool), np.clip(p, 0, 1)))


def multiclass(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Accuracy (most likely class) and macro one-vs-rest ROC-AUC."""
    out = {"accuracy": float((proba.argmax(1) == y).mean())}
    present = np.unique(y)
    if len(present) == proba.shape[1]:
        out["roc_auc_macro"] = float(roc_auc_score(y, proba, multi_class="ovr", average="macro"))
    return out


def roc_table(y_pos: np.ndarray, score: np.ndarray, max_points: int | None = None) -> pd.DataFrame:
    fpr, tpr, thr = roc_curve(np.asarray(y_pos).astype(bool), score)
    return thin(pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": np.clip(thr, 0, 1)}), max_points)


def pr_table(y_pos: np.ndarray, score: np.ndarray, max_points: int | None = None) -> pd.DataFrame:
    p, r, t = precision_recall_curve(np.asarray(y_pos).astype(bool), score)
    return thin(
        pd.DataFrame({"recall": r[:-1], "precision": p[:-1], "threshold": t})[::-1].reset_index(drop=True), max_points
    )


def calibration_table(y_pos: np.ndarray, p: np.ndarray, bins: int = 8) -> pd.DataFrame:
    """Mean predicted risk vs observed rate per quantile bin of the risk."""
    y = np.asarray(y_pos).astype(float)
    edges = np.unique(np.quantile(p, np.linspace(0, 1, bins + 1)))
    which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, max(len(edges) - 2, 0))
    frame = (
        pd.DataFrame({"p": p, "y": y, "bin": which})
        .groupby("bin")
        .agg(predicted=("p", "mean"), observed=("y", "mean"), rows=("y", "size"))
    )
    return frame.reset_index(drop=True)


def thin(frame: pd.DataFrame, max_points: int | None = 400) -> pd.DataFrame:
    """At most `max_points` evenly spaced rows (first and last kept): curves stay light to draw and store."""
    if not max_points or len(frame) <= max_points:
        return frame.reset_index(drop=True)
    keep = np.unique(np.r_[np.linspace(0, len(frame) - 1, max_points).round().astype(int), len(frame) - 1])
    return frame.iloc[keep].reset_index(drop=True)


def bootstrap(
    y: np.ndarray,
    outputs: Mapping[str, np.ndarray],
    metrics: Mapping[str, Callable[[np.ndarray, np.ndarray], float]],
    n: int,
    seed: int,
    valid: Callable[[np.ndarray], bool] = _both_classes,
) -> dict[str, dict[str, list[float]]]:
    """95% percentile-bootstrap intervals of each metric for each model on the same resamples.

    `metrics[name](y_resampled, output_resampled)`; resamples for which `valid(y)` is false (e.g. one
    class only) are skipped. Returns {model: {metric: [low, high]}}.
    """
    if n <= 0 or len(y) == 0:
        return {}
    rng = np.random.default_rng(seed)
    stats: dict[str, dict[str, list[float]]] = {k: {m: [] for m in metrics} for k in outputs}
    for _ in range(n):
        idx = rng.integers(0, len(y), len(y))
        if not valid(y[idx]):
            continue
        for name, out in outputs.items():
            for m, fn in metrics.items():
                stats[name][m].append(float(fn(y[idx], out[idx])))
    return {
        name: {m: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] for m, v in d.items() if v}
        for name, d in stats.items()
    }


def timed(fits: Mapping[str, Callable[[], Any]]) -> tuple[dict[str, Any], dict[str, float]]:
    """Run each fitting function, keeping its result and its wall time in seconds (the baselines' row)."""
    results, seconds = {}, {}
    for name, fn in fits.items():
        clock = time.perf_counter()
        results[name] = fn()
        seconds[name] = time.perf_counter() - clock
    return results, seconds


def background_sample(X: np.ndarray, rows: np.ndarray, seed: int, size: int = 100) -> np.ndarray:
    """The SHAP background: up to `size` training rows drawn once with the run's seed."""
    rng = np.random.default_rng(seed)
    rows = np.asarray(rows)
    return X[rng.choice(rows, size=min(size, len(rows)), replace=False)]


# ----------------------------------------------------------------------------- money: a threshold from two costs


def expected_cost(
    scores: np.ndarray, y: np.ndarray, threshold: float, false_alarm: float, missed, caught: float = 0.0
) -> float:
    """Cost of flagging every row with score >= threshold: false alarms x their cost + the missed frauds' costs
    (+ `caught` for each flagged positive, e.g. the service that prevents a failure)."""
    scores, y = np.asarray(scores, float), np.asarray(y).astype(bool)
    miss = np.broadcast_to(np.asarray(missed, float), scores.shape)
    flagged = scores >= threshold
    return float(false_alarm * np.sum(flagged & ~y) + caught * np.sum(flagged & y) + miss[~flagged & y].sum())


def cost_curve(scores: np.ndarray, y: np.ndarray, false_alarm: float, missed, caught: float = 0.0) -> pd.DataFrame:
    """Expected cost at every distinct cut of the scores (flag the top k rows), in one sorted pass.

    `caught`: what acting on a flagged positive costs (0 for a fraud review that only saves money;
    a service stop for a machine that would have failed).

    Rows: `threshold` (flag rows scoring >= it), `flagged`, `false_alarms`, `missed`, `cost`.
    The first row flags nothing; the last flags everything. Tied scores are never split; each
    threshold lies half-way between the lowest flagged score and the highest unflagged one.
    """
    scores, y = np.asarray(scores, float), np.asarray(y).astype(bool)
    miss = np.broadcast_to(np.asarray(missed, float), scores.shape)
    order = np.argsort(-scores, kind="stable")
    s, yy, mm = scores[order], y[order], miss[order]
    n = len(s)
    if n == 0:
        return pd.DataFrame({"threshold": [0.5], "flagged": [0], "false_alarms": [0], "missed": [0], "cost": [0.0]})
    ends = np.flatnonzero(np.r_[s[1:] != s[:-1], True])  # last position of each run of equal scores
    fp = np.cumsum(~yy)[ends]
    saved = np.cumsum(np.where(yy, mm, 0.0))[ends]
    frauds_caught = np.cumsum(yy)[ends]
    lowest_flagged = s[ends]
    highest_unflagged = np.r_[s[ends[:-1] + 1], -np.inf]
    mid = (lowest_flagged + highest_unflagged) / 2
    mid = np.where((mid <= highest_unflagged) | ~np.isfinite(mid), lowest_flagged, mid)
    top = s[0]
    none = (top + 1.0) / 2 if top < 1.0 else np.nextafter(top, np.inf)
    total_miss = float(mm[yy].sum())
    return pd.DataFrame(
        {
            "threshold": np.r_[none, mid],
            "flagged": np.r_[0, ends + 1],
            "false_alarms": np.r_[0, fp],
            "missed": int(yy.sum()) - np.r_[0, frauds_caught],
            "cost": false_alarm * np.r_[0, fp] + caught * np.r_[0, frauds_caught] + total_miss - np.r_[0.0, saved],
        }
    )


def best_threshold(
    scores: np.ndarray,
    y: np.ndarray,
    false_alarm: float,
    missed,
    caught: float = 0.0,
    max_alerts_per_1000: float | None = None,
) -> tuple[float, float]:
    """The threshold with the lowest expected cost on (scores, y) and that cost.

    Ties in cost go to the higher threshold (fewer alerts for the same money). `max_alerts_per_1000`: the
    review capacity. A team that can act on that many of every 1,000 rows gets its best k, for the k between 1
    and that many (at least 1 on fewer than 1,000 rows) that costs least: never none, even where costs alone
    would flag nothing, since the analyst said the team will act. Tied scores cannot be split by a threshold:
    when the top tie alone is larger than the capacity, it is the one flagged (the fewest a threshold can flag).
    A capacity of 0 flags nothing.
    """
    curve = cost_curve(scores, y, false_alarm, missed, caught)
    if not len(curve):
        return 0.5, 0.0
    cost = curve["cost"].to_numpy()
    if max_alerts_per_1000 is not None:
        flagged = curve["flagged"].to_numpy()
        if max_alerts_per_1000 <= 0 or flagged.max() == 0:
            fits = flagged == 0
        else:
            k = max(1, int(np.floor(max_alerts_per_1000 * len(np.asarray(scores)) / 1000 + 1e-9)))
            fits = (flagged >= 1) & (flagged <= k)
            if not fits.any():
                fits = flagged == flagged[flagged >= 1].min()
        cost = np.where(fits, cost, np.inf)
    i = int(np.argmin(cost))  # first minimum = highest threshold
    return float(curve["threshold"].iloc[i]), float(curve["cost"].iloc[i])


def threshold_band(
    scores: np.ndarray,
    y: np.ndarray,
    false_alarm: float,
    missed,
    caught: float = 0.0,
    max_alerts_per_1000: float | None = None,
    n: int = 200,
    seed: int = 0,
    level: float = 0.8,
) -> tuple[float, float]:
    """How far the cheapest threshold could move with other rows like these: the central `level` share of the
    cheapest thresholds over `n` bootstrap resamples of (scores, y)."""
    scores, y = np.asarray(scores, float), np.asarray(y)
    miss = np.broadcast_to(np.asarray(missed, float), scores.shape)
    if len(scores) < 2 or n < 2:
        t = best_threshold(scores, y, false_alarm, miss, caught, max_alerts_per_1000)[0]
        return t, t
    rng = np.random.default_rng(seed)
    picks = [
        best_threshold(scores[i], y[i], false_alarm, miss[i], caught, max_alerts_per_1000)[0]
        for i in (rng.integers(0, len(scores), len(scores)) for _ in range(n))
    ]
    low, high = np.quantile(picks, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)
