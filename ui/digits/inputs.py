"""Steps 1 and 2 of the digits page: the bundled sample files, the first images of the file as pictures, and how
long training will take (stated up front, before Train)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from engine import digits as dg
from engine.data import Table, load_table
from engine.training import trains_on_gpu
from ui.digits.images import image_strip
from ui.errors import guard

SAMPLE_DIR = Path(__file__).resolve().parent.parent.parent / "sample_data"


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
    where = (
        "on this machine's GPU it is usually much quicker"
        if trains_on_gpu()
        else "a network that stops improving finishes sooner"
    )
    st.info(
        f"Training the three models on {n_train:,} images takes {took} on a 2-core CPU (an estimate from images × "
        f"passes, measured once on this project's machine; {where}). Fewer passes in *Advanced training options* "
        "or the 500-image quick try are faster.",
        icon=":material/schedule:",
    )


@st.cache_data(show_spinner=False, max_entries=4)
def load_bundled(file_name: str) -> Table:
    """A bundled sample file (never an analyst's upload: shared by every session)."""
    return load_table(SAMPLE_DIR / file_name)


def preview_images(table: Table, label: str) -> None:
    """The first images of the file as pictures, so the analyst sees what the rows are."""
    with guard("showing your images", stop=False):
        imgs = dg.read_images(table.df.head(10), dg.DigitColumns(label), table.name, labelled=False)
        labels = table.df[label].head(10).tolist() if label in table.df.columns else [""] * len(imgs.X)
        st.caption("The first images of the file, as the models will see them (label underneath):")
        image_strip(imgs.X, [f"label {v}" for v in labels])
