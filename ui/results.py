"""Results components shared by the pages: metric cards beside the baseline, downloads."""
from __future__ import annotations

import re
from typing import Sequence

import pandas as pd
import streamlit as st

from ui.style import fmt

_FORMULA_START = re.compile(r"^[=+\-@\t\r]")


def safe_csv(df: pd.DataFrame) -> bytes:
    """CSV bytes for download; text cells that a spreadsheet would run as a formula are escaped."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(lambda v: "'" + v if isinstance(v, str) and _FORMULA_START.match(v) else v)
    out.columns = ["'" + c if isinstance(c, str) and _FORMULA_START.match(c) else c for c in out.columns]
    return out.to_csv(index=False).encode("utf-8")


def download_csv(df: pd.DataFrame, label: str, file_name: str, key: str) -> None:
    st.download_button(label, safe_csv(df), file_name=file_name, mime="text/csv", key=key)


def metric_delta(text: str | None, lower_is_better: bool = False) -> dict:
    """st.metric's delta keywords for a formatted difference ("+0.012", "-1.5 points"): one that rounds to zero reads
    "same", in grey and without an arrow, so no card shows a green arrow beside "+0.000"."""
    if text is None:
        return {"delta": None}
    number = re.search(r"[-+]?[\d,]*\.?\d+", text)
    if number is not None and float(number.group().replace(",", "")) == 0:
        rest = text[number.end():]
        return {"delta": "same" + (" as " + rest[4:] if rest.startswith(" vs ") else ""), "delta_color": "off",
                "delta_arrow": "off"}
    return {"delta": text, "delta_color": "inverse" if lower_is_better else "normal"}


def metric_cards(
    model_name: str,
    metrics: dict[str, float],
    baselines: dict[str, dict[str, float]],
    keys: Sequence[str],
    labels: dict[str, str],
    help: dict[str, str],
    lower_is_better: Sequence[str] = (),
) -> None:
    """One card per metric: the model's value, the delta against the first baseline (named in a caption)."""
    main = next(iter(baselines)) if baselines else None
    if main:
        st.caption(f"**{model_name}** on held-out data; the small coloured numbers compare it with the baseline, "
                   f"**{main.lower()}**, on the same rows.")
    cols = st.columns(len(keys))
    for col, k in zip(cols, keys):
        value = metrics.get(k)
        delta = None
        if main is not None and k in baselines[main] and value is not None:
            delta = f"{value - baselines[main][k]:+.3f}"
        col.metric(labels.get(k, k), fmt(value), help=help.get(k), **metric_delta(delta, k in lower_is_better))


def comparison_table(
    model_name: str,
    metrics: dict[str, float],
    baselines: dict[str, dict[str, float]],
    keys: Sequence[str],
    labels: dict[str, str],
    intervals: dict[str, dict[str, tuple[float, float]]] | None = None,
) -> pd.DataFrame:
    """Metrics as rows, models as columns; with intervals, 'value (low–high)'."""
    table = {}
    for name, m in {model_name: metrics, **baselines}.items():
        cells = []
        for k in keys:
            cell = fmt(m.get(k))
            iv = (intervals or {}).get(name, {}).get(k)
            if iv:
                cell += f"  ({fmt(iv[0])}–{fmt(iv[1])})"
            cells.append(cell)
        table[name] = cells
    return pd.DataFrame(table, index=[labels.get(k, k) for k in keys])


def verdict(model_name: str, metrics: dict[str, float], baselines: dict[str, dict[str, float]], key: str, label: str,
            lower_is_better: bool = False, interval: Sequence[float] | None = None) -> str:
    """The run's verdict in one sentence: the model's headline beside the best baseline's, and whether the gap is
    larger than the model's own uncertainty (its 95% interval), so a report or banner can lead with it."""
    value = metrics.get(key)
    if value is None:
        return ""
    head = f"{model_name} reaches {label} {fmt(value)}" + (" (lower is better)" if lower_is_better else "")
    rivals = {n: m[key] for n, m in baselines.items() if m.get(key) is not None}
    if not rivals:
        return head + "."
    best_name = (min if lower_is_better else max)(rivals, key=rivals.get)
    best = rivals[best_name]
    better = value < best if lower_is_better else value > best
    within = interval is not None and len(interval) == 2 and interval[0] <= best <= interval[1]
    if within:
        word = "about as good as"
    else:
        word = "better than" if better else "worse than"
    tail = " — within the model's uncertainty, so treat them as equal" if within and value != best else ""
    return f"{head}: {word} the best baseline, {best_name.lower()} ({fmt(best)}){tail}."


def currency_picker() -> None:
    """The one currency setting of the app (sidebar): every money figure on every page and report uses it."""
    from ui.style import CURRENCIES, CURRENCY_KEY

    st.sidebar.selectbox("Currency of money figures", CURRENCIES, key=CURRENCY_KEY, bind="query-params",
                         format_func=lambda c: c or "none (plain numbers)",
                         help="Costs you type and the money the pages work out are shown in this currency. "
                              "Nothing is converted: pick the currency your costs are in.")
