"""The README's Ray trial in a server process of its own (issue 23 item 8).

In a module of its own that the suite runs before any other Ray test: it starts and kills an embedded instance, which
on a 2-core machine does not hold beside the session's shared test instance (tests/conftest.py `ray_runner`)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from engine.jobs import DONE
from tests.conftest import ROOT


def test_a_lost_embedded_instance_is_a_sentence_then_a_new_one_and_the_server_lives():
    """The README's trial (EXPLORER_RUNNER=ray, no RAY_ADDRESS) in a server process of its own: the embedded
    instance holds after start (its starter thread stays alive: Ray's processes die with the thread that started
    them), its loss (the GCS killed) is a sentence within seconds, a new instance takes over and trains, and the
    process is still alive 60 s after the loss (Ray's core otherwise ends the whole server then)."""
    pytest.importorskip("ray")
    code = textwrap.dedent("""
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
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EXPLORER_RUNNER": "ray"}
    env.pop("RAY_ADDRESS", None)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=400, env=env)
    lines = {ln.split("|")[0]: [p.strip() for p in ln.split("|")[1:]] for ln in out.stdout.splitlines() if "|" in ln}
    assert out.returncode == 0 and "alive" in lines, out.stdout[-2000:] + out.stderr[-3000:]
    assert lines["started"][0] == "ray" and "Training jobs run on the Ray cluster" in lines["started"][1]
    assert float(lines["lost"][0]) < 20 and "stopped answering" in lines["lost"][1]
    assert lines["again"] == ["True", DONE]
    assert int(lines["alive"][0]) >= 60
