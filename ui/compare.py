"""Runs side by side: the analyst explores by training again with other settings; any two runs of this page — this
session's, or the runs they saved as share links (My runs) — are compared in one place: the settings that differ, the
metrics with their intervals (and whether a difference is within noise), the main curve of each overlaid, and each
run's top SHAP columns. A saved run is read from the run store only when picked, once per session."""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from engine.data import DataError, Table
from engine.scenario import scenario
from engine.store import StoreUnavailable, UnknownRun
from ui import auth
from ui.charts import figure
from ui.errors import guard
from ui.share import headline_words, log_failure, run_store, saved_runs, session_links, unreachable
from ui.state import memo
from ui.style import BASELINE_COLORS, MODEL_COLOR

log = logging.getLogger("explorer.compare")

_RUNS = "_explorer_runs"
_SAVED = "saved:"  # the choice of a saved run is "saved:<run id>"; a session run's is its job id
_MAX_SAVED = 20  # saved runs offered, newest first
_NAMES = {
    "roc_auc": "ROC-AUC",
    "auprc": "AUPRC",
    "brier": "Brier score",
    "mase": "MASE",
    "mae": "MAE",
    "smape": "sMAPE",
    "f1": "F1",
    "roc_auc_macro": "ROC-AUC (all outcomes)",
    "tp": "Caught (true positives)",
    "fp": "False alarms (false positives)",
    "fn": "Missed (false negatives)",
    "tn": "Rightly cleared (true negatives)",
    "alerts_per_1000": "Alerts per 1,000 rows",
}
_COUNTS = {"tp", "fp", "fn", "tn", "support", "n", "k"}  # whole numbers: "57", never "57.000"
# the options that decide which rows (or windows) are held out; seed only where rows are drawn at random
_SPLIT = ("option · test_fraction", "option · horizon", "option · backtest_windows")
_AXES = {
    "fpr": "false-positive rate",
    "tpr": "true-positive rate (recall)",
    "recall": "recall",
    "precision": "precision",
    "chosen": "units forecast (the page's choice)",
    "k": "number of segments",
    "silhouette": "silhouette",
}


@dataclass
class Run:
    """What a run was trained on (a session run's model stays with its job; a saved run's is loaded beside it)."""

    page: str
    table: Table
    settings: dict[str, Any]
    when: float = field(default_factory=time.time)


def remember(page: str, job_id: str, table: Table, columns: dict, config: dict) -> None:
    """Note a finished run of `page` (once); runs whose job the session no longer keeps drop out of the choice."""
    runs = st.session_state.setdefault(_RUNS, {})
    if job_id not in runs:
        runs[job_id] = Run(page, table, flat_settings(table.name, len(table.df), columns, config))


def flat_settings(dataset: str, n_rows: int, columns: dict, config: dict) -> dict[str, str]:
    """A run's data, columns and options as one flat dict of words, the same for a session run and a saved one."""
    flat = {"data": f"{dataset} ({n_rows:,} rows)"}
    flat.update({f"column · {k}": _words(v) for k, v in columns.items()})
    flat.update({f"option · {k}": _words(v) for k, v in config.items()})
    return flat


def _words(value: Any) -> str:
    """A setting as an analyst reads it: lists as "a, b, c", yes/no, "(none)"."""
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) or "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "(none)" if value is None else str(value)


def _label(model: Any, run: Run, number: int, saved: bool = False) -> str:
    name, value = model.headline()
    return f"Run {number} · {time.strftime('%H:%M:%S', time.localtime(run.when))} · {name} {value:.3f}" + (
        " · saved" if saved else ""
    )


def _saved_label(page: str, row: dict[str, Any]) -> str:
    """A saved run as My runs lists it: "Saved 01 Dec 14:03 · heart.csv · ROC-AUC 0.912"."""
    headline = headline_words(page, row["metrics"])
    return f"Saved {dt.datetime.fromtimestamp(row['created']).strftime('%d %b %H:%M')} · {row['dataset_name']}" + (
        f" · {headline}" if headline else ""
    )


def _saved_choices(page: str, exclude: set[str]) -> tuple[dict[str, str], str | None]:
    """The analyst's saved runs of `page` to offer (choice -> label, newest first, at most _MAX_SAVED), leaving out
    the run ids in `exclude`; and a sentence instead when the run store cannot list them now."""
    try:
        rows = saved_runs(page=page, limit=_MAX_SAVED + len(exclude))
    except StoreUnavailable as exc:
        return {}, (
            f"Your saved runs (My runs) cannot be offered until the run store is back: {unreachable(exc)} "
            "The runs of this session compare as usual."
        )
    except Exception:  # the store's disk or index: logged, a sentence in the panel
        log.exception("listing the saved runs of %s", page)
        return {}, (
            "Your saved runs (My runs) cannot be read right now, so only the runs of this session are "
            "offered. Try again in a minute."
        )
    rows = [r for r in rows if r["id"] not in exclude][:_MAX_SAVED]
    return {_SAVED + r["id"]: _saved_label(page, r) for r in rows}, None


def _open_saved(page: str, choice: str) -> tuple[Any, Run] | str:
    """A saved run's model and what it was trained on, read from the store once per session; or a sentence saying
    why it cannot be compared (deleted, expired, the store down)."""
    run_id, viewer = choice[len(_SAVED) :], auth.viewer_id()

    def load() -> tuple[Any, Run]:
        saved = run_store().load(run_id, page=page, viewer=viewer)
        run = Run(
            page,
            saved.dataset(),
            flat_settings(saved.dataset_name, saved.n_rows, saved.columns, saved.settings),
            when=saved.created,
        )
        return scenario(page).load(saved.model), run

    try:
        return memo("compare_saved", f"{run_id}:{viewer}", load, keep=4)
    except UnknownRun:
        return "This saved run was deleted or has expired, so it cannot be compared any more. Pick another run."
    except StoreUnavailable as exc:
        return (
            f"This saved run cannot be read until the run store is back: {unreachable(exc)} "
            "The runs of this session compare as usual."
        )
    except DataError as exc:  # not allowed, or its model file damaged: the store's own sentence
        return exc.message
    except Exception:  # noqa: BLE001 (logged by log_failure, with the run id hashed)
        log_failure("opening saved run to compare", run_id)
        return "This saved run cannot be read right now, so it cannot be compared. Try again in a minute."


def _forget_gone(keys: tuple[str, str], choices: list[str]) -> None:
    """A saved run picked on an earlier rerun that is no longer offered: say so when the store no longer has it."""
    picked = {st.session_state.get(k) for k in keys}
    for choice in sorted(c for c in picked if isinstance(c, str) and c.startswith(_SAVED) and c not in choices):
        try:
            run_store().info(choice[len(_SAVED) :])
        except UnknownRun:
            st.warning(
                "The saved run you had picked was deleted or has expired, so it is no longer offered; "
                "the other runs compare as usual.",
                icon=":material/link_off:",
            )
        except Exception:  # the store is down: the sentence about it is shown already
            pass


def settings_that_differ(a: Run, b: Run) -> pd.DataFrame:
    """The settings whose values differ between two runs, in words ("(not set)" where one run lacks it)."""
    keys = list(dict.fromkeys([*a.settings, *b.settings]))
    rows = [
        (k, a.settings.get(k, "(not set)"), b.settings.get(k, "(not set)"))
        for k in keys
        if str(a.settings.get(k, "(not set)")) != str(b.settings.get(k, "(not set)"))
    ]
    return pd.DataFrame(rows, columns=["setting", "run A", "run B"]).astype(str)


def _model_name(model: Any) -> str:
    return getattr(model, "model_name", None) or next(iter(model.intervals or {}), "")


def _held_out_rows(model: Any) -> np.ndarray | None:
    """The positions of the rows a run was tested on, where its model keeps them."""
    test = getattr(model, "test", None)
    if isinstance(test, dict):
        for k in ("row", "rows"):
            if test.get(k) is not None:
                return np.asarray(test[k])
    return None


def not_comparable(model_a: Any, run_a: Run, model_b: Any, run_b: Run) -> str | None:
    """Why two runs' metrics cannot be subtracted (they were measured on different data or different held-out rows),
    in a sentence; None when they were measured on the same rows."""
    fa, fb = run_a.table.fingerprint, run_b.table.fingerprint
    if fa and fb and fa != fb:
        return (
            f"The two runs were tested on different data (run A: {run_a.table.name}, run B: {run_b.table.name}), "
            "so their metrics are shown side by side without a difference: a gap between them would say as much "
            "about the files as about the models. To compare two models, train both on the same file."
        )
    ra, rb = _held_out_rows(model_a), _held_out_rows(model_b)
    split = [*_SPLIT, *(["option · seed"] if "option · test_fraction" in run_a.settings else [])]
    moved = [k.split(" · ")[1].replace("_", " ") for k in split if run_a.settings.get(k) != run_b.settings.get(k)]
    na, nb = ((getattr(m, "n_rows", None) or {}).get("test") for m in (model_a, model_b))
    if (ra is not None and rb is not None and not np.array_equal(ra, rb)) or moved or (na and nb and na != nb):
        why = f" (the {' and '.join(moved)} changed)" if moved else ""
        return (
            f"The two runs were tested on different held-out rows of the same file{why}, so their metrics are "
            "shown side by side without a difference or a noise verdict: each is measured on its own rows. "
            "Keep the seed and the held-out share the same to compare two models."
        )
    return None


def _shown(k: str, v: float, iv: Any = None) -> str:
    if k in _COUNTS or isinstance(v, (int, np.integer)):
        return f"{v:,.0f}" + (f" ({iv[0]:,.0f}–{iv[1]:,.0f})" if iv else "")
    return f"{v:.3f}" + (f" ({iv[0]:.3f}–{iv[1]:.3f})" if iv else "")


def metrics_side_by_side(a: Any, b: Any, apart: str | None = None) -> tuple[pd.DataFrame, str]:
    """Every metric both runs report, A beside B with their 95% intervals, and a sentence on the headline metric:
    whether the difference is larger than the intervals explain (they do not overlap) or within noise. `apart`: why
    the runs cannot be compared (not_comparable) — then no difference and no verdict, that sentence instead."""
    ia, ib = ((m.intervals or {}).get(_model_name(m), {}) for m in (a, b))
    keys = [
        k
        for k in a.metrics
        if k in b.metrics
        and isinstance(a.metrics[k], (int, float))
        and np.isfinite(a.metrics[k])
        and isinstance(b.metrics[k], (int, float))
        and np.isfinite(b.metrics[k])
    ]
    labels = {**_NAMES, **(getattr(a, "METRIC_LABELS", {}) or {})}

    table = pd.DataFrame(
        {
            "metric": [labels.get(k, k.replace("_", " ").capitalize()) for k in keys],
            "run A": [_shown(k, a.metrics[k], ia.get(k)) for k in keys],
            "run B": [_shown(k, b.metrics[k], ib.get(k)) for k in keys],
        }
    )
    if apart:
        return table, apart
    table["B − A"] = [
        _shown(k, b.metrics[k] - a.metrics[k]) if k in _COUNTS else f"{b.metrics[k] - a.metrics[k]:+.3f}" for k in keys
    ]
    table["B − A"] = [t if t.startswith(("-", "+")) else "+" + t for t in table["B − A"]]
    key = a.HEADLINE or (keys[0] if keys else "")
    if key not in keys:
        return table, "The two runs report no metric in common."
    name = labels.get(key, key)
    va, vb = a.metrics[key], b.metrics[key]
    if ia.get(key) and ib.get(key):
        (la, ha), (lb, hb) = ia[key], ib[key]
        overlap = la <= hb and lb <= ha
        verdict = (
            "within noise: the two 95% intervals overlap, so these held-out rows cannot tell the runs apart"
            if overlap
            else "larger than the intervals explain: the two 95% intervals do not overlap"
        )
        return table, f"{name}: run A {va:.3f}, run B {vb:.3f} — a difference of {vb - va:+.3f}, {verdict}."
    return table, (
        f"{name}: run A {va:.3f}, run B {vb:.3f} ({vb - va:+.3f}). Neither run has an interval for it, so "
        "whether the difference is within noise cannot be said; train with bootstrap intervals on."
    )


def _curve(model: Any) -> tuple[str, str, str, pd.DataFrame] | None:
    """The run's main curve as (title, x, y, frame): PR or ROC for yes/no pages, recall by digit for digits, the backtest
    (all series added up) for forecasts, silhouette by number of segments for segmentation."""
    name = _model_name(model)
    for attr, x, y, title in (
        ("pr_curves", "recall", "precision", "Precision-recall curve"),
        ("roc_curves", "fpr", "tpr", "ROC curve"),
        ("roc", "fpr", "tpr", "ROC curve"),
    ):
        if callable(getattr(model, attr, None)):
            curves = getattr(model, attr)()
            frame = curves.get(name) if name in curves else next(iter(curves.values()), None)
            if frame is not None and {x, y} <= set(frame.columns):
                return title, x, y, frame
    if callable(getattr(model, "per_class", None)):
        frame = model.per_class().reset_index()
        if "recall" in frame.columns:
            return "Recall by digit", frame.columns[0], "recall", frame
    backtest = getattr(model, "backtest", None)
    if isinstance(backtest, pd.DataFrame) and {"date", "actual", "chosen", "evaluated"} <= set(backtest.columns):
        scored = backtest[backtest["evaluated"]]
        return (
            "Backtest, all series added up",
            "date",
            "chosen",
            scored.groupby("date", as_index=False)[["actual", "chosen"]].sum(),
        )
    scan = getattr(model, "scan", None)
    if isinstance(scan, pd.DataFrame) and {"k", "silhouette"} <= set(scan.columns):
        return "Silhouette by number of segments", "k", "silhouette", scan
    return None


def curves_overlaid(a: Any, b: Any) -> go.Figure | None:
    ca, cb = _curve(a), _curve(b)
    if ca is None or cb is None or ca[0] != cb[0]:
        return None
    title, x, y, _ = ca
    fig = figure(f"{title}: run A and run B", xaxis_title=_AXES.get(x, x), yaxis_title=_AXES.get(y, y), height=340)
    if title.startswith("Backtest"):  # what actually sold on those dates, beside both runs' forecasts
        fig.add_scatter(
            x=ca[3][x], y=ca[3]["actual"], name="actual", mode="lines", line=dict(color="#9e9e9e", dash="dot")
        )
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
    """The "Compare runs" expander of step 3, shown once this page has the current run and one more to compare it
    with: another finished run of this session (`jobs`: the session's jobs by run key) or a run the analyst saved as
    a share link (My runs). A session run that was saved is offered once, as the session run."""
    jobs = {job.id: job for job in jobs.values()}  # the session keeps its jobs by what they trained
    runs = {
        jid: run
        for jid, run in st.session_state.get(_RUNS, {}).items()
        if run.page == page and jid in jobs and jobs[jid].finished_ok
    }
    if current not in runs:
        return
    links = session_links(page)
    saved, note = _saved_choices(page, {run_id for run_id, job_id in links.items() if job_id in runs})
    ids = list(runs)
    choices = ids + list(saved)
    keys = (f"{page}_compare_a", f"{page}_compare_b")
    if len(choices) < 2:
        if note is None:
            _forget_gone(keys, choices)  # the saved run it was compared with went, and the comparison with it
        return
    numbers = {jid: i + 1 for i, jid in enumerate(ids)}
    models = {jid: jobs[jid].result for jid in ids}
    fmt = {jid: _label(models[jid], runs[jid], numbers[jid], jid in links.values()) for jid in ids} | saved
    count = f"{len(ids)} run{'s' if len(ids) != 1 else ''} of this page in this session"
    if saved:
        count += f", {len(saved)} saved on My runs"
    with st.expander(f"Compare runs side by side ({count})", icon=":material/compare:"):
        if note:
            st.caption(note)
        else:
            _forget_gone(keys, choices)
        shown_for = st.session_state.setdefault("_compare_current", {})
        if shown_for.get(page) != current:  # a new run on screen: it is run B, beside the one before it
            for k in keys:
                st.session_state.pop(k, None)
            shown_for[page] = current
        c1, c2 = st.columns(2)
        others = [j for j in ids if j != current]
        previous = others[-1] if others else next(iter(saved))  # the run before this one, else the newest saved
        a = c1.selectbox("Run A", choices, index=choices.index(previous), format_func=fmt.get, key=keys[0])
        b = c2.selectbox("Run B", choices, index=choices.index(current), format_func=fmt.get, key=keys[1])
        if a == b:
            st.info("Pick two different runs.")
            return
        picked = {}
        for choice in (a, b):
            if choice in runs:
                picked[choice] = (models[choice], runs[choice])
                continue
            opened = _open_saved(page, choice)
            if isinstance(opened, str):
                st.warning(opened, icon=":material/link_off:")
                return
            picked[choice] = opened
        _side_by_side(page, a, b, picked)


def _side_by_side(page: str, a: str, b: str, picked: dict) -> None:
    """The two runs compared: the settings that differ, the held-out metrics, the curves overlaid and the most
    influential columns of each."""
    (model_a, run_a), (model_b, run_b) = picked[a], picked[b]
    with guard("comparing the runs", stop=False):
        differ = settings_that_differ(run_a, run_b)
        st.markdown("**Settings that differ**")
        if differ.empty:
            st.caption("None: the two runs were trained on the same data with the same settings.")
        else:
            st.dataframe(differ, hide_index=True, width="stretch")
        table, sentence = metrics_side_by_side(model_a, model_b, not_comparable(model_a, run_a, model_b, run_b))
        st.markdown("**Held-out metrics** (95% intervals in brackets)")
        st.info(sentence, icon=":material/compare_arrows:")
        st.dataframe(table, hide_index=True, width="stretch")
        fig = curves_overlaid(model_a, model_b)
        if fig is not None:
            st.plotly_chart(fig, key=f"{page}_compare_curve")
        tops = [top_columns(model, run, choice) for choice, (model, run) in ((a, picked[a]), (b, picked[b]))]
        if all(t is not None for t in tops):
            n = max(len(t) for t in tops)
            st.markdown("**Most influential columns (SHAP)**")
            st.dataframe(
                pd.DataFrame(
                    {
                        "rank": range(1, n + 1),
                        "run A": tops[0] + [""] * (n - len(tops[0])),
                        "run B": tops[1] + [""] * (n - len(tops[1])),
                    }
                ),
                hide_index=True,
                width="stretch",
            )
