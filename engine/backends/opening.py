"""Both back ends together: opening the index and the blobs from the settings, and the runs whose blobs have no
index row (what only the two together can tell)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from engine.backends.base import _SHARING_OFF, StoreUnavailable, _is_database_url, default_folder
from engine.backends.blobs import Blobs
from engine.backends.index import Index


def open_backends(run_store: str | Path | None = None, artifacts: str | None = None) -> tuple[Index, Blobs]:
    """Index and blobs from the arguments, else from EXPLORER_RUN_STORE / EXPLORER_ARTIFACTS."""
    setting = str(run_store) if run_store is not None else os.environ.get("EXPLORER_RUN_STORE") or str(default_folder())
    blob_setting = artifacts if artifacts is not None else os.environ.get("EXPLORER_ARTIFACTS")
    if not blob_setting:
        if _is_database_url(setting):
            raise StoreUnavailable(
                "EXPLORER_RUN_STORE points at a PostgreSQL database but EXPLORER_ARTIFACTS is not set: "
                "set it to an s3://bucket/prefix URL (or a folder every replica shares) so that every "
                "replica can open every shared run. " + _SHARING_OFF
            )
        blob_setting = setting
    return Index(setting), Blobs(blob_setting)


def orphan_runs(index: Index, blobs: Blobs, min_age: float = 3600.0, now: float | None = None) -> list[str]:
    """Run ids whose files exist under runs/<id>/ but have no index row, all files older than `min_age`
    seconds: what a replica that died mid-save (or mid-delete) left behind. The age keeps a save in
    progress on another replica (blobs written, row not yet) out of the list."""
    now = time.time() if now is None else now
    newest: dict[str, float] = {}
    for info in blobs.entries("runs/"):
        run_id = info.key.split("/")[1]
        newest[run_id] = max(newest.get(run_id, 0.0), info.modified)
    known = index.run_ids()
    return sorted(r for r, t in newest.items() if r not in known and now - t > min_age)
