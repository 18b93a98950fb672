"""The README's Ray trial in a server process of its own (issue 23 item 8).

In a module of its own that the suite runs before any other Ray test: it starts and kills an embedded instance, which
on a 2-core machine does not hold beside the session's shared test instance (tests/conftest.py `ray_runner`).

The trial mostly waits (60 s on Ray's clock after the loss), so its process starts when the run starts
(tests/conftest.py `pytest_collection_finish` calls `start()`) and waits beside the first browser tests, which use no
Ray; the test reads what it printed. Run alone, the test starts it itself and waits as before."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
import textwrap

import pytest

from engine.jobs import DONE
from tests.conftest import ROOT

CODE = textwrap.dedent("""
    import os, signal, subprocess, time
    from engine import diagnosis as dx, runners
    from engine.data import load_table
    first = runners.default_runner()
    time.sleep(3)  # the starter thread of the old code had ended by now, and the instance with it
    print("started|", first.kind, "|", first.describe(), flush=True)
    gcs = subprocess.run(["pgrep", "-P", str(os.getpid()), "-f", "gcs_server"], capture_output=True, text=True)
    for pid in gcs.stdout.split():
        os.kill(int(pid), signal.SIGKILL)
    lost_at = time.time()
    while "stopped answering" not in runners.describe_runner() and time.time() - lost_at < 60:
        time.sleep(0.5)
    print("lost|", round(time.time() - lost_at, 1), "|", runners.describe_runner(), flush=True)
    while runners.default_runner().kind != "ray" and time.time() - lost_at < 150:
        time.sleep(0.5)
    runner = runners.default_runner()
    df = load_table("sample_data/heart_disease_cleveland.csv").df
    job = runner.submit(dx.fit, df, dx.default_columns(df), dx.QUICK, name="diagnosis")
    job.wait(150)
    print("again|", runner is not first, "|", job.status, flush=True)
    time.sleep(max(0.0, 65 - (time.time() - lost_at)))
    print("alive|", round(time.time() - lost_at), flush=True)
    from engine.ray_runner import shutdown
    shutdown()
    os._exit(0)
""")


_trial: subprocess.Popen | None = None
_output: tuple = ()  # the files the trial writes to: a pipe left unread for minutes would fill and stall it


def start() -> subprocess.Popen | None:
    """The trial's server process, started once (None without Ray installed)."""
    global _trial, _output
    if _trial is None and importlib.util.find_spec("ray") is not None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "EXPLORER_RUNNER": "ray"}
        env.pop("RAY_ADDRESS", None)
        _output = (tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+"))
        _trial = subprocess.Popen(
            [sys.executable, "-c", CODE],
            cwd=ROOT,
            stdout=_output[0],
            stderr=_output[1],
            text=True,
            env=env,
            start_new_session=True,  # its own process group: stop() ends the Ray processes it started too
        )
    return _trial


def stop() -> None:
    """End the trial's processes if the run ends before the test read it (interrupted, or the test deselected)."""
    if _trial is not None and _trial.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(_trial.pid, signal.SIGKILL)
        _trial.wait()


def _printed() -> tuple[str, str]:
    out, err = _output
    out.seek(0)
    err.seek(0)
    return out.read(), err.read()


def test_a_lost_embedded_instance_is_a_sentence_then_a_new_one_and_the_server_lives():
    """The README's trial (EXPLORER_RUNNER=ray, no RAY_ADDRESS) in a server process of its own: the embedded
    instance holds after start (its starter thread stays alive: Ray's processes die with the thread that started
    them), its loss (the GCS killed) is a sentence within seconds, a new instance takes over and trains, and the
    process is still alive 60 s after the loss (Ray's core otherwise ends the whole server then)."""
    pytest.importorskip("ray")
    trial = start()
    assert trial is not None
    try:
        trial.wait(timeout=400)
    finally:
        stop()
    stdout, stderr = _printed()
    lines = {ln.split("|")[0]: [p.strip() for p in ln.split("|")[1:]] for ln in stdout.splitlines() if "|" in ln}
    assert trial.returncode == 0 and "alive" in lines, stdout[-2000:] + stderr[-3000:]
    assert lines["started"][0] == "ray" and "Training jobs run on the Ray cluster" in lines["started"][1]
    assert float(lines["lost"][0]) < 20 and "stopped answering" in lines["lost"][1]
    assert lines["again"] == ["True", DONE]
    assert int(lines["alive"][0]) >= 60
