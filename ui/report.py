"""A self-contained HTML report of a run: headings, text, tables and interactive plotly charts."""
from __future__ import annotations

import datetime as dt
import html
from typing import Iterable, Union

import pandas as pd
import plotly.graph_objects as go

Block = Union[str, pd.DataFrame, go.Figure]

_CSS = """body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1100px;margin:2rem auto;padding:0 1rem;color:#222}
h1{margin-bottom:.2rem}h2{border-bottom:1px solid #ddd;padding-bottom:.3rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.3rem .6rem;text-align:right}
th{background:#f5f5f5}.muted{color:#666;font-size:.9rem}"""


def build_report(title: str, sections: Iterable[tuple[str, Iterable[Block]]], subtitle: str = "") -> str:
    """Text is escaped (never raw HTML from a user); plotly.js is embedded once, so the file works offline."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>",
             f"<p class='muted'>{html.escape(subtitle)} · report made {dt.datetime.now():%d %b %Y %H:%M} by AI Scenario Explorer</p>"]
    plotly_included = False
    for heading, blocks in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        for block in blocks:
            if isinstance(block, go.Figure):
                parts.append(block.to_html(full_html=False, include_plotlyjs=not plotly_included))
                plotly_included = True
            elif isinstance(block, pd.DataFrame):
                parts.append(block.to_html(escape=True, float_format=lambda v: f"{v:,.3f}", border=0))
            else:
                parts.append(f"<p>{html.escape(str(block))}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
