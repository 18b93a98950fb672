"""AI Scenario Explorer: the home page and the navigation to every scenario page."""
from __future__ import annotations

import logging

import streamlit as st

from ui import auth

st.set_page_config(page_title="AI Scenario Explorer", page_icon=":material/explore:", layout="wide")
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

# Scenario pages that exist. A page is listed here only once it works end to end.
SCENARIOS = [
    dict(path="app_pages/diagnosis.py", title="Diagnosis", icon=":material/stethoscope:", url_path="diagnosis",
         blurb="Predict an outcome such as heart disease from a patient table; see sensitivity, specificity, "
               "calibration and, patient by patient, which values drove the risk. Try what-ifs."),
    dict(path="app_pages/segmentation.py", title="Retail segmentation", icon=":material/groups:", url_path="segmentation",
         blurb="Group customers by how they buy — from raw transactions (recency, frequency, spend) or a customer "
               "table — see what each segment looks like, name it, and see why any one customer sits in it."),
    dict(path="app_pages/digits.py", title="Digit recognizer", icon=":material/draw:", url_path="digits",
         blurb="Teach a network to read handwritten digits (MNIST or your own images): a CNN beside the classic MLP "
               "and a simple baseline, the digits it confuses, which pixels drove a reading — then draw a digit."),
    dict(path="app_pages/fraud.py", title="Fraud detection", icon=":material/policy:", url_path="fraud",
         blurb="Rank transactions by fraud risk — learning from known frauds, or spotting unusual ones without "
               "labels — pick the alert threshold from what mistakes cost you, and see why each one is flagged."),
    dict(path="app_pages/forecast.py", title="Demand forecast", icon=":material/trending_up:", url_path="forecast",
         blurb="Forecast sales per store or item with intervals from one network for all series, see on past periods "
               "whether it beats seasonal naive and exponential smoothing, which drivers matter, and what to reorder."),
    dict(path="app_pages/maintenance.py", title="Predictive maintenance", icon=":material/precision_manufacturing:",
         url_path="maintenance",
         blurb="Predict which production runs will end in a machine failure, beside gradient boosting; turn what a "
               "failure and a service stop cost into the alert threshold, and list which machines to service first, and why."),
    dict(path="app_pages/customer_service.py", title="Customer service", icon=":material/support_agent:",
         url_path="customer_service",
         blurb="Route customer messages to the right team from what they wrote, beside two classic text models; "
               "automate what the model is sure of at the threshold your costs pick, see the words behind each routing, "
               "and flag messages about topics nobody trained for."),
]


def home() -> None:
    from engine.device import describe
    from engine.jobs import describe_runner

    st.title("AI Scenario Explorer")
    st.markdown(
        "Try AI on your own data, in the browser. Pick a scenario, start from the bundled sample data or upload "
        "a CSV, say which column is which, press **Train**, and read the results in plain words — always beside a "
        "simple baseline, so you can see whether the neural network earns its keep."
    )
    st.info(f"Models train on: **{describe()}**", icon=":material/memory:")
    if auth.sign_in_enabled():
        st.caption("Training keeps your data and model in this browser session only. A run is stored only when you "
                   "create a share link, for the people you choose (anyone signed in to this app, or only you), "
                   "until it expires or you delete it on **My runs**.")
    else:
        st.caption("Sign-in is off on this server: training keeps your data in this browser session only, but a share "
                   "link you create can be opened by anyone who has it, until it expires or you delete it on **My runs**.")
    st.info(describe_runner(), icon=":material/lan:")
    from ui.share import store_health

    ok, where = store_health()  # where share links are kept, or why sharing is off right now
    if ok:
        st.caption(f":material/database: {where}")
    else:
        st.warning(where, icon=":material/cloud_off:")
    for page, spec in zip(PAGES, SCENARIOS):
        with st.container(border=True):
            st.page_link(page, label=f"**{spec['title']}**", icon=spec["icon"])
            st.markdown(spec["blurb"])
    st.caption("Every page follows the same steps: 1 · Data → 2 · Columns → 3 · Train → 4 · Results "
               "(performance, explanations, what-if, scoring new data, sharing).")


PAGES = [st.Page(s["path"], title=s["title"], icon=s["icon"], url_path=s["url_path"]) for s in SCENARIOS]
MY_RUNS = st.Page("app_pages/my_runs.py", title="My runs", icon=":material/folder_shared:", url_path="my_runs")
current = st.navigation([st.Page(home, title="Home", icon=":material/home:", default=True), *PAGES, MY_RUNS],
                        position="sidebar" if auth.may_use_app() else "hidden")
auth.gate(current.url_path)  # with [auth] in secrets.toml: sign in before any page
auth.return_after_sign_in({s["url_path"]: p for s, p in zip(SCENARIOS, PAGES)})
if auth.may_use_app():
    from ui.results import currency_picker

    currency_picker()  # one currency for every money figure, on every page
current.run()
