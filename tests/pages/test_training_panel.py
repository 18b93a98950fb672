"""Step 3 as the analyst sees it while a model trains (ui/training.py): the live loss curve shows the epochs the
job has reported, with their values, and Cancel stops the job and offers Train again, with no results drawn."""

from __future__ import annotations

import base64
import json
import time

import numpy as np
from streamlit.testing.v1 import AppTest

from engine.jobs import CANCELLED
from tests.conftest import ROOT


def _values(array) -> np.ndarray:
    """A plotly array from a chart's JSON: a list, or base64 typed-array data."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=np.dtype(array["dtype"]))
    return np.asarray(array, dtype=float)


def _loss_chart(at: AppTest):
    charts = [c for c in at.get("plotly_chart") if "Training progress" in c.proto.spec]
    return charts[0] if charts else None


def test_live_loss_curve_then_cancel():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("app_pages/digits.py").run()  # the 10,000-image sample: minutes of training, time to look
    assert _loss_chart(at) is None  # nothing trains yet
    at.button(key="digits_train").click().run()
    job = next(iter(at.session_state["_explorer_jobs"].values()))
    deadline = time.time() + 240
    while time.time() < deadline and sum("train_loss" in e for e in job.events) < 2:
        time.sleep(0.5)
    at.run()
    assert job.active, "the job ended before the test could look at it"
    chart = _loss_chart(at)
    assert chart is not None, "no live loss curve while training"
    spec = json.loads(chart.proto.spec)
    drawn = _values(next(t for t in spec["data"] if t.get("name") == "training rows")["y"])
    shown = [e for e in list(job.events) if "train_loss" in e]
    shown = [e for e in shown if e.get("model") == shown[0].get("model")]  # the network being trained
    # the curve holds the reported epochs' losses (the job may have reported one more since the page was drawn)
    assert 2 <= len(drawn) <= len(shown)
    np.testing.assert_allclose(drawn, [e["train_loss"] for e in shown[: len(drawn)]])
    assert any("Epoch" in p.proto.text or "epoch" in p.proto.text for p in at.get("progress"))

    reported = sum("epoch" in e for e in job.events)
    at.button(key=f"cancel_{job.id}").click().run()
    assert job.wait(120), "Cancel did not stop the job"
    at.run()
    assert job.status == CANCELLED
    assert any("Training was cancelled" in w.value for w in at.warning)
    assert at.button(key="digits_train")  # Train is offered again
    assert not at.tabs and not at.exception  # no results from a cancelled run
    assert sum("epoch" in e for e in job.events) <= reported + 1, "the job ran on for epochs after Cancel"
