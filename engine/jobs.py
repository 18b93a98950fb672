"""Training off the UI thread: jobs with progress, result and cancel, run by one of two runners.

A job wraps `fn(*args, progress=..., cancel=..., **kwargs)`. The page polls `job.status`,
`job.events` and `job.result`; a widget click in the UI never interrupts the work. The
interface is deliberately small (submit, status, events, result, error, cancel), so the two
runners stand behind it alike:

- `JobRunner` (default, `EXPLORER_RUNNER=local`): a bounded thread pool in this server.
- `engine.ray_runner.RayRunner` (`EXPLORER_RUNNER=ray`): each job is a task on a Ray cluster;
  the model comes back as its model-file bytes and is loaded with the scenario's `load`.

Which one serves this process is chosen in `engine.runners` (this module knows neither choice).

Every job is also kept in a server-wide registry by its unguessable id, so a page reload
(`?job=<id>` in the URL) finds a running job again.
"""

from __future__ import annotations

import importlib
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
MAX_JOB_SECONDS_VAR = "EXPLORER_MAX_JOB_SECONDS"
PER_SESSION_VAR = "EXPLORER_JOBS_PER_SESSION"  # jobs one session may have at once: one running, the rest waiting (2)


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
    owner: str = ""  # the browser session that started it (its jobs run one at a time and end with it)
    submitted: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    _done: threading.Event = field(default_factory=threading.Event, repr=False)
    _drop: Callable[[], None] | None = field(default=None, repr=False)  # ends a job no worker has picked up yet

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
        """Stop the job: one still waiting ends at once; a running one at its next check (within an epoch)."""
        self._cancel.set()
        if self._drop is not None:
            self._drop()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ends (for tests, CLIs and benchmarks)."""
        return self._done.wait(timeout)

    def elapsed(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.time()) - self.started


class SessionBusy(Exception):
    """This session already has as many jobs as the server allows one session; `message` says what to do."""

    def __init__(self, limit: int):
        self.message = (
            f"This page already has {limit} training job{'s' if limit != 1 else ''} going (one trains, "
            f"{'the other waits' if limit == 2 else 'the others wait'} for it), the most one browser tab may have on "
            "this shared server. Cancel one below, or wait for it to finish, then press Train again."
            if limit > 1
            else "This page already has a training job going, the most one browser tab may have on this shared server. "
            "Cancel it below, or wait for it to finish, then press Train again."
        )
        super().__init__(self.message)


def per_session_limit() -> int:
    """How many jobs one session may have at once (EXPLORER_JOBS_PER_SESSION, default 2: one running, one waiting)."""
    try:
        return max(1, int(os.environ.get(PER_SESSION_VAR, "2")))
    except ValueError:
        return 2


class RunnerLost(Exception):
    """The runner's cluster stopped answering; `message` is the sentence for the page (the server retries)."""

    def __init__(self, message: str, detail: str = ""):
        super().__init__(message)
        self.message, self.detail = message, detail


class JobFailed(Exception):
    """The job could not finish for a reason outside the analyst's data (e.g. a cluster worker died)."""

    def __init__(self, message: str, detail: str = ""):
        super().__init__(detail or message)
        self.message = message  # a sentence; "{error_id}" in it is filled in


class JobRunner:
    """A bounded thread pool; several sessions can train at once without oversubscribing."""

    kind = "local"

    def lost_sentence(self) -> str:
        """What pages say while this runner cannot be reached (a Ray cluster overrides it; threads are never lost)."""
        return "The training service stopped answering; it is being started again. Try Train in a minute."

    def __init__(self, max_workers: int | None = None):
        workers = max_workers or int(os.environ.get("EXPLORER_MAX_JOBS", "2"))
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="explorer-job")
        self.max_workers = workers
        self._waiting: list[Job] = []  # submitted and not yet running, in submission order
        self._queue_lock = threading.Lock()
        self._owned: dict[str, list[Job]] = {}  # session -> its jobs not yet finished, in submission order
        self._held: dict[str, list[tuple[Job, Callable[[], None]]]] = {}  # behind the same session's running job

    def describe(self) -> str:
        return (
            f"Training jobs run in this server, {self.max_workers} at a time; more wait their turn "
            "(a team can send them to a Ray cluster instead: see the README, “Scale out”)."
        )

    def queued_before(self, job: Job) -> int:
        """How many jobs wait ahead of `job` for a worker (0 when it is next or running)."""
        with self._queue_lock:
            self._waiting = [j for j in self._waiting if j.status == QUEUED]
            return self._waiting.index(job) if job in self._waiting else 0

    def jobs_of(self, owner: str) -> list[Job]:
        """The session's jobs that have not finished, oldest first."""
        with self._queue_lock:
            return [j for j in self._owned.get(owner, []) if j.active]

    def owners(self) -> list[str]:
        """Sessions with jobs that have not finished."""
        with self._queue_lock:
            return [o for o, jobs in self._owned.items() if any(j.active for j in jobs)]

    def cancel_owner(self, owner: str) -> int:
        """Cancel every job of a session (e.g. its browser tab was closed); returns how many were going."""
        jobs = self.jobs_of(owner)
        for job in jobs:
            job.cancel()
        return len(jobs)

    def adopt(self, job: Job, owner: str) -> None:
        """A reloaded page (a new session) follows its job: the job now ends with the new session."""
        with self._queue_lock:
            old = job.owner
            if not owner or old == owner:
                return
            if job in self._owned.get(old, []):
                self._owned[old].remove(job)
            held = [(j, r) for j, r in self._held.get(old, []) if j is job]
            if held:
                self._held[old].remove(held[0])
                self._held.setdefault(owner, []).append(held[0])
            job.owner = owner
            if job.active:
                self._owned.setdefault(owner, []).append(job)
        self._next_of(old)
        self._next_of(owner)

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        name: str = "training",
        run_key: str = "",
        workers: int = 1,
        owner: str = "",
        **kwargs: Any,
    ) -> Job:
        """Start `fn(*args, progress=, cancel=, **kwargs)` as a job; `workers` > 1 trains data-parallel.

        `owner` (a browser session's id) gets at most `per_session_limit()` jobs at once, run one after the other:
        one trains while the others wait, so one tab cannot take every worker. Over the limit: SessionBusy."""
        self._check(fn, workers)
        job = Job(
            id=secrets.token_urlsafe(16),
            name=name,
            run_key=run_key,
            workers=int(workers),
            owner=owner,
            max_seconds=float(os.environ.get(MAX_JOB_SECONDS_VAR, "3600")),
        )

        def progress(event: dict[str, Any]) -> None:
            job.events.append(dict(event))

        def run() -> None:
            self._run_job(job, fn, args, kwargs, progress)

        def drop() -> None:
            self._drop_waiting(job)

        job._drop = drop
        hold = self._enqueue(job, run)
        _register(job)
        if not hold:
            self._pool.submit(run)
        return job

    def _run_job(self, job: Job, fn: Callable[..., Any], args: tuple, kwargs: dict, progress) -> None:
        """On a worker: run the job unless it was cancelled while it waited, record how it ended, then hand its
        session's next waiting job to a worker."""
        with self._queue_lock:
            if job._done.is_set():  # cancelled while it waited
                return
            job._drop = None  # a worker has it now: cancel reaches it through its cancel signal
            if job._cancel.is_set():
                job.status, job.finished = CANCELLED, time.time()
                job._done.set()
        if job._done.is_set():
            self._next_of(job.owner)
            return
        name = job.name
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
        except RunnerLost as exc:
            log.error("job %s (%s) could not run: %s", job.id, name, exc.detail)
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
            self._next_of(job.owner)

    def _drop_waiting(self, job: Job) -> None:
        """Cancel a job no worker has picked up yet: it ends now, and leaves its session's waiting line."""
        with self._queue_lock:
            if job._drop is None or job._done.is_set():
                return
            job._drop = None
            job.status, job.finished = CANCELLED, time.time()
            job._done.set()
            held = self._held.get(job.owner, [])
            self._held[job.owner] = [(j, r) for j, r in held if j is not job]
        self._next_of(job.owner)

    def _enqueue(self, job: Job, run: Callable[[], None]) -> bool:
        """Count the job against its session's limit (SessionBusy over it) and queue it: held behind the session's own
        job (True: `run` is handed to a worker when that one ends), else in the server's queue (False)."""
        owner = job.owner
        with self._queue_lock:
            if owner:
                mine = [j for j in self._owned.get(owner, []) if j.active]
                if len(mine) >= per_session_limit():
                    raise SessionBusy(per_session_limit())
                self._owned[owner] = mine + [job]
            hold = bool(owner) and len(self._owned[owner]) > 1
            if hold:  # behind this session's own job: handed to a worker when that one ends
                self._held.setdefault(owner, []).append((job, run))
            else:
                self._waiting.append(job)
        return hold

    def _next_of(self, owner: str) -> None:
        """A job of `owner` ended: hand its next waiting job to a worker."""
        if not owner:
            return
        with self._queue_lock:
            mine = [j for j in self._owned.get(owner, []) if j.active]
            if mine:
                self._owned[owner] = mine
            else:
                self._owned.pop(owner, None)
            held = self._held.get(owner, [])
            dispatched = [j for j in mine if j not in {h for h, _ in held}]
            if dispatched or not held:
                if not held:
                    self._held.pop(owner, None)
                return
            job, run = held.pop(0)
            self._waiting.append(job)
        self._pool.submit(run)

    def held(self, job: Job) -> bool:
        """True while `job` waits for another job of its own session to end (not yet in the server's queue)."""
        with self._queue_lock:
            return any(j is job for j, _ in self._held.get(job.owner, []))

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
    return (
        f"Training was stopped after {limit / 60:,.0f} minutes, this server's limit for one job. Train on fewer "
        "rows or columns, or pick a smaller network and fewer epochs under the advanced options, then try again."
    )


CPU_FALLBACK_NOTICE = (
    "The GPU ran out of memory for this job (other sessions may be using it), so it was trained "
    "on the CPU instead: slower, same method and settings."
)
CPU_FALLBACK_MESSAGE = "The GPU ran out of memory; training again on the CPU…"


def _run_with_cpu_fallback(job: Job, fn: Callable[..., Any], args: tuple, kwargs: dict, progress) -> Any:
    """Run the job on the engine's device; if that device runs out of memory, run it again on the CPU."""
    from engine.device import with_cpu_fallback

    cancel = _CancelOrDeadline(job)

    def fell_back(error: BaseException) -> None:
        log.warning(
            "job %s (%s) ran out of GPU memory (%s); retrying on the CPU", job.id, job.name, type(error).__name__
        )
        job.notices.append(CPU_FALLBACK_NOTICE)
        job.events.clear()
        progress({"message": CPU_FALLBACK_MESSAGE})

    result, _ = with_cpu_fallback(lambda: fn(*args, progress=progress, cancel=cancel, **kwargs), fell_back)
    return result


def scenario_module(fn: Callable[..., Any]) -> Any:
    """The scenario module that offers `fn` and `load(bytes)` — the package itself when `fn` lives in one of its
    submodules (engine.forecast.fit.fit is engine.forecast.fit)."""
    parts = fn.__module__.split(".")
    for i in range(len(parts), 0, -1):
        module = importlib.import_module(".".join(parts[:i]))
        if getattr(module, fn.__qualname__, None) is fn and callable(getattr(module, "load", None)):
            return module
    raise TypeError(f"{fn!r}: the Ray runner runs module-level functions of modules that offer load(bytes)")


def model_from_outcome(kind: str, payload: Any, module: Any, table: Any, bug: type[Exception] = RuntimeError) -> Any:
    """What a job trained in another process (a worker process, a Ray task) sent back, as (kind, payload): the model
    read from its file's bytes (`module.load`), with the rows it was fitted on attached when its file leaves them out;
    or the job's outcome raised as here (Cancelled, DataError's sentence, `bug` with the worker's traceback)."""
    if kind == "cancelled":
        raise Cancelled()
    if kind == "data_error":
        raise DataError(payload)
    if kind == "bug":
        raise bug(payload)
    model = module.load(payload)
    attach = getattr(model, "attach", None)  # a model whose file leaves out the rows it was fitted on
    if callable(attach) and table is not None:
        attach(table)
    return model


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

    def __init__(self, reason: str, retry: bool = False):
        self.reason = reason
        self.retry = retry  # engine.runners tries to start or join the runner again (e.g. a lost Ray instance)

    def describe(self) -> str:
        return self.reason

    def queued_before(self, job: Job) -> int:
        return 0

    def held(self, job: Job) -> bool:
        return False

    def jobs_of(self, owner: str) -> list[Job]:
        return []

    def owners(self) -> list[str]:
        return []

    def cancel_owner(self, owner: str) -> int:
        return 0

    def adopt(self, job: Job, owner: str) -> None:
        job.owner = owner

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        name: str = "training",
        run_key: str = "",
        workers: int = 1,
        owner: str = "",
        **kwargs: Any,
    ) -> Job:
        job = Job(id=secrets.token_urlsafe(16), name=name, run_key=run_key, status=FAILED, error=self.reason)
        job.finished = time.time()
        job._done.set()
        _register(job)
        return job
