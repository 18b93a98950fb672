"""Customer service, what stays fixed: the names a model file and the page use, the row and length caps, the column
roles, the analyst's options (`Config`) and the two costs of the decision (`Costs`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine import options
from engine.data import DataError
from engine.options import option
from engine.scenario import About, Decision

KIND = "customer_service"
MODEL = "Neural network"
SVM = "Linear SVM (words + characters)"
LOGISTIC = "TF-IDF + logistic regression"
BASELINES = (SVM, LOGISTIC)  # the one to beat first
MAX_ROWS = 200_000
ABOUT = About(
    name=KIND,
    title="Customer service",
    icon=":material/support_agent:",
    headline="accuracy",
    prefix="cs",
    purpose="Route customer messages to the right team from what they wrote, beside two classic text models; "
    "automate what the model is sure of at the threshold your costs pick, see the words behind each routing, "
    "and flag messages about topics nobody trained for.",
    decision=Decision(
        lambda m: {"threshold": 0.0 if m.threshold >= 0.5 else 1.01}, lambda m, rows: m.predict(rows)["route"]
    ),
)
MAX_CHARS = 5_000  # characters of a message the models read; longer ones are cut (and the page says so)
MAX_INTENTS = 200
MIN_PER_INTENT = 5  # fewer messages: dropped (cannot be split into training and held-out messages)
SMALL_INTENT = 20  # fewer training messages: listed as too small to learn well
MIN_ROWS = 50
NEW_TOPIC_MISSES = 0.05  # share of known-intent messages the new-topic level may flag
TEXT_WORDS = (
    "text",
    "message",
    "messages",
    "body",
    "comment",
    "query",
    "question",
    "request",
    "description",
    "content",
    "utterance",
    "ticket",
    "email",
    "subject",
    "complaint",
    "feedback",
)
CATEGORY_WORDS = ("category", "intent", "team", "queue", "label", "topic", "class", "department", "reason", "type")
GROUP_WORDS = ("channel", "language", "lang", "locale", "source", "medium", "country", "region", "product", "segment")


@dataclass(frozen=True)
class Columns:
    """The message, its category (intent, team, queue), and columns to compare groups by (channel, language)."""

    text: str
    category: str
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    """Analyst-facing options; defaults work on the sample data."""

    seed: int = options.seed()
    test_fraction: float = options.test_fraction(0.25)
    val_fraction: float = option(
        0.1, "Share of the training messages used to stop training early.", min=0.05, max=0.4, label="Validation share"
    )
    threshold_folds: int = option(
        3,
        "The confidence threshold is chosen on every training message, each scored by a "
        "network trained without it (this many folds; each trains one network more, and each "
        "leaves one intent out to measure new-topic flags). 0 chooses it on the validation "
        "messages only: faster, and no new-topic measurement.",
        min=0,
        max=10,
        label="Threshold folds",
    )
    max_epochs: int = options.max_epochs(40, low=2)
    max_seconds: float = options.max_seconds(300.0)
    dim: int = option(
        64,
        "Length of each word's learned vector (more: finer distinctions, slower).",
        min=8,
        max=512,
        label="Embedding size",
    )
    members: int = option(
        2,
        "Networks trained from different seeds and averaged (more: a little steadier, slower).",
        min=1,
        max=8,
        label="Networks averaged",
    )
    two_blocks: bool = option(
        True,
        "Average whole words and word pieces apart, then add the two (as the linear SVM "
        "weighs its two blocks), so a message's few words are not drowned by its many pieces.",
        label="Words and pieces apart",
    )
    min_count: int = option(
        2,
        "A word or word piece must occur this often in training to be learned.",
        min=1,
        max=20,
        label="Least count of a word",
    )
    dropout: float = options.dropout(0.0)
    weight_decay: float = options.weight_decay(0.0)
    label_smoothing: float = option(
        0.0,
        "Softens the training targets (can calibrate confidence a little).",
        min=0.0,
        max=0.3,
        step=0.05,
        label="Label smoothing",
    )
    lr: float = option(0.01, "Learning rate: the step size of training.", min=1e-4, max=1.0)
    batch_size: int = option(128, "Messages per training step.", min=8, max=4096)
    patience: int = option(4, "Passes without improvement before training stops early.", min=1, max=50)
    lr_patience: int = option(2, "Passes without improvement before the learning rate halves.", min=1, max=50)
    bootstrap: int = options.bootstrap()

    def __post_init__(self):
        options.validate(self)


@dataclass(frozen=True)
class Costs:
    """What one misrouted message costs (a wrong team reads it, passes it on, the customer waits) and what one
    manual triage costs (a person reads it and picks the team)."""

    misroute: float = 10.0
    triage: float = 2.0

    def __post_init__(self):
        if not (math.isfinite(self.misroute) and math.isfinite(self.triage)) or min(self.misroute, self.triage) < 0:
            raise DataError(
                "Costs must be numbers of 0 or more: what a misrouted message and a manual triage cost you."
            )
