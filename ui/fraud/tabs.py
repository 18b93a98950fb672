"""Step 4 of the fraud page: the results tabs (also for shared runs), the report, scoring with a model file."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine import fraud as fr
from engine.data import Table
from engine.explain import Explanation
from engine.subgroups import Subgroups
from ui import charts
from ui.errors import guard
from ui.fraud.accuracy import KEYS, LABELS, performance, score_histogram
from ui.fraud.costs import cost_view, costs_in_words, money_inputs, threshold_slider
from ui.fraud.explanations import explanations_view, what_if_view
from ui.fraud.flagged import FLAG_LIMIT, flagged_view
from ui.report import appendix, build_report
from ui.results import comparison_table
from ui.share import share_panel
from ui.state import memo
from ui.style import money, pct
from ui.subgroups import report_section, subgroup_view
from ui.tabular import batch_scoring, hindsight, model_file_scoring, report_head
from ui.training import headline_verdict, training_notes


def _costs_and_threshold(model: fr.FraudModel, run_key: str) -> tuple[fr.Costs | None, float, float | None, dict]:
    """What mistakes cost (with a label), the threshold and review capacity, and every model evaluated at them (empty
    without a label)."""
    costs = None
    if model.has_label:
        st.markdown("**What mistakes cost you** — the page picks the threshold with the lowest expected cost.")
        with guard("reading the costs"):
            costs = money_inputs(model, "fr")
    threshold, capacity = threshold_slider(model, costs, f"fr_{run_key[:8]}")
    ev = model.evaluate(costs, threshold, capacity) if costs is not None else {}
    return costs, threshold, capacity, ev


def _explained(
    model: fr.FraudModel, df: pd.DataFrame, run_key: str
) -> tuple[pd.DataFrame | None, Explanation | None, Explanation | None]:
    """The highest-scoring transactions with their explanation, and the explanation across held-out transactions
    (None where explaining failed: the analyst was told, the rest of the page still shows)."""
    top = exp_top = exp_global = None
    with guard("explaining the flagged transactions", stop=False):
        top, exp_top = memo("fr_top", run_key, lambda: model.top_rows(df, FLAG_LIMIT))
    with guard("explaining the model", stop=False):
        exp_global = memo("fr_explain", run_key, lambda: model.explain(model.held_out(df, 200)))
    return top, exp_top, exp_global


def _subgroups(model: fr.FraudModel, df: pd.DataFrame, threshold: float) -> Subgroups | None:
    """The Subgroups tab: the held-out transactions compared per group at the threshold; returns the comparison shown."""
    risk = model.test[model.model_name]
    by_group = subgroup_view(
        "fr",
        model.held_out(df),
        model.test["y"],
        risk >= threshold,
        risk,
        "transactions",
        "frauds",
        exclude=(model.columns.label or "",),
        names=model.dictionary,
    )
    return by_group


def _scores(model: fr.FraudModel, threshold: float) -> None:
    """The Scores tab of a run without a label: how the anomaly score is spread, no accuracy."""
    st.markdown(
        f"No label, so no accuracy can be measured: the {model.score_name} says how unlike the rest of "
        "your file a transaction is. Check the flagged ones by hand, and add a label once you know outcomes."
    )
    st.plotly_chart(score_histogram(model.test_scores(), threshold, model.score_name), key="fr_hist")
    st.caption("Most transactions should sit on the left; the long tail on the right is what gets flagged.")
    training_notes(model, "fr")


def _share(
    model: fr.FraudModel,
    table: Table,
    run_key: str,
    run_id: str | None,
    costs: fr.Costs | None,
    threshold: float,
    capacity: float | None,
    ev: dict,
    exp_global: Explanation | None,
    by_group: Subgroups | None,
) -> None:
    """The Share tab: the model file, the link and the report at the costs and threshold on screen."""
    share_panel(
        "fraud",
        run_id,
        memo("fr_model_file", f"{run_key}_{model.dictionary.digest()}", model.to_bytes),
        "fraud_model.safetensors",
        report=lambda: report(model, table, costs, threshold, ev, exp_global, capacity, by_group),
        report_key=f"{costs}_{threshold}_{capacity}_{by_group.column if by_group else ''}",
    )


def results(model: fr.FraudModel, table: Table, run_key: str, run_id: str | None) -> None:
    """Step 4: costs and threshold, then Performance · Cost & threshold · Flagged · Explanations · Score · Share."""
    df = table.df
    st.subheader("4 · Results")
    costs, threshold, capacity, ev = _costs_and_threshold(model, run_key)
    top, exp_top, exp_global = _explained(model, df, run_key)

    if model.has_label:
        perf, cost, flagged, groups, expl, whatif, score, share = st.tabs(
            [
                "Performance",
                "Cost & threshold",
                "Flagged transactions",
                "Subgroups",
                "Explanations",
                "What-if",
                "Score new data",
                "Share",
            ]
        )
        with perf:
            performance(model, ev, threshold)
            training_notes(model, "fr")
        with cost:
            cost_view(model, costs, ev, threshold)
            hindsight(
                model,
                costs,
                capacity,
                ev[model.model_name]["cost_per_1000"],
                f"fr_{run_key[:8]}",
                "transactions",
                "frauds",
                "a later period, a new fraud pattern",
            )
        with groups:
            by_group = _subgroups(model, df, threshold)
    else:
        by_group = None  # no label: nothing to compare per group
        perf, flagged, expl, whatif, score, share = st.tabs(
            ["Scores", "Flagged transactions", "Explanations", "What-if", "Score new data", "Share"]
        )
        with perf:
            _scores(model, threshold)
    with flagged:
        if top is not None:
            flagged_view(model, top, exp_top, threshold, FLAG_LIMIT)
    with expl:
        if exp_global is not None:
            explanations_view(model, exp_global)
    with whatif:
        what_if_view(model, df, top, exp_global, threshold)
    with score:
        batch_scoring(
            "fr", model.decide(threshold=threshold).score, model.features, "fraud_scores.csv", example=table.df
        )
        st.caption(
            f"Each row gets its {model.score_name}, whether it is flagged at your threshold ({threshold:.3f}), "
            "and for flagged rows the top three reasons."
        )
    with share:
        _share(model, table, run_key, run_id, costs, threshold, capacity, ev, exp_global, by_group)


def report_lead(model: fr.FraudModel, costs: fr.Costs | None, threshold: float, ev: dict) -> list[str]:
    """The business result and verdict, first in the report: money per 1,000 transactions against flagging nothing."""
    if not ev:
        return [
            f"No label, so no money can be measured: {model.model_name.lower()} ranks transactions by how unusual "
            f"they are; at threshold {threshold:.3f} the flagged ones are listed for review."
        ]
    main = ev[model.model_name]
    n = model.n_rows["test"]
    none_per_1000 = 1000 * model.no_model_cost(costs) / max(n, 1)
    base_name = model.baselines[0]
    base = ev.get(base_name, {})
    lines = [
        f"The {model.model_name.lower()} costs {money(main['cost_per_1000'], 'per 1,000 transactions')} at "
        f"threshold {threshold:.3f}, against {money(none_per_1000, 'per 1,000')} for flagging nothing: a saving of "
        f"{money(none_per_1000 - main['cost_per_1000'], 'per 1,000 transactions')}. It raises "
        f"{main['alerts_per_1000']:.1f} alerts per 1,000 transactions and catches {pct(main['recall'])} of frauds."
    ]
    if "cost_per_1000" in base:  # the one verdict (ui.results.verdict), weighed by the money on the same rows
        lines += headline_verdict(
            "fraud",
            model,
            {model.model_name: main["cost_per_1000"], base_name: base["cost_per_1000"], "No model": none_per_1000},
            "transactions",
        )
    return lines


def report(
    model: fr.FraudModel,
    table: Table,
    costs: fr.Costs | None,
    threshold: float,
    ev: dict,
    exp: Explanation | None,
    capacity: float | None = None,
    by_group: Subgroups | None = None,
) -> str:
    """A self-contained HTML report of the run, at the costs and threshold on screen."""
    sections = []
    if ev:
        main = ev[model.model_name]
        rest = {k: v for k, v in ev.items() if k != model.model_name}
        none = model.no_model_cost(costs)
        sections.append(
            (
                "Performance on held-out transactions",
                [
                    comparison_table(
                        model.model_name,
                        main,
                        rest,
                        KEYS + ["cost_per_1000", "alerts_per_1000"],
                        LABELS,
                        model.intervals,
                    ),
                    f"At threshold {threshold:.3f} the {model.model_name.lower()} costs {money(main['cost'], 'in total')} on the "
                    f"{model.n_rows['test']:,} held-out transactions; flagging nothing would cost {money(none, 'in total')}.",
                    charts.pr_chart(
                        model.pr_curves(), {k: (v["recall"], v["precision"]) for k, v in ev.items()}, main["fraud_rate"]
                    ),
                    charts.roc_chart(model.roc_curves()),
                    charts.cost_chart(
                        {k: model.cost_curve(costs, k) for k in (model.model_name, *model.baselines)},
                        threshold,
                        1000 * none / max(model.n_rows["test"], 1),
                    ),
                ],
            )
        )
    sections.append(
        (f"How the {model.score_name} is spread", [score_histogram(model.test_scores(), threshold, model.score_name)])
    )
    sections += report_section(by_group)
    if exp is not None:
        sections.append(
            (
                "Explanations",
                [charts.shap_bar(exp, names=model.dictionary), charts.shap_beeswarm(exp, names=model.dictionary)],
            )
        )
    sections += [
        *report_head(table, model, "rows"),
        appendix(
            model.columns, model.config, names=model.dictionary, extra=[costs_in_words(costs, threshold, capacity)]
        ),
    ]
    what = f"'{model.columns.label}' = {model.fraud_value}" if model.mode == "labelled" else "unusual transactions"
    return build_report(
        f"Fraud detection: {what}",
        sections,
        subtitle=f"dataset {table.name}",
        lead=report_lead(model, costs, threshold, ev),
    )


def score_with_model_file() -> None:
    """Score new transactions with a model file saved earlier from this page — no training."""
    model_file_scoring(
        "fr",
        fr.load,
        "fraud_scores.csv",
        lambda m: (
            f"{m.model_name} using {len(m.features)} columns, flagging at the threshold that was "
            "cheapest for the default costs"
        ),
    )
