"""The HTML report embeds plotly.js once and leads with its result; money says its currency only when one is set."""

from __future__ import annotations

import re

import pandas as pd
import plotly.graph_objects as go

from engine.dictionary import Dictionary
from ui.report import appendix, build_report, settings_in_words
from ui.style import money

BUNDLE = re.compile(r"plotly\.js v\d+\.\d+\.\d+")  # the licence header that opens the plotly.js bundle


def _figure(n: int) -> go.Figure:
    return go.Figure(go.Bar(x=[1, 2, 3], y=[n, n + 1, n + 2]))


def test_a_report_with_three_charts_embeds_plotly_js_once():
    text = build_report(
        "Three charts", [("Charts", [_figure(1), _figure(2)]), ("More", [_figure(3)])], lead=["The result first."]
    )
    bundles = re.findall(r"atob\('([A-Za-z0-9+/=]+)'\)", text)
    assert len(bundles) == 1  # plotly.js once, gzip-compressed
    import base64
    import gzip

    from plotly.offline import get_plotlyjs

    js = gzip.decompress(base64.b64decode(bundles[0])).decode()
    assert js == get_plotlyjs() and len(BUNDLE.findall(js)) == 1
    assert text.count("Plotly.newPlot") == 3  # every chart drawn, from the one bundle
    assert len(text.encode()) < 2.2 * 2**20, "compressed: about 2 MB, not 4.8"
    one = build_report("One chart", [("Charts", [_figure(1)])])
    print(
        f"report with 3 charts: {len(text.encode()) / 2**20:.2f} MB; with 1 chart: {len(one.encode()) / 2**20:.2f} MB"
    )
    assert len(text) - len(one) < 100_000  # two more charts add kilobytes, not another 4.8 MB bundle


def test_the_report_leads_with_the_result_and_puts_settings_in_words_in_an_appendix():
    from engine.diagnosis import DiagnosisColumns, DiagnosisConfig

    names = Dictionary({"cp": "chest pain type"})
    text = build_report(
        "Run",
        [
            ("Performance", ["table here"]),
            appendix(
                DiagnosisColumns("target", ("cp", "age"), "1"),
                DiagnosisConfig(),
                names=names,
                extra=["Threshold chosen from costs: a miss costs 500, a false alarm 10."],
            ),
        ],
        lead=["Saves 1,200 per 1,000 transactions."],
    )
    assert text.index("Saves 1,200") < text.index("Performance") < text.index("Appendix")
    assert "Columns the model used: chest pain type (cp), age." in text
    assert "Threshold chosen from costs: a miss costs 500" in text
    assert "{" not in text.split("Appendix")[1].split("<script")[0]  # no raw dicts
    assert any(
        line.startswith("Neurons in each hidden layer of the network: 64, 32")
        for line in settings_in_words(DiagnosisConfig())
    )


def test_money_has_a_currency_only_when_one_is_set_and_says_its_basis():
    assert money(6610.4, symbol="") == "6,610" and money(12.5, symbol="") == "12.50"
    assert money(6610.4, symbol="€") == "€6,610" and money(204, symbol="CHF") == "CHF 204"
    assert money(-50, "in total", symbol="£") == "-£50.00 in total"
    assert money(3882, "per 1,000 transactions", symbol="") == "3,882 per 1,000 transactions"
    assert money(float("nan")) == "–"
    frame = pd.DataFrame({"a": [1]})
    assert "1" in build_report("t", [("s", [frame])])
