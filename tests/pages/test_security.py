"""Security rules that hold for the whole app (issue 8): escaped downloads and reports, no raw HTML from
users, no unpickling, XSRF on, upload limit stated in one place."""

from __future__ import annotations

import io
import re
import tomllib

import pandas as pd

from engine.data import MAX_BYTES
from tests.conftest import ROOT
from ui.report import build_report
from ui.results import safe_csv

APP_CODE = [
    ROOT / "app.py",
    *sorted((ROOT / "app_pages").glob("*.py")),
    *sorted((ROOT / "ui").glob("*.py")),
    *sorted((ROOT / "engine").glob("*.py")),
]


def test_downloaded_csv_cells_cannot_run_as_formulas():
    df = pd.DataFrame(
        {
            "=cmd|' /C calc'!A0": [
                '=HYPERLINK("http://evil.example","click")',
                "+1+1",
                "-2+3",
                "@SUM(A1)",
                "\tx",
                "fine",
            ],
            "amount": [1.0, -2.0, 3.0, 4.0, 5.0, 6.0],
        }
    )
    back = pd.read_csv(io.BytesIO(safe_csv(df)))
    cells = back.iloc[:, 0].tolist()
    assert all(not re.match(r"[=+\-@\t\r]", str(c)) for c in cells), cells
    assert cells[0] == '\'=HYPERLINK("http://evil.example","click")' and cells[-1] == "fine"
    assert back.columns[0].startswith("'=")
    assert back["amount"].tolist() == [1.0, -2.0, 3.0, 4.0, 5.0, 6.0]  # numbers stay numbers


def test_the_html_report_escapes_what_the_analyst_typed():
    evil = "<script>alert(1)</script>"
    text = build_report(evil, [(evil, [pd.DataFrame({evil: [evil]}), evil])], subtitle=f"file {evil}.csv")
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;" in text


def test_no_raw_html_and_no_unpickling_anywhere_in_the_app():
    for path in APP_CODE:
        code = path.read_text()
        assert "unsafe_allow_html=True" not in code, f"{path.name} renders raw HTML"
        assert not re.search(r"\b(pickle|joblib|dill|cloudpickle)\b\.load|torch\.load\(|allow_pickle=True", code), (
            path.name
        )


def test_server_settings_keep_xsrf_on_and_state_the_upload_limit_once():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]
    assert config.get("enableXsrfProtection", True) is True
    assert config["maxUploadSize"] * 2**20 == MAX_BYTES
