"""Training off the UI thread: a small bounded pool of jobs with progress, result and cancel.

A job wraps `fn(*args, progress=..., cancel=..., **kwargs)`. The page polls `job.status`,
`job.events` and `job.result`; a widget click in the UI never interrupts the work. The
interface is deliberately small (submit, status, events, result, error, cancel) so a
Ray-backed runner can stand behind it later.
"""
from __future__ import annotations

import logging
import os
import secrets
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from engine.data import DataError
from engine.training import Cancelled

log = logging.getLogger("explorer.jobs")

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"


@dataclass(eq=False)  # jobs compare by identity
class Job:
    id: str
    name: str
    status: str = QUEUED
    events: list[dict[str, Any]] = field(default_factory=list)
    result: Any = None
    error: str = ""  # a sentence for the analyst
    error_id: str = ""  # matches the server log line holding the traceback
    notices: list[str] = field(default_factory=list)  # what the analyst should know about how it ran
    max_seconds: float = 3600.0  # the server's limit on the whole job (EXPLORER_MAX_JOB_SECONDS)
    submitted: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def finished_ok(self) -> bool:
        return self.status == DONE

    @property
    def active(self) -> bool:
        return self.status in (QUEUED, RUNNING)

    @property
    def latest(self) -> dict[str, Any]:
        return self.events[-1] if self.events else {}

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ends (for tests, CLIs and benchmarks)."""
        return self._done.wait(timeout)

    def elapsed(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.time()) - self.started


class JobRunner:
    """A bounded thread pool; several sessions can train at once without oversubscribing."""

    def __init__(self, max_workers: int | None = None):
        workers = max_workers or int(os.environ.get("EXPLORER_MAX_JOBS", "2"))
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="explorer-job")
        self.max_workers = workers
        self._queued: list[Job] = []  # in submission order, until a worker picks them up
        self._queue_lock = threading.Lock()

    def queued_before(self, job: Job) -> int:
        """How many jobs wait ahead of `job` for a worker (0 when it is next or running)."""
        with self._queue_lock:
            return self._queued.index(job) if job in self._queued else 0

    def submit(self, fn: Callable[..., Any], *args: Any, name: str = "training", **kwargs: Any) -> Job:
        job = Job(id=secrets.token_hex(8), name=name, max_seconds=float(os.environ.get(MAX_JOB_SECONDS_VAR, "3600")))

        def progress(event: dict[str, Any]) -> None:
            job.events.append(dict(event))

        def run() -> None:
            with self._queue_lock:
                if job in self._queued:
                    self._queued.remove(job)
            if job._cancel.is_set():
                job.status, job.finished = CANCELLED, time.time()
                job._done.set()
                return
            job.status, job.started = RUNNING, time.time()
            try:
                job.result = _run_with_cpu_fallback(job, fn, args, kwargs, progress)
                job.status = DONE
            except Cancelled:
                if job._cancel.is_set():
                    job.status = CANCELLED
                else:  # the server's deadline, not the analyst, stopped it
                    job.error, job.status = _over_time(job.max_seconds), FAILED
            except DataError as exc:
                job.error, job.status = exc.message, FAILED
            except Exception:  # a bug: the traceback goes to the log, the analyst gets an id
                job.error_id = secrets.token_hex(4)
                log.error("job %s (%s) failed, error id %s\n%s", job.id, name, job.error_id, traceback.format_exc())
                job.error = (
                    "Sorry — something went wrong on our side while training. "
                    f"Please try again; if it keeps happening, report error id {job.error_id}."
                )
                job.status = FAILED
            finally:
                job.finished = time.time()
                job._done.set()

        with self._queue_lock:
            self._queued.append(job)
        self._pool.submit(run)
        return job


MAX_JOB_SECONDS_VAR = "EXPLORER_MAX_JOB_SECONDS"


class _CancelOrDeadline:
    """The job's cancel signal, which also reads as set once the job has run past its deadline."""

    def __init__(self, job: Job):
        self.job = job

    def is_set(self) -> bool:
        return self.job._cancel.is_set() or self.job.elapsed() > self.job.max_seconds


def _over_time(limit: float) -> str:
    return (f"Training was stopped after {limit / 60:,.0f} minutes, this server's limit for one job. Train on fewer "
            "rows or columns, or pick a smaller network and fewer epochs under the advanced options, then try again.")


CPU_FALLBACK_NOTICE = (
    "The GPU ran out of memory for this job (other sessions may be using it), so it was trained "
    "on the CPU instead: slower, same method and settings."
)


def _run_with_cpu_fallback(job: Job, fn: Callable[..., Any], args: tuple, kwargs: dict, progress) -> Any:
    """Run the job on the engine's device; if that device runs out of memory, run it again on the CPU."""
    from engine.device import get_device, is_out_of_memory, release_memory, use_device

    cancel = _CancelOrDeadline(job)
    try:
        return fn(*args, progress=progress, cancel=cancel, **kwargs)
    except Exception as exc:
        if get_device().type == "cpu" or not is_out_of_memory(exc):
            raise
        log.warning("job %s (%s) ran out of %s memory; retrying on the CPU", job.id, job.name, get_device())
    release_memory()
    job.notices.append(CPU_FALLBACK_NOTICE)
    job.events.clear()
    progress({"message": "The GPU ran out of memory; training again on the CPU…"})
    with use_device("cpu"):
        return fn(*args, progress=progress, cancel=cancel, **kwargs)


_default: JobRunner | None = None
_lock = threading.Lock()


def default_runner() -> JobRunner:
    """The process-wide runner shared by every session."""
    global _default
    with _lock:
        if _default is None:
            _default = JobRunner()
            _share_cpu_threads(_default.max_workers)
        return _default


def _share_cpu_threads(workers: int) -> None:
    """On the CPU, give each concurrent job its share of the cores (oversubscribed BLAS threads on
    a small shared machine were measured up to 5x slower per epoch). EXPLORER_TORCH_THREADS overrides."""
    import torch

    from engine.device import get_device

    if get_device().type != "cpu":
        return
    threads = int(os.environ.get("EXPLORER_TORCH_THREADS", "0")) or max(1, (os.cpu_count() or 1) // workers)
    torch.set_num_threads(threads)
