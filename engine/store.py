"""The run store: runs an analyst chose to share, on the back ends of engine/backends/.

Nothing is written here by training: a run arrives only when the analyst presses **Create share
link** (ui/share.py calls `RunStore.save`). Every run expires after EXPLORER_RUN_TTL_DAYS (default
30), and its creator can delete it at any time.

Where runs are kept (one code path for all of them, see engine/backends/):
    EXPLORER_RUN_STORE   a folder (default ~/.local/share/ai-scenario-explorer, SQLite `index.sqlite`
                         inside) or postgresql://user:password@host:5432/database
    EXPLORER_ARTIFACTS   a folder (default: the run-store folder) or s3://bucket/prefix
Blob keys (a folder keeps exactly the layout of earlier versions, so old stores open unchanged):
    datasets/<sha256>.csv.gz      each analyst dataset once, by content hash (runs on one upload share it)
    runs/<id>/model.safetensors   weights + plain JSON (engine.artifacts) — never a pickle
    runs/<id>/<table>.parquet     result tables
The index has the table `runs` (id, page, created, dataset hash/name/rows, columns, settings, metrics,
owner, visibility, expires) and the tombstones `deleted_runs` (id, page, removed, reason).

Run ids are 128-bit random, URL-safe, and checked against their format before any key or query is
built from them. Save: the run's blobs first, its index row last, so no replica ever finds a
half-written run. A dataset blob is put in place or removed only under the store-wide lock
(`Index.locked()`: SQLite's write lock, a PostgreSQL advisory lock), so a delete on one replica
never removes the dataset of a run being saved on another. Retention is per owner: each signed-in
analyst keeps at most EXPLORER_MAX_RUNS_PER_OWNER runs (50) and EXPLORER_OWNER_MAX_MB megabytes (256),
their own oldest removed first; beyond the store's EXPLORER_MAX_RUNS runs (500) and
EXPLORER_STORE_MAX_MB megabytes (2048), the oldest run of whoever holds the most goes first, so one
analyst creating many links never removes another's. Runs made while signed out share one owner
(nobody). Expiry, retention and delete are the same statements on every back end; on SQLite a delete
leaves no copy of the row in the database file or its WAL (`secure_delete`, then a checkpoint).

A store written by an earlier version is migrated in place when opened (engine/backends/schema.py): its
runs become "anyone with the link" runs expiring TTL days after creation.

An unreachable database or bucket raises `StoreUnavailable` (a DataError with a sentence).
"""

from __future__ import annotations

import builtins
import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import re
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

import pandas as pd
import sqlalchemy as sa

from engine.backends import (
    Blobs,
    Index,
    StoreUnavailable,
    _is_database_url,
    default_folder,
    delete_row,
    deleted_runs,
    open_backends,
    orphan_runs,
    runs,
)
from engine.data import DataError, Table, load_table

__all__ = [
    "RunStore",
    "Run",
    "UnknownRun",
    "NotAllowed",
    "SignInRequired",
    "StoreUnavailable",
    "check_access",
    "check_delete",
    "is_run_id",
    "run_ref",
    "store_kind",
    "LINK",
    "SIGNED_IN",
    "OWNER_ONLY",
    "VISIBILITIES",
]

_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")  # secrets.token_urlsafe(16): 128 bits
DAY = 86_400.0

# Who may open a run's link.
Visibility = Literal["link", "signed_in", "owner"]
LINK: Visibility = "link"  # anyone with the link (the only choice when sign-in is off)
SIGNED_IN: Visibility = "signed_in"  # anyone signed in to this app
OWNER_ONLY: Visibility = "owner"  # only the analyst who created it
VISIBILITIES: tuple[Visibility, ...] = (LINK, SIGNED_IN, OWNER_ONLY)

# Why a run left the store (kept as a tombstone so its link can say so).
DELETED, EXPIRED, RETENTION = "deleted", "expired", "retention"


class UnknownRun(DataError):
    """A share link whose run is malformed, unknown, deleted, expired or cleaned up."""


class NotAllowed(DataError):
    """A viewer who may not see (or delete) this run; the message says why, never what is in it."""


class SignInRequired(NotAllowed):
    """The run is for signed-in people and the viewer is not signed in."""


def is_run_id(value: object) -> bool:
    """Whether `value` has the shape of a run id (checked before any path or query is built from it)."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def store_kind(root: str | Path | None = None, artifacts: str | None = None) -> str:
    """The kind of store runs are kept in, for pages every visitor sees ("the shared store (PostgreSQL + S3)"):
    never its host, bucket or folder (those are for the operator: `RunStore.describe`, the server log)."""
    setting = str(root) if root is not None else os.environ.get("EXPLORER_RUN_STORE") or str(default_folder())
    files = artifacts if artifacts is not None else os.environ.get("EXPLORER_ARTIFACTS") or ""
    protocol = files.split("://", 1)[0].lower() if "://" in files else "file"
    files_kind = {"s3": "S3", "s3a": "S3", "file": "files on this server"}.get(protocol, protocol)
    if _is_database_url(setting):
        return f"the shared store (PostgreSQL + {files_kind})"
    return f"this server's own store (SQLite + {files_kind})"


def run_ref(run_id: object) -> str:
    """What logs call a run: a short hash of its id, never the id (an id is the secret of an "anyone with the
    link" run; the hash still lets an operator match log lines to one run)."""
    return "r:" + hashlib.sha256(str(run_id).encode()).hexdigest()[:10]


def default_root() -> Path:
    """The embedded store's folder (EXPLORER_RUN_STORE when it is a folder, else the XDG data dir)."""
    return default_folder()


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
        raise NotAllowed(
            "The analyst who created this link kept it to themselves, so it cannot be shown to you. "
            "Ask them to create a link for anyone signed in to this app."
        )


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
    _read: Callable[[str], bytes] | None = None  # the store's blob reader

    def dataset(self) -> Table:
        """The analyst's dataset as it was when the run was trained."""
        try:
            raw = self._read(_dataset_key(self.dataset_hash)) if self._read else None
        except FileNotFoundError:
            raw = None
        if raw is None:
            raise UnknownRun(
                "The data of this shared run has been removed. Ask the sender to train and share it again."
            )
        table = load_table(raw, self.dataset_name)
        table.fingerprint = self.dataset_hash
        return table


def _dataset_key(sha: str) -> str:
    return f"datasets/{sha}.csv.gz"


def _gzip_csv(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_csv(buf, index=False, compression={"method": "gzip", "mtime": 0})
    return buf.getvalue()


class RunStore:
    """Shared runs: save, open (with the access rules), list, delete, expire, retain."""

    def __init__(
        self,
        root: str | Path | None = None,
        max_runs: int | None = None,
        max_mb: float | None = None,
        ttl_days: float | None = None,
        artifacts: str | None = None,
        owner_max_runs: int | None = None,
        owner_max_mb: float | None = None,
    ):
        """`root`: a folder or a postgresql:// URL (default EXPLORER_RUN_STORE); `artifacts`: a folder or
        s3:// URL (default EXPLORER_ARTIFACTS, else the folder itself). StoreUnavailable when unreachable."""
        setting = str(root) if root is not None else os.environ.get("EXPLORER_RUN_STORE") or str(default_folder())
        self.ttl_days = ttl_days if ttl_days is not None else default_ttl_days()
        self.max_runs = max_runs if max_runs is not None else int(os.environ.get("EXPLORER_MAX_RUNS", "500"))
        self.max_bytes = int(
            (max_mb if max_mb is not None else float(os.environ.get("EXPLORER_STORE_MAX_MB", "2048"))) * 2**20
        )
        self.owner_max_runs = (
            owner_max_runs if owner_max_runs is not None else int(os.environ.get("EXPLORER_MAX_RUNS_PER_OWNER", "50"))
        )
        self.owner_max_bytes = int(
            (owner_max_mb if owner_max_mb is not None else float(os.environ.get("EXPLORER_OWNER_MAX_MB", "256")))
            * 2**20
        )
        # the embedded store's folder (today's layout lives under it); None with a database URL
        self.root: Path | None = None if _is_database_url(setting) else Path(setting).expanduser()
        self.index: Index
        self.blobs: Blobs
        self.index, self.blobs = open_backends(setting, artifacts)
        with self.index.write() as conn:  # runs of an earlier version: "anyone with the link", TTL from creation
            conn.execute(
                runs.update().where(runs.c.expires.is_(None)).values(expires=runs.c.created + self.ttl_days * DAY)
            )
            conn.execute(runs.update().where(runs.c.visibility.is_(None)).values(visibility=LINK))
        self.purge_expired()
        for run_id in orphan_runs(self.index, self.blobs):  # files a replica left when it died mid-save
            self.blobs.delete_prefix(f"runs/{run_id}/")

    def describe(self) -> str:
        """Where runs are kept, for the home page's health line (never a password)."""
        return f"Runs are kept in {self.index.describe()}, their files in {self.blobs.describe()}."

    def check(self) -> None:
        """StoreUnavailable (a sentence) unless the database and the files answer now."""
        self.index.check()
        self.blobs.check()

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
        visibilities need an owner. The run expires `ttl_days` from now. Blobs first, row last.
        """
        if visibility not in VISIBILITIES:
            raise ValueError(f"visibility must be one of {VISIBILITIES}")
        if visibility != LINK and not owner:
            raise ValueError("only a signed-in analyst can limit who sees a link")
        if not re.fullmatch(r"[0-9a-f]{64}", table.fingerprint):
            raise ValueError("table fingerprint must be a sha256 hex digest")
        for name in tables or {}:
            if not re.fullmatch(r"[a-z0-9_]{1,40}", name):
                raise ValueError(f"bad table name {name!r}")
        run_id = secrets.token_urlsafe(16)
        prefix = f"runs/{run_id}/"
        data_key = _dataset_key(table.fingerprint)
        try:
            self.blobs.put(prefix + "model.safetensors", model)
            size = len(model)
            for name, frame in (tables or {}).items():
                buf = io.BytesIO()
                frame.to_parquet(buf, index=False)
                self.blobs.put(f"{prefix}{name}.parquet", buf.getvalue())
                size += buf.tell()
            data = None if self.blobs.exists(data_key) else _gzip_csv(table.df)  # prepared outside the lock
            now = time.time()
            with self.index.locked() as conn:
                if not self.blobs.exists(data_key):  # checked again under the lock: a delete may have removed it
                    self.blobs.put(data_key, data if data is not None else _gzip_csv(table.df))
                conn.execute(
                    runs.insert().values(
                        id=run_id,
                        page=page,
                        created=now,
                        dataset_hash=table.fingerprint,
                        dataset_name=table.name,
                        n_rows=len(table.df),
                        columns=json.dumps(columns, default=str),
                        settings=json.dumps(settings, default=str),
                        metrics=json.dumps(metrics, default=str),
                        size_bytes=size,
                        owner=owner,
                        visibility=visibility,
                        expires=now + self.ttl_days * DAY,
                    )
                )
        except BaseException:
            with contextlib.suppress(Exception):  # no row was written: leave no files either
                self.blobs.delete_prefix(prefix)
            raise
        self.purge_expired()
        self.enforce_retention(owner)
        return run_id

    # ------------------------------------------------------------------------- load
    def _gone(self, run_id: str) -> UnknownRun:
        """The sentence for a link whose run is not in the index."""
        with self.index.read() as conn:
            tomb = conn.execute(
                sa.select(deleted_runs.c.removed, deleted_runs.c.reason).where(deleted_runs.c.id == run_id)
            ).first()
        if tomb is None:
            return UnknownRun(
                "This shared run does not exist (check that the whole link was copied). The page below works as usual."
            )
        when, reason = tomb
        if reason == DELETED:
            return UnknownRun(
                f"This shared run was deleted by the analyst who created it ({_day(when)}). "
                "Ask them to train and share it again if you still need it."
            )
        if reason == EXPIRED:
            return UnknownRun(
                f"This shared run expired on {_day(when)}: runs are kept for {self.ttl_days:g} days. "
                "Ask the sender to train and share it again."
            )
        return UnknownRun(
            f"This shared run was cleaned up on {_day(when)} to make room for newer runs. "
            "Ask the sender to train and share it again."
        )

    def info(self, run_id: str) -> Run:
        """A run's index entry (no files read, no access check); UnknownRun when it is not there."""
        if not is_run_id(run_id):
            raise UnknownRun(
                "This share link is not valid (the run id is malformed). Check that the whole link was copied."
            )
        with self.index.read() as conn:
            row = conn.execute(sa.select(runs).where(runs.c.id == run_id)).mappings().first()
        if row is not None and row["expires"] is not None and row["expires"] <= time.time():
            self.purge_expired()
            row = None
        if row is None:
            raise self._gone(run_id)
        return Run(
            id=row["id"],
            page=row["page"],
            created=row["created"],
            dataset_name=row["dataset_name"],
            dataset_hash=row["dataset_hash"],
            n_rows=row["n_rows"],
            columns=json.loads(row["columns"]),
            settings=json.loads(row["settings"]),
            metrics=json.loads(row["metrics"]),
            owner=row["owner"],
            visibility=row["visibility"] or LINK,
            expires=row["expires"],
            _read=self.blobs.get,
        )

    def load(self, run_id: str, page: str | None = None, viewer: str | None = None) -> Run:
        """The run behind a share link, if `viewer` may see it.

        UnknownRun (a sentence) when it is malformed, unknown, deleted, expired or on another page;
        NotAllowed / SignInRequired when this viewer may not see it. No data is read before the checks.
        """
        run = self.info(run_id)
        if page is not None and run.page != page:
            raise UnknownRun(f"This share link belongs to the {run.page} page, not this one. Open it there.")
        check_access(run.owner, run.visibility, viewer)
        try:
            run.model = self.blobs.get(f"runs/{run.id}/model.safetensors")
        except FileNotFoundError:
            raise self._gone(run_id) from None
        run.tables = {
            key.rsplit("/", 1)[1][: -len(".parquet")]: pd.read_parquet(io.BytesIO(self.blobs.get(key)))
            for key in self.blobs.keys(f"runs/{run.id}/")
            if key.endswith(".parquet")
        }
        return run

    def list(
        self, page: str | None = None, limit: int = 50, owner: str | None = None, ids: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """Runs newest first: all, or one page's, or one owner's, or those with the given ids."""
        query = (
            sa.select(
                runs.c.id,
                runs.c.page,
                runs.c.created,
                runs.c.dataset_name,
                runs.c.n_rows,
                runs.c.metrics,
                runs.c.owner,
                runs.c.visibility,
                runs.c.expires,
            )
            .where(runs.c.expires > time.time())
            .order_by(runs.c.created.desc(), runs.c.id)
            .limit(limit)
        )
        if page:
            query = query.where(runs.c.page == page)
        if owner is not None:
            query = query.where(runs.c.owner == owner)
        if ids is not None:
            query = query.where(runs.c.id.in_([i for i in ids if is_run_id(i)][:500]))
        with self.index.read() as conn:
            rows = conn.execute(query).mappings().all()
        return [dict(r, metrics=json.loads(r["metrics"]), visibility=r["visibility"] or LINK) for r in rows]

    # ------------------------------------------------------------------------- removal
    def delete(self, run_id: str, requester: str | None = None, reason: str = DELETED) -> None:
        """Remove a run: its index row first, then its files, and its dataset when no other run uses it.

        With reason "deleted" (an analyst's action) the requester must be allowed (`check_delete`).
        A tombstone remains so the link can say what happened.
        """
        if not is_run_id(run_id):
            raise UnknownRun("This share link is not valid (the run id is malformed).")
        with self.index.locked() as conn:
            row = conn.execute(sa.select(runs.c.dataset_hash, runs.c.owner).where(runs.c.id == run_id)).first()
            if row is not None:
                if reason == DELETED:
                    check_delete(row.owner, requester)
                delete_row(conn, run_id, time.time(), reason)
                if (
                    conn.execute(sa.select(runs.c.id).where(runs.c.dataset_hash == row.dataset_hash).limit(1)).first()
                    is None
                ):
                    self.blobs.delete(_dataset_key(row.dataset_hash))
        if row is None:
            raise self._gone(run_id) if reason == DELETED else UnknownRun("already removed")
        self.blobs.delete_prefix(f"runs/{run_id}/")  # no replica serves the run any more: its files can go
        self.index.forget_deleted()

    def purge_expired(self, now: float | None = None) -> builtins.list[str]:  # builtins: `list` is a method here
        """Remove every run past its expiry date; returns their ids. Tombstones are kept a year."""
        now = time.time() if now is None else now
        with self.index.write() as conn:
            ids = list(
                conn.execute(sa.select(runs.c.id).where(runs.c.expires <= now).order_by(runs.c.expires)).scalars()
            )
            conn.execute(deleted_runs.delete().where(deleted_runs.c.removed < now - 365 * DAY))
        for run_id in ids:
            try:
                self.delete(run_id, reason=EXPIRED)
            except UnknownRun:  # another process removed it first
                pass
        return ids

    def enforce_retention(self, owner: str | None = None) -> builtins.list[str]:
        """Remove runs beyond the limits; returns their ids (their datasets go with the last user).

        First `owner`'s own oldest runs beyond the per-owner quota (a signed-in analyst who just saved one), then,
        while the store is over its run-count or size limit, the oldest run of whoever holds the most runs: an
        analyst's links are removed to make room only when nobody holds more than they do."""
        removed: list[str] = []

        def remove(run_id: str) -> None:
            try:
                self.delete(run_id, reason=RETENTION)
            except UnknownRun:
                pass
            removed.append(run_id)

        rows = self.index.holdings()
        if owner is not None:
            mine = [(run_id, size) for run_id, size, o in rows if o == owner]
            while mine and (len(mine) > self.owner_max_runs or sum(size for _, size in mine) > self.owner_max_bytes):
                remove(mine.pop(0)[0])
        remaining = [r for r in rows if r[0] not in removed]
        data_bytes = self.blobs.total_size("datasets/")
        while remaining and (
            len(remaining) > self.max_runs or sum(r[1] for r in remaining) + data_bytes > self.max_bytes
        ):
            held = Counter(o for _, _, o in remaining)
            most = max(held.values())
            victim = next(r for r in remaining if held[r[2]] == most)  # the oldest run of the largest holder
            remove(victim[0])
            remaining.remove(victim)
            data_bytes = self.blobs.total_size("datasets/")
        return removed
