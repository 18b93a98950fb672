"""Digit recognizer: the classic MLP and a CNN side by side on handwritten digits; mistakes, pixel explanations, draw-to-predict."""
from __future__ import annotations

import streamlit as st

from engine import digits as dg
from ui import digits as view
from ui.data import dataset_picker
from ui.errors import guard
from ui.results import comparison_table, metric_cards
from ui.state import memo
from ui.training import run_key, training_panel

MAIN_SAMPLE = "MNIST: 10,000 training images, tested on 2,000 others"
SAMPLES = {MAIN_SAMPLE: "mnist_train_10k.csv.gz", "MNIST: 500 images (a quick try)": "mnist_train_500.csv"}
TEST_SAMPLE = "mnist_test_2k.csv.gz"
KEYS = ["accuracy", "macro_f1", "worst_recall", "log_loss"]
LABELS = {"accuracy": "Accuracy", "macro_f1": "Macro F1", "worst_recall": "Hardest digit's recall", "log_loss": "Log loss",
          "errors": "Misread images"}

st.title("Digit recognizer")
st.caption("Teach a network to read handwritten digits from your labelled images (one 28×28 image per row, Kaggle "
           "'Digit Recognizer' layout: label, pixel0 … pixel783), compare a CNN with the classic MLP and a simple "
           "baseline, see its mistakes and why it reads what it reads, then draw a digit and let it guess.")

table = dataset_picker(SAMPLES, key="dg", help_text="One row per image: a 'label' column (0–9) and pixel0 … pixel783 (0–255).")
if table is None:
    st.stop()
df = table.df
fp = table.fingerprint[:12]
test_table = None
if st.session_state.get("dg_dataset", MAIN_SAMPLE) == MAIN_SAMPLE:
    with guard("reading the sample test images"):
        test_table = view.load_bundled(TEST_SAMPLE)
    st.caption(f"Sample: {len(df):,} training images from MNIST; the models are measured on {len(test_table.df):,} other "
               "MNIST images they never see (mnist_test_2k.csv.gz). MNIST by Yann LeCun and Corinna Cortes, CC BY-SA 3.0.")
elif table.name == SAMPLES["MNIST: 500 images (a quick try)"]:
    st.caption("Sample: the first 500 images of the MNIST training subset (Yann LeCun and Corinna Cortes, CC BY-SA 3.0); "
               "a fifth of them are held out to measure the models.")

# ----------------------------------------------------------------------------- 2 · Columns
st.subheader("2 · Columns")
defaults = dg.default_columns(df)
names = [str(c) for c in df.columns if not str(c).lower().startswith("pixel")] or [defaults.label]
label = st.selectbox("Label column (the digit each image shows)", names,
                     index=names.index(defaults.label) if defaults.label in names else 0, key=f"dg_label_{fp}",
                     help="The column holding the digit 0–9. The 784 pixel columns are found by their names.")
columns = dg.DigitColumns(label)
test_df = test_table.df if test_table is not None else None
with guard("checking your images"):  # cheap: problems show as sentences before anything trains
    prepared = memo("dg_prepared", run_key(table.fingerprint, columns),
                    lambda: dg.prepare(df, columns, test_df, table.name, test_table.name if test_table else ""), keep=2)
for note in prepared.notes:
    st.info(note)
view.preview_images(table, label)
with st.expander("Advanced training options"):
    helps = dg.DigitConfig.help()
    a1, a2, a3 = st.columns(3)
    config = dg.DigitConfig(
        cnn_epochs=a1.number_input("Most CNN epochs", 1, 200, 15, key="dg_cnn_epochs", help=helps["cnn_epochs"]["help"]),
        mlp_epochs=a2.number_input("Most MLP epochs", 1, 500, 30, key="dg_mlp_epochs", help=helps["mlp_epochs"]["help"]),
        augment=a3.checkbox("Augment the CNN's training images", False, key="dg_augment", help=helps["augment"]["help"]),
        channels=a1.select_slider("CNN filters", [8, 16, 32, 64], 16, key="dg_channels", help=helps["channels"]["help"]),
        test_fraction=a2.slider("Held-out share (without a test file)", 0.1, 0.5, 0.2, 0.05, key="dg_test",
                                help=helps["test_fraction"]["help"], disabled=test_table is not None),
        seed=a3.number_input("Random seed", 0, 10_000, 0, key="dg_seed", help=helps["seed"]["help"]),
    )

# ----------------------------------------------------------------------------- 3 · Train
key = run_key(table.fingerprint, test_table.fingerprint if test_table is not None else "", columns, config)
job = training_panel("digits", key, dg.fit, df, columns, config, test_df=test_df)
if job is None or not job.finished_ok:
    st.stop()
model: dg.DigitModel = job.result

# ----------------------------------------------------------------------------- 4 · Results
st.subheader("4 · Results")
perf, expl, draw, score, share = st.tabs(["Performance", "Explanations", "Draw a digit", "Predict new images", "Share"])

with perf:
    n = model.n_rows
    st.markdown(f"Measured on **{n['test']:,} test images** ({model.test_source}) that no model saw; trained on "
                f"{n['train']:,} images, with {n['validation']:,} more deciding when to stop.")
    metric_cards(dg.MODEL, model.metrics, model.baseline_metrics, KEYS, LABELS, dg.METRIC_HELP, lower_is_better=["log_loss"])
    errs = {m: (model.metrics if m == dg.MODEL else model.baseline_metrics[m])["errors"] for m in dg.MODELS}
    ratio = errs[dg.MODEL] / max(errs[dg.MLP], 1)
    st.markdown(f"The CNN misreads **{errs[dg.MODEL]:,}** of {n['test']:,} test images, the MLP {errs[dg.MLP]:,}, logistic "
                f"regression {errs[dg.LOGREG]:,}: the CNN makes **{ratio:.2f}×** the MLP's mistakes.")
    c1, c2 = st.columns(2)
    c1.dataframe(comparison_table(dg.MODEL, model.metrics, model.baseline_metrics, [*KEYS, "errors"], LABELS), width="stretch")
    c1.caption("Same test images for every model. Training time: " + ", ".join(f"{m} {s:.1f} s" for m, s in model.seconds.items()) + ".")
    c2.plotly_chart(view.accuracy_bars(model), key="dg_accuracy")
    c2.caption("The CNN (blue) should clearly beat the baselines; if it does not, the extra cost buys nothing.")
    view.performance(model, "dg_perf")
    with st.expander("Training curves and what was done to the data"):
        st.plotly_chart(view.training_curves(model), key="dg_history")
        st.caption("Both networks stop once the validation loss (solid) stops falling; a widening gap to the training "
                   "loss (dotted) means memorising.")
        st.markdown(f"CNN: {model.histories[dg.MODEL].stopped}; MLP: {model.histories[dg.MLP].stopped}.")
        for note in model.notes:
            st.markdown(f"- {note}")

with expl:
    view.explanation_view(model, job.id, "dg_expl")

with draw:
    view.drawing_view(model, job.id, "dg_draw")

with score:
    view.batch_prediction(model, "dg")

with share:
    st.download_button("Download the trained models (one file, weights only)", memo("dg_model_file", job.id, model.to_bytes),
                       file_name="digit_models.safetensors", key="dg_model_download",
                       help="A safetensors file with the CNN, MLP and logistic-regression weights and plain-text settings — "
                            "no code, safe to share.")
