"""Read an analyst's CSV robustly and say in plain words what is wrong with it.

`load_table` turns bytes, a path or a file-like object into a `Table` (DataFrame, notes
about what was done, a content fingerprint). Every problem an analyst can fix raises
`DataError` with a sentence naming the file or column, what is wrong and how to fix it.

The package, by responsibility: `table` (the `Table`, the limits, `DataError`), `unpack` (bounded reading of an
upload: size caps, gzip and ZIP unpacked a chunk at a time, files that are not text refused, the text made UTF-8),
`read` (the CSV itself: separator, header, row and cell caps; `load_table`, `sample_rows`), `numbers` (numbers
written as text) and `columns` (column kinds, dates, ids, impossible zeros, infinite values). Every public name is
importable from `engine.data`, as before the split.
"""

from __future__ import annotations

from engine.data.columns import (
    IMPOSSIBLE_ZERO_FLOOR,
    IMPOSSIBLE_ZERO_SHARE,
    KINDS,
    check_finite,
    column_kind,
    id_strings,
    impossible_zeros,
    parse_date_text,
    profile,
    zeros_as_missing,
)
from engine.data.read import load_table, sample_rows
from engine.data.table import MAX_BYTES, MAX_CELLS, MAX_COLUMNS, MAX_ROWS, DataError, Table, fingerprint_bytes

__all__ = [
    "IMPOSSIBLE_ZERO_FLOOR",
    "IMPOSSIBLE_ZERO_SHARE",
    "KINDS",
    "MAX_BYTES",
    "MAX_CELLS",
    "MAX_COLUMNS",
    "MAX_ROWS",
    "DataError",
    "Table",
    "check_finite",
    "column_kind",
    "fingerprint_bytes",
    "id_strings",
    "impossible_zeros",
    "load_table",
    "parse_date_text",
    "profile",
    "sample_rows",
    "zeros_as_missing",
]
