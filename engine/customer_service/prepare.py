"""Customer service, the messages: which columns play which role (`column_reasons`, `default_columns`) and the
checks that turn the analyst's table into messages and intents (`prepare`), each problem a `DataError` sentence."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine import roles
from engine.customer_service.spec import (
    CATEGORY_WORDS,
    GROUP_WORDS,
    MAX_CHARS,
    MAX_INTENTS,
    MIN_PER_INTENT,
    MIN_ROWS,
    Columns,
    Config,
)
from engine.data import DataError, column_kind

# ----------------------------------------------------------------------------- roles


def _text_values(s: pd.Series) -> pd.Series:
    return s.dropna().astype(str)


def _mean_length(s: pd.Series) -> float:
    v = _text_values(s)
    return float(v.str.len().mean()) if len(v) else 0.0


def column_reasons(df: pd.DataFrame) -> tuple[Columns, dict[str, str]]:
    """The default roles and why each was chosen: the longest free text is the message, a repeated short label
    (named like a category first) the category, coded columns named like a channel or language the groups."""
    texty = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c]) and column_kind(df[c]) != "datetime"]
    if not texty:
        raise DataError(
            "Your file has no column of text: this page needs one column holding the customer messages "
            "(free text) and one holding their category (intent, team or queue)."
        )
    text = max(texty, key=lambda c: (_mean_length(df[c]), _text_values(df[c]).nunique()))
    why = {text: f"message: the longest free text (about {_mean_length(df[text]):,.0f} characters on average)"}
    n = max(int(df[text].notna().sum()), 1)
    labels = [c for c in df.columns if c != text and 2 <= df[c].nunique() <= MAX_INTENTS and df[c].nunique() < n / 2]
    named = [c for c in labels if any(w in roles.words(c) for w in CATEGORY_WORDS)]
    if named:
        category = named[0]
        why[category] = f"category: named like one, {df[category].nunique():,} values repeated across messages"
    elif labels:
        category = max(labels, key=lambda c: (df[c].nunique(), -_mean_length(df[c])))
        why[category] = f"category: the repeated label with the most values ({df[category].nunique():,})"
    else:
        category = next((c for c in df.columns if c != text), text)
        why[category] = "category: no column repeats a few short labels; pick the one that names each message's team"
    groups = tuple(
        c
        for c in df.columns
        if c not in (text, category) and 2 <= df[c].nunique() <= 12 and any(w in roles.words(c) for w in GROUP_WORDS)
    )
    why.update({c: "compared by group (named like a channel or language)" for c in groups})
    return Columns(text, category, groups), why


def default_columns(df: pd.DataFrame) -> Columns:
    return column_reasons(df)[0]


# ----------------------------------------------------------------------------- checks


@dataclass
class Prepared:
    texts: list[str]  # the messages kept, cut to MAX_CHARS
    y: np.ndarray  # intent indices
    classes: list[str]
    rows: np.ndarray  # positions in the analyst's table
    notes: list[str]
    dropped: dict[str, int]  # intents with too few messages to learn at all


def clean_texts(s: pd.Series) -> tuple[list[str], np.ndarray, int, int]:
    """Messages as text cut to MAX_CHARS: (texts, which rows hold a message, how many were cut, the longest length)."""
    raw = s.astype("string")
    present = (raw.notna() & (raw.str.strip().str.len() > 0)).fillna(False).to_numpy(bool)
    lengths = raw.str.len().fillna(0).to_numpy()
    cut = int((lengths > MAX_CHARS).sum())
    texts = [t[:MAX_CHARS] if isinstance(t, str) else "" for t in raw.fillna("").tolist()]
    return texts, present, cut, int(lengths.max()) if len(lengths) else 0


def prepare(df: pd.DataFrame, columns: Columns, config: Config | None = None) -> Prepared:
    """Check the table against the chosen columns; DataError with a sentence when it cannot work."""
    t, c = columns.text, columns.category
    for col, role in ((t, "message"), (c, "category")):
        if col not in df.columns:
            raise DataError(f"The {role} column '{col}' is not in your file. Pick one of its columns.")
    if t == c:
        raise DataError(
            "The message and the category must be two different columns: one holds what customers wrote, "
            "the other which team (intent, queue) each message belongs to."
        )
    if pd.api.types.is_numeric_dtype(df[t]):
        raise DataError(f"The message column '{t}' holds numbers, not text. Pick the column with what customers wrote.")
    texts, present, cut, longest = clean_texts(df[t])
    labels = roles.label_text(df[c])
    keep = present & labels.notna().to_numpy()
    notes = []
    if (~present).sum():
        notes.append(f"Dropped {int((~present).sum()):,} row(s) whose message is empty.")
    if (present & labels.isna().to_numpy()).sum():
        notes.append(f"Dropped {int((present & labels.isna().to_numpy()).sum()):,} message(s) without a category.")
    if cut:
        notes.append(
            f"{cut:,} message(s) longer than {MAX_CHARS:,} characters were cut to their first {MAX_CHARS:,} "
            f"(the longest had {longest:,}); the models read only that part."
        )
    if keep.sum() == 0:
        raise DataError(f"No row has both a message in '{t}' and a category in '{c}'. Check the columns picked.")
    counts = labels[keep].value_counts()
    if len(counts) < 2:
        raise DataError(
            f"The category column '{c}' has only one value ('{counts.index[0]}'): there is nothing to route "
            "between. Pick the column naming each message's team, intent or queue."
        )
    if len(counts) > MAX_INTENTS:
        raise DataError(
            f"The category column '{c}' has {len(counts):,} different values; this page routes to at most "
            f"{MAX_INTENTS} categories. It may be free text or an id: pick the column naming each message's "
            "team, intent or queue, or merge rare categories first."
        )
    small = counts[counts < MIN_PER_INTENT]
    if len(small):
        keep &= ~labels.isin(small.index).to_numpy()
        notes.append(
            f"Left out {len(small):,} categor{'y' if len(small) == 1 else 'ies'} with fewer than "
            f"{MIN_PER_INTENT} messages ({int(small.sum()):,} messages: "
            f"{', '.join(map(str, small.index[:8]))}{'…' if len(small) > 8 else ''}): too few to learn and test."
        )
        counts = counts.drop(small.index)
    if len(counts) < 2:
        raise DataError(
            f"Only one category of '{c}' has at least {MIN_PER_INTENT} messages. Add messages to the others."
        )
    if keep.sum() < MIN_ROWS:
        raise DataError(
            f"Only {int(keep.sum()):,} messages can be used; at least {MIN_ROWS} are needed to train and "
            "still keep some aside to test honestly. Add messages."
        )
    classes = sorted(counts.index.astype(str))
    index = {k: i for i, k in enumerate(classes)}
    rows = np.flatnonzero(keep)
    y = labels.iloc[rows].map(index).to_numpy(np.int64)
    return Prepared([texts[i] for i in rows], y, classes, rows, notes, {str(k): int(v) for k, v in small.items()})
