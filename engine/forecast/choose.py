"""The page's choice: the network, AutoETS, seasonal naive or their combination, picked on the backtest windows.

Why a chooser and a combination (M4, M5): no single method wins on every series. In M4 the simple average of
exponential smoothing forecasts ("Comb") was a benchmark few beat, and the winners combined exponential smoothing
with a network (ES-RNN) or weighted several methods per series (FFORMA). Only about a third of M5 teams beat
seasonal naive. So the page scores every candidate on exactly the same rolling-origin windows and uses the best:

- per series, when each series has at least two backtest windows to judge on and a candidate is clearly better
  (≥ `PER_SERIES_MARGIN` lower error) than the overall best there; otherwise the overall best for every series
  (shrinking toward one choice keeps the pick from chasing noise on a single window);
- the overall best is the candidate with the lowest MASE over all series.

The choice is made on the windows it is scored on, so its backtest figure is never above the best baseline's
(by construction), and slightly optimistic; bench/forecast.py also scores a choice made on earlier windows only.

Intervals and totals for whatever is chosen (never fitted on the scored windows, so coverage stays honest):
AutoETS keeps its own 80% interval; seasonal naive borrows the network's band, scaled to its point; the
combination averages the network's and AutoETS's quantiles (quantile averaging); the running-total quantiles
behind the reorder quantities are the network's, rescaled to the chosen forecast's running total.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.forecast.scores import ETS, MODEL, SNAIVE, check_cancel, ets_forecast, seasonal_naive

COMBO = "Combination"
CHOICE = "Page's choice"
PER_SERIES_MARGIN = 0.10  # a series leaves the overall choice only for a candidate this much better on it
SHORT = {MODEL: "network", ETS: "AutoETS", SNAIVE: "seasonal naive", COMBO: "combination"}


@dataclass
class Candidate:
    """One forecasting method's (…, H) point forecast and 80% interval."""

    point: np.ndarray
    low: np.ndarray
    high: np.ndarray


def band_around(point: np.ndarray, med: np.ndarray, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The network's interval (low, med, high) moved onto another point forecast: scaled where the network's
    median is positive (keeps its relative width, never below zero), shifted where it is zero."""
    pos = med > 1e-9
    ratio = np.where(pos, point / np.where(pos, med, 1.0), 1.0)
    lo = np.where(pos, low * ratio, np.maximum(point - (med - low), 0.0))
    hi = np.where(pos, high * ratio, point + (high - med))
    return np.minimum(lo, point), np.maximum(hi, point)


def candidates(net: Candidate, snaive: np.ndarray, ets: Candidate | None) -> dict[str, Candidate]:
    """Every method the page can choose, on the same (…, H) grid; the combination is the network and AutoETS
    averaged (the network and seasonal naive when AutoETS is absent)."""
    out = {MODEL: net}
    out[SNAIVE] = Candidate(snaive, *band_around(snaive, net.point, net.low, net.high))
    if ets is not None:
        out[ETS] = ets
        out[COMBO] = Candidate((net.point + ets.point) / 2, (net.low + ets.low) / 2, (net.high + ets.high) / 2)
    else:
        point = (net.point + snaive) / 2
        out[COMBO] = Candidate(point, *band_around(point, net.point, net.low, net.high))
    return out


def combo_label(has_ets: bool) -> str:
    return "the average of the network and AutoETS" if has_ets else "the average of the network and seasonal naive"


def choose(
    per_series_mae: dict[str, np.ndarray], overall_mase: dict[str, float], windows: int
) -> tuple[str, list[str]]:
    """(the overall best, the method used for each series). Ties go to the earlier of network, combination,
    AutoETS, seasonal naive (the order the page prefers)."""
    order = [n for n in (MODEL, COMBO, ETS, SNAIVE) if n in overall_mase]
    finite = {n: overall_mase[n] for n in order if np.isfinite(overall_mase[n])}
    overall = min(finite, key=lambda n: (finite[n], order.index(n))) if finite else MODEL
    n_series = len(next(iter(per_series_mae.values())))
    picks = [overall] * n_series
    if windows >= 2:
        for i in range(n_series):
            base = per_series_mae[overall][i]
            if not np.isfinite(base):
                continue
            best = min(
                order,
                key=lambda n: (per_series_mae[n][i] if np.isfinite(per_series_mae[n][i]) else np.inf, order.index(n)),
            )
            if per_series_mae[best][i] < (1 - PER_SERIES_MARGIN) * base:
                picks[i] = best
    return overall, picks


def pick(cands: dict[str, Candidate], picks: list[str]) -> Candidate:
    """The chosen candidate of each series (first axis: series)."""
    take = lambda attr: np.stack([getattr(cands[p], attr)[i] for i, p in enumerate(picks)])  # noqa: E731
    return Candidate(take("point"), take("low"), take("high"))


def rescale_totals(totals: np.ndarray, net_point: np.ndarray, point: np.ndarray) -> np.ndarray:
    """The network's running-total quantiles (…, H, levels) moved onto another point forecast's running total."""
    net_cum, cum = np.cumsum(net_point, -1), np.cumsum(point, -1)
    pos = net_cum > 1e-9
    ratio = np.where(pos, cum / np.where(pos, net_cum, 1.0), 1.0)[..., None]
    out = np.where(pos[..., None], totals * ratio, np.maximum(totals + (cum - net_cum)[..., None], 0.0))
    return np.maximum.accumulate(np.sort(out, axis=-1), axis=-2)


def sentence(overall: str, picks: list[str], metrics: dict[str, dict[str, float]], has_ets: bool) -> str:
    """One sentence for the page: which forecast it uses, and why."""
    baselines = {n: metrics[n]["mase"] for n in (SNAIVE, ETS) if n in metrics and np.isfinite(metrics[n]["mase"])}
    best_base = min(baselines, key=lambda n: baselines[n]) if baselines else None
    what = {COMBO: f"the combination ({combo_label(has_ets)})", MODEL: "the network"}.get(
        overall, SHORT.get(overall, overall)
    )
    counts = {n: picks.count(n) for n in dict.fromkeys(picks)}
    why = f"it had the lowest error (MASE {metrics[overall]['mase']:.2f}) on the backtest windows"
    if best_base is not None and overall != best_base:
        why += f", against {baselines[best_base]:.2f} for {SHORT[best_base]}, the best baseline"
    if len(counts) > 1:
        others = " and ".join(f"{SHORT.get(n, n)} for {c:,}" for n, c in counts.items() if n != overall)
        return (
            f"The forecasts use {what}, because {why}; except {others} series, where that method was at least "
            f"{PER_SERIES_MARGIN:.0%} better on the series' own backtest windows."
        )
    return f"The forecasts use {what} for every series because {why}."


def chosen_future(
    y: np.ndarray, net_q: np.ndarray, method: str, H: int, m: int, cancel=None, with_ets: bool = True
) -> Candidate:
    """One series' next H steps by `method`, from its network quantiles (H, 3) and its history `y`. `with_ets`: the
    backtest had AutoETS (so the combination is network + AutoETS; without, network + seasonal naive). AutoETS (and
    that combination) falls back to the network when statsforecast is absent or cannot fit the series."""
    net = Candidate(net_q[:, 1].copy(), net_q[:, 0].copy(), net_q[:, 2].copy())
    if method == MODEL:
        return net
    ets = None
    if method == ETS or (method == COMBO and with_ets):
        check_cancel(cancel)
        try:
            out = ets_forecast(y, H, m)
        except ImportError:
            out = None
        if out is None:
            return net
        ets = Candidate(*out)
    return candidates(net, seasonal_naive(y, len(y), H, m), ets)[method]
