"""Issue 23: files made to hurt the server — archives that unpack far beyond the upload limit, tables of tens of
millions of cells — are refused with a sentence, at a memory cost bounded by the upload limit.

Peaks are measured in this process with tests/peak.py (VmHWM reset before each read). The hostile files are the
bad-file corpus's (tests/data/make_bad_corpus.py) or built here from one-character cells, the cheapest to send."""

from __future__ import annotations

import gzip
import io
import zipfile

import pytest

from engine import data
from engine.data import DataError, load_table
from tests.conftest import ROOT
from tests.peak import Peak

BAD = ROOT / "tests" / "data" / "bad"
LIMIT = 200 * 2**20  # the server's upload limit


def _ones(rows: int, cols: int) -> bytes:
    """A CSV of `rows` × `cols` one-character numeric cells (the most cells per byte a CSV can hold)."""
    row = ",".join(["1"] * cols) + "\n"
    return (",".join(f"c{j}" for j in range(cols)) + "\n" + row * rows).encode()


@pytest.mark.parametrize("name", ["diagnosis_gzip_bomb_300mb.csv.gz", "fraud_zip_bomb_300mb.zip"])
def test_an_archive_unpacking_past_the_limit_stops_at_the_limit(name):
    raw = (BAD / name).read_bytes()
    assert len(raw) < 500_000  # half a megabyte that unpacks to 300 MB
    with Peak() as peak, pytest.raises(DataError, match="unpacks to more than 200 MB, the upload limit"):
        load_table(raw, name, max_bytes=LIMIT)
    # unpacking stops one chunk past the limit, and nothing is parsed (before: 5x the limit, then parsed: +4.2 GB)
    assert peak.growth_mb < 1.25 * LIMIT / 2**20, f"{peak.growth_mb:.0f} MB"


def test_a_zip_member_declaring_a_small_size_is_still_read_only_to_the_limit():
    body = _ones(3000, 1000)  # 6 MB
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("t.csv", body)
    with pytest.raises(DataError, match="unpacks to more than 1 MB"):
        load_table(buf.getvalue(), "t.zip", max_bytes=2**20)


def test_a_gzip_inside_a_zip_is_unpacked_within_the_same_limit():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("t.csv.gz", gzip.compress(_ones(3000, 1000)))
    with pytest.raises(DataError, match="unpacks to more than 1 MB"):
        load_table(buf.getvalue(), "t.zip", max_bytes=2**20)
    small = io.BytesIO()
    with zipfile.ZipFile(small, "w") as zf:
        zf.writestr("t.csv.gz", gzip.compress(b"a,b\n1,2\n3,4\n"))
    assert load_table(small.getvalue(), "t.zip").df.shape == (2, 2)


def test_cells_are_capped_with_a_sentence_before_the_table_is_parsed():
    raw = gzip.compress(_ones(5_000, 2_000), 6)  # 20 MB of text, 10 million cells
    with (
        Peak() as peak,
        pytest.raises(DataError, match=r"2,000 columns and more than 1,000 rows: over 2,000,000 cells"),
    ):
        load_table(raw, "wide.csv.gz", max_cells=2_000_000)
    # refused after counting rows on the first column: the text and little else (parsing it all: ~27 bytes a cell)
    assert peak.growth_mb < 2 * 20 + 30, f"{peak.growth_mb:.0f} MB"


def test_a_table_within_the_cell_cap_is_read_whole():
    df = load_table(_ones(999, 2_000), "wide.csv", max_cells=2_000_000).df
    assert df.shape == (999, 2_000) and int(df.to_numpy().sum()) == 999 * 2_000


def test_quoted_line_breaks_do_not_count_as_rows_against_the_cap():
    """The cap counts rows, not lines: a note with line breaks in quotes is one cell."""
    text = "note,amount\n" + "".join(f'"line one\nline two\nline three",{i}\n' for i in range(400))
    df = load_table(text.encode(), "notes.csv", max_cells=1_000).df  # 1,200 lines, 400 rows × 2 columns = 800 cells
    assert df.shape == (400, 2)
    with pytest.raises(DataError, match="2 columns and more than 250 rows: over 500 cells"):
        load_table(text.encode(), "notes.csv", max_cells=500)


def test_the_cell_cap_lets_the_kaggle_digit_file_through():
    assert 42_000 * 785 <= data.MAX_CELLS


def test_a_model_file_header_over_the_cap_is_refused_unread():
    import struct

    from engine import artifacts

    raw = struct.pack("<Q", artifacts.MAX_HEADER_BYTES + 1) + b"{" + b" " * (artifacts.MAX_HEADER_BYTES + 1)
    with pytest.raises(DataError, match="not a model saved by"):
        artifacts.load_artifact(raw, "diagnosis")


def test_network_settings_are_checked_on_the_meta_device_before_anything_is_built():
    """engine.scenario.check_module: a million layers, a huge layer, a layer of another size, a negative size."""
    import time

    import torch

    from engine.models import TabularMLP
    from engine.scenario import MAX_PARAMETERS, check_module

    state = TabularMLP(4, 1, (8,)).state_dict()
    check_module(TabularMLP, {"n_in": 4, "n_out": 1, "hidden": [8], "dropout": 0.1}, state)  # the file as saved
    start = time.perf_counter()
    for spec, words in [
        ({"n_in": 4, "n_out": 1, "hidden": [1] * 1_000_000}, "1,000,000 sizes"),
        ({"n_in": 4, "n_out": 1, "hidden": [MAX_PARAMETERS]}, "over the 20,000,000"),
        ({"n_in": 4, "n_out": 1, "hidden": [9]}, "do not match the weights"),
        ({"n_in": 4, "n_out": 1, "hidden": [-8]}, "cannot be read"),
        ({"n_in": 4, "n_out": 1, "hidden": [8], "dropout": 0.1, "extra": 1}, "cannot be read"),
        ([4, 1], "settings are missing"),
    ]:
        with pytest.raises(DataError, match=words):
            check_module(TabularMLP, spec, state)
    assert time.perf_counter() - start < 5
    ints = {k: v.to(torch.int32) for k, v in state.items()}
    with pytest.raises(DataError, match="not numbers"):
        check_module(TabularMLP, {"n_in": 4, "n_out": 1, "hidden": [8]}, ints)
