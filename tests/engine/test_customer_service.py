"""Customer service engine: roles guessed, quality floors over trivial models, exact (additive) word explanations,
Unicode tokens, the model file, the confidence threshold against a brute-force search, the new-topic flag, and bad
input as sentences."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score

from engine import customer_service as cs
from engine.artifacts import load_artifact
from engine.data import DataError, load_table
from engine.text import Vocabulary, tokens
from tests.conftest import SAMPLES

INTENTS = 12  # the sample's 12 largest intents: about 500 messages, a fit of a few seconds
FAST = cs.Config(max_epochs=15, lr=0.02, threshold_folds=3, members=1, bootstrap=20)


@pytest.fixture(scope="module")
def messages() -> pd.DataFrame:
    df = load_table(SAMPLES / cs.SAMPLE).df
    top = df["category"].value_counts().index[:INTENTS]
    return df[df["category"].isin(top)].reset_index(drop=True)


@pytest.fixture(scope="module")
def model(messages) -> cs.CustomerServiceModel:
    return cs.fit(messages, cs.default_columns(messages), FAST)


def held_out(model, df):
    return df.iloc[model.test["row"]]


def test_roles_are_guessed_from_content_whatever_the_names():
    df = pd.DataFrame(
        {
            "ref": [f"T{i}" for i in range(60)],
            "queue": ["cards", "loans", "fees"] * 20,
            "body": [f"my card number {i} was charged twice, please help me" for i in range(60)],
            "channel": ["email", "chat"] * 30,
        }
    )
    cols, why = cs.column_reasons(df)
    assert (cols.text, cols.category, cols.groups) == ("body", "queue", ("channel",))
    renamed = df.rename(columns={"queue": "x1", "body": "x2", "channel": "x3"})
    guessed = cs.default_columns(renamed)
    assert (guessed.text, guessed.category) == ("x2", "x1"), (
        "the long free text is the message, a short repeated label the category"
    )


def test_network_beats_trivial_models_and_matches_tfidf_on_the_sample(model, messages):
    y = model.test["y"]
    majority = np.bincount(y).max() / len(y)
    assert model.metrics["accuracy"] > majority + 0.5  # measured 0.9 against 0.12
    lr = model.baseline_metrics[cs.LOGISTIC]["accuracy"]
    assert model.metrics["accuracy"] >= lr - 0.05, (model.metrics, lr)
    # An independent TF-IDF + logistic regression on the same split lands where the page's baseline does.
    fit_rows = np.setdiff1d(np.arange(len(messages)), model.test["row"])
    text, cat = messages["text"], messages["category"]
    own = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit(text.iloc[fit_rows])
    clf = LogisticRegression(C=10, max_iter=2000).fit(own.transform(text.iloc[fit_rows]), cat.iloc[fit_rows])
    assert accuracy_score(
        cat.iloc[model.test["row"]], clf.predict(own.transform(text.iloc[model.test["row"]]))
    ) == pytest.approx(lr, abs=0.03)  # multinomial here, one-vs-rest on the page


def test_metrics_agree_with_scikit_learn_on_the_predictions(model, messages):
    rows = held_out(model, messages)
    pred = model.predict(rows)
    assert model.metrics["accuracy"] == pytest.approx(accuracy_score(rows["category"], pred["intent"]), abs=1e-9)
    assert model.metrics["macro_f1"] == pytest.approx(
        f1_score(rows["category"], pred["intent"], average="macro"), abs=1e-6
    )
    assert model.metrics["accuracy"] <= model.metrics["top3"] <= 1
    lo, hi = model.intervals[cs.MODEL]["accuracy"]
    assert lo <= model.metrics["accuracy"] <= hi and hi - lo < 0.2


def test_word_explanations_add_up_to_the_networks_output(model, messages):
    texts = list(held_out(model, messages)["text"].head(20)) + ["", "🙂🙂", "zzzz qqqq"]
    exp = model.explain_texts(texts)
    logits = model.logits(texts)  # the network's own forward pass
    classes = list(model.classes)
    margin = np.array(
        [logits[i, classes.index(exp.toward[i])] - logits[i, classes.index(exp.against[i])] for i in range(len(texts))]
    )
    assert np.allclose(exp.outputs, margin, atol=1e-4), "tokens + base rates = the chosen intent's lead"
    for i in range(len(texts)):
        assert exp.tokens[i]["contribution"].sum() == pytest.approx(exp.values[i, 0], abs=1e-9)
    pred = model.predict(pd.DataFrame({"text": texts}))
    assert list(pred["intent"]) == exp.toward and (margin >= 0).all(), "default: the chosen intent vs the runner-up"
    # Explaining a named intent: that intent against the strongest other one, still exact.
    other = model.explain(pd.DataFrame({"text": texts[:5]}), output=classes[0])
    assert set(other.toward) == {classes[0]} and classes[0] not in other.against


def test_a_telling_word_moves_the_answer_when_removed(model, messages):
    """Before/after: the word pushing hardest toward the intent, taken out, lowers that intent's lead on most messages.

    Not on every one: the network averages a message's features, so taking a word out also gives the words left
    more weight (and removes the word pairs and character pieces it shares with its neighbours)."""
    rows = held_out(model, messages).head(20)
    exp = model.explain(rows)
    drops = []
    for i, text in enumerate(rows["text"]):
        top = exp.words(i, 1, sign=1)
        if not len(top):
            continue
        s, e = int(top["start"][0]), int(top["end"][0])
        after = model.explain_texts(
            [text[:s] + text[e:]], [model.classes.index(exp.toward[i])], [model.classes.index(exp.against[i])]
        )
        drops.append(after.outputs[0] < exp.outputs[i])
    assert len(drops) >= 15 and np.mean(drops) >= 0.75, f"the lead fell on {sum(drops)} of {len(drops)} messages"


def test_explaining_a_message_is_fast(model):
    import time

    clock = time.perf_counter()
    model.explain(pd.DataFrame({"text": ["I lost my card yesterday and need a new one " * 20]}))
    assert time.perf_counter() - clock < 2.0


def test_tokens_work_in_any_script_with_emojis_and_keep_positions():
    text = "Ma carte n'est pas arrivée 😡 — почему? 我的卡丢了 <b>help</b>"
    toks = tokens(text)
    words = [t for t, _, _ in toks]
    assert {"arrivée", "😡", "почему", "我的卡丢了", "help", "<", "b"} <= set(words)
    assert all(text[s:e].casefold() == t for t, s, e in toks)
    voc = Vocabulary.build([text, text], min_count=2)
    assert "w почему" in voc.index and "c <поч" in voc.index and "p pas arrivée" in voc.index
    ids = voc.encode([text, "unknown"])
    assert ids.shape[0] == 2 and (ids[1] == 0).all()


def test_model_file_round_trip_is_weights_and_json(model, messages, tmp_path):
    path = tmp_path / "cs.safetensors"
    model.save(path)
    tensors, meta = load_artifact(path, cs.KIND)
    assert meta["vocabulary"]["terms"] == model.vocabulary.terms, "the tokenizer's vocabulary travels as JSON"
    again = cs.load(path)
    rows = messages.head(30)
    pd.testing.assert_frame_equal(again.predict(rows), model.predict(rows))
    assert np.allclose(again.explain(rows).values, model.explain(rows).values)
    assert again.threshold == model.threshold and again.new_topic_level == model.new_topic_level


def test_threshold_is_the_cheapest_on_out_of_fold_scores(model):
    costs = cs.Costs(misroute=10, triage=2)
    t = model.cheapest_threshold(costs)
    conf, wrong = model.test["oof_conf"], model.test["oof_wrong"].astype(bool)
    assert len(conf) > model.n_rows["validation"], "every training message, scored out of fold"

    def cost(th):  # brute force, independent of evaluate.cost_curve
        auto = conf >= th
        return costs.misroute * (auto & wrong).sum() + costs.triage * (~auto).sum()

    candidates = np.r_[0.0, np.unique(conf), 1.01]
    assert cost(t) == pytest.approx(min(cost(c) for c in candidates))
    low, high = model.threshold_band(costs)
    assert low <= high
    # Triage is dear: automate more. A misroute is dear: automate less.
    assert model.cheapest_threshold(cs.Costs(misroute=1, triage=50)) <= t <= model.cheapest_threshold(cs.Costs(50, 1))
    capped = model.cheapest_threshold(cs.Costs(misroute=1000, triage=1), capacity=100)
    assert 1000 * (conf < capped).mean() <= 100 + 1e-9


def test_when_a_person_is_cheapest_for_every_message_nothing_is_routed_automatically(model, messages):
    """The ends of the threshold mean the same for the page's network as for the networks that chose it: a misroute
    so dear that every training message should go to a person routes no held-out message automatically (the page once
    kept the highest out-of-fold confidence as the threshold, which the page's own, more confident network passed on
    93% of the messages, at 18 times the cost of triaging everything); a free misroute automates everything."""
    import dataclasses

    weak = dataclasses.replace(model, test={**model.test, "oof_wrong": np.ones_like(model.test["oof_wrong"])})
    t = weak.cheapest_threshold(cs.Costs(misroute=10, triage=2))  # every training message was misrouted out of fold
    assert t == 1.0 and weak.threshold_band(cs.Costs(misroute=10, triage=2))[1] == 1.0
    at = model.decide(threshold=t).at_threshold()
    assert at["automated"] == 0.0 and at["triages_per_1000"] == pytest.approx(1000)
    assert (model.decide(threshold=t).predict(held_out(model, messages))["route"] == "to a person").all()
    assert model.cheapest_threshold(cs.Costs(misroute=0.0, triage=1)) == 0.0
    assert model.decide(threshold=0.0).at_threshold()["automated"] == 1.0


def test_decision_moves_the_route_and_the_automation_curve_matches(model, messages):
    rows = held_out(model, messages)
    everything = model.decide(threshold=0.0).predict(rows)
    assert (everything["route"] == "automatic").all()
    nothing = model.decide(threshold=1.01).predict(rows)
    assert (nothing["route"] == "to a person").all()
    at = model.at_threshold()
    pred = model.predict(rows)
    auto = pred["route"] == "automatic"
    assert at["automated"] == pytest.approx(auto.mean())
    assert at["automated_accuracy"] == pytest.approx((pred["intent"][auto] == rows["category"][auto]).mean())
    curve = model.automation_curve()
    assert curve["automated"].is_monotonic_increasing


def test_new_topics_are_measured_on_an_intent_left_out(model):
    s = model.new_topic_summary()
    assert s["new_messages"] > 0 and 0.5 < s["auroc"] <= 1  # better than chance at telling unseen intents apart
    assert s["known_flagged"] == pytest.approx(cs.NEW_TOPIC_MISSES, abs=0.03)
    assert s["caught"] > s["known_flagged"]


def test_per_intent_confusions_and_subgroups(model, messages):
    per = model.per_intent()
    assert set(per["intent"]) == set(model.classes) and per["recall"].between(0, 1).all()
    pairs = model.confused_pairs(messages)
    assert len(pairs) and {"intent", "mixed up with", "examples", "suggestion"} <= set(pairs.columns)
    grouped = messages.assign(channel=np.where(np.arange(len(messages)) % 2, "chat", "email"))
    by = model.by_group(grouped, "channel")
    assert by["messages"].sum() == model.n_rows["test"] and set(by["channel"]) == {"chat", "email"}


def test_scoring_gives_answers_first_then_top_words(model, messages):
    scored = model.score(messages.head(3))
    assert list(scored.columns[:4]) == ["intent", "confidence", "route", "new topic"]
    assert scored["top reasons"].str.contains("'").all()
    with pytest.raises(DataError, match="no column 'text'"):
        model.predict(pd.DataFrame({"message": ["hello"]}))


# ----------------------------------------------------------------------------- bad input as sentences


def _frame(n=60, **over):
    base = {"text": [f"message number {i} about my card" for i in range(n)], "category": ["a", "b", "c"] * (n // 3)}
    base.update(over)
    return pd.DataFrame(base)


def test_no_text_column_is_a_sentence():
    with pytest.raises(DataError, match="no column of text"):
        cs.default_columns(pd.DataFrame({"x": range(10), "y": [1.5] * 10}))
    with pytest.raises(DataError, match="holds numbers"):
        cs.prepare(pd.DataFrame({"text": range(60), "category": ["a", "b"] * 30}), cs.Columns("text", "category"))


def test_empty_messages_are_counted_and_dropped():
    df = _frame(63)
    df.loc[:2, "text"] = ["", "   ", None]
    prep = cs.prepare(df, cs.Columns("text", "category"))
    assert len(prep.texts) == 60 and any("Dropped 3 row(s) whose message is empty" in n for n in prep.notes)


def test_category_with_one_value_or_too_many():
    with pytest.raises(DataError, match="only one value"):
        cs.prepare(_frame(category=["a"] * 60), cs.Columns("text", "category"))
    with pytest.raises(DataError, match="at most"):
        cs.prepare(
            pd.DataFrame({"text": [f"m {i}" for i in range(500)], "category": [f"c{i}" for i in range(500)]}),
            cs.Columns("text", "category"),
        )


def test_a_huge_message_is_cut_and_said():
    df = _frame()
    df.loc[0, "text"] = "card " * 20_000  # 100,000 characters
    prep = cs.prepare(df, cs.Columns("text", "category"))
    assert len(prep.texts[0]) == cs.MAX_CHARS
    assert any("cut to their first" in n and "100,000" in n for n in prep.notes)


def test_rare_categories_are_left_out_with_a_note():
    df = _frame(63, category=["a", "b", "c"] * 20 + ["rare"] * 3)
    prep = cs.prepare(df, cs.Columns("text", "category"))
    assert "rare" not in prep.classes and prep.dropped == {"rare": 3}
    assert any("rare" in n for n in prep.notes)
