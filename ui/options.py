"""Widgets generated from a config's option metadata (engine.options): label, default, limits, step,
choices and help are written once, on the dataclass field."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import streamlit as st


def option_input(
    container: Any,
    cls: type,
    name: str,
    key: str,
    widget: str = "number",
    bind: bool = True,
    label: str | None = None,
    **extra: Any,
) -> Any:
    """One analyst option as a widget: "number" (number_input), "slider", "select" (select_slider over the
    field's `choices`) or "checkbox". The value is kept in the URL (bind) so share links carry it; `extra`
    goes to the widget (e.g. disabled=True)."""
    f = next(f for f in fields(cls) if f.name == name)
    meta = f.metadata
    label, default = label or meta.get("label", name.replace("_", " ").capitalize()), f.default
    kw: dict[str, Any] = dict(key=key, help=meta.get("help"), **extra)
    if bind:
        kw["bind"] = "query-params"
    if widget == "checkbox" or isinstance(default, bool):
        return container.checkbox(label, default, **kw)
    if widget == "select":
        return container.select_slider(label, list(meta["choices"]), default, **kw)
    lo, hi, step = meta.get("min"), meta.get("max"), meta.get("step")
    if isinstance(default, float):
        lo, hi = (float(v) if v is not None else None for v in (lo, hi))
        step = float(step) if step is not None else None
    if widget == "slider":
        return container.slider(label, lo, hi, default, step, **kw)
    return container.number_input(label, lo, hi, default, step, **kw)


def advanced_options(cls: type, prefix: str, widgets: dict[str, str], **fixed: Any) -> Any:
    """The 'Advanced training options' expander of a page: one widget per named option of `cls` (kinds as in
    `option_input`, keys `<prefix>_<option>`), three to a row; returns the config, with `fixed` fields on top."""
    with st.expander("Advanced training options"):
        boxes = st.columns(3)
        values = {
            name: option_input(boxes[i % 3], cls, name, f"{prefix}_{name}", kind)
            for i, (name, kind) in enumerate(widgets.items())
        }
    return cls(**values, **fixed)
