"""Digit recognizer: handwritten digits (28×28 grey images) in the Kaggle "Digit Recognizer" layout.

Verbs shared by every scenario: `fit(df, columns, config, progress, cancel, test_df=None)`
returns a `DigitModel` with `metrics` (the CNN's), `baseline_metrics` (the classic
784-128-10 MLP and a logistic regression, on the same held-out images), `history`,
`predict`, `explain`, `save`; `load(path)` reads it back (weights and JSON only).

An image is one row `label,pixel0..pixel783`: 0 is background, 255 is ink, row-major
(`pixelK` is row K // 28, column K % 28). Both networks read the 784 pixels scaled to 0–1.
`prepare_image` turns a drawing or a photo into such a row the way MNIST was made:
grayscale, ink made bright, cropped to the ink, scaled into 20×20, centred by its centre
of mass in 28×28.
"""
from __future__ import annotations

import io
import math
import re
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar, Sequence

import numpy as np
import pandas as pd
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_recall_fscore_support
from sklearn.model_selection import train_test_split
from torch import nn

from engine import evaluate, options
from engine.data import DataError
from engine.options import option as _opt
from engine.options import validate
from engine.scenario import About, Decision, Fitted
from engine.device import get_device
from engine.explain import Explanation, deep_explain
from engine.models import TabularMLP, rng_locked
from engine.training import (Cancelled, History, Progress, ReportProgress, StopOnNonFinite, TimeLimit, TrainConfig, as_tensor,
                             fit_model, predict_batched, seed_everything)

KIND = "digits"
SIDE = 28
N_PIXELS = SIDE * SIDE
DIGITS = list(range(10))
PIXELS = [f"pixel{i}" for i in range(N_PIXELS)]
MODEL = "CNN"
MLP = "MLP (784-128-10)"
LOGREG = "Logistic regression"
BASELINES = (LOGREG, MLP)  # the first is the baseline every metric card is compared with
MODELS = (MODEL, MLP, LOGREG)
MIN_ROWS = 50
MIN_PER_CLASS = 5
MAX_ROWS = 100_000  # images per upload; a larger file is randomly sampled down
MAX_IMAGE_PIXELS = 40_000_000  # a photo larger than this is refused (decompression bombs)
_PIXEL_NAME = re.compile(r"^pixel(\d+)$", re.IGNORECASE)
_LABEL_WORDS = ("label", "digit", "class", "target", "y")
ABOUT = About(
    name=KIND, title="Digit recognizer", icon=":material/draw:", headline="accuracy", prefix="dg",
    purpose="Teach a network to read handwritten digits (MNIST or your own images): a CNN beside the classic MLP "
            "and a simple baseline, the digits it confuses, which pixels drove a reading — then draw a digit.",
    decision=Decision(lambda m: {"network": MLP}, lambda m, rows: m.predict(rows)),  # another reader
    data_parallel=True)


# ----------------------------------------------------------------------------- columns and options


@dataclass(frozen=True)
class DigitColumns:
    """Which column holds the digit (0–9). Pixels are pixel0..pixel783 (found automatically)."""

    label: str = "label"


def default_columns(df: pd.DataFrame) -> DigitColumns:
    lowered = {str(c).strip().lower(): c for c in df.columns}
    for word in _LABEL_WORDS:
        if word in lowered:
            return DigitColumns(label=str(lowered[word]))
    non_pixel = [c for c in df.columns if not _PIXEL_NAME.match(str(c))]
    return DigitColumns(label=str(non_pixel[0]) if non_pixel else "label")




@dataclass(frozen=True)
class DigitConfig:
    """Analyst-facing options; the defaults work on the MNIST sample."""

    cnn_epochs: int = _opt(15, "Most passes of the CNN over the training images (it stops earlier once it stops improving).",
                           min=1, max=200, label="Most CNN epochs")
    mlp_epochs: int = _opt(30, "Most passes of the MLP over the training images.", min=1, max=500, label="Most MLP epochs")
    augment: bool = _opt(True, "Also show the CNN a slightly shifted, turned and resized copy of every training image: "
                               "twice the training time, fewer mistakes (on the MNIST sample about half), and steadier on drawn digits.")
    channels: int = _opt(16, "Filters in the CNN's first layer (the second has twice as many): more is slower and can learn finer strokes.",
                         choices=(4, 8, 16, 32, 64, 128), label="CNN filters")
    batch_size: int = _opt(128, "Images per training step (smaller for small files, so every pass still makes about 50 steps).", min=16, max=4096)
    lr: float = _opt(2e-3, "Learning rate: the step size of training.", min=1e-5, max=0.1)
    weight_decay: float = options.weight_decay(1e-4)
    patience: int = _opt(4, "Passes without improvement before a network stops early.", min=1, max=100)
    test_fraction: float = _opt(0.2, "Share of your images held out to measure the models (used only without a separate test file).",
                                min=0.05, max=0.5, step=0.05, label="Held-out share")
    val_fraction: float = _opt(0.1, "Share of the training images used to decide when to stop.", min=0.05, max=0.4)
    article_recipe: bool = _opt(False, "Train the MLP exactly as the source article does: 784-128-10, plain Adam "
                                       "(learning rate 0.001, no weight decay), 10 epochs, batch 128, 10% of the training "
                                       "images for validation, no early stopping and no learning-rate schedule. "
                                       "The article reports about 98% on the full MNIST (60,000 training images).",
                                label="The article's recipe for the MLP")
    seed: int = options.seed()
    max_seconds: float = options.max_seconds(600.0)

    def __post_init__(self):
        validate(self)

    def train_config(self, epochs: int, n_train: int) -> TrainConfig:
        batch = min(self.batch_size, max(16, n_train // 50))
        return TrainConfig(
            max_epochs=epochs, batch_size=batch, lr=self.lr, weight_decay=self.weight_decay,
            patience=self.patience, lr_patience=max(1, self.patience // 2), seed=self.seed, max_seconds=self.max_seconds,
        )


# The source article's one concrete system: the MLP 784-128-10 with plain Adam, exactly these settings.
ARTICLE = dict(epochs=10, batch_size=128, lr=1e-3, val_fraction=0.1, reported_accuracy=0.98)


def article_training(config: DigitConfig, progress: Any = None) -> tuple[TrainConfig, list]:
    """The article's recipe as a loop: 10 epochs of plain Adam at batch 128, no early stopping (the last epoch's
    weights are kept), no schedule; only the non-finite guard, progress and the server's time limit remain."""
    loop = TrainConfig(max_epochs=ARTICLE["epochs"], batch_size=ARTICLE["batch_size"], lr=ARTICLE["lr"], weight_decay=0.0,
                       seed=config.seed, max_seconds=config.max_seconds)
    return loop, [StopOnNonFinite(), *([ReportProgress(progress)] if progress is not None else []), TimeLimit()]


# ----------------------------------------------------------------------------- networks


class DigitCNN(nn.Module):
    """A small LeNet-style CNN on flat 784-pixel rows: two 5×5 convolutions with max-pooling, then two dense layers.

    Activations are nn.ReLU modules (not in-place) so DeepExplainer can hook them.
    """

    @rng_locked
    def __init__(self, channels: int = 16, hidden: int = 128, dropout: float = 0.25, n_out: int = 10):
        super().__init__()
        c1, c2 = channels, 2 * channels
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),  # 28 → 14
            nn.Conv2d(c1, c2, 5), nn.ReLU(), nn.MaxPool2d(2),  # 14 → 10 → 5
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(c2 * 25, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, n_out))
        self.channels, self.hidden, self.dropout, self.n_out = channels, hidden, dropout, n_out

    def forward(self, x):
        return self.head(self.features(x.reshape(-1, 1, SIDE, SIDE)))

    def spec(self) -> dict:
        return {"channels": self.channels, "hidden": self.hidden, "dropout": self.dropout, "n_out": self.n_out}


def make_mlp() -> TabularMLP:
    """The classic 784-128-10 network (ReLU; softmax lives in the loss)."""
    return TabularMLP(N_PIXELS, 10, (128,), dropout=0.1)


# ----------------------------------------------------------------------------- reading images from a table


def _first_bad(mask: np.ndarray) -> tuple[int, int]:
    """(row, column) of the first True in a 2-D mask, row-major."""
    r, c = np.argwhere(mask)[0]
    return int(r), int(c)


def pixel_columns(df: pd.DataFrame, name: str = "your file", exclude: Sequence[str] = ()) -> tuple[list[str], list[str]]:
    """The 784 pixel columns in pixel order, and notes. DataError when the layout does not fit."""
    named = {}
    for c in df.columns:
        m = _PIXEL_NAME.match(str(c).strip())
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
        return others, [f"'{name}' has no pixel0…pixel783 header: its {N_PIXELS} columns besides the label were read as "
                        "the pixels, left to right, row by row."]
    raise DataError(
        f"'{name}' has no pixel columns: a digit image here is one row with 784 columns named pixel0 to pixel783 "
        f"(28×28 pixels, 0–255; the Kaggle 'Digit Recognizer' layout), but this file has {df.shape[1]:,} column(s) "
        f"({', '.join(map(str, list(df.columns)[:4]))}{'…' if df.shape[1] > 4 else ''}). Upload a file in that layout."
    )


def pixels_from_frame(df: pd.DataFrame, columns: Sequence[str], name: str = "your file") -> tuple[np.ndarray, list[str]]:
    """The pixel block as float32 0–255, checked: numbers only, nothing missing, within 0–255."""
    notes: list[str] = []
    block = df.loc[:, list(columns)]
    text_cols = [c for c in block.columns if not pd.api.types.is_numeric_dtype(block[c]) or pd.api.types.is_bool_dtype(block[c])]
    for c in text_cols:
        as_num = pd.to_numeric(block[c], errors="coerce")
        bad = as_num.isna() & block[c].notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"Column '{c}' of '{name}' holds '{str(block[c].iloc[i])[:20]}' in data row {i + 1:,}, which is not a "
                "number. Pixels must be whole numbers from 0 (background) to 255 (ink); fix that cell and upload again."
            )
    X = block.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float32, na_value=np.nan) if text_cols else block.to_numpy(dtype=np.float32, na_value=np.nan)
    for mask, what, fix in ((np.isnan(X), "empty or non-numeric pixel cell(s)", "fill blanks with 0 (background), fix any text"),
                            (np.isinf(X), "infinite pixel value(s)", "fix those cells")):
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


def labels_from_frame(df: pd.DataFrame, label: str, name: str = "your file") -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Digits 0–9 as int64 and the mask of rows that have one; DataError for anything else."""
    if label not in df.columns:
        looks_unlabelled = len(df.columns) == N_PIXELS
        raise DataError(
            f"'{name}' has no '{label}' column, so the models cannot learn which digit each image shows. "
            + ("It looks like unlabelled images (like Kaggle's test.csv): train on labelled images first, then "
               "predict these in 'Predict new images'." if looks_unlabelled else "Pick the column that holds the digit 0–9.")
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


def read_images(df: pd.DataFrame, columns: DigitColumns | None = None, name: str = "your file", labelled: bool = True) -> Images:
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
        return [f"'{name}' has no images of the digit(s) {', '.join(map(str, absent))}: the models can never predict them."]
    return []


@dataclass
class Prepared:
    train: Images
    test: Images | None
    notes: list[str]


def prepare(df: pd.DataFrame, columns: DigitColumns, test_df: pd.DataFrame | None = None,
            name: str = "your file", test_name: str = "the test file") -> Prepared:
    """Check the training table (and an optional labelled test table) cheaply, before anything trains."""
    train = read_images(df, columns, name)
    notes = train.notes + _check_training_labels(train.y, name)
    test = None
    if test_df is not None:
        test = read_images(test_df, columns, test_name)
        notes += test.notes
        if len(test.y) == 0:
            raise DataError(f"'{test_name}' has no labelled images to test on.")
    return Prepared(train, test, notes)


# ----------------------------------------------------------------------------- preparing a drawing or a photo


def read_image(raw: bytes, name: str = "your image") -> np.ndarray:
    """Decode a PNG/JPG/… upload into an array (H, W[, C]) uint8; DataError if it is not an image."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not raw:
        raise DataError(f"'{name}' is empty. Upload a PNG or JPG picture of one handwritten digit.")
    try:
        with Image.open(io.BytesIO(raw)) as img:
            if img.width * img.height > MAX_IMAGE_PIXELS:
                raise DataError(f"'{name}' is {img.width:,}×{img.height:,} pixels, too large. Crop it to the digit and upload again.")
            img = ImageOps.exif_transpose(img)
            img = img.convert("RGBA" if "A" in img.getbands() or img.mode == "P" else "RGB")
            return np.asarray(img).copy()
    except DataError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise DataError(
            f"'{name}' is not a picture we can read. Upload a PNG or JPG photo or scan of one handwritten digit."
        ) from None


def _ink(image: np.ndarray) -> np.ndarray:
    """Ink intensity 0–1 (1 = ink) of an image in any common layout, whichever way round its colours are."""
    a = np.asarray(image)
    if a.dtype == bool:
        a = a.astype(np.float32)
    a = a.astype(np.float32)
    scale = 255.0 if a.max(initial=0) > 1.0 else 1.0
    a = a / scale
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim == 3 and a.shape[2] in (3, 4):
        gray = a[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        if a.shape[2] == 4:  # transparent parts count as white paper
            alpha = a[..., 3]
            gray = alpha * gray + (1 - alpha)
    elif a.ndim == 2:
        gray = a
    else:
        raise DataError("That picture has an unusual layout (not grey, RGB or RGBA). Save it as PNG or JPG and try again.")
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    paper = float(np.median(border))
    ink = 1.0 - gray if paper > 0.5 else gray  # dark ink on light paper, or light ink on dark
    background = 1.0 - paper if paper > 0.5 else paper
    return np.clip((ink - background) / max(1.0 - background, 1e-3), 0.0, 1.0)


def prepare_image(image: np.ndarray, box: int = 20, threshold: float = 0.2) -> np.ndarray:
    """A drawing or photo → the 28×28 grey image (0–255, ink bright) a model trained on MNIST expects.

    Grayscale; inverted when the ink is darker than the paper; cropped to the ink; scaled
    (aspect kept) so its longer side is `box` pixels; placed in 28×28 so that its centre of
    mass sits in the middle, as MNIST's images were made. DataError for an empty drawing.
    """
    from PIL import Image

    ink = _ink(image)
    strong = ink >= threshold * max(float(ink.max(initial=0)), 1e-6)
    if ink.max(initial=0) < 0.15 or strong.sum() < 3:
        raise DataError("The drawing is empty: draw one digit (0–9) large in the box, or upload a picture of one.")
    rows, cols = np.flatnonzero(strong.any(axis=1)), np.flatnonzero(strong.any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    crop = np.where(crop >= threshold * 0.5 * crop.max(), crop, 0.0)  # drop faint paper texture around the ink
    h, w = crop.shape
    s = box / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    patch = np.asarray(Image.fromarray((crop * 255).astype(np.uint8)).resize(size, Image.LANCZOS), dtype=np.float32)
    patch = np.clip(patch, 0, 255)
    if patch.sum() <= 0:
        raise DataError("The drawing is too faint to read: draw the digit with bolder strokes, or upload a clearer picture.")
    ys, xs = np.mgrid[0 : patch.shape[0], 0 : patch.shape[1]]
    cy, cx = (patch * ys).sum() / patch.sum(), (patch * xs).sum() / patch.sum()
    top = int(np.clip(round(SIDE / 2 - cy), 0, SIDE - patch.shape[0]))
    left = int(np.clip(round(SIDE / 2 - cx), 0, SIDE - patch.shape[1]))
    out = np.zeros((SIDE, SIDE), dtype=np.float32)
    out[top : top + patch.shape[0], left : left + patch.shape[1]] = patch
    peak = out.max()
    return out * (255.0 / peak) if peak > 0 else out


# ----------------------------------------------------------------------------- augmentation


ERASE_PARTS = ("nothing", "the top third", "the middle third", "the bottom third", "the left half", "the right half")


def nudge(pixels: np.ndarray, thicker: int = 0, erase: str = "nothing") -> np.ndarray:
    """One 28×28 image (0–255, any shape of 784 values) with its strokes thickened (`thicker` > 0: grey-scale
    dilation, each step a pixel's brightest neighbour, up, down, left or right) or thinned (< 0: erosion, the darkest)
    and one part erased (ERASE_PARTS): the digits page's "nudge" of a misread digit, to see the reading change."""
    if erase not in ERASE_PARTS:
        raise ValueError(f"erase must be one of {', '.join(ERASE_PARTS)}, not {erase!r}")
    x = np.asarray(pixels, dtype=np.float32).reshape(SIDE, SIDE).copy()
    pick = np.maximum if thicker > 0 else np.minimum
    for _ in range(abs(int(thicker))):
        p = np.pad(x, 1, mode="constant", constant_values=0.0 if thicker > 0 else 255.0)
        x = pick.reduce([p[1:-1, 1:-1], p[:-2, 1:-1], p[2:, 1:-1], p[1:-1, :-2], p[1:-1, 2:]])
    third = SIDE // 3
    parts = {"the top third": (slice(0, third), slice(None)), "the middle third": (slice(third, 2 * third), slice(None)),
             "the bottom third": (slice(2 * third, None), slice(None)), "the left half": (slice(None), slice(0, SIDE // 2)),
             "the right half": (slice(None), slice(SIDE // 2, None))}
    if erase in parts:
        x[parts[erase]] = 0.0
    return x.reshape(N_PIXELS)


def augment(X: np.ndarray, copies: int = 1, seed: int = 0, max_degrees: float = 12.0,
            max_shift: float = 2.5, max_zoom: float = 0.1) -> np.ndarray:
    """Randomly turned (±12°), shifted (±2.5 px) and resized (±10%) copies of flat 28×28 images (0–1)."""
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(seed)
    x = torch.as_tensor(np.asarray(X, dtype=np.float32)).reshape(-1, 1, SIDE, SIDE)
    n, out = len(x), []
    for _ in range(copies):
        angle = (torch.rand(n, generator=g) * 2 - 1) * math.radians(max_degrees)
        zoom = 1 + (torch.rand(n, generator=g) * 2 - 1) * max_zoom
        shift = (torch.rand(n, 2, generator=g) * 2 - 1) * (max_shift / (SIDE / 2))
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        out.append(F.grid_sample(x, grid, align_corners=False, padding_mode="zeros").reshape(n, N_PIXELS).numpy())
    return np.concatenate(out) if out else np.empty((0, N_PIXELS), np.float32)


# ----------------------------------------------------------------------------- metrics


def summary_metrics(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    pred = proba.argmax(1)
    recall = [float((pred[y == d] == d).mean()) for d in DIGITS if (y == d).any()]
    p_true = proba[np.arange(len(y)), y]
    return {
        "accuracy": float((pred == y).mean()),
        "errors": int((pred != y).sum()),
        "macro_f1": float(f1_score(y, pred, labels=[d for d in DIGITS if (y == d).any()], average="macro", zero_division=0)),
        "worst_recall": min(recall) if recall else float("nan"),
        "log_loss": float(-np.mean(np.log(np.clip(p_true, 1e-12, 1.0)))),
    }


METRIC_HELP = {
    "accuracy": "Share of held-out images whose digit the model reads right; 1 is perfect, about 0.1 is guessing.",
    "errors": "Held-out images the model reads wrong (the gallery below shows them).",
    "macro_f1": "F1 averaged over the ten digits: every digit counts the same, however common; 1 is perfect.",
    "worst_recall": "Recall of the digit the model finds hardest: the share of that digit's images it reads right.",
    "log_loss": "Log loss: how surprised the model is by the true digits; lower is better, 0 is perfect.",
}


# ----------------------------------------------------------------------------- the fitted model


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass
class DigitModel(Fitted):
    KIND: ClassVar[str] = KIND
    HEADLINE: ClassVar[str] = ABOUT.headline
    METRIC_LABELS: ClassVar[dict[str, str]] = {"accuracy": "accuracy"}
    LEGACY_FIELDS: ClassVar[dict[str, str]] = {"seconds": "timings"}  # files of the first version
    REASONS: ClassVar[bool] = False  # a pixel is no reason an analyst reads: the page shows pixel maps instead

    columns: DigitColumns
    config: DigitConfig
    cnn: DigitCNN
    mlp: TabularMLP
    logreg: dict[str, np.ndarray]  # "coef" (10, 784) and "intercept" (10,) on pixels / 255
    background: np.ndarray  # (k, 784) 0–1: training images SHAP compares against
    histories: dict[str, History]
    test: dict[str, np.ndarray]  # "y", "X" (uint8 pixels), "row", and per-model probabilities
    network: str = MODEL  # decision: which model reads the images (predict, explain)

    def __post_init__(self):
        if not self.history.epochs and MODEL in self.histories:
            self.history = self.histories[MODEL]
        if self.network not in MODELS:
            raise ValueError(f"network must be one of {MODELS}")

    @property
    def test_source(self) -> str:
        return "the separate test file" if self.n_rows.get("separate_test") else "held-out rows of your file"

    # -- scoring --------------------------------------------------------------------
    def _net(self, model: str) -> nn.Module:
        return {MODEL: self.cnn, MLP: self.mlp}[model]

    def proba(self, X: np.ndarray, model: str | None = None) -> np.ndarray:
        """Probabilities (n, 10) of each digit for pixel rows X (n, 784) in 0–255 (default: the chosen network)."""
        model = model or self.network
        x = np.asarray(X, dtype=np.float32).reshape(-1, N_PIXELS) / 255.0
        if model == LOGREG:
            return _softmax(x @ self.logreg["coef"].T + self.logreg["intercept"])
        net = self._net(model)
        logits = predict_batched(net, as_tensor(x, next(net.parameters()).device, torch.float32))
        return torch.softmax(logits.float().cpu(), dim=1).numpy()

    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        """Predicted digit for every image row: ImageId (1-based), Label, confidence and the ten probabilities."""
        imgs = read_images(df, self.columns, "your file", labelled=False)
        p = self.proba(imgs.X)
        out = pd.DataFrame({"ImageId": np.arange(1, len(p) + 1), "Label": p.argmax(1), "confidence": p.max(1).round(4)})
        for d in DIGITS:
            out[f"P({d})"] = p[:, d].round(4)
        return out

    def score(self, df: pd.DataFrame, reasons: int = 3) -> pd.DataFrame:
        """The predictions alone: the 784 pixel columns are not worth repeating in a download."""
        return self.predict(df)

    def submission(self, df: pd.DataFrame) -> pd.DataFrame:
        """The Kaggle submission layout: ImageId,Label."""
        return self.predict(df)[["ImageId", "Label"]]

    def predict_image(self, pixels28: np.ndarray) -> dict[str, np.ndarray]:
        """Probabilities of the ten digits for one 28×28 image (0–255), per model."""
        x = np.asarray(pixels28, dtype=np.float32).reshape(1, N_PIXELS)
        return {m: self.proba(x, m)[0] for m in MODELS}

    def explain(self, df: pd.DataFrame | np.ndarray, output: int | None = None) -> Explanation:
        """Pixel SHAP (DeepExplainer) of the chosen network's score for digit `output` (default: the first
        image's predicted digit). `df`: image rows (pixel columns) or an array (n, 784) of 0–255 pixels.

        `values` (n, 784) per pixel in logits, `base_value` the average score of that digit over the background
        images. Orange pixels push towards the digit, blue away from it.
        """
        X = read_images(df, self.columns, labelled=False).X if isinstance(df, pd.DataFrame) else df
        x = np.asarray(X, dtype=np.float32).reshape(-1, N_PIXELS)
        model = self.network if self.network != LOGREG else MODEL
        digit = int(self.proba(x[:1], model).argmax(1)[0]) if output is None else int(output)
        rows = pd.DataFrame(x, columns=PIXELS)
        return deep_explain(
            self._net(model), self.background, x / 255.0, rows, np.eye(N_PIXELS), PIXELS,
            output_index=digit, output_name=f"the {model}'s score for digit {digit}",
        )

    def explain_per_digit(self, per_digit: int = 10, by: str = "predicted") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pixel SHAP of the first `per_digit` test images of each digit, each for the score of its own digit (`by`:
        the digit the chosen network reads, "predicted", or the "true" label). Returns the attributions (n, 784), the
        digit of each row and the test positions explained; `mean_abs_attribution` turns them into the global view."""
        model = self.network if self.network != LOGREG else MODEL
        if by not in ("predicted", "true"):
            raise ValueError(f"by must be 'predicted' or 'true', not {by!r}")
        of = self.test_predictions(model) if by == "predicted" else np.asarray(self.test["y"])
        values, digits, where = [], [], []
        for d in DIGITS:
            idx = np.flatnonzero(of == d)[:per_digit]
            if len(idx):  # one explainer call per digit: its images share the output explained
                values.append(self.explain(self.test["X"][idx], output=d).values)
                digits.append(np.full(len(idx), d))
                where.append(idx)
        return np.vstack(values), np.concatenate(digits), np.concatenate(where)

    # -- what the page reads -----------------------------------------------------------
    def test_predictions(self, model: str = MODEL) -> np.ndarray:
        return self.test[model].argmax(1)

    def confusion(self, model: str = MODEL) -> np.ndarray:
        """10×10 counts: rows the true digit, columns the predicted one."""
        m = np.zeros((10, 10), dtype=np.int64)
        np.add.at(m, (self.test["y"], self.test_predictions(model)), 1)
        return m

    def per_class(self, model: str = MODEL) -> pd.DataFrame:
        p, r, f, s = precision_recall_fscore_support(self.test["y"], self.test_predictions(model), labels=DIGITS, zero_division=0)
        return pd.DataFrame({"digit": DIGITS, "precision": p, "recall": r, "F1": f, "images": s.astype(int)})

    def misclassified(self, model: str = MODEL) -> pd.DataFrame:
        """Held-out images the model got wrong, the most confident mistakes first."""
        y, p = self.test["y"], self.test[model]
        pred = p.argmax(1)
        wrong = np.flatnonzero(pred != y)
        frame = pd.DataFrame({"index": wrong, "true": y[wrong], "predicted": pred[wrong], "confidence": p[wrong, pred[wrong]],
                              "row": self.test["row"][wrong]})
        return frame.sort_values("confidence", ascending=False).reset_index(drop=True)

    def test_image(self, i: int) -> np.ndarray:
        return self.test["X"][i].reshape(SIDE, SIDE).astype(np.float32)



load = DigitModel.from_bytes


def mean_abs_attribution(values: np.ndarray, digits: np.ndarray) -> np.ndarray:
    """(10, 784): per digit, each pixel's mean |attribution| over the explained images of that digit — where the
    network looks to decide on the digit, whether the pixel spoke for it or against it. NaN for a digit with no image."""
    values = np.abs(np.asarray(values, dtype=np.float64)).reshape(len(values), N_PIXELS)
    digits = np.asarray(digits)
    out = np.full((len(DIGITS), N_PIXELS), np.nan)
    for d in DIGITS:
        if (digits == d).any():
            out[d] = values[digits == d].mean(axis=0)
    return out


# ----------------------------------------------------------------------------- fit


def _split(y: np.ndarray, fraction: float, seed: int, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split of positions `idx`; the held-out part has at least one image per digit present."""
    k = len(np.unique(y[idx]))
    n_out = min(max(int(round(fraction * len(idx))), k), len(idx) - k)
    return train_test_split(idx, test_size=n_out, stratify=y[idx], random_state=seed)


def fit(
    df: pd.DataFrame,
    columns: DigitColumns = DigitColumns(),
    config: DigitConfig = DigitConfig(),
    progress=None,
    cancel=None,
    test_df: pd.DataFrame | None = None,
) -> DigitModel:
    """Train the logistic regression, the MLP and the CNN on one split and measure all three on the same test images.

    With `test_df` (labelled, same layout) the models are measured on it and all of `df` trains;
    otherwise `config.test_fraction` of `df` is held out (stratified by digit).
    """
    prep = prepare(df, columns, test_df)
    seed_everything(config.seed)
    X, y = prep.train.X / 255.0, prep.train.y
    idx = np.arange(len(y))
    if prep.test is not None:
        trainval, Xt, yt, test_rows = idx, prep.test.X, prep.test.y, prep.test.rows
    else:
        trainval, test = _split(y, config.test_fraction, config.seed, idx)
        Xt, yt, test_rows = prep.train.X[test], y[test], prep.train.rows[test]
    train, val = _split(y, ARTICLE["val_fraction"] if config.article_recipe else config.val_fraction, config.seed, trainval)
    seconds: dict[str, float] = {}  # the model's `timings`
    ce = nn.CrossEntropyLoss()
    mlp_epochs = ARTICLE["epochs"] if config.article_recipe else config.mlp_epochs
    total = mlp_epochs + config.cnn_epochs
    mlp = make_mlp()
    steps = Progress(progress)
    if config.article_recipe:
        loop, hooks = article_training(config, steps.stage(MLP, 0, total))
        mlp_history = fit_model(mlp, (X[train], y[train]), (X[val], y[val]), ce, loop, callbacks=hooks, cancel=cancel)
    else:
        mlp_history = fit_model(mlp, (X[train], y[train]), (X[val], y[val]), ce, config.train_config(config.mlp_epochs, len(train)),
                                progress=steps.stage(MLP, 0, total), cancel=cancel)
    seconds[MLP] = mlp_history.seconds

    Xc, yc = X[train], y[train]
    if config.augment:
        Xc = np.concatenate([Xc, augment(Xc, 1, config.seed)])
        yc = np.concatenate([yc, yc])
    cnn = DigitCNN(config.channels)
    offset = len(mlp_history.epochs)
    cnn_history = fit_model(cnn, (Xc, yc), (X[val], y[val]), ce, config.train_config(config.cnn_epochs, len(train)),
                            progress=steps.stage(MODEL, offset, offset + config.cnn_epochs), cancel=cancel)
    seconds[MODEL] = cnn_history.seconds

    # the baseline last: the networks report progress at once, the page never waits silently
    if cancel is not None and cancel.is_set():
        raise Cancelled()
    with warnings.catch_warnings():  # 200 iterations are enough for a baseline; no convergence chatter in the log
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted, took = evaluate.timed({LOGREG: lambda: LogisticRegression(C=0.1, max_iter=200).fit(X[trainval], y[trainval])})
    lr = fitted[LOGREG]
    coef = np.zeros((10, N_PIXELS), np.float32)
    intercept = np.full(10, -1e4, np.float32)  # a digit absent from training is never predicted
    if len(lr.classes_) == 2:  # sklearn keeps one weight vector for two classes
        coef[lr.classes_] = np.stack([-lr.coef_[0], lr.coef_[0]]) / 2
        intercept[lr.classes_] = np.array([-lr.intercept_[0], lr.intercept_[0]]) / 2
    else:
        coef[lr.classes_], intercept[lr.classes_] = lr.coef_, lr.intercept_
    seconds.update(took)

    model = DigitModel(
        columns=columns, config=config, cnn=cnn, mlp=mlp, logreg={"coef": coef, "intercept": intercept},
        background=np.empty((0, N_PIXELS), np.float32), histories={MLP: mlp_history, MODEL: cnn_history},
        history=cnn_history, test={}, notes=prep.notes, timings=seconds,
        n_rows={"train": len(train), "validation": len(val), "test": len(yt), "separate_test": int(prep.test is not None),
                "augmented": len(Xc) - len(train)},
    )
    probs = {m: model.proba(Xt, m) for m in MODELS}
    model.test = {"y": yt, "X": np.clip(np.rint(Xt), 0, 255).astype(np.uint8), "row": test_rows, **probs}
    model.metrics = summary_metrics(yt, probs[MODEL])
    model.baseline_metrics = {m: summary_metrics(yt, probs[m]) for m in BASELINES}
    model.background = evaluate.background_sample(X, train, config.seed).astype(np.float32)
    if config.augment:
        model.notes = model.notes + [f"The CNN also trained on {len(Xc) - len(train):,} shifted, turned and resized copies of the training images."]
    if config.article_recipe:
        model.notes = model.notes + [article_note(model)]
    return model


def article_note(model: "DigitModel") -> str:
    """One sentence: what the article's recipe reached here, beside the CNN and the article's own figure."""
    acc, cnn = model.baseline_metrics[MLP]["accuracy"], model.metrics["accuracy"]
    return (f"The article's recipe (MLP 784-128-10, plain Adam, {ARTICLE['epochs']} epochs, batch {ARTICLE['batch_size']}, "
            f"10% validation, no early stopping) reached {acc:.1%} on these {len(model.test['y']):,} held-out images, "
            f"beside the CNN's {cnn:.1%}. The article reports about {ARTICLE['reported_accuracy']:.0%} on the full MNIST, "
            f"which trains on 60,000 images; this run trained on {model.n_rows['train']:,}.")


# The contract's names (engine/scenario.py).
Columns, Config, Model = DigitColumns, DigitConfig, DigitModel
SAMPLE = "mnist_train_500.csv"
QUICK = DigitConfig(cnn_epochs=2, mlp_epochs=3, augment=False)
