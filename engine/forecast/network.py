"""What the network sees and how it learns: scaling, calendar and driver encoding, the input layout (grouped for
explanations), the pinball loss over step and running-total quantiles."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from engine.data import DataError
from engine.forecast.frame import ForecastColumns, Frequency
from engine.forecast.prepare import Panel, SeriesData
from engine.models import TabularMLP, rng_locked
from engine.tabular import Preprocessor
from engine.training import predict_batched

QUANTILES = (0.1, 0.5, 0.9)  # of each step's demand
TOTAL_LEVELS = (0.5, 0.75, 0.9, 0.95, 0.99)  # of the total demand from step 1 to each step (reorder quantities)


def lag_bands(freq: Frequency, L: int) -> list[tuple[int, int, str]]:
    if freq.kind == "D":
        weeks = math.ceil(L / 7)
        bands = [
            (1, 7, "last week's sales"),
            (8, L, f"sales 2–{weeks} weeks ago" if weeks > 2 else "sales 2 weeks ago"),
        ]
    elif freq.kind == "W":
        bands = [(1, 4, "last 4 weeks' sales"), (5, 13, "sales 5–13 weeks ago"), (14, L, f"sales 14–{L} weeks ago")]
    else:
        bands = [(1, 3, "last 3 months' sales"), (4, 12, "sales 4–12 months ago"), (13, L, f"sales 13–{L} months ago")]
    out = []
    for lo, hi, name in bands:
        hi = min(hi, L)
        if lo <= hi:
            out.append((lo, hi, name))
    return out


def _calendar(dates: pd.DatetimeIndex, freq: Frequency) -> tuple[np.ndarray, list[tuple[str, int]]]:
    """Calendar features of each date and their (group, width) layout."""
    if freq.kind == "M":
        onehot = np.eye(12, dtype=np.float32)[dates.month.to_numpy() - 1]
        return onehot, [("month of year", 12)]
    angle = 2 * np.pi * (dates.dayofyear.to_numpy() - 1) / 365.25
    season = np.stack([np.sin(angle), np.cos(angle)], axis=1).astype(np.float32)
    if freq.kind == "W":
        return season, [("time of year", 2)]
    dow = np.eye(7, dtype=np.float32)[dates.dayofweek.to_numpy()]
    return np.hstack([dow, season]), [("day of week", 7), ("time of year", 2)]


@dataclass
class Encoded:
    """One series as the network sees it."""

    yin: np.ndarray  # (n,) log1p(y / scale), unknown as 0
    ys: np.ndarray  # (n,) y / scale, unknown as 0
    w: np.ndarray  # (n,) 1 where the value is known
    cal: np.ndarray  # (n + H, c_cal)
    drv: np.ndarray  # (n + H, c_drv) encoded drivers
    level: float  # standardised log1p(scale)
    scale: float


class Inputs:
    """Scaling, driver encoding and the layout of the network's inputs, fitted on the rows before `cuts`."""

    def __init__(self, panel: Panel, cuts: Sequence[int], columns: ForecastColumns):
        self.freq, self.L, self.H = panel.freq, panel.lags, panel.horizon
        self.drivers = list(columns.all_drivers)
        self.scales = np.array([scale_of(s, c) for s, c in zip(panel.series, cuts)])
        logs = np.log1p(self.scales)
        self.level_stats = (float(logs.mean()), float(logs.std()) or 1.0)
        self.pre: Preprocessor | None = None
        self.notes: list[str] = []
        if self.drivers:
            train_rows = pd.concat([s.drivers.iloc[:c] for s, c in zip(panel.series, cuts)], ignore_index=True)
            try:
                self.pre = Preprocessor().fit(_driver_frame(train_rows, self.drivers), self.drivers)
                self.notes += [n for n in self.pre.notes_ if not n.startswith("Filled")]
            except DataError as exc:
                if "None of the chosen feature columns" not in exc.message:
                    raise
                self.notes.append(
                    "The driver columns have the same value in every row of the history, so they were left out."
                )
        self.layout()

    @classmethod
    def restore(
        cls,
        freq: Frequency,
        L: int,
        H: int,
        drivers: list[str],
        pre: Preprocessor | None,
        level_stats: tuple[float, float],
    ) -> Inputs:
        obj = cls.__new__(cls)
        mean, spread = level_stats  # a list when read from JSON
        obj.freq, obj.L, obj.H, obj.drivers, obj.pre, obj.level_stats = freq, L, H, drivers, pre, (mean, spread)
        obj.notes, obj.scales = [], np.array([])
        obj.layout()
        return obj

    def layout(self) -> None:
        """Group name of every input column, in order: lags, level, calendar, drivers."""
        groups: list[str] = []
        lag_group = [""] * self.L
        for lo, hi, name in lag_bands(self.freq, self.L):
            for lag in range(lo, hi + 1):
                lag_group[lag - 1] = name
        groups += lag_group
        groups.append("usual sales level")
        _, cal_layout = _calendar(pd.DatetimeIndex([pd.Timestamp("2024-01-01")]), self.freq)
        for name, width in cal_layout:
            groups += [name] * width
        self.driver_columns = []  # analyst driver column of each encoded driver channel
        if self.pre is not None:
            for col, idx in self.pre.groups.items():
                self.driver_columns += [col] * len(idx)
        self.base_groups = list(groups)
        self.n_in = len(groups) + len(self.driver_columns) * (self.L + self.H)
        self.group_names = self.groups()[1]

    def driver_group(self, col: str, when: str) -> str:
        """Group name of a driver's inputs: `when` is 'ahead', 'before', 'that day' or 'other days'."""
        words = {
            "ahead": f"next {self.freq.units(self.H)}",
            "before": f"past {self.freq.units(self.L)}",
            "that day": f"that {self.freq.unit}",
            "other days": f"other {self.freq.unit}s",
        }
        return f"{col} ({words[when]})"

    def groups(self, step: int | None = None) -> tuple[np.ndarray, list[str]]:
        """(inputs x groups) 0/1 matrix and the group names an analyst reads.

        Drivers split into the horizon and the look-back window; for one forecast `step` (1-based)
        into that step and the other steps, so 'promo (that day)' is the promotion on the day forecast.
        """
        names = list(self.base_groups)
        for col in self.driver_columns:
            for offset in range(-self.L, self.H):
                if step is None:
                    names.append(self.driver_group(col, "ahead" if offset >= 0 else "before"))
                else:
                    names.append(self.driver_group(col, "that day" if offset == step - 1 else "other days"))
        order = list(dict.fromkeys(names))
        index = {n: j for j, n in enumerate(order)}
        g = np.zeros((self.n_in, len(order)))
        g[np.arange(self.n_in), [index[n] for n in names]] = 1.0
        return g, order

    def group_matrix(self) -> np.ndarray:
        return self.groups()[0]

    def encode(self, s: SeriesData, scale: float) -> Encoded:
        return self.encode_all([s], [scale])[0]

    def encode_all(self, series: Sequence[SeriesData], scales: Sequence[float] | np.ndarray) -> list[Encoded]:
        """Every series as the network sees it (drivers encoded in one pass over all of them)."""
        if self.pre is not None and len(series):
            frame = pd.concat([s.drivers for s in series], ignore_index=True)
            drv_all = self.pre.transform(_driver_frame(frame, self.drivers)).astype(np.float32)
        else:
            drv_all = np.zeros((sum(s.n + self.H for s in series), 0), np.float32)
        mean, std = self.level_stats
        out, at = [], 0
        for s, scale in zip(series, scales):
            ys = np.nan_to_num(s.y, nan=0.0) / scale
            cal, _ = _calendar(self.freq.dates(s.start, s.n + self.H), self.freq)
            drv = drv_all[at : at + s.n + self.H]
            at += s.n + self.H
            out.append(
                Encoded(
                    np.log1p(np.maximum(ys, 0)).astype(np.float32),
                    ys.astype(np.float32),
                    s.known.astype(np.float32),
                    cal,
                    drv,
                    (math.log1p(scale) - mean) / std,
                    scale,
                )
            )
        return out

    def design(self, enc: Encoded, origins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Inputs (m, n_in) and targets+weights (m, 2H) for forecasts starting at `origins` (first forecast step)."""
        L, H = self.L, self.H
        origins = np.asarray(origins, dtype=np.int64)
        lag_idx = origins[:, None] - np.arange(1, L + 1)[None, :]  # lag 1 first
        lags = enc.yin[lag_idx]
        level = np.full((len(origins), 1), enc.level, np.float32)
        cal = enc.cal[origins]
        drv_idx = origins[:, None] + np.arange(-L, H)[None, :]
        drv = enc.drv[drv_idx].transpose(0, 2, 1).reshape(len(origins), -1)  # channel-major
        X = np.hstack([lags, level, cal, drv]).astype(np.float32)
        n = len(enc.ys)
        tgt_idx = np.minimum(origins[:, None] + np.arange(H)[None, :], n - 1)
        inside = (origins[:, None] + np.arange(H)[None, :]) < n
        Y = np.hstack([enc.ys[tgt_idx] * inside, enc.w[tgt_idx] * inside]).astype(np.float32)
        return X, Y


def _driver_frame(frame: pd.DataFrame, drivers: list[str]) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    for c in drivers:
        num = pd.to_numeric(frame[c], errors="coerce")
        out[c] = num if num.notna().sum() >= frame[c].notna().sum() else frame[c].astype("string")
    return out


def scale_of(s: SeriesData, cut: int) -> float:
    """The series' mean over known (and open) steps before `cut`; 1 when it never sold."""
    mask = s.known[:cut].copy()
    if s.open is not None:
        mask &= s.open[:cut]
    vals = s.y[:cut][mask]
    scale = float(np.mean(vals)) if len(vals) else 0.0
    return scale if scale > 1e-9 else 1.0


def n_outputs(H: int) -> int:
    return H * (len(QUANTILES) + len(TOTAL_LEVELS))


def _pinball(y: torch.Tensor, q: torch.Tensor, w: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
    diff = y.unsqueeze(-1) - q
    loss = torch.maximum(tau * diff, (tau - 1) * diff) * w.unsqueeze(-1)
    return loss.sum() / (w.sum() * len(tau)).clamp_min(1.0)


def pinball_loss(H: int):
    """Pinball loss of each step's quantiles plus that of the running average from step 1 to each step.

    The network's outputs are (H x QUANTILES) for the steps, then (H x TOTAL_LEVELS) for the average
    demand per step over steps 1..h, so totals over any span up to H have their own learned quantiles.
    Both are learned on the log1p of the scaled quantities (a quantile of log1p(y) is log1p of y's quantile).
    """
    constants: dict[torch.device, tuple[torch.Tensor, ...]] = {}  # moved to the device once, not every batch

    def loss_fn(out: torch.Tensor, yw: torch.Tensor) -> torch.Tensor:
        if out.device not in constants:
            constants[out.device] = tuple(
                torch.tensor(v, dtype=torch.float32, device=out.device)
                for v in (list(range(1, H + 1)), QUANTILES, TOTAL_LEVELS)
            )
        steps, tau_step, tau_total = constants[out.device]
        y, w = yw[:, :H], yw[:, H:]
        daily = out[:, : H * len(QUANTILES)].reshape(-1, H, len(QUANTILES))
        totals = out[:, H * len(QUANTILES) :].reshape(-1, H, len(TOTAL_LEVELS))
        running = torch.cumsum(y * w, dim=1) / steps
        y, running = torch.log1p(y), torch.log1p(running)  # quantiles commute with log1p; spikes weigh less
        w_running = torch.cumprod(w, dim=1)  # a total is known only while every step in it is
        return _pinball(y, daily, w, tau_step) + _pinball(running, totals, w_running, tau_total)

    return loss_fn


_MIN_CALIBRATION = 30  # known values a step needs to be calibrated on its own


def calibrate(net: ForecastNet, X: np.ndarray, Y: np.ndarray, H: int, coverage: float = 0.8) -> None:
    """Conformalised quantile regression (Romano, Patterson & Candès 2019) on windows the network was not fitted on
    (its validation windows, before the backtest), step by step (a band widens with the horizon): each step's band
    is widened (or narrowed) by the one amount, in log1p units, that puts `coverage` of those windows' actuals
    inside it, and each running-total level is shifted so that that share of the running totals falls at or below
    it. A step with fewer than `_MIN_CALIBRATION` known values uses the amount of all steps together."""
    net.set_offsets(None)
    out = predict_batched(net, X).cpu().numpy().astype(np.float64)
    nq, nt = len(QUANTILES), len(TOTAL_LEVELS)
    y, w = np.maximum(Y[:, :H].astype(np.float64), 0.0), Y[:, H:] > 0
    step = out[:, : H * nq].reshape(len(X), H, nq)
    totals = out[:, H * nq :].reshape(len(X), H, nt)
    running = np.log1p(np.cumsum(y * w, axis=1) / np.arange(1, H + 1))
    whole = np.cumprod(w, axis=1).astype(bool)  # a running total is known while every step in it is
    score = np.maximum(step[..., 0] - np.log1p(y), np.log1p(y) - step[..., -1])
    band, shift = np.zeros((H, nq)), np.zeros((H, nt))

    def conformal(values: np.ndarray, level: float) -> float:
        return float(np.quantile(values, min(1.0, level * (1 + 1 / len(values)))))

    if w.sum() >= _MIN_CALIBRATION:
        pooled = conformal(score[w], coverage)
        for h in range(H):
            c = conformal(score[w[:, h], h], coverage) if w[:, h].sum() >= _MIN_CALIBRATION else pooled
            band[h, 0], band[h, -1] = -c, c
    if whole.sum() >= _MIN_CALIBRATION:
        for j, level in enumerate(TOTAL_LEVELS):
            gap = running - totals[..., j]
            pooled = float(np.quantile(gap[whole], level))
            shift[:, j] = [
                float(np.quantile(gap[whole[:, h], h], level)) if whole[:, h].sum() >= _MIN_CALIBRATION else pooled
                for h in range(H)
            ]
    net.set_offsets(np.concatenate([band.ravel(), shift.ravel()]).tolist())


def quantiles(net: nn.Module, X: np.ndarray, H: int) -> tuple[np.ndarray, np.ndarray]:
    """Scaled quantiles: (m, H, 3) of each step, (m, H, 5) of the total from step 1 to each step.

    Sorted so they never cross, never below zero, totals never shrinking with the span.
    """
    out = torch.expm1(predict_batched(net, X).clamp(max=30.0))
    nq = H * len(QUANTILES)
    daily = torch.sort(out[:, :nq].reshape(len(X), H, len(QUANTILES)), dim=-1).values.clamp_min(0.0).cpu().numpy()
    avg = torch.sort(out[:, nq:].reshape(len(X), H, len(TOTAL_LEVELS)), dim=-1).values.clamp_min(0.0).cpu().numpy()
    totals = np.maximum.accumulate(avg * np.arange(1, H + 1)[None, :, None], axis=1)
    return daily, totals


class ForecastNet(TabularMLP):
    """The global network, forecasting relative to each window's own recent level (DeepAR's per-window scaling, in
    the log domain; ARIMA's differencing when the level is the last step).

    Series are scaled by their mean before the backtest, which is a poor unit for a short, trending history: a
    series that doubled reads as "twice its usual" on every window. Here the mean of the last `level_lags` lag
    inputs (log1p of the scaled sales) is taken from the lags and added back to every output, so the layers learn
    the change from the recent level and the season's shape, the same pattern for a small and a large store, and a
    network that has learnt nothing forecasts the recent level. Both steps are linear, so SHAP stays additive.
    `level_lags` 0 is the plain network (model files of earlier versions).
    """

    @rng_locked
    def __init__(
        self,
        n_in: int,
        n_out: int,
        hidden: Sequence[int] = (256, 128),
        dropout: float = 0.1,
        lags: int = 0,
        level_lags: int = 0,
        offsets: Sequence[float] | None = None,
    ):
        super().__init__(n_in, n_out, hidden, dropout)
        self.lags, self.level_lags = int(lags), int(min(level_lags, lags))
        self.set_offsets(offsets)

    def set_offsets(self, offsets: Sequence[float] | None) -> None:
        """Fixed shifts of the outputs (the interval calibration, `calibrate`); kept in the spec, not the weights."""
        self.offsets = [float(v) for v in offsets] if offsets is not None else None
        first = self.net[0]
        assert isinstance(first, nn.Linear)  # TabularMLP's first layer
        device = first.weight.device
        value = torch.tensor(self.offsets if self.offsets else [0.0] * self.n_out, dtype=torch.float32, device=device)
        self.register_buffer("shift", value, persistent=False)

    def forward(self, x):
        if not self.level_lags:
            out = self.net(x)
        else:
            level = x[:, : self.level_lags].mean(dim=1, keepdim=True)
            out = self.net(torch.cat([x[:, : self.lags] - level, x[:, self.lags :]], dim=1)) + level
        return out + self.shift if self.offsets else out

    def spec(self) -> dict:
        return {**super().spec(), "lags": self.lags, "level_lags": self.level_lags, "offsets": self.offsets}


def level_lags(freq: Frequency, L: int) -> int:
    """How many recent steps make a window's level: the last week of a daily series (one day is noisy and follows
    the day of the week); the last step of a weekly or monthly one (a step already sums a week or a month).
    Measured in bench/forecast.py: against a quarter or a season of steps, the last step is the better level on
    weekly and monthly sets, a week the better one on daily sets."""
    return min(7 if freq.kind == "D" else 1, L)


class Combine(nn.Module):
    """A fixed linear combination of the network's outputs (one number SHAP can explain)."""

    @rng_locked
    def __init__(self, net: nn.Module, weights: np.ndarray):
        super().__init__()
        self.net = net
        self.head = nn.Linear(len(weights), 1, bias=False)
        with torch.no_grad():
            self.head.weight.copy_(torch.as_tensor(np.asarray(weights, dtype=np.float32))[None, :])

    def forward(self, x):
        return self.head(self.net(x))


def total_col(level: float) -> str:
    return f"total to here {level:.0%}"


def cap(X: np.ndarray, Y: np.ndarray, limit: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    if len(X) <= limit:
        return X, Y
    keep = np.sort(rng.choice(len(X), size=limit, replace=False))
    return X[keep], Y[keep]
