"""Views of the Digit recognizer page: digit images, confusion matrix, gallery, pixel SHAP, drawing, batch prediction."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from engine import digits as dg
from engine.data import Table, load_table
from engine.explain import Explanation
from engine.training import trains_on_gpu
from ui import charts
from ui.data import read_model_file, read_upload
from ui.errors import guard
from ui.report import appendix, build_report
from ui.results import comparison_table, download_csv, metric_cards
from ui.share import share_panel
from ui.state import memo
from ui.style import MODEL_COLOR, NEGATIVE_COLOR, NEUTRAL_COLOR, POSITIVE_COLOR, pct
from ui.text import plain

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample_data"
KEYS = ["accuracy", "macro_f1", "worst_recall", "log_loss"]
LABELS = {"accuracy": "Accuracy", "macro_f1": "Macro F1", "worst_recall": "Hardest digit's recall", "log_loss": "Log loss",
          "errors": "Misread images"}
MODEL_HELP = {
    dg.MODEL: "A small convolutional network: it looks at 5×5 patches of strokes, so it copes with digits drawn a little shifted or slanted.",
    dg.MLP: "The classic multi-layer perceptron: 784 pixels → 128 neurons → 10 digits. It sees each pixel separately.",
    dg.LOGREG: "Logistic regression on the 784 pixels: one weight per pixel and digit; the simple baseline.",
}


# Seconds per pass over the training images, with the default network sizes, measured once on this project's
# 2-core CPU machine (while shared): 10,000 images took about 110 s in all, 500 images (400 trained on) 63 s —
# small files train in small batches, so a pass costs more per image. Between the two, linear in the images.
_MEASURED = {400: {"cnn": 3.05, "mlp": 0.41, "rest": 1.8}, 10_000: {"cnn": 5.9, "mlp": 0.59, "rest": 4.4}}


def training_estimate(n_train: int, config: dg.DigitConfig) -> float:
    """Rough seconds to train all three models on `n_train` images on 2 CPU cores: passes × cost per pass, the cost
    interpolated from the two measured samples (proportional to the images above 10,000). An upper figure: a
    network that stops improving stops early."""
    lo, hi = _MEASURED[400], _MEASURED[10_000]
    if n_train >= 10_000:
        per = {k: v * n_train / 10_000 for k, v in hi.items()}
    else:
        w = max(0.0, (n_train - 400) / (10_000 - 400))
        per = {k: lo[k] + w * (hi[k] - lo[k]) for k in lo}
    return per["cnn"] * config.cnn_epochs + per["mlp"] * config.mlp_epochs + per["rest"]


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"about {max(10, round(seconds / 10) * 10):.0f} seconds"
    return f"about {max(2, round(seconds / 60)):.0f} minutes"


def time_notice(n_train: int, config: dg.DigitConfig) -> None:
    """Up front, before Train: how long training will take, stated as approximate."""
    took = _duration(training_estimate(n_train, config))
    where = ("on this machine's GPU it is usually much quicker" if trains_on_gpu() else
             "a network that stops improving finishes sooner")
    st.info(f"Training the three models on {n_train:,} images takes {took} on a 2-core CPU (an estimate from images × "
            f"passes, measured once on this project's machine; {where}). Fewer passes in *Advanced training options* "
            "or the 500-image quick try are faster.", icon=":material/schedule:")


@st.cache_data(show_spinner=False, max_entries=4)
def load_bundled(file_name: str) -> Table:
    """A bundled sample file (never an analyst's upload: shared by every session)."""
    return load_table(SAMPLE_DIR / file_name)


def upscale(img28: np.ndarray, factor: int = 4) -> np.ndarray:
    """A 28×28 image (0–255, ink bright) as dark ink on white paper, enlarged without blurring."""
    img = 255 - np.clip(np.asarray(img28, dtype=np.float32), 0, 255).reshape(dg.SIDE, dg.SIDE)
    return np.kron(img, np.ones((factor, factor), np.float32)).astype(np.uint8)


def image_strip(X: np.ndarray, captions: list[str], per_row: int = 10, factor: int = 3) -> None:
    """A grid of digit images with a caption each."""
    for start in range(0, len(X), per_row):
        cols = st.columns(per_row)
        for col, x, cap in zip(cols, X[start : start + per_row], captions[start : start + per_row]):
            col.image(upscale(x, factor), caption=cap, width="stretch")


def preview_images(table: Table, label: str) -> None:
    """The first images of the file as pictures, so the analyst sees what the rows are."""
    with guard("showing your images", stop=False):
        imgs = dg.read_images(table.df.head(10), dg.DigitColumns(label), table.name, labelled=False)
        labels = table.df[label].head(10).tolist() if label in table.df.columns else [""] * len(imgs.X)
        st.caption("The first images of the file, as the models will see them (label underneath):")
        image_strip(imgs.X, [f"label {v}" for v in labels])


# ----------------------------------------------------------------------------- charts


def in_order(model: dg.DigitModel) -> dict[str, dict[str, float]]:
    """The baselines' metrics in the one order every table, chart and choice on the page uses (dg.MODELS)."""
    return {name: model.baseline_metrics[name] for name in dg.MODELS[1:]}


def accuracy_bars(model: dg.DigitModel) -> go.Figure:
    names = list(dg.MODELS)
    values = [model.metrics["accuracy"]] + [model.baseline_metrics[n]["accuracy"] for n in names[1:]]
    colors = charts.series_colors([dg.MODEL, *dg.BASELINES])
    fig = charts.figure("Accuracy on the test images (higher is better)", height=260, xaxis=dict(range=[min(values) - 0.05, 1.0]))
    fig.add_bar(x=values, y=names, orientation="h", marker_color=[colors[n] for n in names],
                text=[pct(v) for v in values], textposition="inside", insidetextanchor="end", textfont=dict(color="white"))
    fig.update_yaxes(autorange="reversed", type="category")
    return fig


def training_curves(model: dg.DigitModel) -> go.Figure:
    """Validation loss per epoch of both networks."""
    colors = charts.series_colors([dg.MODEL, *dg.BASELINES])
    fig = charts.figure("Training curves (validation loss: lower is better)", xaxis_title="epoch", yaxis_title="loss", height=320)
    for name in (dg.MODEL, dg.MLP):
        h = pd.DataFrame(model.histories[name].epochs)
        fig.add_scatter(x=h["epoch"], y=h["val_loss"], name=f"{name} · validation", line=dict(color=colors[name]))
        fig.add_scatter(x=h["epoch"], y=h["train_loss"], name=f"{name} · training", line=dict(color=colors[name], dash="dot"))
    return fig


def confusion_heatmap(counts: np.ndarray, normalised: bool, title: str) -> go.Figure:
    counts = np.asarray(counts)
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    z = share if normalised else counts
    text = [[(f"{100 * share[i, j]:.0f}%" if share[i, j] >= 0.005 else "") if normalised else (f"{counts[i, j]:,}" if counts[i, j] else "")
             for j in range(10)] for i in range(10)]
    labels = [str(d) for d in dg.DIGITS]
    fig = charts.figure(title, xaxis_title="digit the model read", yaxis_title="true digit", height=520)
    # a square-root colour scale keeps the few mistakes visible beside the large diagonal
    fig.add_heatmap(z=np.sqrt(z / max(z.max(), 1e-9)), x=labels, y=labels, text=text, texttemplate="%{text}",
                    colorscale="Blues", zmin=0, zmax=1, showscale=False, customdata=counts,
                    hovertemplate="true %{y}, read %{x}: %{customdata:,} image(s)<extra></extra>")
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", side="bottom")
    return fig


def recall_by_digit(model: dg.DigitModel) -> go.Figure:
    colors = charts.series_colors([dg.MODEL, *dg.BASELINES])
    fig = charts.figure("Recall by digit (share of each digit read right)", xaxis_title="digit", yaxis_title="recall", height=320,
                      barmode="group")
    for name in dg.MODELS:
        pc = model.per_class(name)
        fig.add_bar(x=pc["digit"].astype(str), y=pc["recall"], name=name, marker_color=colors[name],
                    hovertemplate=f"{name}<br>digit %{{x}}: %{{y:.1%}}<extra></extra>")
    lows = [model.per_class(n)["recall"].min() for n in dg.MODELS]
    fig.update_yaxes(range=[max(0.0, min(lows) - 0.05), 1.0])
    charts.legend_on_top(fig)
    fig.update_xaxes(type="category")
    return fig


def attribution_map(exp: Explanation, i: int = 0, title: str = "Pixel attributions (SHAP)") -> go.Figure:
    """Orange pixels pushed the score of the digit up, blue pushed it down; the digit's outline in grey."""
    v = exp.values[i].reshape(dg.SIDE, dg.SIDE)
    ink = exp.data.iloc[i].to_numpy(dtype=np.float32).reshape(dg.SIDE, dg.SIDE)
    lim = float(np.abs(v).max()) or 1.0
    fig = charts.figure(title, height=330, showlegend=False, margin=dict(l=10, r=10, t=40, b=10))
    fig.add_heatmap(z=v, zmin=-lim, zmax=lim, zmid=0, colorscale=[[0, NEGATIVE_COLOR], [0.5, "#ffffff"], [1, POSITIVE_COLOR]],
                    colorbar=dict(title="push", tickvals=[-lim, 0, lim], ticktext=["away", "0", "towards"], len=0.8),
                    hovertemplate="row %{y}, column %{x}: %{z:+.3f}<extra></extra>")
    fig.add_contour(z=ink, contours=dict(start=100, end=100, coloring="none"), line=dict(color=NEUTRAL_COLOR, width=1.5),
                    showscale=False, hoverinfo="skip")
    fig.update_yaxes(autorange="reversed", scaleanchor="x", showticklabels=False, showgrid=False, zeroline=False)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, constrain="domain")
    return fig


def digit_attribution_grid(mean_abs: np.ndarray, counts: Sequence[int], title: str) -> go.Figure:
    """Small multiples (2×5), one 28×28 map per digit of the mean |pixel attribution|, on one shared colour scale so
    the digits compare: dark pixels are where the network looks to decide on that digit."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=2, cols=5, horizontal_spacing=0.02, vertical_spacing=0.1,
                        subplot_titles=[f"{d} · " + ({0: "no image", 1: "1 image"}.get(counts[d]) or f"{counts[d]} images")
                                        for d in dg.DIGITS])
    top = float(np.nanmax(mean_abs)) if np.isfinite(mean_abs).any() else 1.0
    for d in dg.DIGITS:
        fig.add_heatmap(z=mean_abs[d].reshape(dg.SIDE, dg.SIDE), row=d // 5 + 1, col=d % 5 + 1, coloraxis="coloraxis",
                        name=str(d), hovertemplate=f"digit {d}<br>row %{{y}}, column %{{x}}: %{{z:.4f}}<extra></extra>")
    fig.update_layout(charts.figure(title).layout)  # the house style, then this chart's own size
    fig.update_layout(height=430, showlegend=False, margin=dict(l=10, r=10, t=70, b=10),
                      coloraxis=dict(colorscale=[[0, "#ffffff"], [1, MODEL_COLOR]], cmin=0, cmax=top or 1.0,
                                     colorbar=dict(title="mean |push|", len=0.9)))
    fig.update_layout(annotations=[a.update(font=dict(size=12)) for a in fig.layout.annotations])
    fig.update_yaxes(autorange="reversed", showticklabels=False, showgrid=False, zeroline=False)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, constrain="domain")
    for d in dg.DIGITS:  # square pixels in every panel
        fig.update_yaxes(scaleanchor=f"x{'' if d == 0 else d + 1}", row=d // 5 + 1, col=d % 5 + 1)
    return fig


def digit_global_view(model: dg.DigitModel, job_id: str, net: str, key: str) -> None:
    """Across digits: the mean |SHAP| of each pixel over explained test images of each digit, computed on request
    (about a second an image on a CPU)."""
    st.markdown(f"**Across digits: where the {net} looks for each one**")
    c1, c2, c3 = st.columns([3, 2, 1], vertical_alignment="bottom")
    by = c1.radio("Group test images by", ["predicted", "true"], horizontal=True, key=f"{key}_by",
                  format_func=lambda b: "the digit the network reads" if b == "predicted" else "the true digit")
    n = int(c2.number_input("Images per digit", 1, 50, 5, key=f"{key}_n",
                            help="More images give a steadier map and take longer: about a second an image on a CPU."))
    slot, mkey = f"{key}_maps", f"{job_id}:{net}:{by}:{n}"
    if mkey not in st.session_state.get(f"_memo_{slot}", {}) and not c3.button("Show", key=f"{key}_go"):
        st.caption("Averages each pixel's SHAP (its push, up or down, on the score of the image's own digit) over the "
                   "first test images of every digit: press Show.")
        return
    with guard("explaining the digits", stop=False):
        values, digits, _ = memo(slot, mkey, lambda: model.decide(network=net).explain_per_digit(n, by), keep=4)
        st.plotly_chart(digit_attribution_grid(dg.mean_abs_attribution(values, digits), np.bincount(digits, minlength=10),
                                               f"Mean |pixel SHAP| per digit · {net}"), key=f"{key}_grid")
        st.caption("Darker: pixels whose ink (or emptiness) moved the score of that digit the most, for it or against it, "
                   "averaged over the images in each panel's title. One colour scale for all ten digits.")


# ----------------------------------------------------------------------------- panels


def performance(model: dg.DigitModel, key: str) -> None:
    pick = st.radio("Model to inspect", list(dg.MODELS), horizontal=True, key=f"{key}_model",
                    help="The confusion matrix, per-digit table and gallery below show this model.")
    st.caption(MODEL_HELP[pick])
    g1, g2 = st.columns([3, 2])
    with g1:
        normalised = st.toggle("Show shares of each true digit (instead of counts)", key=f"{key}_norm")
        st.plotly_chart(confusion_heatmap(model.confusion(pick), normalised, f"Confusion matrix · {pick}"), key=f"{key}_confusion")
        st.caption("Rows: the true digit; columns: what the model read. Everything off the diagonal is a mistake; "
                   "dark cells off it are the digits it mixes up.")
    with g2:
        pc = model.per_class(pick)
        st.dataframe(pc.style.format({"precision": "{:.1%}", "recall": "{:.1%}", "F1": "{:.3f}", "images": "{:,}"}),
                     hide_index=True, width="stretch", height=35 * 11 + 3)
        st.caption("Precision: of the images read as this digit, the share that really were. "
                   "Recall: of this digit's images, the share read right.")
    st.plotly_chart(recall_by_digit(model), key=f"{key}_recall")
    st.caption("Each digit's recall per model: look for digits where the baselines fall well below the CNN.")
    gallery(model, pick, key)


def gallery(model: dg.DigitModel, pick: str, key: str, limit: int = 30) -> None:
    wrong = model.misclassified(pick)
    st.markdown(f"**Misread test images · {pick}** — {len(wrong):,} of {model.n_rows['test']:,}, the most confident mistakes first")
    if not len(wrong):
        st.success("No test image was misread.")
        return
    shown = wrong.head(limit)
    image_strip(model.test["X"][shown["index"].to_numpy()],
                [f"true {t} → read {p} ({100 * c:.0f}%)" for t, p, c in zip(shown["true"], shown["predicted"], shown["confidence"])])
    st.caption("Each picture is a test image the model got wrong, with how sure it was. Some are hard even for people; "
               "confident mistakes on clear digits are the ones to worry about.")


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
    i = c1.selectbox("Misread image", list(wrong["index"]), key=f"{key}_image",
                     format_func=lambda j: f"image {j + 1:,} · true {by_index.loc[j, 'true']}, CNN reads "
                                           f"{by_index.loc[j, 'predicted']} ({100 * by_index.loc[j, 'confidence']:.0f}%)",
                     help="The CNN's misread test images, the most confident mistakes first (as in the gallery above).")
    thicker = c2.slider("Strokes: thinner ← → thicker", -2, 3, 0, key=f"{key}_thicker_{i}",
                        help="Each step makes every stroke about one pixel bolder (or thinner) on each side.")
    erase = c3.selectbox("Erase", list(dg.ERASE_PARTS), key=f"{key}_erase_{i}",
                         help="Blank out part of the image, as if that part of the digit had not been written.")
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
    m2.metric("The CNN reads, nudged", f"{d1} ({pct(float(p[d1]), 0)})",
              delta="now right" if d1 == true else ("changed" if d1 != d0 else None),
              delta_color="normal" if d1 == true else "off")
    c.markdown(f"The true digit {true}'s probability: **{pct(float(before[true]), 1)}** as written, "
               f"**{pct(float(p[true]), 1)}** nudged. The MLP now reads **{int(after[dg.MLP].argmax())}**, "
               f"logistic regression **{int(after[dg.LOGREG].argmax())}**.")
    c.caption("If a small nudge puts the reading right, the model was close to the line; if it takes a lot, the image "
              "itself looks like the digit the model read.")


def _image_options(model: dg.DigitModel, limit: int = 150) -> list[int]:
    wrong = model.misclassified(dg.MODEL)["index"].tolist()
    return list(dict.fromkeys([*wrong[:50], *range(min(limit, model.n_rows["test"]))]))


def explanation_view(model: dg.DigitModel, job_id: str, key: str) -> None:
    st.caption("Pick a test image and a digit: SHAP shows which pixels pushed the network's score for that digit up "
               "(orange) or down (blue), compared with 100 typical training images. Misread images come first in the list.")
    options = _image_options(model)
    pred = model.test_predictions(dg.MODEL)
    c1, c2, c3 = st.columns(3)
    i = c1.selectbox("Test image", options, key=f"{key}_image", format_func=lambda j: (
        f"image {j + 1:,} · true {model.test['y'][j]}, CNN reads {pred[j]}" + (" ✗" if pred[j] != model.test["y"][j] else "")))
    net = c2.radio("Network", [dg.MODEL, dg.MLP], horizontal=True, key=f"{key}_net")
    p = model.test[net][i]
    digit = c3.selectbox("Explain the score of digit", dg.DIGITS, index=int(p.argmax()), key=f"{key}_digit_{i}_{net}",
                         help="By default the digit the network reads; pick the true digit to see what spoke against it.")
    exp = None
    with guard("explaining this image", stop=False):
        exp = memo(f"{key}_shap", f"{job_id}:{i}:{net}:{digit}", lambda: model.decide(network=net).explain(model.test["X"][i:i + 1], digit), keep=12)
    a, b, c = st.columns([1, 2, 2])
    a.image(upscale(model.test["X"][i], 5), caption=f"test image {i + 1:,} (true digit {model.test['y'][i]})", width="stretch")
    if exp is not None:
        b.plotly_chart(attribution_map(exp, 0, f"Why the {net} scores digit {digit}"), key=f"{key}_map")
        b.caption("Orange: ink (or empty space) that made the digit more likely; blue: less likely. Grey line: the digit's outline.")
    c.plotly_chart(charts.probability_bars({str(d): float(p[d]) for d in dg.DIGITS}, f"{net}: probability of each digit"),
                   key=f"{key}_probs")
    c.caption("How sure the network is of each digit for this image.")
    digit_global_view(model, job_id, net, f"{key}_global")


def drawing_view(model: dg.DigitModel, job_id: str, key: str) -> None:
    how = st.radio("Your digit", ["Draw it", "Upload a picture (PNG/JPG)"], horizontal=True, key=f"{key}_how")
    raw, name = None, ""
    left, right = st.columns([3, 5])
    with left:
        if how == "Draw it":
            from streamlit_drawable_canvas import st_canvas

            st.caption("Draw one digit, large:")
            canvas = st_canvas(stroke_width=18, stroke_color="#000000", background_color="#FFFFFF", height=280, width=280,
                               drawing_mode="freedraw", return_image_data=True, key=f"{key}_canvas")
            st.caption("Use the mouse or a finger. The arrows above the box undo a stroke; the bin clears it.")
            drawn = bool((canvas.json_data or {}).get("objects"))
            image = canvas.image_data if drawn else None
            name = "your drawing"
        else:
            up = st.file_uploader("Picture of one handwritten digit", type=["png", "jpg", "jpeg", "bmp", "gif", "webp"],
                                  key=f"{key}_picture")
            image = None
            if up is not None:
                raw, name = up.getvalue(), up.name
    with right:
        if raw is not None:
            with guard("reading your picture", stop=False):
                image = dg.read_image(raw, name)
        if image is None:
            st.info("Draw a digit in the box (or upload a picture): the prediction appears here.", icon=":material/draw:")
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
        m3.markdown(f"For comparison: the MLP reads **{int(probs[dg.MLP].argmax())}** "
                    f"({pct(float(probs[dg.MLP].max()), 0)}), logistic regression **{int(probs[dg.LOGREG].argmax())}** "
                    f"({pct(float(probs[dg.LOGREG].max()), 0)}).")
        m3.caption("Your drawing was cropped to the ink, scaled to 20×20 and centred in 28×28, as MNIST's digits were.")
        g1, g2 = st.columns(2)
        g1.plotly_chart(charts.probability_bars({str(k): float(p[k]) for k in dg.DIGITS}, "CNN: probability of each digit"),
                        key=f"{key}_draw_probs")
        g1.caption("A clear digit gets one long bar; two long bars mean the CNN hesitates between them.")
        exp = None
        with guard("explaining your digit", stop=False):
            digest = f"{job_id}:{hash(x28.tobytes())}:{d}"
            exp = memo(f"{key}_draw_shap", digest, lambda: model.explain(x28.reshape(1, -1), d))
        if exp is not None:
            g2.plotly_chart(attribution_map(exp, 0, f"Why the CNN reads {d}"), key=f"{key}_draw_map")
            g2.caption("Orange: parts of your drawing (or empty space) that made this digit more likely; blue: less likely.")


def batch_prediction(model: dg.DigitModel, key: str) -> None:
    st.caption("Upload images to read, one per row with columns pixel0 … pixel783 (like Kaggle's test.csv; a label "
               "column is allowed and then used to measure accuracy). Download the predictions in Kaggle's submission "
               "layout: ImageId,Label.")
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
        st.metric("CNN accuracy on your labelled file", pct(acc), help="Share of the labelled images in this file read right.")
    image_strip(X, [f"#{i} → {d}" for i, d in zip(pred["ImageId"].head(len(X)), pred["Label"].head(len(X)))])
    st.caption("The first images of your file: ImageId → the digit the CNN read.")
    st.dataframe(pred.head(200), hide_index=True, width="stretch", height=300)
    c1, c2 = st.columns(2)
    with c1:
        download_csv(pred[["ImageId", "Label"]], "Download predictions (Kaggle submission: ImageId,Label)", "submission.csv",
                     key=f"{key}_submission")
    with c2:
        download_csv(pred, "Download with probabilities of every digit", "digit_predictions.csv", key=f"{key}_probabilities")


def gallery_figure(model: dg.DigitModel, pick: str = dg.MODEL, limit: int = 20, per_row: int = 10) -> go.Figure:
    """The most confident mistakes as one picture (for the report): each tile captioned true → read."""
    wrong = model.misclassified(pick).head(limit)
    fig = charts.figure(f"Misread test images · {pick} (true → read)", height=140 + 70 * max(1, -(-len(wrong) // per_row)),
                      showlegend=False)
    if not len(wrong):
        return fig
    rows = -(-len(wrong) // per_row)
    tile = dg.SIDE + 4
    board = np.zeros((rows * tile, per_row * tile), np.float32)
    for k, i in enumerate(wrong["index"]):
        r, c = divmod(k, per_row)
        board[r * tile + 2 : r * tile + 2 + dg.SIDE, c * tile + 2 : c * tile + 2 + dg.SIDE] = model.test_image(int(i))
    fig.add_heatmap(z=board, colorscale="Greys", showscale=False, hoverinfo="skip")
    for k, (t, p) in enumerate(zip(wrong["true"], wrong["predicted"])):
        r, c = divmod(k, per_row)
        fig.add_annotation(x=c * tile + tile / 2, y=r * tile + tile + 1, text=f"{t} → {p}", showarrow=False, yshift=-6,
                           font=dict(size=11))
    fig.update_yaxes(autorange="reversed", scaleanchor="x", visible=False)
    fig.update_xaxes(visible=False)
    return fig


def report(model: dg.DigitModel, data_label: str) -> str:
    n = model.n_rows
    sections = [
        ("Performance on the test images", [
            comparison_table(dg.MODEL, model.metrics, in_order(model), [*KEYS, "errors"], LABELS),
            accuracy_bars(model), confusion_heatmap(model.confusion(), False, "Confusion matrix · CNN (counts)"),
            model.per_class().round(4), recall_by_digit(model), gallery_figure(model), training_curves(model)]),
        ("Data", [f"{data_label}. Trained on {n['train']:,} images ({n['validation']:,} more decided when to stop); "
                  f"tested on {n['test']:,} images ({model.test_source}).", *model.notes]),
        appendix(model.columns, model.config),
    ]
    from ui.training import headline_verdict

    lead = [f"The CNN reads {pct(model.metrics['accuracy'])} of {n['test']:,} test images right.",
            *headline_verdict("digits", model)]
    return build_report("Digit recognizer: CNN vs MLP vs logistic regression", sections, subtitle=data_label, lead=lead)


def performance_summary(model: dg.DigitModel) -> None:
    n = model.n_rows
    st.markdown(f"Measured on **{n['test']:,} test images** ({model.test_source}) that no model saw; trained on "
                f"{n['train']:,} images, with {n['validation']:,} more deciding when to stop.")
    metric_cards(dg.MODEL, model.metrics, model.baseline_metrics, KEYS, LABELS, dg.METRIC_HELP, lower_is_better=["log_loss"])
    errs = {m: (model.metrics if m == dg.MODEL else model.baseline_metrics[m])["errors"] for m in dg.MODELS}
    ratio = errs[dg.MODEL] / max(errs[dg.MLP], 1)
    st.markdown(f"The CNN misreads **{errs[dg.MODEL]:,}** of {n['test']:,} test images, the MLP {errs[dg.MLP]:,}, logistic "
                f"regression {errs[dg.LOGREG]:,}: the CNN makes **{ratio:.2f}×** the MLP's mistakes.")
    c1, c2 = st.columns([3, 2])
    c1.dataframe(comparison_table(dg.MODEL, model.metrics, in_order(model), [*KEYS, "errors"], LABELS), width="stretch")
    c1.caption("Same test images for every model. Training time: " + ", ".join(f"{m} {s:.1f} s" for m, s in model.timings.items()) + ".")
    c2.plotly_chart(accuracy_bars(model), key="dg_accuracy")
    c2.caption("The CNN (blue) should clearly beat the baselines; if it does not, the extra cost buys nothing.")


def results(model: dg.DigitModel, run_key: str, run_id: str | None, data_label: str, share: bool = True) -> None:
    """Step 4: Performance · Explanations · Draw a digit · Predict new images · Share."""
    st.subheader("4 · Results")
    names = ["Performance", "Explanations", "Draw a digit", "Predict new images"] + (["Share"] if share else [])
    tabs = st.tabs(names)
    with tabs[0]:
        performance_summary(model)
        performance(model, "dg_perf")
        nudge_view(model, "dg_nudge")
        with st.expander("Training curves and what was done to the data"):
            st.plotly_chart(training_curves(model), key="dg_history")
            st.caption("Both networks stop once the validation loss (solid) stops falling; a widening gap to the training "
                       "loss (dotted) means memorising.")
            st.markdown(f"CNN: {model.histories[dg.MODEL].stopped}; MLP: {model.histories[dg.MLP].stopped}.")
            for note in model.notes:
                st.markdown(f"- {plain(note)}")
    with tabs[1]:
        explanation_view(model, run_key, "dg_expl")
    with tabs[2]:
        drawing_view(model, run_key, "dg_draw")
    with tabs[3]:
        batch_prediction(model, "dg")
    if share:
        with tabs[4]:
            share_panel("digits", run_id, memo("dg_model_file", run_key, model.to_bytes), "digit_models.safetensors",
                        report=lambda: report(model, data_label))


def model_from_file() -> tuple[dg.DigitModel, str] | None:
    """A model file saved earlier on this page (its results, drawing and batch prediction need no training)."""
    upload = st.file_uploader("Model file (.safetensors, downloaded from this page)", type=["safetensors"], key="dg_model_upload")
    if upload is None:
        return None
    model = None
    with guard("reading the model file", stop=False):
        model = memo("dg_uploaded_model", upload.file_id, lambda: read_model_file(upload, dg.load), keep=1)
        st.success(f"Models read: the CNN's test accuracy was {pct(model.metrics['accuracy'], 2)} on "
                   f"{model.n_rows['test']:,} images. Its results are below; draw a digit or predict new images there.")
    return (model, upload.file_id) if model is not None else None


def shared_results(model: dg.DigitModel, table: Table, key: str, run_id: str | None) -> None:
    """A shared run's results (the page's results with the shared dataset named)."""
    results(model, key, run_id, f"{table.name}: {len(table.df):,} images")
