"""Digit images as pictures: one 28×28 image enlarged as ink on paper, and a captioned grid of them."""

from __future__ import annotations

import numpy as np
import streamlit as st

from engine import digits as dg


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
