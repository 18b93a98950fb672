"""The one verdict (ui.results.verdict): intervals of both models and the decision's money weighed together."""

from __future__ import annotations

from ui.results import verdict

NN, GB = "Neural network", "Gradient boosting"
METRICS = {"auprc": 0.503}
BASE = {GB: {"auprc": 0.417}, "Logistic regression": {"auprc": 0.301}}
OVERLAP = {NN: {"auprc": (0.288, 0.829)}, GB: {"auprc": (0.165, 0.667)}}


def test_overlapping_intervals_and_a_costlier_network_do_not_crown_the_network():
    """The issue's maintenance run: AUPRC 0.503 vs 0.417 with overlapping intervals, the network 9,333 dearer."""
    money = {NN: 30_000.0, GB: 20_667.0, "No model": 39_700.0}
    text = verdict(NN, METRICS, BASE, "auprc", "AUPRC", intervals=OVERLAP, money=money, unit="runs")
    assert text.startswith("Gradient boosting is the better choice at your costs"), text
    assert "9,333 per 1,000 runs" in text and "overlap" in text and "earns" not in text


def test_overlap_and_money_that_does_not_separate_them_is_no_difference():
    money = {NN: 20_000.0, GB: 20_300.0, "No model": 39_700.0}  # 300 apart: under 2% of no model's cost
    text = verdict(NN, METRICS, BASE, "auprc", "AUPRC", intervals=OVERLAP, money=money, unit="runs")
    assert text.startswith("No difference we can see"), text
    assert "0.288–0.829" in text and "0.165–0.667" in text
    assert verdict(NN, METRICS, BASE, "auprc", "AUPRC", intervals=OVERLAP).startswith("No difference we can see")


def test_separate_intervals_say_better_or_worse_and_the_money_is_weighed():
    apart = {NN: {"auprc": (0.45, 0.55)}, GB: {"auprc": (0.30, 0.44)}}
    text = verdict(NN, METRICS, BASE, "auprc", "AUPRC", intervals=apart)
    assert "is better than the best baseline, gradient boosting" in text and "do not overlap" in text
    dearer = verdict(
        NN,
        METRICS,
        BASE,
        "auprc",
        "AUPRC",
        intervals=apart,
        money={NN: 30_000.0, GB: 20_000.0, "No model": 40_000.0},
        unit="runs",
    )
    assert "but at your costs Gradient boosting is cheaper" in dearer, dearer
    worse = verdict(NN, {"auprc": 0.2}, BASE, "auprc", "AUPRC", intervals={NN: {"auprc": (0.1, 0.29)}, **apart})
    assert "is worse than the best baseline" in worse


def test_lower_is_better_and_no_intervals():
    text = verdict(
        "The page's forecast", {"mase": 0.8}, {"Seasonal naive": {"mase": 1.0}}, "mase", "MASE", lower_is_better=True
    )
    assert "better than the best baseline, seasonal naive" in text and "(lower is better)" in text


def test_without_intervals_a_gap_is_not_called_a_win():
    text = verdict(
        "K-means", {"silhouette": 0.2771}, {"scikit-learn": {"silhouette": 0.2774}}, "silhouette", "Silhouette"
    )
    assert "is as good as the best baseline" in text, text
    gap = verdict("K-means", {"silhouette": 0.25}, {"scikit-learn": {"silhouette": 0.28}}, "silhouette", "Silhouette")
    assert "worse than" in gap and "cannot be said" in gap
