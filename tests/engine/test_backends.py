"""The run store's back ends, with the real parts: the index contract on SQLite and on a throwaway
PostgreSQL, the blob contract on a folder and on an S3 API server (moto) on localhost; migration of
a store written by the first version; several writers at once; outages answered with a sentence."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine import backends
from engine.backends import SCHEMA_VERSION, Blobs, Index, StoreUnavailable, open_backends
from engine.data import DataError
from tests.services import free_port, make_bucket

# engine/store.py's statements as every store before schema versions ran them (commit b627abd):
# a store written by that code must open, migrate and keep its runs.
V1_SQLITE = [
    "PRAGMA journal_mode=WAL",
    """CREATE TABLE IF NOT EXISTS runs (
                    id TEXT PRIMARY KEY, page TEXT NOT NULL, created REAL NOT NULL,
                    dataset_hash TEXT NOT NULL, dataset_name TEXT NOT NULL, n_rows INTEGER NOT NULL,
                    columns TEXT NOT NULL, settings TEXT NOT NULL, metrics TEXT NOT NULL, size_bytes INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS runs_created ON runs(created)",
]
V1_INSERT = "INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?)"


def _row(run_id: str, page: str = "fraud", created: float | None = None, **extra) -> dict:
    return dict(
        id=run_id,
        page=page,
        created=time.time() if created is None else created,
        dataset_hash="d" * 64,
        dataset_name="cards.csv",
        n_rows=284,
        columns='{"target": "Class"}',
        settings='{"seed": 0}',
        metrics='{"auprc": 0.81}',
        size_bytes=1000,
        **extra,
    )


def _rid(i: int, tag: str = "r") -> str:
    return f"{tag}{i:021d}"[:22]


# ---------------------------------------------------------------------------------- fixtures
# pg, s3_endpoint, s3_env: tests/engine/conftest.py
@pytest.fixture(params=["sqlite", "postgresql"])
def location(request, tmp_path) -> str:
    """Where a fresh index lives: a folder (SQLite inside) or a new PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "store")
    return request.getfixturevalue("pg").create_database()


@pytest.fixture
def index(location):
    ix = Index(location)
    yield ix
    ix.close()


@pytest.fixture(params=["folder", "s3"])
def blobs(request, tmp_path) -> Blobs:
    if request.param == "folder":
        return Blobs(str(tmp_path / "artifacts"))
    endpoint = request.getfixturevalue("s3_env")
    bucket = "b" + str(time.time_ns())
    make_bucket(endpoint, bucket)
    return Blobs(f"s3://{bucket}/explorer")


# ---------------------------------------------------------------------------------- index contract
def test_fresh_index_is_at_the_current_schema(index):
    assert index.schema_version() == SCHEMA_VERSION == 2
    assert index.count() == 0 and index.list_runs() == [] and index.expired(time.time()) == []
    assert "PostgreSQL" in index.describe() or "SQLite" in index.describe()
    index.check()


def test_rows_round_trip_newest_first_with_filters(index):
    now = time.time()
    index.add_run(_row(_rid(1), "fraud", now - 30, owner="alice@example.com", visibility="signed-in"))
    index.add_run(
        _row(_rid(2), "diagnosis", now - 20, owner="bob@example.com", visibility="owner", expires=now + 86400)
    )
    index.add_run(_row(_rid(3), "fraud", now - 10))
    got = index.get_run(_rid(2))
    assert got == _row(_rid(2), "diagnosis", now - 20, owner="bob@example.com", visibility="owner", expires=now + 86400)
    assert isinstance(got["created"], float) and got["created"] == now - 20  # double precision, not float4
    assert index.get_run(_rid(9)) is None
    assert [r["id"] for r in index.list_runs()] == [_rid(3), _rid(2), _rid(1)]
    assert [r["id"] for r in index.list_runs(page="fraud")] == [_rid(3), _rid(1)]
    assert [r["id"] for r in index.list_runs(owner="alice@example.com")] == [_rid(1)]
    assert [r["id"] for r in index.list_runs(limit=1)] == [_rid(3)]
    assert index.oldest_first() == [(_rid(1), 1000), (_rid(2), 1000), (_rid(3), 1000)]
    assert index.dataset_hashes() == {"d" * 64} and index.run_ids() == {_rid(1), _rid(2), _rid(3)}
    with pytest.raises(ValueError, match="unknown run columns"):
        index.add_run({**_row(_rid(4)), "payload": "x"})
    with pytest.raises(sa.exc.IntegrityError):  # an id is never silently overwritten
        index.add_run(_row(_rid(1)))


def test_expiry_and_delete_leave_a_tombstone(index):
    now = time.time()
    index.add_run(_row(_rid(1), expires=now - 1))
    index.add_run(_row(_rid(2), expires=now + 3600))
    index.add_run(_row(_rid(3)))  # no expiry (NULL): never expires
    assert index.expired(now) == [_rid(1)]
    assert index.expired(now + 7200) == [_rid(1), _rid(2)]
    assert index.deleted_at(_rid(1)) is None
    assert index.delete_run(_rid(1), when=now) is True
    assert index.get_run(_rid(1)) is None and index.deleted_at(_rid(1)) == now
    assert index.delete_run(_rid(1)) is False and index.deleted_at(_rid(1)) == now  # the first deletion counts
    assert index.delete_run(_rid(8)) is False and index.deleted_at(_rid(8)) is None  # unknown stays unknown
    assert index.count() == 2


def test_reopening_keeps_rows_and_does_not_migrate_again(location):
    Index(location).add_run(_row(_rid(1)))
    again = Index(location)
    assert again.schema_version() == SCHEMA_VERSION and again.run_ids() == {_rid(1)}


# ---------------------------------------------------------------------------------- migration
def test_a_store_written_by_the_first_version_is_migrated_not_wiped(tmp_path):
    folder = tmp_path / "store"
    folder.mkdir()
    with sqlite3.connect(folder / "index.sqlite") as db:
        for statement in V1_SQLITE:
            db.execute(statement)
        for i in range(3):
            db.execute(
                V1_INSERT,
                (
                    _rid(i),
                    "diagnosis",
                    1_700_000_000.5 + i,
                    "a" * 64,
                    "heart.csv",
                    303,
                    "{}",
                    "{}",
                    '{"auc": 0.9}',
                    4096,
                ),
            )
    db.close()
    index = Index(folder)
    assert index.schema_version() == 2
    rows = index.list_runs()
    assert [r["id"] for r in rows] == [_rid(2), _rid(1), _rid(0)]
    assert rows[0]["created"] == 1_700_000_002.5 and rows[0]["metrics"] == '{"auc": 0.9}'
    assert all(r["owner"] is None and r["visibility"] is None and r["expires"] is None for r in rows)
    index.add_run(_row(_rid(7), owner="alice", visibility="owner", expires=2e9))
    index.delete_run(_rid(0))
    assert index.deleted_at(_rid(0)) is not None and index.count() == 3
    with sqlite3.connect(folder / "index.sqlite") as db:  # the old index and the new ones are there
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"runs_created", "runs_expires", "runs_owner"} <= names


def test_a_version_1_postgresql_store_is_migrated(pg):
    url = pg.create_database()
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        backends.MIGRATIONS[0](conn)  # version 1 on PostgreSQL: the runs table, no version table
        conn.execute(
            sa.text(
                f"INSERT INTO runs VALUES ('{_rid(1)}', 'fraud', 1700000000.25, 'h', 'x.csv', 5, '{{}}', "
                "'{}', '{}', 9)"
            )
        )
    engine.dispose()
    index = Index(url)
    assert index.schema_version() == 2
    assert index.get_run(_rid(1))["created"] == 1700000000.25 and index.get_run(_rid(1))["owner"] is None


def test_a_store_from_a_newer_version_is_refused_with_a_sentence(location):
    Index(location).close()
    engine = sa.create_engine(Index(location).engine.url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE schema_version SET version = 99"))
    engine.dispose()
    with pytest.raises(StoreUnavailable, match="newer version of this app .*schema 99.*Upgrade this server"):
        Index(location)


# ---------------------------------------------------------------------------------- several replicas
def _writer(location: str, tag: str, count: int, barrier, results) -> None:
    """One replica: opens the store (migrating it) when every replica is ready, saves `count` runs from 2 threads."""
    try:
        barrier.wait(60)
        index = Index(
            location, connect_timeout=30
        )  # the other replica may hold the migration lock a while on 2 busy cores
    except BaseException as exc:  # noqa: BLE001 - a replica that cannot open the store fails the test, quickly
        results.put(repr(exc))
        return
    ids = [_rid(i, tag) for i in range(count)]
    errors: list[BaseException] = []

    def save(chunk: list[str]) -> None:
        try:
            for run_id in chunk:
                index.add_run(_row(run_id))
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(ids[k::2],)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    index.close()
    results.put(repr(errors[0]) if errors else ids)


def test_replicas_starting_and_saving_at_once_lose_no_run(location):
    """Two processes (replicas) open a fresh store at the same moment (both migrate it) and save
    40 runs each from two threads."""
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    replicas = [ctx.Process(target=_writer, args=(location, tag, 40, barrier, results)) for tag in "ab"]
    for p in replicas:
        p.start()
    outcomes = [results.get(timeout=120) for _ in replicas]
    for p in replicas:
        p.join(30)
    assert all(isinstance(o, list) for o in outcomes), outcomes
    index = Index(location)
    assert index.schema_version() == SCHEMA_VERSION
    assert index.run_ids() == {i for ids in outcomes for i in ids} and index.count() == 80


def test_readers_never_see_a_run_before_its_blobs(pg, s3_env):
    """The store's rule, blob first and index row last, on PostgreSQL + S3 with writers and a reader at once."""
    bucket = "race" + str(time.time_ns())
    make_bucket(s3_env, bucket)
    url = pg.create_database()
    index, blobs = open_backends(url, f"s3://{bucket}/runs-store")
    stop = threading.Event()
    seen: set[str] = set()
    problems: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            for row in index.list_runs(limit=1000):
                if row["id"] not in seen:
                    try:
                        assert blobs.get(f"runs/{row['id']}/model.safetensors") == row["id"].encode()
                    except (FileNotFoundError, AssertionError) as exc:
                        problems.append(f"{row['id']}: {exc!r}")
                    seen.add(row["id"])

    def writer(tag: str) -> None:
        for i in range(15):
            run_id = _rid(i, tag)
            blobs.put(f"runs/{run_id}/model.safetensors", run_id.encode())
            index.add_run(_row(run_id))

    threads = [threading.Thread(target=writer, args=(t,)) for t in "xy"]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    watcher.join()
    assert problems == [] and index.count() == 30


# ---------------------------------------------------------------------------------- settings and outages
def test_settings_choose_the_back_ends(tmp_path, monkeypatch, pg):
    monkeypatch.setenv("EXPLORER_RUN_STORE", str(tmp_path / "here"))
    monkeypatch.delenv("EXPLORER_ARTIFACTS", raising=False)
    index, blobs = open_backends()
    assert index.kind == "sqlite" and (tmp_path / "here" / "index.sqlite").exists()
    assert blobs.kind == "folder" and blobs.root == str((tmp_path / "here").resolve())  # today's layout, one folder
    assert backends.default_folder() == tmp_path / "here"
    url = pg.create_database()
    monkeypatch.setenv("EXPLORER_RUN_STORE", url)
    with pytest.raises(StoreUnavailable, match="EXPLORER_ARTIFACTS is not set"):
        open_backends()
    monkeypatch.setenv("EXPLORER_ARTIFACTS", str(tmp_path / "shared-folder"))
    index, blobs = open_backends()
    assert index.kind == "postgresql" and blobs.kind == "folder"
    assert backends.default_folder() != Path(url)  # a URL is never taken for a folder


def test_unreachable_database_is_a_quick_sentence_without_the_password():
    assert issubclass(StoreUnavailable, DataError)
    start = time.monotonic()
    with pytest.raises(StoreUnavailable) as caught:
        Index(f"postgresql://explorer:hunter2@127.0.0.1:{free_port()}/explorer")
    assert time.monotonic() - start < 5
    message = caught.value.message
    assert "cannot be reached" in message and "share links are unavailable" in message and "hunter2" not in message


def test_a_malformed_database_url_is_a_sentence():
    with pytest.raises(StoreUnavailable, match="not a valid PostgreSQL URL"):
        Index("postgresql://explorer:secret@db:not-a-port/explorer")


def test_a_database_that_goes_away_and_comes_back(pg):
    index = Index(pg.create_database())
    index.add_run(_row(_rid(1)))
    pg.stop()
    try:
        start = time.monotonic()
        with pytest.raises(StoreUnavailable, match="cannot be reached|was lost"):
            index.get_run(_rid(1))
        assert time.monotonic() - start < 5
    finally:
        pg.start()
    assert index.get_run(_rid(1))["id"] == _rid(1)  # the pool reconnects; nothing to restart


def test_folder_that_cannot_be_created_is_a_sentence(tmp_path):
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(StoreUnavailable, match="cannot be created"):
        Index(tmp_path / "a-file" / "store")
    with pytest.raises(StoreUnavailable, match="cannot be created"):
        Blobs(str(tmp_path / "a-file" / "artifacts"))


def test_unreachable_or_missing_bucket_is_a_quick_sentence(s3_env, monkeypatch):
    with pytest.raises(StoreUnavailable, match="bucket no-such-bucket does not exist"):
        Blobs("s3://no-such-bucket/x").check()
    with pytest.raises(StoreUnavailable, match="missing its bucket"):
        Blobs("s3://no-such-bucket/x").put("runs/a/model.safetensors", b"1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    start = time.monotonic()
    with pytest.raises(StoreUnavailable, match="could not save a file.*share links are unavailable"):
        Blobs("s3://bucket/x").put("runs/a/model.safetensors", b"1")
    assert time.monotonic() - start < 10


# ---------------------------------------------------------------------------------- blob contract
def test_blob_round_trip(blobs):
    blobs.check()
    assert not blobs.exists("runs/r1/model.safetensors")
    with pytest.raises(FileNotFoundError):
        blobs.get("runs/r1/model.safetensors")
    blobs.put("runs/r1/model.safetensors", b"weights")
    blobs.put("runs/r1/scores.parquet", b"12345")
    blobs.put("runs/r12/model.safetensors", b"other run, same prefix")
    blobs.put("datasets/" + "a" * 64 + ".csv.gz", b"\x1f\x8b data")
    assert blobs.get("runs/r1/model.safetensors") == b"weights" and blobs.exists("runs/r1/scores.parquet")
    blobs.put("runs/r1/model.safetensors", b"weights v2")  # overwrite is whole
    assert blobs.get("runs/r1/model.safetensors") == b"weights v2"
    assert blobs.keys("runs/r1/") == ["runs/r1/model.safetensors", "runs/r1/scores.parquet"]
    assert blobs.total_size() == 10 + 5 + 22 + 7 and blobs.total_size("datasets/") == 7
    info = blobs.entries("datasets/")[0]
    assert info.size == 7 and abs(info.modified - time.time()) < 120
    assert blobs.delete_prefix("runs/r1/") == 2
    assert blobs.keys("runs/") == ["runs/r12/model.safetensors"]  # r12 is not under r1/
    blobs.delete("runs/r12/model.safetensors")
    blobs.delete("runs/r12/model.safetensors")  # missing: fine
    assert blobs.keys("runs/") == [] and blobs.total_size() == 7
    assert blobs.delete_prefix("runs/nothing/") == 0


def test_orphaned_files_are_found_but_not_a_save_in_progress(blobs, tmp_path):
    index = Index(tmp_path / "index")
    blobs.put("runs/saved/model.safetensors", b"1")
    index.add_run(_row("saved"))
    blobs.put("runs/orphan/model.safetensors", b"2")  # a replica died before writing the row
    now = time.time()
    assert backends.orphan_runs(index, blobs, min_age=3600, now=now) == []  # too young: maybe still saving
    assert backends.orphan_runs(index, blobs, min_age=3600, now=now + 7200) == ["orphan"]


@pytest.mark.parametrize("key", ["../index.sqlite", "/etc/passwd", "runs/../../x", "", "runs//x", "runs/x/", None])
def test_blob_keys_cannot_leave_the_store(key, tmp_path):
    blobs = Blobs(str(tmp_path / "artifacts"))
    with pytest.raises(ValueError, match="bad blob key"):
        blobs.put(key, b"x")
    with pytest.raises(ValueError, match="must end with"):
        blobs.delete_prefix("runs/x")


def test_concurrent_puts_each_land_whole(blobs):
    payloads = {f"runs/c{i}/model.safetensors": bytes([i]) * (50_000 + i) for i in range(12)}

    def put(keys):
        for k in keys:
            blobs.put(k, payloads[k])

    keys = sorted(payloads)
    threads = [threading.Thread(target=put, args=(keys[k::3],)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {k: blobs.get(k) for k in keys} == payloads
    assert blobs.keys("runs/") == keys  # no temporary files left behind or listed


def test_s3_settings_come_from_the_usual_environment(s3_env):
    bucket = "env" + str(time.time_ns())
    make_bucket(s3_env, bucket)
    blobs = Blobs(f"s3://{bucket}")  # no prefix: the bucket's top level
    assert blobs.describe() == f"the bucket s3://{bucket} at {s3_env}"
    blobs.put("runs/a/model.safetensors", b"1")
    import boto3

    listed = boto3.client("s3", endpoint_url=s3_env).list_objects_v2(Bucket=bucket)["Contents"]
    assert [o["Key"] for o in listed] == ["runs/a/model.safetensors"]
