"""Reading analysts' CSVs: every format we promise, and a sentence for every bad file."""
from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from engine.data import DataError, column_kind, check_finite, load_table, profile

GOOD = "age,sex,chol\n63,M,233\n67,F,286\n"


@pytest.mark.parametrize(
    "raw, note",
    [
        (GOOD.encode("utf-8"), None),
        (b"\xef\xbb\xbf" + GOOD.encode("utf-8"), None),
        (GOOD.encode("utf-16"), "UTF-16"),
        (GOOD.replace(",", ";").encode(), "semicolon"),
        (GOOD.replace(",", "\t").encode(), "tab"),
        (gzip.compress(GOOD.encode()), "gzip"),
    ],
)
def test_reads_the_formats_we_promise(raw, note):
    t = load_table(raw, "p.csv")
    assert list(t.df.columns) == ["age", "sex", "chol"]
    assert t.df["chol"].tolist() == [233, 286]
    if note:
        assert any(note in n for n in t.notes)


def test_latin1_text_is_read_and_said():
    raw = "name;city\nRenée;Zürich\nJosé;Málaga\n".encode("latin-1")
    t = load_table(raw, "l.csv")
    assert t.df["city"].tolist() == ["Zürich", "Málaga"]
    assert any("Latin-1" in n for n in t.notes)


def test_fingerprint_is_content_based():
    assert load_table(GOOD.encode(), "a.csv").fingerprint == load_table(GOOD.encode(), "b.csv").fingerprint
    assert load_table(GOOD.encode(), "a.csv").fingerprint != load_table((GOOD + "1,M,2\n").encode(), "a.csv").fingerprint


@pytest.mark.parametrize(
    "raw, words",
    [
        (b"", "is empty"),
        (b"   \n\n", "is empty"),
        (b"age,sex,chol\n", "no data rows"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "PNG image"),
        (b"\xff\xd8\xff\xe0" + bytes(100), "JPEG image"),
        (b"PK\x03\x04" + bytes(100), "ZIP archive"),
        (b"abc\x00\x01\x02def" * 10, "binary data"),
        (b"a,b,a\n1,2,3\n", "appears twice"),
        (b"a,b\n1,2\n3,4,5\n", "Line 3"),
    ],
)
def test_bad_files_get_a_sentence(raw, words):
    with pytest.raises(DataError) as err:
        load_table(raw, "bad.csv")
    assert words in err.value.message
    assert "bad.csv" in err.value.message or "Line" in err.value.message


def test_size_and_row_caps():
    with pytest.raises(DataError, match="over the"):
        load_table(GOOD.encode() * 100, "big.csv", max_bytes=200)
    t = load_table(("x\n" + "1\n" * 50).encode(), "rows.csv", max_rows=10)
    assert len(t.df) == 10 and any("first 10" in n for n in t.notes)


def test_blank_header_is_named_and_said():
    t = load_table(b"a,,c\n1,2,3\n", "h.csv")
    assert list(t.df.columns) == ["a", "column_2", "c"]
    assert any("no name" in n for n in t.notes)


def test_column_kinds_and_profile():
    df = pd.DataFrame({
        "num": np.arange(100) * 1.5, "cat": ["a", "b"] * 50, "const": 1, "empty": [None] * 100,
        "text": [f"note {i} about things" for i in range(100)], "when": [f"2024-01-{1 + i % 28:02d}" for i in range(100)],
    })
    kinds = {c: column_kind(df[c]) for c in df}
    assert kinds == {"num": "numeric", "cat": "categorical", "const": "constant", "empty": "empty", "text": "text", "when": "datetime"}
    prof = profile(df)
    assert prof.set_index("column").loc["empty", "missing"] == 100


def test_infinite_values_are_named():
    df = pd.DataFrame({"ok": [1.0, 2.0], "bad": [1.0, np.inf]})
    check_finite(df, ["ok"])
    with pytest.raises(DataError, match="'bad'.*infinite"):
        check_finite(df, ["ok", "bad"])
