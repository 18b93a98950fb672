"""Training and testing, along the seams of the method: the backtest network (trained only on data before the
first backtest origin), the backtest of it and the baselines on the same windows, the refit on the whole history,
the future forecast, and the forecasts kept for explanations."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from engine.data import DataError
from engine.forecast import choose as ch
from engine.forecast.config import ForecastConfig
from engine.forecast.explain import explain_inputs
from engine.forecast.frame import ForecastColumns
from engine.forecast.model import ForecastModel
from engine.forecast.network import (
    QUANTILES,
    TOTAL_LEVELS,
    Encoded,
    ForecastNet,
    Inputs,
    calibrate,
    cap,
    level_lags,
    n_outputs,
    pinball_loss,
    quantiles,
    total_col,
)
from engine.forecast.prepare import Panel, prepare
from engine.forecast.scores import ETS, MODEL, SNAIVE, check_cancel, ets_backtest, mase_scale, scores, seasonal_naive
from engine.training import History, fit_model, seed_everything


@dataclass
class _Network:
    """A trained network with the inputs it was fitted on."""

    inputs: Inputs
    encoded: list[Encoded]
    net: ForecastNet
    history: History | None = None  # None until trained
    n_windows: int = 0
    background: np.ndarray | None = None


@dataclass
class _Backtest:
    origins: list[np.ndarray]
    metrics: dict[str, float]
    baseline_metrics: dict[str, dict[str, float]]
    per_series: dict[str, dict[str, np.ndarray]]
    table: pd.DataFrame
    total_coverage: dict[str, float]
    candidate_metrics: dict[str, dict[str, float]]  # the network and the combination (the baselines are apart)
    overall: str  # the best method over all series
    picks: list[str]  # the method used for each series
    choice_note: str


def fit(
    df: pd.DataFrame, columns: ForecastColumns, config: ForecastConfig = ForecastConfig(), progress=None, cancel=None
) -> ForecastModel:
    """Backtest the global network and the baselines on the same rolling-origin windows, then forecast ahead."""
    t_start = time.perf_counter()
    panel = prepare(df, columns, config)
    seed_everything(config.seed)
    notes = list(panel.notes)
    timings: dict[str, float] = {}
    rng = np.random.default_rng(config.seed)
    cuts = [s.n - panel.windows * panel.horizon for s in panel.series]

    first = _train_backtest_network(panel, cuts, columns, config, rng, progress, cancel, notes, timings)
    bt = _backtest(panel, cuts, first, columns, config, cancel, notes, timings)
    check_cancel(cancel)
    notes.append(bt.choice_note)
    if config.refit:
        final = _refit(panel, first, columns, config, rng, progress, cancel, timings)
    else:
        final = first
        notes.append(
            "The future forecast uses the backtest network (trained on the history before the backtest windows)."
        )
    timings[MODEL] = timings.get("train backtest network", 0.0) + timings.get("refit on the whole history", 0.0)
    forecast, actuals = _future(panel, final, bt.picks, ETS in bt.baseline_metrics, cancel)
    explain_X, explain_rows, explain_steps, background = _explain_set(panel, bt.origins, final, rng)

    timings["total"] = time.perf_counter() - t_start
    notes.append(
        f"Trained on {first.n_windows:,} windows from {len(panel.series):,} series; backtest: {panel.windows} × "
        f"{panel.freq.units(panel.horizon)} at the end of each series."
    )
    return ForecastModel(
        columns=columns,
        config=config,
        freq=panel.freq,
        lags=panel.lags,
        ids=panel.ids,
        id_values=panel.id_values,
        skipped=panel.skipped,
        net=final.net,
        drivers=final.inputs.pre,
        driver_columns=list(final.inputs.drivers),
        level_stats=final.inputs.level_stats,
        background=background.astype(np.float32),
        per_series={
            name: {
                k: [float(v) if np.isfinite(v) else None for v in arr]
                for k, arr in per.items()
                if np.isfinite(arr).any()
            }
            for name, per in bt.per_series.items()
        },
        actuals=actuals,
        backtest=bt.table,
        forecast=forecast,
        explain_X=explain_X,
        explain_rows=explain_rows,
        explain_steps=explain_steps,
        total_coverage=bt.total_coverage,
        metrics=bt.metrics,
        baseline_metrics=bt.baseline_metrics,
        history=_history(first),
        timings=timings,
        notes=notes,
        n_rows={"series": len(panel.series), "training windows": first.n_windows},
        choice=bt.picks,
        choice_overall=bt.overall,
        choice_note=bt.choice_note,
        candidate_metrics=bt.candidate_metrics,
    )


def _history(trained: _Network) -> History:
    """A trained network's history (set once it is trained)."""
    assert trained.history is not None, "the network has not been trained"
    return trained.history


def _network(inputs: Inputs, H: int, config: ForecastConfig) -> ForecastNet:
    return ForecastNet(
        inputs.n_in, n_outputs(H), config.hidden, config.dropout, inputs.L, level_lags(inputs.freq, inputs.L)
    )


def _train_backtest_network(
    panel: Panel,
    cuts: list[int],
    columns: ForecastColumns,
    config: ForecastConfig,
    rng: np.random.Generator,
    progress,
    cancel,
    notes: list[str],
    timings: dict[str, float],
) -> _Network:
    """The backtest network: everything it learns comes from before each series' first origin."""
    S, H, L, k = panel.series, panel.horizon, panel.lags, panel.windows
    inputs = Inputs(panel, cuts, columns)
    notes += inputs.notes
    enc = inputs.encode_all(S, inputs.scales)
    Xtr: list[np.ndarray] = []
    Ytr: list[np.ndarray] = []
    Xva: list[np.ndarray] = []
    Yva: list[np.ndarray] = []
    val_len = 2 * H
    for e, cut in zip(enc, cuts):
        tr = np.arange(L, cut - val_len - H + 1)
        va = np.arange(max(L, cut - val_len), cut - H + 1)
        if len(tr):
            X, Y = inputs.design(e, tr)
            Xtr.append(X)
            Ytr.append(Y)
        if len(va):
            X, Y = inputs.design(e, va)
            Xva.append(X)
            Yva.append(Y)
    if not Xtr:
        raise DataError(
            f"The series are too short to train on after setting aside {k} backtest windows of {panel.freq.units(H)} "
            f"and a validation period: use fewer backtest windows, a shorter horizon, or more history."
        )
    X_train, Y_train = cap(np.vstack(Xtr), np.vstack(Ytr), config.max_train_windows, rng)
    val = (np.vstack(Xva), np.vstack(Yva)) if Xva else None
    if len(X_train) < 20:
        raise DataError(
            f"Only {len(X_train)} training windows fit in the history before the backtest; bring more "
            "history or shorten the horizon."
        )
    net = _network(inputs, H, config)
    t0 = time.perf_counter()
    history = fit_model(
        net,
        (X_train, Y_train),
        val,
        pinball_loss(H),
        config.train_config(len(X_train)),
        progress=progress,
        cancel=cancel,
    )
    timings["train backtest network"] = time.perf_counter() - t0
    if val is not None:  # the 80% band made to hold on windows the network was not fitted on
        calibrate(net, *val, H)
    return _Network(inputs, enc, net, history, len(X_train))


@dataclass
class _Windows:
    """The backtest windows of every series (series, window, step): the actuals, which are known and open, the
    network's quantiles and totals and seasonal naive's forecast (closed days zero), and each series' MASE scale."""

    origins: list[np.ndarray]
    actual: np.ndarray
    known: np.ndarray
    open_: np.ndarray
    mask: np.ndarray  # known and open: what the accuracy figures count
    qa: np.ndarray  # the network's quantiles
    ta: np.ndarray  # the network's running-total levels
    sn: np.ndarray  # seasonal naive
    mase_den: np.ndarray


@dataclass
class _Choice:
    """The page's choice among the candidates scored on the same windows."""

    metrics: dict[str, float]  # the chosen forecasts'
    candidate_metrics: dict[str, dict[str, float]]
    overall: str
    picks: list[str]
    note: str
    chosen: ch.Candidate
    combo: np.ndarray  # the combination's point forecast
    ta: np.ndarray  # the totals, rescaled to the chosen forecasts where the network is not the pick


def _backtest(
    panel: Panel,
    cuts: list[int],
    first: _Network,
    columns: ForecastColumns,
    config: ForecastConfig,
    cancel,
    notes: list[str],
    timings: dict[str, float],
) -> _Backtest:
    """k origins per series, each seeing actuals up to itself; the network and the baselines on the same windows."""
    w = _windows(panel, cuts, first)
    m, freq = panel.freq.season, panel.freq
    if any(c <= m + 1 for c in cuts):
        notes.append(
            f"Some series have less than a season ({freq.units(m)}) of history before the backtest: seasonal naive "
            "repeats their last value there, and their MASE compares with the step-to-step change."
        )
    if np.isnan(w.mase_den).any():
        notes.append(
            f"MASE leaves out {int(np.isnan(w.mase_den).sum()):,} series whose history never changes over a season."
        )
    _, per_model = scores(w.actual, w.qa[..., 1], w.mask, w.mase_den, w.qa[..., 0], w.qa[..., 2])
    sn_metrics, per_sn = scores(w.actual, w.sn, w.mask, w.mase_den)
    baseline_metrics = {SNAIVE: sn_metrics}
    per_series = {MODEL: per_model, SNAIVE: per_sn}
    ets, ets_lo, ets_hi = _ets_baseline(panel, w, config, cancel, notes, timings, baseline_metrics, per_series)
    if columns.open_flag:
        notes.append("Days marked closed are forecast as zero by every model and left out of the accuracy figures.")
    c = _choose(panel, w, ets, ets_lo, ets_hi, per_series)
    total_coverage = _total_coverage(w, c.ta)
    table = _backtest_table(panel, w, c, ets, ets_lo, ets_hi)
    return _Backtest(
        w.origins,
        c.metrics,
        baseline_metrics,
        per_series,
        table,
        total_coverage,
        c.candidate_metrics,
        c.overall,
        c.picks,
        c.note,
    )


def _windows(panel: Panel, cuts: list[int], first: _Network) -> _Windows:
    """The backtest network's and seasonal naive's forecasts of every window, beside the actuals."""
    S, H, k, m = panel.series, panel.horizon, panel.windows, panel.freq.season
    origins = [np.array([cut + j * H for j in range(k)]) for cut in cuts]
    actual = np.zeros((len(S), k, H))
    known = np.zeros((len(S), k, H), bool)
    open_ = np.ones((len(S), k, H), bool)
    qa = np.zeros((len(S), k, H, len(QUANTILES)))
    ta = np.zeros((len(S), k, H, len(TOTAL_LEVELS)))
    sn = np.zeros((len(S), k, H))
    for i, (s, e, os_) in enumerate(zip(S, first.encoded, origins)):
        X, _ = first.inputs.design(e, os_)
        daily, totals = quantiles(first.net, X, H)
        qa[i], ta[i] = daily * e.scale, totals * e.scale
        idx = os_[:, None] + np.arange(H)[None, :]
        actual[i] = np.nan_to_num(s.y[idx], nan=0.0)
        known[i] = s.known[idx]
        if s.open is not None:
            open_[i] = s.open[idx]
        sn[i] = np.stack([seasonal_naive(s.y, o, H, m) for o in os_])
    mask = known & open_
    qa[~open_] = 0.0
    sn[~open_] = 0.0
    mase_den = np.array([mase_scale(np.nan_to_num(s.y, nan=0.0), s.known, c, m) for s, c in zip(S, cuts)])
    return _Windows(origins, actual, known, open_, mask, qa, ta, sn, mase_den)


def _ets_baseline(
    panel: Panel,
    w: _Windows,
    config: ForecastConfig,
    cancel,
    notes: list[str],
    timings: dict[str, float],
    baseline_metrics: dict,
    per_series: dict,
) -> tuple[Any, Any, Any]:
    """AutoETS on the same windows (point, low, high; Nones when skipped), its scores added to `baseline_metrics`
    and `per_series`."""
    S, H, k, m = panel.series, panel.horizon, panel.windows, panel.freq.season
    ets = ets_lo = ets_hi = None
    if config.ets and len(S) <= config.ets_max_series:
        t0 = time.perf_counter()
        try:
            ets, ets_lo, ets_hi, failed = ets_backtest(S, w.origins, H, m, cancel)
        except ImportError:
            notes.append("The AutoETS baseline was skipped: the statsforecast package is not installed here.")
        else:
            for arr in (ets, ets_lo, ets_hi):
                arr[~w.open_] = 0.0
            baseline_metrics[ETS], per_series[ETS] = scores(w.actual, ets, w.mask, w.mase_den, ets_lo, ets_hi)
            if failed:
                notes.append(
                    f"AutoETS could not fit {failed:,} of {len(S) * k:,} series-windows; those use seasonal "
                    "naive's forecast instead."
                )
            timings[ETS] = time.perf_counter() - t0
    elif config.ets:
        notes.append(
            f"The AutoETS baseline was skipped: {len(S):,} series is more than {config.ets_max_series:,} "
            "(it fits one model per series and window)."
        )
    return ets, ets_lo, ets_hi


def _choose(panel: Panel, w: _Windows, ets, ets_lo, ets_hi, per_series: dict) -> _Choice:
    """The page's choice: every candidate on the same windows, the best used (per series where there are 2+ windows);
    the chosen forecasts' and the combination's per-series scores added to `per_series`."""
    k, open_, qa = panel.windows, w.open_, w.qa
    net = ch.Candidate(qa[..., 1], qa[..., 0], qa[..., 2])
    cands = ch.candidates(net, w.sn, ch.Candidate(ets, ets_lo, ets_hi) if ets is not None else None)
    scored = {}
    for name, c in cands.items():
        for arr in (c.point, c.low, c.high):
            arr[~open_] = 0.0
        scored[name] = scores(w.actual, c.point, w.mask, w.mase_den, c.low, c.high)
    overall, picks = ch.choose(
        {n: per["mae"] for n, (_, per) in scored.items()}, {n: m["mase"] for n, (m, _) in scored.items()}, k
    )
    chosen = ch.pick(cands, picks)
    metrics, per_series[ch.CHOICE] = scores(w.actual, chosen.point, w.mask, w.mase_den, chosen.low, chosen.high)
    per_series[ch.COMBO] = scored[ch.COMBO][1]
    candidate_metrics = {MODEL: scored[MODEL][0], ch.COMBO: scored[ch.COMBO][0]}
    all_metrics = {**{n: m for n, (m, _) in scored.items()}, ch.CHOICE: metrics}
    choice_note = ch.sentence(overall, picks, all_metrics, ets is not None)
    ta = ch.rescale_totals(w.ta, qa[..., 1], chosen.point) if picks.count(MODEL) < len(picks) else w.ta
    return _Choice(metrics, candidate_metrics, overall, picks, choice_note, chosen, cands[ch.COMBO].point, ta)


def _total_coverage(w: _Windows, ta: np.ndarray) -> dict[str, float]:
    """Are the totals behind the reorder quantities honest? Share of whole-window totals at or below each level."""
    whole = w.known.all(-1)
    tot = w.actual.sum(-1)
    return {
        f"{q:g}": float((tot[whole] <= ta[..., -1, j][whole] + 1e-9).mean()) if whole.any() else float("nan")
        for j, q in enumerate(TOTAL_LEVELS)
    }


def _backtest_table(panel: Panel, w: _Windows, c: _Choice, ets, ets_lo, ets_hi) -> pd.DataFrame:
    """One row per series, window and step: the actual, whether it counts, and every method's forecast."""
    S, H, k, freq = panel.series, panel.horizon, panel.windows, panel.freq
    qa, chosen = w.qa, c.chosen
    table = pd.DataFrame(
        {
            "series": np.repeat(panel.ids, k * H),
            "window": np.tile(np.repeat(np.arange(1, k + 1), H), len(S)),
            "date": np.concatenate([freq.dates(s.start, s.n)[s.n - k * H :] for s in S]),
            "actual": w.actual.ravel(),
            "evaluated": w.mask.ravel(),
            "model_low": qa[..., 0].ravel(),
            "model": qa[..., 1].ravel(),
            "model_high": qa[..., 2].ravel(),
            "snaive": w.sn.ravel(),
            "combo": c.combo.ravel(),
            "chosen_low": chosen.low.ravel(),
            "chosen": chosen.point.ravel(),
            "chosen_high": chosen.high.ravel(),
            "method": np.repeat(c.picks, k * H),
        }
    )
    if ets is not None:
        table["ets"], table["ets_low"], table["ets_high"] = ets.ravel(), ets_lo.ravel(), ets_hi.ravel()
    return table


def _refit(
    panel: Panel,
    first: _Network,
    columns: ForecastColumns,
    config: ForecastConfig,
    rng: np.random.Generator,
    progress,
    cancel,
    timings: dict[str, float],
) -> _Network:
    """The network for the future: refitted on the whole history (as many epochs as the backtest network's best)."""
    S, H, L, history = panel.series, panel.horizon, panel.lags, _history(first)
    inputs = Inputs(panel, [s.n for s in S], columns)
    enc = inputs.encode_all(S, inputs.scales)
    parts = [inputs.design(e, np.arange(L, s.n - H + 1)) for e, s in zip(enc, S) if s.n - H + 1 > L]
    Xall, Yall = cap(np.vstack([p[0] for p in parts]), np.vstack([p[1] for p in parts]), config.max_train_windows, rng)
    epochs = max(history.best_epoch, 3)
    net = _network(inputs, H, config)
    offset = len(history.epochs)

    def refit_progress(ev: dict[str, Any]) -> None:
        if progress is not None:
            progress(
                {
                    **ev,
                    "epoch": offset + ev["epoch"],
                    "max_epochs": offset + epochs,
                    "val_loss": float("nan"),
                    "best_epoch": history.best_epoch,
                    "phase": "refit on the whole history",
                }
            )

    t0 = time.perf_counter()
    fit_model(
        net,
        (Xall, Yall),
        None,
        pinball_loss(H),
        config.train_config(len(Xall), max_epochs=epochs, patience=epochs + 1),
        progress=refit_progress,
        cancel=cancel,
    )
    timings["refit on the whole history"] = time.perf_counter() - t0
    net.set_offsets(first.net.offsets)  # the backtest network's calibration (the refit has no held-out windows)
    background = Xall[rng.choice(len(Xall), size=min(100, len(Xall)), replace=False)]
    return _Network(inputs, enc, net, n_windows=len(Xall), background=background)


def _future(
    panel: Panel, final: _Network, picks: list[str], with_ets: bool, cancel=None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The forecast of the next H steps of every series by the method chosen for it (quantiles and running totals),
    the network's own forecast beside it, and the history."""
    S, H, freq, m = panel.series, panel.horizon, panel.freq, panel.freq.season
    parts = []
    for s, e, method in zip(S, final.encoded, picks):
        X, _ = final.inputs.design(e, np.array([s.n]))
        daily, totals = quantiles(final.net, X, H)
        q, t = daily[0] * e.scale, totals[0] * e.scale
        op = s.open[s.n :] if s.open is not None else np.ones(H, bool)
        q[~op] = 0.0
        c = ch.chosen_future(s.y, q, method, H, m, cancel, with_ets)
        c.point[~op] = c.low[~op] = c.high[~op] = 0.0
        if method != MODEL:
            t = ch.rescale_totals(t, q[:, 1], c.point)
        part = pd.DataFrame(
            {
                "series": s.id,
                "date": freq.dates(s.start, s.n + H)[s.n :],
                "step": np.arange(1, H + 1),
                "low": c.low,
                "median": c.point,
                "high": c.high,
                "open": op,
                "method": method,
                "network_low": q[:, 0],
                "network": q[:, 1],
                "network_high": q[:, 2],
            }
        )
        for j, level in enumerate(TOTAL_LEVELS):
            part[total_col(level)] = t[:, j]
        parts.append(part)
    forecast = pd.concat(parts, ignore_index=True)
    actuals = pd.concat(
        [
            pd.DataFrame(
                {
                    "series": s.id,
                    "date": freq.dates(s.start, s.n),
                    "actual": s.y,
                    "known": s.known,
                    "open": s.open[: s.n] if s.open is not None else np.ones(s.n, bool),
                }
            )
            for s in S
        ],
        ignore_index=True,
    )
    return forecast, actuals


def _explain_set(panel: Panel, origins: list[np.ndarray], final: _Network, rng: np.random.Generator):
    """What the explanations run on: every series' future origin and up to 200 of the backtest origins; and the
    SHAP background (training windows of the network explained)."""
    S, H, L, k = panel.series, panel.horizon, panel.lags, panel.windows
    pairs = [(i, o) for i, os_ in enumerate(origins) for o in os_]
    chosen = sorted(rng.choice(len(pairs), size=min(200, len(pairs)), replace=False)) if pairs else []
    picked: list[list[int]] = [[] for _ in S]
    for j in chosen:
        picked[pairs[j][0]].append(int(pairs[j][1]))
    X, rows, steps = explain_inputs(
        final.inputs, panel, [o + [s.n] for o, s in zip(picked, S)], list(final.inputs.scales)
    )
    background = final.background
    if background is None:
        Xb = np.vstack(
            [final.inputs.design(e, np.arange(L, max(L + 1, s.n - k * H - H + 1)))[0] for e, s in zip(final.encoded, S)]
        )
        background = Xb[rng.choice(len(Xb), size=min(100, len(Xb)), replace=False)]
    return X, rows, steps, background
