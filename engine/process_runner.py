"""Training jobs in worker processes on this machine (EXPLORER_RUNNER=processes), behind the same `Job` contract.

The thread runner trains in the web server's own process: a training epoch holds the interpreter's lock in
stretches and competes with page runs for it. Here each job runs in a small pool of spawned worker processes
(EXPLORER_MAX_JOBS of them), as on a Ray cluster but without one:
- In: the scenario's `fit` by name, the table and the small config/columns dataclasses (pickled between this
  server's own processes; nothing an analyst uploads is ever unpickled from a file).
- Out: the model file's bytes (safetensors + JSON), loaded here with the scenario's `load`, as the Ray runner does.
- Progress and cancel: a queue and an event shared through a manager process; the worker checks cancel at most
  four times a second.
A worker that dies (out of memory, killed) fails its job with a sentence; the pool is started again and the server
lives on. bench/home_under_load.py measures the home page with this runner and the thread runner.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import os
import queue
import threading
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

from engine.data import DataError
from engine.jobs import (
    CPU_FALLBACK_MESSAGE,
    CPU_FALLBACK_NOTICE,
    RUNNING,
    Job,
    JobFailed,
    JobRunner,
    model_from_outcome,
    scenario_module,
)
from engine.training import Cancelled

log = logging.getLogger("explorer.jobs")

WORKER_DIED = (
    "The process that was training this model stopped before training finished (it may have run out of "
    "memory). Press Train to try again, perhaps with fewer rows or a smaller network; if it keeps "
    "happening, report error id {error_id}."
)
POLL_SECONDS = 0.25


class ProcessRunner(JobRunner):
    """A bounded pool of worker processes; this server keeps one thread per job that relays progress and cancel."""

    kind = "processes"

    def __init__(self, max_workers: int | None = None):
        super().__init__(max_workers)
        self._mp = multiprocessing.get_context("spawn")  # no fork of a threaded server
        self._manager = self._mp.Manager()
        self._pool_lock = threading.Lock()
        self._procs = self._new_pool()
        for _ in range(self.max_workers):  # start the workers now (each imports torch and the engine once)
            self._procs.submit(_start_worker, 0)

    def _new_pool(self) -> ProcessPoolExecutor:
        threads = int(os.environ.get("EXPLORER_TORCH_THREADS", "0")) or max(
            1, (os.cpu_count() or 1) // self.max_workers
        )
        return ProcessPoolExecutor(
            max_workers=self.max_workers, mp_context=self._mp, initializer=_start_worker, initargs=(threads,)
        )

    def describe(self) -> str:
        return (
            f"Training jobs run in {self.max_workers} worker processes on this server; more wait their turn "
            "(a team can send them to a Ray cluster instead: see the README, “Scale out”)."
        )

    def _execute(self, job: Job, fn: Callable[..., Any], args: tuple, kwargs: dict, progress) -> Any:
        module = scenario_module(fn)
        table = next((a for a in args if hasattr(a, "columns") and hasattr(a, "iloc")), None)
        events, cancel = self._manager.Queue(), self._manager.Event()
        job.status, job.started = RUNNING, time.time()
        with self._pool_lock:
            pool = self._procs
        try:
            future = pool.submit(_train_in_process, module.__name__, fn.__qualname__, args, kwargs, events, cancel)
        except BrokenProcessPool:
            future = self._restart(pool).submit(
                _train_in_process, module.__name__, fn.__qualname__, args, kwargs, events, cancel
            )
            pool = self._procs
        outcome = None
        while outcome is None:
            try:
                outcome = future.result(timeout=POLL_SECONDS)
            except FutureTimeout:
                pass
            except BrokenProcessPool:
                self._restart(pool)
                _drain(events, progress, job)
                raise JobFailed(WORKER_DIED, "a worker process died") from None
            _drain(events, progress, job)
            if job._cancel.is_set() or job.elapsed() > job.max_seconds:
                cancel.set()
        kind, payload = outcome
        if kind == "done_on_cpu":
            job.notices.append(CPU_FALLBACK_NOTICE)
            kind = "done"
        return model_from_outcome(kind, payload, module, table)

    def _restart(self, broken: ProcessPoolExecutor) -> ProcessPoolExecutor:
        """A worker died: every job of that pool fails; new jobs get a new pool."""
        with self._pool_lock:
            if self._procs is broken:
                log.error("a training worker process died; starting the pool again")
                broken.shutdown(wait=False, cancel_futures=True)
                self._procs = self._new_pool()
            return self._procs


def _drain(events: Any, progress: Callable[[dict[str, Any]], None], job: Job | None = None) -> None:
    while True:
        try:
            event = events.get_nowait()
        except queue.Empty:
            return
        if event.pop("_restart", False) and job is not None:
            job.events.clear()  # the curve starts again with the CPU run
        progress(event)


def _start_worker(threads: int) -> None:
    import torch

    import engine.scenario  # noqa: F401 - the engine's imports, once per worker, before its first job

    if threads:
        torch.set_num_threads(threads)


class _Cancel:
    """The worker's cancel signal: asks the shared event at most every POLL_SECONDS."""

    def __init__(self, event: Any):
        self.event, self._flag, self._checked = event, False, 0.0

    def is_set(self) -> bool:
        now = time.monotonic()
        if not self._flag and now - self._checked > POLL_SECONDS:
            self._checked = now
            self._flag = bool(self.event.is_set())
        return self._flag


def _train_in_process(module: str, name: str, args: tuple, kwargs: dict, events: Any, cancel: Any) -> tuple[str, Any]:
    """Runs in a worker process: the scenario's fit, then its model file's bytes (or what went wrong)."""
    signal = _Cancel(cancel)
    try:
        if signal.is_set():
            return "cancelled", ""
        from engine.device import with_cpu_fallback

        fn = getattr(importlib.import_module(module), name)
        # the GPU ran out of memory: the same job again on the CPU, as in the server
        model, on_cpu = with_cpu_fallback(
            lambda: fn(*args, progress=lambda e: events.put(dict(e)), cancel=signal, **kwargs),
            lambda _: events.put({"message": CPU_FALLBACK_MESSAGE, "_restart": True}),
        )
        return ("done_on_cpu" if on_cpu else "done"), model.to_bytes()
    except Cancelled:
        return "cancelled", ""
    except DataError as exc:
        return "data_error", exc.message
    except Exception:  # noqa: BLE001 - reported to the server, which logs it with an error id
        return "bug", f"in worker process {os.getpid()}:\n{traceback.format_exc()}"
