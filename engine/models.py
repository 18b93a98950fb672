"""Torch modules shared by the scenarios.

Activations are nn.Module instances (one per layer, never in-place) so SHAP's
DeepExplainer can hook them and stays additive.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from torch import nn

from engine.seeding import RNG_LOCK, Dropout, rng_locked  # noqa: F401  (importable from here, as before)


class TabularMLP(nn.Module):
    """Linear → ReLU → Dropout blocks, then a linear head returning logits."""

    @rng_locked
    def __init__(self, n_in: int, n_out: int, hidden: Sequence[int] = (64, 32), dropout: float = 0.2):
        super().__init__()
        layers: list[nn.Module] = []
        width = n_in
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), Dropout(dropout)]
            width = h
        layers.append(nn.Linear(width, n_out))
        self.net = nn.Sequential(*layers)
        self.n_in, self.n_out, self.hidden, self.dropout = n_in, n_out, list(hidden), dropout

    def forward(self, x):
        return self.net(x)

    def spec(self) -> dict:
        """Plain parameters that rebuild this module (saved beside the weights)."""
        return {"n_in": self.n_in, "n_out": self.n_out, "hidden": self.hidden, "dropout": self.dropout}

    @classmethod
    def from_spec(cls, spec: dict) -> nn.Module:
        """The module a saved `spec()` describes: the TabM network of the yes/no pages (engine/tabnet.py) when the
        spec names its `arch`, else this MLP (files saved before it, the autoencoder, the digits MLP)."""
        if "arch" in spec:
            from engine.tabnet import TabularNetwork

            return TabularNetwork(**spec)
        return cls(**spec)


# The type of a Fitted field that holds a yes/no page's network: the TabM network (engine/tabnet.py) or, in files
# saved before it, a TabularMLP. To mypy it is any module; at run time it is TabularMLP, the class whose `from_spec`
# the model file reader (engine.scenario) calls to build either one back from its saved spec.
if TYPE_CHECKING:
    AnyTabularNet = nn.Module
else:
    AnyTabularNet = TabularMLP


def tabular_network(
    X_train, n_out: int, hidden: Sequence[int] = (64, 64), dropout: float = 0.1, **settings
) -> nn.Module:
    """The yes/no pages' network for these encoded training rows (engine/tabnet.py: TabM over embedded numbers).
    `hidden` gives its depth (one block per entry); its width and ensemble size follow the row count
    (engine.tabnet.default_size); `settings` override any of them."""
    from engine.tabnet import TabularNetwork

    return TabularNetwork.for_rows(X_train, n_out, dropout=dropout, **{"depth": len(hidden) or 1, **settings})
