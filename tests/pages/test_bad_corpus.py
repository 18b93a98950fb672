"""Issue 8: every file of the bad-file corpus (tests/data/bad/) through its page in AppTest.

For each file: open the page, pick "Upload my own CSV", upload it, and check that
(a) nothing raised, (b) no traceback or source path reached the page, (c) the page says what is wrong
in a sentence (`st.error`), or reads the file and shows its preview (with a note under "What we did while
reading your file" where one is expected); files that read fine but cannot be trained on get their
sentence at the column step or after pressing Train; (d) a good file uploaded next into the same
uploader is read as usual. Plus one 1,000,000-row upload to the fraud page.

The corpus is written by tests/data/make_bad_corpus.py; tests/data/bad/README.md lists each file.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT, SAMPLES

APP = str(ROOT / "app.py")
BAD = ROOT / "tests" / "data" / "bad"
UPLOAD = "Upload my own CSV"
NOTES = "What we did while reading your file"
TYPES = "Column types and missing values"
PREFIX = {"diagnosis": "dx", "fraud": "fr", "segmentation": "seg", "forecast": "fc", "digits": "dg"}
APOLOGY = "went wrong on our side"
# Signs that a sentence was assembled from a missing value or an empty list: not a sentence for an analyst.
CRYPTIC = re.compile(r"'None'|\bNone\b|\bnan\b| in ,| is an? \?|\(\)|\[\]|Traceback|File \"|Error:|Exception")


@dataclass(frozen=True)
class Expect:
    """What the page should do with one file.

    error: words one `st.error` must contain (case-insensitive; "a|b" accepts either); empty: no `st.error`.
    rows:  the preview's "Rows" metric (None: no preview expected, because the file cannot be read).
    note:  words one note under "What we did while reading your file" must contain.
    says:  words that must appear in an error, warning, info or note (for cases where either is right).
    numeric: columns the preview's column types must call numeric.
    first: the first column's name in the preview (no byte-order mark glued to it).
    cell:  (column, value): the preview shows this value, unchanged, in this column.
    set:   widgets to set after the upload, as (key prefix, value), e.g. the quantity column.
    train: press the page's Train button when no error shows before it; the error may come after training.
    """

    error: tuple[str, ...] = ()
    rows: int | None = None
    note: tuple[str, ...] = ()
    says: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()
    first: str | None = None
    cell: tuple[str, str] | None = None
    set: tuple[tuple[str, object], ...] = ()
    train: bool = False


def E(*error: str, **kw) -> Expect:
    return Expect(error=error, **kw)


# file name → (page, expectation)
MANIFEST: dict[str, tuple[str, Expect]] = {
    # ---------------------------------------------------------------- diagnosis
    "diagnosis_empty.csv": ("diagnosis", E("is empty")),
    "diagnosis_header_only.csv": ("diagnosis", E("no data rows")),
    "diagnosis_png_image_renamed.csv": ("diagnosis", E("PNG", "not a CSV")),
    "diagnosis_latin1_patient_names.csv": (
        "diagnosis",
        Expect(rows=60, note=("Latin-1",), cell=("patient_name", "Müller")),
    ),
    "diagnosis_utf8_bom.csv": ("diagnosis", Expect(rows=60, first="age")),
    "diagnosis_duplicate_column_names.csv": ("diagnosis", E("chol", "appears twice")),
    "diagnosis_one_class_outcome.csv": ("diagnosis", E("target", "only one value", rows=60, train=True)),
    "diagnosis_infinities.csv": ("diagnosis", E("chol", "infinite", rows=60, train=True)),
    "diagnosis_formula_cells.csv": (
        "diagnosis",
        Expect(rows=60, cell=("clinician_note", '=HYPERLINK("http://evil.example","click")')),
    ),
    "diagnosis_5000_columns.csv": ("diagnosis", E("5,000 columns", "2,000")),
    "diagnosis_gzip_bomb_300mb.csv.gz": ("diagnosis", E("unpacks to more than 200 MB", "upload limit")),
    # ---------------------------------------------------------------- fraud
    "fraud_random_bytes_with_nuls.csv": ("fraud", E("not a CSV|binary")),
    "fraud_ragged_rows.csv": ("fraud", E("Line 8", "33 values", "31 columns")),
    "fraud_utf16_bom.csv": ("fraud", Expect(rows=80, note=("UTF-16",), first="Time")),
    "fraud_zip_one_csv.zip": ("fraud", Expect(rows=80, note=("ZIP", "transactions_2013.csv"))),
    "fraud_zip_bomb_300mb.zip": ("fraud", E("unpacks to more than 200 MB", "upload limit")),
    "fraud_one_class_label.csv": ("fraud", E("Class", "fraud", rows=120, train=True)),
    "fraud_thousands_separators.csv": (
        "fraud",
        Expect(rows=80, note=("Amount", "thousands separators"), numeric=("Amount",)),
    ),
    "fraud_text_in_amount.csv": (
        "fraud",
        Expect(rows=80, note=("Amount", "4 cell", "not numbers"), numeric=("Amount",)),
    ),
    "fraud_amount_mostly_text.csv": ("fraud", E("Amount", "text", rows=80)),
    "fraud_whitespace_only.csv": ("fraud", E("is empty")),
    "fraud_constant_column.csv": ("fraud", Expect(rows=80)),
    "fraud_quoted_newlines.csv": ("fraud", Expect(rows=80, cell=("merchant", "Corner shop\nLondon"))),
    # ---------------------------------------------------------------- segmentation
    "segmentation_zip_two_csvs.zip": ("segmentation", E("ZIP", "one CSV|2 files|two files|several")),
    "segmentation_excel_workbook_renamed.csv": ("segmentation", E("Excel", "not a CSV")),
    "segmentation_mixed_delimiters.csv": ("segmentation", E("separat")),
    "segmentation_decimal_commas.csv": (
        "segmentation",
        Expect(rows=120, note=("UnitPrice", "decimal commas"), numeric=("UnitPrice",)),
    ),
    "segmentation_returns_only.csv": ("segmentation", E("Quantity", "negative", rows=120, train=True)),
    "segmentation_fewer_customers_than_segments.csv": (
        "segmentation",
        E("4 segments", "3 customers", rows=36, set=(("seg_k_", 4),), train=True),
    ),
    "segmentation_blank_column_names.csv": ("segmentation", Expect(rows=120, note=("no name",))),
    "segmentation_100k_char_cell.csv": (
        "segmentation",
        Expect(rows=120, cell=("Description", ("VERY LONG DESCRIPTION " * 5000)[:100_000])),
    ),
    "segmentation_one_column.csv": (
        "segmentation",
        E("no column to segment", "only the customer column", rows=120, train=True),
    ),
    "segmentation_truncated_gzip.csv.gz": ("segmentation", E("gzip")),
    # ---------------------------------------------------------------- forecast
    "forecast_mixed_date_formats.csv": ("forecast", Expect(rows=200, says=("date", "format"))),
    "forecast_single_date_per_series.csv": ("forecast", E("single date", rows=30, train=True)),
    "forecast_quantity_all_text.csv": (
        "forecast",
        E("units", "number|text", rows=200, set=(("fc_target_", "units"),), train=True),
    ),
    "forecast_quantity_all_missing.csv": ("forecast", E("units", "empty", rows=200, train=True)),
    "forecast_infinities.csv": ("forecast", E("units", "infinite", rows=200, train=True)),
    "forecast_utf8_bom.csv": ("forecast", Expect(rows=200, first="date")),
    "forecast_formula_cells.csv": ("forecast", Expect(rows=200, cell=("description", "@SUM(A1)"))),
    "forecast_one_column.csv": ("forecast", E("only one column ('date')", "quantity column", rows=200, train=True)),
    "forecast_header_only.csv": ("forecast", E("no data rows")),
    # ---------------------------------------------------------------- digits
    "digits_pixels_out_of_range.csv": ("digits", E("0 and 255", "pixel200", rows=12, train=True)),
    "digits_labels_outside_0_9.csv": ("digits", E("0 to 9", "10", rows=12, train=True)),
    "digits_wrong_pixel_count.csv": ("digits", E("700 pixel columns", "784", rows=12, train=True)),
    "digits_header_only.csv": ("digits", E("no data rows")),
    "digits_jpeg_photo_renamed.csv": ("digits", E("JPEG", "not a CSV")),
    "digits_text_in_pixels.csv": (
        "digits",
        E(
            "3 empty or non-numeric pixel cell",
            "'pixel299', data row 3",
            "0 to 255",
            rows=12,
            note=("not numbers",),
            numeric=("pixel299",),
            train=True,
        ),
    ),
    "digits_label_all_missing.csv": ("digits", E("label", "empty|missing|no label", rows=12, train=True)),
    "digits_infinities_in_pixels.csv": ("digits", E("pixel349", "infinite", rows=12, train=True)),
    "digits_single_image.csv": ("digits", E("at least two different digits", rows=1, train=True)),
}


# ----------------------------------------------------------------------------- good files for "the next upload works"


def _head(path: Path, n: int) -> bytes:
    import gzip

    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return b"".join(raw.splitlines(keepends=True)[: n + 1])


GOOD = {  # page → (file name, how many data rows)
    "diagnosis": ("heart_200.csv", 200, lambda: _head(SAMPLES / "heart_disease_cleveland.csv", 200)),
    "fraud": ("transactions_400.csv", 400, lambda: _head(SAMPLES / "creditcard_transactions.csv", 400)),
    "segmentation": ("invoices_2000.csv", 2000, lambda: _head(SAMPLES / "online_retail_transactions.csv.gz", 2000)),
    "forecast": (
        "daily_units_2_products.csv",
        748,
        lambda: _head(SAMPLES / "online_retail_daily_product_units.csv", 748),
    ),
    "digits": ("mnist_train_500.csv", 500, lambda: (SAMPLES / "mnist_train_500.csv").read_bytes()),
}


# ----------------------------------------------------------------------------- helpers


def _open(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)  # straight to the page: the home page is not under test here
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    at.radio(key=f"{PREFIX[page]}_dataset").set_value(UPLOAD).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _upload(at: AppTest, page: str, name: str, data: bytes) -> None:
    key = f"{PREFIX[page]}_upload"
    uploader = next(u for u in at.get("file_uploader") if u.key == key)
    uploader.set_value((name, data, "text/csv")).run()


def _texts(at: AppTest) -> list[str]:
    out = []
    for kind in ("error", "warning", "info", "success", "markdown", "caption", "exception"):
        out += [str(e.value) for e in getattr(at, kind)]
    return out


def _notes(at: AppTest) -> list[str]:
    return [m.value for x in at.expander if x.label == NOTES for m in x.markdown]


def _metric(at: AppTest, label: str) -> str | None:
    return next((m.value for m in at.metric if m.label == label), None)


def _kinds(at: AppTest):
    frames = [d.value for x in at.expander if x.label == TYPES for d in x.dataframe]
    assert frames, "the preview's column types table is missing"
    return frames[0]


def _shows(at: AppTest, column: str, value: str) -> bool:
    return any(column in d.value.columns and (d.value[column].astype(str) == value).any() for d in at.dataframe)


def _has(text: str, word: str) -> bool:
    return any(alt.lower() in text.lower() for alt in word.split("|"))


def _says(texts: list[str], words: tuple[str, ...]) -> bool:
    return any(all(_has(t, w) for w in words) for t in texts)


def _sane(at: AppTest, where: str) -> None:
    """(a) and (b): no exception, no traceback or source path, no apology for a bug, no cryptic sentence."""
    assert not at.exception, f"{where}: exception on the page: {[e.value for e in at.exception]}"
    for t in _texts(at):
        assert "Traceback" not in t and 'File "' not in t, f"{where}: a traceback reached the page: {t[:300]}"
    errors = [e.value for e in at.error]
    assert not any(APOLOGY in e for e in errors), f"{where}: the page apologised for a bug: {errors}"
    cryptic = [e for e in errors if CRYPTIC.search(e)]
    assert not cryptic, f"{where}: not a sentence for an analyst: {cryptic}"


def _set_widgets(at: AppTest, settings) -> None:
    for prefix, value in settings:
        widgets = [
            w
            for kind in ("selectbox", "multiselect", "number_input", "radio", "checkbox")
            for w in getattr(at, kind)
            if w.key and w.key.startswith(prefix)
        ]
        assert widgets, f"no widget with a key starting {prefix!r}"
        widgets[0].set_value(value).run()


def _train(at: AppTest, page: str) -> None:
    buttons = [b for b in at.button if b.key == f"{page}_train"]
    if not buttons:
        return  # the column step already stopped the page (its sentence is checked by the caller)
    before = set(at.session_state["_explorer_jobs"]) if "_explorer_jobs" in at.session_state else set()
    buttons[0].click().run()
    jobs = at.session_state["_explorer_jobs"]
    new = [j for k, j in jobs.items() if k not in before]
    assert len(new) == 1, "pressing Train started no job"
    assert new[0].wait(120), "training did not finish within 120 s"
    at.run()


# ----------------------------------------------------------------------------- the corpus


def test_manifest_covers_the_corpus_and_its_readme():
    files = {p.name for p in BAD.iterdir() if p.name != "README.md"}
    assert files == set(MANIFEST), (sorted(files - set(MANIFEST)), sorted(set(MANIFEST) - files))
    assert len(files) >= 44
    pages = [page for page, _ in MANIFEST.values()]
    assert all(pages.count(p) >= 8 for p in PREFIX), {p: pages.count(p) for p in PREFIX}
    assert all(name.startswith(page + "_") for name, (page, _) in MANIFEST.items())
    readme = (BAD / "README.md").read_text()
    missing = [name for name in MANIFEST if f"`{name}`" not in readme]
    assert not missing, f"README.md does not list {missing}"
    assert sum(p.stat().st_size for p in BAD.iterdir()) < 2.0e6  # 0.9 MB of it: the two archive bombs of issue 23


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_bad_file(name):
    page, want = MANIFEST[name]
    at = _open(page)
    _upload(at, page, name, (BAD / name).read_bytes())
    _sane(at, f"{name} after upload")

    # (c) the preview, the reading notes, the column types
    rows = _metric(at, "Rows")
    if want.rows is None:
        assert rows is None, f"{name}: expected no preview, but it shows {rows} rows"
    else:
        assert rows == f"{want.rows:,}", (
            f"{name}: Rows metric {rows!r}, expected {want.rows:,}; errors: {[e.value for e in at.error]}"
        )
    notes = _notes(at)
    if want.note:
        assert _says(notes, want.note), f"{name}: no note with {want.note} in {notes}"
    if want.numeric or want.first:
        kinds = _kinds(at)
        if want.first:
            assert str(kinds["column"].iloc[0]) == want.first, f"{name}: first column {kinds['column'].iloc[0]!r}"
            assert not any("\ufeff" in str(c) for c in kinds["column"])
        for col in want.numeric:
            kind = dict(zip(kinds["column"], kinds["kind"])).get(col)
            assert kind == "numeric", f"{name}: column {col!r} is read as {kind!r}, not numeric"

    if want.cell:
        assert _shows(at, *want.cell), f"{name}: the preview does not show {want.cell[1]!r} in column {want.cell[0]!r}"

    # the column step, and training where the problem only shows there
    if want.set and rows is not None and not at.error:
        _set_widgets(at, want.set)
        _sane(at, f"{name} after setting {want.set}")
    if want.train and not at.error:
        _train(at, page)
        _sane(at, f"{name} after Train")

    errors = [e.value for e in at.error]
    if want.error:
        assert _says(errors, want.error), f"{name}: expected an error with {want.error}, got {errors}"
    elif want.says:
        said = errors + [w.value for w in at.warning] + [i.value for i in at.info] + _notes(at)
        assert _says(said, want.says), f"{name}: expected a message with {want.says}, got {said}"
        assert all(_says([e], want.says) for e in errors), f"{name}: an error about something else: {errors}"
    else:
        assert not errors, f"{name}: expected the file to be read without an error, got {errors}"

    # (d) the next upload works
    good_name, good_rows, good_bytes = GOOD[page]
    _upload(at, page, good_name, good_bytes())
    _sane(at, f"{name}, then {good_name}")
    assert _metric(at, "Rows") == f"{good_rows:,}", f"{name}, then {good_name}: Rows {_metric(at, 'Rows')!r}"
    assert not at.error, f"{name}, then {good_name}: {[e.value for e in at.error]}"


# ----------------------------------------------------------------------------- a million rows


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Non-negative integers as zero-padded ASCII digits, one row of `width` bytes each (vectorised)."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values[:, None] // powers % 10 + ord("0")).astype(np.uint8)


def _million_row_csv(path: Path, n: int = 1_000_000, features: int = 3) -> int:
    """Fraud-like transactions written as fixed-width bytes with numpy (no per-row Python):
    Time (seconds, 7 digits), V1…Vk (-9.99…09.99), Amount (000.00…999.99), Class (0/1, 0.2% fraud)."""
    rng = np.random.default_rng(8)
    parts = [_digits(np.arange(n, dtype=np.int64), 7)]
    for _ in range(features):
        v = np.clip(rng.normal(size=n), -9.99, 9.99)
        cents = _digits(np.round(np.abs(v) * 100).astype(np.int64), 3)
        sign = np.where(v < 0, ord("-"), ord("0")).astype(np.uint8)[:, None]
        parts.append(np.hstack([sign, cents[:, :1], np.full((n, 1), ord("."), np.uint8), cents[:, 1:]]))
    amount = _digits(np.minimum(np.round(rng.gamma(2.0, 40.0, size=n) * 100), 99_999).astype(np.int64), 5)
    parts.append(np.hstack([amount[:, :3], np.full((n, 1), ord("."), np.uint8), amount[:, 3:]]))
    parts.append(_digits((rng.random(n) < 0.002).astype(np.int64), 1))
    comma = np.full((n, 1), ord(","), np.uint8)
    row = [parts[0]]
    for part in parts[1:]:
        row += [comma, part]
    row.append(np.full((n, 1), ord("\n"), np.uint8))
    header = ",".join(["Time", *[f"V{i + 1}" for i in range(features)], "Amount", "Class"]) + "\n"
    path.write_bytes(header.encode() + np.hstack(row).tobytes())
    return path.stat().st_size


def test_a_million_rows_on_the_fraud_page(tmp_path):
    path = tmp_path / "transactions_1m.csv"
    size = _million_row_csv(path)
    assert 30e6 < size < 45e6, size

    at = _open("fraud")
    start = time.perf_counter()
    _upload(at, "fraud", path.name, path.read_bytes())
    seconds = time.perf_counter() - start
    _sane(at, "1,000,000 rows")
    rows = _metric(at, "Rows")
    said = [i.value for i in at.info] + [w.value for w in at.warning] + _notes(at)
    capped = any(re.search(r"sample|first [\d,]+ rows|capped|at most|only the first", s, re.I) for s in said)
    assert rows == "1,000,000" or capped, f"Rows {rows!r} and no notice of a sample or cap in {said}"
    if rows != "1,000,000":
        assert any("1,000,000" in s for s in said), f"the notice does not say how many rows the file had: {said}"
    assert not at.error, [e.value for e in at.error]
    print(f"1,000,000 rows ({size / 1e6:.0f} MB): read and shown in {seconds:.1f} s; Rows metric {rows}")
