"""The index's schema (tables `runs`, `deleted_runs`, `schema_version`) and its migrations, step by step; the
version a store holds; removing a run's row with its tombstone. Versions: see the package docstring."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

SCHEMA_VERSION = 2

metadata = sa.MetaData()


def _v1_columns() -> list[sa.Column]:
    """The `runs` columns of version 1 (fresh Column objects: a Column belongs to one Table)."""
    return [
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("page", sa.Text, nullable=False),
        sa.Column("created", sa.Double, nullable=False),
        sa.Column("dataset_hash", sa.Text, nullable=False),
        sa.Column("dataset_name", sa.Text, nullable=False),
        sa.Column("n_rows", sa.BigInteger, nullable=False),
        sa.Column("columns", sa.Text, nullable=False),
        sa.Column("settings", sa.Text, nullable=False),
        sa.Column("metrics", sa.Text, nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
    ]


runs = sa.Table(
    "runs",
    metadata,
    *_v1_columns(),
    # version 2
    sa.Column("owner", sa.Text, nullable=True),
    sa.Column("visibility", sa.Text, nullable=True),
    sa.Column("expires", sa.Double, nullable=True),
)

# Tombstones: why a run left the store ("deleted", "expired", "retention"), so its link can say so.
deleted_runs = sa.Table(
    "deleted_runs",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("page", sa.Text, nullable=False),
    sa.Column("removed", sa.Double, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
)

schema_version = sa.Table("schema_version", metadata, sa.Column("version", sa.Integer, nullable=False))


def _v1_runs(conn: Connection) -> None:
    """Version 1: the `runs` table and its `created` index, as engine/store.py made them."""
    table = sa.Table("runs", sa.MetaData(), *_v1_columns())
    sa.Index("runs_created", table.c.created)
    table.metadata.create_all(conn, checkfirst=True)


_V2_COLUMNS = {"owner": "TEXT", "visibility": "TEXT", "expires": "DOUBLE PRECISION"}


def _v2_owner_visibility_expiry(conn: Connection) -> None:
    """Version 2 (issue 13): who owns a run, who may open it, when it expires; tombstones.

    Idempotent: the SQLite stores issue 13's engine/store.py wrote have these columns and tables
    already but no `schema_version` row, so they come through this step unchanged."""
    have = {c["name"] for c in sa.inspect(conn).get_columns("runs")}
    for name, kind in _V2_COLUMNS.items():
        if name not in have:
            conn.exec_driver_sql(f"ALTER TABLE runs ADD COLUMN {name} {kind}")
    for ddl in (
        "CREATE INDEX IF NOT EXISTS runs_expires ON runs (expires)",
        "CREATE INDEX IF NOT EXISTS runs_owner ON runs (owner)",
    ):
        conn.exec_driver_sql(ddl)
    deleted_runs.create(conn, checkfirst=True)


MIGRATIONS = [_v1_runs, _v2_owner_visibility_expiry]  # MIGRATIONS[n] takes version n to n + 1
assert len(MIGRATIONS) == SCHEMA_VERSION


def delete_row(conn: Connection, run_id: str, when: float, reason: str) -> Mapping[str, Any] | None:
    """Inside a write transaction: remove a run's row and leave its tombstone (the first one counts).
    Returns the removed row, or None when there was none."""
    row = conn.execute(sa.select(runs).where(runs.c.id == run_id)).mappings().first()
    if row is None:
        return None
    conn.execute(runs.delete().where(runs.c.id == run_id))
    if conn.execute(sa.select(deleted_runs.c.id).where(deleted_runs.c.id == run_id)).first() is None:
        conn.execute(deleted_runs.insert().values(id=run_id, page=row["page"], removed=when, reason=reason))
    return dict(row)


def _stored_version(conn: Connection) -> int:
    inspector = sa.inspect(conn)
    if inspector.has_table("schema_version"):
        return conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar() or 0
    return 1 if inspector.has_table("runs") else 0
