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
"""
from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, precision_recall_fscore_support, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline, make_union
from sklearn.svm import LinearSVC
from torch import nn

from engine import binary, evaluate, options, roles
from engine.data import DataError, column_kind
from engine.explain import TokenExplanation
from engine.options import option
from engine.scenario import About, Decision, Fitted
from engine.subgroups import wilson
from engine.text import TextBag, TextEnsemble, Vocabulary
from engine.training import History, Progress, TrainConfig, fit_model, predict_batched

KIND = "customer_service"
MODEL = "Neural network"
SVM = "Linear SVM (words + characters)"
LOGISTIC = "TF-IDF + logistic regression"
BASELINES = (SVM, LOGISTIC)  # the one to beat first
MAX_ROWS = 200_000
ABOUT = About(
    name=KIND, title="Customer service", icon=":material/support_agent:", headline="accuracy", prefix="cs",
    purpose="Route customer messages to the right team from what they wrote, beside two classic text models; "
            "automate what the model is sure of at the threshold your costs pick, see the words behind each routing, "
            "and flag messages about topics nobody trained for.",
    decision=Decision(lambda m: {"threshold": 0.0 if m.threshold >= 0.5 else 1.01}, lambda m, rows: m.predict(rows)["route"]))
MAX_CHARS = 5_000  # characters of a message the models read; longer ones are cut (and the page says so)
MAX_INTENTS = 200
MIN_PER_INTENT = 5  # fewer messages: dropped (cannot be split into training and held-out messages)
SMALL_INTENT = 20  # fewer training messages: listed as too small to learn well
MIN_ROWS = 50
NEW_TOPIC_MISSES = 0.05  # share of known-intent messages the new-topic level may flag
TEXT_WORDS = ("text", "message", "messages", "body", "comment", "query", "question", "request", "description",
              "content", "utterance", "ticket", "email", "subject", "complaint", "feedback")
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
    val_fraction: float = option(0.1, "Share of the training messages used to stop training early.", min=0.05,
                                 max=0.4, label="Validation share")
    threshold_folds: int = option(3, "The confidence threshold is chosen on every training message, each scored by a "
                                  "network trained without it (this many folds; each trains one network more, and each "
                                  "leaves one intent out to measure new-topic flags). 0 chooses it on the validation "
                                  "messages only: faster, and no new-topic measurement.", min=0, max=10,
                                  label="Threshold folds")
    max_epochs: int = options.max_epochs(40, low=2)
    max_seconds: float = options.max_seconds(300.0)
    dim: int = option(64, "Length of each word's learned vector (more: finer distinctions, slower).", min=8, max=512,
                      label="Embedding size")
    members: int = option(2, "Networks trained from different seeds and averaged (more: a little steadier, slower).",
                          min=1, max=8, label="Networks averaged")
    two_blocks: bool = option(True, "Average whole words and word pieces apart, then add the two (as the linear SVM "
                              "weighs its two blocks), so a message's few words are not drowned by its many pieces.",
                              label="Words and pieces apart")
    min_count: int = option(2, "A word or word piece must occur this often in training to be learned.", min=1, max=20,
                            label="Least count of a word")
    dropout: float = options.dropout(0.0)
    weight_decay: float = options.weight_decay(0.0)
    label_smoothing: float = option(0.0, "Softens the training targets (can calibrate confidence a little).", min=0.0,
                                    max=0.3, step=0.05, label="Label smoothing")
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
            raise DataError("Costs must be numbers of 0 or more: what a misrouted message and a manual triage cost you.")


# ----------------------------------------------------------------------------- roles


def _text_values(s: pd.Series) -> pd.Series:
    return s.dropna().astype(str)


def _mean_length(s: pd.Series) -> float:
    v = _text_values(s)
    return float(v.str.len().mean()) if len(v) else 0.0


def column_reasons(df: pd.DataFrame) -> tuple[Columns, dict[str, str]]:
    """The default roles and why each was chosen: the longest free text is the message, a repeated short label
    (named like a category first) the category, coded columns named like a channel or language the groups."""
    texty = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c]) and column_kind(df[c]) != "datetime"]
    if not texty:
        raise DataError("Your file has no column of text: this page needs one column holding the customer messages "
                        "(free text) and one holding their category (intent, team or queue).")
    text = max(texty, key=lambda c: (_mean_length(df[c]), _text_values(df[c]).nunique()))
    why = {text: f"message: the longest free text (about {_mean_length(df[text]):,.0f} characters on average)"}
    n = max(int(df[text].notna().sum()), 1)
    labels = [c for c in df.columns if c != text and 2 <= df[c].nunique() <= MAX_INTENTS and df[c].nunique() < n / 2]
    named = [c for c in labels if any(w in roles.words(c) for w in CATEGORY_WORDS)]
    if named:
        category = named[0]
        why[category] = f"category: named like one, {df[category].nunique():,} values repeated across messages"
    elif labels:
        category = max(labels, key=lambda c: (df[c].nunique(), -_mean_length(df[c])))
        why[category] = f"category: the repeated label with the most values ({df[category].nunique():,})"
    else:
        category = next((c for c in df.columns if c != text), text)
        why[category] = "category: no column repeats a few short labels; pick the one that names each message's team"
    groups = tuple(c for c in df.columns if c not in (text, category) and 2 <= df[c].nunique() <= 12
                   and any(w in roles.words(c) for w in GROUP_WORDS))
    why.update({c: "compared by group (named like a channel or language)" for c in groups})
    return Columns(text, category, groups), why


def default_columns(df: pd.DataFrame) -> Columns:
    return column_reasons(df)[0]


# ----------------------------------------------------------------------------- checks


@dataclass
class Prepared:
    texts: list[str]  # the messages kept, cut to MAX_CHARS
    y: np.ndarray  # intent indices
    classes: list[str]
    rows: np.ndarray  # positions in the analyst's table
    notes: list[str]
    dropped: dict[str, int]  # intents with too few messages to learn at all


def clean_texts(s: pd.Series) -> tuple[list[str], np.ndarray, int, int]:
    """Messages as text cut to MAX_CHARS: (texts, which rows hold a message, how many were cut, the longest length)."""
    raw = s.astype("string")
    present = (raw.notna() & (raw.str.strip().str.len() > 0)).fillna(False).to_numpy(bool)
    lengths = raw.str.len().fillna(0).to_numpy()
    cut = int((lengths > MAX_CHARS).sum())
    texts = [t[:MAX_CHARS] if isinstance(t, str) else "" for t in raw.fillna("").tolist()]
    return texts, present, cut, int(lengths.max()) if len(lengths) else 0


def prepare(df: pd.DataFrame, columns: Columns, config: Config | None = None) -> Prepared:
    """Check the table against the chosen columns; DataError with a sentence when it cannot work."""
    t, c = columns.text, columns.category
    for col, role in ((t, "message"), (c, "category")):
        if col not in df.columns:
            raise DataError(f"The {role} column '{col}' is not in your file. Pick one of its columns.")
    if t == c:
        raise DataError("The message and the category must be two different columns: one holds what customers wrote, "
                        "the other which team (intent, queue) each message belongs to.")
    if pd.api.types.is_numeric_dtype(df[t]):
        raise DataError(f"The message column '{t}' holds numbers, not text. Pick the column with what customers wrote.")
    texts, present, cut, longest = clean_texts(df[t])
    labels = roles.label_text(df[c])
    keep = present & labels.notna().to_numpy()
    notes = []
    if (~present).sum():
        notes.append(f"Dropped {int((~present).sum()):,} row(s) whose message is empty.")
    if (present & labels.isna().to_numpy()).sum():
        notes.append(f"Dropped {int((present & labels.isna().to_numpy()).sum()):,} message(s) without a category.")
    if cut:
        notes.append(f"{cut:,} message(s) longer than {MAX_CHARS:,} characters were cut to their first {MAX_CHARS:,} "
                     f"(the longest had {longest:,}); the models read only that part.")
    if keep.sum() == 0:
        raise DataError(f"No row has both a message in '{t}' and a category in '{c}'. Check the columns picked.")
    counts = labels[keep].value_counts()
    if len(counts) < 2:
        raise DataError(f"The category column '{c}' has only one value ('{counts.index[0]}'): there is nothing to route "
                        "between. Pick the column naming each message's team, intent or queue.")
    if len(counts) > MAX_INTENTS:
        raise DataError(f"The category column '{c}' has {len(counts):,} different values; this page routes to at most "
                        f"{MAX_INTENTS} categories. It may be free text or an id: pick the column naming each message's "
                        "team, intent or queue, or merge rare categories first.")
    small = counts[counts < MIN_PER_INTENT]
    if len(small):
        keep &= ~labels.isin(small.index).to_numpy()
        notes.append(f"Left out {len(small):,} categor{'y' if len(small) == 1 else 'ies'} with fewer than "
                     f"{MIN_PER_INTENT} messages ({int(small.sum()):,} messages: "
                     f"{', '.join(map(str, small.index[:8]))}{'…' if len(small) > 8 else ''}): too few to learn and test.")
        counts = counts.drop(small.index)
    if len(counts) < 2:
        raise DataError(f"Only one category of '{c}' has at least {MIN_PER_INTENT} messages. Add messages to the others.")
    if keep.sum() < MIN_ROWS:
        raise DataError(f"Only {int(keep.sum()):,} messages can be used; at least {MIN_ROWS} are needed to train and "
                        "still keep some aside to test honestly. Add messages.")
    classes = sorted(counts.index.astype(str))
    index = {k: i for i, k in enumerate(classes)}
    rows = np.flatnonzero(keep)
    y = labels.iloc[rows].map(index).to_numpy(np.int64)
    return Prepared([texts[i] for i in rows], y, classes, rows, notes, {str(k): int(v) for k, v in small.items()})


# ----------------------------------------------------------------------------- metrics

METRIC_HELP = {
    "accuracy": "Accuracy: share of held-out messages routed to their right category.",
    "macro_f1": "Macro-F1: the F1 score (precision and recall together) of each category, averaged so a small "
                "category counts as much as a big one.",
    "top3": "Top-3 accuracy: share of held-out messages whose right category is among the model's three first "
            "guesses (what a person picking from three suggestions would get).",
}


def _top_k(y: np.ndarray, scores: np.ndarray, k: int = 3) -> float:
    k = min(k, scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return float((top == y[:, None]).any(1).mean())


def _macro_f1(y: np.ndarray, scores: np.ndarray) -> float:
    return float(f1_score(y, scores.argmax(1), average="macro", labels=np.unique(y), zero_division=0))


METRICS = {"accuracy": lambda y, s: float((s.argmax(1) == y).mean()), "macro_f1": _macro_f1, "top3": _top_k}


def scores_of(y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    return {k: fn(y, scores) for k, fn in METRICS.items()}


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


# ----------------------------------------------------------------------------- baselines


def _word_tfidf() -> TfidfVectorizer:
    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True)


def make_baselines(seed: int) -> dict[str, Any]:
    """The two scikit-learn baselines, unfitted (figures on Banking77 in shared/datasets/customer_service)."""
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, lowercase=True, min_df=2)
    return {SVM: make_pipeline(make_union(_word_tfidf(), chars), LinearSVC(C=0.5, random_state=seed)),
            # one-vs-rest liblinear: as accurate here as the multinomial fit (0.894 on Banking77) and 4x faster
            LOGISTIC: make_pipeline(_word_tfidf(), OneVsRestClassifier(LogisticRegression(C=10, solver="liblinear")))}


def baseline_scores(model: Any, texts: list[str]) -> np.ndarray:
    """Class scores of a fitted baseline: probabilities where it has them, else decision values."""
    return model.predict_proba(texts) if hasattr(model, "predict_proba") else model.decision_function(texts)


# ----------------------------------------------------------------------------- the fitted model


@dataclass
class CustomerServiceModel(Fitted):
    KIND: ClassVar[str] = KIND
    HEADLINE: ClassVar[str] = "accuracy"
    METRIC_LABELS: ClassVar[dict[str, str]] = {"accuracy": "Accuracy", "macro_f1": "Macro-F1", "top3": "Top-3 accuracy"}

    columns: Columns
    config: Config
    classes: list[str]
    vocabulary: Vocabulary
    net: TextEnsemble  # one or more TextBags, their logits averaged
    # y, row and each model's class scores on the held-out messages; oof_conf / oof_wrong / oof_novelty (training
    # messages scored out of fold) and new_novelty / new_conf (messages of an intent their fold network never saw)
    test: dict[str, np.ndarray]
    train_counts: dict[str, int] = field(default_factory=dict)  # training messages per intent
    new_topic: dict[str, float] = field(default_factory=dict)  # how well the new-topic flag works (out of fold)
    threshold: float = 0.5  # decision: route automatically when the confidence reaches it
    new_topic_level: float = 0.0  # a message whose confidence is below it is flagged as a possible new topic

    # -- scoring ------------------------------------------------------------------------
    def texts_of(self, df: pd.DataFrame) -> list[str]:
        if self.columns.text not in df.columns:
            raise DataError(f"Your file has no column '{self.columns.text}' (the messages the model reads). "
                            "Name the message column as in the template.")
        return clean_texts(df[self.columns.text])[0]

    def logits(self, texts: list[str]) -> np.ndarray:
        X = self.vocabulary.encode(texts)
        return predict_batched(self.net, X).cpu().numpy().astype(np.float64)

    def predict_proba(self, df: pd.DataFrame) -> np.ndarray:
        return softmax(self.logits(self.texts_of(df)))

    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        """Intent, confidence, route (automatic when confidence >= threshold) and the new-topic flag per message."""
        proba = self.predict_proba(df)
        order = np.argsort(-proba, axis=1, kind="stable")
        conf = proba[np.arange(len(proba)), order[:, 0]]
        names = np.asarray(self.classes)
        return pd.DataFrame({"intent": names[order[:, 0]], "confidence": conf,
                             "route": np.where(automatic(conf, self.threshold), "automatic", "to a person"),
                             "new topic": conf < self.new_topic_level,
                             "runner-up": names[order[:, 1]] if proba.shape[1] > 1 else names[order[:, 0]]},
                            index=df.index)

    # -- explanations -------------------------------------------------------------------
    def _parts(self) -> tuple[np.ndarray, np.ndarray]:
        """(terms x intents, intents): each feature's logit part (before dividing by the feature count) and the
        biases, averaged over the members (the averaged logits are explained exactly)."""
        if getattr(self, "_parts_cache", None) is None:
            self._parts_cache = (self.net.feature_logits().astype(np.float64), self.net.bias().astype(np.float64))
        return self._parts_cache

    def explain_texts(self, texts: list[str], toward: list[int] | None = None,
                      against: list[int] | None = None) -> TokenExplanation:
        """Each message's tokens and how much each moved the logit of `toward` above `against` (default: the chosen
        intent against the runner-up). Exact: the tokens' parts plus the difference of the intents' biases equal the
        difference of the two logits the network computes."""
        P, b = self._parts()
        logits = self.logits(texts) if toward is None or against is None else None
        rows, word_sums, priors, up, down = [], [], [], [], []
        for i, text in enumerate(texts):
            if logits is not None:
                order = np.argsort(-logits[i], kind="stable")
                c = int(order[0]) if toward is None else int(toward[i])
                r = (int(order[0]) if int(order[0]) != c else int(order[1])) if against is None else int(against[i])
            else:
                assert toward is not None and against is not None
                c, r = int(toward[i]), int(against[i])
            toks, ids, first, last = self.vocabulary.trace(text)
            with torch.no_grad():
                weight = self.net.feature_weights(torch.as_tensor(ids, device=self.net.blocks.device)[None])[0]
            part = (P[ids, c] - P[ids, r]) * weight.double().cpu().numpy()
            contrib = np.zeros(len(toks))
            np.add.at(contrib, first, np.where(first == last, part, part / 2))
            np.add.at(contrib, last, np.where(first == last, 0.0, part / 2))
            rows.append(pd.DataFrame({"token": [t for t, _, _ in toks], "start": [s for _, s, _ in toks],
                                      "end": [e for _, _, e in toks], "contribution": contrib}))
            word_sums.append(float(part.sum()))
            priors.append(float(b[c] - b[r]))
            up.append(self.classes[c])
            down.append(self.classes[r])
        values = np.c_[word_sums, priors] if texts else np.zeros((0, 2))
        data = pd.DataFrame({self.columns.text: texts, "(intent base rates)": [f"{u} vs {d}" for u, d in zip(up, down)]})
        return TokenExplanation(values, 0.0, data, [self.columns.text, "(intent base rates)"],
                                "how far the intent leads the other one (logit)", "identity", rows, list(texts), up, down)

    def explain(self, df: pd.DataFrame, output: str | None = None) -> TokenExplanation:
        """Words for and against: the chosen intent against the runner-up, or (`output`) that intent against the
        strongest other one."""
        texts = self.texts_of(df)
        if output is None:
            return self.explain_texts(texts)
        c = self.classes.index(str(output))
        logits = self.logits(texts)
        logits[:, c] = -np.inf
        return self.explain_texts(texts, [c] * len(texts), list(logits.argmax(1)))

    def reasons(self, df: pd.DataFrame, pred: pd.DataFrame, k: int) -> list[str]:
        exp = self.explain(df)
        return [", ".join(f"'{w}'" for w in exp.words(i, k, sign=1)["token"]) for i in range(len(df))]

    def telling_words(self, texts: list[str], k: int = 8) -> pd.DataFrame:
        """Per intent, the words that pushed messages toward it the most (summed over the messages it was chosen for):
        intent, word, messages, mean push."""
        exp = self.explain_texts(texts)
        frames = [t.assign(intent=exp.toward[i], message=i) for i, t in enumerate(exp.tokens) if len(t)]
        if not frames:
            return pd.DataFrame(columns=["intent", "word", "messages", "mean push", "total push"])
        allt = pd.concat(frames, ignore_index=True)
        allt = allt[allt["token"].str.contains(r"\w", regex=True)]
        agg = allt.groupby(["intent", "token"]).agg(messages=("message", "nunique"), mean=("contribution", "mean"),
                                                    total=("contribution", "sum")).reset_index()
        agg = agg[agg["total"] > 0].sort_values(["intent", "total"], ascending=[True, False])
        out = agg.groupby("intent").head(k).rename(columns={"token": "word", "mean": "mean push", "total": "total push"})
        return out.reset_index(drop=True)

    # -- the decision -------------------------------------------------------------------
    def _oof(self) -> tuple[np.ndarray, np.ndarray]:
        return self.test["oof_conf"], self.test["oof_wrong"].astype(bool)

    @staticmethod
    def _confidence_at(doubt: float, doubts: np.ndarray) -> float:
        """The confidence threshold for a doubt threshold chosen on `doubts`. At the two ends it is the end itself:
        when every message should go to a person the threshold is 1 (route none automatically), when none should it
        is 0, never the highest or lowest confidence those messages happened to have. Another network (the page's
        own, trained on more messages) is more or less confident than the ones that scored them, so only the ends
        mean the same for it."""
        if not len(doubts) or doubt <= float(np.min(doubts)):
            return 1.0
        if doubt > float(np.max(doubts)):
            return 0.0
        return float(np.clip(1 - doubt, 0.0, 1.0))

    def cheapest_threshold(self, costs: Costs, capacity: float | None = None) -> float:
        """The cheapest confidence threshold on the training messages scored out of fold (never the held-out ones);
        `capacity`: at most this many manual triages per 1,000 messages. Sending a message to a person is the
        'alert' of evaluate.best_threshold, scored by doubt (1 - confidence)."""
        conf, wrong = self._oof()
        doubt, _ = evaluate.best_threshold(1 - conf, wrong, costs.triage, costs.misroute, caught=costs.triage,
                                           max_alerts_per_1000=capacity)
        return self._confidence_at(doubt, 1 - conf)

    def threshold_band(self, costs: Costs, capacity: float | None = None) -> tuple[float, float]:
        """The range (80%) the cheapest threshold takes over bootstrap resamples of the messages it is chosen on."""
        conf, wrong = self._oof()
        low, high = evaluate.threshold_band(1 - conf, wrong, costs.triage, costs.misroute, caught=costs.triage,
                                            max_alerts_per_1000=capacity, seed=self.config.seed)
        return self._confidence_at(high, 1 - conf), self._confidence_at(low, 1 - conf)

    def held_out_best(self, costs: Costs, capacity: float | None = None) -> tuple[float, float]:
        """The threshold that would have been cheapest on the held-out messages, and its cost per 1,000 (hindsight)."""
        conf, wrong = self.test_confidence()
        doubt, cost = evaluate.best_threshold(1 - conf, wrong, costs.triage, costs.misroute, caught=costs.triage,
                                              max_alerts_per_1000=capacity)
        return self._confidence_at(doubt, 1 - conf), 1000 * cost / max(len(conf), 1)

    def test_confidence(self) -> tuple[np.ndarray, np.ndarray]:
        """The network's confidence on each held-out message and whether its intent was wrong."""
        s = self.test[MODEL]
        return s.max(1).astype(np.float64), s.argmax(1) != self.test["y"]

    def at_threshold(self, threshold: float | None = None) -> dict[str, float]:
        """On the held-out messages at a confidence threshold: the automated share, the accuracy of what is automated,
        misroutes and manual triages per 1,000 messages."""
        t = self.threshold if threshold is None else threshold
        conf, wrong = self.test_confidence()
        auto = automatic(conf, t)
        n = max(len(conf), 1)
        return {"automated": float(auto.mean()), "automated_accuracy": float((~wrong[auto]).mean()) if auto.any()
                else float("nan"), "misroutes_per_1000": 1000 * float((auto & wrong).sum()) / n,
                "triages_per_1000": 1000 * float((~auto).sum()) / n, "automated_n": int(auto.sum()), "n": len(conf)}

    def money(self, costs: Costs) -> dict[str, float]:
        """Cost per 1,000 held-out messages: the network at `threshold`, everything to a person, everything automated."""
        at = self.at_threshold()
        conf, wrong = self.test_confidence()
        return {MODEL: at["misroutes_per_1000"] * costs.misroute + at["triages_per_1000"] * costs.triage,
                "Everything to a person": 1000 * costs.triage,
                "Everything automated": 1000 * float(wrong.mean()) * costs.misroute}

    def automation_curve(self, costs: Costs | None = None) -> pd.DataFrame:
        """Per threshold on the held-out messages: share automated, accuracy of what is automated (and the cost per
        1,000 for `costs`), from 'automate everything' to 'automate nothing'."""
        conf, wrong = self.test_confidence()
        order = np.argsort(-conf, kind="stable")
        c, right = conf[order], (~wrong[order]).astype(float)
        k = np.arange(1, len(c) + 1)
        frame = pd.DataFrame({"threshold": c, "automated": k / len(c), "automated_accuracy": np.cumsum(right) / k})
        frame = frame.groupby("threshold", as_index=False).last().sort_values("threshold", ascending=False)
        if costs is not None:
            mis = (1 - frame["automated_accuracy"]) * frame["automated"]
            frame["cost_per_1000"] = 1000 * (mis * costs.misroute + (1 - frame["automated"]) * costs.triage)
        return evaluate.thin(frame, 400)

    def new_topic_summary(self) -> dict[str, float]:
        """On messages of intents left out of the fold networks' training (out of fold): how many the flag catches,
        how many it flags among known intents, how many new-topic messages would be routed automatically."""
        if "new_conf" not in self.test or not len(self.test["new_conf"]):
            return {}
        new, known = self.test["new_conf"], self.test["oof_conf"]
        return {**self.new_topic, "caught": float((new < self.new_topic_level).mean()),
                "known_flagged": float((known < self.new_topic_level).mean()),
                "new_automated": float(automatic(new, self.threshold).mean()), "new_messages": float(len(new))}

    # -- what the page reads ------------------------------------------------------------
    def per_intent(self) -> pd.DataFrame:
        """Precision and recall of the network per intent on the held-out messages, worst recall first."""
        y, pred = self.test["y"], self.test[MODEL].argmax(1)
        labels = np.arange(len(self.classes))
        p, r, f, n = precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
        frame = pd.DataFrame({"intent": self.classes, "training messages": [self.train_counts.get(c, 0) for c in self.classes],
                              "held-out messages": n, "precision": p, "recall": r, "F1": f})
        return frame.sort_values(["recall", "intent"]).reset_index(drop=True)

    def small_intents(self) -> pd.DataFrame:
        """Intents with fewer than SMALL_INTENT training messages, with their held-out recall."""
        frame = self.per_intent()
        return frame[frame["training messages"] < SMALL_INTENT].reset_index(drop=True)

    def confused_pairs(self, df: pd.DataFrame | None = None, k: int = 10, examples: int = 2) -> pd.DataFrame:
        """The pairs of intents the network mixes up most on the held-out messages (both directions), with example
        messages (from `df`, the analyst's table) and a suggestion when the two look inseparable."""
        y, pred = self.test["y"], self.test[MODEL].argmax(1)
        C = len(self.classes)
        m = np.zeros((C, C), int)
        np.add.at(m, (y, pred), 1)
        both = m + m.T
        iu = np.triu_indices(C, 1)
        order = np.argsort(-both[iu], kind="stable")[:k]
        size = np.bincount(y, minlength=C)
        out = []
        for o in order:
            a, b = iu[0][o], iu[1][o]
            if both[a, b] == 0:
                break
            share = both[a, b] / max(min(size[a], size[b]), 1)
            row = {"intent": self.classes[a], "mixed up with": self.classes[b], "messages mixed up": int(both[a, b]),
                   "of which the first taken for the second": int(m[a, b]), "share of the smaller": share,
                   "suggestion": ("hard to tell apart: merge them, or say in the guidelines how they differ"
                                  if share >= 0.3 else "")}
            if df is not None and self.columns.text in df.columns:
                wrong = np.flatnonzero(((y == a) & (pred == b)) | ((y == b) & (pred == a)))[:examples]
                row["examples"] = " | ".join(str(df[self.columns.text].iloc[self.test["row"][i]])[:200] for i in wrong)
            out.append(row)
        return pd.DataFrame(out)

    def by_group(self, df: pd.DataFrame, column: str) -> pd.DataFrame:
        """Held-out messages per group of `column` (channel, language): accuracy with its 95% interval, the share
        routed automatically and the accuracy of those."""
        y, s = self.test["y"], self.test[MODEL]
        right, auto = s.argmax(1) == y, automatic(s.max(1), self.threshold)
        groups = df[column].iloc[self.test["row"]].astype("string").fillna("(missing)").to_numpy()
        out = []
        for g in pd.unique(groups):
            sel = groups == g
            n, k = int(sel.sum()), int(right[sel].sum())
            low, high = wilson(k, n)
            out.append({column: g, "messages": n, "accuracy": k / n, "accuracy 95% from": low, "to": high,
                        "routed automatically": float(auto[sel].mean()),
                        "accuracy when automatic": float(right[sel & auto].mean()) if (sel & auto).any() else np.nan})
        return pd.DataFrame(out).sort_values("messages", ascending=False).reset_index(drop=True)


load = CustomerServiceModel.from_bytes


# ----------------------------------------------------------------------------- fit


def automatic(confidence: np.ndarray, threshold: float) -> np.ndarray:
    """Which messages are routed automatically: confidence at least the threshold; a threshold of 1 routes none
    (a softmax can round to exactly 1)."""
    return (np.asarray(confidence) >= threshold) & (threshold < 1.0)


def _train_net(X: np.ndarray, y: np.ndarray, val: tuple[np.ndarray, np.ndarray] | None, vocab: Vocabulary, n_out: int,
               config: Config, seed: int, progress=None, cancel=None, epochs: int | None = None) -> tuple[TextBag, History]:
    net = TextBag(len(vocab), n_out, config.dim, config.dropout, config.two_blocks).set_blocks(vocab.pieces())
    ce = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    changes = {"seed": seed}
    if epochs is not None:  # a fold network: as many epochs as the first one needed, nothing to stop it early
        changes.update(max_epochs=epochs, patience=epochs + 1, lr_patience=epochs + 1)
    history = fit_model(net, (X, y), val, lambda out, yb: ce(out, yb), TrainConfig.of(config, **changes),
                        progress=progress, cancel=cancel)
    return net, history


def _logits(nets: list[TextBag], X: np.ndarray) -> np.ndarray:
    outs = [predict_batched(n, X).cpu().numpy() for n in nets]
    return np.mean(outs, axis=0).astype(np.float64)


def out_of_fold(X: np.ndarray, y: np.ndarray, rows: np.ndarray, vocab: Vocabulary, n_out: int, config: Config, epochs: int,
                cancel=None, say=None) -> dict[str, np.ndarray]:
    """Every row of `rows` scored by a network trained without it (k stratified folds); fold i also leaves out of its
    training all messages of one intent (picked at random among those with enough messages), whose held-out messages
    then stand for new topics. Returns oof_conf / oof_wrong / oof_y (known intents only) and new_conf (new topics)."""
    k = config.threshold_folds
    counts = np.bincount(y[rows], minlength=n_out)
    if k < 2 or counts[counts > 0].min() < k:
        return {}
    rng = np.random.default_rng(config.seed)
    big = np.flatnonzero(counts >= 2 * k)
    left_out = rng.choice(big, size=min(k, len(big)), replace=False) if len(big) >= 3 else np.array([], int)
    conf, wrong, known = np.zeros(len(rows)), np.zeros(len(rows), bool), np.ones(len(rows), bool)
    new_conf = []
    for i, (a, b) in enumerate(StratifiedKFold(k, shuffle=True, random_state=config.seed).split(rows, y[rows])):
        if say:
            say(f"Choosing the confidence threshold on messages the network did not see: fold {i + 1} of {k}…")
        fit_rows = rows[a]
        if i < len(left_out):
            fit_rows = fit_rows[y[fit_rows] != left_out[i]]
        net, _ = _train_net(X[fit_rows], y[fit_rows], None, vocab, n_out, config, config.seed + 100 + i,
                            cancel=cancel, epochs=epochs)
        p = softmax(_logits([net], X[rows[b]]))
        conf[b], wrong[b] = p.max(1), p.argmax(1) != y[rows[b]]
        if i < len(left_out):
            unseen = y[rows[b]] == left_out[i]
            known[b[unseen]] = False
            new_conf.append(p.max(1)[unseen])
    return {"oof_conf": conf[known], "oof_wrong": wrong[known].astype(np.uint8), "oof_y": y[rows][known],
            "new_conf": np.concatenate(new_conf) if new_conf else np.zeros(0)}


def _intervals(y: np.ndarray, scores: dict[str, np.ndarray], n: int, seed: int) -> dict[str, dict[str, list[float]]]:
    return evaluate.bootstrap(y, scores, METRICS, n, seed, valid=lambda yy: True)


def fit(df: pd.DataFrame, columns: Columns, config: Config = Config(), progress=None, cancel=None, *,
        test_rows: np.ndarray | None = None) -> CustomerServiceModel:
    """Train the network(s) and both baselines on one stratified split; measure all on the held-out messages.
    `test_rows` (positions in `df`) fixes the held-out messages (the benchmark uses Banking77's own test split)."""
    prep = prepare(df, columns, config)
    report = Progress(progress)
    y, K = prep.y, len(prep.classes)
    try:
        if test_rows is None:
            train, val, test = binary.split(y, config.test_fraction, config.val_fraction, config.seed)
        else:
            held = np.isin(prep.rows, np.asarray(test_rows))
            tv, test = np.flatnonzero(~held), np.flatnonzero(held)
            from sklearn.model_selection import train_test_split
            train, val = train_test_split(tv, test_size=config.val_fraction, stratify=y[tv], random_state=config.seed)
    except ValueError:
        raise DataError("The messages cannot be split into training, validation and held-out parts with every category "
                        "in each: there are too many categories for this few messages. Add messages, or merge rare "
                        "categories.") from None
    report.say("Building the vocabulary of words and word pieces…")
    vocab = Vocabulary.build([prep.texts[i] for i in train], min_count=config.min_count)
    X = vocab.encode(prep.texts).astype(np.float32)
    nets: list[TextBag] = []
    histories: list[History] = []
    seconds = 0.0
    for m in range(config.members):
        stage = report.stage(f"Network {m + 1} of {config.members}" if config.members > 1 else MODEL,
                             m * config.max_epochs, config.members * config.max_epochs)
        clock = time.perf_counter()
        net, h = _train_net(X[train], y[train], (X[val], y[val]), vocab, K, config, config.seed + m, stage, cancel)
        seconds += time.perf_counter() - clock
        nets.append(net)
        histories.append(h)
    history = histories[0]
    fit_rows = np.sort(np.r_[train, val])
    epochs = max(history.best_epoch or len(history.epochs), 1)
    folds = out_of_fold(X, y, fit_rows, vocab, K, config, epochs, cancel, report.say)
    report.say("Training the baselines (TF-IDF + logistic regression, linear SVM)…")
    texts = np.asarray(prep.texts, dtype=object)
    fitted_baselines, base_seconds = evaluate.timed(
        {name: functools.partial(est.fit, list(texts[fit_rows]), y[fit_rows]) for name, est in make_baselines(config.seed).items()})
    yt = y[test]
    ensemble = TextEnsemble.of(nets)
    scores = {MODEL: softmax(_logits([ensemble], X[test])).astype(np.float32),
              **{k: baseline_scores(m, list(texts[test])).astype(np.float32) for k, m in fitted_baselines.items()}}
    if not folds:  # the validation messages choose the threshold
        pv = softmax(_logits([ensemble], X[val]))
        folds = {"oof_conf": pv.max(1), "oof_wrong": (pv.argmax(1) != y[val]).astype(np.uint8), "oof_y": y[val],
                 "new_conf": np.zeros(0)}
    report.say("Measuring on the held-out messages…")
    new_topic = {}
    if len(folds["new_conf"]):
        both = np.r_[folds["oof_conf"], folds["new_conf"]]
        is_new = np.r_[np.zeros(len(folds["oof_conf"])), np.ones(len(folds["new_conf"]))]
        new_topic["auroc"] = float(roc_auc_score(is_new, -both))
    level = float(np.quantile(folds["oof_conf"], NEW_TOPIC_MISSES)) if new_topic else 0.0
    counts = np.bincount(y[fit_rows], minlength=K)
    model = CustomerServiceModel(
        columns=Columns(columns.text, columns.category, tuple(columns.groups)), config=config, classes=prep.classes,
        vocabulary=vocab, net=ensemble,
        test={"y": yt, "row": prep.rows[test], **scores, **{k: np.asarray(v) for k, v in folds.items()}},
        train_counts={c: int(n) for c, n in zip(prep.classes, counts)}, new_topic=new_topic,
        metrics=scores_of(yt, scores[MODEL]), baseline_metrics={k: scores_of(yt, scores[k]) for k in BASELINES},
        intervals=_intervals(yt, scores, config.bootstrap, config.seed), history=history,
        timings={MODEL: seconds, **base_seconds}, notes=prep.notes + [
            f"Vocabulary: {len(vocab) - 1:,} words, word pairs and word pieces seen at least {config.min_count} times "
            "in the training messages."],
        n_rows={"train": len(train), "validation": len(val), "test": len(test)}, new_topic_level=level,
    )
    return model.decide(threshold=model.cheapest_threshold(Costs()))


# The contract's names (engine/scenario.py).
Model = CustomerServiceModel
SAMPLE = "banking77_messages_3k.csv"
QUICK = Config(max_epochs=5, threshold_folds=0, members=1, bootstrap=20)
