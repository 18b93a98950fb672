"""The run store: runs an analyst chose to share (SQLite index + one folder per run).

Nothing is written here by training: a run arrives only when the analyst presses **Create share
link** (ui/share.py calls `RunStore.save`). Every run expires after EXPLORER_RUN_TTL_DAYS (default
30), and its creator can delete it at any time.

Layout under the store root (env EXPLORER_RUN_STORE, default ~/.local/share/ai-scenario-explorer):
    index.sqlite                  runs: id, page, created, dataset hash/name/rows, columns, settings, metrics,
                                  owner, visibility, expires; deleted_runs: tombstones (id, page, when, why)
    datasets/<sha256>.csv.gz      each analyst dataset once, by content hash (runs on one upload share it)
    runs/<id>/model.safetensors   weights + plain JSON (engine.artifacts) — never a pickle
    runs/<id>/<table>.parquet     result tables

Run ids are 128-bit random, URL-safe, and checked against their format before any path is
built from them. Writes go to a temporary folder first and are renamed into place; SQLite runs
in WAL mode with a busy timeout, so several sessions can save at once. A dataset file is put in
place or removed only while holding SQLite's write lock, so a delete never removes the dataset of
a run being saved at the same moment. Retention keeps at most EXPLORER_MAX_RUNS runs and
EXPLORER_STORE_MAX_MB megabytes, removing the oldest first.

A store written by the previous version (no owner / visibility / expires columns) is migrated in
place when opened: its runs become "anyone with the link" runs expiring TTL days after creation.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from engine.data import DataError, Table, load_table

_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")  # secrets.token_urlsafe(16): 128 bits
DAY = 86_400.0

# Who may open a run's link.
Visibility = Literal["link", "signed_in", "owner"]
LINK: Visibility = "link"            # anyone with the link (the only choice when sign-in is off)
SIGNED_IN: Visibility = "signed_in"  # anyone signed in to this app
OWNER_ONLY: Visibility = "owner"     # only the analyst who created it
VISIBILITIES: tuple[Visibility, ...] = (LINK, SIGNED_IN, OWNER_ONLY)

# Why a run left the store (kept as a tombstone so its link can say so).
DELETED, EXPIRED, RETENTION = "deleted", "expired", "retention"

_COLUMNS_ADDED = {  # columns this version added to the runs table, with their definitions
    "owner": "TEXT",
    "visibility": f"TEXT NOT NULL DEFAULT '{LINK}'",
    "expires": "REAL",
}


class UnknownRun(DataError):
    """A share link whose run is malformed, unknown, deleted, expired or cleaned up."""


class NotAllowed(DataError):
    """A viewer who may not see (or delete) this run; the message says why, never what is in it."""


class SignInRequired(NotAllowed):
    """The run is for signed-in people and the viewer is not signed in."""


def is_run_id(value: object) -> bool:
    """Whether `value` has the shape of a run id (checked before any path or query is built from it)."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def default_root() -> Path:
    env = os.environ.get("EXPLORER_RUN_STORE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "ai-scenario-explorer"


def default_ttl_days() -> float:
    """Days a shared run is kept (EXPLORER_RUN_TTL_DAYS, default 30)."""
    raw = os.environ.get("EXPLORER_RUN_TTL_DAYS", "30")
    try:
        days = float(raw)
    except ValueError:
        days = float("nan")
    if not days > 0:
        raise ValueError(f"EXPLORER_RUN_TTL_DAYS must be a positive number of days, not {raw!r}")
    return days


def _day(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%d %b %Y")


# ----------------------------------------------------------------------------- the rules
def check_access(owner: str | None, visibility: str, viewer: str | None) -> None:
    """Raise NotAllowed / SignInRequired unless `viewer` (an owner id, None when signed out) may open the run.

    "link": anyone with the link. "signed_in": anyone signed in. "owner": only its creator.
    Unknown visibilities are treated as "owner" (closed, not open, when in doubt).
    """
    if visibility == LINK:
        return
    if viewer is None:
        raise SignInRequired("This shared run is only for people signed in to this app. Sign in to see it.")
    if visibility == SIGNED_IN:
        return
    if viewer != owner:
        raise NotAllowed("The analyst who created this link kept it to themselves, so it cannot be shown to you. "
                         "Ask them to create a link for anyone signed in to this app.")


def check_delete(owner: str | None, requester: str | None) -> None:
    """Raise NotAllowed unless `requester` may delete a run created by `owner`.

    A run with an owner can be deleted by that owner only. A run created while signed out has no
    owner; the app offers its delete button only in the browser session that created it.
    """
    if owner is not None and requester != owner:
        raise NotAllowed("Only the analyst who created this link can delete it.")


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
    owner: str | None = None
    visibility: str = LINK
    expires: float | None = None
    model: bytes = b""
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    _root: Path | None = None

    def dataset(self) -> Table:
        """The analyst's dataset as it was when the run was trained."""
        path = self._root / "datasets" / f"{self.dataset_hash}.csv.gz"
        if not path.exists():
            raise UnknownRun("The data of this shared run has been removed. Ask the sender to train and share it again.")
        table = load_table(path, self.dataset_name)
        table.fingerprint = self.dataset_hash
        return table


_RUN_FIELDS = "id, page, created, dataset_name, dataset_hash, n_rows, columns, settings, metrics, owner, visibility, expires"


class RunStore:
    def __init__(self, root: str | Path | None = None, max_runs: int | None = None, max_mb: float | None = None,
                 ttl_days: float | None = None):
        self.root = Path(root) if root is not None else default_root()
        self.max_runs = max_runs if max_runs is not None else int(os.environ.get("EXPLORER_MAX_RUNS", "500"))
        self.max_bytes = int((max_mb if max_mb is not None else float(os.environ.get("EXPLORER_STORE_MAX_MB", "2048"))) * 2**20)
        self.ttl_days = ttl_days if ttl_days is not None else default_ttl_days()
        (self.root / "runs").mkdir(parents=True, exist_ok=True)
        (self.root / "datasets").mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db:
            db.execute("PRAGMA journal_mode=WAL")
        with self._write_lock() as db:
            db.execute(
                """CREATE TABLE IF NOT EXISTS runs (
                    id TEXT PRIMARY KEY, page TEXT NOT NULL, created REAL NOT NULL,
                    dataset_hash TEXT NOT NULL, dataset_name TEXT NOT NULL, n_rows INTEGER NOT NULL,
                    columns TEXT NOT NULL, settings TEXT NOT NULL, metrics TEXT NOT NULL, size_bytes INTEGER NOT NULL)"""
            )
            self._migrate(db)
            db.execute("CREATE INDEX IF NOT EXISTS runs_created ON runs(created)")
            db.execute("CREATE INDEX IF NOT EXISTS runs_owner ON runs(owner)")
            db.execute("CREATE INDEX IF NOT EXISTS runs_expires ON runs(expires)")
            db.execute("CREATE TABLE IF NOT EXISTS deleted_runs (id TEXT PRIMARY KEY, page TEXT NOT NULL, "
                       "removed REAL NOT NULL, reason TEXT NOT NULL)")
        self.purge_expired()

    def _migrate(self, db: sqlite3.Connection) -> None:
        """Add the columns a store written by the previous version lacks; never drops anything."""
        have = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
        for name, definition in _COLUMNS_ADDED.items():
            if name not in have:
                db.execute(f"ALTER TABLE runs ADD COLUMN {name} {definition}")
        db.execute("UPDATE runs SET expires = created + ? WHERE expires IS NULL", (self.ttl_days * DAY,))

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.root / "index.sqlite", timeout=30)

    @contextmanager
    def _write_lock(self) -> Iterator[sqlite3.Connection]:
        """A transaction holding SQLite's write lock: file moves inside it cannot interleave with another's."""
        db = sqlite3.connect(self.root / "index.sqlite", timeout=30, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()

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
        owner: str | None = None,
        visibility: Visibility = LINK,
    ) -> str:
        """Store a run the analyst chose to share; returns its id (for `?run=<id>`).

        `owner` is the signed-in analyst's id (None when sign-in is off); "signed_in" and "owner"
        visibilities need an owner. The run expires `ttl_days` from now.
        """
        if visibility not in VISIBILITIES:
            raise ValueError(f"visibility must be one of {VISIBILITIES}")
        if visibility != LINK and not owner:
            raise ValueError("only a signed-in analyst can limit who sees a link")
        if not re.fullmatch(r"[0-9a-f]{64}", table.fingerprint):
            raise ValueError("table fingerprint must be a sha256 hex digest")
        run_id = secrets.token_urlsafe(16)
        data_path = self.root / "datasets" / f"{table.fingerprint}.csv.gz"
        data_tmp = None
        if not data_path.exists():
            with tempfile.NamedTemporaryFile(dir=self.root / "datasets", suffix=".tmp", delete=False) as tmp:
                table.df.to_csv(tmp.name, index=False, compression="gzip")
            data_tmp = Path(tmp.name)
        staging = Path(tempfile.mkdtemp(dir=self.root / "runs", prefix=".tmp-"))
        try:
            (staging / "model.safetensors").write_bytes(model)
            for name, frame in (tables or {}).items():
                if not re.fullmatch(r"[a-z0-9_]{1,40}", name):
                    raise ValueError(f"bad table name {name!r}")
                frame.to_parquet(staging / f"{name}.parquet", index=False)
            size = sum(p.stat().st_size for p in staging.iterdir())
            now = time.time()
            with self._write_lock() as db:
                if not data_path.exists():
                    if data_tmp is None:  # removed since we looked: write it again, under the lock
                        table.df.to_csv(data_path, index=False, compression="gzip")
                    else:
                        os.replace(data_tmp, data_path)
                        data_tmp = None
                os.replace(staging, self.root / "runs" / run_id)
                db.execute(
                    f"INSERT INTO runs (size_bytes, {_RUN_FIELDS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (size, run_id, page, now, table.name, table.fingerprint, len(table.df),
                     json.dumps(columns, default=str), json.dumps(settings, default=str), json.dumps(metrics, default=str),
                     owner, visibility, now + self.ttl_days * DAY),
                )
        finally:
            if data_tmp is not None:
                data_tmp.unlink(missing_ok=True)
            shutil.rmtree(staging, ignore_errors=True)
        self.purge_expired()
        self.enforce_retention()
        return run_id

    # ------------------------------------------------------------------------- load
    def _row(self, run_id: str) -> tuple | None:
        with closing(self._connect()) as db:
            return db.execute(f"SELECT {_RUN_FIELDS} FROM runs WHERE id=?", (run_id,)).fetchone()

    def _gone(self, run_id: str) -> UnknownRun:
        """The sentence for a link whose run is not in the index."""
        with closing(self._connect()) as db:
            tomb = db.execute("SELECT removed, reason FROM deleted_runs WHERE id=?", (run_id,)).fetchone()
        if tomb is None:
            return UnknownRun("This shared run does not exist (check that the whole link was copied). "
                              "The page below works as usual.")
        when, reason = tomb
        if reason == DELETED:
            return UnknownRun(f"This shared run was deleted by the analyst who created it ({_day(when)}). "
                              "Ask them to train and share it again if you still need it.")
        if reason == EXPIRED:
            return UnknownRun(f"This shared run expired on {_day(when)}: runs are kept for {self.ttl_days:g} days. "
                              "Ask the sender to train and share it again.")
        return UnknownRun(f"This shared run was cleaned up on {_day(when)} to make room for newer runs. "
                          "Ask the sender to train and share it again.")

    def info(self, run_id: str) -> Run:
        """A run's index entry (no files read, no access check); UnknownRun when it is not there."""
        if not isinstance(run_id, str) or not _ID.fullmatch(run_id):
            raise UnknownRun("This share link is not valid (the run id is malformed). Check that the whole link was copied.")
        row = self._row(run_id)
        if row is not None and row[11] is not None and row[11] <= time.time():
            self.purge_expired()
            row = None
        if row is None:
            raise self._gone(run_id)
        return Run(id=row[0], page=row[1], created=row[2], dataset_name=row[3], dataset_hash=row[4], n_rows=row[5],
                   columns=json.loads(row[6]), settings=json.loads(row[7]), metrics=json.loads(row[8]),
                   owner=row[9], visibility=row[10], expires=row[11], _root=self.root)

    def load(self, run_id: str, page: str | None = None, viewer: str | None = None) -> Run:
        """The run behind a share link, if `viewer` may see it.

        UnknownRun (a sentence) when it is malformed, unknown, deleted, expired or on another page;
        NotAllowed / SignInRequired when this viewer may not see it. No data is read before the checks.
        """
        run = self.info(run_id)
        folder = self.root / "runs" / run.id
        if not (folder / "model.safetensors").exists():
            raise self._gone(run_id)
        if page is not None and run.page != page:
            raise UnknownRun(f"This share link belongs to the {run.page} page, not this one. Open it there.")
        check_access(run.owner, run.visibility, viewer)
        run.model = (folder / "model.safetensors").read_bytes()
        run.tables = {p.stem: pd.read_parquet(p) for p in folder.glob("*.parquet")}
        return run

    def list(self, page: str | None = None, limit: int = 50, owner: str | None = None,
             ids: list[str] | None = None) -> list[dict[str, Any]]:
        """Runs newest first: all, or one page's, or one owner's, or those with the given ids."""
        q = "SELECT id, page, created, dataset_name, n_rows, metrics, owner, visibility, expires FROM runs WHERE expires > ?"
        args: list[Any] = [time.time()]
        if page:
            q += " AND page=?"
            args.append(page)
        if owner is not None:
            q += " AND owner=?"
            args.append(owner)
        if ids is not None:
            ids = [i for i in ids if isinstance(i, str) and _ID.fullmatch(i)][:500]
            q += f" AND id IN ({','.join('?' * len(ids))})"
            args.extend(ids)
        with closing(self._connect()) as db:
            rows = db.execute(q + " ORDER BY created DESC LIMIT ?", (*args, limit)).fetchall()
        return [dict(id=r[0], page=r[1], created=r[2], dataset_name=r[3], n_rows=r[4], metrics=json.loads(r[5]),
                     owner=r[6], visibility=r[7], expires=r[8]) for r in rows]

    # ------------------------------------------------------------------------- removal
    def delete(self, run_id: str, requester: str | None = None, reason: str = DELETED) -> None:
        """Remove a run: its folder, its index row, and its dataset when no other run uses it.

        With reason "deleted" (an analyst's action) the requester must be allowed (`check_delete`).
        A tombstone remains so the link can say what happened.
        """
        if not isinstance(run_id, str) or not _ID.fullmatch(run_id):
            raise UnknownRun("This share link is not valid (the run id is malformed).")
        with self._write_lock() as db:
            row = db.execute("SELECT page, dataset_hash, owner FROM runs WHERE id=?", (run_id,)).fetchone()
            if row is None:
                raise self._gone(run_id) if reason == DELETED else UnknownRun("already removed")
            page, data_hash, owner = row
            if reason == DELETED:
                check_delete(owner, requester)
            db.execute("DELETE FROM runs WHERE id=?", (run_id,))
            db.execute("INSERT OR REPLACE INTO deleted_runs VALUES (?,?,?,?)", (run_id, page, time.time(), reason))
            shutil.rmtree(self.root / "runs" / run_id, ignore_errors=True)
            if db.execute("SELECT 1 FROM runs WHERE dataset_hash=? LIMIT 1", (data_hash,)).fetchone() is None:
                (self.root / "datasets" / f"{data_hash}.csv.gz").unlink(missing_ok=True)

    def purge_expired(self, now: float | None = None) -> list[str]:
        """Remove every run past its expiry date; returns their ids."""
        now = time.time() if now is None else now
        with closing(self._connect()) as db:
            ids = [r[0] for r in db.execute("SELECT id FROM runs WHERE expires <= ?", (now,))]
            db.execute("DELETE FROM deleted_runs WHERE removed < ?", (now - 365 * DAY,))  # old tombstones
            db.commit()
        for run_id in ids:
            try:
                self.delete(run_id, reason=EXPIRED)
            except UnknownRun:  # another process removed it first
                pass
        return ids

    def _dataset_bytes(self) -> int:
        return sum(p.stat().st_size for p in (self.root / "datasets").glob("*.csv.gz"))

    def enforce_retention(self) -> list[str]:
        """Remove the oldest runs beyond the run-count and size limits (their datasets go with the last user)."""
        removed: list[str] = []
        with closing(self._connect()) as db:
            rows = db.execute("SELECT id, size_bytes FROM runs ORDER BY created ASC").fetchall()
        remaining = dict(rows)
        for run_id, _ in rows:
            if len(remaining) <= self.max_runs and sum(remaining.values()) + self._dataset_bytes() <= self.max_bytes:
                break
            try:
                self.delete(run_id, reason=RETENTION)
            except UnknownRun:
                pass
            removed.append(run_id)
            del remaining[run_id]
        return removed
