"""The home page's store line and sharing while the run store is down, with a real PostgreSQL that is
stopped (tests/services.py starts it): a sentence on the home page and on the Share tab, training
still works, and sharing comes back by itself once the database is back."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from tests.services import PostgresServer

APP = str(ROOT / "app.py")


@pytest.fixture
def fresh_store_state(monkeypatch):
    """Forget the process's open store and any remembered outage, before and after the test."""
    from ui import share

    def reset() -> None:
        share._open_store.clear()
        share._outage.update(until=0.0, error=None)

    monkeypatch.setattr(share, "_RETRY_AFTER", 0.0)  # try the store again at every rerun in this test
    reset()
    yield
    reset()


def _home() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def _texts(at: AppTest) -> str:
    return " ".join([w.value for w in at.warning] + [c.value for c in at.caption] + [i.value for i in at.info])


def test_the_home_page_names_the_kind_of_store_only(fresh_store_state, monkeypatch, tmp_path):
    """Issue 23: every visitor reads the home page: the kind of store, never its folder, host or bucket."""
    monkeypatch.setenv("EXPLORER_RUN_STORE", str(tmp_path / "runs"))
    monkeypatch.delenv("EXPLORER_ARTIFACTS", raising=False)
    text = _texts(_home())
    assert "Share links are kept in this server's own store (SQLite + files on this server)." in text
    assert str(tmp_path) not in text and "index.sqlite" not in text and "unavailable" not in text


def test_a_stopped_database_leaves_training_working_and_sharing_comes_back(fresh_store_state, monkeypatch, tmp_path):
    server = PostgresServer()
    try:
        server.init().start()
        url = server.create_database().replace("explorer@", "explorer:s3cret-pw@")  # trust auth ignores it
        server.stop()  # a real database that is down
        monkeypatch.setenv("EXPLORER_RUN_STORE", url)
        monkeypatch.setenv("EXPLORER_ARTIFACTS", str(tmp_path / "files"))
        monkeypatch.setenv("EXPLORER_STORE_CONNECT_TIMEOUT", "2")

        home = _home()
        warning = " ".join(w.value for w in home.warning)
        assert "until the run store is back: the shared store (PostgreSQL + files on this server) cannot" in warning
        assert f"127.0.0.1:{server.port}" not in _texts(home) and "s3cret" not in _texts(home)  # the log says where

        at = AppTest.from_file(APP, default_timeout=90)
        at.run()
        at.switch_page("app_pages/segmentation.py").run()
        at.radio(key="seg_dataset").set_value(
            next(o for o in at.radio(key="seg_dataset").options if o.startswith("Mall"))
        ).run()
        at.button(key="segmentation_train").click().run()
        job = next(j for j in at.session_state["_explorer_jobs"].values() if j.name == "segmentation")
        assert job.wait(120) and job.status == "done", job.error  # training does not need the store
        at.run()
        assert not at.exception, at.exception
        assert any("Sharing is unavailable until the run store is back" in w.value for w in at.warning)
        assert "segmentation_create_link" not in [b.key for b in at.button]
        assert "segmentation_model_dl" in [b.key for b in at.get("download_button")]  # the model file still offered

        server.start()  # the database is back: the same session can share, no restart
        at.run()
        assert not any("Sharing is unavailable" in w.value for w in at.warning)
        at.button(key="segmentation_create_link").click().run()
        assert not at.exception, at.exception
        assert [c.value for c in at.code if "?run=" in c.value]
        assert "Share links are kept in the shared store (PostgreSQL + files on this server)." in _texts(_home())
    finally:
        server.cleanup()


def test_a_stopped_s3_server_is_a_sentence_on_the_home_page(fresh_store_state, monkeypatch, tmp_path):
    from tests.services import S3_ENV, make_bucket, s3_server

    with s3_server() as endpoint:
        make_bucket(endpoint, "team-runs")
    # the S3 server has stopped: its bucket cannot be reached
    for name, value in {
        **S3_ENV,
        "AWS_ENDPOINT_URL": endpoint,
        "EXPLORER_RUN_STORE": str(tmp_path / "index"),
        "EXPLORER_ARTIFACTS": "s3://team-runs/explorer",
        "EXPLORER_STORE_CONNECT_TIMEOUT": "2",
    }.items():
        monkeypatch.setenv(name, value)
    warning = " ".join(w.value for w in _home().warning)
    assert "until the run store is back: this server's own store (SQLite + S3) cannot be reached" in warning
    assert "team-runs" not in warning and str(tmp_path) not in warning  # the bucket and folder are for the log
