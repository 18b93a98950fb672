"""The run store behind share links: round trip, concurrency, retention, unguessable safe ids."""
from __future__ import annotations

import os
import re
import threading
import time

import numpy as np
import pandas as pd
import pytest

from engine import diagnosis as dx
from engine.data import load_table
from engine.store import RunStore, UnknownRun
from tests.conftest import SAMPLES


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "store")


@pytest.fixture(scope="module")
def heart_run():
    table = load_table(SAMPLES / "heart_disease_cleveland.csv")
    model = dx.fit(table.df, dx.default_columns(table.df), dx.DiagnosisConfig(max_epochs=40, bootstrap=0))
    return table, model


def _save(store, table, model, page="diagnosis"):
    return store.save(page, model.to_bytes(), table, {"target": "target"}, {"seed": 0}, model.metrics,
                      tables={"scores": model.predict(table.df)})


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
    assert len(list((store.root / "datasets").iterdir())) == 1  # one upload stored once
    for bad in ["../../etc/passwd", "", "x" * 22 + "/", "..%2F..%2Findex.sqlite", "A" * 21, None]:
        with pytest.raises(UnknownRun, match="not valid"):
            store.load(bad)
    with pytest.raises(UnknownRun, match="does not exist"):
        store.load("A" * 22)
    with pytest.raises(UnknownRun, match="belongs to the diagnosis page"):
        store.load(next(iter(ids)), page="fraud")


def test_two_threads_saving_at_once(store, heart_run):
    table, model = heart_run
    out, errors = [], []

    def work():
        try:
            for _ in range(3):
                out.append(_save(store, table, model))
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(out)) == 6
    assert all(store.load(i).n_rows == 303 for i in out)


def test_retention_removes_the_oldest(tmp_path, heart_run):
    table, model = heart_run
    store = RunStore(tmp_path / "s", max_runs=2)
    first = _save(store, table, model)
    time.sleep(0.01)
    second = _save(store, table, model)
    time.sleep(0.01)
    third = _save(store, table, model)
    assert [r["id"] for r in store.list()] == [third, second]
    with pytest.raises(UnknownRun):
        store.load(first)
    assert not (store.root / "runs" / first).exists()


def test_location_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_RUN_STORE", str(tmp_path / "from_env"))
    s = RunStore()
    assert s.root == tmp_path / "from_env" and (s.root / "index.sqlite").exists()
