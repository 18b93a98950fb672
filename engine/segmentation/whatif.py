"""What-if for one customer: change their recency, frequency, spend (any feature) and see the segment they move to,
and why — the nearest centre in words, and the SHAP of the new segment's pull (exact: its logits are linear)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from engine.explain import Explanation
from engine.tabular import ColumnPlan


@dataclass
class SegmentMove:
    """Where a customer sits as recorded and with the analyst's changes."""

    names: list[str]
    before: int  # 0-based segment as recorded
    after: int  # 0-based segment with the changes
    proba_before: np.ndarray  # soft-assignment membership of each segment
    proba_after: np.ndarray
    distance_before: np.ndarray  # distance to each centre, in standard deviations of the scaled features
    distance_after: np.ndarray
    explanation: Explanation  # SHAP of the pull towards the segment after the changes

    @property
    def moved(self) -> bool:
        return self.after != self.before

    def sentence(self) -> str:
        """The answer in words: the segment the customer moves to (by name), and why in distances to the centres."""
        new, old = self.names[self.after], self.names[self.before]
        order = np.argsort(self.distance_after)
        runner = int(order[1]) if len(order) > 1 else None
        why = (
            f"its centre is {'now' if self.moved else 'still'} the nearest "
            f"({self.distance_after[self.after]:.2f} standard deviations away"
        )
        why += f"; next is '{self.names[runner]}' at {self.distance_after[runner]:.2f})" if runner is not None else ")"
        if self.moved:
            return (
                f"With your changes this customer moves from '{old}' to '{new}': {why}. As recorded they were "
                f"{self.distance_before[self.before]:.2f} from '{old}' and {self.distance_before[self.after]:.2f} "
                f"from '{new}'."
            )
        return f"With your changes this customer stays in '{old}': {why}."


def input_plans(model) -> list[ColumnPlan]:
    """The model's column plans in the analyst's units: log-scaled columns get their median and training range back
    on the original scale (the what-if inputs and their 'outside the data' badge read raw values)."""
    out = []
    for p in model.preprocessor.plans_:
        if p.kind == "numeric" and p.name in model.log_columns:
            p = dataclasses.replace(
                p,
                median=float(np.expm1(p.median)),
                codes=[],
                low=None if p.low is None else float(np.expm1(p.low)),
                high=None if p.high is None else float(np.expm1(p.high)),
            )
        out.append(p)
    return out


def _distances(model, X: np.ndarray) -> np.ndarray:
    d = X[:, None, :] - np.asarray(model.centers)[None, :, :]
    return np.sqrt((d * d).sum(axis=2))


def what_if(model, base: pd.Series, edited: pd.Series) -> SegmentMove:
    """One customer's features (a row holding the model's columns) as recorded and edited → a SegmentMove."""
    rows = pd.DataFrame([base[model.features], edited[model.features]], index=["recorded", "edited"])
    for c in model.features:  # a Series of mixed values arrives as objects; the model reads numbers as numbers
        converted = pd.to_numeric(rows[c], errors="coerce")
        if converted.notna().all():
            rows[c] = converted
    X = model.encode(rows)
    labels, proba = model.assign(X)
    dist = _distances(model, X)
    after = int(labels[1])
    exp = model.explain_features(rows.iloc[[1]], after)
    return SegmentMove(list(model.names), int(labels[0]), after, proba[0], proba[1], dist[0], dist[1], exp)


def centre_values(model, segment: int, features: Sequence[str] | None = None) -> pd.Series:
    """A segment's centre in the analyst's units (numeric columns only): the customer a what-if moves into it."""
    features = list(features or model.features)
    groups = model.preprocessor.groups
    out = {}
    for p in model.preprocessor.plans_:
        if p.kind != "numeric" or p.name not in features:
            continue
        v = float(model.centers[segment, groups[p.name][0]]) * p.std + p.mean
        out[p.name] = float(np.expm1(v)) if p.name in model.log_columns else v
    return pd.Series(out)
