"""The habits a reader would otherwise have to enforce (issue 25), run with the rest of the suite:

- the layers (import-linter contracts in pyproject.toml): engine never imports ui or streamlit; app_pages -> ui ->
  engine scenarios -> engine core; core modules never import scenarios or runners; no import cycles;
- lint and import order (ruff check), one format (ruff format --check), settings in pyproject.toml;
- types of all of engine/ (mypy, settings in pyproject.toml);
- sizes: no module over 600 lines, no function over 80 (engine/, ui/, app_pages/, app.py).

Each runs as the command a developer would type, from the repository root, and fails with that command's output.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    """The tool installed beside this Python (the project's virtual environment), else on PATH."""
    here = Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: `pip install -e '.[test]'` installs it")
    return found


def _run(*command: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        shown = " ".join([Path(command[0]).name, *command[1:]])
        pytest.fail(f"`{shown}` failed:\n{done.stdout[-8000:]}\n{done.stderr[-4000:]}", pytrace=False)


def test_layers_hold():
    _run(_tool("lint-imports"), "--no-cache")


def test_lint_is_clean():
    _run(_tool("ruff"), "check", "--no-cache", ".")


def test_engine_types_check():
    _run(_tool("mypy"))


def test_the_layer_contracts_read_the_one_list_of_scenarios():
    """pyproject.toml's engine contracts say `{scenarios}`; the contract types fill in engine.scenario.SCENARIOS, read
    from its source without importing it. The two readings must agree, or a scenario would escape its layer."""
    from engine.scenario import SCENARIOS
    from tools.scenario_contracts import ScenarioForbidden, scenarios

    assert scenarios() == SCENARIOS
    forbidden = ScenarioForbidden(
        "t",
        {"root_packages": ["engine"]},
        {"source_modules": ["engine.{scenarios}"], "forbidden_modules": ["engine.jobs"]},
    )
    assert sorted(str(m) for m in forbidden.source_modules) == sorted(f"engine.{name}" for name in SCENARIOS)  # type: ignore[attr-defined]


def test_format_is_clean():
    """`ruff format` (black's style, line length 120, settings in pyproject.toml) leaves every file as it is."""
    _run(_tool("ruff"), "format", "--check", "--no-cache", ".")


MODULE_LINES = 600  # issue 25: a module this long does several things; split it along its responsibilities
FUNCTION_LINES = 80  # and a function this long is several steps: name them


def test_modules_and_functions_stay_small():
    """No module of the app (engine/, ui/, app_pages/, app.py) over 600 lines and no function over 80, counted on the
    formatted code (`ruff format`), docstrings included. Splitting keeps every public name importable where it was."""
    too_long = []
    paths = [
        ROOT / "app.py",
        *(p for part in ("engine", "ui", "app_pages") for p in sorted((ROOT / part).rglob("*.py"))),
    ]
    for path in paths:
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(ROOT)
        if text.count("\n") > MODULE_LINES:
            too_long.append(f"{name}: {text.count(chr(10))} lines (at most {MODULE_LINES})")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > FUNCTION_LINES:
                    too_long.append(f"{name}:{node.lineno} {node.name}: {length} lines (at most {FUNCTION_LINES})")
    assert not too_long, "split these along their responsibilities:\n" + "\n".join(too_long)
