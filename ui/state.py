"""Per-session memo: compute once per key, keep the latest few, never share across users."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable

import streamlit as st


def memo(slot: str, key: str, compute: Callable[[], Any], keep: int = 2) -> Any:
    """`compute()` once for `key` in this session (e.g. SHAP for one trained model)."""
    store: OrderedDict = st.session_state.setdefault(f"_memo_{slot}", OrderedDict())
    if key not in store:
        store[key] = compute()
        while len(store) > keep:
            store.popitem(last=False)
    return store[key]
