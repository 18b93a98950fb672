"""What is in a table's columns: their kinds (`column_kind`, `profile`), dates and ids written as text, zeros that
stand for empty cells, infinite values."""

from __future__ import annotations

import hashlib
import re
import warnings
from typing import Iterable

import numpy as np
import pandas as pd

from engine.data.table import DataError, Table

KINDS = ("numeric", "categorical", "text", "datetime", "id", "constant", "empty")


def column_kind(s: pd.Series) -> str:
    """What an analyst would call this column."""
    non_null = s.dropna()
    n = len(non_null)
    if n == 0:
        return "empty"
    nunique = non_null.nunique()
    if nunique == 1:
        return "constant"
    if pd.api.types.is_bool_dtype(s):
        return "categorical"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "datetime"
    if pd.api.types.is_numeric_dtype(s):
        if pd.api.types.is_integer_dtype(s) and nunique == len(s) and _looks_like_id(s.name):
            return "id"
        return "numeric"
    as_text = non_null.astype(str)
    if nunique <= max(20, int(0.05 * n)) and nunique < n:
        return "categorical"
    if _mostly_dates(as_text):
        return "datetime"
    if nunique == n and _looks_like_id(s.name):
        return "id"
    return "text"


def _looks_like_id(name: object) -> bool:
    return bool(re.search(r"(^|[_\s])(id|key|code|number|no)$", str(name).lower())) or str(name).lower() in {
        "id",
        "index",
        "patient",
        "customer",
    }


_DATE_SHAPES = (
    r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}"  # 2024-01-05, 05/01/2024, 5.1.24
    r"|[A-Za-z]{3,9}\.? \d{1,2},? \d{4}"  # Jan 7 2024, January 7, 2024
    r"|\d{1,2} [A-Za-z]{3,9}\.? \d{4}"
)  # 7 Jan 2024


def _mostly_dates(values: pd.Series) -> bool:
    sample = values.head(200)
    if not sample.str.contains(_DATE_SHAPES, regex=True).mean() > 0.9:
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return parsed.notna().mean() > 0.9


def parse_date_text(text: pd.Series, col: str) -> tuple[pd.Series, list[str]]:
    """Dates written as text → timestamps (NaT where unreadable), and notes when the column mixes formats.

    ISO dates (2024-01-05) are read exactly; otherwise each cell is read on its own ("mixed"), month
    first or day first, whichever reads more cells (ties: month first), and the note says which.
    """
    text = text.astype("string").str.strip()
    text = text.mask(text == "")
    notes: list[str] = []

    def parse(**kw) -> pd.Series:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "could not infer format": the result is checked
            try:
                return pd.to_datetime(text, errors="coerce", **kw)
            except (ValueError, TypeError, OverflowError):
                return pd.to_datetime(text, errors="coerce", utc=True, **kw)

    parsed = parse(format="ISO8601")
    if parsed.isna().sum() == text.isna().sum():
        return parsed, notes
    month_first, day_first = parse(format="mixed", dayfirst=False), parse(format="mixed", dayfirst=True)
    best = day_first if day_first.notna().sum() > month_first.notna().sum() else month_first
    if best.notna().sum() <= parsed.notna().sum():
        return parsed, notes
    shapes = text.dropna().str.replace(r"\d", "9", regex=True).str.replace(r"[A-Za-z]+", "A", regex=True)
    if shapes.nunique() > 1:
        examples = text.dropna().groupby(shapes.dropna()).first().head(3)
        notes.append(
            f"Dates in '{col}' are written in {shapes.nunique()} formats (such as "
            f"{', '.join(map(repr, examples))}); each was read on its own."
        )
    both = month_first.notna() & day_first.notna() & (month_first != day_first)
    if both.any():
        order = "day first (31/01/2024)" if best is day_first else "month first (01/31/2024, US style)"
        notes.append(
            f"Dates like '{text[both].iloc[0]}' in '{col}' could be read either way; they were read {order}, "
            "which reads the most dates. Write dates as 2024-01-31 to be sure."
        )
    return best, notes


def id_strings(s: pd.Series) -> pd.Series:
    """Ids as text ("12583", not "12583.0"); missing and blank ids become <NA>."""
    if pd.api.types.is_float_dtype(s):
        vals = s.dropna()
        if len(vals) and np.all(np.mod(vals, 1) == 0) and np.abs(vals).max() < 2**53:
            s = s.astype("Int64")
    out = s.astype("string").str.strip()
    return out.mask(out == "")


def profile(df: pd.DataFrame) -> pd.DataFrame:
    """One row per column: kind, missing values, distinct values, an example."""
    rows = []
    for col in df.columns:
        s = df[col]
        non_null = s.dropna()
        rows.append(
            {
                "column": str(col),
                "kind": column_kind(s),
                "missing": int(s.isna().sum()),
                "missing %": round(100 * s.isna().mean(), 1),
                "distinct": int(non_null.nunique()),
                "example": str(non_null.iloc[0])[:40] if len(non_null) else "",
            }
        )
    return pd.DataFrame(rows)


IMPOSSIBLE_ZERO_FLOOR = 5.0  # every other value at least this far from zero...
IMPOSSIBLE_ZERO_SHARE = 0.05  # ...and at least this share of the column's typical value (its median)


_AMOUNT_WORDS = {
    "sales",
    "sale",
    "sold",
    "units",
    "unit",
    "qty",
    "quantity",
    "amount",
    "revenue",
    "count",
    "demand",
    "orders",
    "order",
    "visits",
    "spend",
    "spent",
    "customers",
    "transactions",
    "returns",
    "balance",
    "price",
    "cost",
    "profit",
    "income",
    "mnt",
    "num",
}


def impossible_zeros(df: pd.DataFrame, min_rows: int = 20) -> dict[str, tuple[int, float]]:
    """Number columns whose zeros look like empty cells (a blood pressure, an insulin level or a BMI of 0): some
    zeros (at most half the rows) while every other value is positive and far from zero — at least
    IMPOSSIBLE_ZERO_FLOOR and IMPOSSIBLE_ZERO_SHARE of the median. Counts that start at 0 (pregnancies, tool wear,
    vessels) never qualify: their next value is small. {column: (zeros, smallest other value)}."""
    out: dict[str, tuple[int, float]] = {}
    for col in df.columns:
        s = df[col]
        if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            continue
        if set(re.findall(r"[a-z]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", str(col)).lower())) & _AMOUNT_WORDS:
            continue  # nothing sold on a closed day is a real 0
        v = s.dropna().to_numpy(dtype=float)
        zeros = int((v == 0).sum())
        rest = v[v != 0]
        if len(v) < min_rows or zeros == 0 or zeros > len(v) / 2 or len(rest) < min_rows or (rest < 0).any():
            continue
        low = float(rest.min())
        if low >= IMPOSSIBLE_ZERO_FLOOR and low >= IMPOSSIBLE_ZERO_SHARE * float(np.median(rest)):
            out[str(col)] = (zeros, low)
    return out


def zeros_as_missing(table: Table, columns: Iterable[str]) -> Table:
    """The table with the zeros of `columns` made empty cells, a note saying so, and its own fingerprint (a model
    trained on it is another run)."""
    columns = list(columns)
    df = table.df.copy()
    counts = {}
    for c in columns:
        zero = df[c] == 0
        counts[c] = int(zero.sum())
        df[c] = df[c].mask(zero)
    note = (
        "Zeros taken as missing values (they cannot be real measurements): "
        + ", ".join(f"{c} ({n:,} rows)" for c, n in counts.items())
        + "."
    )
    digest = hashlib.sha256((table.fingerprint + "|zeros:" + ",".join(columns)).encode()).hexdigest()
    return Table(df, table.name, [*table.notes, note], digest, table.notice)


def check_finite(df: pd.DataFrame, columns: Iterable[str], name: str = "your file") -> None:
    """Raise DataError naming the first column that holds infinite values."""
    for col in columns:
        s = df[col]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            bad = np.isinf(s.to_numpy(dtype=float, na_value=np.nan))
            if bad.any():
                first = int(np.flatnonzero(bad)[0])
                raise DataError(
                    f"Column '{col}' in {name} has {int(bad.sum()):,} infinite value(s) "
                    f"(first at data row {first + 1:,}). Replace them with a number, "
                    "or leave those cells empty so they count as missing."
                )
