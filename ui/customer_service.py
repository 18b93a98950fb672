"""Views of the Customer service page: column roles, the result tabs (performance, what to automate, words behind a
routing, what-if on a message, scoring, subgroups, share) and the report.

Messages are the analyst's customers' words: they are always shown as text. Highlighted words are built from
html.escape'd pieces (st.html, never Markdown), so HTML, e-mail quoting or Markdown inside a message shows as typed.
"""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from engine import customer_service as cs
from engine.data import Table
from engine.explain import TokenExplanation
from ui import charts
from ui.errors import guard
from ui.options import advanced_options
from ui.report import appendix, build_report
from ui.results import comparison_table, metric_cards
from ui.share import share_panel
from ui.state import memo
from ui.style import BASELINE_COLORS, MODEL_COLOR, NEGATIVE_COLOR, POSITIVE_COLOR, in_currency, money, pct
from ui.tabular import (
    batch_scoring,
    capacity_threshold,
    held_out_line,
    hindsight,
    model_file_scoring,
    report_head,
    review_capacity,
)
from ui.training import training_notes

KEYS = ["accuracy", "macro_f1", "top3"]
HELD_SHOWN = 200  # held-out messages offered to explain and to start a what-if from


def column_roles(df: pd.DataFrame, fp: str) -> cs.Columns:
    """Message, category and the columns to compare groups by; the reasons in a caption."""
    d, why = memo("cs_roles", fp, lambda: cs.column_reasons(df), keep=2)
    names = list(df.columns)
    c1, c2 = st.columns(2)
    text = c1.selectbox(
        "Message column (what the customer wrote)",
        names,
        index=names.index(d.text),
        key=f"cs_text_{fp}",
        help="Free text: an e-mail, a chat message, a ticket. Any language or script.",
    )
    category = c2.selectbox(
        "Category column (the team, intent or queue to route to)",
        names,
        index=names.index(d.category),
        key=f"cs_category_{fp}",
        help="The label a person gave each message: what the model learns to predict.",
    )
    groups = st.multiselect(
        "Compare results by (channel, language…; optional)",
        [c for c in names if c not in (text, category)],
        default=[g for g in d.groups if g not in (text, category)],
        key=f"cs_groups_{fp}",
    )
    st.caption("Why these roles: " + "; ".join(f"**{c}**: {w}" for c, w in why.items()) + ".")
    return cs.Columns(text, category, tuple(groups))


def options() -> cs.Config:
    return advanced_options(
        cs.Config,
        "cs",
        {
            "max_epochs": "number",
            "dim": "number",
            "members": "number",
            "threshold_folds": "number",
            "test_fraction": "slider",
            "seed": "number",
            "min_count": "number",
            "dropout": "slider",
            "lr": "number",
        },
    )


def verdict(model: cs.CustomerServiceModel) -> tuple[bool, str]:
    """Whether the network routes at least as accurately as the linear SVM, in a plain sentence."""
    net, svm = model.metrics["accuracy"], model.baseline_metrics[cs.SVM]["accuracy"]
    if net >= svm:
        return (
            True,
            f"The neural network earns its place: its accuracy ({net:.3f}) is at least the linear SVM's ({svm:.3f}).",
        )
    return False, (
        f"The neural network does not beat the linear SVM on this data (accuracy {svm:.3f} against "
        f"{net:.3f}). The difference may be within the intervals below; the network is kept for its "
        "confidence, new-topic flag and word-by-word reasons."
    )


# ----------------------------------------------------------------------------- performance


def performance(model: cs.CustomerServiceModel, df: pd.DataFrame) -> None:
    st.markdown(held_out_line(model.n_rows, "messages"))
    ok, sentence = verdict(model)
    (st.success if ok else st.warning)(sentence, icon=":material/balance:")
    metric_cards(cs.MODEL, model.metrics, model.baseline_metrics, KEYS, model.METRIC_LABELS, cs.METRIC_HELP)
    st.dataframe(
        comparison_table(cs.MODEL, model.metrics, model.baseline_metrics, KEYS, model.METRIC_LABELS, model.intervals),
        width="stretch",
    )
    st.caption(
        f"Same held-out messages for every model; brackets: 95% bootstrap intervals. Guessing the biggest "
        f"category gets {pct(model.per_intent()['held-out messages'].max() / model.n_rows['test'])}."
    )
    per = model.per_intent()
    st.markdown(
        "**Per category** — worst recall first (recall: share of its messages routed to it; precision: share "
        "of messages routed to it that belong there):"
    )
    st.dataframe(
        per,
        hide_index=True,
        width="stretch",
        height=260,
        column_config={k: st.column_config.NumberColumn(format="%.2f") for k in ("precision", "recall", "F1")},
    )
    small = model.small_intents()
    if len(small):
        st.warning(
            f"{len(small):,} categor{'y has' if len(small) == 1 else 'ies have'} fewer than {cs.SMALL_INTENT} "
            f"training messages, too few to learn well: {', '.join(small['intent'][:10])}"
            f"{'…' if len(small) > 10 else ''}. Add examples of them, or merge them into a neighbour.",
            icon=":material/scale:",
        )
    pairs = model.confused_pairs(df)
    if len(pairs):
        st.markdown("**Most confused pairs** — both directions counted, with example messages:")
        st.dataframe(
            pairs,
            hide_index=True,
            width="stretch",
            height=260,
            column_config={"share of the smaller": st.column_config.NumberColumn(format="%.2f")},
        )
        st.caption(
            "A suggestion appears where 30% or more of the smaller category's messages are mixed up: the two "
            "may not be separable from the words alone."
        )
    training_notes(model, "cs")


# ----------------------------------------------------------------------------- the decision


def automation_chart(model: cs.CustomerServiceModel, threshold: float) -> go.Figure:
    curve = model.automation_curve()
    at = model.at_threshold(threshold)
    fig = charts.figure(
        "Automated share against the accuracy of what is automated",
        height=340,
        xaxis_title="share of messages routed automatically",
        yaxis_title="accuracy of those",
    )
    fig.add_scatter(
        x=curve["automated"], y=curve["automated_accuracy"], mode="lines", name=cs.MODEL, line=dict(color=MODEL_COLOR)
    )
    fig.add_scatter(
        x=[at["automated"]],
        y=[at["automated_accuracy"]],
        mode="markers",
        name="your threshold",
        marker=dict(color=BASELINE_COLORS[0], size=12, symbol="diamond"),
    )
    fig.update_xaxes(tickformat=".0%")
    fig.update_yaxes(tickformat=".0%")
    return fig


def _threshold(model: cs.CustomerServiceModel, costs: cs.Costs, capacity: float | None, run_key: str) -> float:
    """The routing threshold: the slider preset to the cheapest threshold for the costs within the triage capacity,
    chosen on the training messages scored out of fold (or on the validation messages)."""
    n = model.n_rows
    folds = len(model.test["oof_conf"]) > n["validation"]
    rows = (
        f"the {len(model.test['oof_conf']):,} training messages, each scored by a network trained without it"
        if folds
        else f"the {n['validation']:,} validation messages"
    )
    best = model.cheapest_threshold(costs, capacity)
    threshold = capacity_threshold(
        model,
        costs,
        capacity,
        best,
        f"cs_{run_key[:8]}",
        "messages",
        "route a message automatically when the model's confidence is at least this",
        rows,
        "Route automatically when the confidence is at least",
        "Preset to the cheapest threshold for your costs; move it to trade misroutes against "
        "manual triage, everything below updates.",
        alerts="manual triages",
    )
    return threshold


def _automation_cards(decided: cs.CustomerServiceModel, costs: cs.Costs, threshold: float) -> dict[str, float]:
    """What the threshold does on the held-out messages: automated share, its accuracy, cost and saving per 1,000
    messages; returns the cost per 1,000 messages of each way of routing."""
    at, cost = decided.at_threshold(), decided.money(costs)
    c = st.columns(4)
    c[0].metric(
        "Routed automatically",
        pct(at["automated"]),
        help="Share of the held-out messages whose confidence reaches the threshold.",
    )
    c[1].metric(
        "Accuracy of those",
        pct(at["automated_accuracy"]),
        help="Share of the automatically routed messages that went to the right category.",
    )
    c[2].metric(
        "Cost per 1,000 messages",
        money(cost[cs.MODEL]),
        help="Misroutes of the automated messages plus the manual triage of the rest.",
    )
    c[3].metric(
        "Saving per 1,000 vs all by hand",
        money(cost["Everything to a person"] - cost[cs.MODEL]),
        help=f"Everything triaged by a person costs {money(cost['Everything to a person'])} per 1,000; "
        f"everything automated {money(cost['Everything automated'])}.",
    )
    st.caption(
        f"On the held-out messages at {threshold:.3f}: {at['automated_n']:,} of {at['n']:,} routed "
        f"automatically, {at['misroutes_per_1000']:.1f} misroutes and {at['triages_per_1000']:.0f} manual "
        "triages per 1,000 messages."
    )
    return cost


def decision(model: cs.CustomerServiceModel, run_key: str) -> tuple[cs.CustomerServiceModel, cs.Costs]:
    """Two costs and a triage capacity → the cheapest confidence threshold (training messages scored out of fold) →
    automation, accuracy and money per 1,000 messages; returns the decided model."""
    c1, c2 = st.columns(2)
    misroute = c1.number_input(
        f"Cost of a misrouted message{in_currency()}",
        0.0,
        1e9,
        10.0,
        1.0,
        key="cs_cost_misroute",
        help="A wrong team reads it, passes it on, and the customer waits longer.",
    )
    triage = c2.number_input(
        f"Cost of a manual triage{in_currency()}",
        0.0,
        1e9,
        2.0,
        0.5,
        key="cs_cost_triage",
        help="A person reads the message and picks the team.",
    )
    costs = cs.Costs(misroute, triage)
    capacity = review_capacity("messages", "cs", "manual triages", "your team can handle", "Triage capacity")
    threshold = _threshold(model, costs, capacity, run_key)
    decided = model.decide(threshold=threshold)
    cost = _automation_cards(decided, costs, threshold)
    st.plotly_chart(automation_chart(decided, threshold), key="cs_automation")
    st.caption(
        "Left: automate only the surest messages, nearly always right. Right: automate more, with more "
        "mistakes. The diamond is your threshold."
    )
    hindsight(
        model,
        costs,
        capacity,
        cost[cs.MODEL],
        f"cs_{run_key[:8]}",
        "messages",
        "misroutes",
        "a later period, new products, another channel",
    )
    new_topics(decided)
    return decided, costs


def new_topics(model: cs.CustomerServiceModel) -> None:
    s = model.new_topic_summary()
    st.markdown("**New topics** — messages unlike any category seen in training are flagged, not forced into one.")
    if not s:
        st.info(
            "Not measured for this run: it needs threshold folds (Advanced training options) and at least three "
            "categories with enough messages.",
            icon=":material/help:",
        )
        return
    st.markdown(
        f"Measured by leaving one category out of each fold's training ({s['new_messages']:,.0f} messages the "
        f"fold networks never saw a category for): a confidence under **{model.new_topic_level:.3f}** flags "
        f"**{pct(s['caught'])}** of them, and {pct(s['known_flagged'])} of messages of known categories. "
        f"At your routing threshold {pct(s['new_automated'])} of those new-topic messages would still be routed "
        f"automatically (to a wrong team). Telling new from known (AUROC, 0.5 is guessing): "
        f"**{s['auroc']:.3f}**."
    )


# ----------------------------------------------------------------------------- words


def highlighted(text: str, tokens: pd.DataFrame) -> str:
    """The message as escaped HTML, each token tinted by its push: orange toward the intent, blue away from it."""
    top = float(tokens["contribution"].abs().max()) if len(tokens) else 0.0
    parts, at = [], 0
    for t in tokens.sort_values("start").itertuples():
        if t.start < at:
            continue
        parts.append(html.escape(text[at : t.start]))
        piece = html.escape(text[t.start : t.end])
        strength = abs(t.contribution) / top if top > 0 else 0.0
        if strength >= 0.05:
            rgb = (213, 94, 0) if t.contribution > 0 else (0, 114, 178)
            parts.append(
                f"<span style='background:rgba({rgb[0]},{rgb[1]},{rgb[2]},{0.15 + 0.6 * strength:.2f});"
                f"border-radius:3px;padding:0 2px' title='{t.contribution:+.2f}'>{piece}</span>"
            )
        else:
            parts.append(piece)
        at = t.end
    parts.append(html.escape(text[at:]))
    return (
        "<div style='white-space:pre-wrap;font-size:1.05rem;line-height:1.8;border:1px solid #ddd;"
        "border-radius:6px;padding:.6rem .8rem'>" + "".join(parts) + "</div>"
    )


def word_chart(exp: TokenExplanation, i: int, top: int = 12) -> go.Figure:
    words = exp.words(i, top).iloc[::-1]
    fig = charts.figure(
        f"Words for {exp.toward[i]} (orange) and for {exp.against[i]} (blue)",
        height=max(220, 26 * len(words) + 90),
        xaxis_title="push on the lead (logit)",
    )
    fig.add_bar(
        x=words["contribution"],
        y=[f"{w} ({s})" for w, s in zip(words["token"], words["start"])],
        orientation="h",
        marker_color=[POSITIVE_COLOR if v > 0 else NEGATIVE_COLOR for v in words["contribution"]],
    )
    return fig


def one_message(model: cs.CustomerServiceModel, exp: TokenExplanation, i: int, key: str) -> None:
    """A message's answer, its highlighted words, and the chart of the words' pushes."""
    toward, against = exp.toward[i], exp.against[i]
    pred = model.predict(pd.DataFrame({model.columns.text: [exp.texts[i]]})).iloc[0]
    c = st.columns([5, 2, 3, 2])  # intent names are long (balance_not_updated_after_cheque_or_cash_deposit)
    c[0].metric("Intent", toward, help="The category the model routes this message to.")
    c[1].metric("Confidence", pct(pred["confidence"]), help="The model's probability for that category.")
    c[2].metric("Route", pred["route"], help=f"Automatic when the confidence is at least {model.threshold:.3f}.")
    c[3].metric(
        "New topic?",
        "yes" if pred["new topic"] else "no",
        help=f"Flagged when the confidence is under {model.new_topic_level:.3f}: unlike the known categories.",
    )
    st.html(highlighted(exp.texts[i], exp.tokens[i]))
    st.caption(
        f"Orange words pushed the message toward **{toward}**, blue ones toward the runner-up **{against}**; "
        f"the stronger the tint, the stronger the push. The pushes plus the two categories' base rates "
        f"({exp.values[i, 1]:+.2f}) add up exactly to the lead of {toward} ({exp.outputs[i]:+.2f} in logits)."
    )
    if len(exp.tokens[i]):
        st.plotly_chart(word_chart(exp, i), key=f"{key}_words")


def explanations(model: cs.CustomerServiceModel, held: pd.DataFrame, run_key: str) -> None:
    texts = model.texts_of(held)
    st.markdown("**Most telling words per category** — summed over the held-out messages routed to it:")
    with guard("finding the telling words", stop=False):
        words = memo("cs_telling", run_key, lambda: model.telling_words(texts[:500]), keep=2)
        intents = sorted(words["intent"].unique())
        if intents:
            pick = st.selectbox("Category", intents, key="cs_exp_intent")
            st.dataframe(
                words[words["intent"] == pick].drop(columns="intent"),
                hide_index=True,
                width="stretch",
                column_config={k: st.column_config.NumberColumn(format="%.2f") for k in ("mean push", "total push")},
            )
    st.markdown("**One message**")
    i = st.selectbox(
        "Pick a held-out message",
        range(min(len(texts), HELD_SHOWN)),
        key="cs_exp_row",
        format_func=lambda j: texts[j][:90] + ("…" if len(texts[j]) > 90 else ""),
    )
    with guard("explaining the message", stop=False):
        one_message(model, model.explain_texts([texts[i]]), 0, "cs_exp")


def what_if(model: cs.CustomerServiceModel, held: pd.DataFrame) -> None:
    texts = model.texts_of(held)
    st.caption(
        "Start from a held-out message, or type your own, and edit it: the intent, the confidence, the route and "
        "the highlighted words follow each change (press Ctrl+Enter or click outside the box)."
    )
    i = st.selectbox(
        "Start from",
        range(min(len(texts), HELD_SHOWN)),
        key="cs_wi_row",
        format_func=lambda j: texts[j][:90] + ("…" if len(texts[j]) > 90 else ""),
    )
    edited = st.text_area("Message", texts[i], key=f"cs_wi_text_{i}", max_chars=cs.MAX_CHARS, height=110)
    with guard("updating the what-if", stop=False):
        before = model.predict(pd.DataFrame({model.columns.text: [texts[i]]})).iloc[0]
        exp = model.explain_texts([edited])
        if edited != texts[i]:
            st.markdown(
                f"As written it went to **{before['intent']}** ({pct(before['confidence'])}, "
                f"{before['route']}); with your edit:"
            )
        one_message(model, exp, 0, "cs_wi")


# ----------------------------------------------------------------------------- subgroups, report, results


def subgroups(model: cs.CustomerServiceModel, df: pd.DataFrame) -> pd.DataFrame | None:
    groups = [g for g in model.columns.groups if g in df.columns]
    if not groups:
        st.info(
            "Pick a channel or language column under **Columns** (Compare results by…) to see whether the model "
            "routes some groups worse than others.",
            icon=":material/groups:",
        )
        return None
    col = st.selectbox("Compare by", groups, key="cs_subgroup")
    table = model.by_group(df, col)
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            k: st.column_config.NumberColumn(format="%.3f")
            for k in ("accuracy", "accuracy 95% from", "to", "routed automatically", "accuracy when automatic")
        },
    )
    st.caption(
        "Held-out messages per group at your threshold; the 95% interval shows how sure each group's accuracy "
        "is (small groups: wide). A group far below the others needs more training examples."
    )
    return table


def report(model: cs.CustomerServiceModel, table: Table, costs: cs.Costs, by_group: pd.DataFrame | None) -> str:
    perf = comparison_table(cs.MODEL, model.metrics, model.baseline_metrics, KEYS, model.METRIC_LABELS, model.intervals)
    at, cost = model.at_threshold(), model.money(costs)
    lead = [
        f"At a confidence threshold of {model.threshold:.3f} the model routes {pct(at['automated'])} of messages "
        f"automatically, {pct(at['automated_accuracy'])} of them to the right team, for "
        f"{money(cost[cs.MODEL], 'per 1,000 messages')} against {money(cost['Everything to a person'], 'per 1,000')} "
        "with everything triaged by hand.",
        verdict(model)[1],
    ]
    sections = [
        ("Performance on held-out messages", [perf, model.per_intent()]),
        (
            "What to automate",
            [
                f"A misroute costs {money(costs.misroute)}, a manual triage {money(costs.triage)}.",
                pd.DataFrame({f"cost per 1,000 messages{in_currency()}": cost}),
                automation_chart(model, model.threshold),
            ],
        ),
        ("Most confused pairs", [model.confused_pairs()]),
        *([("By group", [by_group])] if by_group is not None else []),
        *report_head(table, model, "messages"),
        appendix(
            model.columns,
            model.config,
            names=model.dictionary,
            extra=[f"Confidence threshold {model.threshold:.3f}; new-topic level {model.new_topic_level:.3f}."],
        ),
    ]
    return build_report(
        "Customer service: routing messages to the right team", sections, subtitle=f"dataset {table.name}", lead=lead
    )


def results(model: cs.CustomerServiceModel, table: Table, run_key: str, run_id: str | None) -> None:
    """Step 4: Performance · What to automate · Explanations · What-if · Score new data · Subgroups · Share."""
    df = table.df
    held = df.iloc[model.test["row"][:HELD_SHOWN]]
    st.subheader("4 · Results")
    tabs = st.tabs(
        ["Performance", "What to automate", "Explanations", "What-if", "Score new data", "Subgroups", "Share"]
    )
    with tabs[1]:
        with guard("weighing the costs"):
            model, costs = decision(model, run_key)
    with tabs[0]:
        performance(model, df)
    with tabs[2]:
        explanations(model, held, run_key)
    with tabs[3]:
        what_if(model, held)
    with tabs[4]:
        batch_scoring(
            "cs",
            model.score,
            [model.columns.text],
            "customer_service_scores.csv",
            caption=f"Upload a CSV with a column '{model.columns.text}' holding the messages. The answers come "
            "first: intent, confidence, automatic or to a person, new topic, then the top words.",
            example=df[[model.columns.text]],
        )
    with tabs[5]:
        by_group = subgroups(model, df)
    with tabs[6]:
        share_panel(
            "customer_service",
            run_id,
            memo("cs_model_file", f"{run_key}_{model.threshold}_{model.dictionary.digest()}", model.to_bytes),
            "customer_service_model.safetensors",
            report=lambda: report(model, table, costs, by_group),
            report_key=f"{costs}_{st.session_state.get('cs_subgroup', '') if by_group is not None else ''}",
        )


def score_with_model_file() -> None:
    with st.expander("Already have a model file from this page? Score new messages with it, no training"):
        model_file_scoring(
            "cs",
            cs.load,
            "customer_service_scores.csv",
            lambda m: f"Routing model for '{m.columns.category}' ({len(m.classes)} categories)",
            required=lambda m: [m.columns.text],
        )
