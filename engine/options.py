"""Analyst-facing options as self-describing dataclass fields (pytorch-tabular style).

`option(default, "help in plain words", min=..., max=..., step=..., choices=..., label=...)` declares a
field. The same metadata drives validation (`validate`, called from a config's `__post_init__`) and the
widgets (`ui.options`), so a limit is written once.
"""

from __future__ import annotations

from dataclasses import field, fields
from typing import Any


def option(default: Any, help: str, **kw: Any):
    """A dataclass field with a default and metadata {"help": ..., **kw} (e.g. min, max, step, choices, label)."""
    return field(default=default, metadata={"help": help, **kw})


def help_of(cls: type) -> dict[str, dict]:
    """{field: metadata} of a config class: help text, limits, choices."""
    return {f.name: dict(f.metadata) for f in fields(cls)}


def default_of(cls: type, name: str) -> Any:
    return next(f.default for f in fields(cls) if f.name == name)


def validate(obj: Any) -> None:
    """Check every option against its declared min / max / choices; ValueError naming the option."""
    for f in fields(obj):
        meta, value = f.metadata, getattr(obj, f.name)
        label = meta.get("label", f.name)
        if "choices" in meta and value not in meta["choices"]:
            raise ValueError(f"{label} must be one of {', '.join(map(str, meta['choices']))}, not {value!r}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if "min" in meta and value < meta["min"]:
                raise ValueError(f"{label} must be at least {meta['min']:g} (got {value:g})")
            if "max" in meta and value > meta["max"]:
                raise ValueError(f"{label} must be at most {meta['max']:g} (got {value:g})")


# ----------------------------------------------------------------------------- options every network page has
# One declaration each (words, limits, widget label); a config writes `seed: int = options.seed()`.


def seed(default: int = 0):
    return option(
        default,
        "Random seed: the same seed, data and settings give the same result.",
        min=0,
        max=10_000,
        label="Random seed",
    )


def dropout(default: float):
    return option(
        default,
        "Share of neurons switched off at random while training (guards against memorising).",
        min=0.0,
        max=0.8,
        step=0.05,
        label="Dropout",
    )


def max_epochs(default: int, low: int = 5, high: int = 2000):
    return option(
        default,
        "Most passes over the training rows (training stops earlier when it stops improving).",
        min=low,
        max=high,
        label="Most epochs",
    )


def test_fraction(default: float = 0.25):
    return option(
        default,
        "Share of rows held out to measure the model (never seen in training).",
        min=0.1,
        max=0.5,
        step=0.05,
        label="Held-out share",
    )


def weight_decay(default: float):
    return option(
        default,
        "How strongly large weights are penalised (regularisation).",
        choices=(0.0, 1e-4, 1e-3, 1e-2, 0.1),
        label="Weight decay",
    )


def max_seconds(default: float):
    return option(default, "Time limit for training the network, in seconds.", min=5, max=3600, label="Time limit (s)")


def bootstrap(default: int = 200):
    return option(
        default,
        "Resamples used for the uncertainty intervals of the metrics.",
        min=0,
        max=2000,
        label="Bootstrap resamples",
    )


def threshold_folds(default: int = 5):
    return option(
        default,
        "The alert threshold is chosen on every training row, each scored by a network trained without "
        "it (this many folds; each trains the network once more, for as many epochs as the first one needed). "
        "0 chooses it on the validation rows only: faster, but it can move a lot between runs.",
        min=0,
        max=10,
    )
