"""The baselines (seasonal naive, AutoETS) and the accuracy scores of every model on the same backtest windows."""

from __future__ import annotations

import numpy as np

from engine.forecast.prepare import SeriesData
from engine.training import Cancelled

MODEL = "Neural forecaster"
SNAIVE = "Seasonal naive"
ETS = "Exponential smoothing (AutoETS)"
BASELINES = (SNAIVE, ETS)
METRIC_HELP = {
    "mase": "MASE: the average forecast error divided by the average error of 'same as one season ago' on the "
    "history. Below 1 beats that rule of thumb; lower is better.",
    "smape": "sMAPE: the average error as a percentage of the actual and forecast values (0% is perfect, 200% the worst).",
    "mae": "MAE: the average number of units the forecast was off by, per series and step.",
    "rmse": "RMSE: like MAE but big misses count more; in units.",
    "coverage": "Interval coverage: share of actual values that fell inside the 80% interval; about 80% is honest.",
}
METRIC_LABELS = {"mase": "MASE", "smape": "sMAPE %", "mae": "MAE", "rmse": "RMSE", "coverage": "80% interval coverage"}


def check_cancel(cancel) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled()


def seasonal_naive(y: np.ndarray, origin: int, H: int, m: int) -> np.ndarray:
    """The value one season before each step (repeating the last season beyond it); unknown as 0."""
    y = np.nan_to_num(y[:origin], nan=0.0)
    if origin < m:
        return np.full(H, y[-1] if len(y) else 0.0)
    return y[origin - m + (np.arange(H) % m)]


def ets_forecast(y: np.ndarray, H: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    from statsforecast.models import AutoETS  # lazy: heavy, and absent on the GPU image

    y = np.nan_to_num(y, nan=0.0).astype(np.float64)
    season = m if len(y) >= 2 * m + 2 else 1
    try:
        out = AutoETS(season_length=season).forecast(y=y, h=H, level=[80])
    except Exception:  # a series ETS cannot fit (constant, too short): counted and reported
        return None
    mean, lo, hi = (np.clip(np.asarray(out[k], dtype=float), 0, None) for k in ("mean", "lo-80", "hi-80"))
    if not np.isfinite(mean).all():
        return None
    return mean, lo, hi


def mase_scale(y: np.ndarray, known: np.ndarray, cut: int, m: int) -> float:
    """Mean absolute change over one season in the history before `cut` (the MASE denominator).

    With less than a season and a bit of history, the change from one step to the next (m = 1).
    """
    if cut <= m + 1:
        m = 1
    if cut <= m:
        return float("nan")
    a, b = y[m:cut], y[: cut - m]
    ok = known[m:cut] & known[: cut - m]
    if not ok.any():
        return float("nan")
    d = float(np.mean(np.abs(a[ok] - b[ok])))
    return d if d > 1e-9 else float("nan")


def scores(
    actual: np.ndarray,
    point: np.ndarray,
    mask: np.ndarray,
    mase_scale: np.ndarray,
    lo: np.ndarray | None = None,
    hi: np.ndarray | None = None,
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Overall and per-series accuracy of (series, window, step) forecasts on the masked points."""
    S = actual.shape[0]
    a = np.where(mask, actual, 0.0)
    p = np.where(mask, point, 0.0)
    err = np.abs(a - p)
    denom = np.abs(a) + np.abs(p)
    sm = np.where(denom > 0, 2 * err / np.where(denom > 0, denom, 1), 0.0)
    cnt = mask.reshape(S, -1).sum(1).astype(float)
    per = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        per["mae"] = err.reshape(S, -1).sum(1) / cnt
        per["rmse"] = np.sqrt((err**2).reshape(S, -1).sum(1) / cnt)
        per["smape"] = 100 * sm.reshape(S, -1).sum(1) / cnt
        per["mase"] = per["mae"] / mase_scale
        total = max(mask.sum(), 1)
        overall = {
            "mase": float(np.nanmean(per["mase"])) if np.isfinite(per["mase"]).any() else float("nan"),
            "smape": float(100 * sm.sum() / total),
            "mae": float(err.sum() / total),
            "rmse": float(np.sqrt((err**2).sum() / total)),
        }
        if lo is not None and hi is not None:
            inside = (actual >= lo - 1e-9) & (actual <= hi + 1e-9) & mask
            per["coverage"] = inside.reshape(S, -1).sum(1) / cnt
            overall["coverage"] = float(inside.sum() / total)
        else:  # no interval, so no coverage figure (a metric is a number measured, never a NaN placeholder)
            per["coverage"] = np.full(S, np.nan)
    return overall, per


def ets_backtest(
    S: list[SeriesData], origins: list[np.ndarray], H: int, m: int, cancel
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    import statsforecast.models  # noqa: F401  (raises ImportError here when absent)

    k = len(origins[0])
    mean = np.zeros((len(S), k, H))
    lo, hi = np.zeros_like(mean), np.zeros_like(mean)
    failed = 0
    for i, (s, os_) in enumerate(zip(S, origins)):
        for j, o in enumerate(os_):
            check_cancel(cancel)
            out = ets_forecast(s.y[:o], H, m)
            if out is None:
                failed += 1
                mean[i, j] = lo[i, j] = hi[i, j] = seasonal_naive(s.y, o, H, m)
            else:
                mean[i, j], lo[i, j], hi[i, j] = out
    return mean, lo, hi, failed
