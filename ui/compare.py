"""Runs side by side: the analyst explores by training again with other settings; any two runs of this page in this
session are compared in one place — the settings that differ, the metrics with their intervals (and whether a
difference is within noise), the main curve of each overlaid, and each run's top SHAP columns."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from engine.data import Table
from ui.charts import figure
from ui.errors import guard
from ui.state import memo
from ui.style import BASELINE_COLORS, MODEL_COLOR

_RUNS = "_explorer_runs"
_NAMES = {"roc_auc": "ROC-AUC", "auprc": "AUPRC", "brier": "Brier score", "mase": "MASE", "mae": "MAE", "smape": "sMAPE",
          "f1": "F1", "roc_auc_macro": "ROC-AUC (all outcomes)"}
_AXES = {"fpr": "false-positive rate", "tpr": "true-positive rate (recall)", "recall": "recall", "precision": "precision"}


@dataclass
class Run:
    """What a finished run of this session was trained on (the model itself stays with its job)."""

    page: str
    table: Table
    settings: dict[str, Any]
    when: float = field(default_factory=time.time)


def remember(page: str, job_id: str, table: Table, columns: dict, config: dict) -> None:
    """Note a finished run of `page` (once); runs whose job the session no longer keeps drop out of the choice."""
    runs = st.session_state.setdefault(_RUNS, {})
    if job_id not in runs:
        flat = {"data": f"{table.name} ({len(table.df):,} rows)"}
        flat.update({f"column · {k}": _words(v) for k, v in columns.items()})
        flat.update({f"option · {k}": _words(v) for k, v in config.items()})
        runs[job_id] = Run(page, table, flat)


def _words(value: Any) -> str:
    """A setting as an analyst reads it: lists as "a, b, c", yes/no, "(none)"."""
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) or "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "(none)" if value is None else str(value)


def _label(model: Any, run: Run, number: int) -> str:
    name, value = model.headline()
    return f"Run {number} · {time.strftime('%H:%M:%S', time.localtime(run.when))} · {name} {value:.3f}"


def settings_that_differ(a: Run, b: Run) -> pd.DataFrame:
    """The settings whose values differ between two runs, in words ("(not set)" where one run lacks it)."""
    keys = list(dict.fromkeys([*a.settings, *b.settings]))
    rows = [(k, a.settings.get(k, "(not set)"), b.settings.get(k, "(not set)")) for k in keys
            if str(a.settings.get(k, "(not set)")) != str(b.settings.get(k, "(not set)"))]
    return pd.DataFrame(rows, columns=["setting", "run A", "run B"]).astype(str)


def _model_name(model: Any) -> str:
    return getattr(model, "model_name", None) or next(iter(model.intervals or {}), "")


def metrics_side_by_side(a: Any, b: Any) -> tuple[pd.DataFrame, str]:
    """Every metric both runs report, A beside B with their 95% intervals, and a sentence on the headline metric:
    whether the difference is larger than the intervals explain (they do not overlap) or within noise."""
    ia, ib = ((m.intervals or {}).get(_model_name(m), {}) for m in (a, b))
    keys = [k for k in a.metrics if k in b.metrics and isinstance(a.metrics[k], (int, float)) and np.isfinite(a.metrics[k])
            and isinstance(b.metrics[k], (int, float)) and np.isfinite(b.metrics[k])]
    labels = {**_NAMES, **(getattr(a, "METRIC_LABELS", {}) or {})}

    def shown(v: float, iv: Any) -> str:
        return f"{v:.3f}" + (f" ({iv[0]:.3f}–{iv[1]:.3f})" if iv else "")

    table = pd.DataFrame({
        "metric": [labels.get(k, k.replace("_", " ").capitalize()) for k in keys],
        "run A": [shown(a.metrics[k], ia.get(k)) for k in keys],
        "run B": [shown(b.metrics[k], ib.get(k)) for k in keys],
        "B − A": [f"{b.metrics[k] - a.metrics[k]:+.3f}" for k in keys],
    })
    key = a.HEADLINE or (keys[0] if keys else "")
    if key not in keys:
        return table, "The two runs report no metric in common."
    name = labels.get(key, key)
    va, vb = a.metrics[key], b.metrics[key]
    if ia.get(key) and ib.get(key):
        (la, ha), (lb, hb) = ia[key], ib[key]
        overlap = la <= hb and lb <= ha
        verdict = ("within noise: the two 95% intervals overlap, so these held-out rows cannot tell the runs apart"
                   if overlap else "larger than the intervals explain: the two 95% intervals do not overlap")
        return table, f"{name}: run A {va:.3f}, run B {vb:.3f} — a difference of {vb - va:+.3f}, {verdict}."
    return table, (f"{name}: run A {va:.3f}, run B {vb:.3f} ({vb - va:+.3f}). Neither run has an interval for it, so "
                   "whether the difference is within noise cannot be said; train with bootstrap intervals on.")


def _curve(model: Any) -> tuple[str, str, str, pd.DataFrame] | None:
    """The run's main curve as (title, x, y, frame): PR or ROC for yes/no pages, recall by digit for digits."""
    name = _model_name(model)
    for attr, x, y, title in (("pr_curves", "recall", "precision", "Precision-recall curve"),
                              ("roc_curves", "fpr", "tpr", "ROC curve"), ("roc", "fpr", "tpr", "ROC curve")):
        if callable(getattr(model, attr, None)):
            curves = getattr(model, attr)()
            frame = curves.get(name) if name in curves else next(iter(curves.values()), None)
            if frame is not None and {x, y} <= set(frame.columns):
                return title, x, y, frame
    if callable(getattr(model, "per_class", None)):
        frame = model.per_class().reset_index()
        if "recall" in frame.columns:
            return "Recall by digit", frame.columns[0], "recall", frame
    return None


def curves_overlaid(a: Any, b: Any) -> go.Figure | None:
    ca, cb = _curve(a), _curve(b)
    if ca is None or cb is None or ca[0] != cb[0]:
        return None
    title, x, y, _ = ca
    fig = figure(f"{title}: run A and run B", xaxis_title=_AXES.get(x, x), yaxis_title=_AXES.get(y, y), height=340)
    for run, (_, _, _, frame), color in (("run A", ca, MODEL_COLOR), ("run B", cb, BASELINE_COLORS[0])):
        if title == "Recall by digit":
            fig.add_bar(x=frame[x], y=frame[y], name=run, marker_color=color)
        else:
            fig.add_scatter(x=frame[x], y=frame[y], name=run, mode="lines", line=dict(color=color))
    return fig


def top_columns(model: Any, run: Run, job_id: str, k: int = 5) -> list[str] | None:
    """The run's k most influential columns (mean |SHAP| over up to 100 held-out rows), or None where the page's
    model cannot say it this way."""
    if not callable(getattr(model, "held_out", None)):
        return None

    def compute() -> list[str]:
        exp = model.explain(model.held_out(run.table.df, limit=100))
        return [str(c) for c in exp.importance().head(k).index]

    return memo("compare_top", job_id, compute, keep=4)


def compare_panel(page: str, current: str, jobs: dict) -> None:
    """The "Compare runs" expander of step 3, shown once this page has two finished runs in this session (`jobs`:
    the session's jobs by run key)."""
    jobs = {job.id: job for job in jobs.values()}  # the session keeps its jobs by what they trained
    runs = {jid: run for jid, run in st.session_state.get(_RUNS, {}).items()
            if run.page == page and jid in jobs and jobs[jid].finished_ok}
    if len(runs) < 2 or current not in runs:
        return
    ids = list(runs)
    numbers = {jid: i + 1 for i, jid in enumerate(ids)}
    models = {jid: jobs[jid].result for jid in ids}
    with st.expander(f"Compare runs side by side ({len(ids)} runs of this page in this session)", icon=":material/compare:"):
        c1, c2 = st.columns(2)
        fmt = {jid: _label(models[jid], runs[jid], numbers[jid]) for jid in ids}
        previous = [j for j in ids if j != current][-1]
        a = c1.selectbox("Run A", ids, index=ids.index(previous), format_func=fmt.get, key=f"{page}_compare_a")
        b = c2.selectbox("Run B", ids, index=ids.index(current), format_func=fmt.get, key=f"{page}_compare_b")
        if a == b:
            st.info("Pick two different runs.")
            return
        with guard("comparing the runs", stop=False):
            differ = settings_that_differ(runs[a], runs[b])
            st.markdown("**Settings that differ**")
            if differ.empty:
                st.caption("None: the two runs were trained on the same data with the same settings.")
            else:
                st.dataframe(differ, hide_index=True, width="stretch")
            table, sentence = metrics_side_by_side(models[a], models[b])
            st.markdown("**Held-out metrics** (95% intervals in brackets)")
            st.info(sentence, icon=":material/compare_arrows:")
            st.dataframe(table, hide_index=True, width="stretch")
            fig = curves_overlaid(models[a], models[b])
            if fig is not None:
                st.plotly_chart(fig, key=f"{page}_compare_curve")
            tops = [top_columns(models[j], runs[j], j) for j in (a, b)]
            if all(t is not None for t in tops):
                n = max(len(t) for t in tops)
                st.markdown("**Most influential columns (SHAP)**")
                st.dataframe(pd.DataFrame({"rank": range(1, n + 1),
                                           "run A": tops[0] + [""] * (n - len(tops[0])),
                                           "run B": tops[1] + [""] * (n - len(tops[1]))}),
                             hide_index=True, width="stretch")
