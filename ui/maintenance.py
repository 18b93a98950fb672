"""Views of the Predictive maintenance page: column roles with their reasons, the result tabs, the report."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine import maintenance as mt
from engine import roles
from engine.data import Table
from engine.subgroups import Subgroups
from ui import charts
from ui.errors import guard
from ui.options import advanced_options
from ui.report import appendix, build_report
from ui.results import comparison_table, download_csv, metric_cards
from ui.share import share_panel
from ui.state import memo
from ui.style import in_currency, money, pct
from ui.subgroups import report_section, subgroup_view
from ui.tabular import (
    batch_scoring,
    capacity_threshold,
    explain_and_what_if,
    held_out_line,
    hindsight,
    model_file_scoring,
    money_cards,
    report_head,
    review_capacity,
)
from ui.training import headline_verdict, training_notes

KEYS = ["auprc", "roc_auc", "brier"]
NONE = "(none)"


def column_roles(df: pd.DataFrame, fp: str) -> mt.Columns:
    """Outcome, the value meaning failure, machine id, failure modes (never features), features; reasons in a caption."""
    d, why = memo("mt_roles", fp, lambda: mt.column_reasons(df), keep=2)
    names = list(df.columns)
    c1, c2, c3 = st.columns(3)
    target = c1.selectbox(
        "Failure outcome (what to predict)",
        names,
        index=names.index(d.target),
        key=f"mt_target_{fp}",
        help="The column saying whether each run ended in a machine failure.",
    )
    values = roles.label_values(df[target])[:20]
    guess = roles.positive_value(values) or (values[-1] if values else None)
    value = c2.selectbox(
        "Value that means a failure",
        values,
        index=values.index(guess) if guess in values else 0,
        key=f"mt_value_{fp}_{target}",
    )
    machine = c3.selectbox(
        "Machine id (for the service list)",
        [NONE, *names],
        index=names.index(d.machine) + 1 if d.machine in names else 0,
        key=f"mt_machine_{fp}",
    )
    modes = st.multiselect(
        "Failure-mode columns (how a run failed: outcomes, never features)",
        [c for c in names if c != target],
        default=[m for m in d.modes if m != target],
        key=f"mt_modes_{fp}_{target}",
    )
    features = st.multiselect(
        "Feature columns (what is known before the run)",
        [c for c in names if c not in (target, *modes)],
        default=[f for f in d.features if f not in (target, *modes)],
        key=f"mt_features_{fp}_{target}",
    )
    st.caption("Why these roles: " + "; ".join(f"**{c}**: {w}" for c, w in why.items()) + ".")
    return mt.Columns(target, tuple(features), None if machine == NONE else machine, tuple(modes), value)


def options() -> mt.Config:
    return advanced_options(
        mt.Config,
        "mt",
        {
            "max_epochs": "number",
            "dropout": "slider",
            "test_fraction": "slider",
            "seed": "number",
            "weight_decay": "select",
        },
    )


def verdict(model: mt.MaintenanceModel, costs: mt.Costs | None = None) -> str:
    """The one verdict (ui.results.verdict): the network beside the best baseline, weighed by both intervals and,
    given the costs, by the money per 1,000 runs."""
    cost = model.money(costs) if costs is not None else None
    money = None if cost is None else {k: cost[k] for k in (mt.MODEL, mt.BASELINES[0], "No model")}
    return headline_verdict("maintenance", model, money, "runs")[0]


def performance(model: mt.MaintenanceModel) -> None:
    st.markdown(held_out_line(model.n_rows, "runs"))
    labels = model.METRIC_LABELS
    metric_cards(
        mt.MODEL, model.metrics, model.baseline_metrics, KEYS, labels, mt.METRIC_HELP, lower_is_better=["brier"]
    )
    st.dataframe(
        comparison_table(mt.MODEL, model.metrics, model.baseline_metrics, KEYS, labels, model.intervals),
        width="stretch",
    )
    rate = float(model.test["y"].mean())
    st.caption(
        f"Same held-out runs for every model; brackets: 95% bootstrap intervals. {pct(rate)} of these runs failed: "
        "that is the AUPRC of guessing."
    )
    at = model.at_threshold()[mt.MODEL]
    st.plotly_chart(charts.pr_chart(model.pr_curves(), {mt.MODEL: (at["recall"], at["precision"])}, rate), key="mt_pr")
    st.caption(
        "Higher and further right is better: more failures caught with fewer needless service stops. "
        "The dot is the network at the threshold chosen from your costs."
    )
    training_notes(model, "mt")


def _threshold(model: mt.MaintenanceModel, costs: mt.Costs, capacity: float | None, run_key: str) -> float:
    """The service threshold: the slider preset to the cheapest threshold for the costs within the service capacity,
    chosen on the training runs scored out of fold (or on the validation runs)."""
    n = model.n_rows
    rows = (
        f"all {n['train'] + n['validation']:,} training runs, each scored by a network trained without it"
        if len(model.test["val_y"]) > n["validation"]
        else f"the {n['validation']:,} validation runs"
    )
    best = model.cheapest_threshold(costs, capacity)
    threshold = capacity_threshold(
        model,
        costs,
        capacity,
        best,
        f"mt_{run_key[:8]}",
        "runs",
        "service the machine before a run when its failure risk is at least this",
        rows,
        "Service before the next run when the failure risk is at least",
        "Preset to the cheapest threshold for your costs; move it to trade missed failures "
        "against service stops, everything below updates.",
        alerts="service stops",
    )
    return threshold


def _money_at_threshold(decided: mt.MaintenanceModel, costs: mt.Costs, threshold: float) -> dict[str, float]:
    """The money cards per 1,000 held-out runs at the threshold, against no model and the baseline; returns the cost
    per 1,000 runs of each model."""
    cost, at = decided.money(costs), decided.at_threshold()[mt.MODEL]
    gb = mt.BASELINES[0]
    money_cards(
        "runs",
        cost[mt.MODEL],
        cost["No model"] - cost[mt.MODEL],
        cost[gb] - cost[mt.MODEL],
        gb,
        at["alerts_per_1000"],
        [
            "Service stops plus the failures still missed.",
            f"With no model every failure is unplanned: {money(cost['No model'])} per 1,000 runs.",
            f"{gb} at its own cheapest threshold on these runs (a best case for it): {money(cost[gb])} per 1,000 runs.",
            f"Failures caught: {pct(at['recall'])}.",
        ],
        alerts="Services",
    )
    st.caption(
        f"Money on the held-out runs at your threshold ({threshold:.3f}): "
        f"{at['tp']:,} failure(s) prevented, {at['fn']:,} missed, {at['fp']:,} service stop(s) that were not needed."
    )
    return cost


def costs_and_threshold(model: mt.MaintenanceModel, run_key: str) -> tuple[mt.MaintenanceModel, mt.Costs]:
    """Two costs and a service capacity → the cheapest threshold within it (on training runs scored out of fold) →
    money per 1,000 runs; returns the decided model."""
    c1, c2 = st.columns(2)
    failure = c1.number_input(
        f"Cost of an unplanned failure{in_currency()}",
        0.0,
        1e12,
        10_000.0,
        500.0,
        key="mt_cost_failure",
        help="Scrap, downtime and repair when a machine fails during a run nobody serviced it for.",
    )
    service = c2.number_input(
        f"Cost of a service stop{in_currency()}",
        0.0,
        1e12,
        500.0,
        50.0,
        key="mt_cost_service",
        help="Parts, labour and lost production time of servicing a machine before a run.",
    )
    costs = mt.service_costs(failure, service)
    capacity = review_capacity("runs", "mt", "service stops", "your crew can carry out", "Service capacity")
    threshold = _threshold(model, costs, capacity, run_key)
    decided = model.decide(threshold=threshold)
    cost = _money_at_threshold(decided, costs, threshold)
    st.plotly_chart(
        charts.cost_chart(decided.cost_curves(costs), threshold, cost["No model"], unit="runs"), key="mt_cost"
    )
    st.caption(
        "Lower is cheaper; diamonds mark each model's cheapest threshold on these held-out runs (the page "
        "chooses on the training runs, so yours may sit a little off)."
    )
    hindsight(
        model,
        costs,
        capacity,
        cost[mt.MODEL],
        f"mt_{run_key[:8]}",
        "runs",
        "failures",
        "a later period, machines wearing differently",
    )
    return decided, costs


def service_view(model: mt.MaintenanceModel, df: pd.DataFrame, run_key: str) -> None:
    st.markdown(
        "**Failure modes behind the flagged runs** — of the held-out runs that failed each way, how many the "
        "model would have sent to service first:"
    )
    st.dataframe(model.failure_modes(), hide_index=True, width="stretch")
    st.markdown(
        "**Service before the next run** — held-out runs flagged at your threshold, riskiest first, with the "
        "top reasons and what really happened:"
    )
    with guard("building the service list", stop=False):
        table = memo("mt_service", f"{run_key}_{model.threshold}", lambda: model.service_list(df), keep=2)
        if table.empty:
            st.info(
                f"No held-out run reaches your threshold ({model.threshold:.3f}), so none would be sent to service "
                "first. Lower the threshold, or raise the service capacity, to see which runs come next.",
                icon=":material/info:",
            )
        st.dataframe(table, hide_index=True, width="stretch", height=320)
        download_csv(table, "Download the service list (CSV)", "maintenance_service_list.csv", key="mt_service_dl")


def report_lead(model: mt.MaintenanceModel, costs: mt.Costs) -> list[str]:
    """The business result and verdict, first in the report: money per 1,000 runs against servicing on failure only."""
    cost, at = model.money(costs), model.at_threshold()[mt.MODEL]
    saving = cost["No model"] - cost[mt.MODEL]
    return [
        f"Servicing the runs the model flags costs {money(cost[mt.MODEL], 'per 1,000 runs')}, against "
        f"{money(cost['No model'], 'per 1,000 runs')} with no model (every failure unplanned): a saving of "
        f"{money(saving, 'per 1,000 runs')}. It sends {at['alerts_per_1000']:.1f} runs per 1,000 to service and "
        f"catches {pct(at['recall'])} of the failures.",
        verdict(model, costs),
    ]


def report(model: mt.MaintenanceModel, table: Table, costs: mt.Costs, by_group: Subgroups | None = None) -> str:
    perf = comparison_table(mt.MODEL, model.metrics, model.baseline_metrics, KEYS, model.METRIC_LABELS, model.intervals)
    cost = model.money(costs)
    decision = (
        f"Service threshold {model.threshold:.3f}, chosen from costs: an unplanned failure costs "
        f"{money(costs.missed)}, a service stop {money(costs.false_alarm)}."
    )
    sections = [
        ("Performance on held-out runs", [perf, charts.pr_chart(model.pr_curves())]),
        (
            "Costs and threshold",
            [
                pd.DataFrame({f"cost per 1,000 runs{in_currency()}": cost}),
                charts.cost_chart(model.cost_curves(costs), model.threshold, cost["No model"], "runs"),
            ],
        ),
        ("Failure modes behind the flagged runs", [model.failure_modes()]),
        *report_section(by_group),
        *report_head(table, model, "runs"),
        appendix(model.columns, model.config, names=model.dictionary, extra=[decision]),
    ]
    return build_report(
        "Predictive maintenance: which runs will end in a failure",
        sections,
        subtitle=f"dataset {table.name}",
        lead=report_lead(model, costs),
    )


def service_verdict(model: mt.MaintenanceModel):
    """The what-if's answer in the page's words: service the machine before this run at the analyst's threshold?"""

    def said(risk: float) -> str:
        return f"**{'service first' if risk >= model.threshold else 'no service needed'}** (risk {pct(risk)})"

    def verdict(edited: pd.Series, before: float, after: float) -> None:
        st.markdown(
            f"At your threshold ({pct(model.threshold)}): as recorded {said(before)}; with your changes {said(after)}."
        )

    return verdict


def results(model: mt.MaintenanceModel, table: Table, run_key: str, run_id: str | None) -> None:
    """Step 4: Performance · Costs & threshold · Service list · Explanations · What-if · Score new data · Share."""
    df = table.df
    st.subheader("4 · Results")
    tabs = st.tabs(
        [
            "Performance",
            "Costs & threshold",
            "Service list",
            "Subgroups",
            "Explanations",
            "What-if",
            "Score new data",
            "Share",
        ]
    )
    with tabs[1]:
        with guard("weighing the costs"):
            model, costs = costs_and_threshold(model, run_key)
    with tabs[0]:
        performance(model)
    with tabs[2]:
        service_view(model, df, run_key)
    with tabs[3]:
        risk = model.test[mt.MODEL]
        by_group = subgroup_view(
            "mt",
            model.held_out(df),
            model.test["y"],
            risk >= model.threshold,
            risk,
            "runs",
            "failures",
            exclude=(model.columns.target, *model.columns.modes, model.columns.machine or ""),
            names=model.dictionary,
        )
    explain_and_what_if(
        model,
        df,
        model.held_out(df, 200),
        run_key,
        "mt",
        tabs[4:6],
        "run",
        lambda d: float(model.risk(d)[0]),
        "Failure risk",
        "Start from a held-out run and change what you know before it — tool wear +50 minutes, a "
        "higher torque, a lower rotational speed — and see its failure risk, whether to service the "
        "machine first at your threshold, and the reasons.",
        verdict=service_verdict(model),
    )
    with tabs[6]:
        batch_scoring("mt", model.score, model.features, "maintenance_scores.csv", example=table.df)
    with tabs[7]:
        share_panel(
            "maintenance",
            run_id,
            memo("mt_model_file", f"{run_key}_{model.threshold}_{model.dictionary.digest()}", model.to_bytes),
            "maintenance_model.safetensors",
            report=lambda: report(model, table, costs, by_group),
            report_key=f"{costs}_{by_group.column if by_group else ''}",
        )


def score_with_model_file() -> None:
    with st.expander("Already have a model file from this page? Score new runs with it, no training"):
        model_file_scoring(
            "mt",
            mt.load,
            "maintenance_scores.csv",
            lambda m: f"Failure model for '{m.columns.target}' from {len(m.features)} columns",
        )
