"""Column descriptions in the app: the sample's dictionary reaches the what-if, the explanations, the report, the
model file and a share link; a bad dictionary file gets a sentence; the page keeps serving."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import open_app_page
from tests.pages.sharing import create_share_link

CP = "chest pain type (cp)"


def _open(query: dict | None = None) -> AppTest:
    return open_app_page("app_pages/diagnosis.py", query, timeout=90)


def _uploader(at: AppTest, key: str):
    return next(u for u in at.get("file_uploader") if u.key == key)


def _charts(at: AppTest) -> str:
    return " | ".join(str(c.proto.spec) for c in at.get("plotly_chart"))


def _train(at: AppTest):
    at.number_input(key="dx_epochs").set_value(15).run()
    at.button(key="diagnosis_train").click().run()
    job = next(iter(at.session_state["_explorer_jobs"].values()))
    assert job.wait(180), "training did not finish"
    at.run()
    assert job.status == "done", job.error
    return job


def test_bad_dictionary_file_gets_a_sentence_and_a_good_one_relabels():
    at = _open()
    _uploader(at, "dx_dictionary_upload").set_value(
        ("cols.csv", b"column,description,values\ncp,pain,typical\n", "text/csv")
    ).run()
    assert not at.exception
    assert any("should look like '1=disease; 0=no disease'" in w.value for w in at.warning), [
        w.value for w in at.warning
    ]
    kept = at.session_state["_explorer_dictionaries"]
    assert next(iter(kept.values())).label("cp") == CP  # the sample's dictionary still holds
    _uploader(at, "dx_dictionary_upload").set_value(
        ("cols.csv", b"cp,kind of chest pain\nchol,cholesterol\n", "text/csv")
    ).run()
    assert not at.exception and not at.warning
    assert next(iter(kept.values())).label("cp") == "kind of chest pain (cp)"


def test_sample_dictionary_labels_the_what_if_explanations_report_model_file_and_share_link():
    pytest.importorskip("shap")
    from engine import diagnosis as dx

    at = _open()
    _train(at)
    assert not at.exception and not at.error
    # what-if: the field says what the column means, its choices what the codes mean
    pick = at.selectbox(key="dx_whatif_row").value
    cp = at.selectbox(key=f"dx_wi_{pick}_cp")
    assert cp.label == CP and "4 = asymptomatic" in cp.options
    assert at.number_input(key=f"dx_wi_{pick}_chol").label == "serum cholesterol (mg/dl) (chol)"
    # explanations: bar, beeswarm and waterfall name the columns in words
    assert CP in _charts(at)
    # the report
    report = next(iter(at.session_state["_memo_diagnosis_report"].values()))
    assert CP in report
    # the model file keeps the dictionary
    model_file = next(iter(at.session_state["_memo_dx_model_file"].values()))
    assert dx.load(model_file).dictionary.label("cp") == CP
    # and so does a share link, opened in a fresh session without the sample's dictionary
    run_id = create_share_link(at, "diagnosis")
    shared = _open({"run": run_id})
    assert not shared.exception
    assert CP in _charts(shared)
    assert any(s.label == CP for s in shared.selectbox)
