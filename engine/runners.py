"""Which runner serves this server's training jobs, chosen once by EXPLORER_RUNNER (local | ray).

`engine.jobs` holds the job contract and the thread runner; `engine.ray_runner` builds on it. This
module sits above both and picks one, so neither of them imports the other's alternative (the
layers stay one-way: runners -> ray_runner -> jobs).
"""

from __future__ import annotations

import logging
import os
import threading
import time

from engine.jobs import JobRunner, RunnerUnavailable

log = logging.getLogger("explorer.jobs")

RUNNER_VAR = "EXPLORER_RUNNER"

RETRY_SECONDS = 15.0  # a lost Ray cluster is tried again at most this often

_default: JobRunner | RunnerUnavailable | None = None
_lock = threading.Lock()
_last_try = 0.0
_retrying = False


def _lost(runner: JobRunner | RunnerUnavailable | None) -> bool:
    return bool(getattr(runner, "lost", False) or getattr(runner, "retry", False))


def default_runner() -> JobRunner | RunnerUnavailable:
    """The process-wide runner shared by every session, chosen once by EXPLORER_RUNNER (local | ray).

    A Ray cluster that was lost (or could not be reached) is started or joined again in the background, at most
    every RETRY_SECONDS; meanwhile a stand-in gives its sentence to every page and Train press (pages never wait)."""
    global _default
    with _lock:
        if _default is None:
            _default = _choose()
        elif _lost(_default):
            if not isinstance(_default, RunnerUnavailable):
                _default = RunnerUnavailable(_default.lost_sentence(), retry=True)
            _retry_in_background()
        return _default


def _choose() -> JobRunner | RunnerUnavailable:
    global _last_try
    _last_try = time.monotonic()
    choice = os.environ.get(RUNNER_VAR, "local").strip().lower() or "local"
    if choice == "ray":
        from engine.ray_runner import connect

        return connect()
    if choice == "local":
        runner = JobRunner()
        _share_cpu_threads(runner.max_workers)
        return runner
    if choice == "processes":
        from engine.process_runner import ProcessRunner

        return ProcessRunner()
    unknown = RunnerUnavailable(
        f"{RUNNER_VAR}={choice!r} is not a runner this server knows: set it to "
        "'local' (threads in this server), 'processes' (worker processes on this server) or 'ray' (a Ray cluster) and "
        "restart."
    )
    log.error(unknown.reason)
    return unknown


def _retry_in_background() -> None:
    """Start or join the Ray cluster again in a helper thread (called with _lock held)."""
    global _retrying
    if _retrying or time.monotonic() - _last_try < RETRY_SECONDS:
        return
    _retrying = True

    def run() -> None:
        global _default, _retrying
        try:
            from engine.ray_runner import shutdown

            log.warning("the training runner was lost; starting or joining it again")
            shutdown()
            runner = _choose()
            with _lock:
                _default = runner
        except Exception:  # noqa: BLE001 - the next page visit tries again
            log.exception("starting or joining the training runner again failed")
        finally:
            _retrying = False

    threading.Thread(target=run, name="explorer-runner-retry", daemon=True).start()


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
