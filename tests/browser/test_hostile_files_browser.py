"""Issue 23 in the browser, on its own server whose memory is read from /proc: a crafted 27 KB model file and a
420 KB gzip that unpacks to 300 MB each get their sentence, and the server's peak memory barely moves (before:
+3.4 GB and +4.2 GB); a column named like a Markdown image shows as text and loads no image."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from engine import artifacts
from engine import diagnosis as dx
from engine.data import load_table
from tests.browser.conftest import ARTIFACTS, _require_browser, assert_no_traceback, open_page, upload, wait_idle
from tests.conftest import ROOT, SAMPLES
from tests.peak import Peak
from tests.servers import StreamlitServer

BOMB = ROOT / "tests" / "data" / "bad" / "diagnosis_gzip_bomb_300mb.csv.gz"
LIMIT_MB = 200  # .streamlit/config.toml maxUploadSize
TRACKER = "![x](https://tracker.example/p.png)"


@pytest.fixture(scope="module")
def server():
    _require_browser()
    with (
        tempfile.TemporaryDirectory() as store,
        StreamlitServer(ARTIFACTS / "streamlit-hostile.log", env={"EXPLORER_RUN_STORE": store}, timeout=90) as s,
    ):
        yield s


def _crafted_model(tmp_path: Path) -> Path:
    df = load_table(SAMPLES / dx.SAMPLE).df
    tensors, meta = artifacts.load_artifact(dx.fit(df, dx.default_columns(df), dx.QUICK).to_bytes(), dx.KIND)
    meta["net"] = {**meta["net"], "hidden": [12_000, 12_000]}  # two layers of 12,000 units, the weights as trained
    path = tmp_path / "diagnosis_model.safetensors"
    path.write_bytes(artifacts.to_bytes(dx.KIND, tensors, meta))
    return path


def test_hostile_files_get_a_sentence_and_leave_the_servers_memory_alone(browser, server, tmp_path):
    model = _crafted_model(tmp_path)
    assert model.stat().st_size < 100_000
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    page = ctx.new_page()
    page.set_default_timeout(90_000)
    try:
        open_page(page, server.url, "diagnosis")
        page.get_by_text("Already have a model file from this page?").click()
        wait_idle(page)
        with Peak(server.proc.pid) as peak:
            upload(page, model, label="Model file")
            page.get_by_text("model file is incomplete or damaged").wait_for()
        assert_no_traceback(page)
        assert peak.growth_mb < 100, f"the server took {peak.growth_mb:.0f} MB to refuse a crafted model file"
        print(f"crafted model file: server peak +{peak.growth_mb:.0f} MB")

        page.get_by_text("Upload my own CSV").click()
        wait_idle(page)
        with Peak(server.proc.pid) as peak:
            upload(page, BOMB, label="CSV file")
            page.get_by_text(f"unpacks to more than {LIMIT_MB} MB, the upload limit").wait_for()
        assert_no_traceback(page)
        assert peak.growth_mb < 1.5 * LIMIT_MB, f"the server took {peak.growth_mb:.0f} MB to refuse a gzip bomb"
        print(f"gzip bomb: server peak +{peak.growth_mb:.0f} MB, held +{peak.held_mb:.0f} MB")

        named = tmp_path / "tracker.csv"
        named.write_text(f"age,{TRACKER},{TRACKER}\n63,1,2\n50,0,3\n")
        upload(page, named, label="CSV file")
        sentence = page.get_by_test_id("stAlert").filter(has_text="appears twice").first
        sentence.wait_for()
        assert TRACKER in sentence.inner_text()  # the name as the analyst wrote it, as text
        assert page.locator('img[src*="tracker.example"]').count() == 0  # and no image was loaded from it
    finally:
        ctx.close()
