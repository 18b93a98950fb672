"""Customer service, the fitted model (a `Fitted` of the scenario contract): scoring messages, the words behind each
routing (exact token contributions), the decision (the cheapest confidence threshold, what it automates and costs)
and the tables the page reads. `load` reads a model file back (safetensors weights and JSON only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import precision_recall_fscore_support

from engine import evaluate
from engine.customer_service.prepare import clean_texts
from engine.customer_service.scores import automatic, softmax
from engine.customer_service.spec import KIND, MODEL, SMALL_INTENT, Columns, Config, Costs
from engine.data import DataError
from engine.explain import TokenExplanation
from engine.scenario import Fitted
from engine.subgroups import wilson
from engine.text import TextEnsemble, Vocabulary
from engine.training import predict_batched


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
            raise DataError(
                f"Your file has no column '{self.columns.text}' (the messages the model reads). "
                "Name the message column as in the template."
            )
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
        return pd.DataFrame(
            {
                "intent": names[order[:, 0]],
                "confidence": conf,
                "route": np.where(automatic(conf, self.threshold), "automatic", "to a person"),
                "new topic": conf < self.new_topic_level,
                "runner-up": names[order[:, 1]] if proba.shape[1] > 1 else names[order[:, 0]],
            },
            index=df.index,
        )

    # -- explanations -------------------------------------------------------------------
    def _parts(self) -> tuple[np.ndarray, np.ndarray]:
        """(terms x intents, intents): each feature's logit part (before dividing by the feature count) and the
        biases, averaged over the members (the averaged logits are explained exactly)."""
        if getattr(self, "_parts_cache", None) is None:
            self._parts_cache = (self.net.feature_logits().astype(np.float64), self.net.bias().astype(np.float64))
        return self._parts_cache

    def explain_texts(
        self, texts: list[str], toward: list[int] | None = None, against: list[int] | None = None
    ) -> TokenExplanation:
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
            rows.append(
                pd.DataFrame(
                    {
                        "token": [t for t, _, _ in toks],
                        "start": [s for _, s, _ in toks],
                        "end": [e for _, _, e in toks],
                        "contribution": contrib,
                    }
                )
            )
            word_sums.append(float(part.sum()))
            priors.append(float(b[c] - b[r]))
            up.append(self.classes[c])
            down.append(self.classes[r])
        values = np.c_[word_sums, priors] if texts else np.zeros((0, 2))
        data = pd.DataFrame(
            {self.columns.text: texts, "(intent base rates)": [f"{u} vs {d}" for u, d in zip(up, down)]}
        )
        return TokenExplanation(
            values,
            0.0,
            data,
            [self.columns.text, "(intent base rates)"],
            "how far the intent leads the other one (logit)",
            "identity",
            rows,
            list(texts),
            up,
            down,
        )

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
        agg = (
            allt.groupby(["intent", "token"])
            .agg(messages=("message", "nunique"), mean=("contribution", "mean"), total=("contribution", "sum"))
            .reset_index()
        )
        agg = agg[agg["total"] > 0].sort_values(["intent", "total"], ascending=[True, False])
        out = (
            agg.groupby("intent").head(k).rename(columns={"token": "word", "mean": "mean push", "total": "total push"})
        )
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
        doubt, _ = evaluate.best_threshold(
            1 - conf, wrong, costs.triage, costs.misroute, caught=costs.triage, max_alerts_per_1000=capacity
        )
        return self._confidence_at(doubt, 1 - conf)

    def threshold_band(self, costs: Costs, capacity: float | None = None) -> tuple[float, float]:
        """The range (80%) the cheapest threshold takes over bootstrap resamples of the messages it is chosen on."""
        conf, wrong = self._oof()
        low, high = evaluate.threshold_band(
            1 - conf,
            wrong,
            costs.triage,
            costs.misroute,
            caught=costs.triage,
            max_alerts_per_1000=capacity,
            seed=self.config.seed,
        )
        return self._confidence_at(high, 1 - conf), self._confidence_at(low, 1 - conf)

    def held_out_best(self, costs: Costs, capacity: float | None = None) -> tuple[float, float]:
        """The threshold that would have been cheapest on the held-out messages, and its cost per 1,000 (hindsight)."""
        conf, wrong = self.test_confidence()
        doubt, cost = evaluate.best_threshold(
            1 - conf, wrong, costs.triage, costs.misroute, caught=costs.triage, max_alerts_per_1000=capacity
        )
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
        return {
            "automated": float(auto.mean()),
            "automated_accuracy": float((~wrong[auto]).mean()) if auto.any() else float("nan"),
            "misroutes_per_1000": 1000 * float((auto & wrong).sum()) / n,
            "triages_per_1000": 1000 * float((~auto).sum()) / n,
            "automated_n": int(auto.sum()),
            "n": len(conf),
        }

    def money(self, costs: Costs) -> dict[str, float]:
        """Cost per 1,000 held-out messages: the network at `threshold`, everything to a person, everything automated."""
        at = self.at_threshold()
        conf, wrong = self.test_confidence()
        return {
            MODEL: at["misroutes_per_1000"] * costs.misroute + at["triages_per_1000"] * costs.triage,
            "Everything to a person": 1000 * costs.triage,
            "Everything automated": 1000 * float(wrong.mean()) * costs.misroute,
        }

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
        return {
            **self.new_topic,
            "caught": float((new < self.new_topic_level).mean()),
            "known_flagged": float((known < self.new_topic_level).mean()),
            "new_automated": float(automatic(new, self.threshold).mean()),
            "new_messages": float(len(new)),
        }

    # -- what the page reads ------------------------------------------------------------
    def per_intent(self) -> pd.DataFrame:
        """Precision and recall of the network per intent on the held-out messages, worst recall first."""
        y, pred = self.test["y"], self.test[MODEL].argmax(1)
        labels = np.arange(len(self.classes))
        p, r, f, n = precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
        frame = pd.DataFrame(
            {
                "intent": self.classes,
                "training messages": [self.train_counts.get(c, 0) for c in self.classes],
                "held-out messages": n,
                "precision": p,
                "recall": r,
                "F1": f,
            }
        )
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
            row = {
                "intent": self.classes[a],
                "mixed up with": self.classes[b],
                "messages mixed up": int(both[a, b]),
                "of which the first taken for the second": int(m[a, b]),
                "share of the smaller": share,
                "suggestion": (
                    "hard to tell apart: merge them, or say in the guidelines how they differ" if share >= 0.3 else ""
                ),
            }
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
            out.append(
                {
                    column: g,
                    "messages": n,
                    "accuracy": k / n,
                    "accuracy 95% from": low,
                    "to": high,
                    "routed automatically": float(auto[sel].mean()),
                    "accuracy when automatic": float(right[sel & auto].mean()) if (sel & auto).any() else np.nan,
                }
            )
        return pd.DataFrame(out).sort_values("messages", ascending=False).reset_index(drop=True)


load = CustomerServiceModel.from_bytes
