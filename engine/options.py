"""Analyst-facing options as self-describing dataclass fields (pytorch-tabular style).

`option(default, "help in plain words", min=..., max=...)` declares a field; `help_of(cls)`
returns {field: metadata} so pages reuse the same words for widgets and tooltips.
"""
from __future__ import annotations

from dataclasses import field, fields
from typing import Any


def option(default: Any, help: str, **kw: Any):
    """A dataclass field with a default and metadata {"help": ..., **kw} (e.g. min, max, choices)."""
    return field(default=default, metadata={"help": help, **kw})


def help_of(cls: type) -> dict[str, dict]:
    return {f.name: dict(f.metadata) for f in fields(cls)}
