"""SHAP for every scenario, returned in one `Explanation` shape on the analyst's columns.

Torch models are explained with DeepExplainer on a sampled background (fast and additive
for models built from nn.Module activations); encoded columns (one-hot levels) are summed
back to the column the analyst knows. shap is imported lazily: the engine trains without it.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn


@dataclass
class Explanation:
    """values[i, j]: how much column j moved row i's output away from base_value."""

    values: np.ndarray  # (rows, columns), in the output's units (logits for classifiers)
    base_value: float
    data: pd.DataFrame  # the explained rows, analyst columns, original values
    feature_names: list[str]
    output_name: str
    link: str = "identity"  # "logit": the output is the log-odds of a probability (sigmoid), shown in % to analysts

    def __post_init__(self):
        self.values = np.asarray(self.values, dtype=np.float64)
        if self.values.shape != (len(self.data), len(self.feature_names)):
            raise ValueError(
                f"values {self.values.shape} do not match {len(self.data)} rows x {len(self.feature_names)} columns"
            )

    @property
    def outputs(self) -> np.ndarray:
        """base + sum of contributions: the model output each row is explained down to."""
        return self.base_value + self.values.sum(axis=1)

    def importance(self) -> pd.Series:
        """Mean |SHAP| per column, largest first (global importance)."""
        return pd.Series(np.abs(self.values).mean(axis=0), index=self.feature_names).sort_values(ascending=False)

    def row(self, i: int) -> pd.DataFrame:
        """One row's contributions with the row's values, largest effect first."""
        frame = pd.DataFrame(
            {
                "column": self.feature_names,
                "value": [self.data.iloc[i][c] for c in self.feature_names],
                "contribution": self.values[i],
            }
        )
        return frame.reindex(frame["contribution"].abs().sort_values(ascending=False).index).reset_index(drop=True)

    def reasons(
        self, i: int, k: int = 3, up: str = "pushes it up", down: str = "pushes it down", names: Any = None
    ) -> list[str]:
        """The top-k contributions of row i, in words ("ca = 3 raises risk"); with `names` (an
        engine.dictionary.Dictionary) in the analyst's words ("chest pain type (cp): 4 = asymptomatic raises risk")."""
        out = []
        for _, r in self.row(i).head(k).iterrows():
            verb = up if r["contribution"] > 0 else down
            c, v = r["column"], r["value"]
            if names and (names.label(c) != c or names.value_label(c, v) != format_value(v)):
                out.append(f"{names.label(c)}: {names.value_label(c, v)} {verb}")
            else:
                out.append(f"{c} = {format_value(v)} {verb}")
        return out

    def subset(self, idx: Sequence[int]) -> Explanation:
        idx = list(idx)
        return Explanation(
            self.values[idx], self.base_value, self.data.iloc[idx], self.feature_names, self.output_name, self.link
        )


@dataclass
class TokenExplanation(Explanation):
    """An Explanation of free text: besides rows x columns (`values`), each row's tokens with their part of the
    output (`tokens[i]`: a frame of token, start, end, contribution; start/end are character positions in the
    row's text). A row's token contributions add up to its text column's value; base + all values = the output.
    `toward[i]` / `against[i]`: what the output compares for row i (e.g. the chosen intent and the runner-up)."""

    tokens: list[pd.DataFrame] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    toward: list[str] = field(default_factory=list)
    against: list[str] = field(default_factory=list)

    def words(self, i: int, k: int | None = None, sign: int = 0) -> pd.DataFrame:
        """Row i's tokens, largest effect first (sign > 0: only those pushing toward, < 0: only those against)."""
        t = self.tokens[i]
        if sign:
            t = t[np.sign(t["contribution"]) == np.sign(sign)]
        t = t.reindex(t["contribution"].abs().sort_values(ascending=False, kind="stable").index)
        return (t.head(k) if k else t).reset_index(drop=True)

    def subset(self, idx: Sequence[int]) -> TokenExplanation:
        idx = list(idx)
        return TokenExplanation(
            self.values[idx],
            self.base_value,
            self.data.iloc[idx],
            self.feature_names,
            self.output_name,
            self.link,
            [self.tokens[i] for i in idx],
            [self.texts[i] for i in idx],
            [self.toward[i] for i in idx],
            [self.against[i] for i in idx],
        )


def format_value(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "missing"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        return f"{v:,.0f}" if abs(float(v)) >= 1000 else f"{v:.3g}"
    return str(v)


class _Output(nn.Module):
    """Selects one output column so the explainer sees a single logit."""

    def __init__(self, model: nn.Module, index: int):
        super().__init__()
        self.model, self.index = model, index

    def forward(self, x):
        return self.model(x)[:, self.index : self.index + 1]


def deep_explain(
    model: nn.Module,
    background: np.ndarray | torch.Tensor,
    X: np.ndarray | torch.Tensor,
    rows: pd.DataFrame,
    group_matrix: np.ndarray,
    feature_names: list[str],
    output_index: int = 0,
    output_name: str = "the output",
    link: str = "identity",
) -> Explanation:
    """DeepExplainer SHAP of model output `output_index` for encoded rows X.

    `group_matrix` (encoded x analyst columns, 0/1) sums encoded contributions back to
    the analyst's columns. Runs on a CPU copy of the model (explanations are small; the
    GPU image need not carry shap's dependencies to train).
    """
    import shap  # lazy: heavy, and not needed to train

    explained = getattr(model, "explained", None)
    if explained is not None:  # a network that embeds its inputs (engine/tabnet.py): its body, on embedded rows
        model, background, X, group_matrix = explained(background, X, group_matrix)
    cpu_model = _Output(copy.deepcopy(model).float().cpu().eval(), output_index).eval()
    bg = torch.as_tensor(np.asarray(background, dtype=np.float32))
    x = torch.as_tensor(np.asarray(X, dtype=np.float32))
    with (
        warnings.catch_warnings()
    ):  # modules shap does not list (the ensemble's linear ones) take plain gradients: exact
        warnings.filterwarnings("ignore", message="unrecognized nn.Module")
        explainer = shap.DeepExplainer(cpu_model, bg)
        raw = np.asarray(explainer.shap_values(x, check_additivity=False), dtype=np.float64)
    raw = raw.reshape(len(x), -1)  # (n, encoded) — one output selected
    base = float(np.asarray(explainer.expected_value, dtype=np.float64).reshape(-1)[0])
    values = raw @ group_matrix
    return Explanation(values, base, rows.reset_index(drop=True), list(feature_names), output_name, link)
