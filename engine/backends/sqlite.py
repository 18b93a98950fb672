"""The index on SQLite (the default: one replica, nothing to set up): the file `index.sqlite` in the run-store
folder, with transactions SQLAlchemy begins (write transactions take the write lock up front)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from engine.backends.base import _SHARING_OFF, StoreUnavailable


def sqlite_engine(setting: str) -> tuple[Engine, str]:
    """The engine on `<folder>/index.sqlite` (the folder made when missing) and where it is, in words."""
    folder = Path(setting).expanduser()
    where = f"the SQLite file {folder / 'index.sqlite'}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreUnavailable(
            f"The run store folder {folder} cannot be created ({exc.strerror}). {_SHARING_OFF}"
        ) from exc
    engine = sa.create_engine(f"sqlite:///{folder / 'index.sqlite'}", connect_args={"timeout": 30})
    _sqlite_transactions(engine)
    return engine, where


def _sqlite_transactions(engine: Engine) -> None:
    """Let SQLAlchemy, not the sqlite3 module, emit BEGIN (SQLAlchemy's documented recipe).

    Then DDL is transactional, and a write transaction starts with BEGIN IMMEDIATE: it waits
    (busy timeout) for the write lock up front instead of failing when a read turns into a write."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # autocommit at the driver; we emit BEGIN below
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute(
            "PRAGMA secure_delete=ON"
        )  # a deleted run's text is overwritten, not left in free space

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("explorer_write") else "BEGIN")
