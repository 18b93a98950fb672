"""AI Scenario Explorer: the home page and the navigation to every scenario page."""

from __future__ import annotations

import logging

import streamlit as st

from engine.scenario import abouts
from ui import auth

st.set_page_config(page_title="AI Scenario Explorer", page_icon=":material/explore:", layout="wide")
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

# The scenario pages: one per entry of engine.scenario.SCENARIOS, each described by its module's ABOUT.
SCENARIOS = abouts()


def home() -> None:
    from engine.device import describe
    from engine.runners import describe_runner

    st.title("AI Scenario Explorer")
    st.markdown(
        "Try AI on your own data, in the browser. Pick a scenario, start from the bundled sample data or upload "
        "a CSV, say which column is which, press **Train**, and read the results in plain words — always beside a "
        "simple baseline, so you can see whether the neural network earns its keep."
    )
    st.info(f"Models train on: **{describe()}**", icon=":material/memory:")
    if auth.sign_in_enabled():
        st.caption(
            "Training keeps your data and model in this browser session only. A run is stored only when you "
            "create a share link, for the people you choose (anyone signed in to this app, or only you), "
            "until it expires or you delete it on **My runs**."
        )
    else:
        st.caption(
            "Sign-in is off on this server: training keeps your data in this browser session only, but a share "
            "link you create can be opened by anyone who has it, until it expires or you delete it on **My runs**."
        )
    st.info(describe_runner(), icon=":material/lan:")
    from ui.share import store_health

    ok, where = store_health()  # where share links are kept, or why sharing is off right now
    if ok:
        st.caption(f":material/database: {where}")
    else:
        st.warning(where, icon=":material/cloud_off:")
    for page, about in zip(PAGES, SCENARIOS):
        with st.container(border=True):
            st.page_link(page, label=f"**{about.title}**", icon=about.icon)
            st.markdown(about.purpose)
    st.caption(
        "Every page follows the same steps: 1 · Data → 2 · Columns → 3 · Train → 4 · Results "
        "(performance, explanations, what-if, scoring new data, sharing)."
    )


PAGES = [st.Page(a.page, title=a.title, icon=a.icon, url_path=a.url_path) for a in SCENARIOS]
MY_RUNS = st.Page("app_pages/my_runs.py", title="My runs", icon=":material/folder_shared:", url_path="my_runs")
current = st.navigation(
    [st.Page(home, title="Home", icon=":material/home:", default=True), *PAGES, MY_RUNS],
    position="sidebar" if auth.may_use_app() else "hidden",
)
auth.gate(current.url_path)  # with [auth] in secrets.toml: sign in before any page
auth.return_after_sign_in({a.url_path: p for a, p in zip(SCENARIOS, PAGES)})
if auth.may_use_app():
    from ui.results import currency_picker

    currency_picker()  # one currency for every money figure, on every page
current.run()
