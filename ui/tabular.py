"""Views shared by the tabular pages: SHAP explanations, what-if editing, batch scoring."""

from __future__ import annotations

import math
from typing import Any, Callable, Protocol, Sequence

import numpy as np
import pandas as pd
import streamlit as st

from engine.data import Table, profile
from engine.dictionary import Dictionary
from engine.explain import Explanation
from ui import charts
from ui.data import read_model_file, read_upload
from ui.errors import guard
from ui.results import download_csv, metric_delta
from ui.state import memo
from ui.style import money
from ui.text import plain


def explanation_panel(
    exp: Explanation,
    key: str,
    row_label: str = "row",
    row_names: Sequence[str] | None = None,
    labels: Dictionary | None = None,
) -> None:
    """Global importance and beeswarm, then one row's waterfall, then one column's dependence (`labels`: the
    analyst's column descriptions and value labels)."""
    names = list(row_names) if row_names is not None else [f"{row_label} {i + 1}" for i in range(len(exp.data))]
    st.markdown(f"**Across {len(exp.data):,} held-out {row_label}s**")
    c1, c2 = st.columns(2)
    c1.plotly_chart(charts.shap_bar(exp, names=labels), key=f"{key}_bar")
    c1.caption(
        "Longer bars: columns that move predictions the most, on average"
        + (" (in points of risk, as on every chart here)." if exp.link == "logit" else ".")
    )
    c2.plotly_chart(charts.shap_beeswarm(exp, names=labels), key=f"{key}_swarm")
    c2.caption("Dots right of zero push towards the outcome; orange dots are high values of that column, blue low.")
    st.markdown(f"**One {row_label}**")
    i = st.selectbox(f"Pick a {row_label}", range(len(names)), format_func=lambda j: names[j], key=f"{key}_row")
    st.plotly_chart(charts.shap_waterfall(exp, i, names=labels), key=f"{key}_waterfall")
    unit = "in %; each bar in points of risk, its share of the change" if exp.link == "logit" else "in its own units"
    st.caption(
        "Start at the average prediction; each bar is one column's push up (orange) or down (blue) for this "
        f"{row_label}; the last bar is the model's output ({exp.output_name}, {unit})."
    )
    dependence_view(exp, key, labels=labels, row_label=row_label)


def dependence_view(
    exp: Explanation, key: str, labels: Dictionary | None = None, row_label: str = "row", what: str = "column"
) -> str:
    """One column's dependence plot (picked, most important first): its value across, its SHAP effect up, one dot per
    explained row. Shared by every tabular page's explanations, so they read the same; returns the picked column."""
    st.markdown(f"**One {what}**")
    col = st.selectbox(
        f"Pick a {what}",
        list(charts.in_points(exp).importance().index),
        key=f"{key}_dep",
        format_func=(labels or Dictionary()).label,
    )
    st.plotly_chart(charts.shap_dependence(exp, col, names=labels), key=f"{key}_dependence")
    st.caption(
        f"Each dot is a {row_label}: its value of the {what} (across) and how much that value moved "
        f"{exp.output_name} (up); zero is no effect."
    )
    return col


def explain_and_what_if(
    model: Any,
    df: pd.DataFrame,
    held: pd.DataFrame,
    run_key: str,
    key: str,
    tabs: Sequence,
    row_label: str,
    risk_fn: Callable[[pd.DataFrame], float],
    risk_label: str,
    caption: str | None = None,
    verdict: Callable[[pd.Series, float, float], None] | None = None,
):
    """The Explanations and What-if tabs of a tabular page: SHAP of the held-out rows `held` (computed once per run),
    then one of them to edit (`verdict`: the page's words on the two risks, see what_if). Returns the Explanation
    (None when it failed: the page keeps serving)."""
    exp = None
    with guard("explaining the model", stop=False):
        exp = memo(f"{key}_explain", run_key, lambda: model.explain(held))
    with tabs[0]:
        if exp is not None:
            explanation_panel(
                exp,
                f"{key}_exp",
                row_label=row_label,
                row_names=[f"{row_label} in row {i + 1:,}" for i in held.index],
                labels=getattr(model, "dictionary", None),
            )
    with tabs[1]:
        if caption:
            st.caption(caption)
        pick = st.selectbox(
            f"Start from {row_label}", list(held.index), format_func=lambda i: f"row {i + 1:,}", key=f"{key}_whatif_row"
        )
        order = list(exp.importance().index) if exp is not None else model.features
        with guard("updating the what-if", stop=False):
            what_if(
                df.loc[pick, model.features],
                model.preprocessor.plans_,
                order,
                risk_fn,
                model.explain,
                key=f"{key}_wi_{pick}",
                risk_label=risk_label,
                verdict=verdict,
                names=getattr(model, "dictionary", None),
            )
    return exp


def cost_threshold_slider(label: str, best: float, key: str, help: str) -> float:
    """The alert threshold, preset to the cheapest one for the analyst's costs. `key` must carry the costs, so new
    costs move the slider to their own cheapest threshold."""
    top = max(1.0, float(np.ceil(best * 1000) / 1000))  # "flag nothing" can sit just above a score of exactly 1
    return st.slider(label, 0.0, top, float(best), 0.001, format="%.3f", key=key, help=help)


class ThresholdModel(Protocol):
    """What the review-capacity views read from a yes/no model (fraud, maintenance)."""

    def threshold_band(self, costs: Any, capacity: float | None = None) -> tuple[float, float]: ...

    def held_out_best(self, costs: Any, capacity: float | None = None) -> tuple[float, float]: ...


def review_capacity(
    unit: str, key: str, alerts: str = "alerts", who: str = "your team can check", name: str = "Review capacity"
) -> float | None:
    """How many rows per 1,000 the analyst can act on (None = no limit): the cheapest threshold must stay within it."""
    return (
        st.number_input(
            f"{name}: at most this many {alerts} per 1,000 {unit} (0 = no limit)",
            0,
            1000,
            0,
            5,
            key=f"{key}_capacity",
            help=f"How many {alerts} {who}. The page then picks the cheapest threshold that stays within it.",
        )
        or None
    )


def threshold_band(model: ThresholdModel, costs: Any, capacity: float | None, key: str) -> tuple[float, float]:
    """The 80% band of the cheapest threshold over bootstrap resamples (computed once per costs and capacity)."""
    return memo("threshold_band", f"{key}{costs}{capacity}", lambda: model.threshold_band(costs, capacity), keep=4)


def _digits(t: float) -> str:
    """A threshold with the digits that tell it apart: 0.9996 is not 1.000 (a tight capacity flags the riskiest few)."""
    return f"{t:.6f}".rstrip("0") if 0.999 < t < 1 or 0 < t < 0.001 else f"{t:.3f}"


def capacity_threshold(
    model: ThresholdModel,
    costs: Any,
    capacity: float | None,
    best: float,
    key: str,
    unit: str,
    flag_when: str,
    rows: str,
    label: str,
    help: str,
    alerts: str = "alerts",
) -> float:
    """The cheapest threshold in one sentence (within the capacity, on which rows, the band it could move in), then
    the slider preset to it. `flag_when`: 'flag a transaction when its fraud score is at least this'."""
    low, high = threshold_band(model, costs, capacity, key)
    within = (
        f" within {capacity:,} {alerts} per 1,000 {unit} (the best share within it on the rows below, given to "
        f"the riskiest held-out {unit})"
        if capacity
        else ""
    )
    band = (
        f"With other {unit} like these it could be anywhere from {_digits(low)} to {_digits(high)}."
        if high > low
        else f"With other {unit} like these it would stay at {_digits(low)}."
    )
    st.markdown(
        f"**Cheapest threshold** for these costs{within}: **{_digits(best)}** ({flag_when}), chosen on {rows}. {band}"
    )
    return cost_threshold_slider(label, best, f"{key}_thr_{costs}_{capacity}", help)


def hindsight(
    model: ThresholdModel,
    costs: Any,
    capacity: float | None,
    chosen_cost_per_1000: float,
    key: str,
    unit: str,
    positives: str,
    why: str,
) -> None:
    """Say so when the held-out rows would have been much cheaper at a threshold outside the chosen one's band.
    `positives`: 'frauds'; `why`: what could make held-out rows differ ('a later period, a new fraud pattern')."""
    t, cost = model.held_out_best(costs, capacity)
    low, high = threshold_band(model, costs, capacity, key)
    if low <= t <= high or cost >= 0.9 * chosen_cost_per_1000:
        return
    st.info(
        f"In hindsight the held-out {unit} would have been cheapest at a threshold of {t:.3f} ({money(cost)} "
        f"per 1,000 instead of {money(chosen_cost_per_1000)}). The page never picks the threshold on the held-out "
        f"{unit}, which would flatter the figures; a gap this large means they differ from the training {unit} "
        f"({why}) or hold too few {positives} to pin the threshold down. Check again on more data.",
        icon=":material/history:",
    )


def held_out_line(
    n_rows: dict[str, int], unit: str, where: str | None = None, threshold_on_validation: bool = True
) -> str:
    """'Measured on N held-out runs the models never saw; trained on …': the first line of a Performance tab."""
    where = where or f"**{n_rows['test']:,} held-out {unit}**"
    why = "stop training and choose the threshold" if threshold_on_validation else "stop training early"
    return (
        f"Measured on {where} the models never saw; trained on {n_rows['train']:,}, with "
        f"{n_rows['validation']:,} more to {why}."
    )


def money_cards(
    unit: str,
    cost_per_1000: float,
    vs_none: float,
    vs_baseline: float,
    baseline: str,
    alerts_per_1000: float,
    helps: Sequence[str],
    alerts: str = "Alerts",
    none_delta: str | None = None,
) -> None:
    """The four money cards of a threshold chosen from costs, all per 1,000 rows (one basis for the whole row of
    cards): the cost, the savings against no model and against the first baseline, and how many rows get flagged."""
    c = st.columns(4)
    c[0].metric(f"Cost per 1,000 {unit}", money(cost_per_1000), help=helps[0])
    c[1].metric(
        "Saving vs no model per 1,000", money(vs_none), help=helps[1], **metric_delta(none_delta)
    )  # a saving of 0.0%: "same", grey, no green arrow
    c[2].metric(
        f"Saving per 1,000 vs {baseline.lower()}", money(vs_baseline), help=helps[2]
    )  # basis first: long names clip
    c[3].metric(f"{alerts} per 1,000 {unit}", f"{alerts_per_1000:.1f}", help=helps[3])
    from ui.training import weigh_money

    weigh_money(
        cost_per_1000, baseline, cost_per_1000 + vs_baseline, cost_per_1000 + vs_none, unit
    )  # the verdict first


def report_head(table: Table, model: Any, unit: str) -> list:
    """The data section of every tabular report (the settings go to the appendix, in words: ui.report.appendix)."""
    return [
        (
            "Data",
            [
                f"{table.name}: {len(table.df):,} {unit}, {table.df.shape[1]} columns. Held out for testing: "
                f"{model.n_rows['test']:,} {unit}.",
                profile(table.df),
                *model.notes,
            ],
        )
    ]


WHAT_IF_SHOWN = 9  # what-if inputs shown open; the rest of a wide table sits in an expander


def _value_input(
    box: Any, plan: Any, name: str, current: Any, edited: pd.Series, outside: list[str], key: str, names: Dictionary
) -> None:
    """One column's input in the what-if, written into `edited`: a coded column picks among the values seen in
    training, a number is typed (and named in `outside` when beyond the training range), a category picks among
    its levels. `current`: the recorded value."""
    if plan.kind == "numeric" and plan.codes:  # a code (sex 0/1, thal 3/6/7): only the values seen in training
        value = float(current) if pd.notna(current) else float(plan.median)
        options = plan.codes if value in plan.codes else sorted([*plan.codes, value])
        edited[name] = box.selectbox(
            names.label(name),
            options,
            index=options.index(value),
            key=f"{key}_{name}",
            format_func=lambda v, c=name: names.value_label(c, v),
            help="A coded column: the values seen in training.",
        )
    elif plan.kind == "numeric":
        value = float(current) if pd.notna(current) else float(plan.median)
        edited[name] = box.number_input(names.label(name), value=value, key=f"{key}_{name}", format="%g")
        if plan.low is not None and not plan.low <= edited[name] <= plan.high:
            outside.append(name)
            box.badge(
                f"outside the data ({plan.low:g} to {plan.high:g} in training)",
                icon=":material/warning:",
                color="orange",
            )
    else:
        levels = [lv for lv in plan.levels if lv not in ("(other)",)]
        cur = str(current) if pd.notna(current) else "(missing)"
        options = levels if cur in levels else [cur, *levels]
        edited[name] = box.selectbox(
            names.label(name),
            options,
            index=options.index(cur),
            key=f"{key}_{name}",
            format_func=lambda v, c=name: names.value_label(c, v),
        )


def what_if(
    base_row: pd.Series,
    plans: Sequence,
    order: Sequence[str],
    risk_fn: Callable[[pd.DataFrame], float],
    explain_fn: Callable[[pd.DataFrame], Explanation],
    key: str,
    risk_label: str = "Risk",
    verdict: Callable[[pd.Series, float, float], None] | None = None,
    answer: Callable[[pd.Series, pd.Series], None] | None = None,
    names: Dictionary | None = None,
) -> pd.Series:
    """Edit one row's values and see the risk and its explanation change; returns the edited row.

    The one what-if of every tabular page; pages add their own words: `verdict(edited, before, after)` writes
    what the two risks mean (e.g. flagged at the page's threshold or not) under them, and `answer(base, edited)`
    replaces the risk and its waterfall for a page whose answer is not a risk (the segment a customer moves to).
    `names`: the data dictionary's labels for the fields."""
    names = names or Dictionary()
    by_name = {p.name: p for p in plans}
    edited = base_row.copy()
    outside: list[str] = []
    st.caption(
        "Change any value; the answer below and its explanation update at once. The most influential columns come "
        "first."
    )
    cols = st.columns(3)
    if len(order) > WHAT_IF_SHOWN + 3:  # many columns: the most influential first, the rest folded away, so the
        with st.expander(f"The other {len(order) - WHAT_IF_SHOWN} columns"):  # answer stays near what is edited
            more = st.columns(3)
    for n, name in enumerate(order):
        plan = by_name[name]
        box = cols[n % 3] if n < WHAT_IF_SHOWN or len(order) <= WHAT_IF_SHOWN + 3 else more[n % 3]
        _value_input(box, plan, name, base_row.get(name), edited, outside, key, names)
    if answer is not None:
        _outside_warning(outside)
        answer(base_row, edited)
        return edited
    before = risk_fn(base_row.to_frame().T)
    after = risk_fn(edited.to_frame().T)
    c1, c2 = st.columns(2)
    c1.metric(f"{risk_label} as recorded", f"{100 * before:.1f}%")
    moved = 100 * (after - before)
    c2.metric(
        f"{risk_label} with your changes",
        f"{100 * after:.1f}%",
        delta=f"{moved:+.1f} points" if abs(moved) >= 0.05 else None,
        delta_color="inverse",
    )
    if verdict is not None:
        verdict(edited, before, after)
    _outside_warning(outside)
    exp = explain_fn(edited.to_frame().T)
    st.plotly_chart(charts.shap_waterfall(exp, 0, names=names), key=f"{key}_waterfall")
    return edited


def _outside_warning(outside: Sequence[str]) -> None:
    """What-if values beyond the training range are answered, but marked as a guess beyond the data."""
    if outside:
        st.warning(
            f"{plain(', '.join(outside))} {'is' if len(outside) == 1 else 'are'} outside the range seen in training: the "
            "model has never seen such values, so this answer is a guess beyond the data.",
            icon=":material/warning:",
        )


def scoring_template(required: Sequence[str], example: pd.DataFrame | None = None) -> pd.DataFrame:
    """The CSV an analyst fills in to score new rows: exactly the required columns, with the first row of the
    training data as an example when it has them all (else just the header)."""
    cols = list(dict.fromkeys(required))
    if example is not None and len(example) and all(c in example.columns for c in cols):
        return example[cols].head(1).reset_index(drop=True)
    return pd.DataFrame(columns=cols)


def scoring_summary(scored: pd.DataFrame, uploaded: Sequence[str] = ()) -> str:
    """One line that reads at a glance, from the answer columns (those the model added, not the uploaded ones):
    "Scored 100 rows: 12 (12.0%) flagged." for a yes/no answer, else the counts of a short list of answers
    ("Scored 100 rows; segment_name: 60 are Champions, 40 are At risk."), else just the number of rows."""
    n = len(scored)
    head = f"Scored {n:,} row{'s' if n != 1 else ''}"
    answers = [c for c in scored.columns if c not in set(uploaded) and c != "top reasons"]
    if n == 0:
        return head + "."
    for col in answers:  # a yes/no answer: how many are "yes"
        values = scored[col]
        if pd.api.types.is_bool_dtype(values):
            k = int(values.sum())
        elif values.dtype == object and set(values.dropna().astype(str).str.lower()) <= {"yes", "no"}:
            k = int((values.astype(str).str.lower() == "yes").sum())
        else:
            continue
        return f"{head}: {k:,} ({100 * k / n:.1f}%) {col}."

    def few(values: pd.Series) -> bool:  # a short list of answers, not an id or a measurement
        return n == 1 or 1 < values.nunique() <= 12 and values.nunique() < n

    short = [c for c in answers if not pd.api.types.is_numeric_dtype(scored[c]) and few(scored[c])]
    short += [c for c in answers if pd.api.types.is_integer_dtype(scored[c]) and few(scored[c])]
    if short:
        col = short[0]
        counts = scored[col].value_counts()

        def said(k: Any) -> str:  # a labelled code "0 = no disease" reads "no disease (0)" in a sentence
            code, sep, meaning = str(k).partition(" = ")
            return f"{meaning} ({code})" if sep and meaning else str(k)

        shown = ", ".join(f"{v:,} {'is' if v == 1 else 'are'} {said(k)}" for k, v in counts.head(5).items())
        return f"{head}; {col}: {shown}{', …' if len(counts) > 5 else ''}."
    return head + "."


def batch_scoring(
    key: str,
    score_fn: Callable[[pd.DataFrame], pd.DataFrame],
    required: Sequence[str],
    file_name: str,
    caption: str | None = None,
    example: pd.DataFrame | None = None,
) -> None:
    """Upload new rows (no outcome needed) → scores and reasons → CSV download. `caption` replaces the default note;
    `example` (the training data) gives the template CSV its example row."""
    st.caption(
        caption
        or f"Upload a CSV with the columns the model uses: {', '.join(required[:12])}{'…' if len(required) > 12 else ''}. "
        "Extra columns are kept in the download; the outcome column is not needed."
    )
    template = scoring_template(required, example)
    download_csv(
        template,
        "Template CSV (the columns needed" + (", one example row)" if len(template) else ")"),
        file_name.replace(".csv", "_template.csv"),
        key=f"{key}_score_template",
    )
    upload = st.file_uploader("New rows to score (CSV)", type=["csv", "txt", "gz", "tsv"], key=f"{key}_score_upload")
    if upload is None:
        return
    cache = st.session_state.setdefault(f"{key}_scored", {})
    if upload.file_id not in cache:
        cache.clear()
        with guard("scoring your file", stop=False):
            table = read_upload(upload)
            cache[upload.file_id] = (score_fn(table.df), list(table.df.columns))
    scored, uploaded = cache.get(upload.file_id, (None, []))
    if scored is None:
        return
    st.success(scoring_summary(scored, uploaded), icon=":material/check_circle:")
    st.caption("The model's answers come first, then the reasons, then your own columns.")
    st.dataframe(scored.head(200), width="stretch", height=300)
    download_csv(scored, "Download scored rows (CSV)", file_name, key=f"{key}_score_download")


def model_file_scoring(
    key: str,
    load: Callable[[bytes], object],
    file_name: str,
    describe: Callable[[object], str] | None = None,
    required: Callable[[object], Sequence[str]] | None = None,
    caption: Callable[[object], str] | None = None,
) -> None:
    """Upload a model file saved from this page, then score new rows with it — no training.

    Works for every scenario that follows engine.scenario: `load(bytes)` → a Fitted with `headline()`,
    `features` and `score(df)`. `required` / `caption` (of the model) replace the columns asked for and the
    upload note where a file to score has other columns than the model's features (e.g. transactions)."""
    upload = st.file_uploader(
        "Model file (.safetensors, downloaded from this page)", type=["safetensors"], key=f"{key}_model_upload"
    )
    if upload is None:
        return
    with guard("reading the model file", stop=False):
        model = memo(f"{key}_uploaded_model", upload.file_id, lambda: read_model_file(upload, load), keep=1)
        label, value = model.headline()
        what = describe(model) if describe else f"Model from {len(model.features)} columns"
        st.success(what + (f"; its held-out {label} was {value:.3f}." if math.isfinite(value) else "."))
        batch_scoring(
            f"{key}_file",
            model.score,
            required(model) if required else model.features,
            file_name,
            caption=caption(model) if caption else None,
        )
