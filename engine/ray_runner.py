"""Training jobs as tasks on a Ray cluster (EXPLORER_RUNNER=ray), behind the same `Job` contract.

What crosses the wire, and why:
- In: the scenario's `fit` by name (module + function; the engine must be importable on every
  node: the same image or venv), the analyst's table (put in the object store once per content
  fingerprint) and the small frozen config/columns dataclasses.
- Out: the model file's bytes (`to_bytes()`: safetensors + JSON), loaded on this server with the
  scenario module's `load`. No pickled model comes back.
- Progress: the task pushes each event to one small "board" actor; this server reads the board
  twice a second. The task waits for its last push before it returns, so the last event is never
  lost. Cancel goes the other way: the server marks the job on the board and the task's cancel
  signal looks at most four times a second.

Ray is imported lazily: the default install (local runner) does not carry it.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import socket
import threading
import time
import traceback
from typing import Any, Callable

from engine.data import DataError
from engine.jobs import (
    CPU_FALLBACK_MESSAGE,
    CPU_FALLBACK_NOTICE,
    QUEUED,
    RUNNING,
    Job,
    JobFailed,
    JobRunner,
    RunnerLost,
    RunnerUnavailable,
    model_from_outcome,
    scenario_module,
)
from engine.training import Cancelled

log = logging.getLogger("explorer.ray")

CONNECT_SECONDS_VAR = "EXPLORER_RAY_CONNECT_SECONDS"  # how long connecting at start may take (default 45)
CPUS_PER_JOB_VAR = "EXPLORER_RAY_CPUS_PER_JOB"  # CPUs one job asks the cluster for (default 1)
GPUS_PER_JOB_VAR = "EXPLORER_RAY_GPUS_PER_JOB"  # share of a GPU one job asks for when the cluster has GPUs (default 1)
LOCAL_CPUS_VAR = "EXPLORER_RAY_LOCAL_CPUS"  # CPUs of the embedded instance started without RAY_ADDRESS
LOCAL_STORE_VAR = "EXPLORER_RAY_OBJECT_STORE_MB"  # its object store (default 256 MB: tables of a few analysts)
ASK_SECONDS = 10.0  # the longest a page waits for the cluster to say what it has
RUNTIME_ENV_VAR = "EXPLORER_RAY_RUNTIME_ENV"  # JSON runtime_env for a quick try on a cluster without the image
MAX_IN_FLIGHT_VAR = "EXPLORER_RAY_MAX_JOBS"  # jobs this server hands to Ray at once; Ray queues them (default 32)
POLL_SECONDS = 0.5
CANCEL_CHECK_SECONDS = 0.25
DEADLINE_GRACE_SECONDS = 60.0  # after the deadline, a task that ignores its cancel signal is killed

WORKER_LOST = (
    "The cluster machine that was training this model stopped before training finished (it may have "
    "been restarted, or run out of memory). Press Train to try again; if it keeps happening, report "
    "error id {error_id}."
)


class RemoteBug(Exception):
    """An unexpected error inside the task; its message is the worker's traceback (for the log)."""


def connect(address: str | None = None, timeout: float | None = None) -> RayRunner | RunnerUnavailable:
    """Connect once, with a timeout; an unreachable cluster or refused token gives a runner that says why."""
    try:
        import ray  # noqa: F401
    except ImportError:
        reason = (
            "This server is set to train on a Ray cluster (EXPLORER_RUNNER=ray), but Ray is not installed "
            "here. Install it with pip install -e '.[ray]' and restart, or unset EXPLORER_RUNNER."
        )
        log.error(reason)
        return RunnerUnavailable(reason)
    try:
        return RayRunner(address, timeout)
    except ClusterUnreachable as exc:
        log.error("%s (%s)", exc.message, exc.detail)
        return RunnerUnavailable(exc.message, retry=True)


def shutdown(timeout: float = 20.0) -> None:
    """Leave the cluster (the embedded instance stops), bounded in time: a lost cluster must not hang the server."""
    import ray

    thread = threading.Thread(target=ray.shutdown, name="explorer-ray-shutdown", daemon=True)
    thread.start()
    thread.join(timeout)
    _embedded_stop.set()


class ClusterUnreachable(RunnerLost):
    """Ray could not be reached (at start, or it stopped answering); `message` is the page's sentence."""


def _unreachable(where: str, why: str) -> str:
    return (
        f"Training is set to run on the Ray cluster at {where}, but {why}. No model can be trained until "
        "it is fixed: check RAY_ADDRESS (and RAY_AUTH_TOKEN) on this server, then restart it."
    )


def _probe(address: str, timeout: float) -> None:
    """Fail fast when nothing listens at host:port (ray.init itself would retry for a long time)."""
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" and friends: let Ray resolve it
    try:
        with socket.create_connection((host, int(port)), timeout=min(timeout, 5.0)):
            pass
    except OSError as exc:
        raise ClusterUnreachable(_unreachable(address, "nothing answers there"), repr(exc)) from None


_embedded_stop = threading.Event()  # set when the embedded instance is shut down: its keeper thread may end


def _embedded_settings() -> dict[str, Any]:
    """How the embedded (trial) instance starts, sized for a small machine: its own CPUs (EXPLORER_RAY_LOCAL_CPUS,
    default all), a small object store (EXPLORER_RAY_OBJECT_STORE_MB, 256: Ray's default, 30 % of the memory, was
    6.5 GB of /dev/shm here), on the loopback address only (a trial needs no network, and the machine's own
    address may change or be firewalled), no dashboard."""
    cpus = os.environ.get(LOCAL_CPUS_VAR)
    store_mb = int(os.environ.get(LOCAL_STORE_VAR, "256"))
    return dict(
        address="local",
        num_cpus=int(cpus) if cpus else None,
        object_store_memory=store_mb * 1024**2,
        _node_ip_address="127.0.0.1",
        include_dashboard=False,
    )


def _init(address: str | None, timeout: float) -> None:
    """ray.init in a helper thread, so a cluster that never answers cannot hang the server.

    The embedded instance's helper thread then stays alive for as long as the instance: Ray starts its processes
    (GCS, raylet) with PR_SET_PDEATHSIG, which Linux fires when the *thread* that started them ends — a helper that
    returned after ray.init killed the instance a second later, and the server lost it ("Failed to connect to GCS
    within 60 seconds", after which Ray ends the whole server process)."""
    import ray

    outcome: dict[str, BaseException | None] = {}
    embedded = address in (None, "", "local")
    try:
        runtime_env = json.loads(os.environ[RUNTIME_ENV_VAR]) if os.environ.get(RUNTIME_ENV_VAR) else None
    except ValueError as exc:
        raise ClusterUnreachable(
            f"{RUNTIME_ENV_VAR} is not valid JSON ({exc}); fix it and restart the server."
        ) from None
    started = threading.Event()
    # Ray's core ends the whole process once its cluster's GCS has been gone for 60 s: that would take the web
    # server and every analyst's session with it. Here a lost cluster is a sentence on the pages and a retry
    # (engine.runners), so this process waits for it instead (set before ray.init, which reads it).
    os.environ.setdefault("RAY_gcs_rpc_server_reconnect_timeout_s", str(7 * 24 * 3600))

    def run() -> None:
        try:
            if embedded:
                ray.init(**_embedded_settings(), log_to_driver=False, configure_logging=False, runtime_env=runtime_env)
            else:
                ray.init(address=address, log_to_driver=False, configure_logging=False, runtime_env=runtime_env)
            outcome["error"] = None
        except BaseException as exc:  # noqa: BLE001 - reported below as a sentence
            outcome["error"] = exc
        started.set()
        if embedded and outcome["error"] is None:
            _embedded_stop.clear()
            _embedded_stop.wait()  # keep the processes this thread started alive (see above)

    where = "a new local instance" if embedded or not address else address
    thread = threading.Thread(
        target=run, name="explorer-ray-keeper" if embedded else "explorer-ray-connect", daemon=True
    )
    thread.start()
    started.wait(timeout)
    if not started.is_set():
        raise ClusterUnreachable(_unreachable(where, f"it did not answer within {timeout:.0f} s"))
    error = outcome.get("error")
    if error is not None:
        text = f"{type(error).__name__}: {error}"
        if "authenticat" in text.lower() or "token" in text.lower():
            raise ClusterUnreachable(_unreachable(where, "it refused this server's token"), text)
        raise ClusterUnreachable(_unreachable(where, "connecting failed"), text)


def _fingerprint(df) -> str:
    import pandas as pd

    h = hashlib.sha256()
    h.update(repr((list(map(str, df.columns)), list(map(str, df.dtypes)), df.shape)).encode())
    h.update(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())
    return h.hexdigest()


class RayRunner(JobRunner):
    """Each job is one Ray task; this server keeps a thread per job in flight that relays progress."""

    kind = "ray"

    def __init__(self, address: str | None = None, timeout: float | None = None):
        import ray

        address = address if address is not None else os.environ.get("RAY_ADDRESS")
        timeout = float(timeout if timeout is not None else os.environ.get(CONNECT_SECONDS_VAR, "45"))
        if not ray.is_initialized():
            if address not in (None, "", "local", "auto"):
                _probe(address, timeout)
            _init(address, timeout)
        self.address = address or "a local instance on this server"
        self.lost = False  # the cluster stopped answering: engine.runners starts or joins it again
        super().__init__(max_workers=int(os.environ.get(MAX_IN_FLIGHT_VAR, "32")))
        self.cpus_per_job = float(os.environ.get(CPUS_PER_JOB_VAR, "1"))
        self.gpus_per_job = float(os.environ.get(GPUS_PER_JOB_VAR, "1"))
        # Ray's stubs type remote() with task options only; max_concurrency is an actor option (Ray's actor docs)
        self._board = ray.remote(num_cpus=0, max_concurrency=1)(_Board).remote()  # type: ignore[call-overload]
        self._tables: dict[str, list] = {}  # content fingerprint -> [object ref, jobs using it]
        self._tables_lock = threading.Lock()
        self._tasks: dict[str, Any] = {}
        res = self.resources()
        log.info("training jobs run on Ray (%s): %s", self.address, res)

    # -- what the cluster has -----------------------------------------------------------------
    def resources(self) -> dict[str, float]:
        """What the cluster has; asked in a helper thread with a time limit, so a lost cluster cannot stop a page
        from drawing (it raises ClusterUnreachable, and the runner is marked lost for `engine.runners` to retry)."""
        import ray

        def ask() -> dict[str, float]:
            res = ray.cluster_resources()
            nodes = sum(1 for n in ray.nodes() if n.get("Alive"))
            return {"CPU": float(res.get("CPU", 0)), "GPU": float(res.get("GPU", 0)), "nodes": nodes}

        box: dict[str, Any] = {}

        def run() -> None:
            try:
                box["value"] = ask()
            except BaseException as exc:  # noqa: BLE001 - reported below
                box["error"] = exc

        thread = threading.Thread(target=run, name="explorer-ray-ask", daemon=True)
        thread.start()
        thread.join(ASK_SECONDS)
        if "value" in box and box["value"]["nodes"] > 0:
            return box["value"]
        why = (
            repr(box.get("error"))
            if "error" in box
            else ("no live node" if "value" in box else f"no answer within {ASK_SECONDS:.0f} s")
        )
        self.lost = True
        raise ClusterUnreachable(self.lost_sentence(), why)

    def lost_sentence(self) -> str:
        if self.address.startswith("a local"):
            return (
                "The local Ray instance that trains models on this server stopped answering. The server starts a "
                "new one on the next page you open; if this keeps happening, restart the app or set RAY_ADDRESS "
                "to a Ray cluster started on its own (README, “Scale out”)."
            )
        return _unreachable(self.address, "it stopped answering") + " The server tries again on the next page you open."

    def describe(self) -> str:
        if self.lost:
            return self.lost_sentence()
        try:
            res = self.resources()
        except ClusterUnreachable as exc:  # the home page must render
            log.error("could not read the Ray cluster's resources: %s", exc.detail)
            return exc.message
        gpus = f" and {res['GPU']:.0f} GPU{'s' if res['GPU'] != 1 else ''}" if res["GPU"] else " (no GPU)"
        return (
            f"Training jobs run on the Ray cluster ({self.address}): {res['nodes']} machine"
            f"{'s' if res['nodes'] != 1 else ''} with {res['CPU']:.0f} CPUs{gpus}; each job asks for "
            f"{self.cpus_per_job:g} CPU{'s' if self.cpus_per_job != 1 else ''}"
            f"{f' and {self.gpus_per_job:g} GPU' if res['GPU'] else ''}, and waits its turn when the cluster is full."
        )

    def max_data_parallel_workers(self) -> int:
        """The most workers one data-parallel job may ask for (one CPU each; CPU workers only)."""
        return max(1, int(self.resources()["CPU"]))

    # -- submitting ---------------------------------------------------------------------------
    def _check(self, fn: Callable[..., Any], workers: int) -> None:
        _home(fn)
        if workers < 1 or workers > self.max_data_parallel_workers():
            raise ValueError(
                f"{workers} workers asked for; this cluster has room for 1 to {self.max_data_parallel_workers()}"
            )

    def _put(self, value: Any, used: list[str] | None = None) -> Any:
        """Tables go to the object store once per content fingerprint while jobs use them; everything else as is.
        The fingerprint is added to `used`: `_release(used)` when the job ends drops this server's reference, so
        Ray frees the table once no job needs it (nothing an analyst uploaded stays in the object store)."""
        import pandas as pd
        import ray

        if not isinstance(value, pd.DataFrame):
            return value
        fp = _fingerprint(value)
        with self._tables_lock:
            entry = self._tables.get(fp)
            if entry is None:
                entry = self._tables[fp] = [ray.put(value), 0]
            entry[1] += 1
            if used is not None:
                used.append(fp)
            return entry[0]

    def _release(self, used: list[str]) -> None:
        with self._tables_lock:
            for fp in used:
                entry = self._tables.get(fp)
                if entry is not None:
                    entry[1] -= 1
                    if entry[1] <= 0:
                        del self._tables[fp]  # the last reference on this server: Ray frees the object
            used.clear()

    def _task(self, device: str, workers: int):
        """The remote function for this kind of job. GPU tasks declare num_gpus on the function itself
        (so Ray's one-call-per-GPU-worker default holds); a data-parallel job's own task asks for no CPU,
        as its Train workers take theirs: a task holding a CPU while waiting for its workers'
        CPUs would deadlock a small cluster."""
        import ray

        kind = f"{device}:{'ddp' if workers > 1 else 'one'}"
        if kind not in self._tasks:
            if workers > 1:
                self._tasks[kind] = ray.remote(num_cpus=0, max_retries=0)(_train_task)
            elif device == "cuda":
                self._tasks[kind] = ray.remote(num_cpus=self.cpus_per_job, num_gpus=self.gpus_per_job, max_retries=0)(
                    _train_task
                )
            else:
                self._tasks[kind] = ray.remote(num_cpus=self.cpus_per_job, max_retries=0)(_train_task)
        return self._tasks[kind]

    def _execute(self, job: Job, fn: Callable[..., Any], args: tuple, kwargs: dict, progress) -> Any:
        import pandas as pd

        module = _home(fn)
        table = next((a for a in args if isinstance(a, pd.DataFrame)), None)
        used: list[str] = []
        try:
            return self._execute_with(
                job,
                fn,
                module,
                table,
                tuple(self._put(a, used) for a in args),
                {k: self._put(v, used) for k, v in kwargs.items()},
                progress,
            )
        finally:
            self._release(used)

    def _execute_with(
        self, job: Job, fn: Callable[..., Any], module: Any, table: Any, args: tuple, kwargs: dict, progress
    ) -> Any:
        # Ask for a GPU only when the cluster has one: a GPU request on a CPU-only cluster waits forever.
        device = "cuda" if job.workers == 1 and self.resources()["GPU"] > 0 else "cpu"
        kind, payload = self._run(job, fn, device, args, kwargs, progress)
        if kind == "oom":
            log.warning("job %s (%s) ran out of GPU memory on the cluster; retrying on a CPU", job.id, job.name)
            job.notices.append(CPU_FALLBACK_NOTICE)
            job.events.clear()
            progress({"message": CPU_FALLBACK_MESSAGE})
            kind, payload = self._run(job, fn, "cpu", args, kwargs, progress)
        return model_from_outcome(kind, payload, module, table, bug=RemoteBug)

    def _run(
        self, job: Job, fn: Callable[..., Any], device: str, args: tuple, kwargs: dict, progress
    ) -> tuple[str, Any]:
        """One attempt: submit the task, relay its events, honour cancel and the deadline."""
        import ray
        from ray import exceptions as rx

        spec = {
            "module": _home(fn).__name__,
            "name": fn.__qualname__,
            "job_id": job.id,
            "board": self._board,
            "device": device,
            "workers": job.workers,
        }
        ref = self._task(device, job.workers).remote(spec, *args, **kwargs)
        seen, told_cancel = 0, False
        try:
            while True:
                ready, _ = ray.wait([ref], timeout=POLL_SECONDS)
                seen = self._relay(job, seen, progress)
                if ready:
                    break
                over_time = job.status == RUNNING and job.elapsed() > job.max_seconds
                if job._cancel.is_set() and job.status == QUEUED:
                    ray.cancel(ref)  # still waiting for a free slot: dropped before it starts
                    return "cancelled", ""
                if (job._cancel.is_set() or over_time) and not told_cancel:
                    self._board.cancel.remote(job.id)
                    told_cancel = True
                if job.status == RUNNING and job.elapsed() > job.max_seconds + DEADLINE_GRACE_SECONDS:
                    ray.cancel(ref, force=True)
                    return "cancelled", ""
            kind, payload = ray.get(ref)
            self._relay(job, seen, progress)  # the task awaited its last push: everything is on the board
            return kind, payload
        except rx.TaskCancelledError:
            return "cancelled", ""
        except (
            rx.WorkerCrashedError,
            rx.NodeDiedError,
            rx.ObjectLostError,
            rx.OwnerDiedError,
            rx.RayActorError,
            rx.RaySystemError,
            rx.LocalRayletDiedError,
            rx.GetTimeoutError,
        ) as exc:
            self.lost = self.lost or isinstance(exc, (rx.GetTimeoutError, rx.RaySystemError, rx.LocalRayletDiedError))
            raise JobFailed(WORKER_LOST, f"{type(exc).__name__}: {exc}") from None
        finally:
            self._board.forget.remote(job.id)

    def _relay(self, job: Job, seen: int, progress) -> int:
        import ray

        events = ray.get(self._board.read.remote(job.id, seen), timeout=60)
        for event in events:
            if event.get("_started"):
                if job.status == QUEUED:
                    job.status, job.started, job.where = RUNNING, time.time(), event.get("where", "")
            else:
                progress(event)
        return seen + len(events)


class _Board:
    """The one actor holding every running job's progress events and cancel marks."""

    def __init__(self) -> None:
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.cancelled: set[str] = set()

    def push(self, job_id: str, event: dict[str, Any]) -> None:
        self.events.setdefault(job_id, []).append(event)

    def read(self, job_id: str, since: int) -> list[dict[str, Any]]:
        return self.events.get(job_id, [])[since:]

    def cancel(self, job_id: str) -> None:
        self.cancelled.add(job_id)

    def is_cancelled(self, job_id: str) -> bool:
        return job_id in self.cancelled

    def forget(self, job_id: str) -> None:
        self.events.pop(job_id, None)
        self.cancelled.discard(job_id)


class BoardProgress:
    """A task's progress callback: pushes to the board; `flush` waits until every push has landed."""

    def __init__(self, board: Any, job_id: str):
        self.board, self.job_id, self._last = board, job_id, None

    def __call__(self, event: dict[str, Any]) -> None:
        self._last = self.board.push.remote(self.job_id, dict(event))

    def flush(self) -> None:
        import ray

        if self._last is not None:
            ray.get(self._last)  # calls from one caller run in order: the last done means all done


class BoardCancel:
    """A task's cancel signal: asks the board at most every CANCEL_CHECK_SECONDS."""

    def __init__(self, board: Any, job_id: str):
        self.board, self.job_id = board, job_id
        self._flag, self._checked = False, 0.0

    def is_set(self) -> bool:
        import ray

        now = time.monotonic()
        if not self._flag and now - self._checked > CANCEL_CHECK_SECONDS:
            self._checked = now
            self._flag = bool(ray.get(self.board.is_cancelled.remote(self.job_id), timeout=30))
        return self._flag


def _train_task(spec: dict[str, Any], *args: Any, **kwargs: Any) -> tuple[str, Any]:
    """Runs on a Ray worker: the scenario's fit, then its model file's bytes (or what went wrong)."""
    import ray
    import torch

    from engine.device import is_out_of_memory, use_device
    from engine.distributed import use_workers

    progress = BoardProgress(spec["board"], spec["job_id"])
    cancel = BoardCancel(spec["board"], spec["job_id"])
    progress({"_started": True, "where": f"{socket.gethostname()}:{os.getpid()}"})
    # A reused worker keeps the thread count of its first job: set it for this one, from what Ray gave it.
    cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1.0)
    torch.set_num_threads(max(1, int(cpus)))
    try:
        if cancel.is_set():
            return "cancelled", ""
        fn = getattr(importlib.import_module(spec["module"]), spec["name"])
        with use_device(spec["device"]), use_workers(spec["workers"]):
            model = fn(*args, progress=progress, cancel=cancel, **kwargs)
        return "done", model.to_bytes()
    except Cancelled:
        return "cancelled", ""
    except DataError as exc:
        return "data_error", exc.message
    except Exception as exc:  # noqa: BLE001 - reported to the server, which logs it with an error id
        if spec["device"] != "cpu" and is_out_of_memory(exc):
            return "oom", ""
        return "bug", f"on Ray worker {os.getpid()} ({socket.gethostname()}):\n{traceback.format_exc()}"
    finally:
        progress.flush()


_home = scenario_module  # the scenario module that offers `fn` and `load(bytes)`
