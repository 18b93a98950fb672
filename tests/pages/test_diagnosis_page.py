"""Diagnosis page in AppTest: sample → train → results; bad uploads → a sentence, no exception."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import recall_score
from streamlit.testing.v1 import AppTest

from engine import diagnosis as dx
from engine import scenario, subgroups
from engine.data import load_table
from tests.conftest import ROOT, SAMPLES, open_app_page
from tests.pages.sharing import create_share_link, store_files
from ui import diagnosis as diagnosis_view

APP = str(ROOT / "app.py")


def _open() -> AppTest:
    return open_app_page("app_pages/diagnosis.py")


def _uploader(at: AppTest, key: str):
    return next(u for u in at.get("file_uploader") if u.key == key)


def _train(at: AppTest):
    at.button(key="diagnosis_train").click().run()
    jobs = list(at.session_state["_explorer_jobs"].values())
    assert len(jobs) == 1
    assert jobs[0].wait(120)
    at.run()
    return jobs[0]


def test_home_lists_the_built_pages_and_the_device():
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception and not at.error
    assert any("Models train on" in i.value for i in at.info)
    # one link per scenario of the engine's contract, labelled with its title, leading to a page file that exists
    links = {link.proto.page: link.proto.label for link in at.get("page_link")}
    assert set(links) == {"diagnosis", "fraud", "digits", "maintenance", "segmentation", "forecast", "customer_service"}
    for url, label in links.items():
        assert label.strip("*") and (ROOT / "app_pages" / f"{url}.py").exists(), (url, label)
    assert "**Diagnosis**" in links.values() and "**Demand forecast**" in links.values()
    assert len(links) == len(scenario.SCENARIOS)


def test_sample_train_results_no_retrain():
    pytest.importorskip("shap")
    at = _open()
    job = _train(at)
    assert job.status == "done", job.error
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert float(metrics["ROC-AUC"]) >= 0.85
    assert {"Accuracy", "Sensitivity", "Specificity", "Brier score"} <= set(metrics)
    assert len(at.get("plotly_chart")) >= 6  # ROC, confusion, calibration, SHAP bar/swarm/waterfall, …
    assert [t.label for t in at.tabs] == [
        "Performance",
        "Subgroups",
        "Explanations",
        "What-if",
        "Score new data",
        "Share",
    ]
    # moving the threshold updates the numbers and never retrains
    before = metrics["Sensitivity at this threshold"]
    at.slider(key="dx_threshold").set_value(0.2).run()
    after = {m.label: m.value for m in at.metric}["Sensitivity at this threshold"]
    assert float(after.rstrip("%")) >= float(before.rstrip("%"))
    assert len(at.session_state["_explorer_jobs"]) == 1
    assert "diagnosis_train" not in [b.key for b in at.button]  # no Train button once trained

    # results by subgroup: the held-out patients split by sex, at the page's threshold, as scikit-learn counts them
    assert not [
        d for d in at.dataframe if "recall (95% interval)" in d.value.columns
    ]  # nothing until a column is picked
    at.selectbox(key="dx_subgroup").set_value("sex").run()
    assert not at.exception and len(at.session_state["_explorer_jobs"]) == 1
    shown = next(d.value for d in at.dataframe if "recall (95% interval)" in d.value.columns).set_index("sex")
    model, heart = job.result, pd.read_csv(SAMPLES / "heart_disease_cleveland.csv")
    sex = model.held_out(heart)["sex"].to_numpy()
    y, flagged = model.test_positive(), model.test_probabilities()[dx.MODEL] >= 0.2
    words = {0: "0 = female", 1: "1 = male"}  # the sample dictionary's labels, never a bare "0"/"1"
    assert shown["patients"].sum() == len(y) and set(shown.index) == set(words.values())
    for value in (0, 1):
        m = sex == value
        want = f"{100 * recall_score(y[m], flagged[m]):.0f}% ("
        assert shown.loc[words[value], "recall (95% interval)"].startswith(want), (value, shown.loc[words[value]], want)
    assert any("sex" in a.value and "chance" in a.value for a in [*at.info, *at.warning])
    report = diagnosis_view.report(
        model,
        load_table(SAMPLES / "heart_disease_cleveland.csv"),
        None,
        0.2,
        subgroups.compare("sex", model.held_out(heart)["sex"], y, flagged),
    )
    assert "Results by subgroup: sex" in report
    # the link carries the subgroup view: a colleague opens the run split by sex, as it was shown
    run_id = create_share_link(at, "diagnosis")
    assert any(f"?run={run_id}&dx_subgroup=sex" in c.value for c in at.code), (
        [c.value for c in at.code],
        dict(at.query_params),
    )
    visitor = AppTest.from_file(APP, default_timeout=60)
    visitor.run()
    visitor.switch_page("app_pages/diagnosis.py")
    visitor.query_params["run"], visitor.query_params["dx_subgroup"] = run_id, "sex"
    visitor.run()
    assert not visitor.exception
    again = next(d.value for d in visitor.dataframe if "recall (95% interval)" in d.value.columns).set_index("sex")
    assert again["patients"].sum() == len(y) and set(again.index) == set(words.values())


@pytest.fixture(scope="module")
def trained():
    """The sample trained once for the module's what-if, share-link and model-file tests (none of them checks the
    training itself): the page, its job, and the run store's files before and after training."""
    pytest.importorskip("shap")
    import random

    import torch

    random.seed(0), np.random.seed(0), torch.manual_seed(0)  # as tests/conftest.py's _seeded, which runs after
    at = _open()
    before = store_files()
    job = _train(at)
    return at, job, before, store_files()


def test_what_if_moves_the_risk_as_the_model_says_and_refuses_impossible_codes(trained):
    at, job, _, _ = trained
    model = job.result
    pick = at.selectbox(key="dx_whatif_row").value
    key = f"dx_wi_{pick}"
    base = pd.read_csv(SAMPLES / "heart_disease_cleveland.csv").loc[pick, model.features]

    def shown() -> tuple[float, float]:
        m = {k.label: float(k.value.rstrip("%")) for k in at.metric if "Risk of" in k.label}
        return next(v for k, v in m.items() if k.endswith("as recorded")), next(
            v for k, v in m.items() if k.endswith("with your changes")
        )

    def risk(row) -> float:
        return 100 * float(model.predict(row.to_frame().T)["risk"].iloc[0])

    assert shown()[0] == pytest.approx(risk(base), abs=0.05) and shown()[1] == shown()[0]
    # a number: age +30 moves the risk the way the model itself says, by the model's own amount
    age = at.number_input(key=f"{key}_age")
    older = base.copy()
    older["age"] = base["age"] + 30
    age.set_value(float(older["age"])).run()
    assert not at.exception and not at.error
    recorded, changed = shown()
    assert changed == pytest.approx(risk(older), abs=0.05) and changed != recorded
    assert np.sign(changed - recorded) == np.sign(risk(older) - risk(base))
    # beyond the ages seen in training: answered, but marked as outside the data
    at.number_input(key=f"{key}_age").set_value(150.0).run()
    assert any("outside the range seen in training" in w.value for w in at.warning)
    # coded columns offer only the values seen in training: no "sex = 5", no "thal = 2.5"
    assert f"{key}_sex" not in [n.key for n in at.number_input]

    def code(option: str) -> float:  # "1 = male" (the sample's value labels) or "1"
        return float(option.split(" = ")[0])

    assert [code(o) for o in at.selectbox(key=f"{key}_sex").options] == [0.0, 1.0]
    thal = at.selectbox(key=f"{key}_thal")
    assert 2.5 not in [code(o) for o in thal.options] and len(thal.options) <= 4
    other = next(code(o) for o in thal.options if code(o) != float(thal.value))
    at.selectbox(key=f"{key}_thal").set_value(other).run()
    assert not at.exception
    moved = base.copy()
    moved["age"], moved["thal"] = 150.0, other
    assert shown()[1] == pytest.approx(risk(moved), abs=0.05)


@pytest.mark.parametrize(
    "name, data, words",
    [
        ("empty.csv", b"", "is empty"),
        ("header.csv", b"age,sex,target\n", "no data rows"),
        ("photo.csv", b"\x89PNG\r\n\x1a\n" + bytes(64), "PNG image"),
        ("dupes.csv", b"age,age,target\n1,2,0\n", "appears twice"),
        (
            "one_class.csv",
            ("age,chol,target\n" + "".join(f"{50 + i * 7 % 23},{200 + i * 13 % 37},1\n" for i in range(40))).encode(),
            "only one value",
        ),  # measurements repeat: a column counting up by one per row would be a row number
        ("two_rows.csv", b"age,chol,target\n50,200,1\n60,230,0\n", "Only 2 rows"),
        (
            "inf.csv",
            (
                "age,chol,target\n" + "".join(f"{50 + i},{'inf' if i == 3 else 200 + i},{i % 2}\n" for i in range(40))
            ).encode(),
            "infinite",
        ),
    ],
)
def test_bad_uploads_get_a_sentence(name, data, words):
    at = _open()
    at.radio(key="dx_dataset").set_value("Upload my own CSV").run()
    _uploader(at, "dx_upload").set_value((name, data, "text/csv")).run()
    assert not at.exception
    assert any(words in e.value for e in at.error), [e.value for e in at.error]


def test_upload_over_the_limit_is_refused_politely():
    from streamlit import config

    at = _open()
    at.radio(key="dx_dataset").set_value("Upload my own CSV").run()
    old = config.get_option("server.maxUploadSize")
    config.set_option("server.maxUploadSize", 1)
    try:
        big = b"age,chol,target\n" + b"50,200,1\n" * 150_000  # 1.3 MB
        _uploader(at, "dx_upload").set_value(("big.csv", big, "text/csv")).run()
    finally:
        config.set_option("server.maxUploadSize", old)
    assert not at.exception
    assert any("over the 1 MB limit" in e.value for e in at.error), [e.value for e in at.error]


def test_share_link_reopens_the_run_without_training(trained):
    at, _, before, after = trained
    assert after == before, "training alone wrote to the run store"
    share = " ".join(m.value for m in at.markdown)
    assert "Nothing is stored until you press the button" in share and "kept until" in share
    run_id = create_share_link(at, "diagnosis")
    roc = {m.label: m.value for m in at.metric}["ROC-AUC"]

    other = AppTest.from_file(APP, default_timeout=60)  # another person, a fresh session
    other.query_params["run"] = run_id
    other.run()
    other.switch_page("app_pages/diagnosis.py")
    other.query_params["run"] = run_id
    other.run()
    assert not other.exception and not other.error
    assert {m.label: m.value for m in other.metric}["ROC-AUC"] == roc
    assert not other.session_state["_explorer_jobs"] if "_explorer_jobs" in other.session_state else True
    assert any("shared run" in m.value for m in other.markdown)


@pytest.mark.parametrize(
    "bogus, words", [("not-a-run", "not valid"), ("A" * 22, "does not exist"), ("../../etc", "not valid")]
)
def test_bogus_share_link_gives_a_message_and_the_normal_page(bogus, words):
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("app_pages/diagnosis.py")
    at.query_params["run"] = bogus
    at.run()
    assert not at.exception
    assert any(words in w.value for w in at.warning)
    assert at.button(key="diagnosis_train")  # the normal page is there


def test_model_file_scores_without_training(trained):
    at = trained[0]
    model_bytes = at.session_state["_memo_dx_model_file"]
    fresh = _open()
    _uploader(fresh, "dx_model_upload").set_value(
        ("m.safetensors", next(iter(model_bytes.values())), "application/octet-stream")
    ).run()
    assert not fresh.exception and any("held-out ROC-AUC" in s.value for s in fresh.success)
    new_rows = (SAMPLES / "heart_disease_cleveland.csv").read_bytes()
    _uploader(fresh, "dx_file_score_upload").set_value(("new.csv", new_rows, "text/csv")).run()
    assert any("Scored 303 rows" in s.value for s in fresh.success)
    junk = _open()
    _uploader(junk, "dx_model_upload").set_value(
        ("m.safetensors", b"\x80\x04 pickle?", "application/octet-stream")
    ).run()
    assert not junk.exception and any("not a model saved by" in e.value for e in junk.error)


def test_settings_in_the_url_set_up_the_page_before_training():
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("app_pages/diagnosis.py")
    for key, value in {
        "dx_dataset": "Breast cancer (Wisconsin, 569 biopsies)",
        "dx_positive": "B",
        "dx_seed": "7",
    }.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    assert at.selectbox(key="dx_target").value == "diagnosis"
    assert at.selectbox(key="dx_positive").value == "B"
    assert at.number_input(key="dx_seed").value == 7
