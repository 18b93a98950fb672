"""Reading new images: the Draw a digit tab (a drawing or a picture, read and explained) and the Predict new images
tab (a CSV of images, predictions to download)."""

from __future__ import annotations

import streamlit as st

from engine import digits as dg
from ui import charts
from ui.data import read_upload
from ui.digits.figures import attribution_map
from ui.digits.images import image_strip, upscale
from ui.errors import guard
from ui.results import download_csv
from ui.state import memo
from ui.style import pct


def drawing_view(model: dg.DigitModel, job_id: str, key: str) -> None:
    how = st.radio("Your digit", ["Draw it", "Upload a picture (PNG/JPG)"], horizontal=True, key=f"{key}_how")
    raw, name = None, ""
    left, right = st.columns([3, 5])
    with left:
        if how == "Draw it":
            from streamlit_drawable_canvas import st_canvas

            st.caption("Draw one digit, large:")
            canvas = st_canvas(
                stroke_width=18,
                stroke_color="#000000",
                background_color="#FFFFFF",
                height=280,
                width=280,
                drawing_mode="freedraw",
                return_image_data=True,
                key=f"{key}_canvas",
            )
            st.caption("Use the mouse or a finger. The arrows above the box undo a stroke; the bin clears it.")
            drawn = bool((canvas.json_data or {}).get("objects"))
            image = canvas.image_data if drawn else None
            name = "your drawing"
        else:
            up = st.file_uploader(
                "Picture of one handwritten digit",
                type=["png", "jpg", "jpeg", "bmp", "gif", "webp"],
                key=f"{key}_picture",
            )
            image = None
            if up is not None:
                raw, name = up.getvalue(), up.name
    with right:
        if raw is not None:
            with guard("reading your picture", stop=False):
                image = dg.read_image(raw, name)
        if image is None:
            st.info(
                "Draw a digit in the box (or upload a picture): the prediction appears here.", icon=":material/draw:"
            )
            return
        x28 = None
        with guard("reading your digit", stop=False):
            x28 = dg.prepare_image(image)
        if x28 is None:
            return
        probs = model.predict_image(x28)
        p = probs[dg.MODEL]
        d = int(p.argmax())
        m1, m2, m3 = st.columns([1, 1, 2])
        m1.image(upscale(x28, 4), caption="what the model sees (28×28)", width="stretch")
        m2.metric("The CNN reads", str(d), help="The digit with the highest probability.")
        m2.metric("Probability", pct(float(p[d]), 0), help="How sure the CNN is of that digit (0–100%).")
        m3.markdown(
            f"For comparison: the MLP reads **{int(probs[dg.MLP].argmax())}** "
            f"({pct(float(probs[dg.MLP].max()), 0)}), logistic regression **{int(probs[dg.LOGREG].argmax())}** "
            f"({pct(float(probs[dg.LOGREG].max()), 0)})."
        )
        m3.caption("Your drawing was cropped to the ink, scaled to 20×20 and centred in 28×28, as MNIST's digits were.")
        g1, g2 = st.columns(2)
        g1.plotly_chart(
            charts.probability_bars({str(k): float(p[k]) for k in dg.DIGITS}, "CNN: probability of each digit"),
            key=f"{key}_draw_probs",
        )
        g1.caption("A clear digit gets one long bar; two long bars mean the CNN hesitates between them.")
        exp = None
        with guard("explaining your digit", stop=False):
            digest = f"{job_id}:{hash(x28.tobytes())}:{d}"
            exp = memo(f"{key}_draw_shap", digest, lambda: model.explain(x28.reshape(1, -1), d))
        if exp is not None:
            g2.plotly_chart(attribution_map(exp, 0, f"Why the CNN reads {d}"), key=f"{key}_draw_map")
            g2.caption(
                "Orange: parts of your drawing (or empty space) that made this digit more likely; blue: less likely."
            )


def batch_prediction(model: dg.DigitModel, key: str) -> None:
    st.caption(
        "Upload images to read, one per row with columns pixel0 … pixel783 (like Kaggle's test.csv; a label "
        "column is allowed and then used to measure accuracy). Download the predictions in Kaggle's submission "
        "layout: ImageId,Label."
    )
    upload = st.file_uploader("Images to predict (CSV)", type=["csv", "txt", "gz"], key=f"{key}_score_upload")
    if upload is None:
        return
    cache = st.session_state.setdefault(f"{key}_scored", {})
    if upload.file_id not in cache:
        cache.clear()
        with guard("predicting your file", stop=False):
            table = read_upload(upload)
            dg.read_images(table.df, model.columns, upload.name, labelled=False)  # problems named with the file's name
            pred = model.predict(table.df)
            truth = None
            if model.columns.label in table.df.columns:
                y, have, _ = dg.labels_from_frame(table.df, model.columns.label, upload.name)
                truth = (y, have)
            X = dg.read_images(table.df.head(20), model.columns, upload.name, labelled=False).X
            cache[upload.file_id] = (pred, truth, X)
    if upload.file_id not in cache:
        return
    pred, truth, X = cache[upload.file_id]
    st.success(f"Read {len(pred):,} images.")
    if truth is not None and truth[1].any():
        y, have = truth
        acc = float((pred["Label"].to_numpy()[have] == y[have]).mean())
        st.metric(
            "CNN accuracy on your labelled file", pct(acc), help="Share of the labelled images in this file read right."
        )
    image_strip(X, [f"#{i} → {d}" for i, d in zip(pred["ImageId"].head(len(X)), pred["Label"].head(len(X)))])
    st.caption("The first images of your file: ImageId → the digit the CNN read.")
    st.dataframe(pred.head(200), hide_index=True, width="stretch", height=300)
    c1, c2 = st.columns(2)
    with c1:
        download_csv(
            pred[["ImageId", "Label"]],
            "Download predictions (Kaggle submission: ImageId,Label)",
            "submission.csv",
            key=f"{key}_submission",
        )
    with c2:
        download_csv(
            pred, "Download with probabilities of every digit", "digit_predictions.csv", key=f"{key}_probabilities"
        )
