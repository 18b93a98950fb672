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
  ordered step list in schema.py — two steps do not justify the scaffold. The pin is exact because
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

The package, by part: `base` (what every back end shares: the connect timeout, `StoreUnavailable`, the settings),
`schema` (tables, migrations, `delete_row`), `index` (the `Index` on one code path) with its two engines `sqlite`
and `postgres`, `blobs` (the `Blobs` on a folder or any fsspec protocol) with `s3`, and `opening` (both from the
settings, `orphan_runs`). Every name is importable from `engine.backends`, as before the split.
"""

from __future__ import annotations

from engine.backends.base import CONNECT_TIMEOUT, StoreUnavailable, default_folder
from engine.backends.base import _is_database_url as _is_database_url
from engine.backends.blobs import BlobInfo, Blobs
from engine.backends.index import Index
from engine.backends.opening import open_backends, orphan_runs
from engine.backends.schema import MIGRATIONS, SCHEMA_VERSION, delete_row, deleted_runs, metadata, runs, schema_version

__all__ = [
    "CONNECT_TIMEOUT",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "BlobInfo",
    "Blobs",
    "Index",
    "StoreUnavailable",
    "default_folder",
    "delete_row",
    "deleted_runs",
    "metadata",
    "open_backends",
    "orphan_runs",
    "runs",
    "schema_version",
]
