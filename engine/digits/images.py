"""Reading digit images from a table: the 784 pixel columns, the labels, the cheap checks before training."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from engine.data import DataError
from engine.digits.spec import DIGITS, MIN_PER_CLASS, MIN_ROWS, N_PIXELS, PIXEL_NAME, DigitColumns


def _first_bad(mask: np.ndarray) -> tuple[int, int]:
    """(row, column) of the first True in a 2-D mask, row-major."""
    r, c = np.argwhere(mask)[0]
    return int(r), int(c)


def pixel_columns(
    df: pd.DataFrame, name: str = "your file", exclude: Sequence[str] = ()
) -> tuple[list[str], list[str]]:
    """The 784 pixel columns in pixel order, and notes. DataError when the layout does not fit."""
    named = {}
    for c in df.columns:
        m = PIXEL_NAME.match(str(c).strip())
        if m:
            named[int(m.group(1))] = c
    if named:
        if len(named) != N_PIXELS or set(named) != set(range(N_PIXELS)):
            missing = [i for i in range(N_PIXELS) if i not in named]
            extra = sorted(i for i in named if i >= N_PIXELS)
            if len(missing) == 1:
                detail = f" (pixel{missing[0]} is missing)"
            elif missing and missing[-1] - missing[0] == len(missing) - 1:
                detail = f" (pixel{missing[0]} to pixel{missing[-1]} are missing)"
            elif missing:
                more = f" and {len(missing) - 3:,} more" if len(missing) > 3 else ""
                detail = f" (missing: {', '.join(f'pixel{i}' for i in missing[:3])}{more})"
            else:
                detail = f" (pixel{extra[0]} is one too many)"
            raise DataError(
                f"'{name}' has {len(named):,} pixel columns{detail}. A digit image here is 28×28 = 784 pixels, in "
                "columns named pixel0 to pixel783 (the Kaggle 'Digit Recognizer' layout). Check that the file was not "
                "cut off or resized, and upload it again."
            )
        return [named[i] for i in range(N_PIXELS)], []
    others = [c for c in df.columns if c not in exclude]
    if len(others) == N_PIXELS:
        return others, [
            f"'{name}' has no pixel0…pixel783 header: its {N_PIXELS} columns besides the label were read as "
            "the pixels, left to right, row by row."
        ]
    raise DataError(
        f"'{name}' has no pixel columns: a digit image here is one row with 784 columns named pixel0 to pixel783 "
        f"(28×28 pixels, 0–255; the Kaggle 'Digit Recognizer' layout), but this file has {df.shape[1]:,} column(s) "
        f"({', '.join(map(str, list(df.columns)[:4]))}{'…' if df.shape[1] > 4 else ''}). Upload a file in that layout."
    )


def pixels_from_frame(
    df: pd.DataFrame, columns: Sequence[str], name: str = "your file"
) -> tuple[np.ndarray, list[str]]:
    """The pixel block as float32 0–255, checked: numbers only, nothing missing, within 0–255."""
    notes: list[str] = []
    block = df.loc[:, list(columns)]
    text_cols = [
        c for c in block.columns if not pd.api.types.is_numeric_dtype(block[c]) or pd.api.types.is_bool_dtype(block[c])
    ]
    for c in text_cols:
        as_num = pd.to_numeric(block[c], errors="coerce")
        bad = as_num.isna() & block[c].notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"Column '{c}' of '{name}' holds '{str(block[c].iloc[i])[:20]}' in data row {i + 1:,}, which is not a "
                "number. Pixels must be whole numbers from 0 (background) to 255 (ink); fix that cell and upload again."
            )
    X = (
        block.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float32, na_value=np.nan)
        if text_cols
        else block.to_numpy(dtype=np.float32, na_value=np.nan)
    )
    for mask, what, fix in (
        (np.isnan(X), "empty or non-numeric pixel cell(s)", "fill blanks with 0 (background), fix any text"),
        (np.isinf(X), "infinite pixel value(s)", "fix those cells"),
    ):
        if mask.any():
            r, c = _first_bad(mask)
            raise DataError(
                f"'{name}' has {int(mask.sum()):,} {what}, the first in column '{columns[c]}', data row {r + 1:,}. "
                f"Every pixel needs a number from 0 to 255: {fix}, and upload again."
            )
    bad = (X < 0) | (X > 255)
    if bad.any():
        r, c = _first_bad(bad)
        raise DataError(
            f"Pixel values must lie between 0 and 255, but column '{columns[c]}' of '{name}' holds {X[r, c]:g} in data "
            f"row {r + 1:,} ({int(bad.sum()):,} such cell(s) in all). Rescale the pixels to 0–255 and upload again."
        )
    if len(X) and X.max() <= 1.0 and np.any((X > 0) & (X < 1)):
        X = X * 255.0
        notes.append("The pixels of your file run from 0 to 1 rather than 0 to 255; they were multiplied by 255.")
    return X, notes


def labels_from_frame(
    df: pd.DataFrame, label: str, name: str = "your file"
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Digits 0–9 as int64 and the mask of rows that have one; DataError for anything else."""
    if label not in df.columns:
        looks_unlabelled = len(df.columns) == N_PIXELS
        raise DataError(
            f"'{name}' has no '{label}' column, so the models cannot learn which digit each image shows. "
            + (
                "It looks like unlabelled images (like Kaggle's test.csv): train on labelled images first, then "
                "predict these in 'Predict new images'."
                if looks_unlabelled
                else "Pick the column that holds the digit 0–9."
            )
        )
    s = df[label]
    num = pd.to_numeric(s, errors="coerce")
    text_bad = num.isna() & s.notna()
    if text_bad.any():
        i = int(np.flatnonzero(text_bad.to_numpy())[0])
        raise DataError(
            f"The label column '{label}' of '{name}' holds '{str(s.iloc[i])[:20]}' in data row {i + 1:,}; labels "
            "must be the digits 0 to 9. Fix that cell, or pick the column that holds the digit."
        )
    have = num.notna().to_numpy()
    values = num.to_numpy(dtype=float, na_value=np.nan)
    bad = have & ((values % 1 != 0) | (values < 0) | (values > 9))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"Labels must be the digits 0 to 9, but '{label}' holds {values[i]:g} in data row {i + 1:,} of '{name}' "
            f"({int(bad.sum()):,} such row(s)). Fix or remove those rows and upload again."
        )
    notes = []
    if not have.all():
        notes.append(f"Left out {int((~have).sum()):,} image(s) of '{name}' without a label.")
    y = np.where(have, values, -1).astype(np.int64)
    return y, have, notes


@dataclass
class Images:
    """Checked images of one table: pixels (n, 784) float32 0–255, labels 0–9 (or None), notes."""

    X: np.ndarray
    y: np.ndarray | None
    rows: np.ndarray  # positions in the analyst's table
    notes: list[str]

    @property
    def labels(self) -> np.ndarray:
        """The labels of images read with `labelled=True` (a bug to ask for them otherwise)."""
        if self.y is None:
            raise ValueError("these images were read without their labels")
        return self.y


def read_images(
    df: pd.DataFrame, columns: DigitColumns | None = None, name: str = "your file", labelled: bool = True
) -> Images:
    """Pixels (and labels, when `labelled`) of a table in the Kaggle layout, checked."""
    if len(df) == 0:
        raise DataError(f"'{name}' has no rows. Upload a file with one image per row.")
    label = (columns or DigitColumns()).label
    cols, notes = pixel_columns(df, name, exclude=(label,))
    X, more = pixels_from_frame(df, cols, name)
    notes += more
    rows = np.arange(len(df))
    y = None
    if labelled:
        y, have, more = labels_from_frame(df, label, name)
        notes += more
        X, y, rows = X[have], y[have], rows[have]
    return Images(X, y, rows, notes)


def _check_training_labels(y: np.ndarray, name: str) -> list[str]:
    counts = np.bincount(y, minlength=10)
    present = np.flatnonzero(counts)
    if len(present) == 0:
        raise DataError(
            f"No image in '{name}' has a label: the label column is empty. Fill in the digit (0–9) each image shows, "
            "or pick the column that holds it."
        )
    if len(present) < 2:
        raise DataError(
            f"Every labelled image in '{name}' shows the digit {present[0]}: the models need examples of at least two "
            "different digits (ideally all ten) to learn to tell them apart. Add images of other digits."
        )
    if len(y) < MIN_ROWS:
        raise DataError(
            f"'{name}' has only {len(y):,} labelled images; at least {MIN_ROWS} are needed to train and still hold "
            "some back to test honestly (thousands work far better). Add more images."
        )
    rare = [d for d in present if counts[d] < MIN_PER_CLASS]
    if rare:
        raise DataError(
            f"The digit {rare[0]} appears in only {counts[rare[0]]} image(s) of '{name}'; each digit present needs at "
            f"least {MIN_PER_CLASS} so some can be held out for testing. Add images of it, or remove those rows."
        )
    absent = [d for d in DIGITS if counts[d] == 0]
    if absent:
        return [
            f"'{name}' has no images of the digit(s) {', '.join(map(str, absent))}: the models can never predict them."
        ]
    return []


@dataclass
class Prepared:
    train: Images
    test: Images | None
    notes: list[str]


def prepare(
    df: pd.DataFrame,
    columns: DigitColumns,
    test_df: pd.DataFrame | None = None,
    name: str = "your file",
    test_name: str = "the test file",
) -> Prepared:
    """Check the training table (and an optional labelled test table) cheaply, before anything trains."""
    train = read_images(df, columns, name)
    notes = train.notes + _check_training_labels(train.labels, name)
    test = None
    if test_df is not None:
        test = read_images(test_df, columns, test_name)
        notes += test.notes
        if len(test.labels) == 0:
            raise DataError(f"'{test_name}' has no labelled images to test on.")
    return Prepared(train, test, notes)
