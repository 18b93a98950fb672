"""Why a customer sits in a segment: SHAP of the soft assignment's pull towards one segment (exact, since
its logits are linear in the scaled features), and the top reasons in words for `score`. A mixin of
SegmentationModel."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np
import pandas as pd
from torch import nn

from engine.explain import Explanation, deep_explain

if TYPE_CHECKING:
    from engine.tabular import Preprocessor


class SegmentExplanations:
    """Needs from the model: customer_features, encode, assign, soft_model, background, preprocessor, features,
    names, k."""

    if TYPE_CHECKING:  # what this mixin reads of SegmentationModel (engine/segmentation/model.py)
        background: np.ndarray
        preprocessor: Preprocessor
        names: list[str]

        @property
        def k(self) -> int: ...

        @property
        def features(self) -> list[str]: ...

        def customer_features(self, df: pd.DataFrame) -> pd.DataFrame: ...

        def encode(self, features: pd.DataFrame) -> np.ndarray: ...

        def assign(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

        def soft_model(self) -> nn.Module: ...

    def reasons(self, df: pd.DataFrame, pred: pd.DataFrame, k: int) -> list[str]:
        """Each customer's top-k pulls towards their own segment, in words."""
        feats = self.customer_features(df)
        labels = pred["segment"].to_numpy() - 1
        out = [""] * len(feats)
        for j in np.unique(labels):
            rows = np.flatnonzero(labels == j)
            exp = self.explain_features(feats.iloc[rows], int(j))
            name = self.names[j]
            for i, r in enumerate(rows):
                out[r] = "; ".join(
                    exp.reasons(
                        i,
                        k,
                        f"pulls towards '{name}'",
                        f"pulls away from '{name}'",
                        names=getattr(self, "dictionary", None),
                    )
                )
        return out

    def segment_index(self, output: int | str | None, labels: np.ndarray) -> int:
        """`output` as a 0-based segment: a number, a segment name, or None for the segment most rows are in."""
        if output is None:
            return int(np.bincount(labels, minlength=self.k).argmax())
        if isinstance(output, str):
            if output not in self.names:
                raise ValueError(f"no segment is named {output!r}; the segments are {', '.join(self.names)}")
            return self.names.index(output)
        if not 0 <= int(output) < self.k:
            raise ValueError(f"segment {output} does not exist: segments are 0 to {self.k - 1}")
        return int(output)

    def explain(self, df: pd.DataFrame, output: int | str | None = None) -> Explanation:
        """SHAP of the soft assignment's pull towards one segment, per customer of `df`.

        `df` is data of the model's input shape, or a table of customers that holds the model's columns.
        `output` picks the segment (0-based number or name). Default: the segment most of the rows belong
        to — for one customer, their own. (One `Explanation` has one base value, and each segment's pull
        has its own, so rows of different segments cannot share one explanation; `score` explains each
        customer towards their own segment.) Values are exact: the explained logits are linear.
        """
        feats = self.customer_features(df)
        labels = self.assign(self.encode(feats))[0] if output is None else np.zeros(0, np.int64)
        return self.explain_features(feats, self.segment_index(output, labels))

    def membership_path(self, feats: pd.DataFrame, segment: int) -> Callable[[Sequence[str]], float]:
        """For one customer's feature row: a function giving its membership of `segment` (the soft assignment's
        probability, 0-1) when only the given columns have pushed it away from the average customer. Every segment's
        pull is exact and linear, so with all columns it is the customer's membership, with none the average's."""
        exps = [self.explain_features(feats.iloc[:1], i) for i in range(self.k)]
        base = np.array([e.base_value for e in exps])
        pulls = np.stack([e.values[0] for e in exps])  # segments x columns
        names = exps[0].feature_names

        def membership(columns: Sequence[str]) -> float:
            z = base + pulls[:, [names.index(c) for c in columns]].sum(axis=1)
            e = np.exp(z - z.max())
            return float(e[segment] / e.sum())

        return membership

    def explain_features(self, feats: pd.DataFrame, segment: int) -> Explanation:
        """SHAP of the pull towards `segment` (0-based) for customer feature rows (one per customer)."""
        return deep_explain(
            self.soft_model(),
            self.background,
            self.encode(feats),
            feats[self.features].reset_index(drop=True),
            self.preprocessor.group_matrix(),
            self.features,
            output_index=segment,
            output_name=f"pull towards '{self.names[segment]}'",
        )
