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
