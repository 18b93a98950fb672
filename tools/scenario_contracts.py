"""import-linter contract types whose scenario modules come from the one list of scenarios.

`engine.scenario.SCENARIOS` names every scenario once. The layer contracts in pyproject.toml say `{scenarios}`
where they mean all of them, and these contract types put the list in its place before import-linter checks the
contract, so a new scenario is its own files plus its line in SCENARIOS: nothing in pyproject.toml names it.

- `scenario_layers` is import-linter's `layers` contract; a layer written `{scenarios}` becomes every scenario, as
  independent siblings (`diagnosis | fraud | …`).
- `scenario_forbidden` is its `forbidden` contract; a source module written `engine.{scenarios}` becomes one source
  module per scenario.

The list is read from engine/scenario.py's source (its syntax tree), not by importing it: the linter does not
load torch, and a scenario module that fails to import still gets its imports checked.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path
from typing import Any

from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.layers import LayersContract

PLACEHOLDER = "{scenarios}"
SCENARIO_MODULE = Path(__file__).resolve().parents[1] / "engine" / "scenario.py"


@cache
def scenarios(path: Path = SCENARIO_MODULE) -> tuple[str, ...]:
    """The names in `SCENARIOS = (...)` of engine/scenario.py."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "SCENARIOS" for t in node.targets):
            names = ast.literal_eval(node.value)
            if not names or not all(isinstance(n, str) and n.isidentifier() for n in names):
                raise ValueError(f"{path}: SCENARIOS must be a non-empty tuple of module names")
            return tuple(names)
    raise ValueError(f"{path}: no `SCENARIOS = (...)` found")


def _expanded(value: Any, joiner: str | None) -> Any:
    """A contract option with the placeholder replaced: inside one string (`joiner` between the names), or a list
    item per scenario (joiner None)."""
    if isinstance(value, str):
        return value.replace(PLACEHOLDER, (joiner or " | ").join(scenarios()))
    if isinstance(value, list):
        out: list[Any] = []
        for item in value:
            if joiner is None and isinstance(item, str) and PLACEHOLDER in item:
                out.extend(item.replace(PLACEHOLDER, name) for name in scenarios())
            else:
                out.append(_expanded(item, joiner))
        return out
    return value


class ScenarioLayers(LayersContract):
    """import-linter's `layers` contract, with `{scenarios}` in a layer standing for every listed scenario."""

    def __init__(self, name: str, session_options: dict[str, Any], contract_options: dict[str, Any]) -> None:
        options = {key: _expanded(value, " | ") for key, value in contract_options.items()}
        super().__init__(name, session_options, options)


class ScenarioForbidden(ForbiddenContract):
    """import-linter's `forbidden` contract, with `engine.{scenarios}` standing for one module per scenario."""

    def __init__(self, name: str, session_options: dict[str, Any], contract_options: dict[str, Any]) -> None:
        options = {key: _expanded(value, None) for key, value in contract_options.items()}
        super().__init__(name, session_options, options)
