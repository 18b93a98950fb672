"""Reading an analyst's CSV into a `Table`: the separator guessed, the header and the lines checked, the rows and
cells capped, numbers written as text read as numbers; and the page's row cap (`sample_rows`)."""

from __future__ import annotations

import csv
import io
import re
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from engine.data.numbers import _coerce_numbers
from engine.data.table import MAX_BYTES, MAX_CELLS, MAX_COLUMNS, MAX_ROWS, DataError, Table, fingerprint_bytes
from engine.data.unpack import read_upload

_SNIFF_BYTES = 256 * 1024  # the head used to guess the separator and check the lines
_DELIMITERS = [",", ";", "\t", "|"]
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


def _head_text(data: bytes) -> str:
    """The first lines of the file (whole lines only) for sniffing and checks."""
    head = data[:_SNIFF_BYTES]
    if len(data) > _SNIFF_BYTES and b"\n" in head:
        head = head[: head.rindex(b"\n")]
    return head.decode("utf-8", errors="ignore")


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
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _header_names(text: str, delimiter: str) -> list[str]:
    try:
        first = next(csv.reader(io.StringIO(text, newline=None), delimiter=delimiter), [])
    except csv.Error:
        first = text.splitlines()[0].split(delimiter) if text.strip() else []
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


def _check_separators(head: str, delimiter: str, header: list[str], name: str) -> None:
    """Refuse a file whose lines mix separators (some split by commas, others by semicolons)."""
    fix = "Save the file again with one separator throughout (in Excel: File → Save As → CSV)."
    rows = csv.reader(io.StringIO(head.lstrip("\r\n"), newline=None), delimiter=delimiter)
    try:
        next(rows, None)
        for row in rows:
            if not row:
                continue
            if len(header) == 1:  # one column: is the header split by another separator than the rows?
                used = next((d for d in _DELIMITERS if d != delimiter and d in header[0]), None)
                if used and len(row) > 1:
                    raise DataError(
                        f"The header row of '{name}' is separated by {_DELIMITER_NAMES[used]}s, but the rows by "
                        f"{_DELIMITER_NAMES[delimiter]}s. {fix}"
                    )
                return
            if len(row) == 1:
                other = next((d for d in _DELIMITERS if d != delimiter and len(row[0].split(d)) == len(header)), None)
                if other:
                    raise DataError(
                        f"Line {rows.line_num} of '{name}' is separated by {_DELIMITER_NAMES[other]}s, but the header "
                        f"row uses {_DELIMITER_NAMES[delimiter]}s. {fix}"
                    )
    except csv.Error:
        return  # a line the csv module cannot split: the parser below says what is wrong with it


def _too_many_cells(name: str, n_columns: int, rows: int, max_cells: int) -> DataError:
    return DataError(
        f"'{name}' has {n_columns:,} columns and more than {rows:,} rows: over {max_cells:,} cells, the most this "
        "app reads from one file. Keep the columns you need, or upload a sample of the rows."
    )


def _count_rows(data: bytes, delimiter: str, stop: int) -> int:
    """Data rows of a CSV (quoted line breaks counted right), read a chunk at a time on the first column only, so
    a file over the cell cap is refused for the cost of its bytes, not of its cells; stops once past `stop`.
    0 when the parser cannot read it (the full read then says what is wrong)."""
    n = 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pd.errors.ParserWarning)
            for chunk in pd.read_csv(
                io.BytesIO(data),
                sep=delimiter,
                header=0,
                usecols=[0],
                dtype=str,
                chunksize=50_000,
                skipinitialspace=True,
                encoding="utf-8",
                encoding_errors="replace",
            ):
                n += len(chunk)
                if n > stop:
                    break
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeError, ValueError):
        return 0
    return n


def _layout(data: bytes, name: str, max_columns: int, notes: list[str]) -> tuple[str, list[str]]:
    """The separator and the column names, read from the first lines. DataError when there are no lines, too many
    columns, a column name twice, or lines split by another separator than the header."""
    head = _head_text(data)
    if not head.strip():
        raise DataError(f"'{name}' is empty. Export the table again with a header row and some rows of data.")
    delimiter = _sniff_delimiter(head)
    if delimiter != ",":
        notes.append(f"Columns are separated by {_DELIMITER_NAMES[delimiter]}s.")
    header = _header_names(head.lstrip("\r\n"), delimiter)
    if len(header) > max_columns:
        raise DataError(
            f"'{name}' has {len(header):,} columns; this app reads at most {max_columns:,}. "
            "Keep the columns you want to analyse (the outcome and the likely drivers) and upload again."
        )
    names = _check_header(header, name, notes)
    _check_separators(head, delimiter, names, name)
    return delimiter, names


def _cell_rows(data: bytes, delimiter: str, names: list[str], name: str, max_rows: int, max_cells: int) -> int:
    """The rows that fit under the cell cap (`max_rows` + 1 when the file's lines cannot pass it); DataError when the
    file has more rows than that."""
    cell_rows = max(1, max_cells // max(1, len(names)))  # the rows that fit under the cell cap
    if data.count(b"\n") <= cell_rows:  # lines bound rows from above: no need to count cells while parsing
        cell_rows = max_rows + 1
    elif cell_rows <= max_rows and _count_rows(data, delimiter, cell_rows) > cell_rows:
        raise _too_many_cells(name, len(names), cell_rows, max_cells)
    return cell_rows


def _parse(data: bytes, delimiter: str, names: list[str], nrows: int, name: str) -> pd.DataFrame:
    """The first `nrows` rows as a DataFrame; the parser's complaints as DataError sentences."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pd.errors.ParserWarning)
            return pd.read_csv(
                io.BytesIO(data),
                sep=delimiter,
                header=0,
                names=names,
                nrows=nrows,
                skipinitialspace=True,
                skip_blank_lines=True,
                encoding="utf-8",
                encoding_errors="replace",
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
            f"'{name}' could not be read as a table ({str(exc).strip()[:200]}). "
            "Save it as CSV with one header row and the same number of values on every line."
        ) from None
    except (pd.errors.EmptyDataError, UnicodeError):
        raise DataError(f"'{name}' has no readable columns. Export the table again as CSV with a header row.") from None


def load_table(
    source: bytes | str | Path | BinaryIO,
    name: str | None = None,
    *,
    max_bytes: int = MAX_BYTES,
    max_rows: int = MAX_ROWS,
    max_columns: int = MAX_COLUMNS,
    max_cells: int = MAX_CELLS,
) -> Table:
    """Read a CSV (UTF-8, UTF-8 BOM, UTF-16, Latin-1; , ; tab |; gzip or a one-file ZIP) into a Table.

    The bytes go to the parser as they are (no decoded copy) and only the first lines are decoded
    to guess the separator: reading a 50 MB, 1,000,000-row file adds about 300 MB (test_memory.py).
    """
    if name is None:
        name = Path(source).name if isinstance(source, (str, Path)) else "your file"
    notes: list[str] = []
    data, fingerprint = read_upload(source, name, max_bytes, notes)
    delimiter, names = _layout(data, name, max_columns, notes)
    cell_rows = _cell_rows(data, delimiter, names, name, max_rows, max_cells)
    df = _parse(data, delimiter, names, min(max_rows, cell_rows) + 1, name)
    del data
    if len(df) > cell_rows and cell_rows <= max_rows:
        raise _too_many_cells(name, len(names), cell_rows, max_cells)
    if len(df) == 0:
        raise DataError(
            f"'{name}' has a header row ({', '.join(map(str, names[:5]))}{'…' if len(names) > 5 else ''}) "
            "but no data rows. Export the table again with its rows."
        )
    if len(df) > max_rows:
        df = df.iloc[:max_rows].copy()
        notice = (
            f"'{name}' has more than {max_rows:,} rows; only the first {max_rows:,} were read. "
            "If the file is sorted (by date, by customer), upload a random sample instead."
        )
    else:
        notice = ""
    _coerce_numbers(df, delimiter, notes)
    if notice:
        notes.append(notice)
    return Table(df=df, name=name, notes=notes, fingerprint=fingerprint, notice=notice)


def sample_rows(table: Table, max_rows: int | None, seed: int = 0) -> Table:
    """The page's row cap: a table over `max_rows` becomes a seeded random sample of that many
    rows (kept in file order), with a notice; the fingerprint names the sample, so shared runs
    and caches key on exactly the rows used."""
    n = len(table.df)
    if max_rows is None or n <= max_rows:
        return table
    keep = np.sort(np.random.default_rng(seed).choice(n, size=max_rows, replace=False))
    notice = (
        f"'{table.name}' has {n:,} rows; this page trains on a random sample of {max_rows:,} of them "
        "(the same sample every time). Upload fewer rows to choose them yourself."
    )
    return Table(
        df=table.df.iloc[keep].reset_index(drop=True),
        name=table.name,
        notes=[*table.notes, notice],
        fingerprint=fingerprint_bytes(f"{table.fingerprint}:sample:{max_rows}:{seed}".encode()),
        notice=" ".join(filter(None, [table.notice, notice])),
    )
