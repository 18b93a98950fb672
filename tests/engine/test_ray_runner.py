"""The Ray runner, on a real local Ray instance (one per test session, see conftest.ray_runner).

Same contract as the thread runner: result, ordered and complete progress, cancel (running and
queued), queue position, a sentence (never a hang) when the cluster is gone or unreachable.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from engine import diagnosis as dx
from engine.data import load_table
from engine.device import use_device
from engine.jobs import CANCELLED, DONE, FAILED, QUEUED, RUNNING
from tests.conftest import ROOT, SAMPLES
from tests.engine.test_determinism import _diagnosis, _digits, _forecast, _fraud, _quality, _segmentation


def _endless():
    """A diagnosis job that trains until it is cancelled (a minute or more here)."""
    df = load_table(SAMPLES / "heart_disease_cleveland.csv").df
    return df, dx.default_columns(df), dx.DiagnosisConfig(max_epochs=2000, patience=2000, bootstrap=0)


def _flat(metrics: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in _quality(metrics).items():
        out.update(
            _flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": float("nan") if v == "nan" else v}
        )
    return out


@contextlib.contextmanager
def _like_a_one_cpu_task():
    """This process on one thread, as a Ray task given one CPU: numeric libraries (torch, scikit-learn's
    OpenMP) can differ in the last digits between thread counts."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1), use_device("cpu"):
            yield
    finally:
        torch.set_num_threads(before)


def _wait_for(predicate, timeout: float = 60.0) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize(
    "scenario",
    [_diagnosis, _fraud, _segmentation, _forecast, _digits],
    ids=["diagnosis", "fraud", "segmentation", "forecast", "digits"],
)
def test_each_page_trains_on_ray_with_the_local_metrics(ray_runner, scenario):
    df, columns, config, fit = scenario()
    job = ray_runner.submit(fit, df, columns, config, name=fit.__module__)
    with _like_a_one_cpu_task():
        local = fit(df.copy(), columns, config)
    assert job.wait(300), "the Ray job did not finish"
    assert job.status == DONE, job.error
    remote = job.result
    assert type(remote) is type(local)  # loaded from the model file's bytes by the module's load
    assert _quality(remote.metrics) == _quality(local.metrics)
    # scikit-learn's baselines go through BLAS/OpenMP, whose sums can differ in the last digits between
    # processes; an unconverged solver carries that further (digits' logistic regression: log loss 4e-4
    # apart, measured). The page's numbers agree to the shown precision.
    assert _flat(remote.baseline_metrics) == pytest.approx(_flat(local.baseline_metrics), rel=2e-3, nan_ok=True)
    assert job.where and job.where.split(":")[-1] != str(os.getpid())  # it ran in another process
    if hasattr(remote, "customers_table"):  # segmentation: the per-customer rows were attached again
        assert len(remote.customers_table()) == len(local.customers_table()) > 0


def test_progress_events_arrive_in_order_and_complete(ray_runner):
    df = load_table(SAMPLES / "heart_disease_cleveland.csv").df
    columns, config = dx.default_columns(df), dx.DiagnosisConfig(max_epochs=40, patience=40, bootstrap=0, seed=1)
    job = ray_runner.submit(dx.fit, df, columns, config, name="diagnosis")
    local_events = []
    with _like_a_one_cpu_task():
        local = dx.fit(df, columns, config, progress=local_events.append)
    assert job.wait(120) and job.status == DONE, job.error
    assert [e["epoch"] for e in job.events] == list(range(1, 41))  # every epoch, in order, the last one too
    assert [e["train_loss"] for e in job.events] == [e["train_loss"] for e in local_events]
    assert job.latest["epoch"] == len(local.history.epochs) == len(job.result.history.epochs)


def test_cancel_running_and_queued_jobs_and_the_queue_position(ray_runner):
    df, columns, config = _endless()
    jobs = [ray_runner.submit(dx.fit, df, columns, config, name="diagnosis") for _ in range(2)]
    first, second = jobs
    try:
        # (a second worker process may have to start and import torch first: slow on a busy machine)
        assert _wait_for(lambda: first.status == RUNNING and second.status == RUNNING and len(first.events) > 2, 240), (
            "two jobs should run at once on 2 CPUs"
        )
        jobs += [ray_runner.submit(dx.fit, df, columns, config, name="diagnosis") for _ in range(2)]
        third, fourth = jobs[2:]
        time.sleep(1.5)  # the cluster is full: both wait for a CPU
        assert third.status == fourth.status == QUEUED
        assert ray_runner.queued_before(third) == 0 and ray_runner.queued_before(fourth) == 1
        third.cancel()  # queued: dropped before it starts
        assert third.wait(10) and third.status == CANCELLED and third.started is None
        assert ray_runner.queued_before(fourth) == 0
        epochs = len(first.events)
        first.cancel()  # running: stops at its next check
        assert first.wait(15) and first.status == CANCELLED
        assert len(first.events) < config.max_epochs and len(first.events) >= epochs
        assert _wait_for(lambda: fourth.status == RUNNING, 30), "the freed CPU goes to the next job"
    finally:
        for job in jobs:
            job.cancel()
        for job in jobs:
            job.wait(30)
    assert fourth.status == CANCELLED


def test_a_worker_killed_mid_job_fails_the_job_with_a_sentence(ray_runner):
    df, columns, config = _endless()
    job = ray_runner.submit(dx.fit, df, columns, config, name="diagnosis")
    assert _wait_for(lambda: len(job.events) > 3), "the job should be training"
    host, pid = job.where.rsplit(":", 1)
    assert host == socket.gethostname()
    os.kill(int(pid), signal.SIGKILL)
    assert job.wait(60), "a lost worker must end the job, not leave it hanging"
    assert job.status == FAILED and job.error_id
    assert "stopped before training finished" in job.error and "Traceback" not in job.error
    assert job.error_id in job.error


def _connect_in_subprocess(address: str, timeout: float) -> tuple[str, float]:
    """Connect a fresh server process (this one already holds a Ray connection) and submit a job."""
    code = textwrap.dedent(f"""
        import time
        from engine.ray_runner import connect
        from engine import diagnosis as dx
        t = time.time()
        runner = connect({address!r}, timeout={timeout})
        job = runner.submit(dx.fit, None, None, None, name="diagnosis")
        print(runner.kind, "|", runner.describe(), "|", job.status, "|", job.error == runner.describe(), "|",
              round(time.time() - t, 1), flush=True)
        # A server goes on serving; this check ends here. (A connect attempt that timed out is still retrying
        # in its thread, and Ray's C++ core aborts when the interpreter tears down under it.)
        import os; os._exit(0)
    """)
    start = time.time()
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip().splitlines()[-1], time.time() - start


def test_an_unreachable_cluster_gives_a_sentence_not_a_hang():
    pytest.importorskip("ray")
    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    line, seconds = _connect_in_subprocess(f"127.0.0.1:{port}", timeout=10)
    kind, sentence, status, same, _ = (p.strip() for p in line.split("|"))
    assert kind == "unavailable" and status == FAILED and same == "True"
    assert f"127.0.0.1:{port}" in sentence and "nothing answers there" in sentence and "RAY_ADDRESS" in sentence
    assert seconds < 60


def test_a_cluster_that_never_answers_times_out_with_a_sentence():
    pytest.importorskip("ray")
    with socket.socket() as silent:  # accepts connections, never speaks
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        line, seconds = _connect_in_subprocess(f"127.0.0.1:{port}", timeout=3)
    kind, sentence, status, _, took = (p.strip() for p in line.split("|"))
    assert kind == "unavailable" and status == FAILED
    assert "did not answer within 3 s" in sentence or "connecting failed" in sentence
    assert float(took) < 30 and seconds < 90


def test_tables_go_to_the_object_store_once_per_content(ray_runner):
    df = load_table(SAMPLES / "heart_disease_cleveland.csv").df
    used: list[str] = []
    assert ray_runner._put(df, used) is ray_runner._put(df.copy(), used)
    changed = df.copy()
    changed.iloc[0, 0] = np.nan
    assert ray_runner._put(changed, used) is not ray_runner._put(df, used)
    ray_runner._release(used)
    assert ray_runner._tables == {}


def _held_objects() -> set[str]:
    """Object ids this process still holds a reference to (Ray frees an object once nobody does)."""
    from ray._private.worker import global_worker

    return {
        k.decode() if isinstance(k, bytes) else str(k) for k in global_worker.core_worker.get_all_reference_counts()
    }


def test_a_jobs_table_leaves_the_object_store_when_the_job_ends(ray_runner):
    df, columns, config = _endless()
    job = ray_runner.submit(dx.fit, df, columns, config, name="diagnosis")
    try:
        assert _wait_for(lambda: len(job.events) > 1, 240)
        ((ref, users),) = ray_runner._tables.values()  # the analyst's table, in the object store while it trains
        table_id = ref.hex()
        assert users == 1 and table_id in _held_objects()
        del ref
    finally:
        job.cancel()
        assert job.wait(60)
    assert ray_runner._tables == {}
    assert _wait_for(lambda: table_id not in _held_objects(), 10), "the table stayed in Ray's object store"
