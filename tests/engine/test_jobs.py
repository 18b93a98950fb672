from __future__ import annotations

import time

from engine.data import DataError
from engine.jobs import CANCELLED, DONE, FAILED, JobRunner
from engine.training import Cancelled


def test_result_progress_and_errors():
    runner = JobRunner(max_workers=2)

    def work(x, progress, cancel):
        progress({"epoch": 1})
        return x * 2

    def bad_data(progress, cancel):
        raise DataError("Column 'x' is empty.")

    def bug(progress, cancel):
        raise ZeroDivisionError("oops")

    ok, data, crash = runner.submit(work, 21), runner.submit(bad_data), runner.submit(bug)
    for job in (ok, data, crash):
        assert job.wait(10)
    assert ok.status == DONE and ok.result == 42 and ok.events == [{"epoch": 1}]
    assert data.status == FAILED and data.error == "Column 'x' is empty."
    assert crash.status == FAILED and crash.error_id and crash.error_id in crash.error
    assert "oops" not in crash.error  # the traceback goes to the log, not the page


def test_cancel_and_bounded_pool():
    runner = JobRunner(max_workers=1)

    def slow(progress, cancel):
        for _ in range(200):
            if cancel.is_set():
                raise Cancelled()
            time.sleep(0.01)
        return "finished"

    first, second = runner.submit(slow), runner.submit(slow)
    time.sleep(0.05)
    assert second.status == "queued"  # one worker: the second waits its turn
    first.cancel()
    assert first.wait(5) and first.status == CANCELLED
    assert second.wait(10) and second.result == "finished"


def test_gpu_out_of_memory_retries_on_the_cpu_with_a_notice(monkeypatch):
    """A job that runs out of GPU memory is run again on the CPU; the model it returns works there."""
    import numpy as np
    import pandas as pd
    import torch

    import engine.device as device
    from engine import diagnosis
    from engine.jobs import CPU_FALLBACK_NOTICE

    monkeypatch.setattr(device, "_resolve", lambda requested: torch.device("cuda"))  # pretend a GPU
    monkeypatch.setattr(device, "release_memory", lambda: None)
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"age": rng.normal(55, 9, 160), "chol": rng.normal(240, 40, 160)})
    df["target"] = (df["age"] + rng.normal(0, 5, 160) > 55).astype(int)
    config = diagnosis.DiagnosisConfig(max_epochs=5, bootstrap=0)
    tried = []

    def train(progress, cancel):
        tried.append(device.get_device().type)
        if device.get_device().type == "cuda":
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return diagnosis.fit(df, diagnosis.default_columns(df), config, progress=progress, cancel=cancel)

    job = JobRunner(max_workers=1).submit(train)
    assert job.wait(120)
    assert job.status == DONE, job.error
    assert tried == ["cuda", "cpu"] and job.notices == [CPU_FALLBACK_NOTICE]
    assert device.get_device().type == "cuda"  # the override held for the job only
    assert job.result.predict_proba(df).shape == (160, 2)  # scoring in the page's thread uses the model's device


def test_other_errors_are_not_retried(monkeypatch):
    import torch

    import engine.device as device

    monkeypatch.setattr(device, "_resolve", lambda requested: torch.device("cuda"))
    calls = []

    def bug(progress, cancel):
        calls.append(1)
        raise RuntimeError("shape mismatch")

    job = JobRunner(max_workers=1).submit(bug)
    assert job.wait(10) and job.status == FAILED and calls == [1] and not job.notices


def test_queue_position_is_known_while_waiting():
    import threading

    runner = JobRunner(max_workers=1)
    gate = threading.Event()
    first = runner.submit(lambda progress, cancel: gate.wait(10))
    second = runner.submit(lambda progress, cancel: 2)
    third = runner.submit(lambda progress, cancel: 3)
    time.sleep(0.2)
    assert runner.queued_before(first) == 0 and runner.queued_before(third) == 1
    gate.set()
    assert third.wait(10) and runner.queued_before(third) == 0 and second.result == 2


def test_server_ceiling_on_training_time(monkeypatch):
    from engine.training import time_limit

    monkeypatch.setenv("EXPLORER_MAX_TRAIN_SECONDS", "30")
    assert time_limit(600) == 30 and time_limit(10) == 10 and time_limit(None) == 30


def test_a_job_past_the_servers_deadline_stops_with_a_sentence(monkeypatch):
    monkeypatch.setenv("EXPLORER_MAX_JOB_SECONDS", "0.3")

    def endless(progress, cancel):
        while True:
            if cancel.is_set():
                raise Cancelled()
            time.sleep(0.01)

    job = JobRunner(max_workers=1).submit(endless)
    assert job.wait(10)
    assert job.status == FAILED and "this server's limit for one job" in job.error and not job.error_id


def _slow(progress, cancel):
    for _ in range(2000):
        if cancel.is_set():
            raise Cancelled()
        time.sleep(0.01)
    return "finished"


def test_one_session_gets_one_running_and_one_waiting_job_each_cancellable():
    """A session pressing Train six times: two jobs (one runs, one waits for it even with a free worker), the
    rest refused with a sentence; cancelling either ends it, and the waiting one starts when the first ends."""
    from engine.jobs import QUEUED, RUNNING, SessionBusy

    runner = JobRunner(max_workers=2)
    jobs, refused = [], []
    for _ in range(6):
        try:
            jobs.append(runner.submit(_slow, owner="tab-1"))
        except SessionBusy as exc:
            refused.append(exc.message)
    assert len(jobs) == 2 and len(refused) == 4 and "Cancel one below" in refused[0]
    time.sleep(0.2)
    first, second = jobs
    assert first.status == RUNNING and second.status == QUEUED and runner.held(second)  # a worker is free, yet it waits
    other = runner.submit(_slow, owner="tab-2")  # another tab is not held back by tab-1
    time.sleep(0.2)
    assert other.status == RUNNING
    second.cancel()  # the waiting one ends at once, without a worker
    assert second.wait(1) and second.status == CANCELLED
    third = runner.submit(_slow, owner="tab-1")  # room again
    first.cancel()
    assert first.wait(5) and first.status == CANCELLED
    time.sleep(0.3)
    assert third.status == RUNNING  # handed to a worker once the tab's first job ended
    assert runner.cancel_owner("tab-1") == 1 and third.wait(5) and third.status == CANCELLED
    assert runner.jobs_of("tab-1") == [] and runner.owners() == ["tab-2"]
    other.cancel()
    assert other.wait(5)


def test_a_reloaded_page_adopts_its_job_and_the_old_session_no_longer_owns_it():
    runner = JobRunner(max_workers=1)
    job = runner.submit(_slow, owner="old-tab")
    runner.adopt(job, "new-tab")
    assert runner.jobs_of("old-tab") == [] and runner.jobs_of("new-tab") == [job]
    assert runner.cancel_owner("old-tab") == 0 and job.active  # closing the old tab leaves it running
    assert runner.cancel_owner("new-tab") == 1 and job.wait(5) and job.status == CANCELLED


def test_jobs_module_does_not_import_a_runner_choice():
    """engine.jobs is the contract; engine.runners picks a runner; ray_runner builds on jobs (no cycle)."""
    import ast
    from pathlib import Path

    import engine.jobs

    tree = ast.parse(Path(engine.jobs.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {"engine.ray_runner", "engine.runners"} & imported
    from engine.runners import default_runner, describe_runner  # noqa: F401 - where pages find them now
