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
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterable, Protocol

import numpy as np
import pandas as pd

MAX_BYTES = 200 * 1024 * 1024  # matches .streamlit/config.toml maxUploadSize
MAX_ROWS = 1_000_000
MAX_COLUMNS = 2_000  # wider files are refused with a sentence (the digit page needs 785)
# Rows × columns read from one file. Parsing costs about 27 bytes a cell at worst (one-character cells; measured
# in bench/memory.py --hostile), so this cap, not the file's size, bounds the memory a small file can take.
# Kaggle's digit-recognizer train.csv (42,000 images × 785 columns, 33 million cells) fits.
MAX_CELLS = 40_000_000
_CHUNK = 2**20  # bytes unpacked at a time
_SNIFF_BYTES = 256 * 1024  # the head used to guess the separator and check the lines
_DELIMITERS = [",", ";", "\t", "|"]
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}

# Magic numbers of files that analysts upload by mistake.
_SIGNATURES = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
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
    notice: str = ""  # what the analyst must see at once (rows left out), beside the preview


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


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def _read_capped(fh: _Readable, limit: int) -> bytes | None:
    """Everything `fh` unpacks to, read a chunk at a time; None as soon as it passes `limit` bytes
    (so a small archive that unpacks to gigabytes costs the server no more than the limit)."""
    out = bytearray()
    while chunk := fh.read(_CHUNK):
        out += chunk
        if len(out) > limit:
            return None
    return bytes(out)


def _unpacks_too_big(name: str, limit: int) -> str:
    return (
        f"'{name}' unpacks to more than {limit / 2**20:,.0f} MB, the upload limit. "
        "Upload a sample of the rows, or remove columns you do not need, and try again."
    )


def _decompress(raw: bytes, name: str, max_bytes: int, notes: list[str]) -> bytes:
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as fh:
            out = _read_capped(fh, max_bytes)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(
            f"'{name}' looks like a gzip file but could not be unpacked ({exc}). "
            "Upload the plain CSV instead."
        ) from None
    if out is None:
        raise DataError(_unpacks_too_big(name, max_bytes))
    notes.append(f"Unpacked gzip-compressed file ({len(raw):,} bytes → {len(out):,} bytes).")
    return out


def _unzip(raw: bytes, name: str, max_bytes: int, notes: list[str]) -> bytes:
    """A ZIP holding exactly one CSV is read; an Excel workbook or a ZIP of several files gets a sentence."""
    if not raw.startswith(b"PK\x03\x04"):
        return raw
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            members = [
                i for i in zf.infolist()
                if not i.is_dir() and not i.filename.startswith("__MACOSX/") and not Path(i.filename).name.startswith(".")
            ]
            names = [i.filename for i in members]
            if "[Content_Types].xml" in names or any(n.startswith("xl/") for n in names):
                raise DataError(
                    f"'{name}' is an Excel workbook, not a CSV file. In Excel use File → Save As → "
                    "CSV (comma delimited), then upload that file."
                )
            if len(members) != 1:
                listed = ", ".join(names[:4]) + ("…" if len(names) > 4 else "")
                raise DataError(
                    f"'{name}' is a ZIP archive holding {len(members)} files ({listed or 'none'}). "
                    "Unzip it and upload one CSV file."
                )
            member = members[0]
            if not member.filename.lower().endswith((".csv", ".txt", ".tsv", ".csv.gz")):
                raise DataError(
                    f"'{name}' is a ZIP archive holding '{member.filename}', which is not a CSV file. "
                    "Put a CSV file in the archive, or upload the CSV itself."
                )
            if member.file_size > max_bytes:  # the size the archive declares (it may lie: the read is capped too)
                raise DataError(_unpacks_too_big(name, max_bytes))
            with zf.open(member) as fh:
                out = _read_capped(fh, max_bytes)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError, OSError,
            zlib.error) as exc:
        raise DataError(
            f"'{name}' looks like a ZIP archive but could not be unpacked ({exc}). Unzip it yourself and upload the CSV."
        ) from None
    if out is None:
        raise DataError(_unpacks_too_big(name, max_bytes))
    notes.append(f"Read '{member.filename}' from the ZIP archive.")
    return _decompress(out, member.filename, max_bytes, notes)  # a .csv.gz inside the archive


def _reject_binary(raw: bytes, name: str) -> None:
    for magic, what in _SIGNATURES.items():
        if what and raw.startswith(magic):
            raise DataError(
                f"'{name}' is {what}, not a CSV file. "
                "Export your table as CSV (comma-separated values) and upload that file."
            )
    head = raw[:8192]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or _utf16_without_bom(raw[:4096]):
        return  # UTF-16 text: NULs are expected
    if b"\x00" in head:
        raise DataError(
            f"'{name}' contains binary data, not text, so it is not a CSV file. "
            "Export your table as CSV (comma-separated values) and upload that file."
        )


def _utf16_without_bom(head: bytes) -> str | None:
    """'utf-16-le' / 'utf-16-be' when every other byte of the head is NUL (UTF-16 text saved without a BOM)."""
    if len(head) < 8:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


def _to_utf8(raw: bytes, notes: list[str]) -> bytes:
    """The file's text as UTF-8 bytes (the raw bytes themselves when they already are UTF-8)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        notes.append("Read the file as UTF-16 text.")
        return raw.decode("utf-16", errors="replace").encode("utf-8")
    utf16 = _utf16_without_bom(raw[:4096])
    if utf16:
        notes.append("Read the file as UTF-16 text.")
        return raw.decode(utf16, errors="replace").encode("utf-8")
    if raw.startswith(b"\xef\xbb\xbf"):
        notes.append("Removed the byte-order mark (BOM) that Excel puts at the start of UTF-8 files.")
        raw = raw[3:]
    try:
        raw.decode("utf-8")  # validate only; the bytes are passed on as they are
        return raw
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp1252")
        notes.append("The file is not UTF-8; read it as Windows-1252 / Latin-1 text.")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
        notes.append("The file is not UTF-8; read it as Latin-1 text.")
    return text.encode("utf-8")


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
            for chunk in pd.read_csv(io.BytesIO(data), sep=delimiter, header=0, usecols=[0], dtype=str,
                                     chunksize=50_000, skipinitialspace=True, encoding="utf-8",
                                     encoding_errors="replace"):
                n += len(chunk)
                if n > stop:
                    break
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeError, ValueError):
        return 0
    return n


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
    raw = _read_source(source, max_bytes, name)
    if not raw.strip():
        raise DataError(
            f"'{name}' is empty. Export the table again with a header row and at least a few rows of data."
        )
    fingerprint = fingerprint_bytes(raw)
    notes: list[str] = []
    raw = _decompress(raw, name, max_bytes, notes)
    raw = _unzip(raw, name, max_bytes, notes)
    _reject_binary(raw, name)
    data = _to_utf8(raw, notes)
    del raw
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
    cell_rows = max(1, max_cells // max(1, len(names)))  # the rows that fit under the cell cap
    if data.count(b"\n") <= cell_rows:  # lines bound rows from above: no need to count cells while parsing
        cell_rows = max_rows + 1
    elif cell_rows <= max_rows and _count_rows(data, delimiter, cell_rows) > cell_rows:
        raise _too_many_cells(name, len(names), cell_rows, max_cells)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pd.errors.ParserWarning)
            df = pd.read_csv(
                io.BytesIO(data),
                sep=delimiter,
                header=0,
                names=names,
                nrows=min(max_rows, cell_rows) + 1,
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


# --------------------------------------------------------------------------- numbers written as text

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
            numbers = pd.to_numeric(cleaned.where(eu).str.replace(".", "", regex=False).str.replace(",", ".", regex=False),
                                    errors="coerce")
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


_DATE_SHAPES = (r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}"  # 2024-01-05, 05/01/2024, 5.1.24
                r"|[A-Za-z]{3,9}\.? \d{1,2},? \d{4}"  # Jan 7 2024, January 7, 2024
                r"|\d{1,2} [A-Za-z]{3,9}\.? \d{4}")  # 7 Jan 2024


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
        notes.append(f"Dates in '{col}' are written in {shapes.nunique()} formats (such as "
                     f"{', '.join(map(repr, examples))}); each was read on its own.")
    both = month_first.notna() & day_first.notna() & (month_first != day_first)
    if both.any():
        order = "day first (31/01/2024)" if best is day_first else "month first (01/31/2024, US style)"
        notes.append(f"Dates like '{text[both].iloc[0]}' in '{col}' could be read either way; they were read {order}, "
                     "which reads the most dates. Write dates as 2024-01-31 to be sure.")
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


_AMOUNT_WORDS = {"sales", "sale", "sold", "units", "unit", "qty", "quantity", "amount", "revenue", "count", "demand",
                 "orders", "order", "visits", "spend", "spent", "customers", "transactions", "returns", "balance",
                 "price", "cost", "profit", "income", "mnt", "num"}


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
    note = ("Zeros taken as missing values (they cannot be real measurements): "
            + ", ".join(f"{c} ({n:,} rows)" for c, n in counts.items()) + ".")
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
