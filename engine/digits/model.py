"""The fitted digit recognizer: the CNN, the MLP and the logistic regression, their held-out results and SHAP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import f1_score, precision_recall_fscore_support
from torch import nn

from engine.digits.images import read_images
from engine.digits.networks import DigitCNN
from engine.digits.spec import (
    DIGITS,
    KIND,
    LOGREG,
    MLP,
    MODEL,
    MODELS,
    N_PIXELS,
    PIXELS,
    SIDE,
    DigitColumns,
    DigitConfig,
)
from engine.explain import Explanation, deep_explain
from engine.models import TabularMLP
from engine.scenario import Fitted
from engine.training import History, predict_batched


def summary_metrics(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    pred = proba.argmax(1)
    recall = [float((pred[y == d] == d).mean()) for d in DIGITS if (y == d).any()]
    p_true = proba[np.arange(len(y)), y]
    return {
        "accuracy": float((pred == y).mean()),
        "errors": int((pred != y).sum()),
        "macro_f1": float(
            f1_score(y, pred, labels=[d for d in DIGITS if (y == d).any()], average="macro", zero_division=0)
        ),
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
    HEADLINE: ClassVar[str] = "accuracy"
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
        logits = predict_batched(net, x)
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
            self._net(model),
            self.background,
            x / 255.0,
            rows,
            np.eye(N_PIXELS),
            PIXELS,
            output_index=digit,
            output_name=f"the {model}'s score for digit {digit}",
        )

    def explain_per_digit(
        self, per_digit: int = 10, by: str = "predicted"
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
        p, r, f, s = precision_recall_fscore_support(
            self.test["y"], self.test_predictions(model), labels=DIGITS, zero_division=0
        )
        return pd.DataFrame({"digit": DIGITS, "precision": p, "recall": r, "F1": f, "images": s.astype(int)})

    def misclassified(self, model: str = MODEL) -> pd.DataFrame:
        """Held-out images the model got wrong, the most confident mistakes first."""
        y, p = self.test["y"], self.test[model]
        pred = p.argmax(1)
        wrong = np.flatnonzero(pred != y)
        frame = pd.DataFrame(
            {
                "index": wrong,
                "true": y[wrong],
                "predicted": pred[wrong],
                "confidence": p[wrong, pred[wrong]],
                "row": self.test["row"][wrong],
            }
        )
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
