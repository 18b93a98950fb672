"""Which runner serves this server's training jobs, chosen once by EXPLORER_RUNNER (local | ray).

`engine.jobs` holds the job contract and the thread runner; `engine.ray_runner` builds on it. This
module sits above both and picks one, so neither of them imports the other's alternative (the
layers stay one-way: runners -> ray_runner -> jobs).
"""
from __future__ import annotations

import logging
import os
import threading

from engine.jobs import JobRunner, RunnerUnavailable

log = logging.getLogger("explorer.jobs")

RUNNER_VAR = "EXPLORER_RUNNER"

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
