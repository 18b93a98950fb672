"""The digit recognizer's networks: a small LeNet-style CNN and the classic 784-128-10 MLP."""

from __future__ import annotations

import torch
from torch import nn

from engine.digits.spec import N_PIXELS, SIDE
from engine.models import TabularMLP, rng_locked


class DigitCNN(nn.Module):
    """A small LeNet-style CNN on flat 784-pixel rows: two 5×5 convolutions with max-pooling, then two dense layers.

    Activations are nn.ReLU modules (not in-place) so DeepExplainer can hook them.
    """

    @rng_locked
    def __init__(self, channels: int = 16, hidden: int = 128, dropout: float = 0.25, n_out: int = 10):
        super().__init__()
        c1, c2 = channels, 2 * channels
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 28 → 14
            nn.Conv2d(c1, c2, 5),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 14 → 10 → 5
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(c2 * 25, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, n_out)
        )
        self.channels, self.hidden, self.dropout, self.n_out = channels, hidden, dropout, n_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x.reshape(-1, 1, SIDE, SIDE)))

    def spec(self) -> dict:
        return {"channels": self.channels, "hidden": self.hidden, "dropout": self.dropout, "n_out": self.n_out}


def make_mlp() -> TabularMLP:
    """The classic 784-128-10 network (ReLU; softmax lives in the loss)."""
    return TabularMLP(N_PIXELS, 10, (128,), dropout=0.1)
