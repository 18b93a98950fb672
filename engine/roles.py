"""One column-role guesser for every page: outcome labels, identifiers, dates and features, by name
and by content, each with the reason in words (the Columns step shows it).

Seen with real files: a vehicle-insurance claims table (label `FraudFound_P`, ids `PolicyNumber`,
`RepNumber`) and a marketing customer table (`ID`, `Year_Birth`, …, `Dt_Customer`, an enrolment date).
Names are split into words (`FraudFound_P` → fraud, found, p; `Dt_Customer` → dt, customer), so a
scenario's outcome words and identifier words are matched as words, not substrings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from engine.data import column_kind

ID_WORDS = ("id", "number", "no", "nr", "key", "code", "uuid", "guid", "ref")
DATE_WORDS = ("date", "dt", "time", "timestamp", "day", "datetime", "when", "at")


@dataclass(frozen=True)
class Guess:
    """One role's column (None: none found) and why it was chosen, in words."""

    column: str | None
    why: str


def words(name: object) -> list[str]:
    """A column name as lower-case words: camelCase, snake_case, spaces and punctuation split."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(name))
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text)
    return [w for w in re.split(r"[^A-Za-z0-9]+", text.lower()) if w]


def _int_like(s: pd.Series) -> bool:
    v = pd.to_numeric(s.dropna(), errors="coerce")
    return len(v) > 0 and v.notna().all() and bool((v % 1 == 0).all())


_TIME_WORDS = {
    "time",
    "timestamp",
    "second",
    "seconds",
    "sec",
    "secs",
    "elapsed",
    "minute",
    "minutes",
    "hour",
    "hours",
    "day",
    "days",
    "week",
    "weeks",
    "month",
    "months",
    "year",
    "years",
    "date",
    "step",
    "period",
}


def identifier_reason(s: pd.Series) -> str | None:
    """Why `s` looks like an identifier (labels things rather than measures them), else None."""
    name_words = words(s.name)
    non_null = s.dropna()
    if len(non_null) == 0:
        return None
    kind = column_kind(s)
    if kind == "datetime":
        return None
    unique = non_null.nunique() == len(non_null)
    last = name_words[-1] if name_words else ""
    if last in ID_WORDS and (pd.api.types.is_numeric_dtype(s) or unique or kind in ("id", "text")):
        return f"named like an identifier ('{last}'): its values label records rather than measure anything"
    if unique and _int_like(non_null) and len(non_null) >= 20:
        # wherever it starts: rows 7001-10000 of a file keep its running number, which is no measurement either
        v = pd.to_numeric(non_null).to_numpy()
        ordered = np.sort(v)
        counts_up = (np.diff(v) > 0).all() and not set(name_words) & _TIME_WORDS  # seconds since the first row: a time
        if counts_up or (np.diff(ordered) == 1).all():
            first = ", ".join(str(int(x)) for x in ordered[:3])
            return f"counts {first}… with one value per row, like a row number"
    if unique and kind in ("id", "text") and len(non_null) >= 20:
        return "a different value in every row, like a reference"
    return None


def is_date(s: pd.Series) -> bool:
    return column_kind(s) == "datetime"


def outcome(
    df: pd.DataFrame,
    outcome_words: Sequence[str],
    max_values: int = 2,
    exclude: Iterable[str] = (),
    fallback: bool = True,
) -> Guess:
    """A column named like the scenario's outcome with 2..max_values values (exact name first, then a
    name containing one of the words), else (with `fallback`) the last column with 2..max_values values."""
    excluded = set(exclude)
    for c in df.columns:  # an exact name wins even with one value (prepare() then says what is wrong)
        if (
            c not in excluded
            and ("_".join(words(c)) in outcome_words or str(c).lower() in outcome_words)
            and 1 <= df[c].nunique(dropna=True) <= max_values
        ):
            return Guess(c, f"named like the outcome and holds {df[c].nunique(dropna=True)} value(s)")
    candidates = [
        c
        for c in df.columns
        if c not in excluded
        and 2 <= df[c].nunique(dropna=True) <= max_values
        and identifier_reason(df[c]) is None
        and not is_date(df[c])
    ]
    for c in candidates:
        hit = next((w for w in words(c) if w in outcome_words), None)
        if hit:
            return Guess(c, f"its name mentions '{hit}' and it holds {df[c].nunique(dropna=True)} values")
    if fallback and candidates:
        return Guess(candidates[-1], f"the last column with few values ({df[candidates[-1]].nunique(dropna=True)})")
    return Guess(None, f"no column is named like the outcome ({', '.join(outcome_words[:4])}…) with few values")


def by_name(
    df: pd.DataFrame,
    role_words: Sequence[str],
    exclude: Iterable[str | None] = (),
    kinds: Sequence[str] | None = None,
    what: str = "",
) -> Guess:
    """The first column whose name is one of `role_words` (as words), else whose words include one.
    `kinds` limits the column kinds accepted (e.g. only 'numeric' for an amount)."""
    excluded = set(exclude)
    pool = [c for c in df.columns if c not in excluded and (kinds is None or column_kind(df[c]) in kinds)]
    for word in role_words:
        for c in pool:
            if "_".join(words(c)) == word or "".join(words(c)) == word.replace("_", ""):
                return Guess(c, f"named '{c}'" + (f", like a {what}" if what else ""))
    for word in role_words:
        for c in pool:
            if word in words(c):
                return Guess(c, f"its name mentions '{word}'" + (f", like a {what}" if what else ""))
    return Guess(None, f"no column named like a {what or role_words[0]}")


def date_column(df: pd.DataFrame, exclude: Iterable[str | None] = ()) -> Guess:
    excluded = set(exclude)
    for c in df.columns:
        if c not in excluded and is_date(df[c]):
            named = any(w in DATE_WORDS for w in words(c))
            return Guess(c, "holds dates" + (" and is named like one" if named else ""))
    return Guess(None, "no column holds dates")


def identifier(df: pd.DataFrame, exclude: Iterable[str] = (), prefer_words: Sequence[str] = ()) -> Guess:
    """The best identifier column: named with one of `prefer_words` (e.g. customer) and id-like, then any
    id-like column. Date columns are never identifiers."""
    excluded = set(exclude)
    scored = [(c, identifier_reason(df[c])) for c in df.columns if c not in excluded]
    likely = [(c, why) for c, why in scored if why]
    for c, why in likely:
        if any(w in words(c) for w in prefer_words):
            return Guess(c, why)
    if likely:
        return Guess(likely[0][0], likely[0][1])
    return Guess(None, "no column looks like an identifier")


def features(
    df: pd.DataFrame, exclude: Iterable[str] = (), kinds: Sequence[str] = ("numeric", "categorical")
) -> tuple[str, ...]:
    """Columns a model may learn from: numbers and categories that are not identifiers or dates."""
    excluded = set(exclude)
    return tuple(
        c for c in df.columns if c not in excluded and column_kind(df[c]) in kinds and identifier_reason(df[c]) is None
    )


def left_out(df: pd.DataFrame, chosen: Iterable[str], roles: Iterable[str | None]) -> dict[str, str]:
    """Why each column not among the features (nor a role) was left out, in words."""
    used = set(chosen) | set(r for r in roles if r)
    out = {}
    for c in df.columns:
        if c in used:
            continue
        why = identifier_reason(df[c])
        kind = column_kind(df[c])
        out[c] = why or {
            "datetime": "holds dates",
            "text": "free text",
            "constant": "the same value in every row",
            "empty": "empty",
            "id": "an identifier",
        }.get(kind, kind)
    return out


# ----------------------------------------------------------------------------- outcome values

POSITIVE_WORDS = (
    "1",
    "yes",
    "y",
    "true",
    "positive",
    "pos",
    "m",
    "malignant",
    "disease",
    "sick",
    "abnormal",
    "fraud",
    "fraudulent",
    "failure",
    "failed",
    "fail",
)


def label_text(s: pd.Series) -> pd.Series:
    """Outcome values as clean strings: "1" not "1.0", "true" for booleans; missing stays missing."""
    if pd.api.types.is_bool_dtype(s):
        return s.map(lambda v: v if pd.isna(v) else str(bool(v)).lower())
    if pd.api.types.is_float_dtype(s):
        vals = s.dropna()
        if len(vals) and bool(((vals % 1) == 0).all()):
            return s.map(lambda v: v if pd.isna(v) else str(int(v)))
    return s.map(lambda v: v if pd.isna(v) else str(v).strip())


def label_values(s: pd.Series) -> list[str]:
    """Distinct outcome values, shortest first then alphabetical (how pages list them)."""
    return sorted(label_text(s).dropna().unique().astype(str), key=lambda c: (len(c), c))


def positive_value(
    values: Sequence[str], counts: pd.Series | None = None, positive_words: Sequence[str] = POSITIVE_WORDS
) -> str | None:
    """The value that means "the outcome happened" ('1', 'yes', 'fraud', …), else the rarer of the values."""
    for word in positive_words:
        for v in values:
            if str(v).lower() == word:
                return v
    if counts is not None and len(counts):
        return str(counts.idxmin())
    return None


def summary(df: pd.DataFrame, chosen: dict[str, str | None], features: Iterable[str]) -> str:
    """One plain sentence for the Columns step: what each role holds and why the other columns are left out."""
    parts = []
    for role, col in chosen.items():
        if col is None or col not in df.columns:
            continue
        s = df[col]
        why = identifier_reason(s) or ("holds dates" if is_date(s) else f"{s.nunique(dropna=True):,} different values")
        parts.append(f"{role}: '{col}' ({why})")
    skipped = left_out(df, features, [c for c in chosen.values() if c is not None])
    text = "; ".join(parts)
    if skipped:
        shown = [f"'{c}' ({why})" for c, why in list(skipped.items())[:6]]
        more = f" and {len(skipped) - 6} more" if len(skipped) > 6 else ""
        text += ("." if text else "") + " Not used as features: " + ", ".join(shown) + more
    return text + "." if text else ""
