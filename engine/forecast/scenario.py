"""Scenario planning: change the drivers known in advance over the horizon (a promotion on from step a to b, a price
change in %, a holiday, a closed day) for one series or all, and compare the forecast, its interval and the reorder
quantity with the plan without the change, in units and money.

Only the network reads drivers, so the plan's effect is the network's: its forecast with the plan over its forecast
without, step by step, applied to the forecast the page uses for the series (the network's own, or the seasonal naive,
AutoETS or combination forecast the backtest chose). The level comes from the method that forecast the series best,
the change from the model that learnt the drivers; the plan without the change is the page's own forecast, so the
Forecasts and Reorder tabs and the plan agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd

from engine.data import DataError
from engine.forecast.choose import chosen_future, rescale_totals
from engine.forecast.network import TOTAL_LEVELS, quantiles, scale_of, total_col
from engine.forecast.prepare import SeriesData, prepare
from engine.forecast.scores import ETS

if TYPE_CHECKING:
    from engine.forecast.model import ForecastModel


@dataclass(frozen=True)
class DriverChange:
    """One change to a driver over steps `first`..`last` (1-based, inclusive; `last` None: to the horizon's end):
    set it to `value` (a promotion on: 1, a holiday: 1, the shop closed: 0), or change a number by `percent`."""

    driver: str
    first: int = 1
    last: int | None = None
    value: float | str | None = None
    percent: float | None = None

    def describe(self, unit: str) -> str:
        when = (
            f"{unit}s {self.first} to {self.last}" if self.last and self.last != self.first else f"{unit} {self.first}"
        )
        if self.last is None:
            when = f"{unit} {self.first} to the end of the horizon"
        value = f"{self.value:g}" if isinstance(self.value, (int, float)) else str(self.value)
        what = f"{self.percent:+g}%" if self.percent is not None else f"set to {value}"
        return f"{self.driver} {what} on {when}"


def driver_kinds(model: ForecastModel, history: pd.DataFrame) -> dict[str, str]:
    """Each driver the model reads: 'flag' (0/1: promotion, holiday, open), 'number' (a price) or 'category'."""
    out = {}
    for c in model.driver_columns:
        if c not in history.columns:
            continue
        num = pd.to_numeric(history[c], errors="coerce")
        if num.notna().sum() < history[c].notna().sum():
            out[c] = "category"
        elif set(num.dropna().unique()) <= {0, 1}:
            out[c] = "flag"
        else:
            out[c] = "number"
    return out


def _apply(s: SeriesData, changes: Sequence[DriverChange], H: int, open_flag: str | None) -> SeriesData:
    drivers = s.drivers.copy()
    for ch in changes:
        if ch.driver not in drivers.columns:
            raise DataError(
                f"'{ch.driver}' is not a driver this model reads; its drivers are "
                f"{', '.join(map(str, drivers.columns)) or 'none'}."
            )
        last = H if ch.last is None else int(ch.last)
        if not 1 <= int(ch.first) <= last <= H:
            raise DataError(f"A change must lie within the horizon (steps 1 to {H}); {ch.first} to {last} does not.")
        rows = np.arange(s.n + int(ch.first) - 1, s.n + last)
        col = drivers.columns.get_loc(ch.driver)
        if ch.percent is not None:
            now = pd.to_numeric(drivers.iloc[rows, col], errors="coerce")
            if now.isna().any():
                raise DataError(
                    f"'{ch.driver}' is not a number, so it cannot change by a percentage; set a value instead."
                )
            drivers.iloc[rows, col] = now.to_numpy(float) * (1 + float(ch.percent) / 100)
        else:
            value = ch.value
            if pd.api.types.is_numeric_dtype(drivers[ch.driver]):
                if value is None:  # neither a value nor a percentage
                    raise DataError(f"'{ch.driver}' holds numbers; '{value}' is not one.")
                try:
                    value = float(value)
                except (TypeError, ValueError):
                    raise DataError(f"'{ch.driver}' holds numbers; '{value}' is not one.") from None
            drivers.iloc[rows, col] = value
    open_ = s.open
    if open_flag and open_flag in drivers.columns:
        open_ = np.nan_to_num(pd.to_numeric(drivers[open_flag], errors="coerce").to_numpy(float), nan=1.0) > 0.5
        drivers[open_flag] = open_.astype(float)
    return SeriesData(s.id, s.start, s.y, s.known, drivers, open_)


def _network(model: ForecastModel, s: SeriesData, scale: float) -> tuple[np.ndarray, np.ndarray]:
    X, _ = model.inputs.design(model.inputs.encode(s, scale), np.array([s.n]))
    daily, totals = quantiles(model.net, X, model.horizon)
    return daily[0] * scale, totals[0] * scale


def _totals_on(totals: np.ndarray, net_point: np.ndarray, point: np.ndarray) -> np.ndarray:
    """The network's running-total quantiles moved onto `point`'s running total; nothing expected so far (every day
    closed): nothing to cover."""
    out = rescale_totals(totals, net_point, point)
    out[np.cumsum(point) <= 1e-9] = 0.0
    return out


def _frame(model: ForecastModel, s: SeriesData, method: str, low, point, high, totals) -> pd.DataFrame:
    H = model.horizon
    part = pd.DataFrame(
        {
            "series": s.id,
            "date": model.freq.dates(s.start, s.n + H)[s.n :],
            "step": np.arange(1, H + 1),
            "low": low,
            "median": point,
            "high": high,
            "method": method,
        }
    )
    for j, level in enumerate(TOTAL_LEVELS):
        part[total_col(level)] = totals[:, j]
    return part


@dataclass
class ScenarioPlan:
    """The forecasts of the planned series without and with the changes (the model's forecast layout)."""

    model: ForecastModel
    changes: list[DriverChange]
    base: pd.DataFrame
    planned: pd.DataFrame
    base_drivers: pd.DataFrame  # series, step and each driver's value over the horizon, without and with the plan
    planned_drivers: pd.DataFrame
    outside: dict[str, tuple[float, float]] = field(default_factory=dict)  # numeric drivers planned beyond the
    # history's range (the range): the answer is a guess beyond the data

    @property
    def ids(self) -> list[str]:
        return list(dict.fromkeys(self.base["series"]))

    def summary(self, price_driver: str | None = None, unit_price: float | None = None) -> pd.DataFrame:
        """Per series: units over the horizon without and with the plan and the difference; with a price (a price
        driver, read step by step as planned, or one price per unit) the money too."""
        cols = ["series", "step", "median"]
        b, p = self.base[cols], self.planned[cols]
        out = pd.DataFrame({"series": self.ids})
        out["units without the plan"] = b.groupby("series", sort=False)["median"].sum().reindex(self.ids).to_numpy()
        out["units with the plan"] = p.groupby("series", sort=False)["median"].sum().reindex(self.ids).to_numpy()
        out["difference (units)"] = out["units with the plan"] - out["units without the plan"]
        if price_driver is not None or unit_price is not None:

            def money(f: pd.DataFrame, drv: pd.DataFrame) -> np.ndarray:
                if price_driver is not None:
                    price = pd.to_numeric(drv[price_driver], errors="coerce").to_numpy(float)
                else:
                    assert unit_price is not None  # one of the two is given (above)
                    price = np.full(len(f), float(unit_price))
                return (f["median"].to_numpy() * price).reshape(len(self.ids), -1).sum(1)

            out["money without the plan"] = money(b, self.base_drivers)
            out["money with the plan"] = money(p, self.planned_drivers)
            out["difference (money)"] = out["money with the plan"] - out["money without the plan"]
        return out

    def reorder(self, stock: float | dict[str, float] | pd.Series | None = None, **decision) -> pd.DataFrame:
        """The reorder table (engine.forecast.tables.reorder) of the planned series without and with the plan, side by
        side; `decision`: lead_time, review_period, service_level (default: the model's)."""
        methods = [self.model.method_of(s) for s in self.ids]
        tables = []
        for name, frame in (("without the plan", self.base), ("with the plan", self.planned)):
            m = self.model.decide(ids=self.ids, choice=methods, forecast=frame.assign(open=True), **decision)
            t = m.reorder(stock).set_index("series")
            tables.append(
                t.rename(columns={c: f"{c} · {name}" for c in t.columns if c not in ("forecast used", "current stock")})
            )
        both = tables[0].join(tables[1].drop(columns=["forecast used", "current stock"]))
        both["difference in the order"] = (
            both["suggested order · with the plan"] - both["suggested order · without the plan"]
        )
        return both.reset_index()


def plan(
    model: ForecastModel, history: pd.DataFrame, changes: Sequence[DriverChange], series: Sequence[str] | None = None
) -> ScenarioPlan:
    """The forecast of each series in `series` (all when None) of `history` (the data the model was trained on, or a
    newer history with the same columns) without and with `changes` to its drivers over the horizon."""
    if not model.driver_columns:
        raise DataError(
            "This model reads no drivers: only the history drives its forecast, so there is nothing to plan. "
            "Map columns known in advance (promotions, prices, holidays) as drivers and train again."
        )
    panel = prepare(history, model.columns, model.config, min_length="predict", frequency=model.freq)
    chosen = [s for s in panel.series if series is None or s.id in set(map(str, series))]
    if not chosen:
        raise DataError("None of the series picked is in the data.")
    H, m = model.horizon, model.freq.season
    with_ets = ETS in model.baseline_metrics
    base_parts: list[pd.DataFrame] = []
    plan_parts: list[pd.DataFrame] = []
    base_drv: list[pd.DataFrame] = []
    plan_drv: list[pd.DataFrame] = []
    for s in chosen:
        method = model.method_of(s.id)
        scale = scale_of(s, s.n)
        q, t = _network(model, s, scale)
        changed = _apply(s, changes, H, model.columns.open_flag)
        q2, t2 = _network(model, changed, scale)
        op = s.open[s.n :] if s.open is not None else np.ones(H, bool)
        op2 = changed.open[s.n :] if changed.open is not None else np.ones(H, bool)
        q[~op], q2[~op2] = 0.0, 0.0
        stored = model.forecast[model.forecast["series"] == s.id]
        dates = model.freq.dates(s.start, s.n + H)[s.n :]
        if len(stored) == H and (pd.DatetimeIndex(stored["date"]) == dates).all():
            # the history the model was trained on: the plan without the change is the page's own forecast
            low, point, high = (stored[c].to_numpy(float).copy() for c in ("low", "median", "high"))
            t = stored[[total_col(level) for level in TOTAL_LEVELS]].to_numpy(float)
        else:
            c = chosen_future(s.y, q, method, H, m, with_ets=with_ets)
            low, point, high = c.low.copy(), c.point.copy(), c.high.copy()
            for arr in (low, point, high):
                arr[~op] = 0.0
            t = _totals_on(t, q[:, 1], point)

        def moved(
            v: np.ndarray, k: int, q: np.ndarray = q, q2: np.ndarray = q2
        ) -> np.ndarray:  # the network's change, as a ratio per step
            return np.where(q[:, k] > 1e-9, v * (q2[:, k] / np.where(q[:, k] > 1e-9, q[:, k], 1.0)), q2[:, k])

        low2, point2, high2 = moved(low, 0), moved(point, 1), moved(high, 2)
        for arr in (low2, point2, high2):
            arr[~op2] = 0.0
        t2 = _totals_on(t, point, point2)  # the running totals follow the plan's forecast
        base_parts.append(_frame(model, s, method, low, point, high, t))
        plan_parts.append(_frame(model, changed, method, low2, point2, high2, t2))
        for parts, src in ((base_drv, s), (plan_drv, changed)):
            d = src.drivers.iloc[s.n :].reset_index(drop=True).copy()
            d.insert(0, "step", np.arange(1, H + 1))
            d.insert(0, "series", s.id)
            parts.append(d)
    planned_drivers = pd.concat(plan_drv, ignore_index=True)
    outside: dict[str, tuple[float, float]] = {}
    for driver in {ch.driver for ch in changes}:
        seen = pd.to_numeric(pd.concat([s.drivers[driver].iloc[: s.n] for s in chosen]), errors="coerce").dropna()
        now = pd.to_numeric(planned_drivers[driver], errors="coerce").dropna()
        if len(seen) and len(now) and (now.min() < seen.min() - 1e-9 or now.max() > seen.max() + 1e-9):
            outside[driver] = (float(seen.min()), float(seen.max()))
    return ScenarioPlan(
        model,
        list(changes),
        pd.concat(base_parts, ignore_index=True),
        pd.concat(plan_parts, ignore_index=True),
        pd.concat(base_drv, ignore_index=True),
        planned_drivers,
        outside,
    )
