"""One place decides where tensors live: cuda > mps > cpu, overridable by EXPLORER_DEVICE.

AMP (bfloat16 autocast) is used on CUDA only; CPU and MPS train in float32.
"""
from __future__ import annotations

import contextlib
import os
from functools import lru_cache

import torch

ENV_VAR = "EXPLORER_DEVICE"
_CHOICES = ("auto", "cuda", "mps", "cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


@lru_cache(maxsize=None)
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
    """The device every model and tensor of this process uses."""
    return _resolve(os.environ.get(ENV_VAR, "auto"))


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
