"""The run store behind share links: round trip, concurrency, retention, expiry, delete, unguessable safe ids.

Every behaviour runs on both back ends: a folder (SQLite index + files beside it, the default) and the
shared one (a throwaway PostgreSQL + a moto S3 bucket, both started by the tests)."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from contextlib import closing

import pandas as pd
import pytest

from engine import diagnosis as dx
from engine.backends import runs
from engine.data import load_table
from engine.store import NotAllowed, RunStore, SignInRequired, UnknownRun, check_access
from tests.conftest import SAMPLES
from tests.services import make_bucket


@pytest.fixture(params=["folder", "postgresql+s3"])
def make_store(request, tmp_path):
    """RunStore(**options) on a fresh store of this back end: a folder, or a new database and bucket."""
    made: list[RunStore] = []
    if request.param == "folder":
        where = {"root": tmp_path / "store"}
    else:
        endpoint = request.getfixturevalue("s3_env")
        bucket = "runs" + str(time.time_ns())
        make_bucket(endpoint, bucket)
        where = {"root": request.getfixturevalue("pg").create_database(), "artifacts": f"s3://{bucket}/explorer"}

    def make(**options) -> RunStore:
        made.append(RunStore(**where, **options))
        return made[-1]

    yield make
    for s in made:
        s.index.close()


@pytest.fixture
def store(make_store):
    return make_store()


def _keys(store, prefix=""):
    return store.blobs.keys(prefix)


def _has_run_files(store, run_id):
    return _keys(store, f"runs/{run_id}/") != []


def _has_dataset(store, table):
    return store.blobs.exists(f"datasets/{table.fingerprint}.csv.gz")


@pytest.fixture(scope="module")
def heart_run():
    table = load_table(SAMPLES / "heart_disease_cleveland.csv")
    model = dx.fit(table.df, dx.default_columns(table.df), dx.DiagnosisConfig(max_epochs=40, bootstrap=0))
    return table, model


def _save(store, table, model, page="diagnosis"):
    return store.save(
        page,
        model.to_bytes(),
        table,
        {"target": "target"},
        {"seed": 0},
        model.metrics,
        tables={"scores": model.predict(table.df)},
    )


def test_round_trip_gives_identical_predictions_and_metrics(store, heart_run):
    table, model = heart_run
    run_id = _save(store, table, model)
    run = store.load(run_id, page="diagnosis")
    again = dx.load(run.model)
    data = run.dataset()
    assert data.fingerprint == table.fingerprint and len(data.df) == run.n_rows == 303
    pd.testing.assert_frame_equal(data.df, table.df)
    pd.testing.assert_frame_equal(again.predict(data.df), model.predict(table.df))
    assert run.metrics == pytest.approx(model.metrics) and again.metrics == model.metrics
    pd.testing.assert_frame_equal(run.tables["scores"], model.predict(table.df).reset_index(drop=True))


def test_ids_are_unguessable_and_path_safe(store, heart_run):
    table, model = heart_run
    ids = {_save(store, table, model) for _ in range(3)}
    assert len(ids) == 3 and all(re.fullmatch(r"[A-Za-z0-9_-]{22}", i) for i in ids)  # 128 random bits
    assert len(_keys(store, "datasets/")) == 1  # one upload stored once
    for bad in ["../../etc/passwd", "", "x" * 22 + "/", "..%2F..%2Findex.sqlite", "A" * 21, None]:
        with pytest.raises(UnknownRun, match="not valid"):
            store.load(bad)
    with pytest.raises(UnknownRun, match="does not exist"):
        store.load("A" * 22)
    with pytest.raises(UnknownRun, match="belongs to the diagnosis page"):
        store.load(next(iter(ids)), page="fraud")


def test_two_replicas_saving_at_once_both_land(store, make_store, heart_run):
    """Two RunStores on one location (two app replicas), each saving from its own thread: no run lost."""
    table, model = heart_run
    replicas = [store, make_store()]
    out, errors = [], []

    def work(replica):
        try:
            for _ in range(3):
                out.append(_save(replica, table, model))
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(r,)) for r in replicas]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(out)) == 6
    for replica in replicas:  # each replica opens every run, whichever saved it
        assert all(replica.load(i).n_rows == 303 for i in out)


def test_retention_removes_the_oldest(make_store, heart_run):
    table, model = heart_run
    store = make_store(max_runs=2)
    first = _save(store, table, model)
    time.sleep(0.01)
    second = _save(store, table, model)
    time.sleep(0.01)
    third = _save(store, table, model)
    assert [r["id"] for r in store.list()] == [third, second]
    with pytest.raises(UnknownRun):
        store.load(first)
    assert not _has_run_files(store, first)


def test_size_limit_removes_the_oldest_until_the_store_fits(make_store, heart_run):
    table, model = heart_run
    probe = make_store()
    _save(probe, table, model)
    ((_, run_bytes),) = probe.index.oldest_first()
    data_bytes = probe.blobs.total_size("datasets/")
    assert run_bytes > 1000 and data_bytes > 1000  # the model and tables, and the dataset once
    # room for the dataset and two and a half runs: the third save pushes the first one out, and only it
    store = make_store(max_mb=(data_bytes + 2.5 * run_bytes) / 2**20)
    first, second = _save(store, table, model), _save(store, table, model)
    assert {r["id"] for r in store.list()} == {first, second}
    third = _save(store, table, model)
    assert {r["id"] for r in store.list()} == {second, third}
    with pytest.raises(UnknownRun):
        store.load(first)
    assert not _has_run_files(store, first) and _has_dataset(store, table)  # the others still use the dataset
    kept = sum(b for _, b in store.index.oldest_first()) + store.blobs.total_size("datasets/")
    assert kept <= store.max_bytes


def _save_as(store, table, model, owner):
    time.sleep(0.002)  # distinct creation times: "oldest" is well defined
    return store.save(
        "diagnosis", model.to_bytes(), table, {"target": "target"}, {"seed": 0}, model.metrics, owner=owner
    )


def test_one_analyst_creating_many_links_keeps_only_their_quota(make_store, heart_run):
    """Issue 23: retention is per owner; an analyst over their quota loses their own oldest links, nobody else's."""
    table, model = heart_run
    store = make_store(max_runs=100, owner_max_runs=3)
    alice = _save_as(store, table, model, "alice@example.org")
    bobs = [_save_as(store, table, model, "bob@example.org") for _ in range(6)]
    assert {r["id"] for r in store.list(owner="bob@example.org")} == set(bobs[-3:])
    assert store.load(alice).owner == "alice@example.org"


def test_a_full_store_removes_the_largest_holders_links_first(make_store, heart_run):
    """Issue 23: over the store's limit, the oldest run of whoever holds the most goes, not the oldest run overall."""
    table, model = heart_run
    store = make_store(max_runs=4, owner_max_runs=50)
    alice = _save_as(store, table, model, "alice@example.org")  # the oldest run in the store
    bobs = [_save_as(store, table, model, "bob@example.org") for _ in range(5)]
    assert [r["id"] for r in store.list()] == [*reversed(bobs[-3:]), alice]
    assert store.load(alice).owner == "alice@example.org"


def test_a_deleted_run_leaves_no_trace_in_the_sqlite_files(tmp_path, heart_run):
    """Issue 23: after a delete, the run's dataset name is in neither index.sqlite nor its WAL."""
    table, model = heart_run
    store = RunStore(root=tmp_path / "store")
    secret = "patients-of-dr-jekyll-2026.csv"
    run_id = store.save(
        "diagnosis",
        model.to_bytes(),
        load_table(table.df.to_csv(index=False).encode(), secret),
        {"target": "target"},
        {"seed": 0},
        model.metrics,
    )
    files = [tmp_path / "store" / "index.sqlite", tmp_path / "store" / "index.sqlite-wal"]
    assert any(secret.encode() in f.read_bytes() for f in files if f.exists())  # the name is there while the run is
    store.delete(run_id)
    for f in files:
        assert not f.exists() or secret.encode() not in f.read_bytes(), f.name
    store.index.close()


def test_location_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_RUN_STORE", str(tmp_path / "from_env"))
    s = RunStore()
    assert s.root == tmp_path / "from_env" and (s.root / "index.sqlite").exists()


# ----------------------------------------------------------------------------- private by default (issue 13)
def _tiny(text: bytes = b"a,b\n1,2\n3,4\n", name: str = "t.csv"):
    return load_table(text, name)


def _put(store, table=None, owner=None, visibility="link", page="diagnosis"):
    return store.save(page, b"weights", table or _tiny(), {}, {}, {"roc_auc": 0.9}, owner=owner, visibility=visibility)


def _files(store):
    return [k for k in _keys(store) if not k.startswith("index.sqlite")]


def test_the_store_keeps_nothing_until_save_is_called(store, heart_run):
    table, model = heart_run
    model.predict(table.df), model.to_bytes()  # what a page does after training: no store call
    assert _files(store) == [] and store.list() == []
    run_id = _save(store, table, model)
    assert [r["id"] for r in store.list()] == [run_id]
    assert any(f.startswith("datasets/") for f in _files(store))


def test_delete_removes_the_run_and_the_dataset_no_other_run_uses(store):
    shared, other = _tiny(), _tiny(b"a,b\n5,6\n", "other.csv")
    a, b, c = _put(store, shared), _put(store, shared), _put(store, other)
    store.delete(a)
    assert not _has_run_files(store, a) and _has_run_files(store, b)
    assert _has_dataset(store, shared)  # b still uses it
    store.delete(b)
    assert not _has_dataset(store, shared)
    assert _has_dataset(store, other)
    assert [r["id"] for r in store.list()] == [c]
    for gone in (a, b):
        with pytest.raises(UnknownRun, match="was deleted by the analyst who created it"):
            store.load(gone)
    with pytest.raises(UnknownRun, match="deleted"):
        store.delete(a)  # twice: a sentence, not a crash


def test_only_the_owner_deletes_an_owned_run(store):
    run_id = _put(store, owner="alice", visibility="signed_in")
    for who in ("bob", None):
        with pytest.raises(NotAllowed, match="Only the analyst who created"):
            store.delete(run_id, requester=who)
    store.load(run_id, viewer="bob")  # still there
    store.delete(run_id, requester="alice")
    with pytest.raises(UnknownRun, match="deleted"):
        store.load(run_id, viewer="alice")


def test_runs_expire_after_the_ttl_and_their_files_go(make_store, monkeypatch):
    monkeypatch.setenv("EXPLORER_RUN_TTL_DAYS", "7")
    store = make_store()
    keep_table, old_table = _tiny(), _tiny(b"a,b\n9,9\n", "old.csv")
    old = _put(store, old_table)
    run = store.info(old)
    assert run.expires == pytest.approx(run.created + 7 * 86_400)
    assert store.purge_expired(now=run.created + 6.9 * 86_400) == []
    keep = _put(store, keep_table)
    # the old run passes its date (set back in the index, as time would)
    with store.index.write() as conn:
        conn.execute(runs.update().where(runs.c.id == old).values(expires=time.time() - 1))
    assert [r["id"] for r in store.list()] == [keep]  # an expired run is never listed
    with pytest.raises(UnknownRun, match="expired on"):
        store.load(old)  # opening it removes it
    assert not _has_run_files(store, old) and _has_run_files(store, keep)
    assert not _has_dataset(store, old_table) and _has_dataset(store, keep_table)
    assert store.purge_expired(now=time.time() + 8 * 86_400) == [keep]
    assert _files(store) == []


def test_a_bad_ttl_setting_is_refused_with_a_sentence(tmp_path, monkeypatch):
    for bad in ("0", "-3", "thirty"):
        monkeypatch.setenv("EXPLORER_RUN_TTL_DAYS", bad)
        with pytest.raises(ValueError, match="EXPLORER_RUN_TTL_DAYS must be a positive number"):
            RunStore(tmp_path / "s")


# visibility: one test per rule
def test_rule_anyone_with_the_link_sees_a_link_run(store):
    run_id = _put(store)
    for viewer in (None, "bob", "alice"):
        assert store.load(run_id, viewer=viewer).model == b"weights"


def test_rule_signed_in_runs_are_for_anyone_signed_in(store):
    run_id = _put(store, owner="alice", visibility="signed_in")
    assert store.load(run_id, viewer="bob").model == b"weights"
    assert store.load(run_id, viewer="alice").model == b"weights"


def test_rule_a_signed_out_visitor_is_asked_to_sign_in(store):
    for visibility in ("signed_in", "owner"):
        run_id = _put(store, owner="alice", visibility=visibility)
        with pytest.raises(SignInRequired, match="Sign in to see it"):
            store.load(run_id, viewer=None)


def test_rule_only_me_runs_are_for_their_owner_only(store):
    run_id = _put(store, owner="alice", visibility="owner")
    assert store.load(run_id, viewer="alice").model == b"weights"
    with pytest.raises(NotAllowed, match="kept it to themselves") as refused:
        store.load(run_id, viewer="bob")
    assert "t.csv" not in str(refused.value) and "0.9" not in str(refused.value)  # a sentence, never the data


def test_rule_an_unknown_visibility_is_closed(store):
    check_access("alice", "owner", "alice")
    with pytest.raises(NotAllowed):
        check_access("alice", "something-new", "bob")


def test_rule_only_a_signed_in_analyst_can_restrict_a_link(store):
    for visibility in ("signed_in", "owner"):
        with pytest.raises(ValueError, match="signed-in"):
            _put(store, owner=None, visibility=visibility)
    with pytest.raises(ValueError, match="visibility"):
        _put(store, owner="alice", visibility="public")


def test_my_runs_lists_by_owner_or_by_id(store):
    a1 = _put(store, owner="alice", visibility="owner")
    b1 = _put(store, owner="bob", visibility="signed_in")
    anon = _put(store)
    assert [r["id"] for r in store.list(owner="alice")] == [a1]
    assert {r["id"] for r in store.list(ids=[anon, b1, "../x"])} == {anon, b1}
    assert store.list(ids=[]) == []
    row = store.list(owner="bob")[0]
    assert row["visibility"] == "signed_in" and row["dataset_name"] == "t.csv" and row["expires"] > row["created"]


OLD_SCHEMA = """CREATE TABLE runs (
    id TEXT PRIMARY KEY, page TEXT NOT NULL, created REAL NOT NULL,
    dataset_hash TEXT NOT NULL, dataset_name TEXT NOT NULL, n_rows INTEGER NOT NULL,
    columns TEXT NOT NULL, settings TEXT NOT NULL, metrics TEXT NOT NULL, size_bytes INTEGER NOT NULL)"""


def _old_store_files(root, run_id: str, weights: bytes):
    """The folder layout every earlier version wrote: one run's model and its dataset (no index yet)."""
    (root / "runs" / run_id).mkdir(parents=True)
    (root / "datasets").mkdir()
    table = _tiny()
    table.df.to_csv(root / "datasets" / f"{table.fingerprint}.csv.gz", index=False, compression="gzip")
    (root / "runs" / run_id / "model.safetensors").write_bytes(weights)
    return table


def test_a_store_written_by_the_previous_version_opens_and_keeps_its_runs(tmp_path):
    """The previous version's index (no owner / visibility / expires) is migrated in place, never wiped."""
    root = tmp_path / "old"
    table = _old_store_files(root, "A" * 22, b"old weights")
    created = time.time() - 86_400
    with closing(sqlite3.connect(root / "index.sqlite")) as db, db:
        db.execute(OLD_SCHEMA)
        db.execute(
            "INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?)",
            ("A" * 22, "fraud", created, table.fingerprint, "t.csv", 2, "{}", "{}", '{"auprc": 0.5}', 11),
        )
    for _ in range(2):  # opening twice is harmless
        store = RunStore(root, ttl_days=30)
    run = store.load("A" * 22, page="fraud", viewer=None)
    assert run.model == b"old weights" and run.metrics == {"auprc": 0.5} and run.dataset().df.equals(table.df)
    assert run.owner is None and run.visibility == "link"
    assert run.expires == pytest.approx(created + 30 * 86_400)
    new = _put(store, owner="alice", visibility="owner")
    assert {r["id"] for r in store.list()} == {"A" * 22, new}


def test_saving_and_deleting_runs_of_one_dataset_at_once_never_loses_a_kept_runs_data(store):
    """Deletes remove a dataset only under the index's write lock, so a run saved meanwhile keeps its data."""
    table = _tiny()
    errors: list[BaseException] = []
    kept: list[str] = []

    def saver():
        try:
            for _ in range(15):
                kept.append(_put(store, table))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def deleter():
        try:
            for _ in range(15):
                store.delete(_put(store, table))
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=saver), threading.Thread(target=deleter)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert {r["id"] for r in store.list(limit=100)} == set(kept)
    for run_id in kept:
        assert store.load(run_id).dataset().df.equals(table.df)


ISSUE_13_SCHEMA = [  # what engine/store.py of issue 13 created (before it moved onto engine/backends.py)
    OLD_SCHEMA,
    "ALTER TABLE runs ADD COLUMN owner TEXT",
    "ALTER TABLE runs ADD COLUMN visibility TEXT NOT NULL DEFAULT 'link'",
    "ALTER TABLE runs ADD COLUMN expires REAL",
    "CREATE INDEX IF NOT EXISTS runs_created ON runs(created)",
    "CREATE INDEX IF NOT EXISTS runs_owner ON runs(owner)",
    "CREATE INDEX IF NOT EXISTS runs_expires ON runs(expires)",
    "CREATE TABLE IF NOT EXISTS deleted_runs (id TEXT PRIMARY KEY, page TEXT NOT NULL, removed REAL NOT NULL, "
    "reason TEXT NOT NULL)",
]


def test_a_store_written_by_issue_13s_version_opens_unchanged(tmp_path):
    """Owners, visibilities, expiry dates and tombstones of the last SQLite-only version are kept as they were."""
    root = tmp_path / "v13"
    table = _old_store_files(root, "B" * 22, b"v13 weights")
    created, expires = time.time() - 3600, time.time() + 5 * 86_400
    with closing(sqlite3.connect(root / "index.sqlite")) as db, db:
        for statement in ISSUE_13_SCHEMA:
            db.execute(statement)
        db.execute(
            "INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                "B" * 22,
                "fraud",
                created,
                table.fingerprint,
                "t.csv",
                2,
                "{}",
                "{}",
                '{"auprc": 0.5}',
                11,
                "alice",
                "owner",
                expires,
            ),
        )
        db.execute("INSERT INTO deleted_runs VALUES (?,?,?,?)", ("C" * 22, "fraud", created, "expired"))
    store = RunStore(root, ttl_days=30)
    run = store.load("B" * 22, viewer="alice")
    assert (run.model, run.owner, run.visibility) == (b"v13 weights", "alice", "owner")
    assert run.expires == pytest.approx(expires) and run.dataset().df.equals(table.df)
    with pytest.raises(NotAllowed):
        store.load("B" * 22, viewer="bob")
    with pytest.raises(UnknownRun, match="expired on"):
        store.load("C" * 22)
    assert store.index.schema_version() == 2


def test_a_stopped_database_or_bucket_is_a_sentence_and_comes_back(pg, s3_env, monkeypatch):
    """The real PostgreSQL stopped, then a real S3 server stopped: StoreUnavailable with a sentence, no
    half-written run, and the same store works again once the database is back."""
    from engine.backends import StoreUnavailable
    from tests.services import s3_server

    bucket = "down" + str(time.time_ns())
    make_bucket(s3_env, bucket)
    store = RunStore(pg.create_database(), artifacts=f"s3://{bucket}/explorer")
    kept = _put(store)
    pg.stop()
    try:
        with pytest.raises(StoreUnavailable, match="cannot be reached|was lost") as down:
            _put(store)
        assert "share links are unavailable" in down.value.message
        with pytest.raises(StoreUnavailable):
            RunStore(
                store.index.engine.url.render_as_string(hide_password=False).replace("+psycopg", ""),
                artifacts=f"s3://{bucket}/explorer",
            )
    finally:
        pg.start()
    assert [r["id"] for r in store.list()] == [kept] and store.load(kept).model == b"weights"
    assert store.blobs.keys("runs/") == [f"runs/{kept}/model.safetensors"]  # the failed save left no files

    with s3_server() as endpoint:  # a bucket on a server that then stops
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
        make_bucket(endpoint, "gone")
        on_s3 = RunStore(pg.create_database(), artifacts="s3://gone/explorer")
    with pytest.raises(StoreUnavailable, match="could not"):
        _put(on_s3)
    assert on_s3.list() == []  # blob first, row last: nothing half-written is listed
    on_s3.index.close()
    store.index.close()
