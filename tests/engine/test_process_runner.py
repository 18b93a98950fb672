"""The worker-process runner (EXPLORER_RUNNER=processes): a page's fit runs in another process and comes back as
its model file with the same metrics; cancel stops it; a worker that dies fails its job with a sentence and the
next job trains (the server lives)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from engine import diagnosis as dx
from engine.data import load_table
from engine.jobs import CANCELLED, DONE, FAILED, RUNNING
from tests.conftest import SAMPLES


@pytest.fixture(scope="module")
def runner():
    from engine.process_runner import ProcessRunner

    r = ProcessRunner(max_workers=1)
    yield r
    r._procs.shutdown(wait=False, cancel_futures=True)
    r._manager.shutdown()


def _heart():
    df = load_table(SAMPLES / "heart_disease_cleveland.csv").df
    return df, dx.default_columns(df)


def test_a_job_trains_in_another_process_cancel_stops_one_and_a_dead_worker_fails_one(runner):
    df, columns = _heart()
    config = dx.DiagnosisConfig(max_epochs=10, patience=10, bootstrap=0, seed=3)
    job = runner.submit(dx.fit, df, columns, config, name="diagnosis")
    local = dx.fit(df, columns, config)
    assert job.wait(300) and job.status == DONE, job.error
    assert job.result.metrics["roc_auc"] == pytest.approx(local.metrics["roc_auc"], abs=0.02)
    assert [e["epoch"] for e in job.events if "epoch" in e] == list(range(1, 11))  # progress crossed over, in order

    endless = dx.DiagnosisConfig(max_epochs=2000, patience=2000, bootstrap=0)
    job = runner.submit(dx.fit, df, columns, endless, name="diagnosis")
    deadline = time.time() + 240
    while time.time() < deadline and len(job.events) < 3:
        time.sleep(0.2)
    assert job.status == RUNNING and len(job.events) >= 3
    job.cancel()
    assert job.wait(30) and job.status == CANCELLED

    doomed = runner.submit(dx.fit, df, columns, endless, name="diagnosis")
    while time.time() < deadline and len(doomed.events) < 3:
        time.sleep(0.2)
    for pid in list(runner._procs._processes):  # the worker, killed as the kernel's OOM killer would
        os.kill(pid, signal.SIGKILL)
    assert doomed.wait(60) and doomed.status == FAILED and "stopped before training finished" in doomed.error
    after = runner.submit(dx.fit, df, columns, dx.DiagnosisConfig(max_epochs=5, bootstrap=0), name="diagnosis")
    assert after.wait(240) and after.status == DONE, after.error
