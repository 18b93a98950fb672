"""A drawing or a photo made into the 28×28 image MNIST models read, and the page's "nudge" of one image."""

from __future__ import annotations

import io

import numpy as np

from engine.data import DataError
from engine.digits.spec import MAX_IMAGE_PIXELS, N_PIXELS, SIDE


def read_image(raw: bytes, name: str = "your image") -> np.ndarray:
    """Decode a PNG/JPG/… upload into an array (H, W[, C]) uint8; DataError if it is not an image."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not raw:
        raise DataError(f"'{name}' is empty. Upload a PNG or JPG picture of one handwritten digit.")
    try:
        with Image.open(io.BytesIO(raw)) as opened:
            if opened.width * opened.height > MAX_IMAGE_PIXELS:
                raise DataError(
                    f"'{name}' is {opened.width:,}×{opened.height:,} pixels, too large. Crop it to the digit and upload again."
                )
            img = ImageOps.exif_transpose(opened)
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
        raise DataError(
            "That picture has an unusual layout (not grey, RGB or RGBA). Save it as PNG or JPG and try again."
        )
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
    patch = np.asarray(
        Image.fromarray((crop * 255).astype(np.uint8)).resize(size, Image.Resampling.LANCZOS), dtype=np.float32
    )
    patch = np.clip(patch, 0, 255)
    if patch.sum() <= 0:
        raise DataError(
            "The drawing is too faint to read: draw the digit with bolder strokes, or upload a clearer picture."
        )
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
    parts = {
        "the top third": (slice(0, third), slice(None)),
        "the middle third": (slice(third, 2 * third), slice(None)),
        "the bottom third": (slice(2 * third, None), slice(None)),
        "the left half": (slice(None), slice(0, SIDE // 2)),
        "the right half": (slice(None), slice(SIDE // 2, None)),
    }
    if erase in parts:
        x[parts[erase]] = 0.0
    return x.reshape(N_PIXELS)
