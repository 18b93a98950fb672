"""One-file model artifacts: safetensors weights plus plain-JSON parameters, never a pickle.

Every scenario saves through `save_artifact` and loads through `load_artifact`, so a
model file is safe to accept from anyone: only tensors and JSON are read.
"""

from __future__ import annotations

import datetime as dt
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from engine.data import DataError

FORMAT = "ai-scenario-explorer"
VERSION = 1
# The header (tensor table plus the JSON settings) of every model the app saves is well under 1 MB; a larger one
# is refused before it is parsed, so a crafted header cannot make the server build a large JSON tree.
MAX_HEADER_BYTES = 8 * 2**20


def jsonable(o: Any) -> Any:
    """json.dumps default: numpy scalars and arrays, tuples, paths become plain JSON."""
    if isinstance(o, (np.floating, np.integer, np.bool_)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (tuple, set)):
        return list(o)
    if isinstance(o, (Path, dt.date)):  # dates (pd.Timestamp too) as their plain string
        return str(o)
    raise TypeError(f"{type(o).__name__} cannot be saved in a model file's JSON")


def to_bytes(kind: str, tensors: dict[str, Any], meta: dict[str, Any]) -> bytes:
    """One safetensors blob: tensors (torch or numpy) plus `meta` as JSON in its header."""
    clean = {
        k: (v.detach() if isinstance(v, torch.Tensor) else torch.from_numpy(np.array(v, copy=True, order="C")))
        .contiguous()
        .cpu()
        for k, v in tensors.items()
    }
    header = {"format": FORMAT, "version": str(VERSION), "kind": kind, "meta": json.dumps(meta, default=jsonable)}
    return st_save(clean, metadata=header)


def save_artifact(path: str | Path, kind: str, tensors: dict[str, Any], meta: dict[str, Any]) -> None:
    Path(path).write_bytes(to_bytes(kind, tensors, meta))


def _header(raw: bytes) -> dict[str, Any]:
    (n,) = struct.unpack("<Q", raw[:8])
    if n <= 0 or n > len(raw) - 8 or n > MAX_HEADER_BYTES:
        raise ValueError("bad header length")
    return json.loads(raw[8 : 8 + n].decode("utf-8"))


def load_artifact(source: str | Path | bytes, kind: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a model file written by `save_artifact`; DataError for anything else."""
    raw = Path(source).read_bytes() if isinstance(source, (str, Path)) else bytes(source)
    not_ours = (
        "This file is not a model saved by AI Scenario Explorer, or it was damaged. "
        "Download the model again from the page that trained it."
    )
    try:
        info = _header(raw).get("__metadata__") or {}
        if info.get("format") != FORMAT:
            raise DataError(not_ours)
        if info.get("kind") != kind:
            raise DataError(
                f"This model file was saved by the {info.get('kind', 'unknown')} page; "
                f"open it there, or upload a {kind} model here."
            )
        if int(info.get("version", 0)) > VERSION:
            raise DataError("This model file was saved by a newer version of the app. Update the app to open it.")
        tensors = st_load(raw)
        meta = json.loads(info["meta"])
    except DataError:
        raise
    except Exception:
        raise DataError(not_ours) from None
    return tensors, meta
