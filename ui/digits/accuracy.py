"""The Performance tab: the metric cards and comparison table, the confusion matrix and per-digit table of the model
picked, the gallery of misread images, and the nudge (what-if) on a misread digit."""

from __future__ import annotations

import streamlit as st

from engine import digits as dg
from ui.digits.figures import accuracy_bars, confusion_heatmap, recall_by_digit
from ui.digits.images import image_strip, upscale
from ui.results import comparison_table, metric_cards
from ui.style import pct

KEYS = ["accuracy", "macro_f1", "worst_recall", "log_loss"]
LABELS = {
    "accuracy": "Accuracy",
    "macro_f1": "Macro F1",
    "worst_recall": "Hardest digit's recall",
    "log_loss": "Log loss",
    "errors": "Misread images",
}
MODEL_HELP = {
    dg.MODEL: "A small convolutional network: it looks at 5×5 patches of strokes, so it copes with digits drawn a little shifted or slanted.",
    dg.MLP: "The classic multi-layer perceptron: 784 pixels → 128 neurons → 10 digits. It sees each pixel separately.",
    dg.LOGREG: "Logistic regression on the 784 pixels: one weight per pixel and digit; the simple baseline.",
}


def in_order(model: dg.DigitModel) -> dict[str, dict[str, float]]:
    """The baselines' metrics in the one order every table, chart and choice on the page uses (dg.MODELS)."""
    return {name: model.baseline_metrics[name] for name in dg.MODELS[1:]}


def performance_summary(model: dg.DigitModel) -> None:
    n = model.n_rows
    st.markdown(
        f"Measured on **{n['test']:,} test images** ({model.test_source}) that no model saw; trained on "
        f"{n['train']:,} images, with {n['validation']:,} more deciding when to stop."
    )
    metric_cards(
        dg.MODEL, model.metrics, model.baseline_metrics, KEYS, LABELS, dg.METRIC_HELP, lower_is_better=["log_loss"]
    )
    errs = {m: (model.metrics if m == dg.MODEL else model.baseline_metrics[m])["errors"] for m in dg.MODELS}
    ratio = errs[dg.MODEL] / max(errs[dg.MLP], 1)
    st.markdown(
        f"The CNN misreads **{errs[dg.MODEL]:,}** of {n['test']:,} test images, the MLP {errs[dg.MLP]:,}, logistic "
        f"regression {errs[dg.LOGREG]:,}: the CNN makes **{ratio:.2f}×** the MLP's mistakes."
    )
    c1, c2 = st.columns([3, 2])
    c1.dataframe(comparison_table(dg.MODEL, model.metrics, in_order(model), [*KEYS, "errors"], LABELS), width="stretch")
    c1.caption(
        "Same test images for every model. Training time: "
        + ", ".join(f"{m} {s:.1f} s" for m, s in model.timings.items())
        + "."
    )
    c2.plotly_chart(accuracy_bars(model), key="dg_accuracy")
    c2.caption("The CNN (blue) should clearly beat the baselines; if it does not, the extra cost buys nothing.")


def performance(model: dg.DigitModel, key: str) -> None:
    pick = st.radio(
        "Model to inspect",
        list(dg.MODELS),
        horizontal=True,
        key=f"{key}_model",
        help="The confusion matrix, per-digit table and gallery below show this model.",
    )
    st.caption(MODEL_HELP[pick])
    g1, g2 = st.columns([3, 2])
    with g1:
        normalised = st.toggle("Show shares of each true digit (instead of counts)", key=f"{key}_norm")
        st.plotly_chart(
            confusion_heatmap(model.confusion(pick), normalised, f"Confusion matrix · {pick}"), key=f"{key}_confusion"
        )
        st.caption(
            "Rows: the true digit; columns: what the model read. Everything off the diagonal is a mistake; "
            "dark cells off it are the digits it mixes up."
        )
    with g2:
        pc = model.per_class(pick)
        st.dataframe(
            pc.style.format({"precision": "{:.1%}", "recall": "{:.1%}", "F1": "{:.3f}", "images": "{:,}"}),
            hide_index=True,
            width="stretch",
            height=35 * 11 + 3,
        )
        st.caption(
            "Precision: of the images read as this digit, the share that really were. "
            "Recall: of this digit's images, the share read right."
        )
    st.plotly_chart(recall_by_digit(model), key=f"{key}_recall")
    st.caption("Each digit's recall per model: look for digits where the baselines fall well below the CNN.")
    gallery(model, pick, key)


def gallery(model: dg.DigitModel, pick: str, key: str, limit: int = 30) -> None:
    wrong = model.misclassified(pick)
    st.markdown(
        f"**Misread test images · {pick}** — {len(wrong):,} of {model.n_rows['test']:,}, the most confident mistakes first"
    )
    if not len(wrong):
        st.success("No test image was misread.")
        return
    shown = wrong.head(limit)
    image_strip(
        model.test["X"][shown["index"].to_numpy()],
        [
            f"true {t} → read {p} ({100 * c:.0f}%)"
            for t, p, c in zip(shown["true"], shown["predicted"], shown["confidence"])
        ],
    )
    st.caption(
        "Each picture is a test image the model got wrong, with how sure it was. Some are hard even for people; "
        "confident mistakes on clear digits are the ones to worry about."
    )


def nudge_view(model: dg.DigitModel, key: str, limit: int = 30) -> None:
    """What-if for digits: pick a misread test image from the gallery, thicken or thin its strokes or erase a part,
    and see what each model reads now."""
    st.markdown("**Nudge a misread digit** — would a bolder or thinner stroke, or a missing part, change the reading?")
    wrong = model.misclassified(dg.MODEL).head(limit)
    if not len(wrong):
        st.info("The CNN misread no test image, so there is none to nudge.", icon=":material/check_circle:")
        return
    by_index = wrong.set_index("index")
    c1, c2, c3 = st.columns([2, 2, 2])
    i = c1.selectbox(
        "Misread image",
        list(wrong["index"]),
        key=f"{key}_image",
        format_func=lambda j: (
            f"image {j + 1:,} · true {by_index.loc[j, 'true']}, CNN reads "
            f"{by_index.loc[j, 'predicted']} ({100 * by_index.loc[j, 'confidence']:.0f}%)"
        ),
        help="The CNN's misread test images, the most confident mistakes first (as in the gallery above).",
    )
    thicker = c2.slider(
        "Strokes: thinner ← → thicker",
        -2,
        3,
        0,
        key=f"{key}_thicker_{i}",
        help="Each step makes every stroke about one pixel bolder (or thinner) on each side.",
    )
    erase = c3.selectbox(
        "Erase",
        list(dg.ERASE_PARTS),
        key=f"{key}_erase_{i}",
        help="Blank out part of the image, as if that part of the digit had not been written.",
    )
    true = int(model.test["y"][i])
    x = dg.nudge(model.test["X"][i], thicker, erase)
    before = model.test[dg.MODEL][i]
    after = model.predict_image(x)
    p = after[dg.MODEL]
    d0, d1 = int(before.argmax()), int(p.argmax())
    a, b, c = st.columns([1, 1, 3])
    a.image(upscale(model.test["X"][i], 4), caption=f"as written (true digit {true})", width="stretch")
    b.image(upscale(x, 4), caption="with your nudge", width="stretch")
    m1, m2 = c.columns(2)
    m1.metric("The CNN reads, as written", f"{d0} ({pct(float(before[d0]), 0)})")
    m2.metric(
        "The CNN reads, nudged",
        f"{d1} ({pct(float(p[d1]), 0)})",
        delta="now right" if d1 == true else ("changed" if d1 != d0 else None),
        delta_color="normal" if d1 == true else "off",
    )
    c.markdown(
        f"The true digit {true}'s probability: **{pct(float(before[true]), 1)}** as written, "
        f"**{pct(float(p[true]), 1)}** nudged. The MLP now reads **{int(after[dg.MLP].argmax())}**, "
        f"logistic regression **{int(after[dg.LOGREG].argmax())}**."
    )
    c.caption(
        "If a small nudge puts the reading right, the model was close to the line; if it takes a lot, the image "
        "itself looks like the digit the model read."
    )
