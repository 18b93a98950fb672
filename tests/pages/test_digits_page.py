"""Digit recognizer page in AppTest: sample → train → confusion matrix, gallery, explanations; batch prediction;
bad uploads → a sentence, no exception. (The drawing canvas is a custom component AppTest cannot drive: the
browser test draws; the preprocessing is unit-tested in tests/engine/test_digits.py.)"""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, SAMPLES

APP = str(ROOT / "app.py")
QUICK = "MNIST: 500 images (a quick try)"


def _open() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.switch_page("pages/digits.py").run()
    assert not at.exception
    return at


def _csv(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode()


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return pd.read_csv(SAMPLES / "mnist_train_500.csv")


def test_default_sample_trains_on_10k_and_tests_on_2k():
    at = _open()
    assert at.radio(key="dg_dataset").value.startswith("MNIST: 10,000")
    assert any("2,000 other MNIST images" in c.value for c in at.caption)
    assert {m.label: m.value for m in at.metric}["Rows"] == "10,000"
    assert not at.error


def test_quick_sample_train_results_predict_no_retrain(small):
    pytest.importorskip("shap")
    at = _open()
    at.radio(key="dg_dataset").set_value(QUICK).run()
    at.number_input(key="dg_cnn_epochs").set_value(4).run()
    at.button(key="digits_train").click().run()
    jobs = list(at.session_state["_explorer_jobs"].values())
    assert len(jobs) == 1 and jobs[0].wait(120)
    assert jobs[0].status == "done", jobs[0].error
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert [t.label for t in at.tabs] == ["Performance", "Explanations", "Draw a digit", "Predict new images", "Share"]
    metrics = {m.label: m.value for m in at.metric}
    assert float(metrics["Accuracy"]) > 0.5 and "Hardest digit's recall" in metrics
    titles = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("Confusion matrix" in s for s in titles) and any("Pixel" in s or "scores digit" in s for s in titles)
    assert any("Misread test images" in m.value for m in at.markdown)
    assert any("true " in (c.value or "") and "read" in (c.value or "") for c in at.caption) or len(at.get("imgs")) > 0
    # switching the inspected model and the normalisation never retrains
    at.radio(key="dg_perf_model").set_value("MLP (784-128-10)").run()
    at.toggle(key="dg_perf_norm").set_value(True).run()
    assert not at.exception and len(at.session_state["_explorer_jobs"]) == 1
    assert "digits_train" not in [b.key for b in at.button]
    # batch prediction: unlabelled rows in → Kaggle submission out
    unlabelled = small.drop(columns="label").head(25)
    uploader = [u for u in at.get("file_uploader") if u.proto.id and "dg_score_upload" in u.proto.id]
    assert uploader
    uploader[0].set_value(("test.csv", _csv(unlabelled), "text/csv")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Read 25 images" in s.value for s in at.success)
    downloads = [d for d in at.get("download_button") if "submission" in d.proto.label.lower()]
    assert downloads


def _bad_pixels() -> bytes:
    df = pd.read_csv(SAMPLES / "mnist_train_500.csv").head(60)
    df.loc[3, "pixel100"] = 999
    return _csv(df)


def _one_class() -> bytes:
    df = pd.read_csv(SAMPLES / "mnist_train_500.csv")
    return _csv(df[df["label"] == 1])


def _short() -> bytes:
    df = pd.read_csv(SAMPLES / "mnist_train_500.csv").head(60)
    return _csv(df.iloc[:, :700])


def _labels_12() -> bytes:
    df = pd.read_csv(SAMPLES / "mnist_train_500.csv").head(60)
    df.loc[5, "label"] = 12
    return _csv(df)


def _text_pixel() -> bytes:
    df = pd.read_csv(SAMPLES / "mnist_train_500.csv").head(60).astype(object)
    df.loc[7, "pixel300"] = "dark"
    return _csv(df)


@pytest.mark.parametrize(
    "name, make, words",
    [
        ("short.csv", _short, "699 pixel columns"),
        ("bright.csv", _bad_pixels, "between 0 and 255"),
        ("ones.csv", _one_class, "Every labelled image"),
        ("labels.csv", _labels_12, "digits 0 to 9"),
        ("text.csv", _text_pixel, "'dark' in data row 8"),
        ("scan.csv", lambda: b"\x89PNG\r\n\x1a\n" + bytes(64), "PNG image"),
    ],
)
def test_bad_uploads_get_a_sentence(name, make, words):
    at = _open()
    at.radio(key="dg_dataset").set_value("Upload my own CSV").run()
    at.get("file_uploader")[0].set_value((name, make(), "text/csv")).run()
    assert not at.exception
    assert any(words in e.value for e in at.error), [e.value for e in at.error]
    assert "digits_train" not in [b.key for b in at.button]
