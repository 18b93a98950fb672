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


def money(x: float) -> str:
    """Money with thousands separators: 6,610 · 204 · 12.50."""
    if x is None or not np.isfinite(x):
        return "–"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"
