"""Reading analysts' CSVs: every format we promise, and a sentence for every bad file."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from engine.data import DataError, check_finite, column_kind, load_table, profile

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
    assert (
        load_table(GOOD.encode(), "a.csv").fingerprint != load_table((GOOD + "1,M,2\n").encode(), "a.csv").fingerprint
    )


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
    df = pd.DataFrame(
        {
            "num": np.arange(100) * 1.5,
            "cat": ["a", "b"] * 50,
            "const": 1,
            "empty": [None] * 100,
            "text": [f"note {i} about things" for i in range(100)],
            "when": [f"2024-01-{1 + i % 28:02d}" for i in range(100)],
        }
    )
    kinds = {c: column_kind(df[c]) for c in df}
    assert kinds == {
        "num": "numeric",
        "cat": "categorical",
        "const": "constant",
        "empty": "empty",
        "text": "text",
        "when": "datetime",
    }
    prof = profile(df)
    assert prof.set_index("column").loc["empty", "missing"] == 100


def test_infinite_values_are_named():
    df = pd.DataFrame({"ok": [1.0, 2.0], "bad": [1.0, np.inf]})
    check_finite(df, ["ok"])
    with pytest.raises(DataError, match="'bad'.*infinite"):
        check_finite(df, ["ok", "bad"])


# ----------------------------------------------------------------------------- issue 8: hostile and odd files


def _zip(files: dict[str, str]) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()


def test_a_zip_with_one_csv_is_read_and_others_get_a_sentence():
    t = load_table(_zip({"patients.csv": GOOD}), "p.zip")
    assert t.df["chol"].tolist() == [233, 286] and any("ZIP" in n for n in t.notes)
    with pytest.raises(DataError, match="holding 2 files"):
        load_table(_zip({"a.csv": GOOD, "b.csv": GOOD}), "two.zip")
    with pytest.raises(DataError, match="Excel workbook"):
        load_table(_zip({"[Content_Types].xml": "<x/>", "xl/workbook.xml": "<w/>"}), "book.xlsx")
    with pytest.raises(DataError, match="could not be unpacked"):
        load_table(_zip({"a.csv": GOOD})[:60], "cut.zip")


def test_text_encodings_are_read_and_said():
    assert "UTF-16" in " ".join(load_table(GOOD.encode("utf-16-le"), "no_bom.csv").notes)
    t = load_table(b"\xef\xbb\xbf" + GOOD.encode(), "bom.csv")
    assert list(t.df.columns)[0] == "age" and any("byte-order mark" in n for n in t.notes)
    t = load_table("name,city\nMüller,Zürich\nJosé,São Paulo\n".encode("latin-1"), "latin.csv")
    assert t.df["name"].tolist() == ["Müller", "José"] and any("Latin-1" in n for n in t.notes)


@pytest.mark.parametrize(
    "raw, line, used", [(b"a,b,c\n1,2,3\n4;5;6\n7,8,9\n", 3, "semicolons"), (b"a;b;c\n1,2,3\n4,5,6\n", 2, "commas")]
)
def test_mixed_separators_are_named(raw, line, used):
    with pytest.raises(DataError, match=rf"Line {line} .* separated by {used}"):
        load_table(raw, "mixed.csv")


def test_too_many_columns_is_refused_with_the_limit():
    wide = ",".join(f"c{i}" for i in range(5000)) + "\n" + ",".join("1" * 5000) + "\n"
    with pytest.raises(DataError, match=r"5,000 columns; this app reads at most 2,000"):
        load_table(wide.encode(), "wide.csv")


def test_thousands_separators_decimal_commas_and_currency_become_numbers():
    t = load_table(b'id,amount\n1,"1,234.50"\n2,"12,000"\n3,15.5\n4,"2,000,000"\n', "us.csv")
    assert t.df["amount"].tolist() == [1234.5, 12000.0, 15.5, 2_000_000.0]
    assert any("thousands separators" in n for n in t.notes)
    t = load_table(b"id;amount\n1;1.234,50\n2;12,5\n3;3\n4;0,75\n", "eu.csv")
    assert t.df["amount"].tolist() == [1234.5, 12.5, 3.0, 0.75]
    assert any("decimal commas" in n for n in t.notes)
    t = load_table(b"id,share,price\n1,12%,$5\n2,13%,$7.5\n3,50%,$1\n", "signs.csv")
    assert t.df["share"].tolist() == [12, 13, 50] and t.df["price"].tolist() == [5, 7.5, 1]


def test_a_few_words_in_a_number_column_become_missing_with_a_note_but_codes_stay_text():
    rows = "".join(f"{20 + i},{i % 2}\n" for i in range(40))
    t = load_table(("age,y\n" + rows + "unknown,1\nfifty,0\n").encode(), "words.csv")
    assert t.df["age"].dtype == float and t.df["age"].isna().sum() == 2
    assert any("'age'" in n and "2 cell(s) are not numbers" in n for n in t.notes)
    codes = "".join(f"{85000 + i},{i}\n" for i in range(40)) + "85123A,1\nC536379,2\n"
    t = load_table(("stock_code,q\n" + codes).encode(), "codes.csv")
    assert t.df["stock_code"].dtype == object and not t.notes
    t = load_table(b"colour,y\nred,1\nblue,0\n3,1\n", "text.csv")
    assert t.df["colour"].tolist() == ["red", "blue", "3"]


def test_samples_and_row_caps_are_seeded_and_said():
    from engine.data import sample_rows

    big = ("x,y\n" + "".join(f"{i},{i % 3}\n" for i in range(1000))).encode()
    t = load_table(big, "big.csv", max_rows=300)
    assert len(t.df) == 300 and "only the first 300" in t.notice
    full = load_table(big, "big.csv")
    a, b = sample_rows(full, 100), sample_rows(full, 100)
    assert len(a.df) == 100 and a.df.equals(b.df) and a.fingerprint == b.fingerprint != full.fingerprint
    assert a.df["x"].is_monotonic_increasing and "random sample of 100" in a.notice
    assert sample_rows(full, 5000) is full


def test_whitespace_quoted_newlines_and_long_strings():
    with pytest.raises(DataError, match="is empty"):
        load_table(b"  \n\n \r\n", "blank.csv")
    t = load_table(b'note,y\n"line one\nline two",1\nplain,0\n', "nl.csv")
    assert t.df["note"].tolist() == ["line one\nline two", "plain"]
    long = "x" * 100_000
    t = load_table(f"note,y\n{long},1\nshort,0\n".encode(), "long.csv")
    assert len(t.df["note"][0]) == 100_000


def test_impossible_zeros_are_flagged_and_can_become_missing():
    """Pima-like: a blood pressure or insulin of 0 is an empty cell; pregnancies and units sold start at a real 0."""
    import numpy as np
    import pandas as pd

    from engine.data import Table, impossible_zeros, zeros_as_missing

    rng = np.random.default_rng(0)
    n = 200
    bp = rng.normal(72, 12, n).round().clip(24, 122)
    bp[:9] = 0
    insulin = rng.gamma(4, 30, n).round().clip(14, 846)
    insulin[50:140] = 0
    df = pd.DataFrame(
        {
            "Pregnancies": rng.poisson(3, n),
            "BloodPressure": bp,
            "Insulin": insulin,
            "DailySales": np.where(rng.random(n) < 0.2, 0, rng.normal(5000, 900, n).round()),
            "oldpeak": np.where(rng.random(n) < 0.3, 0.0, rng.gamma(2, 0.6, n).round(1) + 0.1),
        }
    )
    found = impossible_zeros(df)
    assert set(found) == {"BloodPressure", "Insulin"}, found
    assert found["BloodPressure"] == (9, float(bp[bp > 0].min())) and found["Insulin"][0] == 90
    table = Table(df, "pima.csv", [], "f" * 64)
    fixed = zeros_as_missing(table, found)
    assert int(fixed.df["BloodPressure"].isna().sum()) == 9 and int(fixed.df["Insulin"].isna().sum()) == 90
    assert fixed.df["Pregnancies"].equals(df["Pregnancies"]) and int((df["BloodPressure"] == 0).sum()) == 9
    assert fixed.fingerprint != table.fingerprint and "Insulin (90 rows)" in fixed.notes[-1]
