"""What keeps parallel jobs deterministic: one lock around the global torch RNG and a dropout with its own generator.

Shared by every network module (engine.models, engine.tabnet, the scenario networks) and the training loop.
"""

from __future__ import annotations

import functools
import threading

import torch
from torch import nn

# The global torch RNG is shared by every thread. Building a layer draws from it, so a model built in
# one thread (a page loading a model, another job starting) would shift the weights another job is
# initialising from its seed. Seeding + initialisation (engine.training) and every constructor of our
# modules hold this lock, so parallel jobs stay deterministic.
RNG_LOCK = threading.RLock()


def rng_locked(init):
    """Decorate a module's __init__ so its layers draw their initial weights under RNG_LOCK."""

    @functools.wraps(init)
    def locked(self, *args, **kwargs):
        with RNG_LOCK:
            init(self, *args, **kwargs)

    return locked


class Dropout(nn.Dropout):
    """nn.Dropout that draws its mask from `generator` when one is set.

    `engine.training.fit_model` swaps plain nn.Dropout layers for this one and gives them a
    generator seeded for the run, so two models training in parallel threads stay
    deterministic (the global torch RNG is shared by every thread). The class keeps the
    name "Dropout", so SHAP's explainers treat it like nn.Dropout (identity in eval mode).
    """

    generator: torch.Generator | None = None

    def forward(self, x):
        if not self.training or self.p == 0.0 or self.generator is None:
            return super().forward(x)
        keep = 1.0 - self.p
        mask = torch.empty_like(x).bernoulli_(keep, generator=self.generator)
        return x * mask / keep
