"""Tabular preprocessing with parameters that save as plain JSON (no pickle).

Numeric columns: median imputation, standardisation. Categorical columns: missing as its
own level, the most frequent `max_categories` levels one-hot encoded, the rest pooled as
"other". `groups` maps each analyst column to its encoded columns, so explanations can be
summed back to the columns the analyst knows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from engine.data import DataError, check_finite, column_kind

MISSING = "(missing)"
OTHER = "(other)"
CODED_MAX_VALUES = 10  # a number column with at most this many whole values is a code: what-if offers those values


@dataclass
class ColumnPlan:
    name: str
    kind: str  # "numeric" | "categorical"
    median: float = 0.0
    mean: float = 0.0
    std: float = 1.0
    levels: list[str] = field(default_factory=list)
    low: float | None = None  # numeric: the range seen in training (what-if inputs beyond it are flagged)
    high: float | None = None
    codes: list[float] = field(
        default_factory=list
    )  # numeric with few whole values (sex 0/1, thal 3/6/7): those values

    @property
    def encoded_names(self) -> list[str]:
        if self.kind == "numeric":
            return [self.name]
        return [f"{self.name}={lvl}" for lvl in self.levels]


def _as_text(s: pd.Series) -> pd.Series:
    out = s.astype("string").fillna(MISSING)
    return out.str.strip().replace("", MISSING)


def _to_numeric(s: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(s):
        return s.astype(float)
    return pd.to_numeric(s, errors="coerce")


class Preprocessor:
    """Fit on the training rows, then turn any frame with those columns into a float32 matrix."""

    def __init__(self, max_categories: int = 20):
        self.max_categories = max_categories
        self.plans_: list[ColumnPlan] = []
        self.notes_: list[str] = []

    # ------------------------------------------------------------------ fit / transform
    def fit(self, df: pd.DataFrame, features: Sequence[str]) -> Preprocessor:
        check_finite(df, features)
        self.plans_, self.notes_ = [], []
        for col in features:
            s = df[col]
            kind = column_kind(s)
            if kind in ("empty", "constant"):
                what = "is empty" if kind == "empty" else "has the same value in every row"
                self.notes_.append(f"Left out '{col}': it {what}, so it cannot tell rows apart.")
                continue
            if kind == "text" or kind == "id" and not pd.api.types.is_numeric_dtype(s):
                raise DataError(
                    f"Column '{col}' holds free text ({s.nunique():,} different values in {len(s):,} rows), "
                    "which the model cannot learn from. Remove it from the feature columns, "
                    "or turn it into a few categories first."
                )
            if kind == "datetime":
                raise DataError(
                    f"Column '{col}' holds dates. This page cannot use dates as features: remove it from the "
                    "feature columns, or replace it with a number such as age in days."
                )
            if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
                x = _to_numeric(s)
                median = float(x.median())
                filled = x.fillna(median)
                std = float(filled.std(ddof=0)) or 1.0
                missing = int(x.isna().sum())
                if missing:
                    self.notes_.append(
                        f"Filled {missing:,} missing value(s) in '{col}' with its median ({median:,.4g})."
                    )
                seen = x.dropna()
                distinct = np.unique(seen.to_numpy(dtype=np.float64))
                codes = (
                    [float(v) for v in distinct]
                    if len(distinct) <= CODED_MAX_VALUES and np.all(distinct == np.round(distinct))
                    else []
                )
                self.plans_.append(
                    ColumnPlan(
                        col,
                        "numeric",
                        median=median,
                        mean=float(filled.mean()),
                        std=std,
                        low=float(seen.min()),
                        high=float(seen.max()),
                        codes=codes,
                    )
                )
            else:
                text = _as_text(s)
                counts = text.value_counts()
                levels = [str(v) for v in counts.index[: self.max_categories]]
                if len(counts) > self.max_categories:
                    levels.append(OTHER)
                    self.notes_.append(
                        f"'{col}' has {len(counts):,} categories; kept the {self.max_categories} most common "
                        f"and pooled the rest as '{OTHER}'."
                    )
                self.plans_.append(ColumnPlan(col, "categorical", levels=levels))
        if not self.plans_:
            raise DataError(
                "None of the chosen feature columns can be used (all are empty or constant). "
                "Pick columns whose values differ between rows."
            )
        return self

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        missing = [p.name for p in self.plans_ if p.name not in df.columns]
        if missing:
            raise DataError(
                f"Your file lacks the column(s) {', '.join(repr(m) for m in missing)} that the model was "
                "trained on. Add them (empty cells are fine) with exactly the same header names."
            )
        check_finite(df, [p.name for p in self.plans_ if p.kind == "numeric"])
        blocks = []
        for p in self.plans_:
            s = df[p.name]
            if p.kind == "numeric":
                x = _to_numeric(s)
                bad = x.isna() & s.notna()
                if bad.any():
                    example = s[bad].iloc[0]
                    raise DataError(
                        f"Column '{p.name}' should hold numbers but has text such as '{example}' "
                        f"({int(bad.sum()):,} cell(s)). Fix those cells or leave them empty."
                    )
                blocks.append(((x.fillna(p.median).to_numpy(float) - p.mean) / p.std)[:, None])
            else:
                text = _as_text(s)
                known = set(p.levels)
                if OTHER in known:
                    text = text.where(text.isin(known), OTHER)
                codes = pd.Categorical(text, categories=p.levels).codes
                onehot = np.zeros((len(df), len(p.levels)))
                rows = np.flatnonzero(codes >= 0)
                onehot[rows, codes[rows]] = 1.0
                blocks.append(onehot)
        return np.hstack(blocks).astype(np.float32)

    def fit_transform(self, df: pd.DataFrame, features: Sequence[str]) -> np.ndarray:
        return self.fit(df, features).transform(df)

    # ------------------------------------------------------------------ the map back
    @property
    def features(self) -> list[str]:
        """The analyst's columns the model uses, in order."""
        return [p.name for p in self.plans_]

    @property
    def encoded_names(self) -> list[str]:
        return [n for p in self.plans_ for n in p.encoded_names]

    @property
    def groups(self) -> dict[str, list[int]]:
        """Analyst column -> indices of its encoded columns."""
        out, i = {}, 0
        for p in self.plans_:
            k = len(p.encoded_names)
            out[p.name] = list(range(i, i + k))
            i += k
        return out

    def group_matrix(self) -> np.ndarray:
        """(encoded, analyst) 0/1 matrix: encoded values @ G sums them per analyst column."""
        g = np.zeros((len(self.encoded_names), len(self.plans_)), dtype=np.float64)
        for j, idx in enumerate(self.groups.values()):
            g[idx, j] = 1.0
        return g

    # ------------------------------------------------------------------ plain-JSON state
    def to_dict(self) -> dict[str, Any]:
        return {
            "max_categories": self.max_categories,
            "plans": [p.__dict__ for p in self.plans_],
            "notes": list(self.notes_),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Preprocessor:
        obj = cls(max_categories=int(d["max_categories"]))
        obj.plans_ = [ColumnPlan(**p) for p in d["plans"]]
        obj.notes_ = list(d.get("notes", []))
        return obj
