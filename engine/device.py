"""One place decides where tensors live: cuda > mps > cpu, overridable by EXPLORER_DEVICE.

AMP (bfloat16 autocast) is used on CUDA only; CPU and MPS train in float32.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from functools import cache
from typing import Callable, TypeVar

import torch

T = TypeVar("T")

ENV_VAR = "EXPLORER_DEVICE"
_CHOICES = ("auto", "cuda", "mps", "cpu")
# A job that ran out of GPU memory retries on the CPU: the override holds for that job's thread only.
_OVERRIDE: contextvars.ContextVar[torch.device | None] = contextvars.ContextVar("explorer_device", default=None)


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


@cache
def _resolve(requested: str) -> torch.device:
    requested = (requested or "auto").strip().lower()
    if requested not in _CHOICES and not requested.startswith("cuda:"):
        raise ValueError(f"{ENV_VAR}={requested!r}: use one of {', '.join(_CHOICES)}")
    if requested.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RuntimeError(f"{ENV_VAR} asks for {requested} but no CUDA device is visible")
        return torch.device(requested)
    if requested == "mps":
        if not _mps_available():
            raise RuntimeError(f"{ENV_VAR} asks for mps but it is not available")
        return torch.device("mps")
    if requested == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def get_device() -> torch.device:
    """The device every model and tensor of this process uses (or of this job, under `use_device`)."""
    override = _OVERRIDE.get()
    if override is not None:
        return override
    return _resolve(os.environ.get(ENV_VAR, "auto"))


@contextlib.contextmanager
def use_device(device: str | torch.device):
    """Within this block (and this thread), `get_device()` answers `device`."""
    token = _OVERRIDE.set(torch.device(device))
    try:
        yield
    finally:
        _OVERRIDE.reset(token)


def is_out_of_memory(exc: BaseException) -> bool:
    """True for a device running out of memory (CUDA or MPS), whatever class the backend raised."""
    if isinstance(exc, getattr(torch, "OutOfMemoryError", ())):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def with_cpu_fallback(run: Callable[[], T], on_fallback: Callable[[BaseException], None]) -> tuple[T, bool]:
    """`run()` on the engine's device; if that is a GPU and it runs out of memory, `on_fallback(error)` and `run()`
    again on the CPU. Returns (result, whether it ran on the CPU again). The one place both job runners (threads in
    the server, worker processes) turn a full GPU into a slower job rather than a failed one."""
    try:
        return run(), False
    except Exception as exc:
        if get_device().type == "cpu" or not is_out_of_memory(exc):
            raise
        failure = exc
    release_memory()
    on_fallback(failure)
    with use_device("cpu"):
        return run(), True


def release_memory() -> None:
    """Hand cached blocks back to the driver after an out-of-memory error."""
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    mps = getattr(torch, "mps", None)
    if mps is not None and _mps_available():
        mps.empty_cache()


def amp_dtype(device: torch.device | None = None) -> torch.dtype | None:
    """bfloat16 autocast on CUDA; None (plain float32) elsewhere."""
    device = device or get_device()
    return torch.bfloat16 if device.type == "cuda" else None


def autocast(device: torch.device | None = None):
    """Context manager for the forward pass: bf16 autocast on CUDA, a no-op elsewhere."""
    device = device or get_device()
    dtype = amp_dtype(device)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def describe() -> str:
    """One line for the analyst: what hardware trains their models."""
    device = get_device()
    if device.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(device)} (CUDA, bf16 mixed precision)"
    if device.type == "mps":
        return "GPU: Apple silicon (MPS)"
    return f"CPU ({os.cpu_count()} cores) — no GPU in use"
