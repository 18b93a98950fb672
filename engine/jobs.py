"""Training off the UI thread: jobs with progress, result and cancel, run by one of two runners.

A job wraps `fn(*args, progress=..., cancel=..., **kwargs)`. The page polls `job.status`,
`job.events` and `job.result`; a widget click in the UI never interrupts the work. The
interface is deliberately small (submit, status, events, result, error, cancel), so the two
runners stand behind it alike:

- `JobRunner` (default, `EXPLORER_RUNNER=local`): a bounded thread pool in this server.
- `engine.ray_runner.RayRunner` (`EXPLORER_RUNNER=ray`): each job is a task on a Ray cluster;
  the model comes back as its model-file bytes and is loaded with the scenario's `load`.

Every job is also kept in a server-wide registry by its unguessable id, so a page reload
(`?job=<id>` in the URL) finds a running job again.
"""
from __future__ import annotations

import logging
import os
import secrets
import threading
import time
import traceback
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from engine.data import DataError
from engine.training import Cancelled

log = logging.getLogger("explorer.jobs")

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
RUNNER_VAR = "EXPLORER_RUNNER"
MAX_JOB_SECONDS_VAR = "EXPLORER_MAX_JOB_SECONDS"


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
    run_key: str = ""  # what the page trained (data, columns, options): a reload re-attaches only to the same run
    workers: int = 1  # data-parallel workers (Ray runner only)
    where: str = ""  # the machine and process that ran it (Ray runner: "host:pid"), for the log
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


class JobFailed(Exception):
    """The job could not finish for a reason outside the analyst's data (e.g. a cluster worker died)."""

    def __init__(self, message: str, detail: str = ""):
        super().__init__(detail or message)
        self.message = message  # a sentence; "{error_id}" in it is filled in


class JobRunner:
    """A bounded thread pool; several sessions can train at once without oversubscribing."""

    kind = "local"

    def __init__(self, max_workers: int | None = None):
        workers = max_workers or int(os.environ.get("EXPLORER_MAX_JOBS", "2"))
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="explorer-job")
        self.max_workers = workers
        self._waiting: list[Job] = []  # submitted and not yet running, in submission order
        self._queue_lock = threading.Lock()

    def describe(self) -> str:
        return (f"Training jobs run in this server, {self.max_workers} at a time; more wait their turn "
                "(a team can send them to a Ray cluster instead: see the README, “Scale out”).")

    def queued_before(self, job: Job) -> int:
        """How many jobs wait ahead of `job` for a worker (0 when it is next or running)."""
        with self._queue_lock:
            self._waiting = [j for j in self._waiting if j.status == QUEUED]
            return self._waiting.index(job) if job in self._waiting else 0

    def submit(self, fn: Callable[..., Any], *args: Any, name: str = "training", run_key: str = "",
               workers: int = 1, **kwargs: Any) -> Job:
        """Start `fn(*args, progress=, cancel=, **kwargs)` as a job; `workers` > 1 trains data-parallel."""
        self._check(fn, workers)
        job = Job(id=secrets.token_urlsafe(16), name=name, run_key=run_key, workers=int(workers),
                  max_seconds=float(os.environ.get(MAX_JOB_SECONDS_VAR, "3600")))

        def progress(event: dict[str, Any]) -> None:
            job.events.append(dict(event))

        def run() -> None:
            if job._cancel.is_set():
                job.status, job.finished = CANCELLED, time.time()
                job._done.set()
                return
            try:
                job.result = self._execute(job, fn, args, kwargs, progress)
                job.status = DONE
            except Cancelled:
                if job._cancel.is_set():
                    job.status = CANCELLED
                else:  # the server's deadline, not the analyst, stopped it
                    job.error, job.status = _over_time(job.max_seconds), FAILED
            except DataError as exc:
                job.error, job.status = exc.message, FAILED
            except JobFailed as exc:
                job.error_id = secrets.token_hex(4)
                log.error("job %s (%s) failed, error id %s: %s", job.id, name, job.error_id, exc)
                job.error, job.status = exc.message.format(error_id=job.error_id), FAILED
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
            self._waiting.append(job)
        _register(job)
        self._pool.submit(run)
        return job

    def _check(self, fn: Callable[..., Any], workers: int) -> None:
        if workers != 1:
            raise ValueError("training on several workers needs the Ray runner (EXPLORER_RUNNER=ray)")

    def _execute(self, job: Job, fn: Callable[..., Any], args: tuple, kwargs: dict, progress) -> Any:
        """Run the job in this thread: on the engine's device, again on the CPU if the GPU runs out of memory."""
        job.status, job.started = RUNNING, time.time()
        return _run_with_cpu_fallback(job, fn, args, kwargs, progress)


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
CPU_FALLBACK_MESSAGE = "The GPU ran out of memory; training again on the CPU…"


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
    progress({"message": CPU_FALLBACK_MESSAGE})
    with use_device("cpu"):
        return fn(*args, progress=progress, cancel=cancel, **kwargs)


# ----------------------------------------------------------------------------- registry of jobs by id

_KEEP_FINISHED = 16  # finished jobs kept for a reload to find (each holds a model)
_registry: OrderedDict[str, Job] = OrderedDict()
_registry_lock = threading.Lock()


def _register(job: Job) -> None:
    with _registry_lock:
        _registry[job.id] = job
        finished = [j for j in _registry.values() if not j.active]
        for old in finished[: max(0, len(finished) - _KEEP_FINISHED)]:
            _registry.pop(old.id, None)


def get_job(job_id: str) -> Job | None:
    """The job with this id (running, or among the last finished ones), or None. Ids are unguessable:
    only the session that started a job, or someone given its URL, knows one."""
    with _registry_lock:
        return _registry.get(job_id) if job_id else None


# ----------------------------------------------------------------------------- the server's runner

class RunnerUnavailable:
    """Stands in for a runner that could not start (e.g. an unreachable Ray cluster): every job fails
    at once with the reason. Jobs never fall back silently to another runner."""

    kind = "unavailable"
    max_workers = 0

    def __init__(self, reason: str):
        self.reason = reason

    def describe(self) -> str:
        return self.reason

    def queued_before(self, job: Job) -> int:
        return 0

    def submit(self, fn: Callable[..., Any], *args: Any, name: str = "training", run_key: str = "",
               workers: int = 1, **kwargs: Any) -> Job:
        job = Job(id=secrets.token_urlsafe(16), name=name, run_key=run_key, status=FAILED, error=self.reason)
        job.finished = time.time()
        job._done.set()
        _register(job)
        return job


_default: JobRunner | RunnerUnavailable | None = None
_lock = threading.Lock()


def default_runner() -> JobRunner | RunnerUnavailable:
    """The process-wide runner shared by every session, chosen once by EXPLORER_RUNNER (local | ray)."""
    global _default
    with _lock:
        if _default is None:
            choice = os.environ.get(RUNNER_VAR, "local").strip().lower() or "local"
            if choice == "ray":
                from engine.ray_runner import connect

                _default = connect()
            elif choice == "local":
                _default = JobRunner()
                _share_cpu_threads(_default.max_workers)
            else:
                _default = RunnerUnavailable(f"{RUNNER_VAR}={choice!r} is not a runner this server knows: set it to "
                                             "'local' (threads in this server) or 'ray' (a Ray cluster) and restart.")
                log.error(_default.reason)
        return _default


def describe_runner() -> str:
    """One sentence for the home page: where training jobs run (or why they cannot)."""
    return default_runner().describe()


def _share_cpu_threads(workers: int) -> None:
    """On the CPU, give each concurrent job its share of the cores (oversubscribed BLAS threads on
    a small shared machine were measured up to 5x slower per epoch). EXPLORER_TORCH_THREADS overrides."""
    import torch

    from engine.device import get_device

    if get_device().type != "cpu":
        return
    threads = int(os.environ.get("EXPLORER_TORCH_THREADS", "0")) or max(1, (os.cpu_count() or 1) // workers)
    torch.set_num_threads(threads)
