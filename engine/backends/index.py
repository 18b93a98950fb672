"""The index of runs: one code path on SQLite (engine/backends/sqlite.py) or PostgreSQL (engine/backends/postgres.py),
migrated to SCHEMA_VERSION on open, with the operations the store needs."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from engine.backends.base import _SHARING_OFF, CONNECT_TIMEOUT, StoreUnavailable, _is_database_url
from engine.backends.postgres import postgres_engine
from engine.backends.schema import (
    MIGRATIONS,
    SCHEMA_VERSION,
    _stored_version,
    delete_row,
    deleted_runs,
    runs,
    schema_version,
)
from engine.backends.sqlite import sqlite_engine


class Index:
    """The table of runs on SQLite or PostgreSQL: one code path, migrated to SCHEMA_VERSION on open."""

    def __init__(self, setting: str | Path, connect_timeout: float | None = None):
        timeout = CONNECT_TIMEOUT if connect_timeout is None else connect_timeout
        setting = str(setting)
        if _is_database_url(setting):
            self.kind = "postgresql"
            engine, self._where = postgres_engine(setting, timeout)
        else:
            self.kind = "sqlite"
            engine, self._where = sqlite_engine(setting)
        self.engine: Engine = engine
        self._migrate()

    def describe(self) -> str:
        """Where the index lives, in words, without credentials."""
        return self._where

    # -- transactions -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
            raise StoreUnavailable(
                f"The run store ({self._where}) cannot be reached: {_reason(exc)}. {_SHARING_OFF}"
            ) from exc
        except sa.exc.DBAPIError as exc:
            if exc.connection_invalidated:
                raise StoreUnavailable(
                    f"The connection to the run store ({self._where}) was lost. {_SHARING_OFF}"
                ) from exc
            raise

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection in one read transaction (for queries the helpers below do not cover)."""
        with self._errors(), self.engine.connect() as conn, conn.begin():
            yield conn

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """A connection in one write transaction; on SQLite it holds the write lock from the start."""
        with self._errors(), self.engine.connect() as conn:
            conn.execution_options(explorer_write=True)
            with conn.begin():
                yield conn

    def _migrate(self) -> None:
        with self.write() as conn:
            if self.kind == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(8424913510)"))  # one migrator at a time
            version = _stored_version(conn)
            if version > SCHEMA_VERSION:
                raise StoreUnavailable(
                    f"The run store ({self._where}) was written by a newer version of this app (schema {version}; "
                    f"this server knows up to {SCHEMA_VERSION}). Upgrade this server. {_SHARING_OFF}"
                )
            for step in MIGRATIONS[version:]:
                step(conn)
            if version < SCHEMA_VERSION:
                schema_version.create(conn, checkfirst=True)
                conn.execute(schema_version.delete())
                conn.execute(schema_version.insert().values(version=SCHEMA_VERSION))

    def schema_version(self) -> int:
        with self.read() as conn:
            return _stored_version(conn)

    def check(self) -> None:
        """Raise StoreUnavailable unless the database answers now."""
        with self.read() as conn:
            conn.execute(sa.text("SELECT 1"))

    # -- the operations the store needs ---------------------------------------------------------------
    def add_run(self, row: Mapping[str, Any]) -> None:
        """Insert one run's row. Call it LAST, after every blob of the run is written."""
        unknown = set(row) - set(runs.c.keys())
        if unknown:
            raise ValueError(f"unknown run columns {sorted(unknown)}")
        with self.write() as conn:
            conn.execute(runs.insert().values(**row))

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        with self.read() as conn:
            row = conn.execute(sa.select(runs).where(runs.c.id == run_id)).mappings().first()
        return dict(row) if row is not None else None

    def list_runs(self, page: str | None = None, owner: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Newest first, optionally one page's or one owner's."""
        query = sa.select(runs).order_by(runs.c.created.desc(), runs.c.id).limit(limit)
        if page is not None:
            query = query.where(runs.c.page == page)
        if owner is not None:
            query = query.where(runs.c.owner == owner)
        with self.read() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def count(self) -> int:
        with self.read() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(runs)).scalar_one()

    def oldest_first(self) -> list[tuple[str, int]]:
        """(id, size_bytes) of every run, oldest first: what retention walks."""
        with self.read() as conn:
            return [
                (r[0], r[1])
                for r in conn.execute(sa.select(runs.c.id, runs.c.size_bytes).order_by(runs.c.created, runs.c.id))
            ]

    def holdings(self) -> list[tuple[str, int, str | None]]:
        """(id, size_bytes, owner) of every run, oldest first: what per-owner retention walks."""
        with self.read() as conn:
            return [
                (r[0], r[1], r[2])
                for r in conn.execute(
                    sa.select(runs.c.id, runs.c.size_bytes, runs.c.owner).order_by(runs.c.created, runs.c.id)
                )
            ]

    def forget_deleted(self) -> None:
        """After a delete, leave no readable copy of the removed rows in the SQLite files: `secure_delete` (set on
        every connection) overwrote them inside the database; a checkpoint copies the WAL into it and truncates the
        WAL to nothing. PostgreSQL frees dead rows itself (autovacuum): nothing to do here."""
        if self.kind != "sqlite":
            return
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        except sa.exc.OperationalError:  # busy past the timeout: the delete stands, the next checkpoint catches up
            pass

    def expired(self, now: float) -> list[str]:
        """Ids of runs whose expiry time has passed (NULL expires: never)."""
        with self.read() as conn:
            return list(
                conn.execute(sa.select(runs.c.id).where(runs.c.expires <= now).order_by(runs.c.expires)).scalars()
            )

    def delete_run(self, run_id: str, when: float | None = None, reason: str = "deleted") -> bool:
        """Remove the row and leave a tombstone, in one transaction; True when a row was there.

        Call it FIRST when deleting: once the row is gone no replica serves the run, then the
        blobs can be removed at leisure."""
        when = time.time() if when is None else when
        with self.write() as conn:
            return delete_row(conn, run_id, when, reason) is not None

    def deleted_at(self, run_id: str) -> float | None:
        """When the run was deleted, or None if it never was (unknown or still there)."""
        with self.read() as conn:
            return conn.execute(sa.select(deleted_runs.c.removed).where(deleted_runs.c.id == run_id)).scalar()

    def dataset_hashes(self) -> set[str]:
        """Datasets some run still references (the rest may be removed)."""
        with self.read() as conn:
            return set(conn.execute(sa.select(runs.c.dataset_hash).distinct()).scalars())

    def run_ids(self) -> set[str]:
        with self.read() as conn:
            return set(conn.execute(sa.select(runs.c.id)).scalars())

    @contextlib.contextmanager
    def locked(self) -> Iterator[Connection]:
        """A write transaction that also holds the store-wide lock (PostgreSQL advisory lock; on SQLite
        BEGIN IMMEDIATE is already one): what saving a dataset file and removing it are done under,
        so a delete on one replica never removes the dataset of a run another replica is saving."""
        with self.write() as conn:
            if self.kind == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(8424913511)"))
            yield conn

    def close(self) -> None:
        self.engine.dispose()


def _reason(exc: BaseException) -> str:
    """The driver's first line, without the SQL or the connection string (no passwords in pages)."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = re.sub(r"(postgres(?:ql)?(?:\+\w+)?://)[^@\s]*@", r"\1…@", text).removeprefix("connection failed: ")
    return text.rstrip(".")
