"""Write the bad-file corpus of issue 8 into tests/data/bad/ (deterministic: same bytes every run).

    .venv/bin/python tests/data/make_bad_corpus.py

Every file is something an analyst could really upload by mistake, or a real-looking table with one
thing wrong. The well-formed parts are small slices of the bundled sample data, so the files look like
what the page expects. tests/pages/test_bad_corpus.py feeds each one through its page; README.md in
the output folder lists every file, what is wrong with it and what the app is expected to do.
"""

from __future__ import annotations

import csv
import gzip
import io
import random
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_data"
OUT = Path(__file__).resolve().parent / "bad"
ZIP_TIME = (2024, 1, 5, 9, 30, 0)  # fixed member timestamps: the archives are byte-identical on every run

FORMULAS = ['=HYPERLINK("http://evil.example","click")', "+cmd|' /C calc'!A0", "@SUM(A1)", "-2+3+cmd", "=1+1"]
NAMES = ["Müller", "José", "Françoise", "Søren", "Zoë", "Ångström", "Nuñez", "Brontë"]


# ----------------------------------------------------------------------------- helpers


def _lines(name: str) -> list[str]:
    path = SAMPLES / name
    raw = gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes()
    return raw.decode("utf-8").splitlines()


def _rows(name: str, n: int | None = None, start: int = 0) -> tuple[list[str], list[list[str]]]:
    """Header and n data rows (as cell lists) of a sample file, from data row `start`."""
    reader = csv.reader(io.StringIO("\n".join(_lines(name))))
    header = next(reader)
    rows = list(reader)
    return header, rows[start:] if n is None else rows[start : start + n]


def _csv(header: list[str], rows: list[list[object]], delimiter: str = ",") -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buf.getvalue()


def _gzip(data: bytes, level: int = 9) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="", compresslevel=level) as fh:
        fh.write(data)
    return buf.getvalue()


def _heart(n: int = 60) -> tuple[list[str], list[list[str]]]:
    return _rows("heart_disease_cleveland.csv", n)


def _card(n: int = 40, start: int = 0) -> tuple[list[str], list[list[str]]]:
    """Transactions with both classes: the sample's frauds come in blocks, so mix two ranges."""
    header, rows = _rows("creditcard_transactions.csv")
    label = header.index("Class")
    frauds = [r for r in rows if r[label] == "1"]
    genuine = [r for r in rows if r[label] == "0"]
    picked = genuine[start : start + n - n // 4] + frauds[start : start + n // 4]
    picked.sort(key=lambda r: float(r[0]))
    return header, picked


def _retail(n: int = 120) -> tuple[list[str], list[list[str]]]:
    return _rows("online_retail_transactions.csv.gz", n)


def _daily(series: int = 2, days: int = 60) -> tuple[list[str], list[list[str]]]:
    header, rows = _rows("online_retail_daily_product_units.csv")
    codes: list[str] = []
    for r in rows:
        if r[1] not in codes:
            codes.append(r[1])
    keep = set(codes[:series])
    per: dict[str, int] = {}
    out = []
    for r in rows:
        if r[1] in keep and per.get(r[1], 0) < days:
            per[r[1]] = per.get(r[1], 0) + 1
            out.append(r)
    return header, out


def _mnist(n: int = 12) -> tuple[list[str], list[list[str]]]:
    return _rows("mnist_train_500.csv", n)


# ----------------------------------------------------------------------------- the files

FILES: dict[str, bytes] = {}


def add(name: str, data: str | bytes, encoding: str = "utf-8") -> None:
    assert name not in FILES, name
    FILES[name] = data.encode(encoding) if isinstance(data, str) else data


def diagnosis() -> None:
    h, rows = _heart(60)
    add("diagnosis_empty.csv", b"")
    add("diagnosis_header_only.csv", ",".join(h) + "\n")
    rnd = random.Random(8)
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x1c\x00\x00\x00\x1c\x08\x00\x00\x00\x00W\xdd\x52\xf8"
    add(
        "diagnosis_png_image_renamed.csv",
        png + bytes(rnd.randrange(256) for _ in range(400)) + b"\x00\x00\x00\x00IEND\xaeB`\x82",
    )
    # Latin-1 export with the patients' names (the kind of file a spreadsheet on Windows writes).
    add(
        "diagnosis_latin1_patient_names.csv",
        _csv(["patient_name", *h], [[NAMES[i % len(NAMES)], *r] for i, r in enumerate(rows)]),
        "latin-1",
    )
    add("diagnosis_utf8_bom.csv", b"\xef\xbb\xbf" + _csv(h, rows).encode())
    add("diagnosis_duplicate_column_names.csv", _csv([*h[:5], "chol", *h[5:]], [[*r[:5], r[4], *r[5:]] for r in rows]))
    t = h.index("target")
    add("diagnosis_one_class_outcome.csv", _csv(h, [[*r[:t], "1", *r[t + 1 :]] for r in rows]))
    c = h.index("chol")
    inf = [[*r[:c], {3: "inf", 11: "-inf", 27: "Infinity"}.get(i, r[c]), *r[c + 1 :]] for i, r in enumerate(rows)]
    add("diagnosis_infinities.csv", _csv(h, inf))
    add(
        "diagnosis_formula_cells.csv",
        _csv(
            [*h, "clinician_note"],
            [[*r, FORMULAS[i % len(FORMULAS)] if i % 4 == 0 else "routine check"] for i, r in enumerate(rows)],
        ),
    )
    # 5,000 columns, 6 rows: a wide export (e.g. a gene-expression table) far beyond the 2,000-column limit.
    rng = random.Random(5000)
    wide_h = ["patient_id", "target", *[f"g{j:04d}" for j in range(4998)]]
    wide = [[str(i + 1), str(i % 2), *[str(rng.randrange(10)) for _ in range(4998)]] for i in range(6)]
    add("diagnosis_5000_columns.csv", _csv(wide_h, wide))
    add("diagnosis_gzip_bomb_300mb.csv.gz", _gzip(_bomb(300), level=9))


def _bomb(mb: int) -> bytes:
    """Issue 23: 2,000 numeric columns of one-character cells, `mb` megabytes of them (packs about 700:1)."""
    row = ",".join(["1"] * 2000) + "\n"
    return (",".join(f"c{j}" for j in range(2000)) + "\n" + row * (mb * 2**20 // len(row))).encode()


def fraud() -> None:
    h, rows = _card(80)
    rnd = random.Random(80)
    add("fraud_random_bytes_with_nuls.csv", bytes(rnd.randrange(256) for _ in range(3000)) + b"\x00" * 16)
    ragged = _csv(h, rows).splitlines()
    ragged[7] += ",0.0,EXTRA"  # one line with two more fields than the header
    add("fraud_ragged_rows.csv", "\n".join(ragged) + "\n")
    add("fraud_utf16_bom.csv", _csv(h, rows), "utf-16")  # Python's utf-16 writes a BOM (little-endian here)
    add("fraud_zip_one_csv.zip", _zip({"transactions_2013.csv": _csv(h, rows).encode()}))
    add("fraud_zip_bomb_300mb.zip", _zip({"transactions.csv": _bomb(300)}))
    lab = h.index("Class")
    add("fraud_one_class_label.csv", _csv(h, [r for r in _card(160)[1] if r[lab] == "0"]))  # genuine transactions only
    a = h.index("Amount")
    thousands = [
        [*r[:a], f"{float(r[a]) * 37 + 1000:,.2f}", *r[a + 1 :]] for r in rows
    ]  # "1,234.50", quoted by the writer
    add("fraud_thousands_separators.csv", _csv(h, thousands))
    words = {2: "unknown", 9: "fifty", 17: "n/a?", 30: "unknown"}
    add("fraud_text_in_amount.csv", _csv(h, [[*r[:a], words.get(i, r[a]), *r[a + 1 :]] for i, r in enumerate(rows)]))
    mostly = [
        [*r[:a], r[a] if i % 5 == 0 else ["refund pending", "see ticket", "EUR", "tbc"][i % 4], *r[a + 1 :]]
        for i, r in enumerate(rows)
    ]
    add("fraud_amount_mostly_text.csv", _csv(h, mostly))
    add("fraud_whitespace_only.csv", "   \n\n\t\n  \r\n\n")
    add(
        "fraud_constant_column.csv",
        _csv([*h[:-1], "currency", "channel", h[-1]], [[*r[:-1], "EUR", "card", r[-1]] for r in rows]),
    )
    merchants = ["Corner shop\nLondon", 'Online "deal"\nsite', "Fuel station", "Café\r\nParis"]
    add(
        "fraud_quoted_newlines.csv",
        _csv(
            [*h[:-1], "merchant", h[-1]], [[*r[:-1], merchants[i % len(merchants)], r[-1]] for i, r in enumerate(rows)]
        ),
    )


def segmentation() -> None:
    h, rows = _retail(120)
    add(
        "segmentation_zip_two_csvs.zip",
        _zip({"invoices_2010.csv": _csv(h, rows[:60]).encode(), "invoices_2011.csv": _csv(h, rows[60:]).encode()}),
    )
    # An .xlsx workbook is a ZIP holding [Content_Types].xml and xl/…; analysts rename it to .csv.
    ct = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>'
    )
    sheet = "".join(
        f'<row r="{i + 1}">' + "".join(f'<c t="inlineStr"><is><t>{v}</t></is></c>' for v in r[:4]) + "</row>"
        for i, r in enumerate([h, *rows[:20]])
    )
    add(
        "segmentation_excel_workbook_renamed.csv",
        _zip(
            {
                "[Content_Types].xml": ct.encode(),
                "_rels/.rels": b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>',
                "xl/workbook.xml": b'<?xml version="1.0"?><workbook><sheets><sheet name="Sheet1" sheetId="1"/></sheets></workbook>',
                "xl/worksheets/sheet1.xml": f'<?xml version="1.0"?><worksheet><sheetData>{sheet}</sheetData></worksheet>'.encode(),
            }
        ),
    )
    # keep descriptions free of the separators so only the mixing is wrong
    mixed_rows = [[c.replace(",", " ").replace(";", " ") for c in r] for r in rows[:40]]
    lines = [",".join(h)] + [(";" if i % 3 == 1 else ",").join(r) for i, r in enumerate(mixed_rows)]
    add("segmentation_mixed_delimiters.csv", "\n".join(lines) + "\n")
    p = h.index("UnitPrice")
    dec = [[*r[:p], r[p].replace(".", ","), *r[p + 1 :]] for r in rows]  # "12,5" in a semicolon file
    add("segmentation_decimal_commas.csv", _csv(h, dec, ";"))
    q = h.index("Quantity")
    add("segmentation_returns_only.csv", _csv(h, [[*r[:q], str(-abs(int(r[q]))), *r[q + 1 :]] for r in rows]))
    cust = h.index("CustomerID")
    few = [
        r for r in rows if r[cust] in sorted({r[cust] for r in rows})[:3]
    ]  # 3 customers; the test asks for 4 segments
    add("segmentation_fewer_customers_than_segments.csv", _csv(h, few))
    blank = ["" if i in (2, 7) else c for i, c in enumerate(h)]  # Description and Country without a name
    add("segmentation_blank_column_names.csv", _csv(blank, rows))
    d = h.index("Description")
    long = [
        [*r[:d], ("VERY LONG DESCRIPTION " * 5000)[:100_000] if i == 5 else r[d], *r[d + 1 :]]
        for i, r in enumerate(rows)
    ]
    add("segmentation_100k_char_cell.csv", _csv(h, long))
    add("segmentation_one_column.csv", _csv(["CustomerID"], [[r[cust]] for r in rows]))
    full = _gzip(_csv(h, rows).encode())
    add("segmentation_truncated_gzip.csv.gz", full[: len(full) // 2])


def forecast() -> None:
    h, rows = _daily(2, 100)
    d = h.index("date")
    fmts = ["%Y-%m-%d", "%m/%d/%Y", "%b %d %Y"]  # 2011-01-05, 01/06/2011, Jan 07 2011 in one column
    from datetime import date as _date

    def fmt(s: str, i: int) -> str:
        day = _date.fromisoformat(s)
        out = day.strftime(fmts[i % 3])
        return out.replace(" 0", " ") if i % 3 == 2 else out  # "Jan 7 2011"

    add("forecast_mixed_date_formats.csv", _csv(h, [[*r[:d], fmt(r[d], i), *r[d + 1 :]] for i, r in enumerate(rows)]))
    # One row per product: each series has a single date.
    hh, all_rows = _rows("online_retail_daily_product_units.csv")
    first: dict[str, list[str]] = {}
    for r in all_rows:
        first.setdefault(r[1], r)
    add("forecast_single_date_per_series.csv", _csv(hh, list(first.values())))
    u = h.index("units")
    spelled = ["none", "twelve", "a few", "48 units", "n/a", "lots"]
    add(
        "forecast_quantity_all_text.csv",
        _csv(h, [[*r[:u], spelled[i % len(spelled)], *r[u + 1 :]] for i, r in enumerate(rows)]),
    )
    add("forecast_quantity_all_missing.csv", _csv(h, [[*r[:u], "", *r[u + 1 :]] for r in rows]))
    inf = {10: "inf", 25: "-inf", 70: "Infinity"}
    add("forecast_infinities.csv", _csv(h, [[*r[:u], inf.get(i, r[u]), *r[u + 1 :]] for i, r in enumerate(rows)]))
    add("forecast_utf8_bom.csv", b"\xef\xbb\xbf" + _csv(h, rows).encode())
    desc = h.index("description")
    add(
        "forecast_formula_cells.csv",
        _csv(
            h,
            [
                [*r[:desc], FORMULAS[i % len(FORMULAS)] if i % 7 == 0 else r[desc], *r[desc + 1 :]]
                for i, r in enumerate(rows)
            ],
        ),
    )
    add("forecast_one_column.csv", _csv(["date"], [[r[d]] for r in rows]))
    add("forecast_header_only.csv", ",".join(h) + "\r\n")


def digits() -> None:
    h, rows = _mnist(12)
    out = [list(r) for r in rows]
    for i, r in enumerate(out):
        r[1 + 200 + i] = "300"
        r[1 + 400 + i] = "-20"
        if i == 4:
            r[1 + 500] = "1000"
    add("digits_pixels_out_of_range.csv", _csv(h, out))
    add(
        "digits_labels_outside_0_9.csv",
        _csv(h, [[{1: "10", 5: "12", 8: "-1"}.get(i, r[0]), *r[1:]] for i, r in enumerate(rows)]),
    )
    add("digits_wrong_pixel_count.csv", _csv(h[:701], [r[:701] for r in rows]))  # label + pixel0 … pixel699
    add("digits_header_only.csv", ",".join(h) + "\n")
    jpeg = (
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        + bytes(random.Random(9).randrange(256) for _ in range(600))
        + b"\xff\xd9"
    )
    add("digits_jpeg_photo_renamed.csv", jpeg)
    words = [list(r) for r in rows]
    words[2][300], words[6][301], words[9][450] = "unknown", "fifty", "unknown"
    add("digits_text_in_pixels.csv", _csv(h, words))
    add("digits_label_all_missing.csv", _csv(h, [["", *r[1:]] for r in rows]))
    infs = [list(r) for r in rows]
    infs[3][350], infs[7][351], infs[10][352] = "inf", "-inf", "Infinity"
    add("digits_infinities_in_pixels.csv", _csv(h, infs))
    add("digits_single_image.csv", _csv(h, rows[:1]))


# ----------------------------------------------------------------------------- what each file is (→ README.md)

# name → (what is wrong, what the app is expected to do). The expectations are checked by
# tests/pages/test_bad_corpus.py (its MANIFEST); keep the two in step.
DESCRIBE: dict[str, tuple[str, str]] = {
    "diagnosis_empty.csv": ("0 bytes.", "Error: the file is empty."),
    "diagnosis_header_only.csv": (
        "The Cleveland header row and no data rows.",
        "Error: a header row but no data rows.",
    ),
    "diagnosis_png_image_renamed.csv": (
        "PNG image bytes saved with a .csv name.",
        "Error: a PNG image, not a CSV file.",
    ),
    "diagnosis_latin1_patient_names.csv": (
        "60 Cleveland rows plus a patient_name column (Müller, José, Søren …) encoded as Latin-1.",
        "Read (60 rows); a note says the file was read as Latin-1.",
    ),
    "diagnosis_utf8_bom.csv": (
        "60 Cleveland rows in UTF-8 with a byte-order mark (as Excel writes).",
        "Read (60 rows); the first column is 'age', with no BOM glued to it.",
    ),
    "diagnosis_duplicate_column_names.csv": (
        "'chol' appears twice in the header.",
        "Error naming 'chol': it appears twice.",
    ),
    "diagnosis_one_class_outcome.csv": (
        "Every patient has target = 1.",
        "Read (60 rows); error: the outcome 'target' has only one value.",
    ),
    "diagnosis_infinities.csv": (
        "'chol' holds inf, -inf and Infinity.",
        "Read (60 rows); error naming 'chol' and its infinite values when it is used.",
    ),
    "diagnosis_formula_cells.csv": (
        'A clinician_note column with spreadsheet formulas: =HYPERLINK("http://evil.example","click"), +cmd…, @SUM(A1), -2+3+cmd, =1+1.',
        "Read (60 rows) as plain text, no error (downloads escape such cells).",
    ),
    "diagnosis_5000_columns.csv": (
        "5,000 columns (a wide gene-style table), 6 rows.",
        "Error: 5,000 columns, the limit is 2,000.",
    ),
    "fraud_random_bytes_with_nuls.csv": ("3 KB of random bytes with NULs.", "Error: binary data, not a CSV file."),
    "fraud_ragged_rows.csv": (
        "80 ULB transactions; line 8 has two extra fields.",
        "Error naming line 8: 33 values but 31 columns in the header.",
    ),
    "fraud_utf16_bom.csv": (
        "80 ULB transactions in UTF-16 (little-endian, with BOM), as some Windows tools export.",
        "Read (80 rows); a note says UTF-16; first column 'Time'.",
    ),
    "fraud_zip_one_csv.zip": (
        "A ZIP archive holding one CSV (transactions_2013.csv, 80 rows).",
        "Read the CSV inside (80 rows); a note names the ZIP and the member.",
    ),
    "fraud_one_class_label.csv": (
        "120 genuine transactions: Class is 0 in every row.",
        "Read (120 rows); error: no row of 'Class' is marked as fraud.",
    ),
    "fraud_thousands_separators.csv": (
        'Amount written as "1,234.50" (quoted, with thousands separators) in a comma file.',
        "Read (80 rows); Amount is numeric; a note mentions thousands separators.",
    ),
    "fraud_text_in_amount.csv": (
        "Amount holds 4 words ('unknown', 'fifty', 'n/a?') among numbers.",
        "Read (80 rows); Amount is numeric with those 4 cells missing; a note names Amount and the count.",
    ),
    "fraud_amount_mostly_text.csv": (
        "Amount is mostly words ('refund pending', 'see ticket', …), a fifth numbers.",
        "Read (80 rows); error naming Amount: it holds text, not numbers.",
    ),
    "fraud_whitespace_only.csv": ("Only spaces, tabs and newlines.", "Error: the file is empty."),
    "fraud_constant_column.csv": (
        "80 ULB transactions plus two constant columns (currency = EUR, channel = card).",
        "Read (80 rows), no error.",
    ),
    "fraud_quoted_newlines.csv": (
        "A merchant column whose quoted cells contain line breaks (LF and CRLF) and doubled quotes.",
        "Read (80 rows, not more), no error.",
    ),
    "segmentation_zip_two_csvs.zip": (
        "A ZIP archive holding two CSVs (invoices_2010.csv, invoices_2011.csv).",
        "Error mentioning the ZIP: it holds several files; upload one CSV.",
    ),
    "segmentation_excel_workbook_renamed.csv": (
        "An .xlsx workbook (ZIP with [Content_Types].xml and xl/…) renamed to .csv.",
        "Error: an Excel workbook, not a CSV file; save it as CSV.",
    ),
    "segmentation_mixed_delimiters.csv": (
        "Invoice lines where every third line is separated by semicolons, the others by commas.",
        "Error mentioning the separator.",
    ),
    "segmentation_decimal_commas.csv": (
        'A semicolon file with UnitPrice written with decimal commas ("3,75").',
        "Read (120 rows); UnitPrice is numeric; a note mentions decimal commas.",
    ),
    "segmentation_returns_only.csv": (
        "120 invoice lines, every Quantity negative (returns only).",
        "Read (120 rows); error naming 'Quantity': only returns, nothing bought.",
    ),
    "segmentation_fewer_customers_than_segments.csv": (
        "Invoice lines of 3 customers; the test asks for 4 segments.",
        "Read (36 rows); error: 4 segments asked but only 3 customers.",
    ),
    "segmentation_blank_column_names.csv": (
        "Header cells 3 and 8 (Description, Country) are blank.",
        "Read (120 rows); a note says which columns had no name and what they were called.",
    ),
    "segmentation_100k_char_cell.csv": ("One Description cell of 100,000 characters.", "Read (120 rows), no error."),
    "segmentation_one_column.csv": (
        "Only the CustomerID column.",
        "Read (120 rows); error at the column step: a sentence about the columns (not enough to segment by).",
    ),
    "segmentation_truncated_gzip.csv.gz": (
        "A gzip file cut off half way.",
        "Error: a gzip file that could not be unpacked.",
    ),
    "forecast_mixed_date_formats.csv": (
        'Two products × 100 days; the date column mixes 2010-12-01, 12/02/2010 and "Dec 3 2010".',
        "Read (200 rows); the dates are read with a note about their formats, or a sentence names the date column and its formats.",
    ),
    "forecast_single_date_per_series.csv": (
        "One row per product: every series has a single date.",
        "Read (30 rows); error: a single date per series.",
    ),
    "forecast_quantity_all_text.csv": (
        "'units' holds words ('twelve', 'a few', '48 units' …) in every row; the test picks it as the quantity.",
        "Read (200 rows); error naming 'units': it holds text, not numbers.",
    ),
    "forecast_quantity_all_missing.csv": (
        "'units' is empty in every row.",
        "Read (200 rows); error: the quantity column 'units' is empty.",
    ),
    "forecast_infinities.csv": (
        "'units' holds inf, -inf and Infinity.",
        "Read (200 rows); error naming 'units' and its infinite values.",
    ),
    "forecast_utf8_bom.csv": (
        "200 daily rows in UTF-8 with a BOM.",
        "Read (200 rows); the first column is 'date', no BOM; no error.",
    ),
    "forecast_formula_cells.csv": (
        "Some descriptions are formulas (=HYPERLINK(…), +cmd…, @SUM(A1)).",
        "Read (200 rows), no error.",
    ),
    "forecast_one_column.csv": (
        "Only the date column.",
        "Read (200 rows); error at the column step: a sentence about the missing quantity column.",
    ),
    "forecast_header_only.csv": ("The header row only (CRLF).", "Error: a header row but no data rows."),
    "digits_pixels_out_of_range.csv": (
        "12 MNIST rows with pixels of 300, -20 and 1000.",
        "Read (12 rows); error: pixels must lie between 0 and 255, naming pixel200.",
    ),
    "digits_labels_outside_0_9.csv": (
        "Labels 10, 12 and -1 among the digits.",
        "Read (12 rows); error: labels must be 0 to 9.",
    ),
    "digits_wrong_pixel_count.csv": (
        "Only pixel0 … pixel699 (700 pixel columns).",
        "Read (12 rows); error: 700 pixel columns, 784 needed.",
    ),
    "digits_header_only.csv": ("The 785-column header only.", "Error: a header row but no data rows."),
    "digits_jpeg_photo_renamed.csv": ("JPEG bytes saved with a .csv name.", "Error: a JPEG image, not a CSV file."),
    "digits_text_in_pixels.csv": (
        "Three pixel cells hold 'unknown' or 'fifty'.",
        "Read (12 rows); the pixel columns stay numeric with a note about the non-numbers; error: those pixels are empty.",
    ),
    "digits_label_all_missing.csv": (
        "The label column is empty in every row.",
        "Read (12 rows); error: the label column is empty.",
    ),
    "digits_infinities_in_pixels.csv": (
        "Pixels holding inf, -inf and Infinity.",
        "Read (12 rows); error naming pixel349 and its infinite values.",
    ),
    "diagnosis_gzip_bomb_300mb.csv.gz": (
        "420 KB of gzip that unpacks to 300 MB: 2,000 numeric columns of one-character cells (issue 23).",
        "Error: it unpacks to more than the 200 MB upload limit (unpacking stops there).",
    ),
    "fraud_zip_bomb_300mb.zip": (
        "A ZIP holding one CSV that unpacks to 300 MB of one-character cells (issue 23).",
        "Error: it unpacks to more than the 200 MB upload limit (unpacking stops there).",
    ),
    "digits_single_image.csv": ("One image only.", "Read (1 row); error: at least two different digits are needed."),
}


def write_readme() -> None:
    lines = [
        "# Bad-file corpus (issue 8)",
        "",
        "Files an analyst might upload by mistake, or real-looking tables with one thing wrong, built from small slices",
        "of `sample_data/`. Written by `tests/data/make_bad_corpus.py` (deterministic: run it again and nothing changes);",
        "fed through the pages by `tests/pages/test_bad_corpus.py`, which also checks that nothing raises, no traceback",
        'reaches the page, and the next good upload is read as usual. "Error" means an `st.error` with a sentence for',
        'the analyst; "Read (n rows)" means the preview shows the file.',
        "",
        "| file | page | what is wrong | expected |",
        "|---|---|---|---|",
    ]
    for name in sorted(FILES):
        what, expected = DESCRIBE[name]
        page = name.split("_")[0]
        lines.append(
            f"| `{name}` | {page} | {what.replace('|', chr(92) + '|')} | {expected.replace('|', chr(92) + '|')} |"
        )
    lines += [
        "",
        "Also generated at test time (not stored): a 1,000,000-row fraud-like CSV (~35 MB) for the fraud page, "
        "which must show either 1,000,000 rows or a notice that a sample was used.",
        "",
    ]
    (OUT / "README.md").write_text("\n".join(lines))


def main() -> None:
    diagnosis()
    fraud()
    segmentation()
    forecast()
    digits()
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        if old.name != "README.md" and old.name not in FILES:
            old.unlink()
    assert set(DESCRIBE) == set(FILES), set(DESCRIBE) ^ set(FILES)
    for name, data in sorted(FILES.items()):
        (OUT / name).write_bytes(data)
    write_readme()
    total = sum(len(b) for b in FILES.values())
    print(f"wrote {len(FILES)} files, {total / 1e6:.2f} MB, into {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
