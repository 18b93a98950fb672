"""The README's Ray trial in a server process of its own (issue 23 item 8).

In a module of its own that the suite runs before any other Ray test: it starts and kills an embedded instance, which
on a 2-core machine does not hold beside the session's shared test instance (tests/conftest.py `ray_runner`).

The trial mostly waits (60 s on Ray's clock after the loss); in `make test` the other pytest-xdist worker runs its
tests meanwhile (tests/conftest.py `RAY_MODULES`)."""

from __future__ import annotations

import contextlib
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


def test_a_lost_embedded_instance_is_a_sentence_then_a_new_one_and_the_server_lives():
    """The README's trial (EXPLORER_RUNNER=ray, no RAY_ADDRESS) in a server process of its own: the embedded
    instance holds after start (its starter thread stays alive: Ray's processes die with the thread that started
    them), its loss (the GCS killed) is a sentence within seconds, a new instance takes over and trains, and the
    process is still alive 60 s after the loss (Ray's core otherwise ends the whole server then)."""
    pytest.importorskip("ray")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EXPLORER_RUNNER": "ray"}
    env.pop("RAY_ADDRESS", None)
    # Files, not pipes: the Ray processes it starts inherit its output and may outlive it, keeping a pipe open.
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        trial = subprocess.Popen(
            [sys.executable, "-c", CODE],
            cwd=ROOT,
            stdout=out,
            stderr=err,
            text=True,
            env=env,
            start_new_session=True,  # its own process group: the Ray processes it started end with it below
        )
        try:
            trial.wait(timeout=400)
        finally:
            if trial.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(trial.pid, signal.SIGKILL)
                trial.wait()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    lines = {ln.split("|")[0]: [p.strip() for p in ln.split("|")[1:]] for ln in stdout.splitlines() if "|" in ln}
    assert trial.returncode == 0 and "alive" in lines, stdout[-2000:] + stderr[-3000:]
    assert lines["started"][0] == "ray" and "Training jobs run on the Ray cluster" in lines["started"][1]
    assert float(lines["lost"][0]) < 20 and "stopped answering" in lines["lost"][1]
    assert lines["again"] == ["True", DONE]
    assert int(lines["alive"][0]) >= 60
