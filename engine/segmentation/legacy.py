"""Model files of the first segmentation version, upgraded in place to today's fields before unpacking."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import torch

from engine.segmentation.spec import MODEL
from engine.training import History


def upgrade_first_version(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Files of the first version: the k scan was kept as History epochs, timings inside metrics, the
    profile as a dict of lists and the PCA's explained shares under `pca_explained` (same tensors)."""
    if "profile" not in meta:
        return

    def parquet(frame: pd.DataFrame) -> torch.Tensor:
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        return torch.frombuffer(bytearray(buf.getvalue()), dtype=torch.uint8)

    profile = pd.DataFrame(meta.pop("profile"))
    tensors["profile_rows.parquet"] = parquet(profile.rename(columns={profile.columns[0]: "segment"}))
    history = meta.get("history") or {}
    tensors["scan.parquet"] = parquet(pd.DataFrame(history.get("epochs", []), columns=["k", "inertia", "silhouette"]))
    meta["history"] = {
        **History().to_dict(),
        "stopped": history.get("stopped", ""),
        "seconds": history.get("seconds", 0.0),
    }
    metrics = dict(meta.get("metrics", {}))
    baselines = {name: dict(m) for name, m in meta.get("baseline_metrics", {}).items()}
    timings = {MODEL: float(metrics.pop("seconds", 0.0))}
    for name, m in baselines.items():
        timings[name] = float(m.pop("seconds", 0.0))
    meta["metrics"] = {k: float(v) for k, v in metrics.items()}
    meta["baseline_metrics"] = {n: {k: float(v) for k, v in m.items()} for n, m in baselines.items()}
    meta["timings"] = timings
