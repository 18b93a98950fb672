"""Customer service: route each customer message to the right intent (team, queue), automate what the model is
sure of, hand the rest to a person, and flag messages unlike any intent seen in training.

Follows the scenario contract (engine/scenario.py). The network is engine.text.TextBag (averaged word, word-pair
and character n-gram embeddings, one linear layer; `members` of them from different seeds, their logits
averaged), trained in the shared loop. Baselines on the same split: TF-IDF of words and word pairs + logistic
regression, and a linear SVM on TF-IDF of words, word pairs and character 2-5-grams (scikit-learn).

The decision: a message is routed automatically when the network's confidence (its top probability) reaches
`threshold`, else a person triages it. The threshold is the cheapest for two costs (a misrouted message, a
manual triage), optionally within a team's capacity (triages per 1,000 messages), chosen on the training
messages each scored by a network trained without it (k folds), never on the held-out ones. Each fold also
leaves one intent out of its training entirely: its messages are then "new topics" the fold network never saw,
which measures how well a low score flags messages unlike any intent (the new-topic level is set so that 5% of
known-intent messages fall under it).

The package, by responsibility: `spec` (names, caps, column roles, options, costs), `prepare` (choosing the columns,
checking the messages), `scores` (metrics, softmax, what a threshold automates, the two baselines), `networks` (the
text network, training it, out-of-fold scores), `model` (the fitted `CustomerServiceModel`: scoring, explanations,
the decision, what the page reads) and `fit` (training everything on one split). Every public name is importable
from `engine.customer_service`, as before the split.
"""

from __future__ import annotations

from engine.customer_service.fit import fit
from engine.customer_service.model import CustomerServiceModel, load
from engine.customer_service.networks import out_of_fold
from engine.customer_service.prepare import Prepared, clean_texts, column_reasons, default_columns, prepare
from engine.customer_service.scores import (
    METRIC_HELP,
    METRICS,
    automatic,
    baseline_scores,
    make_baselines,
    scores_of,
    softmax,
)
from engine.customer_service.spec import (
    ABOUT,
    BASELINES,
    CATEGORY_WORDS,
    GROUP_WORDS,
    KIND,
    LOGISTIC,
    MAX_CHARS,
    MAX_INTENTS,
    MAX_ROWS,
    MIN_PER_INTENT,
    MIN_ROWS,
    MODEL,
    NEW_TOPIC_MISSES,
    SMALL_INTENT,
    SVM,
    TEXT_WORDS,
    Columns,
    Config,
    Costs,
)

# The contract's names (engine/scenario.py).
Model = CustomerServiceModel
SAMPLE = "banking77_messages_3k.csv"
QUICK = Config(max_epochs=5, threshold_folds=0, members=1, bootstrap=20)

__all__ = [
    "ABOUT",
    "BASELINES",
    "CATEGORY_WORDS",
    "GROUP_WORDS",
    "KIND",
    "LOGISTIC",
    "MAX_CHARS",
    "MAX_INTENTS",
    "MAX_ROWS",
    "METRICS",
    "METRIC_HELP",
    "MIN_PER_INTENT",
    "MIN_ROWS",
    "MODEL",
    "NEW_TOPIC_MISSES",
    "QUICK",
    "SAMPLE",
    "SMALL_INTENT",
    "SVM",
    "TEXT_WORDS",
    "Columns",
    "Config",
    "Costs",
    "CustomerServiceModel",
    "Model",
    "Prepared",
    "automatic",
    "baseline_scores",
    "clean_texts",
    "column_reasons",
    "default_columns",
    "fit",
    "load",
    "make_baselines",
    "out_of_fold",
    "prepare",
    "scores_of",
    "softmax",
]
