"""A data dictionary: what each column means and what its codes stand for, in the analyst's words.

Read from a small CSV the analyst already keeps (column, description[, value labels such as
"1=disease; 0=no disease"]) or typed in on the page; saved with a run as plain JSON so a model
file or share link shows "chest pain type (cp)" where the data says `cp`.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from engine.data import DataError

MAX_BYTES = 1 << 20  # a dictionary is a few kB; anything near a megabyte is the data file, not its dictionary
MAX_ENTRIES = 5_000
MAX_TEXT = 200  # characters of a description or a value label that are kept
_HEADER_WORDS = {"column", "columns", "name", "field", "variable", "feature", "attribute", "col"}
COLUMNS = ("column", "description", "values")


def value_key(v: Any) -> str:
    """The text a value is looked up by: 1, 1.0 and "1" are the same code; 2.5 stays "2.5"."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return str(int(v)) if float(v).is_integer() else f"{float(v):g}"
    text = str(v).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() and math.isfinite(number) else text


def short_text(text: Any) -> str:
    """A label or description on one line, at most MAX_TEXT characters (empty for a missing value)."""
    text = "" if text is None or (isinstance(text, float) and math.isnan(text)) else " ".join(str(text).split())
    return text[:MAX_TEXT]


def parse_values(text: str, column: str = "") -> dict[str, str]:
    """'1=disease; 0=no disease' → {"1": "disease", "0": "no disease"}; a DataError sentence when a part has no '='."""
    labels: dict[str, str] = {}
    for part in str(text or "").replace("\n", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        code, sep, label = part.partition("=")
        if sep and code.strip() and not label.strip():
            continue  # "0=": a code the written-out template lists, not filled in yet
        if not sep or not code.strip() or not label.strip():
            where = f" for column '{column}'" if column else ""
            raise DataError(
                f"The value labels{where} should look like '1=disease; 0=no disease' (a code, '=', its "
                f"meaning, separated by ';'), but '{part[:40]}' is not of that form."
            )
        labels[value_key(code.strip())] = short_text(label)
    return labels


def format_values(labels: dict[str, str]) -> str:
    """The inverse of `parse_values`: {"1": "disease"} → '1=disease'."""
    return "; ".join(f"{k}={v}" for k, v in labels.items())


@dataclass
class Dictionary:
    """Column → description and column → {code → label}. Empty by default (every column reads as its name)."""

    descriptions: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)

    # -- reading ----------------------------------------------------------------------------
    def __bool__(self) -> bool:
        return bool(self.descriptions or self.values)

    def label(self, column: str, width: int | None = None) -> str:
        """'chest pain type (cp)' where the column is described, else the column's own name. `width` shortens a long
        description ('ST depression induced by…  (oldpeak)') where space is short, e.g. a chart's axis."""
        text = self.descriptions.get(column, "")
        if width and len(text) > width:
            text = text[: width - 1].rstrip() + "…"
        return f"{text} ({column})" if text and text != column else column

    def value_label(self, column: str, value: Any) -> str:
        """'1 = typical angina' where the code has a label, else the value as the data shows it."""
        from engine.explain import format_value

        shown = format_value(value)
        meaning = self.values.get(column, {}).get(value_key(value))
        return f"{shown} = {meaning}" if meaning else shown

    def described(self, columns: Iterable[str]) -> list[str]:
        return [c for c in columns if c in self.descriptions or c in self.values]

    def unknown(self, columns: Iterable[str]) -> list[str]:
        """Described columns the data does not have (a dictionary of another file, or a typo)."""
        have = set(columns)
        return [c for c in dict.fromkeys([*self.descriptions, *self.values]) if c not in have]

    def digest(self) -> str:
        """A short content hash: what a cached model file or report is keyed by, beside the run."""
        import hashlib
        import json

        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:12]

    # -- JSON (saved with a run) -----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"descriptions": dict(self.descriptions), "values": {k: dict(v) for k, v in self.values.items()}}

    @classmethod
    def from_dict(cls, state: dict[str, Any] | None) -> Dictionary:
        state = state or {}
        return cls(
            {str(k): short_text(v).replace(";", ",") for k, v in (state.get("descriptions") or {}).items()},
            {
                str(c): {value_key(k): short_text(v) for k, v in (labels or {}).items()}
                for c, labels in (state.get("values") or {}).items()
            },
        )

    # -- tables (a CSV, or the page's editable table) ------------------------------------------
    def to_frame(self, columns: Iterable[str] = ()) -> pd.DataFrame:
        """One row per column: the data's columns first (in order), then any other described column."""
        names = list(dict.fromkeys([*columns, *self.descriptions, *self.values]))
        return pd.DataFrame(
            {
                "column": names,
                "description": [self.descriptions.get(c, "") for c in names],
                "values": [format_values(self.values.get(c, {})) for c in names],
            }
        )

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Dictionary:
        """From rows of (column, description[, values]); blank rows are skipped. DataError sentences for the rest."""
        if frame.shape[1] < 2:
            raise DataError(
                "A column dictionary needs at least two columns: the column's name as in your data, then "
                "what it means (and optionally a third with value labels such as '1=disease; 0=no disease')."
            )
        if frame.shape[1] > 3:
            raise DataError(
                f"A column dictionary has two or three columns (column, description, value labels); this "
                f"one has {frame.shape[1]}. Remove the others and upload it again."
            )
        if len(frame) > MAX_ENTRIES:
            raise DataError(
                f"This column dictionary has {len(frame):,} rows; at most {MAX_ENTRIES:,} columns can be "
                "described. Is it the data file rather than its dictionary?"
            )
        descriptions: dict[str, str] = {}
        values: dict[str, dict[str, str]] = {}
        for n, row in enumerate(frame.itertuples(index=False), start=1):
            cells = [short_text(c) for c in row]
            name, text = cells[0], cells[1]
            labels = cells[2] if len(cells) > 2 else ""
            if not name and not text and not labels:
                continue
            if not name:
                raise DataError(
                    f"Row {n} of the column dictionary has a description but no column name. Put the "
                    "column's name, as it is spelled in your data, in the first column."
                )
            if name in descriptions or name in values:
                raise DataError(
                    f"The column dictionary describes '{name}' twice (row {n} again). Keep one row per column."
                )
            if text:
                descriptions[name] = text.replace(";", ",")  # ';' separates the reasons of a scored row
            if labels:
                values[name] = parse_values(labels, name)
        return cls(descriptions, values)

    @classmethod
    def from_csv(cls, source: bytes | str | Path, name: str = "the dictionary") -> Dictionary:
        """A two- or three-column CSV (comma, semicolon or tab), with or without a header row."""
        raw = Path(source).read_bytes() if isinstance(source, (str, Path)) else bytes(source)
        if len(raw) > MAX_BYTES:
            raise DataError(
                f"{name} is {len(raw) / 2**20:.1f} MB; a column dictionary is a small file (at most "
                f"{MAX_BYTES // 2**20} MB). Is it the data file rather than its dictionary?"
            )
        if not raw.strip():
            raise DataError(
                f"{name} is empty. A column dictionary has one row per column: its name, what it means "
                "and optionally value labels such as '1=disease; 0=no disease'."
            )
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        first = text.splitlines()[0]
        sep = max([",", ";", "\t"], key=first.count)
        try:
            frame = pd.read_csv(
                io.StringIO(text),
                sep=sep,
                header=None,
                dtype=str,
                keep_default_na=False,
                skipinitialspace=True,
                skip_blank_lines=True,
            )
        except (pd.errors.ParserError, ValueError) as exc:
            raise DataError(
                f"{name} could not be read as a CSV table ({str(exc).splitlines()[0][:120]}). Save it as "
                "CSV with one row per column: name, description[, value labels]."
            ) from None
        if len(frame) and str(frame.iat[0, 0]).strip().lower() in _HEADER_WORDS:
            frame = frame.iloc[1:]
        return cls.from_frame(frame)
