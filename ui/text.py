"""Text an analyst typed or uploaded (column, segment and file names, dictionary text, sentences that quote
them) shown as text: never as Markdown or HTML.

Streamlit renders Markdown in st.markdown, st.caption, st.info / warning / error / success and in widget labels,
images included: a column named `![x](https://tracker.example/p.png)` would make every viewer of a share link
load that address. `plain` is the one way such a string enters those calls.
"""

from __future__ import annotations

import re

# The characters that open Markdown (links and images need "[", HTML and autolinks "<", code "`", emphasis "*",
# "~" or a "_" at a word's edge, tables "|", headings "#", Streamlit's $maths$ "$", its :colour[text] "[").
# Escaped with a backslash, as CommonMark allows for any ASCII punctuation; the rest (".", "-", "(", a "_" inside
# a word such as heart_disease) opens nothing, so a name reads the same in the page's text and in a test.
_SPECIAL = re.compile(r"""([\\`*\[\]<>$|#~]|(?<!\w)_|_(?!\w))""")
_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")


def plain(text: object) -> str:
    """`text` as literal characters inside Markdown: each special character escaped, line breaks as spaces (a
    name cannot start a heading, a list or a table)."""
    return _SPECIAL.sub(r"\\\1", _BREAKS.sub(" ", str(text)))
