"""A bug shows a short apology with an error id on the page; the traceback goes to the server log only.
A job that ran out of GPU memory and was retried on the CPU says so on the page."""

from __future__ import annotations

import logging
import re

from streamlit.testing.v1 import AppTest

import engine.diagnosis
import ui.data
from tests.conftest import ROOT

APP = str(ROOT / "app.py")


def _diagnosis() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("app_pages/diagnosis.py").run()
    return at


def _rendered(at: AppTest) -> str:
    return " ".join(e.value for kind in ("error", "warning", "info", "markdown", "success") for e in at.get(kind))


def test_a_failing_job_shows_an_apology_and_an_error_id(monkeypatch, caplog):
    def broken_fit(*args, **kwargs):
        raise ZeroDivisionError("secret internals: model.py line 42")

    monkeypatch.setattr(engine.diagnosis, "fit", broken_fit)
    at = _diagnosis()
    with caplog.at_level(logging.ERROR, logger="explorer.jobs"):
        at.button(key="diagnosis_train").click().run()
        job = next(iter(at.session_state["_explorer_jobs"].values()))
        assert job.wait(30)
        at.run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("Sorry" in e and job.error_id in e for e in errors), errors
    assert re.fullmatch(r"[0-9a-f]{8}", job.error_id)
    text = _rendered(at)
    assert "Traceback" not in text and "secret internals" not in text and "ZeroDivisionError" not in text
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert job.error_id in logged and "Traceback" in logged and "secret internals" in logged
    assert at.button(key="diagnosis_train")  # the analyst can try again


def test_a_bug_while_reading_a_file_is_an_apology_and_the_app_keeps_serving(monkeypatch, caplog):
    def broken_reader(*args, **kwargs):
        raise KeyError("internal column map")

    monkeypatch.setattr(ui.data, "load_table", broken_reader)
    at = _diagnosis()
    at.radio(key="dx_dataset").set_value("Upload my own CSV").run()
    with caplog.at_level(logging.ERROR, logger="explorer.ui"):
        next(u for u in at.get("file_uploader") if u.key == "dx_upload").set_value(
            ("p.csv", b"age,target\n1,0\n2,1\n", "text/csv")
        ).run()
    assert not at.exception
    error = " ".join(e.value for e in at.error)
    error_id = re.search(r"error id ([0-9a-f]{8})", error).group(1)
    assert "internal column map" not in _rendered(at)
    assert any(error_id in r.getMessage() and "Traceback" in r.getMessage() for r in caplog.records)
    monkeypatch.undo()
    at.radio(key="dx_dataset").set_value("Heart disease (Cleveland, 303 patients)").run()
    assert not at.exception and not at.error and at.button(key="diagnosis_train")


def test_the_page_says_when_a_job_fell_back_to_the_cpu(monkeypatch):
    """The GPU runs out of memory (simulated: the engine is told it has CUDA and the first attempt raises
    torch.OutOfMemoryError); the job is retried on the CPU and the page shows its results and why it was slower."""
    import torch

    import engine.device
    from engine.jobs import CPU_FALLBACK_NOTICE

    real_fit = engine.diagnosis.fit

    def fit_on_a_full_gpu(*args, **kwargs):
        if engine.device.get_device().type == "cuda":
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 30.00 GiB")
        return real_fit(*args, **kwargs)

    at = _diagnosis()
    monkeypatch.setattr(engine.device, "_resolve", lambda requested: torch.device("cuda"))
    monkeypatch.setattr(engine.diagnosis, "fit", fit_on_a_full_gpu)
    at.button(key="diagnosis_train").click().run()
    job = next(iter(at.session_state["_explorer_jobs"].values()))
    assert job.wait(120)
    monkeypatch.undo()  # the page's own rendering runs on this CPU-only machine
    at.run()
    assert not at.exception and job.status == "done", job.error
    assert any(CPU_FALLBACK_NOTICE in w.value for w in at.warning)
    assert "ROC-AUC" in {m.label for m in at.metric}
