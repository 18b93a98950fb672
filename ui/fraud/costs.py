"""Money and threshold: what a false alarm and a missed fraud cost, the threshold slider preset to the cheapest
threshold within the review capacity, the Cost & threshold tab, and the choice in words for the report."""

from __future__ import annotations

import numpy as np
import streamlit as st

from engine import fraud as fr
from ui import charts
from ui.style import in_currency, money, pct
from ui.tabular import capacity_threshold, money_cards, review_capacity


def money_inputs(model: fr.FraudModel, key: str) -> fr.Costs:
    """What a false alarm and a missed fraud cost; the amount is the default loss when one is mapped."""
    c1, c2, c3 = st.columns(3)
    fa = c1.number_input(
        f"Cost of reviewing a false alarm{in_currency()}",
        0.0,
        1e9,
        5.0,
        1.0,
        key=f"{key}_fa",
        help="What one needless review costs you (staff time, an annoyed customer).",
    )
    by_amount = False
    if model.has_amount:
        by_amount = (
            c2.radio(
                "A missed fraud costs",
                ["the transaction's amount", "a fixed amount"],
                key=f"{key}_how",
                help="The money lost when a fraud goes unflagged.",
            )
            == "the transaction's amount"
        )
    missed = c3.number_input(
        f"Cost of a missed fraud{in_currency()}",
        0.0,
        1e12,
        100.0,
        10.0,
        key=f"{key}_miss",
        disabled=by_amount,
        help="Used when a missed fraud costs a fixed amount (or no amount column is mapped).",
    )
    return fr.Costs(false_alarm=fa, missed=missed, missed_is_amount=by_amount)


def threshold_slider(model: fr.FraudModel, costs: fr.Costs | None, key: str) -> tuple[float, float | None]:
    """The analyst's threshold and review capacity (alerts per 1,000, None = no limit): the slider is preset to the
    cheapest threshold within the capacity (or to an alert budget without labels)."""
    if costs is None:
        per_1000 = st.slider(
            "Alerts per 1,000 transactions you can review",
            1,
            200,
            20,
            key=f"{key}_budget",
            help="Without a label the money cannot be weighed; flag the most unusual transactions instead.",
        )
        return model.alert_threshold(per_1000), None
    capacity = review_capacity("transactions", key)
    n = model.n_rows
    rows = (
        f"all {n['train'] + n['validation']:,} training transactions, each scored by a network trained without it"
        if model.folds
        else f"the {n['validation']:,} validation transactions"
    )
    threshold = capacity_threshold(
        model,
        costs,
        capacity,
        model.cheapest_threshold(costs, capacity),
        key,
        "transactions",
        f"flag a transaction when its {model.score_name} is at least this",
        rows,
        f"Threshold: flag when the {model.score_name} is at least",
        "Move it to trade missed frauds against false alarms; everything below updates.",
    )
    return threshold, capacity


def cost_view(model: fr.FraudModel, costs: fr.Costs, ev: dict, threshold: float) -> None:
    main = ev[model.model_name]
    base_name = model.baselines[0]
    base = ev[base_name]
    none = model.no_model_cost(costs)
    n = model.n_rows["test"]
    per = 1000 / max(n, 1)  # every card per 1,000 transactions; totals on the held-out rows say so
    money_cards(
        "transactions",
        main["cost_per_1000"],
        per * (none - main["cost"]),
        per * (base["cost"] - main["cost"]),
        base_name,
        main["alerts_per_1000"],
        [
            fr.METRIC_HELP["cost_per_1000"],
            f"Flagging nothing would cost {money(none, 'in total')} on these {n:,} held-out transactions (every fraud missed).",
            f"{base_name} at its own cheapest threshold costs {money(base['cost'], 'in total')} on the same rows.",
            fr.METRIC_HELP["alerts_per_1000"],
        ],
        none_delta=pct((none - main["cost"]) / none) if none else None,
    )
    st.caption(
        f"Money on the {n:,} held-out transactions at your threshold ({threshold:.3f}): {main['fp']:,} false alarm(s) "
        f"and {main['fn']:,} missed fraud(s) cost {money(main['cost'], 'in total')}."
    )
    if base["cost"] < main["cost"]:
        st.warning(
            f"At these costs {base_name.lower()} is cheaper on these rows than the {model.model_name.lower()} "
            f"(by {money(main['cost'] - base['cost'], 'in total')}): here the simpler model earns its keep.",
            icon=":material/balance:",
        )
    g1, g2 = st.columns([3, 2])
    g1.plotly_chart(
        charts.cost_chart(
            {k: model.cost_curve(costs, k) for k in (model.model_name, *model.baselines)},
            threshold,
            1000 * none / max(n, 1),
        ),
        key="fr_cost",
    )
    g1.caption(
        "Diamonds: each model's cheapest threshold on these held-out rows (the page chooses on the validation "
        "rows, so yours may sit a little off); the dashed line is your threshold."
    )
    cm = np.array([[main["tn"], main["fp"]], [main["fn"], main["tp"]]])
    g2.plotly_chart(
        charts.confusion_chart(cm, ["genuine", "fraud"], f"{model.model_name} at {threshold:.3f}"), key="fr_cm"
    )
    g2.caption(
        "Rows: what was true; columns: what the model said. Top right: false alarms; bottom left: missed frauds."
    )


def costs_in_words(costs: fr.Costs | None, threshold: float, capacity: float | None) -> str:
    """How the threshold was chosen, as the analyst set it: 'Threshold chosen from costs: a miss costs …'."""
    if costs is None:
        return f"Threshold {threshold:.3f}, set from the number of alerts you can review (no label, so no costs)."
    miss = "the transaction's amount" if costs.missed_is_amount else money(costs.missed)
    cap = f", with at most {capacity:,.0f} alerts per 1,000 transactions" if capacity else ""
    return (
        f"Threshold {threshold:.3f}, chosen from costs{cap}: a missed fraud costs {miss}, a false alarm "
        f"{money(costs.false_alarm)}."
    )
