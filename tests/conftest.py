"""Shared fixtures: paths, seeds, the sample tables. Tests read only what the project ships."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_data"
ARTIFACTS = ROOT / "artifacts"  # gitignored: screenshots, server logs

# Keep CPU tests predictable on 2 cores shared with a browser and a server.
os.environ.setdefault("OMP_NUM_THREADS", "2")
# Runs saved by page and browser tests go to a throwaway store, never the user's.
os.environ.setdefault("EXPLORER_RUN_STORE", tempfile.mkdtemp(prefix="explorer-test-runs-"))


@pytest.fixture(autouse=True)
def _seeded():
    import random

    import torch

    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="session")
def samples() -> Path:
    return SAMPLES


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def open_app_page(page_file: str):
    """The app in AppTest, switched to one page (`app_pages/x.py`); the timeout suits pages importing torch and shap."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page(page_file).run()
    assert not at.exception
    return at
