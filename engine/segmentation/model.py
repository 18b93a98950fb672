"""The fitted segmentation (`SegmentationModel`, a `Fitted` of the scenario contract) and the soft
assignment it is explained through.

Why this segment: the *soft assignment* — softmax over negative squared distances to the segment
centres — is explained with SHAP through `engine.explain.deep_explain`. Because ‖x‖² is the same
for every segment it cancels in the softmax, so the soft assignment's logits are exactly linear
in the scaled features: an `nn.Linear` whose most likely segment *is* the k-means segment (100%
agreement by construction, checked in `fit`) and whose SHAP values are exact and additive.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from engine import artifacts
from engine.data import DataError, id_strings
from engine.models import rng_locked
from engine.scenario import Fitted, unpack
from engine.segmentation.clustering import nearest_centres
from engine.segmentation.explaining import SegmentExplanations
from engine.segmentation.legacy import upgrade_first_version
from engine.segmentation.prepare import customer_table, transactions_to_customers
from engine.segmentation.spec import ABOUT, CUSTOMERS, KIND, TRANSACTIONS, SegmentationColumns, SegmentationConfig
from engine.segmentation.views import CustomerViews
from engine.tabular import Preprocessor


class SoftAssignment(nn.Module):
    """Softmax over negative squared distances to the centres, as exact linear logits (centred).

    −‖x−c_j‖²/T = (2 c_j·x − ‖c_j‖²)/T − ‖x‖²/T; the last term is shared by every segment and cancels
    in the softmax, so the logits are linear in x. Centring them over segments changes no probability
    and makes each logit read as 'pull towards segment j compared with the average segment'.
    """

    @rng_locked
    def __init__(self, centers: torch.Tensor, temperature: float):
        super().__init__()
        k, d = centers.shape
        c = centers.detach().float().cpu()
        w = 2.0 * c / temperature
        b = -(c * c).sum(1) / temperature
        self.linear = nn.Linear(d, k)
        with torch.no_grad():
            self.linear.weight.copy_(w - w.mean(0, keepdim=True))
            self.linear.bias.copy_(b - b.mean())

    def forward(self, x):
        return self.linear(x)


def log_columns(features: pd.DataFrame) -> list[str]:
    """Skewed, non-negative numeric columns that go on a log scale (log1p)."""
    out = []
    for col in features.columns:
        s = features[col]
        if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            continue
        x = s.dropna().astype(float)
        if len(x) < 3 or x.min() < 0 or x.nunique() < 3:
            continue
        if x.max() <= 1.0:
            continue  # rates and shares stay as they are
        if float(x.skew()) > 1.0:
            out.append(str(col))
    return out


def apply_log(features: pd.DataFrame, log_cols: Sequence[str]) -> pd.DataFrame:
    if not log_cols:
        return features
    out = features.copy()
    for c in log_cols:
        out[c] = np.log1p(pd.to_numeric(out[c], errors="coerce").clip(lower=0))
    return out


@dataclass
class SegmentationModel(SegmentExplanations, CustomerViews, Fitted):
    """Segments found by torch k-means, their names and actions, and how to assign and explain customers.

    `names` is a decision setting: `decide(names=[...])` renames the segments, and the names travel
    with the model file, the report and every download. The k scan (inertia and silhouette for each
    number of segments tried) is `scan`; `history` holds no epochs (k-means has none).
    """

    KIND: ClassVar[str] = KIND
    TRANSIENT: ClassVar[tuple[str, ...]] = ("customers", "X", "baseline_labels")
    HEADLINE: ClassVar[str] = ABOUT.headline
    METRIC_LABELS: ClassVar[dict[str, str]] = {"silhouette": "silhouette"}

    columns: SegmentationColumns
    config: SegmentationConfig
    preprocessor: Preprocessor
    log_columns: list[str]
    centers: np.ndarray  # (k, encoded) in the scaled feature space
    temperature: float
    names: list[str]  # what the analyst calls each segment (decide(names=...))
    actions: list[str]
    background: np.ndarray  # encoded rows for SHAP (the mean customer: exact for linear logits)
    pca: dict[str, np.ndarray]  # mean (d,), components (2, d) of the scaled features
    pca_explained: list[float]  # share of the spread each of the two components shows
    scan: pd.DataFrame  # one row per k tried: k, inertia, silhouette (on a sample)
    profile_rows: pd.DataFrame  # "segment" column; first row all customers, then one per segment
    reference_date: str = ""
    # In memory only (not saved: no customer data in model files)
    customers: pd.DataFrame | None = None  # raw features + segment per customer of the fitted data
    X: np.ndarray | None = None  # encoded features of those customers
    baseline_labels: np.ndarray | None = None

    def __post_init__(self):
        self.centers = np.asarray(self.centers, dtype=np.float64)
        self.names = [str(n) for n in self.names]
        if len(self.names) != len(self.centers):
            raise ValueError(f"{len(self.centers)} segments need {len(self.centers)} names, not {len(self.names)}")
        if len(set(self.names)) != len(self.names):
            raise ValueError("segment names must differ from one another")

    @classmethod
    def from_bytes(cls, source: str | Path | bytes) -> SegmentationModel:
        """Read a model file (tensors and JSON only); files of the first version load too."""
        tensors, meta = artifacts.load_artifact(source, cls.KIND)
        try:
            upgrade_first_version(tensors, meta)
            return unpack(cls, tensors, meta)
        except DataError:
            raise
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError):
            raise DataError(
                "This segmentation model file is incomplete or damaged. Download it again from the page that made it."
            ) from None

    # -- basics ----------------------------------------------------------------------------
    @property
    def k(self) -> int:
        return len(self.centers)

    @property
    def features(self) -> list[str]:
        return self.preprocessor.features

    @property
    def suggested_k(self) -> int:
        return int(self.metrics["suggested_k"])

    @property
    def profile(self) -> pd.DataFrame:
        """Per segment (index: 'All customers', then today's names): size, shares, medians or main category."""
        prof = self.profile_rows.drop(columns="segment")
        prof.index = pd.Index(["All customers", *self.names], name="segment")
        return prof

    def soft_model(self) -> SoftAssignment:
        return SoftAssignment(torch.as_tensor(self.centers), self.temperature)

    # -- scoring ---------------------------------------------------------------------------
    def customer_features(self, df: pd.DataFrame) -> pd.DataFrame:
        """One row per customer from new data of the shape this model was trained on, or from a table that
        already holds the model's columns (one row per customer)."""
        if set(self.features) <= set(map(str, df.columns)) and (self.columns.shape == TRANSACTIONS or len(df) < 2):
            feats = df.copy()
            if self.columns.customer and self.columns.customer in df.columns:
                feats.index = pd.Index(id_strings(df[self.columns.customer]).astype(str).to_numpy(), name="customer")
            return feats[self.features]
        if self.columns.shape == TRANSACTIONS:
            return transactions_to_customers(df, self.columns, self.config.reference_date).features
        customer = self.columns.customer if self.columns.customer in df.columns else None
        return customer_table(df, SegmentationColumns(CUSTOMERS, customer, features=tuple(self.features))).features

    def encode(self, features: pd.DataFrame) -> np.ndarray:
        return self.preprocessor.transform(apply_log(features, self.log_columns))

    def assign(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Segment index and soft-assignment probabilities for encoded rows."""
        if len(X) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros((0, self.k))
        Xt = self.place(X, torch.float32)
        c = self.place(self.centers, torch.float32)
        labels, _ = nearest_centres(Xt, (Xt * Xt).sum(1), c)
        with torch.no_grad():
            proba = torch.softmax(self.place(self.soft_model())(Xt), dim=1)
        return labels.cpu().numpy(), proba.cpu().numpy().astype(np.float64)

    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        """Customer → segment number, name, membership (soft assignment) and the features used.

        One row per customer: for transactions that is one row per customer in the file, for a
        customer table one row per input row."""
        feats = self.customer_features(df)
        labels, proba = self.assign(self.encode(feats))
        return self.assignment_table(feats, labels, proba)

    def assignment_table(self, feats: pd.DataFrame, labels: np.ndarray, proba: np.ndarray) -> pd.DataFrame:
        out = pd.DataFrame(
            {
                "customer": feats.index.astype(str),
                "segment": labels + 1,
                "segment_name": [self.names[j] for j in labels],
                "membership": proba[np.arange(len(labels)), labels].round(4) if len(labels) else [],
            }
        )
        for col in self.features:
            out[col] = feats[col].to_numpy()
        return out

    def score(self, df: pd.DataFrame, reasons: int = 3) -> pd.DataFrame:
        """Predictions first, then the top reasons, then the analyst's columns where rows are customers.

        Transaction lines are summed up per customer, so their own columns are not repeated (the
        customer's features are already in the prediction)."""
        if self.columns.shape == CUSTOMERS or set(self.features) <= set(map(str, df.columns)):
            return super().score(df, reasons)
        pred = self.predict(df).reset_index(drop=True)
        if reasons:
            pred["top reasons"] = self.reasons(df, pred, reasons)
        return pred
