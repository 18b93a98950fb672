"""The run store: trained runs persisted for share links (SQLite index + one folder per run).

Layout under the store root (env EXPLORER_RUN_STORE, default ~/.local/share/ai-scenario-explorer):
    index.sqlite                  runs: id, page, created, dataset hash/name/rows, columns, settings, metrics
    datasets/<sha256>.csv.gz      each analyst dataset once, by content hash (runs on one upload share it)
    runs/<id>/model.safetensors   weights + plain JSON (engine.artifacts) — never a pickle
    runs/<id>/<table>.parquet     result tables

Run ids are 128-bit random, URL-safe, and checked against their format before any path is
built from them. Writes go to a temporary folder first and are renamed into place; SQLite runs
in WAL mode with a busy timeout, so several sessions can save at once. Retention keeps at most
EXPLORER_MAX_RUNS runs and EXPLORER_STORE_MAX_MB megabytes, removing the oldest first.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sqlite3
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from engine.data import DataError, Table, load_table

_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")  # secrets.token_urlsafe(16): 128 bits


class UnknownRun(DataError):
    """A share link whose run is malformed, unknown or cleaned up."""


def default_root() -> Path:
    env = os.environ.get("EXPLORER_RUN_STORE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "ai-scenario-explorer"


@dataclass
class Run:
    id: str
    page: str
    created: float
    dataset_name: str
    dataset_hash: str
    n_rows: int
    columns: dict[str, Any]
    settings: dict[str, Any]
    metrics: dict[str, Any]
    model: bytes = b""
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    _root: Path | None = None

    def dataset(self) -> Table:
        """The analyst's dataset as it was when the run was trained."""
        path = self._root / "datasets" / f"{self.dataset_hash}.csv.gz"
        if not path.exists():
            raise UnknownRun("The data of this shared run has been cleaned up. Ask the sender to train and share it again.")
        table = load_table(path, self.dataset_name)
        table.fingerprint = self.dataset_hash
        return table


class RunStore:
    def __init__(self, root: str | Path | None = None, max_runs: int | None = None, max_mb: float | None = None):
        self.root = Path(root) if root is not None else default_root()
        self.max_runs = max_runs if max_runs is not None else int(os.environ.get("EXPLORER_MAX_RUNS", "500"))
        self.max_bytes = int((max_mb if max_mb is not None else float(os.environ.get("EXPLORER_STORE_MAX_MB", "2048"))) * 2**20)
        (self.root / "runs").mkdir(parents=True, exist_ok=True)
        (self.root / "datasets").mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                """CREATE TABLE IF NOT EXISTS runs (
                    id TEXT PRIMARY KEY, page TEXT NOT NULL, created REAL NOT NULL,
                    dataset_hash TEXT NOT NULL, dataset_name TEXT NOT NULL, n_rows INTEGER NOT NULL,
                    columns TEXT NOT NULL, settings TEXT NOT NULL, metrics TEXT NOT NULL, size_bytes INTEGER NOT NULL)"""
            )
            db.execute("CREATE INDEX IF NOT EXISTS runs_created ON runs(created)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.root / "index.sqlite", timeout=30)

    # ------------------------------------------------------------------------- save
    def save(
        self,
        page: str,
        model: bytes,
        table: Table,
        columns: dict[str, Any],
        settings: dict[str, Any],
        metrics: dict[str, Any],
        tables: dict[str, pd.DataFrame] | None = None,
    ) -> str:
        """Persist a trained run; returns its id (for `?run=<id>`)."""
        run_id = secrets.token_urlsafe(16)
        data_path = self.root / "datasets" / f"{table.fingerprint}.csv.gz"
        if not re.fullmatch(r"[0-9a-f]{64}", table.fingerprint):
            raise ValueError("table fingerprint must be a sha256 hex digest")
        if not data_path.exists():
            with tempfile.NamedTemporaryFile(dir=self.root / "datasets", suffix=".tmp", delete=False) as tmp:
                table.df.to_csv(tmp.name, index=False, compression="gzip")
            os.replace(tmp.name, data_path)
        staging = Path(tempfile.mkdtemp(dir=self.root / "runs", prefix=".tmp-"))
        (staging / "model.safetensors").write_bytes(model)
        for name, frame in (tables or {}).items():
            if not re.fullmatch(r"[a-z0-9_]{1,40}", name):
                raise ValueError(f"bad table name {name!r}")
            frame.to_parquet(staging / f"{name}.parquet", index=False)
        size = sum(p.stat().st_size for p in staging.iterdir())
        os.replace(staging, self.root / "runs" / run_id)
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?)",
                (run_id, page, time.time(), table.fingerprint, table.name, len(table.df),
                 json.dumps(columns, default=str), json.dumps(settings, default=str), json.dumps(metrics, default=str), size),
            )
        self.enforce_retention()
        return run_id

    # ------------------------------------------------------------------------- load
    def load(self, run_id: str, page: str | None = None) -> Run:
        """The run behind a share link; UnknownRun (a sentence) when it is not there."""
        if not isinstance(run_id, str) or not _ID.fullmatch(run_id):
            raise UnknownRun("This share link is not valid (the run id is malformed). Check that the whole link was copied.")
        with closing(self._connect()) as db:
            row = db.execute(
                "SELECT id, page, created, dataset_name, dataset_hash, n_rows, columns, settings, metrics FROM runs WHERE id=?",
                (run_id,),
            ).fetchone()
        folder = self.root / "runs" / run_id
        if row is None or not (folder / "model.safetensors").exists():
            raise UnknownRun("This shared run does not exist any more (it may have been cleaned up). "
                             "Ask the sender to train and share it again; the page below works as usual.")
        if page is not None and row[1] != page:
            raise UnknownRun(f"This share link belongs to the {row[1]} page, not this one. Open it there.")
        tables = {p.stem: pd.read_parquet(p) for p in folder.glob("*.parquet")}
        return Run(
            id=row[0], page=row[1], created=row[2], dataset_name=row[3], dataset_hash=row[4], n_rows=row[5],
            columns=json.loads(row[6]), settings=json.loads(row[7]), metrics=json.loads(row[8]),
            model=(folder / "model.safetensors").read_bytes(), tables=tables, _root=self.root,
        )

    def list(self, page: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        q = "SELECT id, page, created, dataset_name, n_rows, metrics FROM runs"
        args: tuple = ()
        if page:
            q, args = q + " WHERE page=?", (page,)
        with closing(self._connect()) as db:
            rows = db.execute(q + " ORDER BY created DESC LIMIT ?", (*args, limit)).fetchall()
        return [dict(id=r[0], page=r[1], created=r[2], dataset_name=r[3], n_rows=r[4], metrics=json.loads(r[5])) for r in rows]

    # ------------------------------------------------------------------------- retention
    def _dataset_bytes(self) -> int:
        return sum(p.stat().st_size for p in (self.root / "datasets").glob("*.csv.gz"))

    def enforce_retention(self) -> list[str]:
        """Remove the oldest runs beyond the run-count and size limits; then unreferenced datasets."""
        removed: list[str] = []
        with closing(self._connect()) as db:
            rows = db.execute("SELECT id, size_bytes FROM runs ORDER BY created ASC").fetchall()
        remaining = dict(rows)
        for run_id, _ in rows:
            if len(remaining) <= self.max_runs and sum(remaining.values()) + self._dataset_bytes() <= self.max_bytes:
                break
            self.delete(run_id)
            removed.append(run_id)
            del remaining[run_id]
        return removed

    def delete(self, run_id: str) -> None:
        if not _ID.fullmatch(run_id):
            raise UnknownRun("malformed run id")
        with closing(self._connect()) as db, db:
            db.execute("DELETE FROM runs WHERE id=?", (run_id,))
            used = {r[0] for r in db.execute("SELECT DISTINCT dataset_hash FROM runs")}
        shutil.rmtree(self.root / "runs" / run_id, ignore_errors=True)
        now = time.time()
        for path in (self.root / "datasets").glob("*.csv.gz"):
            # a dataset written in the last minute may belong to a run being saved right now
            if path.name.removesuffix(".csv.gz") not in used and now - path.stat().st_mtime > 60:
                path.unlink(missing_ok=True)
