"""Digit recognizer: the classic MLP and a CNN side by side on handwritten digits; mistakes, pixel explanations, draw-to-predict."""

from __future__ import annotations

import streamlit as st

from engine import digits as dg
from ui import digits as view
from ui.data import dataset_picker
from ui.errors import guard
from ui.options import option_input
from ui.state import memo
from ui.text import plain
from ui.training import run_key, shared_run, trained_run

MAIN_SAMPLE = "MNIST: 10,000 training images, tested on 2,000 others"
QUICK_SAMPLE = "MNIST: 500 images (a quick try)"
SAMPLES = {MAIN_SAMPLE: "mnist_train_10k.csv.gz", QUICK_SAMPLE: "mnist_train_500.csv"}
TEST_SAMPLE = "mnist_test_2k.csv.gz"
ATTRIBUTION = "MNIST by Yann LeCun and Corinna Cortes, CC BY-SA 3.0"

st.title(dg.ABOUT.title)
st.caption(
    "Teach a network to read handwritten digits from your labelled images (one 28×28 image per row, Kaggle "
    "'Digit Recognizer' layout: label, pixel0 … pixel783), compare a CNN with the classic MLP and a simple "
    "baseline, see its mistakes and why it reads what it reads, then draw a digit and let it guess."
)

# ----------------------------------------------------------------------------- a shared link or a model file: no training
shared_run("digits", dg.load, view.shared_results)  # a share link: its results, no training
with st.expander("Already have a model file from this page? Open it and draw or predict, no training"):
    from_file = view.model_from_file()
if from_file is not None:
    view.results(from_file[0], from_file[1], None, "a model file", share=False)
    st.stop()

# ----------------------------------------------------------------------------- 1 · Data
table = dataset_picker(
    SAMPLES,
    key="dg",
    help_text="One row per image: a 'label' column (0–9) and pixel0 … pixel783 (0–255).",
    max_rows=dg.MAX_ROWS,
)
if table is None:
    st.stop()
df = table.df
choice = st.session_state.get("dg_dataset", MAIN_SAMPLE)
test_table = None
if choice == MAIN_SAMPLE:
    with guard("reading the sample test images"):
        test_table = view.load_bundled(TEST_SAMPLE)
    st.caption(
        f"Sample: {len(df):,} training images from MNIST; the models are measured on {len(test_table.df):,} other "
        f"MNIST images they never see (mnist_test_2k.csv.gz). {ATTRIBUTION}."
    )
elif choice == QUICK_SAMPLE:
    st.caption(
        f"Sample: the first 500 images of the MNIST training subset; a fifth of them are held out to measure the "
        f"models. {ATTRIBUTION}."
    )

# ----------------------------------------------------------------------------- 2 · Columns
st.subheader("2 · Columns")
defaults = dg.default_columns(df)
names = [str(c) for c in df.columns if not str(c).lower().startswith("pixel")] or [defaults.label]
label = st.selectbox(
    "Label column (the digit each image shows)",
    names,
    index=names.index(defaults.label) if defaults.label in names else 0,
    key=f"dg_label_{table.fingerprint[:12]}",
    help="The column holding the digit 0–9. The 784 pixel columns are found by their names.",
)
columns = dg.DigitColumns(label)
test_df = test_table.df if test_table is not None else None
with guard("checking your images"):  # cheap: problems show as sentences before anything trains
    prepared = memo(
        "dg_prepared",
        run_key(table.fingerprint, columns),
        lambda: dg.prepare(df, columns, test_df, table.name, test_table.name if test_table else ""),
        keep=2,
    )
for note in prepared.notes:
    st.info(plain(note))
view.preview_images(table, label)
with st.expander("Advanced training options"):
    a1, a2, a3 = st.columns(3)
    C = dg.DigitConfig
    config = C(
        cnn_epochs=option_input(a1, C, "cnn_epochs", "dg_cnn_epochs"),
        mlp_epochs=option_input(a2, C, "mlp_epochs", "dg_mlp_epochs"),
        augment=option_input(a3, C, "augment", "dg_augment", "checkbox", label="Augment the CNN's training images"),
        channels=option_input(a1, C, "channels", "dg_channels", "select"),
        test_fraction=option_input(
            a2,
            C,
            "test_fraction",
            "dg_test",
            "slider",
            label="Held-out share (without a test file)",
            disabled=test_table is not None,
        ),
        seed=option_input(a3, C, "seed", "dg_seed"),
        article_recipe=option_input(a1, C, "article_recipe", "dg_recipe", "checkbox"),
    )

# ----------------------------------------------------------------------------- 3 · Train, 4 · Results
n_train = len(df) if test_df is not None else round(len(df) * (1 - config.test_fraction))
view.time_notice(n_train, config)
model, key, run_id = trained_run(
    "digits",
    table,
    dg.fit,
    columns,
    config,
    test_df=test_df,
    key_parts=(test_table.fingerprint if test_table is not None else "",),
)
view.results(
    model, key, run_id, f"{table.name}: {len(df):,} images" + (f"; tested on {test_table.name}" if test_table else "")
)
