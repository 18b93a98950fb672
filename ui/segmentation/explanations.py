"""The Explanations tab: what pulls customers into a segment (SHAP of the soft assignment), one customer's
membership and why, and what would move that customer to another segment."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import streamlit as st

from engine import segmentation as seg
from engine.dictionary import Dictionary
from engine.explain import Explanation
from ui import charts
from ui.errors import guard
from ui.segmentation.profiles import show
from ui.style import pct
from ui.tabular import dependence_view, what_if
from ui.text import plain


def global_explanation(exp: Explanation, name: str, key: str, labels: Dictionary | None = None) -> None:
    c1, c2 = st.columns(2)
    c1.plotly_chart(charts.shap_bar(exp, names=labels), key=f"{key}_bar")
    c1.caption(f"Longer bars: columns that decide most whether a customer is pulled into '{plain(name)}'.")
    c2.plotly_chart(charts.shap_beeswarm(exp, names=labels), key=f"{key}_swarm")
    c2.caption(
        f"Dots right of zero pull customers towards '{plain(name)}'; orange dots are high values of that column, blue low."
    )
    dependence_view(exp, key, labels=labels, row_label="customer")


def customer_picker(model: seg.SegmentationModel, names: Sequence[str], key: str) -> str | None:
    ids = model.customers.index.astype(str)
    labels = model.customers["_segment"].to_numpy()
    limit = 5000
    options = list(ids[:limit])
    c1, c2 = st.columns([2, 1])
    typed = c2.text_input("…or type a customer id", key=f"{key}_typed").strip()
    if typed:
        if typed in set(ids):
            return typed
        c2.warning(f"No customer '{plain(typed)}' in the segmented data.")
    pos = {c: i for i, c in enumerate(ids)}
    return c1.selectbox(
        "Pick a customer",
        options,
        key=f"{key}_pick",
        format_func=lambda c: f"{c} · {names[labels[pos[c]]]}",
        help=None if len(ids) <= limit else f"The first {limit:,} customers; type any other id beside.",
    )


def membership_waterfall(
    model: seg.SegmentationModel, cid: str, names: Sequence[str], exp: Explanation, key: str
) -> None:
    """One customer's membership of their segment in %, from the average customer's, one column at a time; the pull
    (the soft assignment's logit, compared with the average segment) the bars come from is in the tooltip."""
    j = int(model.customers.loc[cid, "_segment"])
    path = model.membership_path(model.customers.loc[[cid], model.features], j)
    fall = charts.shap_waterfall(
        exp, 0, probability=path, names=model.dictionary, axis_title=f"membership of '{names[j]}' (%)"
    )
    fall.update_layout(title=f"Why '{names[j]}': from the average customer to this one")
    st.plotly_chart(fall, key=f"{key}_waterfall")
    st.caption(
        f"Start from the average customer's membership of '{plain(names[j])}'; each bar is one column moving this "
        "customer towards it (orange) or away (blue), in percentage points in the order drawn; the last bar is "
        "this customer's membership. Hover a bar for its pull in the soft assignment's own units (log-odds "
        "compared with the average segment)."
    )


def customer_view(
    model: seg.SegmentationModel, cid: str, names: Sequence[str], exp: Explanation, proba: np.ndarray, key: str
) -> None:
    row = model.customers.loc[cid]
    j = int(row["_segment"])
    st.markdown(
        f"Customer **{plain(cid)}** is in segment **{j + 1} · {plain(names[j])}** "
        f"({pct(float(proba[j]))} membership under the soft assignment)."
    )
    st.caption(f"Suggested action for this segment: {plain(model.actions[j])}")
    prof = model.profile
    table = pd.DataFrame(
        {
            "this customer": [show(c, row[c]) for c in model.features],
            f"median of '{names[j]}'": [show(c, prof[c].iloc[j + 1]) for c in model.features],
            "median of all customers": [show(c, prof[c].iloc[0]) for c in model.features],
        },
        index=model.features,
    )
    c1, c2 = st.columns([3, 2])
    c1.dataframe(table, width="stretch")
    bars = charts.probability_bars(
        {names[i]: float(p) for i, p in enumerate(proba)}, "Membership of each segment (soft assignment)"
    )
    bars.update_xaxes(range=[0, 1.18])
    c2.plotly_chart(bars, key=f"{key}_proba")
    c2.caption("How strongly this customer belongs to each segment; the highest bar is always its k-means segment.")
    membership_waterfall(model, cid, names, exp, key)
    reasons = exp.reasons(0, k=3, up=f"pulls towards '{names[j]}'", down=f"pulls away from '{names[j]}'")
    st.markdown("In words: " + "; ".join(reasons) + ".")


def customer_what_if(model: seg.SegmentationModel, cid: str, names: Sequence[str], key: str) -> None:
    """Edit one customer's recency, frequency, spend (any feature) → the segment they move to, by name, and why: the
    distances to the centres in words and the SHAP of the new segment's pull."""
    st.markdown("**What if this customer changed**")
    st.caption(
        "Change their values — a more recent last purchase, more orders, a higher spend — and see which "
        "segment they would sit in."
    )
    base = model.customers.loc[cid, model.features]
    exp = model.explain_features(model.customers.loc[[cid], model.features], int(model.customers.loc[cid, "_segment"]))

    def answer(recorded: pd.Series, edited: pd.Series) -> None:
        move = seg.what_if(model, recorded, edited)
        c1, c2 = st.columns(2)
        c1.metric(
            "Segment as recorded",
            f"{move.before + 1} · {names[move.before]}",
            help="The segment whose centre is nearest to this customer's values in your data.",
        )
        c2.metric(
            "Segment with your changes",
            f"{move.after + 1} · {names[move.after]}",
            delta="moved" if move.moved else None,
            delta_color="off",
        )
        (st.success if move.moved else st.info)(move.sentence(), icon=":material/swap_horiz:")
        if all(a == b or (pd.isna(a) and pd.isna(b)) for a, b in zip(recorded, edited)):
            return  # nothing changed yet: the waterfall above already says why this segment
        fall = charts.shap_waterfall(move.explanation, 0)
        fall.update_layout(
            title=f"Why '{names[move.after]}' with your changes",
            xaxis_title=f"pull towards '{names[move.after]}' (log-odds compared with the average segment)",
        )
        st.plotly_chart(fall, key=f"{key}_wi_waterfall")
        reasons = move.explanation.reasons(
            0, k=3, up=f"pulls towards '{names[move.after]}'", down=f"pulls away from '{names[move.after]}'"
        )
        st.markdown("In words: " + "; ".join(reasons) + ".")

    with guard("updating the what-if", stop=False):
        what_if(
            base,
            seg.input_plans(model),
            list(exp.importance().index),
            lambda d: 0.0,
            model.explain,
            key=f"{key}_wi_{cid}",
            answer=answer,
            names=model.dictionary,
        )
