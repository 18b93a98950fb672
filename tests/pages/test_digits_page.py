"""Digit recognizer page in AppTest: sample → train → confusion matrix, gallery, explanations; batch prediction;
bad uploads → a sentence, no exception. (The drawing canvas is a custom component AppTest cannot drive: the
browser test draws; the preprocessing is unit-tested in tests/engine/test_digits.py.)"""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, SAMPLES
from tests.pages.shap_views import array, chart
from tests.pages.sharing import create_share_link

APP = str(ROOT / "app.py")
QUICK = "MNIST: 500 images (a quick try)"


def _open() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.switch_page("app_pages/digits.py").run()
    assert not at.exception
    return at


def _csv(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode()


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return pd.read_csv(SAMPLES / "mnist_train_500.csv")


def test_default_sample_is_10k_images_tested_on_2k_with_a_time_estimate():
    at = _open()
    assert at.radio(key="dg_dataset").value.startswith("MNIST: 10,000")
    assert any("2,000 other MNIST images" in c.value for c in at.caption)
    assert {m.label: m.value for m in at.metric}["Rows"] == "10,000"
    assert not at.error
    # how long training takes is said before Train is pressed; fewer passes say less
    assert any("on 10,000 images takes about 2 minutes" in i.value for i in at.info), [i.value for i in at.info]
    at.number_input(key="dg_cnn_epochs").set_value(3).run()
    assert any("on 10,000 images takes about 40 seconds" in i.value for i in at.info), [i.value for i in at.info]


def test_training_estimate_follows_images_and_passes():
    from engine import digits as dg
    from ui import digits as view

    default = dg.DigitConfig()
    assert view.training_estimate(10_000, default) == pytest.approx(110, abs=5)  # the measurement it comes from
    assert view.training_estimate(400, default) == pytest.approx(60, abs=5)
    assert (
        view.training_estimate(400, default)
        < view.training_estimate(5_000, default)
        < view.training_estimate(20_000, default)
    )
    assert view.training_estimate(10_000, dg.DigitConfig(cnn_epochs=30)) > view.training_estimate(10_000, default)


def _uploader(at: AppTest, key: str):
    return next(u for u in at.get("file_uploader") if u.proto.id and key in u.proto.id)


@pytest.fixture(scope="module")
def trained() -> AppTest:
    """The quick sample trained once (4 CNN epochs) for the tests that read results."""
    at = _open()
    at.radio(key="dg_dataset").set_value(QUICK).run()
    at.number_input(key="dg_cnn_epochs").set_value(4).run()
    at.button(key="digits_train").click().run()
    jobs = list(at.session_state["_explorer_jobs"].values())
    assert len(jobs) == 1 and jobs[0].wait(180)
    assert jobs[0].status == "done", jobs[0].error
    at.run()
    return at


def test_quick_sample_results_and_no_retrain(trained):
    at = trained
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert [t.label for t in at.tabs] == ["Performance", "Explanations", "Draw a digit", "Predict new images", "Share"]
    metrics = {m.label: m.value for m in at.metric}
    # trivial models on this split (the same 100 held-out images as tests/engine/test_digits.py): majority class 0.11,
    # scikit-learn's nearest centroid 0.68; four CNN epochs must beat the centroid clearly
    assert float(metrics["Accuracy"]) >= 0.78 and "Hardest digit's recall" in metrics
    titles = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("Confusion matrix" in s for s in titles) and any("scores digit" in s for s in titles)
    assert any("Misread test images" in m.value for m in at.markdown)
    report = next(iter(at.session_state["_memo_digits_report"].values()))
    assert "Confusion matrix" in report and "Misread test images" in report and "<script" in report
    # one order of the models everywhere: the table, the accuracy chart and the choice of model to inspect
    table = next(d.value for d in at.dataframe if "CNN" in d.value.columns)
    bars = next(c for c in at.get("plotly_chart") if "Accuracy on the test images" in c.proto.spec)
    chart_order = json.loads(bars.proto.spec)["data"][0]["y"]
    assert list(table.columns) == list(chart_order) == list(at.radio(key="dg_perf_model").options)
    # switching the inspected model and the normalisation never retrains
    at.radio(key="dg_perf_model").set_value("MLP (784-128-10)").run()
    at.toggle(key="dg_perf_norm").set_value(True).run()
    at.selectbox(key="dg_expl_image").select_index(3).run()
    assert not at.exception and not at.error and len(at.session_state["_explorer_jobs"]) == 1
    assert "digits_train" not in [b.key for b in at.button]


@pytest.mark.shap
def test_mean_pixel_attribution_per_digit_on_request(trained):
    """Explanations · across digits: nothing is computed until Show; then ten 28x28 maps, each the mean |SHAP| over
    that digit's explained images."""
    pytest.importorskip("shap")
    at = trained
    assert "_memo_dg_expl_global_maps" not in at.session_state
    at.number_input(key="dg_expl_global_n").set_value(1).run()
    at.button(key="dg_expl_global_go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    values, digits, _ = list(at.session_state["_memo_dg_expl_global_maps"].values())[-1]
    grid = chart(at, "Mean |pixel SHAP| per digit")
    maps = [array(t["z"]) for t in grid["data"]]
    assert len(maps) == 10 and all(z.shape == (28, 28) for z in maps)
    for d in set(digits):
        np.testing.assert_allclose(maps[d].ravel(), np.abs(values[digits == d]).mean(axis=0))
    at.run()  # a rerun shows the maps again without the button
    assert len([c for c in at.get("plotly_chart") if "Mean |pixel SHAP| per digit" in c.proto.spec]) == 1


def test_nudge_a_misread_digit_changes_its_reading(trained):
    """The gallery's misread digits can be nudged: as written the page shows the CNN's stored reading (which the model
    reproduces on the same image); thickening the strokes moves the probabilities, and the page shows the model's own
    reading of the nudged image."""
    from engine import digits as dg
    from ui.style import pct

    at = trained
    model = next(iter(at.session_state["_explorer_jobs"].values())).result
    i = at.selectbox(key="dg_nudge_image").value
    wrong = model.misclassified(dg.MODEL)
    assert i == wrong["index"].iloc[0]  # the most confident mistake first, as in the gallery
    original = model.test["X"][i]
    assert model.predict_image(original)[dg.MODEL] == pytest.approx(model.test[dg.MODEL][i], abs=1e-4)

    def shown() -> tuple[str, str]:
        m = {k.label: k.value for k in at.metric}
        return m["The CNN reads, as written"], m["The CNN reads, nudged"]

    def reading(p) -> str:
        return f"{int(p.argmax())} ({pct(float(p.max()), 0)})"

    assert shown() == (reading(model.test[dg.MODEL][i]),) * 2
    assert int(model.test[dg.MODEL][i].argmax()) != int(model.test["y"][i])
    at.slider(key=f"dg_nudge_thicker_{i}").set_value(2).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    thick = model.predict_image(dg.nudge(original, 2))[dg.MODEL]
    assert shown() == (reading(model.test[dg.MODEL][i]), reading(thick))
    assert np.abs(thick - model.test[dg.MODEL][i]).max() > 0.01  # bolder strokes move the CNN's probabilities
    at.selectbox(key=f"dg_nudge_erase_{i}").set_value("the top third").run()
    erased = model.predict_image(dg.nudge(original, 2, "the top third"))[dg.MODEL]
    assert shown()[1] == reading(erased) and np.abs(erased - thick).max() > 0.01
    assert len(at.session_state["_explorer_jobs"]) == 1


def test_batch_prediction_gives_a_kaggle_submission(trained, small):
    at = trained
    _uploader(at, "dg_score_upload").set_value(
        ("test.csv", _csv(small.drop(columns="label").head(25)), "text/csv")
    ).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Read 25 images" in s.value for s in at.success)
    assert [d for d in at.get("download_button") if "submission" in d.proto.label.lower()]
    # a labelled file also gets its accuracy; a broken one a sentence
    _uploader(at, "dg_score_upload").set_value(("labelled.csv", _csv(small.head(40)), "text/csv")).run()
    assert any(m.label == "CNN accuracy on your labelled file" for m in at.metric)
    _uploader(at, "dg_score_upload").set_value(("short.csv", _csv(small.iloc[:20, :500]), "text/csv")).run()
    assert not at.exception and any("pixel columns" in e.value for e in at.error)


def _png(img28: np.ndarray, scale: int = 8) -> bytes:
    """A test digit as a photo of paper: dark ink on white, enlarged, off-centre."""
    from PIL import Image

    ink = Image.fromarray(img28.reshape(28, 28).astype(np.uint8)).resize((28 * scale, 28 * scale), Image.BILINEAR)
    paper = np.full((400, 300), 255, np.uint8)
    paper[30 : 30 + 28 * scale, 10 : 10 + 28 * scale] = 255 - np.asarray(ink)
    buf = io.BytesIO()
    Image.fromarray(paper).convert("RGB").save(buf, format="PNG")
    return buf.getvalue()


def test_uploaded_picture_is_read_and_a_non_picture_gets_a_sentence(trained, small):
    at = trained
    at.radio(key="dg_draw_how").set_value("Upload a picture (PNG/JPG)").run()
    model = next(iter(at.session_state["_explorer_jobs"].values())).result
    i = int(np.flatnonzero(model.test_predictions() == model.test["y"])[0])
    _uploader(at, "dg_draw_picture").set_value(("digit.png", _png(model.test["X"][i]), "image/png")).run()
    errors = [e.value for e in at.error if "short.csv" not in e.value]  # the batch test's broken file is still up
    assert not at.exception and not errors, errors
    read = {m.label: m.value for m in at.metric}["The CNN reads"]
    assert read == str(model.test["y"][i])
    _uploader(at, "dg_draw_picture").set_value(("digit.png", b"label,pixel0\n1,0\n", "image/png")).run()
    assert not at.exception and any("not a picture" in e.value for e in at.error)


def test_share_link_reopens_the_run_without_training(trained):
    run_id = create_share_link(trained, "digits")
    accuracy = {m.label: m.value for m in trained.metric}["Accuracy"]
    other = AppTest.from_file(APP, default_timeout=90)  # another person, a fresh session
    other.query_params["run"] = run_id
    other.run()
    other.switch_page("app_pages/digits.py")
    other.query_params["run"] = run_id
    other.run()
    assert not other.exception and not other.error, [e.value for e in other.error]
    assert {m.label: m.value for m in other.metric}["Accuracy"] == accuracy
    assert "_explorer_jobs" not in other.session_state or not other.session_state["_explorer_jobs"]
    assert any("shared run" in m.value for m in other.markdown)


def test_model_file_opens_without_training(trained):
    model_bytes = next(iter(trained.session_state["_memo_dg_model_file"].values()))
    fresh = _open()
    _uploader(fresh, "dg_model_upload").set_value(("m.safetensors", model_bytes, "application/octet-stream")).run()
    assert not fresh.exception and any("Models read" in s.value for s in fresh.success)
    assert "Accuracy" in {m.label for m in fresh.metric} and "digits_train" not in [b.key for b in fresh.button]
    junk = _open()
    _uploader(junk, "dg_model_upload").set_value(
        ("m.safetensors", b"\x80\x04 pickle?", "application/octet-stream")
    ).run()
    assert not junk.exception and any("not a model saved by" in e.value for e in junk.error)


def test_settings_in_the_url_set_up_the_page_before_training():
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.switch_page("app_pages/digits.py")
    for key, value in {"dg_dataset": QUICK, "dg_cnn_epochs": "5", "dg_augment": "false"}.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    assert at.radio(key="dg_dataset").value == QUICK
    assert at.number_input(key="dg_cnn_epochs").value == 5 and at.checkbox(key="dg_augment").value is False


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
        ("text.csv", _text_pixel, "non-numeric pixel cell(s), the first in column 'pixel300', data row 8"),
        ("scan.csv", lambda: b"\x89PNG\r\n\x1a\n" + bytes(64), "PNG image"),
    ],
)
def test_bad_uploads_get_a_sentence(name, make, words):
    at = _open()
    at.radio(key="dg_dataset").set_value("Upload my own CSV").run()
    _uploader(at, "dg_upload").set_value((name, make(), "text/csv")).run()
    assert not at.exception
    assert any(words in e.value for e in at.error), [e.value for e in at.error]
    assert "digits_train" not in [b.key for b in at.button]
