"""Numbers written as text (1,234.50 · 1.234,50 · 12,5 · €30 · 15%) read as numbers, with a note for each column."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from engine.data.columns import _looks_like_id

_CURRENCY = re.compile(r"^[$€£¥]\s*|\s*[$€£¥%]$")
_GROUP_SPACE = re.compile(r"(?<=\d)[ \u00a0\u202f](?=\d{3}(\D|$))")
_US = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$|^[+-]?\.\d+$")
_EU = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$|^[+-]?,\d+$")
_WORDS_SHOWN = 3


def _clean_number_text(text: pd.Series) -> pd.Series:
    return text.str.replace(_CURRENCY, "", regex=True).str.replace(_GROUP_SPACE, "", regex=True)


def _numeric_share_at_least(text: pd.Series, share: float) -> bool:
    cleaned = _clean_number_text(text)
    return max(cleaned.str.match(_US).mean(), cleaned.str.match(_EU).mean()) >= share


def _coerce_numbers(df: pd.DataFrame, delimiter: str, notes: list[str]) -> None:
    """Text columns that really hold numbers become numbers, in place, with a note for each.

    Handles thousands separators (1,234.50 or 1.234,50 or 1 234), decimal commas (12,5),
    currency and percent signs, and a few words in a numeric column ("unknown", "fifty"),
    which become missing cells. A column stays text unless at least 90% of its cells are numbers.
    """
    for col in df.columns:
        s = df[col]
        if s.dtype != object:
            continue
        present = s.notna()
        text = s[present].astype(str).str.strip()
        if text.empty or not _numeric_share_at_least(text.head(500), 0.8):
            continue  # a cheap look at the first cells spares a full pass over real text columns
        cleaned = _clean_number_text(text)
        us, eu = cleaned.str.match(_US), cleaned.str.match(_EU)
        n_us, n_eu = int(us.sum()), int(eu.sum())
        if max(n_us, n_eu) < 0.9 * len(text) or max(n_us, n_eu) < 3:
            continue
        european = n_eu > n_us or (n_eu == n_us and delimiter != ",")
        ok = eu if european else us
        bad = text[~ok.to_numpy()]
        if len(bad) and (_looks_like_id(col) or bad.str.contains(r"\d", regex=True).any() or bad.nunique() > 10):
            continue  # codes such as 85123A or C536379: a text column, not numbers with a few words
        if european:
            numbers = pd.to_numeric(
                cleaned.where(eu).str.replace(".", "", regex=False).str.replace(",", ".", regex=False), errors="coerce"
            )
        else:
            numbers = pd.to_numeric(cleaned.where(us).str.replace(",", "", regex=False), errors="coerce")
        values = pd.Series(np.nan, index=s.index, dtype=float)
        values[present] = numbers.to_numpy(dtype=float)
        df[col] = values
        how = []
        if european and cleaned[ok].str.contains(",", regex=False).any():
            how.append("decimal commas (12,5)")
        if not european and cleaned[ok].str.contains(",", regex=False).any():
            how.append("thousands separators (1,234.5)")
        if european and cleaned[ok].str.contains(".", regex=False).any():
            how.append("thousands separators (1.234,5)")
        if (text != cleaned).any():
            how.append("currency, percent signs or spaces between digit groups")
        if how:
            notes.append(f"Column '{col}' is written with {' and '.join(how)}; read it as numbers.")
        if len(bad):
            examples = ", ".join(repr(v[:30]) for v in bad.unique()[:_WORDS_SHOWN])
            notes.append(
                f"Column '{col}' holds numbers, but {len(bad):,} cell(s) are not numbers ({examples}); "
                "they count as missing. Fix them in the file if they should have values."
            )
