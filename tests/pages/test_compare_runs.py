"""Runs side by side (issue 16): two runs of Diagnosis in one session, the second without two columns, compared in
step 3 — the settings that differ, both runs' metrics as their models hold them, the headline's noise verdict from
the intervals, both ROC curves, and each run's top SHAP columns."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from engine import diagnosis as dx
from tests.conftest import ROOT
from tests.pages.test_compare_saved_runs import _train  # press Train, wait, rerun


def test_two_runs_compared_side_by_side():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("app_pages/diagnosis.py").run()
    _train(at)
    assert not [e for e in at.expander if e.label.startswith("Compare runs")]  # one run: nothing to compare yet
    features = next(m for m in at.multiselect if m.key and m.key.startswith("dx_features_"))
    dropped = ["thal", "ca"]
    features.set_value([f for f in features.value if f not in dropped]).run()
    _train(at)
    assert not at.exception and not at.error
    assert [e for e in at.expander if "Compare runs side by side (2 runs" in e.label], [e.label for e in at.expander]
    runs = [j.result for j in at.session_state["_explorer_jobs"].values()]
    frames = [d.value for d in at.dataframe]
    differ = next(f for f in frames if list(f.columns) == ["setting", "run A", "run B"])
    assert list(differ["setting"]) == ["column · features"]  # only what the analyst changed
    assert set(dropped) <= set(differ.loc[0, "run A"].split(", ")) and not set(dropped) & set(
        differ.loc[0, "run B"].split(", ")
    )
    metrics = next(f for f in frames if "B − A" in f.columns).set_index("metric")
    for col, model in (("run A", runs[0]), ("run B", runs[1])):
        assert metrics.loc["ROC-AUC", col].startswith(f"{model.metrics['roc_auc']:.3f} (")
    lo_a, hi_a = runs[0].intervals[dx.MODEL]["roc_auc"]
    lo_b, hi_b = runs[1].intervals[dx.MODEL]["roc_auc"]
    words = "within noise" if lo_a <= hi_b and lo_b <= hi_a else "larger than the intervals explain"
    assert any(i.value.startswith("ROC-AUC: run A") and words in i.value for i in at.info)
    curve = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if "run A and run B" in c.proto.spec)
    assert [t["name"] for t in curve["data"]] == ["run A", "run B"]
    tops = next(f for f in frames if list(f.columns) == ["rank", "run A", "run B"])
    assert len(tops) == 5 and not set(dropped) & set(tops["run B"])  # run B never saw the dropped columns
    # picking the same run twice asks for two different runs; nothing retrains
    at.selectbox(key="diagnosis_compare_a").set_value(at.selectbox(key="diagnosis_compare_b").value).run()
    assert any("Pick two different runs" in i.value for i in at.info)
    assert len(at.session_state["_explorer_jobs"]) == 2
