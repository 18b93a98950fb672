"""Read an analyst's CSV robustly and say in plain words what is wrong with it.

`load_table` turns bytes, a path or a file-like object into a `Table` (DataFrame, notes
about what was done, a content fingerprint). Every problem an analyst can fix raises
`DataError` with a sentence naming the file or column, what is wrong and how to fix it.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterable

import numpy as np
import pandas as pd

MAX_BYTES = 200 * 1024 * 1024  # matches .streamlit/config.toml maxUploadSize
MAX_ROWS = 1_000_000
_DELIMITERS = [",", ";", "\t", "|"]
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}

# Magic numbers of files that analysts upload by mistake.
_SIGNATURES = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive (or an Excel .xlsx workbook)",
    b"\xd0\xcf\x11\xe0": "an old Excel .xls workbook",
    b"BM": None,  # too short to be sure; bitmap checked below
}


class DataError(ValueError):
    """A problem with the analyst's data, written for the analyst."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class Table:
    """A read CSV: the frame, what was done while reading it, and a content fingerprint."""

    df: pd.DataFrame
    name: str
    notes: list[str] = field(default_factory=list)
    fingerprint: str = ""

    @property
    def shape(self) -> tuple[int, int]:
        return self.df.shape


def fingerprint_bytes(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _read_source(source: bytes | str | Path | BinaryIO, max_bytes: int, name: str) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
    elif isinstance(source, (str, Path)):
        path = Path(source)
        if path.stat().st_size > max_bytes:
            raise DataError(_too_big(name, path.stat().st_size, max_bytes))
        raw = path.read_bytes()
    else:
        raw = source.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise DataError(_too_big(name, len(raw), max_bytes))
    return raw


def _too_big(name: str, size: int, limit: int) -> str:
    return (
        f"'{name}' is {size / 2**20:,.1f} MB, over the {limit / 2**20:,.0f} MB limit. "
        "Upload a sample of the rows, or remove columns you do not need, and try again."
    )


def _decompress(raw: bytes, name: str, max_bytes: int, notes: list[str]) -> bytes:
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as fh:
            out = fh.read(max_bytes * 5 + 1)
    except (OSError, EOFError) as exc:
        raise DataError(
            f"'{name}' looks like a gzip file but could not be unpacked ({exc}). "
            "Upload the plain CSV instead."
        ) from None
    if len(out) > max_bytes * 5:
        raise DataError(f"'{name}' unpacks to more than {max_bytes * 5 / 1e6:,.0f} MB. Upload a sample of the rows.")
    notes.append(f"Unpacked gzip-compressed file ({len(raw):,} bytes → {len(out):,} bytes).")
    return out


def _reject_binary(raw: bytes, name: str) -> None:
    for magic, what in _SIGNATURES.items():
        if what and raw.startswith(magic):
            hint = (
                "Unzip it and upload the CSV inside."
                if "ZIP" in what
                else "Export your table as CSV (comma-separated values) and upload that file."
            )
            raise DataError(f"'{name}' is {what}, not a CSV file. {hint}")
    head = raw[:8192]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return  # UTF-16 text: NULs are expected
    if b"\x00" in head:
        raise DataError(
            f"'{name}' contains binary data, not text, so it is not a CSV file. "
            "Export your table as CSV (comma-separated values) and upload that file."
        )


def _decode(raw: bytes, name: str, notes: list[str]) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        notes.append("Read the file as UTF-16 text.")
        return raw.decode("utf-16")
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp1252")
        notes.append("The file is not UTF-8; read it as Windows-1252 / Latin-1 text.")
        return text
    except UnicodeDecodeError:
        notes.append("The file is not UTF-8; read it as Latin-1 text.")
        return raw.decode("latin-1")


def _sniff_delimiter(text: str) -> str:
    lines = [ln for ln in text.splitlines()[:50] if ln.strip()]
    if not lines:
        return ","
    sample = "\n".join(lines)
    try:
        return csv.Sniffer().sniff(sample, delimiters="".join(_DELIMITERS)).delimiter
    except csv.Error:
        pass
    header = lines[0]
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


def _header_names(text: str, delimiter: str) -> list[str]:
    first = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    return [c.strip() for c in first]


def _check_header(names: list[str], name: str, notes: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    fixed = []
    for i, col in enumerate(names, start=1):
        if col == "":
            col = f"column_{i}"
            notes.append(f"Column {i} has no name; called it '{col}'.")
        if col in seen:
            raise DataError(
                f"In '{name}' the column name '{col}' appears twice (columns {seen[col]} and {i}). "
                "Give every column a different name in the header row and upload again."
            )
        seen[col] = i
        fixed.append(col)
    return fixed


_PANDAS_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def load_table(
    source: bytes | str | Path | BinaryIO,
    name: str | None = None,
    *,
    max_bytes: int = MAX_BYTES,
    max_rows: int = MAX_ROWS,
) -> Table:
    """Read a CSV (UTF-8, UTF-8 BOM, UTF-16, Latin-1; , ; tab |; gzip) into a Table."""
    if name is None:
        name = Path(source).name if isinstance(source, (str, Path)) else "your file"
    raw = _read_source(source, max_bytes, name)
    if not raw.strip():
        raise DataError(
            f"'{name}' is empty. Export the table again with a header row and at least a few rows of data."
        )
    fingerprint = fingerprint_bytes(raw)
    notes: list[str] = []
    raw = _decompress(raw, name, max_bytes, notes)
    _reject_binary(raw, name)
    text = _decode(raw, name, notes)
    del raw
    if not text.strip():
        raise DataError(f"'{name}' is empty. Export the table again with a header row and some rows of data.")
    delimiter = _sniff_delimiter(text)
    if delimiter != ",":
        notes.append(f"Columns are separated by {_DELIMITER_NAMES[delimiter]}s.")
    names = _check_header(_header_names(text, delimiter), name, notes)
    try:
        df = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            header=0,
            names=names,
            nrows=max_rows + 1,
            skipinitialspace=True,
            low_memory=False,
        )
    except pd.errors.ParserError as exc:
        m = _PANDAS_FIELDS.search(str(exc))
        if m:
            expected, line, saw = m.groups()
            raise DataError(
                f"Line {line} of '{name}' has {saw} values but the header has {expected} columns. "
                "Check that line for a stray separator or a missing quote, then upload again."
            ) from None
        raise DataError(
            f"'{name}' could not be read as a table ({str(exc).strip()}). "
            "Save it as CSV with one header row and the same number of values on every line."
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"'{name}' has no columns. Export the table again with a header row.") from None
    if len(df) == 0:
        raise DataError(
            f"'{name}' has a header row ({', '.join(map(str, names[:5]))}{'…' if len(names) > 5 else ''}) "
            "but no data rows. Export the table again with its rows."
        )
    if len(df) > max_rows:
        df = df.iloc[:max_rows]
        notes.append(f"The file has more than {max_rows:,} rows; only the first {max_rows:,} were read.")
    return Table(df=df, name=name, notes=notes, fingerprint=fingerprint)


# --------------------------------------------------------------------------- column types

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
        "id", "index", "patient", "customer"
    }


def _mostly_dates(values: pd.Series) -> bool:
    sample = values.head(200)
    if not sample.str.contains(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}", regex=True).mean() > 0.9:
        return False
    parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return parsed.notna().mean() > 0.9


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
