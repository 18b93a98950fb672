"""Row caps at upload, as the analyst meets them: the uploader says the page's cap before the upload, a larger file
becomes a seeded random sample of exactly that many rows (in file order), the notice says so, and the same file
gives the same rows in another session."""

from __future__ import annotations

import numpy as np
from streamlit.testing.v1 import AppTest

from engine import diagnosis as dx
from tests.conftest import ROOT


def _upload(data: bytes) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("app_pages/diagnosis.py").run()
    at.radio(key="dx_dataset").set_value(next(o for o in at.radio(key="dx_dataset").options if "Upload" in o)).run()
    uploader = next(u for u in at.get("file_uploader") if u.proto.id and "dx_upload" in u.proto.id)
    assert f"above {dx.MAX_ROWS:,} rows a random sample is used" in uploader.proto.label  # said before the upload
    uploader.set_value(("big.csv", data, "text/csv")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    return at


def test_an_upload_over_the_pages_cap_is_sampled_the_same_way_every_time():
    n = dx.MAX_ROWS + 1_234
    ids = np.arange(n)
    body = "\n".join(f"{i},{40 + i % 37},{i % 2}" for i in ids)
    data = f"row_id,age,target\n{body}\n".encode()
    first, again = _upload(data), _upload(data)
    assert {m.label: m.value for m in first.metric}["Rows"] == f"{dx.MAX_ROWS:,}"
    notice = next(i.value for i in first.info if "random sample" in i.value)
    assert f"has {n:,} rows" in notice and f"random sample of {dx.MAX_ROWS:,}" in notice
    kept = [t for t in first.session_state["dx_tables"].values()][0].df["row_id"].to_numpy()
    assert len(kept) == dx.MAX_ROWS == len(np.unique(kept)) and (np.diff(kept) > 0).all()  # distinct, file order
    assert kept[-1] > 0.99 * n  # drawn from the whole file, not its first rows
    assert np.array_equal(kept, [t for t in again.session_state["dx_tables"].values()][0].df["row_id"].to_numpy())
