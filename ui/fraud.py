"""Views of the Fraud detection page: column roles, money inputs, results tabs, the report. The page arranges them."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from engine import fraud as fr
from engine import roles
from engine.options import help_of
from engine.data import Table
from engine.subgroups import Subgroups
from engine.explain import Explanation
from ui import charts
from ui.errors import guard
from ui.report import appendix, build_report
from ui.results import comparison_table, download_csv, metric_cards
from ui.share import share_panel
from ui.state import memo
from ui.subgroups import report_section, subgroup_view
from ui.tabular import (batch_scoring, capacity_threshold, dependence_view, held_out_line, hindsight, model_file_scoring,
                        money_cards, report_head, review_capacity, what_if)
from ui.training import headline_verdict, training_notes
from ui.style import MODEL_COLOR, POSITIVE_COLOR, in_currency, money, pct

NO_LABEL = "(no label: find unusual transactions)"
NONE = "(none)"
FLAG_LIMIT = 200  # flagged transactions listed (and explained) on the page
KEYS = ["auprc", "roc_auc", "precision", "recall", "f1"]
LABELS = {"auprc": "AUPRC", "roc_auc": "ROC-AUC", "precision": "Precision", "recall": "Recall", "f1": "F1",
          "cost_per_1000": "Cost per 1,000 transactions", "alerts_per_1000": "Alerts per 1,000 transactions",
          "threshold": "Threshold"}


# ----------------------------------------------------------------------------- 2 · Columns


def _pick(box, label: str, options: list, default, key: str, help: str):
    return box.selectbox(label, options, index=options.index(default) if default in options else 0, key=key, help=help)


def column_roles(df: pd.DataFrame, fp: str) -> fr.FraudColumns:
    """Label (optional), which value is fraud, amount (optional), time (optional), features."""
    d = fr.default_columns(df)
    names = [str(c) for c in df.columns]
    c1, c2, c3, c4 = st.columns(4)
    label = _pick(c1, "Fraud label (optional)", [NO_LABEL, *names], d.label or NO_LABEL, f"fr_label_{fp}",
                  "The column saying which past transactions were fraud. Without one, an autoencoder looks for "
                  "transactions unlike the rest.")
    label = None if label == NO_LABEL else label
    fraud_value = None
    if label is not None:
        values = fr.label_values(df[label])[:50]
        guess = fr.guess_fraud_value(values, roles.label_text(df[label]).value_counts())
        fraud_value = _pick(c2, "Value that means fraud", values, guess, f"fr_fraud_{fp}_{label}",
                            "Rows with this label value are frauds; the others are genuine.")
    amount = _pick(c3, "Amount (optional)", [NONE, *[c for c in names if c != label]], d.amount or NONE, f"fr_amount_{fp}_{label}",
                   "The transaction's amount: lets a missed fraud cost what it was worth.")
    amount = None if amount == NONE else amount
    time = _pick(c4, "Time (optional)", [NONE, *[c for c in names if c not in (label, amount)]], d.time or NONE,
                 f"fr_time_{fp}_{label}", "When each transaction happened. With a time, the models train on the "
                 "earlier transactions and are tested on the latest ones, as they would be used.")
    time = None if time == NONE else time
    candidates = [c for c in names if c not in (label, time)]
    default = [c for c in d.features if c in candidates]
    if amount is not None and amount not in default:
        default.append(amount)
    features = st.multiselect("Feature columns (what the models may use)", candidates, default=default,
                              key=f"fr_features_{fp}_{label}_{time}",
                              help="Free-text, id and date columns are left out by default.")
    st.caption(roles.summary(df, {"Label": label, "Amount": amount, "Time": time}, features))
    return fr.FraudColumns(label, tuple(features), amount, time, fraud_value)


def options(has_label: bool) -> fr.FraudConfig:
    helps = help_of(fr.FraudConfig)
    with st.expander("Advanced training options"):
        a1, a2, a3 = st.columns(3)
        mode = "auto"
        if has_label:
            anomaly = a1.toggle("Ignore the label (train the autoencoder only)", False, key="fr_anomaly",
                                bind="query-params", help=helps["mode"]["help"])
            mode = "anomaly" if anomaly else "auto"
        return fr.FraudConfig(
            mode=mode,
            loss=a2.selectbox("Loss for rare frauds", ["weighted", "focal"], key="fr_loss", bind="query-params", help=helps["loss"]["help"]),
            max_epochs=a3.number_input("Most epochs", 5, 2000, 150, key="fr_epochs", bind="query-params", help=helps["max_epochs"]["help"]),
            test_fraction=a1.slider("Held-out share", 0.1, 0.5, 0.25, 0.05, key="fr_test", bind="query-params", help=helps["test_fraction"]["help"]),
            dropout=a2.slider("Dropout", 0.0, 0.8, 0.3, 0.05, key="fr_dropout", bind="query-params", help=helps["dropout"]["help"]),
            seed=a3.number_input("Random seed", 0, 10_000, 0, key="fr_seed", bind="query-params", help=helps["seed"]["help"]),
        )


# ----------------------------------------------------------------------------- money and threshold


def money_inputs(model: fr.FraudModel, key: str) -> fr.Costs:
    """What a false alarm and a missed fraud cost; the amount is the default loss when one is mapped."""
    c1, c2, c3 = st.columns(3)
    fa = c1.number_input(f"Cost of reviewing a false alarm{in_currency()}", 0.0, 1e9, 5.0, 1.0, key=f"{key}_fa",
                         help="What one needless review costs you (staff time, an annoyed customer).")
    by_amount = False
    if model.has_amount:
        by_amount = c2.radio("A missed fraud costs", ["the transaction's amount", "a fixed amount"], key=f"{key}_how",
                             help="The money lost when a fraud goes unflagged.") == "the transaction's amount"
    missed = c3.number_input(f"Cost of a missed fraud{in_currency()}", 0.0, 1e12, 100.0, 10.0, key=f"{key}_miss", disabled=by_amount,
                             help="Used when a missed fraud costs a fixed amount (or no amount column is mapped).")
    return fr.Costs(false_alarm=fa, missed=missed, missed_is_amount=by_amount)


def threshold_slider(model: fr.FraudModel, costs: fr.Costs | None, key: str) -> tuple[float, float | None]:
    """The analyst's threshold and review capacity (alerts per 1,000, None = no limit): the slider is preset to the
    cheapest threshold within the capacity (or to an alert budget without labels)."""
    if costs is None:
        per_1000 = st.slider("Alerts per 1,000 transactions you can review", 1, 200, 20, key=f"{key}_budget",
                             help="Without a label the money cannot be weighed; flag the most unusual transactions instead.")
        return model.alert_threshold(per_1000), None
    capacity = review_capacity("transactions", key)
    n = model.n_rows
    rows = (f"all {n['train'] + n['validation']:,} training transactions, each scored by a network trained without it"
            if model.folds else f"the {n['validation']:,} validation transactions")
    threshold = capacity_threshold(model, costs, capacity, model.cheapest_threshold(costs, capacity), key,
                                   "transactions", f"flag a transaction when its {model.score_name} is at least this",
                                   rows, f"Threshold: flag when the {model.score_name} is at least",
                                   "Move it to trade missed frauds against false alarms; everything below updates.")
    return threshold, capacity


# ----------------------------------------------------------------------------- Performance


def _rows_line(model: fr.FraudModel) -> str:
    latest = f"the **{model.n_rows['test']:,} latest transactions** (split by time)" if model.columns.time else None
    return held_out_line(model.n_rows, "transactions", latest, threshold_on_validation=not model.folds)


def performance(model: fr.FraudModel, ev: dict, threshold: float) -> None:
    st.markdown(_rows_line(model))
    main, rest = ev[model.model_name], {k: v for k, v in ev.items() if k != model.model_name}
    metric_cards(model.model_name, main, rest, KEYS, LABELS, fr.METRIC_HELP)
    st.caption(f"Fraud rate of these rows: {pct(main['fraud_rate'])} — what guessing gets for AUPRC. Precision, recall "
               f"and F1: {model.model_name.lower()} at your threshold ({threshold:.3f}); the others at their own "
               "cheapest threshold for the same costs.")
    st.dataframe(comparison_table(model.model_name, main, rest, KEYS, LABELS, model.intervals),
                 width="stretch")
    st.caption("Same held-out rows for every model; brackets: 95% bootstrap intervals.")
    if fr.AE_REFERENCE in ev:
        gain = main["auprc"] - ev[fr.AE_REFERENCE]["auprc"]
        st.info(f"**What the labels buy:** an autoencoder trained on the same rows without the labels reaches an AUPRC "
                f"of {ev[fr.AE_REFERENCE]['auprc']:.3f}; learning from the labels gives {main['auprc']:.3f} "
                f"({gain:+.3f}).", icon=":material/label:")
    g1, g2 = st.columns(2)
    pr_points = {k: (v["recall"], v["precision"]) for k, v in ev.items() if np.isfinite(v["precision"])}
    g1.plotly_chart(charts.pr_chart(model.pr_curves(), pr_points, main["fraud_rate"]), key="fr_pr")
    g1.caption("Higher and further right is better: more frauds caught with fewer false alarms. Dots: each model at its threshold.")
    roc_points = {k: (v["fp"] / max(v["fp"] + v["tn"], 1), v["recall"]) for k, v in ev.items()}
    g2.plotly_chart(charts.roc_chart(model.roc_curves(), roc_points), key="fr_roc")
    g2.caption("The closer to the top left, the better; with rare frauds, small moves on the left matter most.")
    st.plotly_chart(score_histogram(model.test_scores(), threshold, model.score_name), key="fr_hist")
    st.caption("Genuine transactions should pile up on the left and frauds on the right; the dashed line is your threshold.")


def score_histogram(frame: pd.DataFrame, threshold: float, score_name: str) -> go.Figure:
    title = (f"How the {score_name} separates frauds from genuine transactions" if "truth" in frame
             else f"How the {score_name} is spread over transactions")
    fig = charts.figure(title, barmode="overlay", height=340, xaxis=dict(title=score_name, range=[0, 1]),
                      yaxis_title="% of transactions", legend=dict(yanchor="top", y=0.98, xanchor="center", x=0.5))
    groups = [("genuine", MODEL_COLOR), ("fraud", POSITIVE_COLOR)] if "truth" in frame else [(None, MODEL_COLOR)]
    for truth, color in groups:
        s = frame["score"] if truth is None else frame.loc[frame["truth"] == truth, "score"]
        fig.add_histogram(x=s, name=truth or "all transactions", marker_color=color, opacity=0.6, histnorm="percent",
                          xbins=dict(start=0, end=1, size=0.025))
    fig.add_vline(x=threshold, line_dash="dash", line_color="black", annotation_text="threshold")
    return fig


# ----------------------------------------------------------------------------- Cost & threshold


def cost_view(model: fr.FraudModel, costs: fr.Costs, ev: dict, threshold: float) -> None:
    main = ev[model.model_name]
    base_name = model.baselines[0]
    base = ev[base_name]
    none = model.no_model_cost(costs)
    n = model.n_rows["test"]
    per = 1000 / max(n, 1)  # every card per 1,000 transactions; totals on the held-out rows say so
    money_cards("transactions", main["cost_per_1000"], per * (none - main["cost"]), per * (base["cost"] - main["cost"]),
                base_name, main["alerts_per_1000"], [fr.METRIC_HELP["cost_per_1000"],
                f"Flagging nothing would cost {money(none, 'in total')} on these {n:,} held-out transactions (every fraud missed).",
                f"{base_name} at its own cheapest threshold costs {money(base['cost'], 'in total')} on the same rows.",
                fr.METRIC_HELP["alerts_per_1000"]], none_delta=pct((none - main["cost"]) / none) if none else None)
    st.caption(f"Money on the {n:,} held-out transactions at your threshold ({threshold:.3f}): {main['fp']:,} false alarm(s) "
               f"and {main['fn']:,} missed fraud(s) cost {money(main['cost'], 'in total')}.")
    if base["cost"] < main["cost"]:
        st.warning(f"At these costs {base_name.lower()} is cheaper on these rows than the {model.model_name.lower()} "
                   f"(by {money(main['cost'] - base['cost'], 'in total')}): here the simpler model earns its keep.",
                   icon=":material/balance:")
    g1, g2 = st.columns([3, 2])
    g1.plotly_chart(charts.cost_chart({k: model.cost_curve(costs, k) for k in (model.model_name, *model.baselines)}, threshold,
                               1000 * none / max(n, 1)), key="fr_cost")
    g1.caption("Diamonds: each model's cheapest threshold on these held-out rows (the page chooses on the validation "
               "rows, so yours may sit a little off); the dashed line is your threshold.")
    cm = np.array([[main["tn"], main["fp"]], [main["fn"], main["tp"]]])
    g2.plotly_chart(charts.confusion_chart(cm, ["genuine", "fraud"], f"{model.model_name} at {threshold:.3f}"), key="fr_cm")
    g2.caption("Rows: what was true; columns: what the model said. Top right: false alarms; bottom left: missed frauds.")


# ----------------------------------------------------------------------------- Flagged list and explanations


def flagged_view(model: fr.FraudModel, top: pd.DataFrame, exp: Explanation | None, threshold: float, limit: int) -> None:
    flagged = top[top[model.score_name] >= threshold]
    where = "held-out transactions" if model.has_label else "transactions in your file"
    if flagged.empty:
        st.info(f"No {where} score at or above the threshold ({threshold:.3f}). Lower it to see flagged transactions.")
        return
    more = " (the highest shown)" if len(flagged) == limit else ""
    st.markdown(f"**{len(flagged):,} flagged {where}**{more}, highest {model.score_name} first, each with the columns "
                "that pushed it up the most.")
    config = {"row": st.column_config.NumberColumn("row in your file", format="%d"),
              model.score_name: st.column_config.ProgressColumn(model.score_name, min_value=0, max_value=1, format="%.3f"),
              "top reasons": st.column_config.TextColumn("top reasons", width="large")}
    if model.columns.amount in flagged:
        config[model.columns.amount] = st.column_config.NumberColumn(model.columns.amount, format="%.2f")
    st.dataframe(flagged, hide_index=True, width="stretch", height=320, column_config=config)
    download_csv(flagged, "Download the flagged list (CSV)", "flagged_transactions.csv", key="fr_flagged_download")
    whom = "genuine training transactions" if model.has_label else "the training transactions"
    st.caption(f"Reasons compare each value with {whom} (\"unusually low\": below 95% of them; \"extremely\": 99%).")
    if exp is None:
        return
    pick = st.selectbox("Look closer at", list(flagged.index), key="fr_flag_pick",
                        format_func=lambda i: f"row {int(top.loc[i, 'row']):,} · {model.score_name} {top.loc[i, model.score_name]:.3f}")
    st.markdown("**Why it was flagged:** " + ("; ".join(model.row_reasons(exp, int(pick))) or "no single column stands out"))
    fig = charts.shap_waterfall(exp, int(pick), axis_title=None if model.mode == "labelled" else "reconstruction error",
                                names=model.dictionary)
    st.plotly_chart(fig, key="fr_waterfall")
    unit = ("points of the fraud score (percentage points), as on every chart of the tab" if model.mode == "labelled"
            else "reconstruction error; each column's exact share")
    towards = "fraud" if model.mode == "labelled" else "unusual"
    st.caption(f"From the average transaction to this one: orange bars push towards {towards}, blue away ({unit}).")


def explanations_view(model: fr.FraudModel, exp: Explanation) -> None:
    how = ("SHAP values of the network" if model.mode == "labelled" else
           "each column's share of the autoencoder's reconstruction error, above the average transaction's")
    st.markdown(f"**Across {len(exp.data):,} held-out transactions** — {how}.")
    c1, c2 = st.columns(2)
    c1.plotly_chart(charts.shap_bar(exp, names=model.dictionary), key="fr_shap_bar")
    c1.caption("Longer bars: columns that move the score the most, on average.")
    c2.plotly_chart(charts.shap_beeswarm(exp, names=model.dictionary), key="fr_shap_swarm")
    c2.caption("Dots right of zero push towards fraud; orange dots are high values of that column, blue low.")
    dependence_view(exp, "fr_shap", labels=model.dictionary, row_label="transaction")


# ----------------------------------------------------------------------------- What-if


def what_if_view(model: fr.FraudModel, df: pd.DataFrame, top: pd.DataFrame | None, exp: Explanation | None,
                 threshold: float) -> None:
    """Edit one transaction's values → its score, whether it would be flagged at the analyst's threshold, and how its
    reasons change. Starts from the highest-scoring transactions (the flagged list), where 'what would clear it' is
    the question; without a label the score is the autoencoder's anomaly score."""
    if model.mode == "labelled":
        st.caption(f"Start from a transaction and change its values: its fraud score, whether it would be flagged at your "
                   f"threshold ({threshold:.3f}) and the reasons update at once.")
    else:
        st.caption(f"Without a label the what-if moves the anomaly score — how unlike the training transactions this one "
                   f"is — and whether it would be flagged at your threshold ({threshold:.3f}); a labelled run would "
                   "answer with the risk of fraud instead.")
    if top is not None and len(top):
        rows = [int(r) - 1 for r in top["row"]]
        score_of = dict(zip(rows, top[model.score_name]))
    else:
        rows = [int(i) for i in model.held_out(df, 200).index]
        score_of = {}
    pick = st.selectbox("Start from transaction", rows, key="fr_whatif_row",
                        format_func=lambda r: f"row {r + 1:,}" + (f" · {model.score_name} {score_of[r]:.3f}" if r in score_of else ""),
                        help="Highest score first: the transactions your threshold flags come at the top.")
    order = list(exp.importance().index) if exp is not None else model.features

    def verdict(edited: pd.Series, before: float, after: float) -> None:
        def said(s: float) -> str:
            return f"**{'flagged' if s >= threshold else 'not flagged'}** ({model.score_name} {s:.3f})"
        st.markdown(f"At your threshold ({threshold:.3f}): as recorded {said(before)}; with your changes {said(after)}.")
        was = model.row_reasons(model.explain(df.iloc[[pick]][model.features]), 0)
        now = model.row_reasons(model.explain(edited.to_frame().T), 0)
        c1, c2 = st.columns(2)
        c1.markdown("**Reasons as recorded:** " + ("; ".join(was) or "no single column stands out"))
        c2.markdown("**Reasons with your changes:** " + ("; ".join(now) or "no single column stands out"))

    with guard("updating the what-if", stop=False):
        what_if(df.iloc[pick][model.features], model.preprocessor.plans_, order, lambda d: float(model.scores(d)[0]),
                model.explain, key=f"fr_wi_{pick}", risk_label=model.score_name.capitalize(), verdict=verdict,
                names=model.dictionary)


# ----------------------------------------------------------------------------- 4 · Results (also for shared runs)


def results(model: fr.FraudModel, table: Table, run_key: str, run_id: str | None) -> None:
    """Step 4: costs and threshold, then Performance · Cost & threshold · Flagged · Explanations · Score · Share."""
    df = table.df
    st.subheader("4 · Results")
    costs = None
    if model.has_label:
        st.markdown("**What mistakes cost you** — the page picks the threshold with the lowest expected cost.")
        with guard("reading the costs"):
            costs = money_inputs(model, "fr")
    threshold, capacity = threshold_slider(model, costs, f"fr_{run_key[:8]}")
    ev = model.evaluate(costs, threshold, capacity) if costs is not None else {}
    top = exp_top = exp_global = None
    with guard("explaining the flagged transactions", stop=False):
        top, exp_top = memo("fr_top", run_key, lambda: model.top_rows(df, FLAG_LIMIT))
    with guard("explaining the model", stop=False):
        exp_global = memo("fr_explain", run_key, lambda: model.explain(model.held_out(df, 200)))

    if model.has_label:
        perf, cost, flagged, groups, expl, whatif, score, share = st.tabs(
            ["Performance", "Cost & threshold", "Flagged transactions", "Subgroups", "Explanations", "What-if",
             "Score new data", "Share"])
        with perf:
            performance(model, ev, threshold)
            training_notes(model, "fr")
        with cost:
            cost_view(model, costs, ev, threshold)
            hindsight(model, costs, capacity, ev[model.model_name]["cost_per_1000"], f"fr_{run_key[:8]}", "transactions",
                      "frauds", "a later period, a new fraud pattern")
        with groups:
            risk = model.test[model.model_name]
            by_group = subgroup_view("fr", model.held_out(df), model.test["y"], risk >= threshold, risk,
                                     "transactions", "frauds", exclude=(model.columns.label or "",), names=model.dictionary)
    else:
        by_group = None  # no label: nothing to compare per group
        perf, flagged, expl, whatif, score, share = st.tabs(["Scores", "Flagged transactions", "Explanations", "What-if",
                                                             "Score new data", "Share"])
        with perf:
            st.markdown(f"No label, so no accuracy can be measured: the {model.score_name} says how unlike the rest of "
                        "your file a transaction is. Check the flagged ones by hand, and add a label once you know outcomes.")
            st.plotly_chart(score_histogram(model.test_scores(), threshold, model.score_name), key="fr_hist")
            st.caption("Most transactions should sit on the left; the long tail on the right is what gets flagged.")
            training_notes(model, "fr")
    with flagged:
        if top is not None:
            flagged_view(model, top, exp_top, threshold, FLAG_LIMIT)
    with expl:
        if exp_global is not None:
            explanations_view(model, exp_global)
    with whatif:
        what_if_view(model, df, top, exp_global, threshold)
    with score:
        batch_scoring("fr", model.decide(threshold=threshold).score, model.features, "fraud_scores.csv", example=table.df)
        st.caption(f"Each row gets its {model.score_name}, whether it is flagged at your threshold ({threshold:.3f}), "
                   "and for flagged rows the top three reasons.")
    with share:
        share_panel("fraud", run_id, memo("fr_model_file", f"{run_key}_{model.dictionary.digest()}", model.to_bytes), "fraud_model.safetensors",
                    report=lambda: report(model, table, costs, threshold, ev, exp_global, capacity, by_group),
                    report_key=f"{costs}_{threshold}_{capacity}_{by_group.column if by_group else ''}")


def costs_in_words(costs: fr.Costs | None, threshold: float, capacity: float | None) -> str:
    """How the threshold was chosen, as the analyst set it: 'Threshold chosen from costs: a miss costs …'."""
    if costs is None:
        return f"Threshold {threshold:.3f}, set from the number of alerts you can review (no label, so no costs)."
    miss = "the transaction's amount" if costs.missed_is_amount else money(costs.missed)
    cap = f", with at most {capacity:,.0f} alerts per 1,000 transactions" if capacity else ""
    return (f"Threshold {threshold:.3f}, chosen from costs{cap}: a missed fraud costs {miss}, a false alarm "
            f"{money(costs.false_alarm)}.")


def report_lead(model: fr.FraudModel, costs: fr.Costs | None, threshold: float, ev: dict) -> list[str]:
    """The business result and verdict, first in the report: money per 1,000 transactions against flagging nothing."""
    if not ev:
        return [f"No label, so no money can be measured: {model.model_name.lower()} ranks transactions by how unusual "
                f"they are; at threshold {threshold:.3f} the flagged ones are listed for review."]
    main = ev[model.model_name]
    n = model.n_rows["test"]
    none_per_1000 = 1000 * model.no_model_cost(costs) / max(n, 1)
    base_name = model.baselines[0]
    base = ev.get(base_name, {})
    lines = [f"The {model.model_name.lower()} costs {money(main['cost_per_1000'], 'per 1,000 transactions')} at "
             f"threshold {threshold:.3f}, against {money(none_per_1000, 'per 1,000')} for flagging nothing: a saving of "
             f"{money(none_per_1000 - main['cost_per_1000'], 'per 1,000 transactions')}. It raises "
             f"{main['alerts_per_1000']:.1f} alerts per 1,000 transactions and catches {pct(main['recall'])} of frauds."]
    if "cost_per_1000" in base:  # the one verdict (ui.results.verdict), weighed by the money on the same rows
        lines += headline_verdict("fraud", model, {model.model_name: main["cost_per_1000"],
                                                   base_name: base["cost_per_1000"], "No model": none_per_1000},
                                  "transactions")
    return lines


def report(model: fr.FraudModel, table: Table, costs: fr.Costs | None, threshold: float, ev: dict,
           exp: Explanation | None, capacity: float | None = None, by_group: Subgroups | None = None) -> str:
    """A self-contained HTML report of the run, at the costs and threshold on screen."""
    sections = []
    if ev:
        main = ev[model.model_name]
        rest = {k: v for k, v in ev.items() if k != model.model_name}
        none = model.no_model_cost(costs)
        sections.append(("Performance on held-out transactions", [
            comparison_table(model.model_name, main, rest, KEYS + ["cost_per_1000", "alerts_per_1000"], LABELS, model.intervals),
            f"At threshold {threshold:.3f} the {model.model_name.lower()} costs {money(main['cost'], 'in total')} on the "
            f"{model.n_rows['test']:,} held-out transactions; flagging nothing would cost {money(none, 'in total')}.",
            charts.pr_chart(model.pr_curves(), {k: (v["recall"], v["precision"]) for k, v in ev.items()}, main["fraud_rate"]),
            charts.roc_chart(model.roc_curves()),
            charts.cost_chart({k: model.cost_curve(costs, k) for k in (model.model_name, *model.baselines)}, threshold,
                       1000 * none / max(model.n_rows["test"], 1)),
        ]))
    sections.append((f"How the {model.score_name} is spread", [score_histogram(model.test_scores(), threshold, model.score_name)]))
    sections += report_section(by_group)
    if exp is not None:
        sections.append(("Explanations", [charts.shap_bar(exp, names=model.dictionary),
                                          charts.shap_beeswarm(exp, names=model.dictionary)]))
    sections += [*report_head(table, model, "rows"),
                 appendix(model.columns, model.config, names=model.dictionary,
                          extra=[costs_in_words(costs, threshold, capacity)])]
    what = f"'{model.columns.label}' = {model.fraud_value}" if model.mode == "labelled" else "unusual transactions"
    return build_report(f"Fraud detection: {what}", sections, subtitle=f"dataset {table.name}",
                        lead=report_lead(model, costs, threshold, ev))


def score_with_model_file() -> None:
    """Score new transactions with a model file saved earlier from this page — no training."""
    model_file_scoring("fr", fr.load, "fraud_scores.csv",
                       lambda m: f"{m.model_name} using {len(m.features)} columns, flagging at the threshold that was "
                                 "cheapest for the default costs")
