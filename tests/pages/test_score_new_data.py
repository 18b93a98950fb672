"""Score new data reads at a glance (issue 18): answers first, a one-line summary, a template CSV to fill in."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, SAMPLES
from ui.tabular import scoring_summary, scoring_template

APP = str(ROOT / "app.py")


@pytest.fixture
def served(monkeypatch) -> dict[str, bytes]:
    """The bytes behind each download button, by file id (a spy: the real media storage still stores them)."""
    seen: dict[str, bytes] = {}
    real = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):
        file_id = real(self, path_or_data, mimetype, kind, filename)
        if isinstance(path_or_data, bytes):
            seen[file_id] = path_or_data
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    return seen


def _download(at: AppTest, key: str, served: dict[str, bytes]) -> bytes:
    button = next(b for b in at.get("download_button") if b.proto.id.endswith(key) or key in b.proto.id)
    file_id = button.proto.url.rsplit("/", 1)[-1].split(".")[0]
    return served[file_id]


def test_diagnosis_scores_with_a_summary_and_offers_a_template(served):
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("app_pages/diagnosis.py").run()
    at.number_input(key="dx_epochs").set_value(10).run()  # the scoring is under test, not the model
    at.button(key="diagnosis_train").click().run()
    job = next(iter(at.session_state["_explorer_jobs"].values()))
    assert job.wait(120)
    at.run()
    assert not at.exception
    model = job.result

    # the template: exactly the columns the model needs, with the training data's first row as the example
    template = pd.read_csv(io.BytesIO(_download(at, "dx_score_template", served)))
    assert list(template.columns) == list(model.features)
    training = pd.read_csv(SAMPLES / "heart_disease_cleveland.csv")
    assert len(template) == 1
    assert template.iloc[0].tolist() == pytest.approx(training[model.features].iloc[0].tolist(), nan_ok=True)

    # scoring: the answers come first and the summary's count is the scored frame's
    new = (SAMPLES / "heart_disease_cleveland.csv").read_bytes()
    next(u for u in at.get("file_uploader") if u.key == "dx_score_upload").set_value(("new.csv", new, "text/csv")).run()
    assert not at.exception and not at.error
    scored, _ = next(iter(at.session_state["dx_scored"].values()))
    assert list(scored.columns[:2]) == ["risk", "predicted"]
    counts = scored["predicted"].value_counts()
    summary = next(s.value for s in at.success if s.value.startswith("Scored"))
    assert summary.startswith(f"Scored {len(scored):,} rows")
    assert set(counts.index) == {"0 = no disease", "1 = disease"}  # the sample dictionary's words, in the download too
    for value, count in counts.items():
        code, _, meaning = value.partition(" = ")
        assert f"{count:,} {'is' if count == 1 else 'are'} {meaning} ({code})" in summary, summary


def test_summary_counts_yes_no_answers_and_ignores_uploaded_columns():
    scored = pd.DataFrame(
        {
            "fraud score": [0.9, 0.1, 0.8, 0.2],
            "flagged": ["yes", "no", "yes", "no"],
            "top reasons": ["a", "b", "c", "d"],
            "Class": ["yes", "yes", "yes", "yes"],
        }
    )
    assert scoring_summary(scored, uploaded=["Class"]) == "Scored 4 rows: 2 (50.0%) flagged."
    flags = pd.DataFrame({"failure risk": [0.7, 0.1, 0.2], "service before next run": [True, False, False]})
    assert scoring_summary(flags) == "Scored 3 rows: 1 (33.3%) service before next run."
    assert (
        scoring_summary(pd.DataFrame({"date": ["2026-01-01", "2026-01-02"], "forecast": [1.0, 2.0]}))
        == "Scored 2 rows."
    )


def test_template_without_training_data_is_just_the_header():
    assert list(scoring_template(["a", "b"]).columns) == ["a", "b"]
    assert len(scoring_template(["a", "b"])) == 0
    assert len(scoring_template(["a", "b"], pd.DataFrame({"a": [1]}))) == 0  # the example lacks a column
    assert scoring_template(["a"], pd.DataFrame({"a": [1, 2], "z": [3, 4]})).to_dict("list") == {"a": [1]}
