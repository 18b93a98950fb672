"""Storage back ends under the run store: an index of runs and a blob store, local or shared.

Two settings choose them, so that one replica needs nothing set up and a team can put
several replicas behind one address:

    EXPLORER_RUN_STORE   a folder (default ~/.local/share/ai-scenario-explorer): SQLite file
                         `index.sqlite` inside it; or `postgresql://user:pass@host:5432/db`
    EXPLORER_ARTIFACTS   a folder (default: the run-store folder itself, so today's layout
                         `runs/…`, `datasets/…` is unchanged); or `s3://bucket/prefix` for
                         S3 or any S3-compatible store (MinIO, Ceph, R2, …) through the usual
                         settings: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
                         AWS_DEFAULT_REGION (or an instance role / ~/.aws files).
    With a PostgreSQL index EXPLORER_ARTIFACTS must be set: a database shared by replicas
    with blobs in one machine's folder would hand out links that other replicas cannot open.

Why these libraries
-------------------
* Index: SQLAlchemy Core 2.1 (pinned `sqlalchemy==2.1.9`), not the ORM and not raw DB-API.
  One set of statements runs on SQLite (stdlib driver) and PostgreSQL (psycopg 3, binary
  wheel: no compiler or libpq on the host); the dialects hide the placeholder style, DDL
  types and connection pooling (with `pool_pre_ping`, so a restarted database is reconnected
  instead of failing the next save). Raw `sqlite3` + `psycopg` would be two code paths; the ORM
  adds a session/identity map we do not need for one table; `databases`/`peewee` are smaller
  communities. Alembic is SQLAlchemy's migration tool, but it wants an ini/env.py scaffold and
  a command run before start; here each replica migrates on start, under a lock, with the
  ordered step list below — two steps do not justify the scaffold. The pin is exact because
  the migration steps are tested against this version.
* Blobs: fsspec (already installed by pandas' ecosystem) with s3fs for `s3://`. One interface
  for a folder and an object store; other fsspec protocols (gcs://, az://) work the same once
  their package is installed, but only folder and S3 are tested.

Schema versions (table `schema_version`, one row)
-------------------------------------------------
    1  `runs`, exactly the columns engine/store.py has created since the first release
       (a store with `runs` and no `schema_version` table is version 1)
    2  runs.owner TEXT, runs.visibility TEXT, runs.expires DOUBLE PRECISION (all nullable;
       NULL means what version 1 meant: no owner, anyone with the link, no expiry), and the
       tombstone table `deleted_runs(id, page, removed, reason)` so a link can say why its run is gone.
       (issue 13's SQLite stores have exactly this layout without the version row: they count as
       version 1 and the idempotent version-2 step leaves them as they are)
A store written by an older version is migrated in place on open, never wiped; one written
by a newer version is refused with a sentence. Migration runs in one transaction under a lock
(PostgreSQL advisory lock; SQLite BEGIN IMMEDIATE), so replicas starting together migrate once.

The store's rules on top of this layer (engine/store.py)
--------------------------------------------------------
* Save: write every blob of a run (model, tables, then its dataset under `Index.locked()`) FIRST,
  then its index row LAST, in that same locked transaction.
  A reader finds a run only through its index row, so it never sees a half-written run, and a
  replica dying mid-save leaves only orphan blobs, never a row without its files (`orphan_runs`
  finds those for the store's cleanup). `Blobs.put` is atomic per blob (folder: temp file +
  rename; S3: a PUT).
* Delete: the row FIRST (removed with its tombstone, and the dataset no remaining row references,
  in one locked transaction), then `Blobs.delete_prefix("runs/<id>/")`.
* Unreachable database or bucket: `StoreUnavailable` (a DataError) with a sentence; raised
  within about `connect_timeout` seconds, never a hang.

How engine/store.py uses this layer
-----------------------------------
`RunStore` opens both from the settings (`open_backends`), writes a run's model and tables as blobs,
then, under `Index.locked()`, its dataset blob (when missing) and its row; deletes the row (with its
tombstone, `delete_row`) and the dataset no other row references under the same lock, then the
run's blobs. Its health line is `describe()` of both.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import secrets
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url

from engine.data import DataError

SCHEMA_VERSION = 2
CONNECT_TIMEOUT = float(os.environ.get("EXPLORER_STORE_CONNECT_TIMEOUT", "5"))

_SHARING_OFF = "Training works as usual; share links are unavailable until it is back."


class StoreUnavailable(DataError):
    """The run store's database or blob storage cannot be used right now (a sentence for the page)."""

    @property
    def cause(self) -> str:
        """What is wrong, without the closing advice (for "Sharing is unavailable until …: <cause>")."""
        return self.message.replace(_SHARING_OFF, "").strip()


# ----------------------------------------------------------------------------------------- settings
def default_folder() -> Path:
    """The embedded store's folder: EXPLORER_RUN_STORE when it is a folder, else the XDG data dir."""
    env = os.environ.get("EXPLORER_RUN_STORE", "")
    if env and not _is_database_url(env):
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "ai-scenario-explorer"


def _is_database_url(setting: str) -> bool:
    return bool(re.match(r"^(postgres|postgresql)(\+\w+)?://", setting))


def open_backends(
    run_store: str | Path | None = None, artifacts: str | None = None
) -> tuple[Index, Blobs]:
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


# ----------------------------------------------------------------------------------------- schema
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
    "runs", metadata,
    *_v1_columns(),
    # version 2
    sa.Column("owner", sa.Text, nullable=True),
    sa.Column("visibility", sa.Text, nullable=True),
    sa.Column("expires", sa.Double, nullable=True),
)

# Tombstones: why a run left the store ("deleted", "expired", "retention"), so its link can say so.
deleted_runs = sa.Table(
    "deleted_runs", metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("page", sa.Text, nullable=False),
    sa.Column("removed", sa.Double, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
)

schema_version = sa.Table(
    "schema_version", metadata,
    sa.Column("version", sa.Integer, nullable=False),
)


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
    for ddl in ("CREATE INDEX IF NOT EXISTS runs_expires ON runs (expires)",
                "CREATE INDEX IF NOT EXISTS runs_owner ON runs (owner)"):
        conn.exec_driver_sql(ddl)
    deleted_runs.create(conn, checkfirst=True)


MIGRATIONS = [_v1_runs, _v2_owner_visibility_expiry]  # MIGRATIONS[n] takes version n to n + 1
assert len(MIGRATIONS) == SCHEMA_VERSION


# ----------------------------------------------------------------------------------------- index
class Index:
    """The table of runs on SQLite or PostgreSQL: one code path, migrated to SCHEMA_VERSION on open."""

    def __init__(self, setting: str | Path, connect_timeout: float | None = None):
        timeout = CONNECT_TIMEOUT if connect_timeout is None else connect_timeout
        setting = str(setting)
        if _is_database_url(setting):
            try:
                url = make_url(re.sub(r"^(postgres|postgresql)(\+\w+)?://", "postgresql+psycopg://", setting))
            except (sa.exc.ArgumentError, ValueError) as exc:
                raise StoreUnavailable("EXPLORER_RUN_STORE is not a valid PostgreSQL URL; write it as "
                                       f"postgresql://user:password@host:5432/database. {_SHARING_OFF}") from exc
            self.kind = "postgresql"
            self._where = f"the PostgreSQL database {url.database or ''} on {url.host or 'localhost'}:{url.port or 5432}"
            try:
                self.engine: Engine = sa.create_engine(
                    url, pool_pre_ping=True, pool_size=5, max_overflow=5, pool_timeout=timeout,
                    connect_args={"connect_timeout": max(1, round(timeout)), "application_name": "ai-scenario-explorer"},
                )
            except ImportError as exc:  # the default install has no PostgreSQL driver
                raise StoreUnavailable("A PostgreSQL run store needs the psycopg package on this server: install "
                                       f"the app with its team extra (pip install -e '.[team]'). {_SHARING_OFF}") from exc
        else:
            folder = Path(setting).expanduser()
            self.kind = "sqlite"
            self._where = f"the SQLite file {folder / 'index.sqlite'}"
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreUnavailable(f"The run store folder {folder} cannot be created ({exc.strerror}). {_SHARING_OFF}") from exc
            self.engine = sa.create_engine(f"sqlite:///{folder / 'index.sqlite'}", connect_args={"timeout": 30})
            _sqlite_transactions(self.engine)
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
            raise StoreUnavailable(f"The run store ({self._where}) cannot be reached: {_reason(exc)}. {_SHARING_OFF}") from exc
        except sa.exc.DBAPIError as exc:
            if exc.connection_invalidated:
                raise StoreUnavailable(f"The connection to the run store ({self._where}) was lost. {_SHARING_OFF}") from exc
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
                    f"this server knows up to {SCHEMA_VERSION}). Upgrade this server. {_SHARING_OFF}")
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
            return [(r[0], r[1]) for r in conn.execute(
                sa.select(runs.c.id, runs.c.size_bytes).order_by(runs.c.created, runs.c.id))]

    def holdings(self) -> list[tuple[str, int, str | None]]:
        """(id, size_bytes, owner) of every run, oldest first: what per-owner retention walks."""
        with self.read() as conn:
            return [(r[0], r[1], r[2]) for r in conn.execute(
                sa.select(runs.c.id, runs.c.size_bytes, runs.c.owner).order_by(runs.c.created, runs.c.id))]

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
            return list(conn.execute(sa.select(runs.c.id).where(runs.c.expires <= now).order_by(runs.c.expires)).scalars())

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


def _sqlite_transactions(engine: Engine) -> None:
    """Let SQLAlchemy, not the sqlite3 module, emit BEGIN (SQLAlchemy's documented recipe).

    Then DDL is transactional, and a write transaction starts with BEGIN IMMEDIATE: it waits
    (busy timeout) for the write lock up front instead of failing when a read turns into a write."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # autocommit at the driver; we emit BEGIN below
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA secure_delete=ON")  # a deleted run's text is overwritten, not left in free space

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("explorer_write") else "BEGIN")


def _reason(exc: BaseException) -> str:
    """The driver's first line, without the SQL or the connection string (no passwords in pages)."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = re.sub(r"(postgres(?:ql)?(?:\+\w+)?://)[^@\s]*@", r"\1…@", text).removeprefix("connection failed: ")
    return text.rstrip(".")


# ----------------------------------------------------------------------------------------- blobs
_KEY = re.compile(r"^(?:[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}/)*[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$")  # run ids may start with -
_TMP = ".tmp-"


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int
    modified: float  # seconds since the epoch


class Blobs:
    """Files of runs (models, datasets, result tables) in a folder or an object store, by key.

    Keys are relative paths such as `runs/<id>/model.safetensors` (checked: no `..`, no
    leading slash). A `put` is atomic: a reader sees the whole blob or none."""

    def __init__(self, setting: str | Path, connect_timeout: float | None = None):
        import fsspec

        timeout = CONNECT_TIMEOUT if connect_timeout is None else connect_timeout
        setting = str(setting)
        protocol = setting.split("://", 1)[0] if "://" in setting else "file"
        if protocol in ("s3", "s3a"):
            bucket_path = setting.split("://", 1)[1].strip("/")
            if not bucket_path:
                raise StoreUnavailable("EXPLORER_ARTIFACTS must name a bucket, like s3://my-bucket/explorer.")
            self.kind = "s3"
            endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
            config: dict[str, Any] = {"connect_timeout": timeout, "read_timeout": 60,
                                      "retries": {"max_attempts": 2, "mode": "standard"}}
            if endpoint:  # S3-compatible stores (MinIO, Ceph, …) all accept path-style addressing
                config["s3"] = {"addressing_style": "path"}
            try:
                self.fs = fsspec.filesystem("s3", endpoint_url=endpoint or None, config_kwargs=config,
                                            skip_instance_cache=True, use_listings_cache=False)
            except ImportError as exc:  # the default install has no S3 client
                raise StoreUnavailable("An s3:// artifacts store needs the s3fs package on this server: install "
                                       f"the app with its team extra (pip install -e '.[team]'). {_SHARING_OFF}") from exc
            self.fs.retries = 2  # s3fs's own retry loop on top of botocore's; keeps an outage to seconds
            self.root = bucket_path
            where = f" at {endpoint}" if endpoint else ""
            self._where = f"the bucket s3://{bucket_path}{where}"
        elif protocol == "file":
            folder = Path(setting.removeprefix("file://")).expanduser().resolve()
            self.kind = "folder"
            self.fs = fsspec.filesystem("file", skip_instance_cache=True)
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreUnavailable(f"The artifacts folder {folder} cannot be created ({exc.strerror}). {_SHARING_OFF}") from exc
            self.root = folder.as_posix()
            self._where = f"the folder {folder}"
        else:
            self.kind = protocol
            try:
                self.fs = fsspec.filesystem(protocol, skip_instance_cache=True)
            except (ImportError, ValueError) as exc:
                raise StoreUnavailable(f"EXPLORER_ARTIFACTS uses {protocol}://, which this server cannot open ({exc}). "
                                       "Use a folder or an s3:// URL.") from exc
            self.root = setting.split("://", 1)[1].strip("/")
            self._where = setting

    def describe(self) -> str:
        return self._where

    def _path(self, key: str) -> str:
        if not isinstance(key, str) or not _KEY.fullmatch(key) or ".." in key.split("/"):
            raise ValueError(f"bad blob key {key!r}")
        return f"{self.root}/{key}"

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except FileNotFoundError:
            raise
        except PermissionError as exc:
            raise StoreUnavailable(f"The run store ({self._where}) refused to {what}: permission denied. {_SHARING_OFF}") from exc
        except OSError as exc:
            raise StoreUnavailable(f"The run store ({self._where}) could not {what}: {_blob_reason(exc)}. {_SHARING_OFF}") from exc
        except Exception as exc:  # botocore/aiohttp errors that s3fs does not translate
            if type(exc).__module__.split(".")[0] in ("botocore", "aiobotocore", "aiohttp", "s3fs"):
                raise StoreUnavailable(f"The run store ({self._where}) could not {what}: {_blob_reason(exc)}. {_SHARING_OFF}") from exc
            raise

    def check(self) -> None:
        """Raise StoreUnavailable unless the folder or bucket can be listed now."""
        with self._errors("be listed"):
            if self.kind == "s3":
                bucket = self.root.split("/", 1)[0]
                if not self.fs.exists(bucket):
                    raise StoreUnavailable(f"The bucket {bucket} does not exist at the configured S3 endpoint. "
                                           f"Create it or correct EXPLORER_ARTIFACTS. {_SHARING_OFF}")
            if self.fs.exists(self.root):
                self.fs.ls(self.root, detail=False)

    def put(self, key: str, data: bytes) -> None:
        """Write a blob whole. Blob first, index row last: see the module docstring."""
        path = self._path(key)
        with self._errors("save a file"), _missing_is_unavailable(self._where):
            if self.kind == "folder":
                parent = path.rsplit("/", 1)[0]
                self.fs.makedirs(parent, exist_ok=True)
                tmp = f"{path}{_TMP}{secrets.token_hex(8)}"
                try:
                    self.fs.pipe_file(tmp, data)
                    os.replace(tmp, path)  # atomic on one file system
                finally:
                    if os.path.exists(tmp):
                        os.unlink(tmp)
            else:
                self.fs.pipe_file(path, data)  # an object PUT is atomic

    def get(self, key: str) -> bytes:
        """The blob's bytes; FileNotFoundError when there is none."""
        path = self._path(key)
        with self._errors("read a file"):
            return self.fs.cat_file(path)

    def exists(self, key: str) -> bool:
        path = self._path(key)
        with self._errors("look up a file"):
            return self.fs.exists(path)

    def delete(self, key: str) -> None:
        """Remove one blob; a missing one is fine."""
        path = self._path(key)
        with self._errors("delete a file"):
            try:
                self.fs.rm_file(path)
            except FileNotFoundError:
                pass

    def entries(self, prefix: str = "") -> list[BlobInfo]:
        """Every blob under a key prefix ("runs/<id>/", "datasets/"), with size and modification time."""
        if prefix and not _KEY.fullmatch(prefix.rstrip("/")):
            raise ValueError(f"bad blob prefix {prefix!r}")
        base = f"{self.root}/{prefix}".rstrip("/")
        with self._errors("list files"):
            try:
                found = self.fs.find(base, detail=True)
            except FileNotFoundError:
                return []
        out = []
        for path, info in found.items():
            if info.get("type") == "directory" or _TMP in path.rsplit("/", 1)[-1]:
                continue
            key = path[len(self.root.rstrip("/")) + 1:] if path.startswith(self.root) else path
            if not key.startswith(prefix):  # find() on S3 matches a key prefix, not a folder
                continue
            out.append(BlobInfo(key, int(info.get("size") or 0), _modified(info)))
        return sorted(out, key=lambda b: b.key)

    def keys(self, prefix: str = "") -> list[str]:
        return [b.key for b in self.entries(prefix)]

    def delete_prefix(self, prefix: str) -> int:
        """Remove every blob under a prefix ("runs/<id>/"); returns how many were removed."""
        if not prefix.endswith("/"):
            raise ValueError("a prefix to delete must end with '/' (a whole folder, never part of a name)")
        found = self.entries(prefix)
        with self._errors("delete files"):
            if found:
                self.fs.rm([f"{self.root}/{b.key}" for b in found])
            folder = f"{self.root}/{prefix}".rstrip("/")
            if self.kind == "folder" and self.fs.exists(folder):  # object stores have no empty folders to leave
                self.fs.rm(folder, recursive=True)
        return len(found)

    def total_size(self, prefix: str = "") -> int:
        """Bytes stored under a prefix (all blobs by default): what the size cap counts."""
        return sum(b.size for b in self.entries(prefix))


@contextlib.contextmanager
def _missing_is_unavailable(where: str) -> Iterator[None]:
    """A write that finds no bucket (or folder) is an outage of the store, not a missing blob."""
    try:
        yield
    except FileNotFoundError as exc:
        raise StoreUnavailable(f"The run store ({where}) is missing its bucket or folder: {_blob_reason(exc)}. "
                               f"{_SHARING_OFF}") from exc


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


def _modified(info: Mapping[str, Any]) -> float:
    for name in ("mtime", "LastModified", "last_modified", "created"):
        value = info.get(name)
        if isinstance(value, dt.datetime):
            return value.timestamp()
        if isinstance(value, (int, float)):
            return float(value)
    return 0.0


def _blob_reason(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return text.rstrip(".") or type(exc).__name__
