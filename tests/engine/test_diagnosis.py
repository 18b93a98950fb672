"""Diagnosis engine: quality floors on both samples, determinism, save/load, SHAP additivity, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from engine import diagnosis as dx
from engine.data import DataError, load_table
from tests.conftest import SAMPLES
from tests.engine.test_evaluate import independent_interval

FAST = dx.DiagnosisConfig(bootstrap=50)


@pytest.fixture(scope="module")
def heart():
    return load_table(SAMPLES / "heart_disease_cleveland.csv").df


@pytest.fixture(scope="module")
def cancer():
    return load_table(SAMPLES / "breast_cancer_wisconsin.csv").df


@pytest.fixture(scope="module")
def heart_model(heart):
    return dx.fit(heart, dx.default_columns(heart), FAST)


def test_defaults_pick_the_outcome(heart, cancer):
    assert dx.default_columns(heart).target == "target"
    cols = dx.default_columns(cancer)
    assert cols.target == "diagnosis" and len(cols.features) == 30


def test_cleveland_quality_floor(heart_model):
    m = heart_model
    assert m.metrics["roc_auc"] >= 0.85
    assert set(m.baseline_metrics) == set(dx.BASELINES)
    assert m.n_rows["test"] == 76 and m.positive_class == "1"
    # the interval is a bootstrap of the 76 held-out patients: an independent bootstrap gives the same ends (within
    # the noise of the 50 resamples the fixture draws); a degenerate or misplaced interval fails
    lo, hi = m.intervals[dx.MODEL]["roc_auc"]
    want = independent_interval(m.test_positive(), m.test_probabilities()[dx.MODEL], roc_auc_score)
    assert lo == pytest.approx(want[0], abs=0.04) and hi == pytest.approx(want[1], abs=0.04) and hi - lo > 0.03


def test_breast_cancer_quality_floor(cancer):
    m = dx.fit(cancer, dx.default_columns(cancer), FAST)
    assert m.positive_class == "M"
    assert m.metrics["roc_auc"] >= 0.97


def test_same_seed_same_predictions(heart, heart_model):
    again = dx.fit(heart, dx.default_columns(heart), FAST)
    assert np.array_equal(again.predict_proba(heart), heart_model.predict_proba(heart))
    assert again.metrics == heart_model.metrics


def test_save_load_identical(tmp_path, heart, heart_model):
    path = tmp_path / "m.safetensors"
    heart_model.save(path)
    loaded = dx.load(path)
    pd.testing.assert_frame_equal(loaded.predict(heart), heart_model.predict(heart))
    assert loaded.metrics == heart_model.metrics
    assert loaded.classes == heart_model.classes and loaded.features == heart_model.features
    assert b"pickle" not in path.read_bytes()[:2000]


def test_shap_additivity_on_the_analysts_columns(heart, heart_model):
    pytest.importorskip("shap")
    rows = heart_model.held_out(heart, limit=40)
    exp = heart_model.explain(rows)
    X = heart_model.preprocessor.transform(rows)
    logits = heart_model._logits(X)[:, 0].cpu().numpy()
    assert exp.values.shape == (40, len(heart_model.features))
    assert np.abs(exp.outputs - logits).max() <= 1e-3
    assert exp.feature_names == heart_model.features


def test_one_hot_columns_sum_back_to_their_source():
    pytest.importorskip("shap")
    rng = np.random.default_rng(0)
    n = 200
    df = pd.DataFrame({"age": rng.normal(60, 9, n), "smoker": rng.choice(["yes", "no", "former"], n)})
    df["sick"] = ((df["age"] > 60) ^ (df["smoker"] == "yes")).astype(int)
    m = dx.fit(df, dx.DiagnosisColumns("sick", ("age", "smoker")), dx.DiagnosisConfig(max_epochs=30, bootstrap=0))
    exp = m.explain(df.head(10))
    assert exp.feature_names == ["age", "smoker"]
    logits = m._logits(m.preprocessor.transform(df.head(10)))[:, 0].cpu().numpy()
    assert np.abs(exp.outputs - logits).max() <= 1e-3


def test_multiclass_and_binarised(heart):
    rng = np.random.default_rng(1)
    df = heart.copy()
    df["stage"] = np.where(df["target"] == 0, "none", rng.choice(["mild", "severe"], len(df)))
    cols = dx.DiagnosisColumns("stage", tuple(c for c in heart.columns if c != "target"), "severe")
    multi = dx.fit(df, cols, dx.DiagnosisConfig(max_epochs=40, bootstrap=0))
    assert multi.classes == ["mild", "none", "severe"] and "roc_auc_macro" in multi.metrics
    pred = multi.predict(df.head(5))
    assert {"risk", "predicted", "P(mild)", "P(none)", "P(severe)"} <= set(pred.columns)
    assert np.allclose(pred[["P(mild)", "P(none)", "P(severe)"]].sum(1), 1, atol=1e-5)
    # SHAP is additive for each outcome of a multi-class model: base + contributions = that outcome's logit
    rows = multi.held_out(df, limit=20)
    logits = multi._logits(multi.preprocessor.transform(rows)).cpu().numpy()
    bases = []
    for i, cls in enumerate(multi.classes):
        exp = multi.explain(rows, output=cls)
        assert exp.values.shape == (20, len(cols.features)) and cls in exp.output_name
        np.testing.assert_allclose(exp.outputs, logits[:, i], atol=1e-3)
        bases.append(exp.base_value)
    assert len(set(np.round(bases, 6))) == 3  # three different outcomes, not one explained three times
    binar = dx.fit(
        df,
        dx.DiagnosisColumns("stage", cols.features, "none", binarise=True),
        dx.DiagnosisConfig(max_epochs=40, bootstrap=0),
    )
    assert binar.classes == ["not none", "none"] and binar.positive_class == "none"


def test_positive_class_first_in_order_keeps_risk_meaning(heart):
    df = heart.assign(target=heart["target"].map({0: "healthy", 1: "disease"}))
    m = dx.fit(
        df,
        dx.DiagnosisColumns("target", tuple(heart.columns[:-1]), "disease"),
        dx.DiagnosisConfig(max_epochs=60, bootstrap=0),
    )
    assert m.classes == ["disease", "healthy"] and m.positive_index == 0
    risk = m.predict(df)["risk"]
    assert risk[df["target"] == "disease"].mean() > risk[df["target"] == "healthy"].mean() + 0.3


def test_batch_scoring_needs_no_outcome(heart, heart_model):
    pytest.importorskip("shap")
    new = heart.drop(columns=["target"]).head(5)
    scored = heart_model.score(new)
    assert list(scored.columns[:3]) == ["risk", "predicted", "top reasons"]  # the answer first, then their columns
    assert scored["top reasons"].str.count(";").eq(2).all()


BAD = {
    "outcome with one class": (lambda h: h.assign(target=1), "only one value"),
    "outcome with 40 classes": (lambda h: h.assign(target=np.arange(len(h)) % 40), "40 different values"),
    "outcome all missing": (lambda h: h.assign(target=np.nan), "empty in every row"),
    "a feature that is all text": (lambda h: h.assign(chol=[f"chol was {i} mg" for i in range(len(h))]), "free text"),
    "infinite values": (lambda h: h.assign(oldpeak=h["oldpeak"].replace(h["oldpeak"].iloc[3], np.inf)), "infinite"),
    "2 rows": (lambda h: h.head(2), "Only 2 rows"),
    "rare outcome": (lambda h: h.assign(target=[1] * 3 + [0] * (len(h) - 3)), "only 3 row"),
    "missing outcome column": (lambda h: h.drop(columns=["target"]), "not in your file"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_a_sentence(heart, case):
    make, words = BAD[case]
    df = make(heart.copy())
    cols = dx.DiagnosisColumns("target", tuple(c for c in heart.columns if c != "target"))
    with pytest.raises(DataError) as err:
        dx.fit(df, cols, dx.DiagnosisConfig(max_epochs=5, bootstrap=0))
    assert words in err.value.message


def test_tampered_model_file(tmp_path, heart_model):
    raw = bytearray(heart_model.to_bytes())
    raw[len(raw) // 2] ^= 0xFF
    raw = bytes(raw[:-10])
    with pytest.raises(DataError):
        dx.load(raw)
