"""The Explanations tab: pixel SHAP for one test image and digit, and the mean |SHAP| per digit across test images."""

from __future__ import annotations

import numpy as np
import streamlit as st

from engine import digits as dg
from ui import charts
from ui.digits.figures import attribution_map, digit_attribution_grid
from ui.digits.images import upscale
from ui.errors import guard
from ui.state import memo


def _image_options(model: dg.DigitModel, limit: int = 150) -> list[int]:
    wrong = model.misclassified(dg.MODEL)["index"].tolist()
    return list(dict.fromkeys([*wrong[:50], *range(min(limit, model.n_rows["test"]))]))


def explanation_view(model: dg.DigitModel, job_id: str, key: str) -> None:
    st.caption(
        "Pick a test image and a digit: SHAP shows which pixels pushed the network's score for that digit up "
        "(orange) or down (blue), compared with 100 typical training images. Misread images come first in the list."
    )
    options = _image_options(model)
    pred = model.test_predictions(dg.MODEL)
    c1, c2, c3 = st.columns(3)
    i = c1.selectbox(
        "Test image",
        options,
        key=f"{key}_image",
        format_func=lambda j: (
            f"image {j + 1:,} · true {model.test['y'][j]}, CNN reads {pred[j]}"
            + (" ✗" if pred[j] != model.test["y"][j] else "")
        ),
    )
    net = c2.radio("Network", [dg.MODEL, dg.MLP], horizontal=True, key=f"{key}_net")
    p = model.test[net][i]
    digit = c3.selectbox(
        "Explain the score of digit",
        dg.DIGITS,
        index=int(p.argmax()),
        key=f"{key}_digit_{i}_{net}",
        help="By default the digit the network reads; pick the true digit to see what spoke against it.",
    )
    exp = None
    with guard("explaining this image", stop=False):
        exp = memo(
            f"{key}_shap",
            f"{job_id}:{i}:{net}:{digit}",
            lambda: model.decide(network=net).explain(model.test["X"][i : i + 1], digit),
            keep=12,
        )
    a, b, c = st.columns([1, 2, 2])
    a.image(
        upscale(model.test["X"][i], 5),
        caption=f"test image {i + 1:,} (true digit {model.test['y'][i]})",
        width="stretch",
    )
    if exp is not None:
        b.plotly_chart(attribution_map(exp, 0, f"Why the {net} scores digit {digit}"), key=f"{key}_map")
        b.caption(
            "Orange: ink (or empty space) that made the digit more likely; blue: less likely. Grey line: the digit's outline."
        )
    c.plotly_chart(
        charts.probability_bars({str(d): float(p[d]) for d in dg.DIGITS}, f"{net}: probability of each digit"),
        key=f"{key}_probs",
    )
    c.caption("How sure the network is of each digit for this image.")
    digit_global_view(model, job_id, net, f"{key}_global")


def digit_global_view(model: dg.DigitModel, job_id: str, net: str, key: str) -> None:
    """Across digits: the mean |SHAP| of each pixel over explained test images of each digit, computed on request
    (about a second an image on a CPU)."""
    st.markdown(f"**Across digits: where the {net} looks for each one**")
    c1, c2, c3 = st.columns([3, 2, 1], vertical_alignment="bottom")
    by = c1.radio(
        "Group test images by",
        ["predicted", "true"],
        horizontal=True,
        key=f"{key}_by",
        format_func=lambda b: "the digit the network reads" if b == "predicted" else "the true digit",
    )
    n = int(
        c2.number_input(
            "Images per digit",
            1,
            50,
            5,
            key=f"{key}_n",
            help="More images give a steadier map and take longer: about a second an image on a CPU.",
        )
    )
    slot, mkey = f"{key}_maps", f"{job_id}:{net}:{by}:{n}"
    if mkey not in st.session_state.get(f"_memo_{slot}", {}) and not c3.button("Show", key=f"{key}_go"):
        st.caption(
            "Averages each pixel's SHAP (its push, up or down, on the score of the image's own digit) over the "
            "first test images of every digit: press Show."
        )
        return
    with guard("explaining the digits", stop=False):
        values, digits, _ = memo(slot, mkey, lambda: model.decide(network=net).explain_per_digit(n, by), keep=4)
        st.plotly_chart(
            digit_attribution_grid(
                dg.mean_abs_attribution(values, digits),
                np.bincount(digits, minlength=10),
                f"Mean |pixel SHAP| per digit · {net}",
            ),
            key=f"{key}_grid",
        )
        st.caption(
            "Darker: pixels whose ink (or emptiness) moved the score of that digit the most, for it or against it, "
            "averaged over the images in each panel's title. One colour scale for all ten digits."
        )
