"""A self-contained HTML report of a run: headings, text, tables and interactive plotly charts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import html
from typing import Any, Iterable

import pandas as pd
import plotly.graph_objects as go

from engine.dictionary import Dictionary

Block = str | pd.DataFrame | go.Figure

_CSS = """body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1100px;margin:2rem auto;padding:0 1rem;color:#222}
h1{margin-bottom:.2rem}h2{border-bottom:1px solid #ddd;padding-bottom:.3rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.3rem .6rem;text-align:right}
th{background:#f5f5f5}.muted{color:#666;font-size:.9rem}
.lead{font-size:1.1rem;background:#f3f8fc;border-left:4px solid #0072B2;padding:.6rem 1rem}"""


def build_report(
    title: str, sections: Iterable[tuple[str, Iterable[Block]]], subtitle: str = "", lead: Iterable[str] = ()
) -> str:
    """Text is escaped (never raw HTML from a user); plotly.js is embedded once (compressed), so the file works offline.

    `lead`: the business result and verdict in a sentence or two, shown first, above every chart."""
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p class='muted'>{html.escape(subtitle)} · report made {dt.datetime.now():%d %b %Y %H:%M} by AI Scenario Explorer</p>",
    ]
    parts += [f"<p class='lead'>{html.escape(str(line))}</p>" for line in lead if line]
    charts = 0
    for heading, blocks in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        for block in blocks:
            if isinstance(block, go.Figure):  # drawn once the compressed plotly.js below has loaded
                parts.append(
                    block.to_html(full_html=False, include_plotlyjs=False).replace(
                        "<script>", f"<script type='{DEFERRED}'>", 1
                    )
                )
                charts += 1
            elif isinstance(block, pd.DataFrame):
                parts.append(block.to_html(escape=True, float_format=lambda v: f"{v:,.3f}", border=0))
            else:
                parts.append(f"<p>{html.escape(str(block))}</p>")
    if charts:
        parts.append(_LOADER.replace("BUNDLE", plotly_bundle()))
    parts.append("</body></html>")
    return "\n".join(parts)


DEFERRED = "text/x-plotly-deferred"
# plotly.js (4.8 MB) travels gzip-compressed (1.5 MB, 2 MB in base64) and is unpacked by the browser's own
# DecompressionStream (every current browser has it), then each chart is drawn: the report stays one offline file
_LOADER = (
    """<p id='charts-note' class='muted'></p><script>
(function () {
  var note = document.getElementById('charts-note');
  if (!('DecompressionStream' in window)) { note.textContent = 'The charts need a current browser (Chrome, Edge, Firefox or Safari from 2023 on).'; return; }
  var bin = atob('BUNDLE'), bytes = new Uint8Array(bin.length);
  for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).text().then(function (js) {
    var lib = document.createElement('script'); lib.textContent = js; document.head.appendChild(lib);
    document.querySelectorAll("script[type='"""
    + DEFERRED
    + """']").forEach(function (s) {
      var run = document.createElement('script'); run.textContent = s.textContent; s.parentNode.replaceChild(run, s);
    });
  });
})();
</script>"""
)


@functools.lru_cache(maxsize=1)
def plotly_bundle() -> str:
    """plotly.js, gzip-compressed and base64-encoded (computed once per server)."""
    import base64
    import gzip

    from plotly.offline import get_plotlyjs

    return base64.b64encode(gzip.compress(get_plotlyjs().encode("utf-8"), 9, mtime=0)).decode("ascii")


# ----------------------------------------------------------------------------- settings in words (the appendix)
_WORDS = {  # columns and decisions a run was made with, as an analyst would say them
    "target": "Outcome column",
    "label": "Outcome column",
    "features": "Columns the model used",
    "positive_class": "Positive outcome",
    "binarise": "That outcome against all the others",
    "threshold": "Alert threshold",
    "amount": "Amount column",
    "time": "Time column",
    "id": "Identifier column",
}


def _value_words(value: Any, names: Dictionary, key: str) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or value == "":
        return "none"
    if isinstance(value, (list, tuple)):
        cols = key in ("features", "feature_columns", "columns")
        items = [names.label(str(v)) if cols else _value_words(v, names, key) for v in value]
        return ", ".join(items) if items else "none"
    if isinstance(value, float):
        return f"{value:g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, str) and key in _WORDS and key not in ("positive_class", "threshold"):
        return names.label(value)
    return str(value)


def settings_in_words(*parts: Any, names: Dictionary | None = None) -> list[str]:
    """One sentence per setting of a run, from its options dataclasses (their help texts) or plain dicts:
    "At most 300 passes over the training rows: 300." becomes "Passes over the training rows, at most: 300"."""
    names = names or Dictionary()
    lines: list[str] = []
    for part in parts:
        if part is None:
            continue
        helps = (
            {f.name: f.metadata.get("help", "") for f in dataclasses.fields(part)}
            if dataclasses.is_dataclass(part)
            else {}
        )
        values = dataclasses.asdict(part) if dataclasses.is_dataclass(part) else dict(part)
        for key, value in values.items():
            what = (helps.get(key) or _WORDS.get(key) or key.replace("_", " ").capitalize()).strip().rstrip(".")
            shown = _value_words(value, names, key)
            lines.append(f"{what} ({shown})." if ":" in what else f"{what}: {shown}.")
    return lines


def appendix(*parts: Any, names: Dictionary | None = None, extra: Iterable[str] = ()) -> tuple[str, list]:
    """The report's last section: how the run was made, in words (the decisions first, via `extra`)."""
    blocks: list = [*extra, *settings_in_words(*parts, names=names)]
    if names:
        table = names.to_frame()
        blocks += [
            "Column descriptions used in this report:",
            table.rename(columns={"column": "column", "description": "description", "values": "value labels"}),
        ]
    return ("Appendix: how this run was made", blocks)
