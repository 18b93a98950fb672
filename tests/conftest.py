"""Shared fixtures: paths, seeds, the sample tables. Tests read only what the project ships."""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_data"
ARTIFACTS = ROOT / "artifacts"  # gitignored: screenshots, server logs
# shap is a hard dependency; an image without it (the GPU image) still runs every page flow and skips only the SHAP checks
HAS_SHAP = importlib.util.find_spec("shap") is not None

_THROWAWAY = "EXPLORER_TEST_THROWAWAY_STORE"
# Keep CPU tests predictable on 2 cores shared with a browser and a server. In a pytest-xdist worker (`make test`
# runs two) the worker and the servers it starts train on one thread each: two workers of two threads on 2 cores
# oversubscribe them (engine/runners.py measured up to 5x slower epochs that way).
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("EXPLORER_TORCH_THREADS", "1")
    os.environ["OMP_NUM_THREADS"] = "1"
os.environ.setdefault("OMP_NUM_THREADS", "2")
# Runs saved by page and browser tests go to a throwaway store, never the user's: one per process, so the two
# pytest-xdist workers (which inherit the controller's environment) never see each other's runs. A store the
# developer named is kept.
if os.environ.get("EXPLORER_RUN_STORE", _THROWAWAY) == os.environ.get(_THROWAWAY, _THROWAWAY):
    os.environ["EXPLORER_RUN_STORE"] = os.environ[_THROWAWAY] = tempfile.mkdtemp(prefix="explorer-test-runs-")


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


@pytest.fixture(scope="session")
def ray_runner():
    """One local Ray instance for the whole session (2 CPUs, no dashboard) and a Ray runner on it.

    Ray is an optional extra: outside CI a missing package skips these tests; with CI=true it fails them.
    """
    try:
        import ray
    except ImportError:
        reason = "the Ray tests need the ray extra: pip install -e '.[ray,test]' (.ci/run does)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI must run the Ray tests, but " + reason, pytrace=False)
        pytest.skip(reason)
    from engine.ray_runner import RayRunner

    # Workers start in this directory, so they import this checkout's engine.
    ray.init(
        address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=400 * 1024**2
    )
    try:
        yield RayRunner()
    finally:
        ray.shutdown()


def open_app_page(page_file: str, query: dict | None = None, timeout: float = 60):
    """The app in AppTest, switched to one page (`app_pages/x.py`), with `query` in its URL (e.g. a share link's
    run); the timeout suits pages importing torch and shap."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    at.switch_page(page_file).run()
    assert not at.exception
    return at


# `make test` runs the suite in two pytest-xdist workers (-n 2), as most tests use one core of two and the browser
# tests mostly wait. Each test module is one unit of work, so what a module builds once (a page trained once, the
# full-MNIST quality fixture) is built once. The modules that start Ray are one unit, run in file order by one worker,
# so no two Ray instances meet on 2 cores and the lost-Ray trial (its own embedded instance) runs before the session's
# shared test instance starts (`ray_runner`); its 60 s of waiting on Ray's clock overlap the other worker's tests.
RAY_MODULES = (
    "tests/browser/test_ray_browser.py",
    "tests/engine/test_a_lost_ray_instance.py",
    "tests/engine/test_distributed.py",
    "tests/engine/test_ray_runner.py",
)


def pytest_xdist_make_scheduler(config, log):
    """xdist's own scheduler with our units of work (its `loadgroup` marks do not group under pytest 9.2, which no
    longer reads the node ids xdist rewrites). Units go out in file order, the long browser modules first; xdist
    would otherwise send the units with most tests first, leaving the long one-test modules for the end."""
    from xdist.scheduler import LoadScopeScheduling

    class ModulesAndRay(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return "ray" if module in RAY_MODULES else module

    config.option.loadscopereorder = False
    return ModulesAndRay(config, log)
