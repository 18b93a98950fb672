"""A reload while training (a new session with `?job=` in the URL) finds the job again; with the
thread runner here (the Ray runner's reload is tested in tests/browser/test_ray_browser.py)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from engine.jobs import get_job
from tests.conftest import ROOT

APP = str(ROOT / "app.py")


def _diagnosis(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.switch_page("app_pages/diagnosis.py").run()
    assert not at.exception
    return at


def test_a_new_session_with_the_job_in_its_url_reattaches_and_others_do_not():
    first = _diagnosis()
    first.button(key="diagnosis_train").click().run()
    job = next(iter(first.session_state["_explorer_jobs"].values()))
    assert job.id in str(first.query_params["job"])
    assert get_job(job.id) is job and len(job.id) >= 20  # unguessable

    reload = _diagnosis({"job": job.id})  # the same URL in a new session: no Train press
    assert list(reload.session_state["_explorer_jobs"].values()) == [job]
    assert not [b for b in reload.button if b.key == "diagnosis_train"]  # it shows the job, not a Train button

    stranger = _diagnosis({"job": "not-a-real-job-id"})
    assert "_explorer_jobs" not in stranger.session_state or not stranger.session_state["_explorer_jobs"]
    assert [b for b in stranger.button if b.key == "diagnosis_train"]
    job.cancel()
    job.wait(60)
