"""Helpers for page tests of the Share tab: what is in the run store, and pressing Create share link."""

from __future__ import annotations

import os
from pathlib import Path

from streamlit.testing.v1 import AppTest


def store_files() -> set[str]:
    """Every file in the test run store (EXPLORER_RUN_STORE, set by tests/conftest.py), index excluded."""
    root = Path(os.environ["EXPLORER_RUN_STORE"])
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and not p.name.startswith("index.sqlite")}


def create_share_link(at: AppTest, page: str) -> str:
    """Press Create share link on `page`'s Share tab; return the new run id from the link shown."""
    assert not [c for c in at.code if "?run=" in c.value], "a link was shown before the analyst asked for one"
    before = store_files()
    at.button(key=f"{page}_create_link").click().run()
    assert not at.exception, at.exception
    links = [c.value for c in at.code if "?run=" in c.value]
    assert links, "no share link shown after Create share link"
    run_id = links[0].split("?run=")[1].split("&")[0]
    assert any(run_id in f for f in store_files() - before), "the link's run was not stored"
    return run_id
