"""Issue 23 on the pages: a crafted model file, a crafted share-link URL, Markdown in an analyst's column names and
uploads queued for the server's reading slots — each through the real page in AppTest."""

from __future__ import annotations

import re
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
from streamlit.testing.v1 import AppTest

from engine import artifacts
from engine import diagnosis as dx
from engine.data import load_table
from tests.conftest import SAMPLES, open_app_page
from tests.peak import Peak

TRACKER = "![x](https://tracker.example/p.png)"


def _uploader(at: AppTest, key: str):
    return next(u for u in at.get("file_uploader") if u.key == key)


@pytest.fixture(scope="module")
def crafted_model() -> tuple[bytes, bytes]:
    """A real Diagnosis model file, and the same file whose settings ask for two layers of 12,000 units."""
    df = load_table(SAMPLES / dx.SAMPLE).df
    real = dx.fit(df, dx.default_columns(df), dx.QUICK).to_bytes()
    tensors, meta = artifacts.load_artifact(real, dx.KIND)
    meta["net"] = {**meta["net"], "width": 12_000, "depth": 2}  # the tabular network: two blocks of 12,000 units
    return real, artifacts.to_bytes(dx.KIND, tensors, meta)


def test_a_crafted_model_file_gets_a_sentence_and_costs_the_server_nothing(crafted_model):
    real, crafted = crafted_model
    assert len(crafted) < 100_000  # a few tens of kilobytes
    at = open_app_page("app_pages/diagnosis.py")
    with Peak() as peak:
        _uploader(at, "dx_model_upload").set_value(("m.safetensors", crafted, "application/octet-stream")).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any(
        re.search(
            r"model file is incomplete or damaged: its settings describe a network of [\d,]+ weights, "
            r"over the 20,000,000",
            e,
        )
        for e in errors
    ), errors
    assert peak.growth_mb < 100, f"{peak.growth_mb:.0f} MB to refuse a 27 KB file (before: +3.4 GB)"
    _uploader(at, "dx_model_upload").set_value(("m.safetensors", real, "application/octet-stream")).run()
    assert not at.exception and any("held-out ROC-AUC" in s.value for s in at.success)  # a genuine file still opens


def _link_script():
    import streamlit as st

    from ui.share import share_link

    st.code(share_link("diagnosis", "A" * 22))


def test_a_share_link_carries_only_the_pages_own_keys_quoted():
    at = AppTest.from_function(_link_script, default_timeout=30)
    at.query_params["dx_subgroup"] = "sex & age"
    at.query_params["dx_x&run=EVIL&a_subgroup"] = "1"  # a crafted key: before, copied unquoted (a second run=)
    at.query_params["run"] = "B" * 22
    at.query_params["utm_source"] = "mail"
    at.run()
    assert not at.exception
    link = at.code[0].value
    assert parse_qs(urlsplit(link).query) == {"run": ["A" * 22], "dx_subgroup": ["sex & age"]}, link


def test_markdown_in_a_column_name_is_shown_as_text():
    """A column named like an image must not make the page (or a link's viewer) load that image."""
    at = open_app_page("app_pages/diagnosis.py")
    at.radio(key="dx_dataset").set_value("Upload my own CSV").run()
    csv = f"age,{TRACKER},{TRACKER}\n63,1,2\n50,0,3\n".encode()
    _uploader(at, "dx_upload").set_value(("x.csv", csv, "text/csv")).run()
    errors = [e.value for e in at.error]
    assert any("appears twice" in e and "tracker.example" in e for e in errors), errors
    # every "[" escaped, so no link or image can start (before: the Markdown image itself)
    assert not any("![x](" in e or re.search(r"(?<!\\)\[", e) for e in errors), errors


def test_uploads_wait_for_a_reading_slot_with_a_note(monkeypatch):
    from ui import data as ui_data

    monkeypatch.setattr(ui_data, "_WAIT_SECONDS", 3.0)
    at = open_app_page("app_pages/diagnosis.py")
    at.radio(key="dx_dataset").set_value("Upload my own CSV").run()
    raw = (SAMPLES / dx.SAMPLE).read_bytes()
    taken = 0
    while ui_data._READING.acquire(blocking=False):  # other analysts' files hold every slot
        taken += 1
    try:
        assert taken == ui_data.PARALLEL_READS
        _uploader(at, "dx_upload").set_value(("heart.csv", raw, "text/csv")).run()
        assert any("busy reading other analysts' files" in e.value for e in at.error), [e.value for e in at.error]
        held = taken
        timer = threading.Timer(1.0, lambda: [ui_data._READING.release() for _ in range(held)])
        timer.start()  # the slots free up while this upload waits
        taken = 0
        _uploader(at, "dx_upload").set_value(("heart2.csv", raw, "text/csv")).run()
        timer.join()
    finally:
        for _ in range(taken):
            ui_data._READING.release()
    assert not at.error and any(m.label == "Rows" and m.value == "303" for m in at.metric)


def _delete_script():
    import streamlit as st

    from ui.share import delete_run

    delete_run(st.query_params["run"])
    st.write("deleted")


def test_logs_name_a_run_by_a_short_hash_never_its_id(tmp_path, monkeypatch, caplog):
    """A run id is the secret of an "anyone with the link" run: the server log carries its short hash."""
    import logging

    from engine.store import RunStore, run_ref
    from ui import share

    monkeypatch.setenv("EXPLORER_RUN_STORE", str(tmp_path / "runs"))
    monkeypatch.delenv("EXPLORER_ARTIFACTS", raising=False)
    share._open_store.clear()
    store = RunStore()
    run_id = store.save("diagnosis", b"model", load_table(b"a,b\n1,2\n3,4\n", "t.csv"), {}, {}, {})
    at = AppTest.from_function(_delete_script, default_timeout=30)
    at.query_params["run"] = run_id
    with caplog.at_level(logging.INFO):
        at.run()
    share._open_store.clear()
    assert not at.exception and store.list() == []
    assert run_ref(run_id) in caplog.text and run_id not in caplog.text, caplog.text


def test_no_log_line_in_the_app_names_a_run_id():
    """Every logging call that mentions a run goes through run_ref / log_failure (a guard for new code)."""
    from tests.conftest import ROOT

    for path in [*sorted((ROOT / "ui").glob("*.py")), *sorted((ROOT / "engine").rglob("*.py")), ROOT / "app.py"]:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\blog(ger)?\.(debug|info|warning|error|exception|critical)\(.*\brun_id\b", line):
                hashed = "run_ref(run_id)" in line or ".replace(str(run_id), ref)" in line  # ui.share.log_failure
                assert hashed, f"{path.name}:{n} logs a run id: {line.strip()}"
