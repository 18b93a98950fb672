"""What the page shows about the customers a model was fitted on (kept in memory, never in the model
file): customer → segment, the 2-D map, each centre in standard deviations. A mixin of SegmentationModel."""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from engine.tabular import Preprocessor


class CustomerViews:
    """Needs from the model: customer_features, encode, assign, assignment_table, features, centers, pca, preprocessor, k,
    and the in-memory `customers` / `X`."""

    if TYPE_CHECKING:  # what this mixin reads of SegmentationModel (engine/segmentation/model.py)
        centers: np.ndarray
        pca: dict[str, np.ndarray]
        preprocessor: Preprocessor
        customers: pd.DataFrame | None
        X: np.ndarray | None

        @property
        def k(self) -> int: ...

        @property
        def features(self) -> list[str]: ...

        def customer_features(self, df: pd.DataFrame) -> pd.DataFrame: ...

        def encode(self, features: pd.DataFrame) -> np.ndarray: ...

        def assign(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

        def assignment_table(self, feats: pd.DataFrame, labels: np.ndarray, proba: np.ndarray) -> pd.DataFrame: ...

    def attach(self, df: pd.DataFrame) -> Self:
        """Rebuild the per-customer data (never stored in model files) from the data the model was fitted on.

        Each customer gets its nearest centre, which is its k-means segment; returns self.
        """
        feats = self.customer_features(df)
        self.X = self.encode(feats)
        labels, _ = self.assign(self.X)
        self.customers = feats[self.features].copy()
        self.customers["_segment"] = labels
        return self

    def customers_table(self) -> pd.DataFrame:
        """Customer → segment for the data the model was fitted on (empty after `load`)."""
        if self.customers is None or self.X is None:  # kept and dropped together (`attach`, TRANSIENT)
            return pd.DataFrame(columns=["customer", "segment", "segment_name", "membership", *self.features])
        feats = self.customers[self.features]
        labels = self.customers["_segment"].to_numpy()
        _, proba = self.assign(self.X)
        return self.assignment_table(feats, labels, proba)

    def map_2d(self, max_points: int = 5000, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Customers (a sample when large) and segment centres on the first two principal components."""
        if self.customers is None or self.X is None:
            raise ValueError("map_2d needs the fitted customers (not kept in a saved model)")
        mean, comp = np.asarray(self.pca["mean"]), np.asarray(self.pca["components"])
        n = len(self.X)
        idx = (
            np.arange(n)
            if n <= max_points
            else np.sort(np.random.default_rng(seed).choice(n, max_points, replace=False))
        )
        xy = (self.X[idx] - mean) @ comp.T
        pts = pd.DataFrame(
            {
                "pc1": xy[:, 0],
                "pc2": xy[:, 1],
                "segment": self.customers["_segment"].to_numpy()[idx],
                "customer": self.customers.index.to_numpy()[idx].astype(str),
            }
        )
        cxy = (self.centers - mean) @ comp.T
        centres = pd.DataFrame({"pc1": cxy[:, 0], "pc2": cxy[:, 1], "segment": np.arange(self.k)})
        return pts, centres

    def centre_z(self) -> pd.DataFrame:
        """Each segment's centre per numeric column, in standard deviations from the average customer."""
        plans = [p for p in self.preprocessor.plans_ if p.kind == "numeric"]
        groups = self.preprocessor.groups
        return pd.DataFrame({p.name: self.centers[:, groups[p.name][0]] for p in plans}, index=range(self.k))
