"""One palette and one number format for every page (Okabe–Ito, colour-blind safe)."""

from __future__ import annotations

import math

import numpy as np

MODEL_COLOR = "#0072B2"  # blue: the neural model, on every page
BASELINE_COLORS = ["#E69F00", "#009E73", "#CC79A7", "#56B4E9"]  # orange first: the main baseline
POSITIVE_COLOR = "#D55E00"
NEGATIVE_COLOR = "#0072B2"
NEUTRAL_COLOR = "#999999"


def color_for(name: str, model_name: str, baselines: list[str] | tuple[str, ...]) -> str:
    if name == model_name:
        return MODEL_COLOR
    if name in baselines:
        return BASELINE_COLORS[list(baselines).index(name) % len(BASELINE_COLORS)]
    return NEUTRAL_COLOR


def fmt(x, digits: int = 3) -> str:
    """Numbers with sensible precision and thousands separators."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, int):
        return f"{x:,}"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}f}"


def pct(x, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{100 * x:.{digits}f}%"


# The analyst's currency for money figures: one setting for the whole app (the sidebar), none by default.
CURRENCY_KEY = "explorer_currency"
CURRENCIES = ("", "€", "$", "£", "CHF", "¥", "₹", "kr")


def currency() -> str:
    """The currency chosen in this session ('' = plain numbers, the default)."""
    try:
        import streamlit as st

        value = st.session_state.get(CURRENCY_KEY, "")
    except Exception:  # outside a page (a report built in a test, a worker): plain numbers
        return ""
    return value if value in CURRENCIES else ""


def in_currency() -> str:
    """' (in €)' for a money input's label when a currency is set, else ''."""
    return f" (in {currency()})" if currency() else ""


def money(x: float, basis: str = "", symbol: str | None = None) -> str:
    """Money with thousands separators and the session's currency: €6,610 · CHF 204 · 12.50 (none set).

    `basis` says what the figure is ("per 1,000 transactions", "in total"), so no amount is ever ambiguous."""
    if x is None or not np.isfinite(x):
        return "–"
    number = f"{abs(x):,.0f}" if abs(x) >= 100 else f"{abs(x):,.2f}"
    sym = currency() if symbol is None else symbol
    text = (f"{sym}{number}" if len(sym) == 1 else f"{sym} {number}") if sym else number
    text = ("-" if x < 0 else "") + text
    return f"{text} {basis}" if basis else text
