"""Fair share of the server (issue 23): one browser tab pressing Train six times on six settings gets at most one
running and one waiting job, a sentence for the rest, and a Cancel button on its page for every job it has."""

from __future__ import annotations

import time

from streamlit.testing.v1 import AppTest

from engine.jobs import CANCELLED
from engine.runners import default_runner
from tests.conftest import ROOT


def _cancel_buttons(at: AppTest) -> list[str]:
    return [b.key for b in at.button if b.key and b.key.startswith("cancel_")]


def test_six_train_presses_give_two_jobs_each_cancellable_from_the_page():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("app_pages/diagnosis.py").run()
    for seed in range(6):  # six different settings: six different runs
        at.number_input(key="dx_seed").set_value(seed).run()
        if at.button(key="diagnosis_train"):
            at.button(key="diagnosis_train").click().run()
    jobs = [j for j in at.session_state["_explorer_jobs"].values() if j.active]
    owner = jobs[0].owner
    assert owner and all(j.owner == owner for j in jobs)
    assert len(jobs) <= 2 and default_runner().jobs_of(owner) == jobs
    assert any("the most one browser tab may have" in w.value for w in at.warning)
    buttons = _cancel_buttons(at)  # every one of them has its Cancel on the page
    assert len(buttons) == len(jobs) and all(any(b.endswith(j.id) for b in buttons) for j in jobs)

    for job in jobs:  # cancel each from the page
        key = next(b.key for b in at.button if b.key and b.key.startswith("cancel_") and b.key.endswith(job.id))
        at.button(key=key).click().run()
        assert job.wait(60) and job.status == CANCELLED
    deadline = time.time() + 30
    while default_runner().jobs_of(owner) and time.time() < deadline:
        time.sleep(0.2)
    assert default_runner().jobs_of(owner) == []
