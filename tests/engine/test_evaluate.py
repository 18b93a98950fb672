"""The shared evaluation tables (engine/evaluate.py) checked against scikit-learn's own numbers, not their shapes."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from engine import evaluate


@pytest.fixture(scope="module")
def scored() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = rng.random(600) < 0.2
    return y, np.clip(0.3 * y + rng.normal(0.35, 0.2, 600), 0, 1)  # informative but far from perfect


def independent_interval(y: np.ndarray, s: np.ndarray, metric, n: int = 400, seed: int = 0) -> tuple[float, float]:
    """A plain 95% percentile bootstrap of `metric(y, s)` over the rows, written here without the engine's code."""
    rng = np.random.default_rng(seed)
    values = [
        metric(y[i], s[i]) for i in (rng.integers(0, len(y), len(y)) for _ in range(n)) if 0 < y[i].sum() < len(i)
    ]
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


def _roc_area(table) -> float:
    return float(np.trapezoid(table["tpr"], table["fpr"]))


def _step_ap(table) -> float:
    """Average precision from a PR table ordered by rising threshold: sum of precision x recall steps."""
    t = table.sort_values("threshold")
    recall = np.r_[t["recall"].to_numpy(), 0.0]
    return float(np.sum((recall[:-1] - recall[1:]) * t["precision"].to_numpy()))


def test_roc_table_has_scikit_learns_area(scored):
    y, s = scored
    assert _roc_area(evaluate.roc_table(y, s)) == pytest.approx(roc_auc_score(y, s), abs=1e-9)
    thinned = evaluate.roc_table(y, s, max_points=40)
    assert len(thinned) <= 41 and _roc_area(thinned) == pytest.approx(roc_auc_score(y, s), abs=0.01)
    # a useless score has an area near one half, a perfect one an area of one
    assert _roc_area(evaluate.roc_table(y, np.random.default_rng(1).random(600))) == pytest.approx(0.5, abs=0.07)
    assert _roc_area(evaluate.roc_table(y, y.astype(float))) == pytest.approx(1.0)


def test_pr_table_gives_scikit_learns_average_precision(scored):
    y, s = scored
    table = evaluate.pr_table(y, s)
    assert _step_ap(table) == pytest.approx(average_precision_score(y, s), abs=1e-9)
    assert table["threshold"].is_monotonic_decreasing  # drawn from the strictest threshold down
    assert table["recall"].iloc[-1] == pytest.approx(1.0) and table["precision"].iloc[-1] == pytest.approx(y.mean())


def test_calibration_table_tells_a_calibrated_risk_from_an_overconfident_one():
    rng = np.random.default_rng(2)
    p = rng.beta(1, 3, 20_000)
    y = rng.random(p.size) < p  # outcomes drawn at exactly the stated risk
    good = evaluate.calibration_table(y, p)
    assert good["rows"].sum() == p.size and len(good) == 8
    assert np.average(good["observed"], weights=good["rows"]) == pytest.approx(y.mean())
    assert np.abs(good["observed"] - good["predicted"]).max() < 0.03
    assert good["predicted"].is_monotonic_increasing
    bad = evaluate.calibration_table(y, p**0.4)  # the same ranking, risks pushed up
    assert (bad["predicted"] - bad["observed"]).max() > 0.15


def test_bootstrap_intervals_match_an_independent_bootstrap(scored):
    y, s = scored
    other = np.clip(s + np.random.default_rng(3).normal(0, 0.3, len(s)), 0, 1)  # a weaker model on the same rows
    out = evaluate.bootstrap(y, {"good": s, "weak": other}, {"auc": roc_auc_score}, n=400, seed=5)
    for name, score in (("good", s), ("weak", other)):
        lo, hi = out[name]["auc"]
        want = independent_interval(y, score, roc_auc_score)
        assert lo == pytest.approx(want[0], abs=0.015) and hi == pytest.approx(want[1], abs=0.015)
        assert lo < roc_auc_score(y, score) < hi and hi - lo > 0.03
    assert out["good"]["auc"][0] > out["weak"]["auc"][0]
