"""My runs: the share links this analyst created — open, copy or delete them."""

from __future__ import annotations

import streamlit as st

from ui.share import my_runs

st.title("My runs")
my_runs()
