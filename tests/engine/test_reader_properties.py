"""Property-based: whatever text or bytes an analyst uploads, the reader and every page's
validators either succeed or raise DataError (a sentence), never anything else."""

from __future__ import annotations

import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import diagnosis, digits, forecast, fraud, maintenance, segmentation
from engine.data import DataError, check_finite, column_kind, load_table, profile, sample_rows

CELLS = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(
        [
            "",
            "NA",
            "n/a",
            "?",
            "unknown",
            "inf",
            "-Infinity",
            "1,234.5",
            "12,5",
            "1.234,5",
            "$5",
            "7%",
            "2024-01-05",
            "01/06/2024",
            "Jan 7 2024",
            "yes",
            "no",
            "fraud",
            '=HYPERLINK("x")',
            "+cmd",
            "@SUM(A1)",
            "0",
            "1",
            " ",
            '"',
            '""',
            "a\nb",
            "Müller",
            "€",
            "\x00",
            "\ufeff",
        ]
    ),
    st.text(max_size=12),
)
NAMES = st.one_of(
    st.sampled_from(
        [
            "age",
            "target",
            "label",
            "date",
            "amount",
            "Class",
            "CustomerID",
            "Quantity",
            "InvoiceDate",
            "UnitPrice",
            "pixel0",
            "",
            "id",
            "sales",
            "store",
        ]
    ),
    st.text(max_size=8),
)


@st.composite
def csv_text(draw) -> bytes:
    sep = draw(st.sampled_from([",", ";", "\t", "|"]))
    n_cols = draw(st.integers(1, 6))
    header = draw(st.lists(NAMES, min_size=n_cols, max_size=n_cols))
    rows = draw(st.lists(st.lists(CELLS, min_size=0, max_size=n_cols + 1), max_size=25))
    quote = draw(st.booleans())
    fmt = (lambda c: '"' + c.replace('"', '""') + '"') if quote else (lambda c: c)
    text = "\n".join(sep.join(fmt(c) for c in row) for row in [header, *rows])
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1"]))
    return text.encode(encoding, errors="replace")


def _validators(df) -> None:
    profile(df)
    for col in df.columns:
        column_kind(df[col])
    check_finite(df, df.columns)
    sample_rows(load_table(df.to_csv(index=False).encode(), "again.csv"), 5)
    for module in (diagnosis, fraud, segmentation, forecast, maintenance):
        try:
            module.prepare(df, module.default_columns(df))
        except DataError:
            pass
    try:
        digits.read_images(df, digits.default_columns(df))
    except DataError:
        pass


def _only_data_errors(raw: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            table = load_table(raw, "random.csv")
        except DataError as exc:
            assert exc.message and "Traceback" not in exc.message
            return
        try:
            _validators(table.df)
        except DataError as exc:
            assert exc.message


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csv_text())
def test_random_csv_text_gives_a_table_or_a_sentence(raw):
    _only_data_errors(raw)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2048))
def test_random_bytes_give_a_table_or_a_sentence(raw):
    _only_data_errors(raw)


@pytest.mark.parametrize("raw", [b"\x1f\x8b\x08\x00broken", b"PK\x03\x04" + bytes(30), b"\xff\xfe\x00", b"a\n\x00\x00"])
def test_truncated_archives_and_stray_bytes(raw):
    _only_data_errors(raw)
