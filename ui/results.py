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


# Every download button says on_click="ignore": nothing on a page changes when a file is downloaded, so the click starts
# no rerun (a rerun costs the server a whole page for nothing).
DOWNLOAD_ONLY = "ignore"


def download_csv(df: pd.DataFrame, label: str, file_name: str, key: str) -> None:
    st.download_button(label, safe_csv(df), file_name=file_name, mime="text/csv", key=key, on_click=DOWNLOAD_ONLY)


def metric_delta(text: str | None, lower_is_better: bool = False) -> dict:
    """st.metric's delta keywords for a formatted difference ("+0.012", "-1.5 points"): one that rounds to zero reads
    "same", in grey and without an arrow, so no card shows a green arrow beside "+0.000"."""
    if text is None:
        return {"delta": None}
    number = re.search(r"[-+]?[\d,]*\.?\d+", text)
    if number is not None and float(number.group().replace(",", "")) == 0:
        rest = text[number.end() :]
        return {
            "delta": "same" + (" as " + rest[4:] if rest.startswith(" vs ") else ""),
            "delta_color": "off",
            "delta_arrow": "off",
        }
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
        st.caption(
            f"**{model_name}** on held-out data; the small coloured numbers compare it with the baseline, "
            f"**{main.lower()}**, on the same rows."
        )
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


MONEY_TIE = 0.02  # money within 2% of the no-model cost per 1,000 rows does not separate two models: a handful
# of held-out rows moves it that much (the intervals behind the ranking metric are wider still)


def _interval(iv) -> tuple[float, float] | None:
    return (float(iv[0]), float(iv[1])) if iv is not None and len(iv) == 2 else None


def _overlap(mine: tuple[float, float] | None, theirs: tuple[float, float] | None, best: float) -> bool:
    """Whether the model's 95% interval overlaps the best baseline's (or, without the baseline's, holds its value)."""
    if mine and theirs:
        overlap = mine[0] <= theirs[1] and theirs[0] <= mine[1]
    else:
        overlap = mine is not None and mine[0] <= best <= mine[1]
    return overlap


def _money_gap(model_name: str, money: dict[str, float] | None) -> tuple[float, str | None, str | None, bool]:
    """The money: the model against the baseline the page prices (its first), at the analyst's costs — the gap per
    1,000 rows (> 0: the model is cheaper), the cheaper and the dearer of the two (None without money) and whether
    the gap is a tie (under MONEY_TIE of what no model costs)."""
    priced = [n for n in (money or {}) if n not in (model_name, "No model")]
    gap, cheaper, dearer, tie = 0.0, None, None, True
    if money and model_name in money and priced:
        rival = priced[0]
        gap = money[rival] - money[model_name]  # > 0: the model is cheaper
        cheaper, dearer = (model_name, rival.lower()) if gap > 0 else (rival, model_name.lower())
        scale = abs(money.get("No model", 0.0)) or max(abs(money[rival]), abs(money[model_name]), 1e-12)
        tie = abs(gap) < MONEY_TIE * scale
    return gap, cheaper, dearer, tie


def verdict(
    model_name: str,
    metrics: dict[str, float],
    baselines: dict[str, dict[str, float]],
    key: str,
    label: str,
    lower_is_better: bool = False,
    interval: Sequence[float] | None = None,
    intervals: dict[str, dict[str, Sequence[float]]] | None = None,
    money: dict[str, float] | None = None,
    unit: str = "rows",
) -> str:
    """The run's one verdict, in one sentence, used everywhere a run is judged (the results of the page that trained,
    the share banner, the report): the model's headline beside the best baseline's, weighed by their 95% intervals
    (`intervals`: {model: {metric: (low, high)}}; `interval`: the model's alone) and, when the page has a decision
    in money, by `money` ({model or baseline or "No model": cost per 1,000 `unit`}). Overlapping intervals and money
    that does not separate the two read "no difference we can see"."""
    from ui.style import money as show_money

    value = metrics.get(key)
    if value is None:
        return ""
    rivals = {n: m[key] for n, m in baselines.items() if m.get(key) is not None}
    if not rivals:
        return f"{model_name} reaches {label} {fmt(value)}."
    best_name = (min if lower_is_better else max)(rivals, key=rivals.get)
    best = rivals[best_name]
    mine = _interval((intervals or {}).get(model_name, {}).get(key)) or _interval(interval)
    theirs = _interval((intervals or {}).get(best_name, {}).get(key))
    overlap = _overlap(mine, theirs, best)

    def shown(name: str, v: float, iv: tuple[float, float] | None) -> str:
        return f"{name} {fmt(v)}" + (f" ({fmt(iv[0])}–{fmt(iv[1])})" if iv else "")

    both = f"{label} {shown(model_name.lower(), value, mine)} against {shown(best_name.lower(), best, theirs)}"
    lower = " (lower is better)" if lower_is_better else ""
    gap, cheaper, dearer, tie = _money_gap(model_name, money)
    saving = show_money(abs(gap), f"per 1,000 {unit}")
    if overlap:
        if cheaper is None or tie:
            money_part = (
                ""
                if cheaper is None
                else (
                    f", and at your costs they are within {saving} of each other "
                    f"(under {MONEY_TIE:.0%} of what no model costs)"
                )
            )
            return (
                f"No difference we can see between {model_name} and the best baseline: {both}{lower} — the 95% "
                f"intervals overlap{money_part}, so treat them as equal."
            )
        return (
            f"{cheaper} is the better choice at your costs: it saves {saving} against {dearer}, while their ranking "
            f"cannot be told apart ({both}{lower}: the 95% intervals overlap)."
        )
    better = value < best if lower_is_better else value > best
    word = "better than" if better else "worse than"
    seen = (
        "; the 95% intervals do not overlap" if mine else "; without intervals, whether the gap is noise cannot be said"
    )
    if mine is None and fmt(value) == fmt(best):
        word, seen = "as good as", ""
    head = f"{model_name} is {word} the best baseline, {best_name.lower()} ({both}{lower}{seen})"
    if cheaper is None:
        return head + "."
    if tie:
        return head + f", and at your costs they are within {saving} of each other."
    agrees = (cheaper == model_name) == better
    if agrees:
        return head + f", and at your costs {cheaper} saves {saving} against {dearer}."
    return head + f", but at your costs {cheaper} is cheaper by {saving}: weigh the two."


def currency_picker() -> None:
    """The one currency setting of the app (sidebar): every money figure on every page and report uses it."""
    from ui.style import CURRENCIES, CURRENCY_KEY

    st.sidebar.selectbox(
        "Currency of money figures",
        CURRENCIES,
        key=CURRENCY_KEY,
        bind="query-params",
        format_func=lambda c: c or "none (plain numbers)",
        help="Costs you type and the money the pages work out are shown in this currency. "
        "Nothing is converted: pick the currency your costs are in.",
    )
