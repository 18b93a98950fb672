"""Fraud engine: quality floors on the sample, the money threshold against a brute-force scan,
unlabelled mode, determinism, save/load, explanations and reasons in words, one DataError per bad input."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score

from engine import fraud as fr
from engine.data import DataError, load_table
from tests.conftest import SAMPLES
from tests.engine.test_evaluate import _step_ap

CFG = fr.FraudConfig(bootstrap=50)


@pytest.fixture(scope="module")
def cards() -> pd.DataFrame:
    return load_table(SAMPLES / "creditcard_transactions.csv").df


@pytest.fixture(scope="module")
def labelled(cards):
    return fr.fit(cards, fr.default_columns(cards), CFG)


@pytest.fixture(scope="module")
def unlabelled(cards):
    return fr.fit(cards, fr.default_columns(cards), dataclasses.replace(CFG, mode="anomaly"))


def small(n: int = 200, frauds: int = 30, seed: int = 0) -> pd.DataFrame:
    """A synthetic table: frauds sit far out on a and b."""
    rng = np.random.default_rng(seed)
    y = np.zeros(n, dtype=int)
    y[rng.choice(n, frauds, replace=False)] = 1
    return pd.DataFrame(
        {
            "a": rng.normal(size=n) - 3 * y,
            "b": rng.normal(size=n) + 2 * y,
            "c": rng.normal(size=n),
            "amount": rng.gamma(2.0, 50.0, n).round(2),
            "when": np.arange(n) * 60.0,
            "is_fraud": y,
        }
    )


SMALL_COLS = fr.FraudColumns(label="is_fraud", features=("a", "b", "c", "amount"), amount="amount", time="when")


def _isolation_forest_auprc(m: fr.FraudModel) -> float:
    """scikit-learn's isolation forest, fitted on the model's training rows without labels, scored on its test rows."""
    df = load_table(SAMPLES / "creditcard_transactions.csv").df
    X, y = df.drop(columns=["Class", "Time"]).to_numpy(), df["Class"].to_numpy()
    train = np.argsort(df["Time"].to_numpy(), kind="stable")[: m.n_rows["train"]]  # the split is by time
    forest = IsolationForest(random_state=0).fit(X[train])
    return float(average_precision_score(y[m.test["row"]], -forest.score_samples(X[m.test["row"]])))


# ----------------------------------------------------------------------------- defaults and quality


def test_defaults_map_the_sample(cards):
    cols = fr.default_columns(cards)
    assert (cols.label, cols.amount, cols.time) == ("Class", "Amount", "Time")
    assert len(cols.features) == 29 and "Time" not in cols.features and "Amount" in cols.features


def test_sample_quality_floor_beside_baselines(labelled):
    m = labelled
    assert m.mode == "labelled" and m.fraud_value == "1"
    assert m.metrics["auprc"] >= 0.90, m.metrics
    assert set(m.baseline_metrics) == {fr.GRADIENT_BOOSTING, fr.LOGISTIC, fr.AE_REFERENCE}
    for name in fr.LABELLED_BASELINES:
        assert m.baseline_metrics[name]["auprc"] >= 0.85
    # the metrics are scikit-learn's on the held-out scores (13.7% fraud there; the amount alone scores AUPRC 0.17)
    y, s = m.test["y"], m.test[fr.CLASSIFIER]
    assert m.metrics["auprc"] == pytest.approx(average_precision_score(y, s))
    assert m.metrics["roc_auc"] == pytest.approx(roc_auc_score(y, s))
    # the autoencoder trained without labels ranks frauds about as well as scikit-learn's isolation forest fitted
    # here on the same training rows, also without labels (measured: 0.50 vs 0.49-0.51 over three seeds)
    assert m.baseline_metrics[fr.AE_REFERENCE]["auprc"] >= 0.85 * _isolation_forest_auprc(m)
    # the interval is a bootstrap of the held-out rows: an independent 400-resample bootstrap gives the same ends
    # (measured 0.871-0.969 vs 0.862-0.969); a degenerate or misplaced interval fails
    lo, hi = m.intervals[fr.CLASSIFIER]["auprc"]
    rng = np.random.default_rng(0)
    boots = [
        average_precision_score(y[i], s[i]) for i in (rng.integers(0, len(y), len(y)) for _ in range(400)) if y[i].any()
    ]
    assert lo == pytest.approx(np.percentile(boots, 2.5), abs=0.04) and hi == pytest.approx(
        np.percentile(boots, 97.5), abs=0.04
    )
    assert hi - lo > 0.02
    # split by time: every test transaction is later than every training one
    t = load_table(SAMPLES / "creditcard_transactions.csv").df["Time"].to_numpy()
    assert m.n_rows == {"train": 1064, "validation": 266, "test": 444, "used": 1774}
    assert t[m.test["row"]].min() >= t[m.val["row"]].max()


def test_unlabelled_mode_ranks_frauds_above_chance(unlabelled):
    m = unlabelled
    assert m.mode == "unlabelled" and m.model_name == fr.AUTOENCODER
    assert set(m.baseline_metrics) == {fr.ISOLATION_FOREST}
    # floors from what needs no model: random ranking scores the fraud rate (0.137 here), the amount alone 0.17;
    # scikit-learn's isolation forest on the same training rows 0.49-0.51 (three seeds); the autoencoder 0.50
    rate = m.metrics["fraud_rate"]
    assert m.metrics["auprc"] >= max(3 * rate, 0.85 * _isolation_forest_auprc(m)), (m.metrics["auprc"], rate)
    assert m.metrics["roc_auc"] == pytest.approx(roc_auc_score(m.test["y"], m.test[m.model_name]))
    assert m.metrics["roc_auc"] >= 0.8
    assert any("label is not used to train" in n for n in m.notes)


def test_without_a_label_scores_and_flags_every_row():
    df = small(300, 15).drop(columns="is_fraud")
    m = fr.fit(df, fr.FraudColumns(label=None, features=("a", "b", "c", "amount")), fr.FraudConfig(max_epochs=30))
    assert not m.has_label and m.evaluate(fr.Costs()) == {} and m.metrics == {}
    t = m.alert_threshold(50)
    assert 0 < t < 1
    flagged = (m.scores(df) >= t).mean()
    assert 0.02 < flagged < 0.1
    frame, exp = m.top_rows(df, limit=20)
    assert len(frame) == 20 and frame[m.score_name].is_monotonic_decreasing
    assert frame["row"].max() <= len(df) and "known fraud" not in frame
    # the autoencoder's explanation is exact: base + contributions = the row's reconstruction error
    X = m.preprocessor.transform(df.iloc[frame["row"] - 1])
    err = fr._recon_errors(m.net, X)
    assert np.allclose(exp.outputs, err, rtol=1e-4, atol=1e-6)


# ----------------------------------------------------------------------------- the money threshold


def brute_force(scores, y, fa, miss):
    """Try every possible cut: above all scores, and at each distinct score."""
    candidates = np.r_[np.unique(scores), np.inf]
    costs = [fr.expected_cost(scores, y, t, fa, miss) for t in candidates]
    return min(costs)


@pytest.mark.parametrize("seed", range(6))
def test_threshold_is_the_true_minimum_of_the_cost(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 400))
    y = rng.random(n) < rng.uniform(0.02, 0.4)
    scores = np.clip(rng.normal(0.3 + 0.4 * y, 0.2), 0, 1).round(int(rng.integers(1, 4)))  # ties on purpose
    amounts = rng.gamma(1.5, 80.0, n)
    for fa, miss in ((5.0, 100.0), (1.0, amounts), (50.0, 10.0), (0.0, 30.0), (7.0, 0.0)):
        t, cost = fr.best_threshold(scores, y, fa, miss)
        assert cost == pytest.approx(brute_force(scores, y, fa, miss))
        assert fr.expected_cost(scores, y, t, fa, miss) == pytest.approx(cost)
        grid = np.linspace(-0.01, 1.01, 1001)  # no threshold on a fine grid does better
        assert min(fr.expected_cost(scores, y, g, fa, miss) for g in grid) >= cost - 1e-9


def test_cost_curve_counts():
    scores = np.array([0.9, 0.8, 0.8, 0.3, 0.1])
    y = np.array([1, 0, 1, 0, 1])
    curve = fr.cost_curve(scores, y, 2.0, np.array([10.0, 0, 20.0, 0, 40.0]))
    assert list(curve["flagged"]) == [0, 1, 3, 4, 5]  # the tie at 0.8 is never split
    assert list(curve["false_alarms"]) == [0, 0, 1, 2, 2]
    assert list(curve["cost"]) == [70.0, 60.0, 42.0, 44.0, 4.0]
    for t, k in zip(curve["threshold"], curve["flagged"]):
        assert (scores >= t).sum() == k


def test_threshold_band_narrows_with_more_rows():
    def band(n):
        rng = np.random.default_rng(1)
        y = rng.random(n) < 0.15
        s = 1 / (1 + np.exp(-(rng.normal(size=n) + 2.0 * y - 1.5)))
        low, high = fr.evaluate.threshold_band(s, y, 5.0, 40.0, n=100, seed=0)
        t = fr.best_threshold(s, y, 5.0, 40.0)[0]
        assert low <= high
        return high - low, t, (low, high)

    small_width, _, _ = band(200)
    big_width, t, (low, high) = band(20_000)
    assert big_width < small_width / 2, (small_width, big_width)
    assert low - 0.02 <= t <= high + 0.02


def test_model_threshold_is_chosen_on_out_of_fold_rows(labelled, cards):
    m = labelled
    n = m.n_rows
    assert len(m.folds["y"]) == n["train"] + n["validation"]  # every training row, scored by a model without it
    assert m.folds["y"].sum() + m.test["y"].sum() == cards["Class"].sum()
    assert set(m.folds) >= {fr.CLASSIFIER, fr.GRADIENT_BOOSTING, fr.LOGISTIC, "amount"}
    costs = fr.Costs(false_alarm=5, missed_is_amount=True)
    t = m.cheapest_threshold(costs)
    f = m.folds
    assert fr.expected_cost(f[fr.CLASSIFIER], f["y"], t, 5, f["amount"]) == pytest.approx(
        brute_force(f[fr.CLASSIFIER], f["y"], 5, f["amount"])
    )
    low, high = m.threshold_band(costs)
    assert low <= t <= high
    # out-of-fold scores rank frauds about as well as the held-out ones (they are honest, not training-set scores)
    from sklearn.metrics import average_precision_score

    assert abs(average_precision_score(f["y"], f[fr.CLASSIFIER]) - m.metrics["auprc"]) < 0.1
    capped = m.evaluate(costs, capacity=50)
    assert all(v["alerts_per_1000"] <= 50 * 1.6 for v in capped.values())  # chosen on training rows, measured on test
    ev = m.evaluate(costs)
    assert ev[fr.CLASSIFIER]["cost"] <= m.no_model_cost(costs)
    assert ev[fr.CLASSIFIER]["saving_vs_none"] == pytest.approx(m.no_model_cost(costs) - ev[fr.CLASSIFIER]["cost"])
    # dearer false alarms → a higher threshold, fewer alerts
    dear = m.evaluate(fr.Costs(false_alarm=500, missed_is_amount=True))[fr.CLASSIFIER]
    assert dear["threshold"] >= ev[fr.CLASSIFIER]["threshold"]
    assert dear["alerts_per_1000"] <= ev[fr.CLASSIFIER]["alerts_per_1000"]
    # a threshold the analyst picks is honoured
    assert m.evaluate(costs, threshold=0.99)[fr.CLASSIFIER]["threshold"] == 0.99
    curve = m.cost_curve(costs)
    assert curve["threshold"].between(0, 1).all() and (curve["cost_per_1000"] >= 0).all()


@pytest.mark.slow
@pytest.mark.timeout(1200)  # three fits of the sample: 46 s each on 2 cores at load 3, up to 4 min under heavy load
def test_out_of_fold_threshold_moves_across_seeds_less_than_the_band_the_page_states(cards):
    """Issue 18: the threshold the page chooses must hold up when the same file is trained again with another seed.
    The page states a band ("it could be anywhere from … to …", 80% bootstrap of the rows it chose on); across three
    seeds the chosen threshold must move less than the widest band stated. Measured with the quick settings on the
    sample at the default costs, seeds 0-2: 0.066 [0.066, 0.166], 0.088 [0.087, 0.105], 0.035 [0.035, 0.114]; a
    spread of 0.053 against a widest band of 0.099 (the validation-slice choice it replaced sat at 0.49-0.56 while the
    held-out optimum was 0.01-0.12)."""
    cols = fr.default_columns(cards)
    picks, bands = [], []
    for seed in range(3):
        m = fr.fit(cards, cols, dataclasses.replace(fr.QUICK, seed=seed, compare_unlabelled=False))
        assert m.folds, "the threshold must be chosen out of fold"
        picks.append(m.cheapest_threshold(m.default_costs))
        bands.append(m.threshold_band(m.default_costs))
        assert bands[-1][0] - 0.005 <= picks[-1] <= bands[-1][1] + 0.005  # the band holds its own choice
    spread = max(picks) - min(picks)
    widest = max(high - low for low, high in bands)
    print(
        f"thresholds {[round(t, 3) for t in picks]}, bands {[(round(a, 3), round(b, 3)) for a, b in bands]}, "
        f"spread {spread:.3f}, widest band {widest:.3f}"
    )
    assert spread <= widest, (picks, bands)
    # and in absolute terms well under the 0.4 the validation slice it replaced sat off. With the TabM network (issue
    # 27) the cost curve is flatter and the bands wider: 0.038 [0.038, 0.175], 0.218 [0.017, 0.459], 0.036 [0.036,
    # 0.231], a spread of 0.18 (the plain MLP's was 0.053)
    assert spread <= 0.25


def test_curves_and_score_table(labelled):
    pr, roc = labelled.pr_curves(), labelled.roc_curves()
    assert list(pr)[0] == fr.CLASSIFIER and set(pr) == set(roc)
    assert all(len(c) <= 401 for c in pr.values())
    # the curves drawn are the held-out ones behind the cards: their areas give the AUPRC and ROC-AUC shown
    for name in pr:
        assert _step_ap(pr[name]) == pytest.approx(
            average_precision_score(labelled.test["y"], labelled.test[name]), abs=0.01
        )
        assert np.trapezoid(roc[name]["tpr"], roc[name]["fpr"]) == pytest.approx(
            roc_auc_score(labelled.test["y"], labelled.test[name]), abs=0.01
        )
    assert _step_ap(pr[fr.CLASSIFIER]) == pytest.approx(labelled.metrics["auprc"], abs=0.01)
    assert set(labelled.test_scores()["truth"]) == {"fraud", "genuine"}


# ----------------------------------------------------------------------------- reproducible, saved, explained


def test_same_seed_same_scores(cards):
    cfg = fr.FraudConfig(compare_unlabelled=False, bootstrap=0, max_epochs=20, threshold_folds=2)
    cols = fr.default_columns(cards)
    a, b = fr.fit(cards, cols, cfg), fr.fit(cards, cols, cfg)
    assert np.array_equal(a.scores(cards.head(300)), b.scores(cards.head(300)))
    assert a.metrics == b.metrics


def test_save_load_identical(tmp_path, cards, labelled, unlabelled):
    for model in (labelled, unlabelled):
        path = tmp_path / f"{model.mode}.safetensors"
        model.save(path)
        back = fr.load(path)
        assert np.array_equal(back.scores(cards.head(200)), model.scores(cards.head(200)))
        assert back.metrics == pytest.approx(model.metrics, nan_ok=True)
        assert back.cheapest_threshold(fr.Costs()) == model.cheapest_threshold(fr.Costs())
    with pytest.raises(DataError, match="not a model saved"):
        fr.load(b"not a model at all, just some bytes" * 4)


@pytest.mark.shap
def test_shap_is_additive_and_reasons_read_as_words(cards, labelled):
    pytest.importorskip("shap")
    rows = labelled.held_out(cards, limit=30)
    exp = labelled.explain(rows)
    import torch

    logits = labelled.net(torch.tensor(labelled.preprocessor.transform(rows))).detach().numpy()[:, 0]
    assert np.allclose(exp.outputs, logits, atol=1e-3)
    frame, top = labelled.top_rows(cards, limit=15)
    assert frame[labelled.score_name].is_monotonic_decreasing and len(top.data) == 15
    assert (frame["known fraud"] == "yes").mean() >= 0.8  # the highest scores are mostly real frauds
    pattern = re.compile(r"^[\w ]+ (extremely|unusually)? ?(low|high|typical) \((\u2212)?[\d,.]+\)$")
    reasons = [r for cell in frame["top reasons"] for r in cell.split("; ")]
    assert reasons and all(pattern.match(r) for r in reasons), reasons[:5]
    assert any(r.startswith(("V14", "V4", "V12", "V10")) for r in reasons)


@pytest.mark.shap
def test_batch_scoring_flags_and_explains_flagged_rows_only(cards, labelled):
    pytest.importorskip("shap")
    new = cards.drop(columns="Class").head(120)
    out = labelled.score(new)
    assert list(out.columns[:3]) == ["fraud score", "flagged", "top reasons"]  # the answer first
    assert list(out.columns[3:]) == list(new.columns)
    assert {"fraud score", "flagged", "top reasons"} <= set(out.columns)
    flagged = out["flagged"] == "yes"
    assert flagged.any()
    assert (out.loc[flagged, "top reasons"] != "").all() and (out.loc[~flagged, "top reasons"] == "").all()


def test_value_words():
    q = [-5.0, -3.0, -1.0, 0.0, 1.0, 3.0, 5.0]
    assert fr.describe_value("V14", -9.21, q) == "V14 extremely low (\u22129.2)"
    assert fr.describe_value("V14", -4.0, q) == "V14 unusually low (\u22124.0)"
    assert fr.describe_value("Amount", 1809.4, [0, 1, 5, 20, 80, 400, 1500]) == "Amount extremely high (1,809)"
    assert fr.describe_value("V3", 0.2, q) == "V3 typical (0.20)"
    assert fr.describe_value("merchant", "online", None) == "merchant is 'online'"


# ----------------------------------------------------------------------------- bad input: one sentence each


def _raises(df, cols, words):
    with pytest.raises(DataError) as err:
        fr.prepare(df, cols)
    assert re.search(words, err.value.message), err.value.message
    return err.value.message


def test_label_with_three_values():
    df = small()
    df.loc[:5, "is_fraud"] = 2
    _raises(df, SMALL_COLS, r"has 3 different values \('0', '1', '2'\); it must have exactly two")


def test_label_without_fraud_and_all_fraud():
    df = small()
    df["is_fraud"] = 0
    _raises(df, SMALL_COLS, r"No row of 'is_fraud' is marked as fraud.*pick no label")
    df["is_fraud"] = 1
    _raises(df, SMALL_COLS, r"Every row of 'is_fraud' is marked as fraud")
    df["is_fraud"] = "fraud"
    _raises(df, SMALL_COLS, r"Every row")


def test_too_few_frauds_and_unknown_fraud_value():
    _raises(small(frauds=4), SMALL_COLS, r"Only 4 row\(s\) of 'is_fraud' are fraud")
    _raises(small(), dataclasses.replace(SMALL_COLS, fraud_value="yes"), r"'yes' is not a value of 'is_fraud'")


def test_amount_with_text_or_negative_values():
    df = small()
    df["amount"] = df["amount"].astype(object)
    df.loc[7, "amount"] = "€12.50"
    _raises(df, SMALL_COLS, r"amount column 'amount' should hold numbers but has text such as '€12.50' \(data row 8")
    df = small()
    df.loc[[3, 9], "amount"] = -20.0
    _raises(df, SMALL_COLS, r"2 negative value\(s\) \(the first, -20.00, in data row 4\)")


def test_missing_amounts_are_noted():
    df = small()
    df.loc[[1, 2], "amount"] = np.nan
    prep = fr.prepare(df, SMALL_COLS)
    assert any("2 row(s) have no amount" in n for n in prep.notes)


def test_time_that_does_not_parse():
    df = small()
    df["when"] = pd.date_range("2024-01-01", periods=len(df), freq="h").astype(str)
    prep = fr.prepare(df, SMALL_COLS)
    assert np.all(np.diff(prep.time) > 0)
    df.loc[11, "when"] = "next tuesday"
    _raises(
        df,
        SMALL_COLS,
        r"time column 'when' has 1 value\(s\) that are not dates or times, such as 'next tuesday' \(data row 12",
    )


def test_time_split_without_fraud_in_the_test_period():
    df = small()
    df["is_fraud"] = 0
    df.loc[:29, "is_fraud"] = 1  # all frauds early
    with pytest.raises(DataError, match="test \\(latest\\) part of the transactions holds no fraud"):
        fr.fit(df, SMALL_COLS, fr.FraudConfig(max_epochs=5))


def test_too_few_rows_and_missing_columns():
    _raises(small(40, 12), SMALL_COLS, r"Only 40 usable row\(s\); at least 50")
    _raises(small(), dataclasses.replace(SMALL_COLS, amount="price"), r"amount column 'price' is not in your file")
    _raises(small(), dataclasses.replace(SMALL_COLS, features=("a", "zzz")), r"'zzz'")
    _raises(small(), dataclasses.replace(SMALL_COLS, features=("when",)), r"at least one feature")


def test_more_than_a_million_rows_is_sampled_and_said(monkeypatch):
    n = fr.MAX_ROWS + 5_000
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=n).astype(np.float32), "is_fraud": (rng.random(n) < 0.01).astype(np.int8)})
    prep = fr.prepare(df, fr.FraudColumns(label="is_fraud", features=("a",)))
    assert len(prep.df) == fr.MAX_ROWS and np.all(np.diff(prep.rows) > 0)
    assert any(f"random sample of {fr.MAX_ROWS:,} rows" in n for n in prep.notes)


def test_costs_must_be_sensible():
    with pytest.raises(DataError, match="0 or more"):
        fr.Costs(false_alarm=-1)
    assert list(fr.Costs(missed_is_amount=True).miss_costs(np.array([3.0, 4.0]), 2)) == [3.0, 4.0]
    assert list(fr.Costs(missed=9).miss_costs(None, 2)) == [9.0, 9.0]
