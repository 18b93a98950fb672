"""Demand forecast: one global neural forecaster over many series, an honest backtest, reorder quantities.

Verbs shared by every scenario: `fit(df, columns, config, progress, cancel)` returns a
`ForecastModel` with `metrics`, `baseline_metrics`, `history`, `predict`, `explain`,
`to_bytes`/`save`; `load(path_or_bytes)` reads it back (safetensors weights and JSON only).

Data: a long table (date, one or more series id columns, the quantity, optional drivers
known in advance such as promotions, prices or opening days). The frequency (daily,
weekly, monthly) is detected, missing dates are filled and reported, and every problem
an analyst can fix is a `DataError` sentence.

Model: one MLP trained across all series (per-series scaling) on a window of past sales,
calendar features of the first forecast step and the known drivers over the lag window
and the horizon; it outputs the 10%, 50% and 90% quantiles of each of the next H steps and
is trained with the pinball loss through `engine.training.fit_model`.

Backtest: rolling origin, `backtest_windows` non-overlapping windows of H steps at the end
of each series. The backtest network is trained only on data before the first origin (its
scaling and driver encoding too); each origin then sees the actuals up to itself and no
further. Seasonal naive and AutoETS (statsforecast, imported lazily) are scored on exactly
the same windows. The network shown for the future is refitted on the whole history.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from engine import artifacts
from engine.options import option as _opt
from engine.data import DataError, check_finite, id_strings, parse_date_text
from engine.device import get_device
from engine.explain import Explanation, deep_explain
from engine.models import TabularMLP, rng_locked
from engine.tabular import Preprocessor
from engine.training import Cancelled, History, TrainConfig, as_tensor, fit_model, predict_batched, seed_everything

KIND = "forecast"
MODEL = "Neural forecaster"
SNAIVE = "Seasonal naive"
ETS = "Exponential smoothing (AutoETS)"
BASELINES = (SNAIVE, ETS)
QUANTILES = (0.1, 0.5, 0.9)  # of each step's demand
TOTAL_LEVELS = (0.5, 0.75, 0.9, 0.95, 0.99)  # of the total demand from step 1 to each step (reorder quantities)
SEP = " / "
MISSING_ID = "(missing)"

METRIC_HELP = {
    "mase": "MASE: the average forecast error divided by the average error of 'same as one season ago' on the "
            "history. Below 1 beats that rule of thumb; lower is better.",
    "smape": "sMAPE: the average error as a percentage of the actual and forecast values (0% is perfect, 200% the worst).",
    "mae": "MAE: the average number of units the forecast was off by, per series and step.",
    "rmse": "RMSE: like MAE but big misses count more; in units.",
    "coverage": "Interval coverage: share of actual values that fell inside the 80% interval; about 80% is honest.",
}
METRIC_LABELS = {"mase": "MASE", "smape": "sMAPE %", "mae": "MAE", "rmse": "RMSE", "coverage": "80% interval coverage"}
_DRIVER_WORDS = ("promo", "holiday", "open", "closed", "event", "discount", "campaign", "advert")
_TARGET_WORDS = ("units", "quantity", "qty", "sales", "demand", "volume", "sold", "orders", "passengers", "amount")
_ID_WORDS = ("store", "item", "product", "sku", "stock_code", "series", "shop", "location", "article", "code", "id")


# ----------------------------------------------------------------------------- roles and options


@dataclass(frozen=True)
class ForecastColumns:
    """Which column is which, and what to do about common problems in the file."""

    date: str
    target: str
    series: tuple[str, ...] = ()
    drivers: tuple[str, ...] = ()  # known in advance: promotions, planned prices, holidays, opening days
    open_flag: str | None = None  # 1 = open, 0 = closed (known in advance); closed days are forecast as 0
    sum_duplicates: bool = False  # add up rows with the same date and series
    negative_as_zero: bool = False  # treat negative quantities (returns) as 0
    missing_dates_as_zero: bool = True  # a date absent from a series means nothing was sold

    @property
    def all_drivers(self) -> tuple[str, ...]:
        extra = (self.open_flag,) if self.open_flag and self.open_flag not in self.drivers else ()
        return tuple(self.drivers) + extra




@dataclass(frozen=True)
class ForecastConfig:
    """Analyst-facing options; defaults work on the sample data."""

    horizon: int = _opt(14, "How many steps (days, weeks or months) ahead to forecast.", min=1, max=366)
    backtest_windows: int = _opt(3, "How many past periods of one horizon each to test the forecasts on.", min=1, max=12)
    lags: int = _opt(0, "How many past steps the network looks at (0: a month of days, a year of weeks, two years of months).", min=0, max=400)
    hidden: tuple[int, ...] = _opt((256, 128), "Neurons in each hidden layer of the network.")
    dropout: float = _opt(0.1, "Share of neurons switched off at random while training (guards against memorising).", min=0.0, max=0.8)
    lr: float = _opt(2e-3, "Learning rate: the step size of training.", min=1e-5, max=0.1)
    weight_decay: float = _opt(1e-4, "How strongly large weights are penalised (regularisation).", min=0.0, max=0.1)
    max_epochs: int = _opt(150, "Most passes over the training windows (training stops earlier when it stops improving).", min=2, max=2000)
    batch_size: int = _opt(256, "Training windows per step (at least; more when there are many windows).", min=16, max=65536)
    patience: int = _opt(15, "Passes without improvement before training stops early.", min=2, max=200)
    seed: int = _opt(0, "Random seed: the same seed, data and settings give the same result.")
    max_seconds: float = _opt(300.0, "Time limit for training each network, in seconds.", min=5, max=3600)
    refit: bool = _opt(True, "After the backtest, train the network again on the whole history for the future forecast.")
    ets: bool = _opt(True, "Also fit exponential smoothing (AutoETS) per series as a second baseline.")
    ets_max_series: int = _opt(300, "Skip the AutoETS baseline above this many series (it fits one model per series and window).", min=1)
    max_train_windows: int = _opt(300_000, "Most training windows used (a random sample of them above that).", min=1000)

    def __post_init__(self):
        if self.horizon < 1 or self.backtest_windows < 1 or self.lags < 0:
            raise ValueError("horizon and backtest_windows must be >= 1 and lags >= 0")

    def train_config(self, n_windows: int = 0, max_epochs: int | None = None, patience: int | None = None) -> TrainConfig:
        """Batches grow with the data so an epoch stays at most ~256 steps (many series train in minutes, not hours),
        and shrink for small data so an epoch still makes at least ~16 steps."""
        batch = min(max(self.batch_size, math.ceil(n_windows / 256)), max(32, n_windows // 16))
        return TrainConfig(
            max_epochs=max_epochs or self.max_epochs, batch_size=batch, lr=self.lr,
            weight_decay=self.weight_decay, patience=patience or self.patience, seed=self.seed,
            max_seconds=self.max_seconds,
        )

    @classmethod
    def help(cls) -> dict[str, dict]:
        return {f.name: dict(f.metadata) for f in fields(cls)}


# ----------------------------------------------------------------------------- frequency


@dataclass(frozen=True)
class Frequency:
    kind: str  # "D", "W", "M"
    code: str  # pandas offset alias for date_range: "D", "W-MON", "MS", "ME"
    name: str  # "daily"
    unit: str  # "day"
    season: int
    lags: int
    horizon: int

    def positions(self, dates: pd.DatetimeIndex, start: pd.Timestamp) -> np.ndarray:
        """Steps from `start` to each date."""
        return self.steps_between(pd.Timestamp(start), pd.DatetimeIndex(dates))

    def steps_between(self, starts: pd.DatetimeIndex | pd.Timestamp, dates: pd.DatetimeIndex) -> np.ndarray:
        if self.kind == "M":
            return np.asarray((dates.year - starts.year) * 12 + (dates.month - starts.month), dtype=np.int64)
        days = np.asarray((dates - starts) / pd.Timedelta(days=1))
        return (days // 7 if self.kind == "W" else days).astype(np.int64)

    def dates(self, start: pd.Timestamp, n: int) -> pd.DatetimeIndex:
        return pd.date_range(start, periods=n, freq=self.code)

    def units(self, n: int) -> str:
        return f"{n:,} {self.unit}{'' if n == 1 else 's'}"


def _frequency(kind: str, code: str) -> Frequency:
    if kind == "D":
        return Frequency("D", "D", "daily", "day", 7, 28, 14)
    if kind == "W":
        return Frequency("W", code, "weekly", "week", 52, 52, 8)
    return Frequency("M", code, "monthly", "month", 12, 24, 6)


_WEEKDAYS = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]


def detect_frequency(key: pd.Series, dates: pd.Series, date_col: str) -> Frequency:
    """Daily, weekly or monthly from the spacing of each series' dates; DataError when mixed or other."""
    frame = pd.DataFrame({"k": key.to_numpy(), "d": dates.to_numpy()}).drop_duplicates().sort_values(["k", "d"])
    gaps = frame.groupby("k", sort=False)["d"].diff().dt.days
    frame = frame.assign(gap=gaps).dropna(subset=["gap"])
    if frame.empty:
        raise DataError(f"Every series has a single date in '{date_col}', so no frequency can be seen. Bring more history.")
    smallest = frame.groupby("k", sort=False)["gap"].min()
    kinds = smallest.map(lambda g: "D" if g == 1 else "W" if g == 7 else "M" if 28 <= g <= 31 else "other")
    found = kinds.unique()
    if len(found) > 1:
        named = {k: kinds[kinds == k].index[0] for k in found}
        words = {"D": "daily", "W": "weekly", "M": "monthly", "other": "irregular"}
        parts = [f"'{s}' has {words[k]} dates" for k, s in list(named.items())[:3]]
        raise DataError(
            f"Your series are not all at the same frequency: {' but '.join(parts)}. Put one frequency per file "
            "(for example, add up daily rows to weeks for every series) and upload again."
        )
    kind = found[0]
    if kind == "other":
        g = int(smallest.median())
        raise DataError(
            f"The dates in '{date_col}' are {g:,} days apart, which is neither daily, weekly nor monthly. "
            "This page forecasts daily, weekly or monthly quantities: add your rows up to one of those first."
        )
    d = pd.DatetimeIndex(pd.unique(dates.to_numpy()))
    if kind == "W":
        days = d.dayofweek.unique()
        if len(days) > 1:
            names = ", ".join(pd.Timestamp(2024, 1, 1 + int(x)).day_name() for x in sorted(days)[:3])
            raise DataError(
                f"The dates in '{date_col}' look weekly but fall on different weekdays ({names}): the file mixes "
                "frequencies or week conventions. Give every week the same weekday (such as the Monday it starts on)."
            )
        return _frequency("W", f"W-{_WEEKDAYS[int(days[0])]}")
    if kind == "M":
        code = "MS" if (d.day == 1).all() else "ME" if d.is_month_end.all() else "MS"
        return _frequency("M", code)
    return _frequency("D", "D")


# ----------------------------------------------------------------------------- reading the table


def series_key(df: pd.DataFrame, series: Sequence[str]) -> pd.Series:
    """One id string per row from the series columns ('all' when there are none)."""
    if not series:
        return pd.Series(["all"] * len(df), index=df.index, dtype=object)
    parts = [_id_strings(df[c]) for c in series]
    key = parts[0]
    for p in parts[1:]:
        key = key + SEP + p
    return key


def _id_strings(s: pd.Series) -> pd.Series:
    text = id_strings(s)
    return text.mask(text.isna(), MISSING_ID).astype(object)


def parse_dates(s: pd.Series, col: str, notes: list[str] | None = None) -> pd.Series:
    """The date column as timestamps (midnight); DataError naming unreadable values."""
    if pd.api.types.is_datetime64_any_dtype(s):
        parsed = s
    elif pd.api.types.is_numeric_dtype(s):
        text = _id_strings(s)
        parsed = pd.to_datetime(text, format="%Y%m%d", errors="coerce")
        if parsed[s.notna()].isna().all():
            raise DataError(
                f"The date column '{col}' holds plain numbers (such as {text.iloc[0]}), not dates. "
                "Pick the column with dates like 2024-03-31, or write the dates in that form."
            )
    else:
        parsed, found = parse_date_text(s, col)
        if notes is not None:
            notes += found
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    empty = s.isna() | (s.astype("string").str.strip() == "")
    bad = parsed.isna() & ~empty
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{int(bad.sum()):,} value(s) in the date column '{col}' could not be read as dates, such as "
            f"'{s.iloc[first]}' in data row {first + 1:,}. Write dates like 2024-03-31 (or 31/03/2024), "
            "fix or remove those rows, and upload again."
        )
    if empty.any():
        first = int(np.flatnonzero(empty.to_numpy())[0])
        raise DataError(
            f"{int(empty.sum()):,} row(s) have no date in '{col}' (the first is data row {first + 1:,}). "
            "Fill in their dates or remove those rows."
        )
    parsed = pd.Series(pd.DatetimeIndex(parsed), index=s.index)
    if (parsed != parsed.dt.normalize()).any():
        raise DataError(
            f"The dates in '{col}' carry times of day (such as {parsed[parsed != parsed.dt.normalize()].iloc[0]}). "
            "This page forecasts daily, weekly or monthly totals: add your rows up to whole days first."
        )
    return parsed


def _target_values(s: pd.Series, col: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(s):
        return s.astype(float)
    x = pd.to_numeric(s, errors="coerce")
    if not pd.api.types.is_numeric_dtype(s):
        cleaned = pd.to_numeric(s.astype("string").str.replace(",", "", regex=False).str.strip(), errors="coerce")
        bad = cleaned.isna() & s.notna() & (s.astype("string").str.strip() != "")
        if bad.any():
            first = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"The quantity column '{col}' should hold numbers but has text such as '{s.iloc[first]}' "
                f"in data row {first + 1:,} ({int(bad.sum()):,} cell(s)). Fix those cells, leave them empty, or "
                "pick the column that holds the quantities sold."
            )
        x = cleaned
    return x.astype(float)


def default_columns(df: pd.DataFrame) -> ForecastColumns:
    """Sensible roles: a date column, a quantity column, the fewest id columns that make (date, series) unique."""
    from engine.data import column_kind

    names = list(df.columns)
    low = {c: str(c).lower() for c in names}
    date = next((c for c in names if any(w in low[c] for w in ("date", "day", "week", "month", "period", "time"))
                 and column_kind(df[c]) in ("datetime", "text", "categorical", "id")), None)
    if date is None:
        date = next((c for c in names if column_kind(df[c]) == "datetime"), names[0])
    numeric = [c for c in names if c != date and pd.api.types.is_numeric_dtype(df[c])]
    target = next((c for w in _TARGET_WORDS for c in numeric if w in low[c]), None)
    if target is None:
        target = next((c for c in numeric if df[c].nunique() > 10), numeric[0] if numeric else names[-1])
    rest = [c for c in names if c not in (date, target)]
    ranked = sorted(
        [c for c in rest if any(w in low[c] for w in _ID_WORDS) or not pd.api.types.is_numeric_dtype(df[c])],
        key=lambda c: (not any(w in low[c] for w in _ID_WORDS), names.index(c)),
    )
    ranked = [c for c in ranked if 1 < df[c].nunique(dropna=False) <= max(len(df) // 2, 1)]
    series: list[str] = []
    try:  # the same day may be written in several ways: compare the dates, not their text
        dates = parse_dates(df[date], date).astype(str)
    except DataError:
        dates = df[date].astype(str)
    if dates.duplicated().any():
        for c in ranked:
            series.append(c)
            if not pd.concat([dates, *(df[s].astype(str) for s in series)], axis=1).duplicated().any():
                break
        else:
            series = series[:1]
    drivers = [c for c in rest if c not in series and any(w in low[c] for w in _DRIVER_WORDS)
               and df[c].nunique(dropna=True) <= 50]
    open_flag = next((c for c in drivers if "open" in low[c] and set(pd.to_numeric(df[c], errors="coerce").dropna().unique()) <= {0, 1}), None)
    return ForecastColumns(date=date, target=target, series=tuple(series), drivers=tuple(drivers), open_flag=open_flag)


def frequency_of(df: pd.DataFrame, columns: ForecastColumns) -> Frequency:
    """The data's frequency from the date and series columns alone (cheap; for the page's horizon default)."""
    _check_roles(df, ForecastColumns(columns.date, columns.target, columns.series))
    observed = _target_values(df[columns.target], columns.target).notna().to_numpy()
    key = series_key(df, columns.series)[observed]
    dates = parse_dates(df[columns.date], columns.date)[observed]
    if not len(dates):
        raise DataError(f"The quantity column '{columns.target}' is empty in every row. Pick the column with the quantities sold.")
    return detect_frequency(key, dates, columns.date)


def _check_roles(df: pd.DataFrame, columns: ForecastColumns) -> None:
    named = [("date", columns.date), ("quantity", columns.target)] + [("series", c) for c in columns.series] + [
        ("driver", c) for c in columns.all_drivers]
    if len(df.columns) < 2:
        raise DataError(f"The file has only one column ('{df.columns[0]}'). A forecast needs a date column and a "
                        "quantity column (one row per date and series): upload the sales history with both.")
    for role, col in named:
        if col is None:
            raise DataError(f"Pick the {role} column: a forecast needs a date column and a quantity column.")
        if col not in df.columns:
            raise DataError(f"The {role} column '{col}' is not in your file. Pick one of its columns instead.")
    if columns.target == columns.date:
        raise DataError("The date column and the quantity column must be different columns.")
    for role, cols in (("series", columns.series), ("driver", columns.all_drivers)):
        for c in cols:
            if c in (columns.date, columns.target):
                raise DataError(f"'{c}' is already the {'date' if c == columns.date else 'quantity'} column; "
                                f"it cannot also be a {role} column.")
    both = set(columns.series) & set(columns.all_drivers)
    if both:
        raise DataError(f"'{sorted(both)[0]}' is picked both as a series id and as a driver. Pick it for one role only.")


@dataclass
class SeriesData:
    id: str
    start: pd.Timestamp
    y: np.ndarray  # (n,) quantities; NaN where unknown
    known: np.ndarray  # (n,) bool: the value is real (used to train and to score)
    drivers: pd.DataFrame  # (n + H) rows of raw driver values: the history, then the horizon
    open: np.ndarray | None  # (n + H,) bool, when an open/closed column is mapped

    @property
    def n(self) -> int:
        return len(self.y)


@dataclass
class Panel:
    freq: Frequency
    series: list[SeriesData]
    horizon: int
    lags: int
    windows: int
    notes: list[str]
    skipped: dict[str, str]
    id_values: dict[str, list[str]]  # series id -> values of the series columns

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.series]

    def describe(self) -> str:
        first = min(s.start for s in self.series)
        last = max(self.freq.dates(s.start, s.n)[-1] for s in self.series)
        return (f"Detected **{self.freq.name}** data: {len(self.series):,} series from {first:%d %b %Y} to {last:%d %b %Y} "
                f"(up to {self.freq.units(max(s.n for s in self.series))} each).")


def _fill_gaps(values: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Forward fill, then backward fill the leading gap (numpy; works for numbers and text)."""
    if not missing.any() or missing.all():
        return values
    idx = np.where(~missing, np.arange(len(values)), 0)
    np.maximum.accumulate(idx, out=idx)
    out = values[idx]
    first = int(np.flatnonzero(~missing)[0])
    out[:first] = values[first]
    return out


def _to_flag(s: pd.Series, col: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(s):
        return s.astype(float)
    x = pd.to_numeric(s, errors="coerce")
    if not pd.api.types.is_numeric_dtype(s):
        words = s.astype("string").str.strip().str.lower().map({"yes": 1.0, "no": 0.0, "true": 1.0, "false": 0.0,
                                                                   "open": 1.0, "closed": 0.0, "y": 1.0, "n": 0.0})
        x = x.fillna(words.astype(float))
    bad = s.notna() & ~x.isin([0.0, 1.0])
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"The open/closed column '{col}' should hold 1 (open) and 0 (closed), but has values such as "
            f"'{s.iloc[first]}' (data row {first + 1:,}). Pick a 0/1 column as the open/closed column, or none."
        )
    return x


def prepare(df: pd.DataFrame, columns: ForecastColumns, config: ForecastConfig = ForecastConfig(), *,
            min_length: str = "train", frequency: Frequency | None = None) -> Panel:
    """Check and reshape the long table into one regular series per id; DataError with a sentence when it cannot work.

    `min_length="train"` keeps series long enough to train and backtest; "predict" keeps any series
    with at least one lag window (scoring new history with a trained model).
    """
    _check_roles(df, columns)
    if len(df) == 0:
        raise DataError("The file has no rows. Upload the sales history.")
    notes: list[str] = []
    H, k = config.horizon, config.backtest_windows
    drivers = list(columns.all_drivers)
    check_finite(df, [columns.target, *drivers], "your file")
    frame = pd.DataFrame({"_key": series_key(df, columns.series).to_numpy(),
                          "_date": parse_dates(df[columns.date], columns.date, notes).to_numpy(),
                          "_y": _target_values(df[columns.target], columns.target).to_numpy()})
    for c in drivers:
        frame[c] = df[c].to_numpy()
    if columns.open_flag:
        frame[columns.open_flag] = _to_flag(df[columns.open_flag], columns.open_flag).to_numpy()
    id_values = {}
    if columns.series:
        firsts = pd.DataFrame({c: _id_strings(df[c]).to_numpy() for c in columns.series}).assign(_key=frame["_key"].to_numpy())
        firsts = firsts.drop_duplicates("_key")
        id_values = {r[-1]: list(r[:-1]) for r in firsts[[*columns.series, "_key"]].itertuples(index=False, name=None)}

    neg = frame["_y"] < 0
    if neg.any():
        first = int(np.flatnonzero(neg.to_numpy())[0])
        if not columns.negative_as_zero:
            raise DataError(
                f"{int(neg.sum()):,} row(s) have a negative quantity in '{columns.target}' (such as "
                f"{frame['_y'].iloc[first]:g} on {frame['_date'].iloc[first]:%Y-%m-%d}, data row {first + 1:,}). Demand "
                "cannot be negative: returns are often recorded this way. Remove those rows, or tick "
                "'Treat negative quantities as zero'."
            )
        frame.loc[neg, "_y"] = 0.0
        notes.append(f"Set {int(neg.sum()):,} negative quantities to zero.")

    dup = frame.duplicated(["_key", "_date"], keep=False)
    if dup.any():
        first = frame[dup].iloc[0]
        where = f" for series '{first['_key']}'" if columns.series else ""
        if not columns.sum_duplicates:
            hint = ("pick more series columns (for example store and item) if each row is a different item, or "
                    if columns.series else "pick the series columns (such as store or item) if the file holds several series, or ")
            raise DataError(
                f"{int(frame.duplicated(['_key', '_date']).sum()):,} row(s) repeat a date already present{where} "
                f"(such as {first['_date']:%Y-%m-%d}). Each series needs one row per date: {hint}"
                "tick 'Add up rows with the same date and series' to sum their quantities."
            )
        n_before = len(frame)
        agg = {"_y": lambda s: s.sum(min_count=1)}
        for c in drivers:
            agg[c] = "max" if c == columns.open_flag else ("mean" if pd.api.types.is_numeric_dtype(frame[c]) else "first")
        frame = frame.groupby(["_key", "_date"], sort=False, as_index=False).agg(agg)
        notes.append(f"Added up rows with the same date and series: {n_before:,} rows became {len(frame):,}.")

    frame = frame.sort_values(["_key", "_date"], kind="stable").reset_index(drop=True)
    observed = frame["_y"].notna()
    if not observed.any():
        raise DataError(f"The quantity column '{columns.target}' is empty in every row. Pick the column with the quantities sold.")
    last_obs = frame["_date"].where(observed).groupby(frame["_key"]).transform("max")
    future_rows = frame["_date"] > last_obs
    no_history = last_obs.isna()
    if no_history.any():
        gone = frame.loc[no_history, "_key"].unique()
        notes.append(f"Left out {len(gone):,} series with no quantities at all (such as '{gone[0]}').")
    counts = frame[observed].groupby("_key").size()
    if counts.max() <= 1:
        raise DataError(
            "Every series has a single row, so there is no history to learn from. The series columns probably "
            f"identify rows rather than series ({', '.join(columns.series) or 'none picked'}): pick the columns "
            "that name a store or an item, so each series has one row per date."
        )
    freq = frequency or detect_frequency(frame.loc[observed, "_key"], frame.loc[observed, "_date"], columns.date)
    if frequency is not None:
        seen = detect_frequency(frame.loc[observed, "_key"], frame.loc[observed, "_date"], columns.date) if counts.max() > 1 else freq
        if seen.kind != freq.kind:
            raise DataError(f"This file holds {seen.name} data but the model was trained on {freq.name} data. "
                            f"Upload {freq.name} history with the same columns.")
    if freq.kind == "M" and freq.code == "MS":
        off = frame["_date"].dt.day != 1
        if off.any():
            frame["_date"] = frame["_date"].dt.to_period("M").dt.to_timestamp()
            notes.append(f"Monthly dates were moved to the first of their month ({int(off.sum()):,} rows).")
            if frame.duplicated(["_key", "_date"]).any():
                raise DataError(f"Some series have two rows in the same month in '{columns.date}'. Keep one row per "
                                "month (or tick 'Add up rows with the same date and series').")

    # lengths: how much history each series has, and what the model needs
    frame = frame[~no_history]
    starts = frame[observed[~no_history]].groupby("_key", sort=False)["_date"].min()
    ends = frame[observed[~no_history]].groupby("_key", sort=False)["_date"].max()
    lengths = dict(zip(starts.index, (freq.steps_between(pd.DatetimeIndex(starts.to_numpy()),
                                                        pd.DatetimeIndex(ends.reindex(starts.index).to_numpy())) + 1).tolist()))
    n_max = max(lengths.values())
    if H >= n_max:
        raise DataError(
            f"The horizon of {freq.units(H)} is longer than the history ({freq.units(n_max)} in the longest series). "
            f"Forecast fewer {freq.unit}s ahead (at most about {max(n_max // 4, 1):,}), or bring more history."
        )
    L = config.lags or freq.lags
    if not config.lags and min_length == "train":
        floor = {"D": 7, "W": 4, "M": 3}[freq.kind]
        fit_room = n_max - H * (k + 3)  # steps left for look-back windows and training origins
        if fit_room < 2 * L:  # keep about as many training origins per series as look-back steps
            L = max(floor, fit_room // 2)
            notes.append(f"The history is short, so the network looks back {freq.units(L)} instead of {freq.units(freq.lags)}.")
    need = L + H * (k + 1) if min_length == "train" else L
    skipped = {key: (f"only {freq.units(n)} of history; it needs at least {freq.units(need)} "
                     f"(look-back {L} + horizon {H}" + (f" × ({k} backtest windows + 1))" if min_length == "train" else ")"))
               for key, n in lengths.items() if n < need}
    if len(skipped) == len(lengths):
        if min_length == "train":
            raise DataError(
                f"No series is long enough to train and test: each needs at least {freq.units(need)} of history "
                f"(look-back {L} + horizon {H} × ({k} backtest windows + 1)); the longest has {freq.units(n_max)}. "
                "Shorten the horizon, use fewer backtest windows, or bring more history."
            )
        raise DataError(f"No series has the {freq.units(need)} of history the model needs to look back on. Bring more history.")
    if skipped:
        notes.append(f"Skipped {len(skipped):,} series that are too short (listed under 'Skipped series').")

    series: list[SeriesData] = []
    numeric = {c: pd.api.types.is_numeric_dtype(frame[c]) for c in drivers}
    sparse: list[str] = []  # series missing more than half their dates
    n_filled = n_unknown = n_future = n_assumed = 0
    m = freq.season
    for key, g in frame.groupby("_key", sort=True):
        if key in skipped or key not in lengths:
            continue
        start, n = starts[key], lengths[key]
        pos = freq.positions(pd.DatetimeIndex(g["_date"]), start)
        hist = pos < n
        fut = (pos >= n) & (pos < n + H)
        y = np.full(n, np.nan)
        present = np.zeros(n, bool)
        y[pos[hist]] = g["_y"].to_numpy()[hist]
        present[pos[hist]] = True
        n_unknown += int((present & np.isnan(y)).sum())
        filled = ~present
        n_filled += int(filled.sum())
        if filled.sum() > present.sum():
            sparse.append(str(key))
        if columns.missing_dates_as_zero:
            y[filled] = 0.0
        known = ~np.isnan(y)
        drv = pd.DataFrame(index=range(n + H))
        open_ = None
        if drivers:
            vals = g[drivers].to_numpy(dtype=object)
            arr = np.full((n + H, len(drivers)), np.nan, dtype=object)
            arr[pos[hist]] = vals[hist]
            arr[pos[fut]] = vals[fut]
            n_future += int(fut.sum())
            columns_out = {}
            for j, c in enumerate(drivers):
                col = arr[:, j].astype(float) if numeric[c] else arr[:, j]
                missing = pd.isna(col)
                col[:n] = _fill_gaps(col[:n], missing[:n])  # forward, then backward, within the history
                todo = np.flatnonzero(missing[n:]) + n
                n_assumed += len(todo)
                for t in todo:  # the horizon without given values: the value one season earlier
                    col[t] = col[t - m] if t - m >= 0 and not pd.isna(col[t - m]) else col[t - 1]
                columns_out[c] = col
            drv = pd.DataFrame(columns_out)
            if columns.open_flag:
                open_ = np.nan_to_num(drv[columns.open_flag].to_numpy(dtype=float), nan=1.0) > 0.5
                drv[columns.open_flag] = open_.astype(float)
        series.append(SeriesData(str(key), start, y, known, drv, open_))
    if n_filled:
        how = "counted as zero sales" if columns.missing_dates_as_zero else "treated as unknown (not used to train or to score)"
        notes.append(f"Filled {n_filled:,} dates missing from the series ({how}).")
    if sparse:
        notes.append(f"More than half of the {freq.unit}s are missing in {len(sparse):,} series (such as '{sparse[0]}'). "
                     f"Fine if nothing sold on those {freq.unit}s; if some rows are weekly or monthly totals, the file mixes "
                     "frequencies: put one frequency per file.")
    if n_unknown:
        notes.append(f"{n_unknown:,} rows have no quantity; they were treated as unknown (not used to train or to score).")
    if drivers and n_assumed:
        given = f"{n_future:,} future rows with driver values were found. " if n_future else ""
        notes.append(f"{given}For {n_assumed:,} future {freq.unit}(s) without driver values, each driver was assumed to repeat "
                     f"its value from one season earlier ({freq.units(m)}). Add future rows (date, series and drivers, "
                     "quantity empty) to set them yourself.")
    return Panel(freq, series, H, L, k, notes, skipped, {s.id: id_values.get(s.id, [s.id]) for s in series})


# ----------------------------------------------------------------------------- inputs of the network


def _lag_bands(freq: Frequency, L: int) -> list[tuple[int, int, str]]:
    if freq.kind == "D":
        weeks = math.ceil(L / 7)
        bands = [(1, 7, "last week's sales"), (8, L, f"sales 2–{weeks} weeks ago" if weeks > 2 else "sales 2 weeks ago")]
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
class _Encoded:
    """One series as the network sees it."""

    yin: np.ndarray  # (n,) log1p(y / scale), unknown as 0
    ys: np.ndarray  # (n,) y / scale, unknown as 0
    w: np.ndarray  # (n,) 1 where the value is known
    cal: np.ndarray  # (n + H, c_cal)
    drv: np.ndarray  # (n + H, c_drv) encoded drivers
    level: float  # standardised log1p(scale)
    scale: float


class _Inputs:
    """Scaling, driver encoding and the layout of the network's inputs, fitted on the rows before `cuts`."""

    def __init__(self, panel: Panel, cuts: Sequence[int], columns: ForecastColumns):
        self.freq, self.L, self.H = panel.freq, panel.lags, panel.horizon
        self.drivers = list(columns.all_drivers)
        self.scales = np.array([_scale(s, c) for s, c in zip(panel.series, cuts)])
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
                self.notes.append("The driver columns have the same value in every row of the history, so they were left out.")
        self.layout()

    @classmethod
    def restore(cls, freq: Frequency, L: int, H: int, drivers: list[str], pre: Preprocessor | None,
                level_stats: tuple[float, float]) -> "_Inputs":
        obj = cls.__new__(cls)
        obj.freq, obj.L, obj.H, obj.drivers, obj.pre, obj.level_stats = freq, L, H, drivers, pre, tuple(level_stats)
        obj.notes, obj.scales = [], np.array([])
        obj.layout()
        return obj

    def layout(self) -> None:
        """Group name of every input column, in order: lags, level, calendar, drivers."""
        groups: list[str] = []
        lag_group = [""] * self.L
        for lo, hi, name in _lag_bands(self.freq, self.L):
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
        words = {"ahead": f"next {self.freq.units(self.H)}", "before": f"past {self.freq.units(self.L)}",
                 "that day": f"that {self.freq.unit}", "other days": f"other {self.freq.unit}s"}
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

    def encode(self, s: SeriesData, scale: float) -> _Encoded:
        return self.encode_all([s], [scale])[0]

    def encode_all(self, series: Sequence[SeriesData], scales: Sequence[float]) -> list[_Encoded]:
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
            drv = drv_all[at: at + s.n + self.H]
            at += s.n + self.H
            out.append(_Encoded(np.log1p(np.maximum(ys, 0)).astype(np.float32), ys.astype(np.float32),
                                s.known.astype(np.float32), cal, drv, (math.log1p(scale) - mean) / std, scale))
        return out

    def design(self, enc: _Encoded, origins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def _scale(s: SeriesData, cut: int) -> float:
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


def _pinball_loss(H: int):
    """Pinball loss of each step's quantiles plus that of the running average from step 1 to each step.

    The network's outputs are (H x QUANTILES) for the steps, then (H x TOTAL_LEVELS) for the average
    demand per step over steps 1..h, so totals over any span up to H have their own learned quantiles.
    Both are learned on the log1p of the scaled quantities (a quantile of log1p(y) is log1p of y's quantile).
    """
    constants: dict[torch.device, tuple[torch.Tensor, ...]] = {}  # moved to the device once, not every batch

    def loss_fn(out: torch.Tensor, yw: torch.Tensor) -> torch.Tensor:
        if out.device not in constants:
            constants[out.device] = tuple(torch.tensor(v, dtype=torch.float32, device=out.device)
                                          for v in (list(range(1, H + 1)), QUANTILES, TOTAL_LEVELS))
        steps, tau_step, tau_total = constants[out.device]
        y, w = yw[:, :H], yw[:, H:]
        daily = out[:, : H * len(QUANTILES)].reshape(-1, H, len(QUANTILES))
        totals = out[:, H * len(QUANTILES):].reshape(-1, H, len(TOTAL_LEVELS))
        running = torch.cumsum(y * w, dim=1) / steps
        y, running = torch.log1p(y), torch.log1p(running)  # quantiles commute with log1p; spikes weigh less
        w_running = torch.cumprod(w, dim=1)  # a total is known only while every step in it is
        return _pinball(y, daily, w, tau_step) + _pinball(running, totals, w_running, tau_total)

    return loss_fn


def _quantiles(net: nn.Module, X: np.ndarray, H: int) -> tuple[np.ndarray, np.ndarray]:
    """Scaled quantiles: (m, H, 3) of each step, (m, H, 5) of the total from step 1 to each step.

    Sorted so they never cross, never below zero, totals never shrinking with the span.
    """
    device = next(net.parameters()).device
    out = torch.expm1(predict_batched(net, as_tensor(X, device, torch.float32)).clamp(max=30.0))
    nq = H * len(QUANTILES)
    daily = torch.sort(out[:, :nq].reshape(len(X), H, len(QUANTILES)), dim=-1).values.clamp_min(0.0).cpu().numpy()
    avg = torch.sort(out[:, nq:].reshape(len(X), H, len(TOTAL_LEVELS)), dim=-1).values.clamp_min(0.0).cpu().numpy()
    totals = np.maximum.accumulate(avg * np.arange(1, H + 1)[None, :, None], axis=1)
    return daily, totals


# ----------------------------------------------------------------------------- baselines and scores


def seasonal_naive(y: np.ndarray, origin: int, H: int, m: int) -> np.ndarray:
    """The value one season before each step (repeating the last season beyond it); unknown as 0."""
    y = np.nan_to_num(y[:origin], nan=0.0)
    if origin < m:
        return np.full(H, y[-1] if len(y) else 0.0)
    return y[origin - m + (np.arange(H) % m)]


def _ets_forecast(y: np.ndarray, H: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
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


def _mase_scale(y: np.ndarray, known: np.ndarray, cut: int, m: int) -> float:
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


def scores(actual: np.ndarray, point: np.ndarray, mask: np.ndarray, mase_scale: np.ndarray,
           lo: np.ndarray | None = None, hi: np.ndarray | None = None) -> tuple[dict[str, float], dict[str, np.ndarray]]:
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
        per["rmse"] = np.sqrt((err ** 2).reshape(S, -1).sum(1) / cnt)
        per["smape"] = 100 * sm.reshape(S, -1).sum(1) / cnt
        per["mase"] = per["mae"] / mase_scale
        total = max(mask.sum(), 1)
        overall = {
            "mase": float(np.nanmean(per["mase"])) if np.isfinite(per["mase"]).any() else float("nan"),
            "smape": float(100 * sm.sum() / total),
            "mae": float(err.sum() / total),
            "rmse": float(np.sqrt((err ** 2).sum() / total)),
        }
        if lo is not None and hi is not None:
            inside = (actual >= lo - 1e-9) & (actual <= hi + 1e-9) & mask
            per["coverage"] = inside.reshape(S, -1).sum(1) / cnt
            overall["coverage"] = float(inside.sum() / total)
        else:
            per["coverage"] = np.full(S, np.nan)
            overall["coverage"] = float("nan")
    return overall, per


# ----------------------------------------------------------------------------- the fitted model


class _Combine(nn.Module):
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


@dataclass
class ForecastModel:
    columns: ForecastColumns
    config: ForecastConfig
    freq: Frequency
    lags: int
    ids: list[str]
    id_values: dict[str, list[str]]
    skipped: dict[str, str]
    net: TabularMLP
    inputs: _Inputs
    background: np.ndarray
    history: History
    metrics: dict[str, float]
    baseline_metrics: dict[str, dict[str, float]]
    per_series: dict[str, dict[str, list[float]]]  # model -> metric -> value per series (ids order)
    actuals: pd.DataFrame  # series, date, actual, known, open
    backtest: pd.DataFrame  # series, window, date, actual, evaluated, per-model forecasts
    forecast: pd.DataFrame  # series, date, low, median, high, open
    explain_X: np.ndarray
    explain_rows: pd.DataFrame  # group values of each explained forecast, plus 'series', 'from', 'future'
    total_coverage: dict[str, float]  # backtest: share of whole-window totals at or below each total quantile
    notes: list[str]
    seconds: dict[str, float]

    @property
    def horizon(self) -> int:
        return self.inputs.H

    # -- what the page reads -------------------------------------------------------------
    def accuracy_table(self) -> pd.DataFrame:
        """Per series: MASE, sMAPE and MAE of the model and of each baseline, and the model's interval coverage."""
        out = pd.DataFrame({"series": self.ids})
        for name, per in self.per_series.items():
            out[f"MASE · {name}"] = per["mase"]
        for name, per in self.per_series.items():
            out[f"sMAPE % · {name}"] = per["smape"]
        for name, per in self.per_series.items():
            out[f"MAE · {name}"] = per["mae"]
        out[f"80% coverage · {MODEL}"] = self.per_series[MODEL]["coverage"]
        return out

    def series_view(self, series: str) -> dict[str, pd.DataFrame]:
        return {
            "actuals": self.actuals[self.actuals["series"] == series],
            "backtest": self.backtest[self.backtest["series"] == series],
            "forecast": self.forecast[self.forecast["series"] == series],
        }

    def forecast_table(self) -> pd.DataFrame:
        """The future forecast of every series, with the analyst's series columns, for download."""
        out = self.forecast.copy()
        out.insert(0, "date", out.pop("date").dt.strftime("%Y-%m-%d"))
        for j, c in reversed(list(enumerate(self.columns.series))):
            out.insert(0, c, out["series"].map(lambda s: self.id_values.get(s, [s] * (j + 1))[j]))
        if self.columns.series:
            out = out.drop(columns="series")
        return out.rename(columns={"low": "low (10%)", "median": "forecast (median)", "high": "high (90%)"})

    # -- reorder -----------------------------------------------------------------------------
    def reorder(self, lead_time: int, review_period: int, service_level: float,
                stock: float | dict[str, float] | pd.Series | None = None) -> pd.DataFrame:
        """Order-up-to quantities per series: demand over lead time + review period at the service level, minus stock."""
        span = int(lead_time) + int(review_period)
        if lead_time < 0 or review_period < 1:
            raise DataError("The lead time cannot be negative and the review period must be at least one step.")
        if span > self.horizon:
            raise DataError(
                f"The lead time plus review period ({self.freq.units(span)}) is longer than the forecast horizon "
                f"({self.freq.units(self.horizon)}). Shorten them, or set the horizon to at least {span} and train again."
            )
        if not TOTAL_LEVELS[0] <= service_level <= TOTAL_LEVELS[-1]:
            raise DataError(f"The service level must lie between {TOTAL_LEVELS[0]:.0%} and {TOTAL_LEVELS[-1]:.0%}.")
        f = self.forecast[self.forecast["step"] == span].set_index("series").reindex(self.ids)
        totals = f[[_total_col(q) for q in TOTAL_LEVELS]].to_numpy()
        expected = totals[:, 0]
        level = np.array([np.interp(service_level, TOTAL_LEVELS, row) for row in totals])
        if isinstance(stock, (dict, pd.Series)):
            on_hand = np.array([float(pd.Series(stock).get(s, 0.0) or 0.0) for s in self.ids])
        else:
            on_hand = np.full(len(self.ids), float(stock or 0.0))
        on_hand = np.nan_to_num(on_hand, nan=0.0)
        order = np.ceil(np.maximum(level - on_hand, 0.0) - 1e-9)
        return pd.DataFrame({
            "series": self.ids,
            f"expected demand over {self.freq.units(span)}": expected,
            f"demand covered at {service_level:.1%} service": level,
            "safety stock": level - expected,
            "current stock": on_hand,
            "suggested order": order.astype(int),
        })

    # -- scoring new history -----------------------------------------------------------
    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        """The next H steps for each series of a (newer) history with the same columns."""
        panel = prepare(df, self.columns, self.config, min_length="predict", frequency=self.freq)
        panel.lags, panel.horizon = self.lags, self.horizon
        rows = []
        for s in panel.series:
            scale = _scale(s, s.n)
            enc = self.inputs.encode(s, scale)
            X, _ = self.inputs.design(enc, np.array([s.n]))
            q = _quantiles(self.net, X, self.horizon)[0][0] * scale
            dates = self.freq.dates(s.start, s.n + self.horizon)[s.n:]
            if s.open is not None:
                q[~s.open[s.n:]] = 0.0
            part = pd.DataFrame({"series": s.id, "date": dates.strftime("%Y-%m-%d"),
                                 "low (10%)": q[:, 0], "forecast (median)": q[:, 1], "high (90%)": q[:, 2]})
            for j, c in enumerate(self.columns.series):
                part.insert(j, c, panel.id_values[s.id][j])
            rows.append(part)
        out = pd.concat(rows, ignore_index=True)
        return out.drop(columns="series") if self.columns.series else out

    # -- explanations --------------------------------------------------------------------
    def _output_name(self) -> str:
        return f"the {self.horizon}-{self.freq.unit} forecast (log scale)"

    def explain(self, df: pd.DataFrame | None = None) -> Explanation:
        """SHAP of the forecast total over the horizon (in steps of the series' usual sales), per driver group.

        Without `df`: forecasts made at (up to 200) backtest origins and for the future, across the series.
        With `df`: the future forecasts of that (newer) history.
        """
        if df is None:
            X, rows = self.explain_X, self.explain_rows
            if len(X) > 400:  # keep it quick: the backtest rows and a fixed sample of the future ones
                fut = rows.index[rows["future"]].to_numpy()
                keep = np.sort(np.concatenate([rows.index[~rows["future"]].to_numpy(),
                                               np.random.default_rng(0).choice(fut, size=min(len(fut), 200), replace=False)]))
                X, rows = X[keep], rows.loc[keep].reset_index(drop=True)
        else:
            panel = prepare(df, self.columns, self.config, min_length="predict", frequency=self.freq)
            X, rows = _explain_inputs(self.inputs, panel, [[s.n] for s in panel.series], [_scale(s, s.n) for s in panel.series])
        H = self.horizon
        weights = np.zeros(n_outputs(H))
        weights[H * len(QUANTILES) + (H - 1) * len(TOTAL_LEVELS)] = H  # the median total over the horizon
        names = self.inputs.group_names
        return deep_explain(_Combine(self.net, weights), self.background, X, rows[names], self.inputs.group_matrix(),
                            names, output_index=0, output_name=self._output_name())

    def explain_point(self, series: str, step: int) -> Explanation:
        """SHAP of one future forecast (the median of `step`, 1-based) of one series, in units.

        The network works on a log scale; each contribution is converted to units in proportion to
        its share of the log-scale change, so they still add up from the average to this forecast.
        """
        row = self.explain_rows.index[(self.explain_rows["series"] == series) & self.explain_rows["future"]][0]
        weights = np.zeros(n_outputs(self.horizon))
        weights[(step - 1) * len(QUANTILES) + 1] = 1.0  # that step's median
        matrix, names = self.inputs.groups(step)
        date = self.forecast[(self.forecast["series"] == series) & (self.forecast["step"] == step)]["date"].iloc[0]
        exp = deep_explain(_Combine(self.net, weights), self.background, self.explain_X[[row]],
                           self.explain_rows.loc[[row], names], matrix, names, output_index=0,
                           output_name=f"units forecast for {date:%a %d %b %Y}")
        data = exp.data.copy()
        for name, values in self.explain_rows.loc[row, "per_step"].items():
            data.loc[data.index[0], name] = values[step - 1]  # that day's weekday, month and driver values
        scale = float(self.explain_rows.loc[row, "usual sales level"])
        base_log, out_log = exp.base_value, float(exp.outputs[0])
        base, out = math.expm1(base_log) * scale, math.expm1(min(out_log, 30.0)) * scale
        gap = out_log - base_log
        factor = (out - base) / gap if abs(gap) > 1e-9 else math.exp(out_log) * scale
        return Explanation(exp.values * factor, base, data, exp.feature_names, exp.output_name)

    # -- persistence -------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        tensors: dict[str, Any] = {f"net.{k}": v for k, v in self.net.state_dict().items()}
        tensors["background"] = self.background
        tensors["explain_X"] = self.explain_X
        frames = {}
        for name in ("actuals", "backtest", "forecast"):
            t, spec = _frame_to_tensors(getattr(self, name), self.ids)
            tensors.update({f"{name}.{k}": v for k, v in t.items()})
            frames[name] = spec
        rows = self.explain_rows.copy()
        rows["from"] = rows["from"].dt.strftime("%Y-%m-%d")
        meta = {
            "columns": asdict(self.columns), "config": asdict(self.config), "freq": asdict(self.freq),
            "lags": self.lags, "ids": self.ids, "id_values": self.id_values, "skipped": self.skipped,
            "net": self.net.spec(), "drivers": self.inputs.pre.to_dict() if self.inputs.pre is not None else None,
            "driver_columns": self.inputs.drivers, "level_stats": list(self.inputs.level_stats),
            "history": self.history.to_dict(), "metrics": self.metrics, "baseline_metrics": self.baseline_metrics,
            "per_series": self.per_series, "frames": frames, "explain_rows": rows.to_dict("list"),
            "total_coverage": self.total_coverage, "notes": self.notes, "seconds": self.seconds,
        }
        return artifacts.to_bytes(KIND, tensors, meta)

    def save(self, path: str | Path) -> None:
        Path(path).write_bytes(self.to_bytes())




def _frame_to_tensors(frame: pd.DataFrame, ids: list[str]) -> tuple[dict[str, np.ndarray], list[list[str]]]:
    index = {s: i for i, s in enumerate(ids)}
    tensors, spec = {}, []
    for c in frame.columns:
        s = frame[c]
        if c == "series":
            tensors[c], kind = s.map(index).to_numpy(np.int64), "series"
        elif pd.api.types.is_datetime64_any_dtype(s):
            # keep the unit (pandas versions differ: us vs ns) so a loaded frame equals the saved one
            tensors[c], kind = s.to_numpy("datetime64[ns]").astype(np.int64), f"date:{s.dtype}"
        elif pd.api.types.is_bool_dtype(s):
            tensors[c], kind = s.to_numpy(np.uint8), "bool"
        elif pd.api.types.is_integer_dtype(s):
            tensors[c], kind = s.to_numpy(np.int64), "int"
        else:
            tensors[c], kind = s.to_numpy(np.float64), "float"
        spec.append([c, kind])
    return tensors, spec


def _frame_from_tensors(tensors: dict[str, torch.Tensor], prefix: str, spec: list[list[str]], ids: list[str]) -> pd.DataFrame:
    out = {}
    for c, kind in spec:
        v = tensors[f"{prefix}.{c}"].numpy()
        if kind == "series":
            out[c] = np.asarray(ids, dtype=object)[v]
        elif kind.startswith("date"):
            out[c] = pd.to_datetime(v.astype("datetime64[ns]"))
            if ":" in kind:
                out[c] = out[c].astype(kind.split(":", 1)[1])
        elif kind == "bool":
            out[c] = v.astype(bool)
        elif kind == "int":
            out[c] = v.astype(np.int64)
        else:
            out[c] = v
    return pd.DataFrame(out)


def load(source: str | Path | bytes) -> ForecastModel:
    """Read a model file saved by `ForecastModel.save` (weights and JSON only)."""
    tensors, meta = artifacts.load_artifact(source, KIND)
    try:
        c = meta["columns"]
        columns = ForecastColumns(**{**c, "series": tuple(c["series"]), "drivers": tuple(c["drivers"])})
        cfg = dict(meta["config"])
        cfg["hidden"] = tuple(cfg["hidden"])
        freq = Frequency(**meta["freq"])
        net = TabularMLP(**meta["net"])
        net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net.")})
        net.to(get_device()).eval()
        pre = Preprocessor.from_dict(meta["drivers"]) if meta["drivers"] else None
        config = ForecastConfig(**cfg)
        inputs = _Inputs.restore(freq, int(meta["lags"]), config.horizon, list(meta["driver_columns"]), pre, meta["level_stats"])
        ids = list(meta["ids"])
        rows = pd.DataFrame(meta["explain_rows"])
        rows["from"] = pd.to_datetime(rows["from"])
        return ForecastModel(
            columns=columns, config=config, freq=freq, lags=int(meta["lags"]), ids=ids,
            id_values={k: list(v) for k, v in meta["id_values"].items()}, skipped=dict(meta["skipped"]), net=net,
            inputs=inputs, background=tensors["background"].numpy(), history=History.from_dict(meta["history"]),
            metrics=meta["metrics"], baseline_metrics=meta["baseline_metrics"], per_series=meta["per_series"],
            actuals=_frame_from_tensors(tensors, "actuals", meta["frames"]["actuals"], ids),
            backtest=_frame_from_tensors(tensors, "backtest", meta["frames"]["backtest"], ids),
            forecast=_frame_from_tensors(tensors, "forecast", meta["frames"]["forecast"], ids),
            explain_X=tensors["explain_X"].numpy(), explain_rows=rows, total_coverage=dict(meta["total_coverage"]),
            notes=list(meta["notes"]), seconds=dict(meta["seconds"]),
        )
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError):
        raise DataError("This forecast model file is incomplete or damaged. Download it again from the page that trained it.") from None


# ----------------------------------------------------------------------------- explanation rows


def _explain_inputs(inputs: _Inputs, panel: Panel, origins: list[list[int]], scales: list[float]) -> tuple[np.ndarray, pd.DataFrame]:
    """Inputs at the given origins and, per driver group, a value an analyst can read."""
    Xs, rows = [], []
    bands = _lag_bands(inputs.freq, inputs.L)
    cal_names = [n for n in inputs.group_names if n in ("day of week", "time of year", "month of year")]
    picked = [(s, np.asarray(os_, dtype=np.int64), sc) for s, os_, sc in zip(panel.series, origins, scales) if len(os_)]
    encoded = inputs.encode_all([p[0] for p in picked], [p[2] for p in picked])
    drivers = list(dict.fromkeys(inputs.driver_columns))
    for (s, os_, scale), enc in zip(picked, encoded):
        X, _ = inputs.design(enc, os_)
        Xs.append(X)
        y = np.nan_to_num(s.y, nan=0.0)
        dates = inputs.freq.dates(s.start, s.n + inputs.H)
        raw = {c: s.drivers[c].to_numpy() for c in drivers}
        num = {c: pd.to_numeric(s.drivers[c], errors="coerce").to_numpy(dtype=float) for c in drivers}
        for o in os_:
            r: dict[str, Any] = {"series": s.id, "from": dates[o], "future": bool(o >= s.n)}
            for lo, hi, name in bands:
                r[name] = float(y[max(o - hi, 0): o - lo + 1].sum())
            r["usual sales level"] = scale
            step_dates = dates[o: o + inputs.H]
            per_step: dict[str, list] = {}  # each group's value on each forecast step (for one-point explanations)
            for name in cal_names:
                per_step[name] = list(step_dates.day_name() if name == "day of week" else step_dates.month_name())
                r[name] = per_step[name][0]
            for c in drivers:
                for when, sl in (("ahead", slice(o, o + inputs.H)), ("before", slice(max(o - inputs.L, 0), o))):
                    values, numbers = raw[c][sl], num[c][sl]
                    usable = len(numbers) and not np.isnan(numbers).any()
                    r[inputs.driver_group(c, when)] = float(numbers.mean()) if usable else str(pd.Series(values).mode().iloc[0])
                    if when == "ahead":
                        that_day = [float(v) for v in numbers] if usable else [str(v) for v in values]
                        per_step[inputs.driver_group(c, "that day")] = that_day
                        r[inputs.driver_group(c, "that day")] = that_day[0]
                        r[inputs.driver_group(c, "other days")] = "(several)"
            r["per_step"] = per_step
            rows.append(r)
    return np.vstack(Xs), pd.DataFrame(rows)


# ----------------------------------------------------------------------------- fit


def _check_cancel(cancel) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled()


def fit(
    df: pd.DataFrame,
    columns: ForecastColumns,
    config: ForecastConfig = ForecastConfig(),
    progress=None,
    cancel=None,
) -> ForecastModel:
    """Backtest the global network and the baselines on the same rolling-origin windows, then forecast ahead."""
    t_start = time.perf_counter()
    panel = prepare(df, columns, config)
    seed_everything(config.seed)
    freq, H, L, k, m = panel.freq, panel.horizon, panel.lags, panel.windows, panel.freq.season
    S = panel.series
    ids = panel.ids
    notes = list(panel.notes)
    seconds: dict[str, float] = {}
    rng = np.random.default_rng(config.seed)
    loss_fn = _pinball_loss(H)

    # ---- the backtest network: everything it learns comes from before each series' first origin
    cuts = [s.n - k * H for s in S]
    inputs_a = _Inputs(panel, cuts, columns)
    notes += inputs_a.notes
    enc_a = inputs_a.encode_all(S, inputs_a.scales)
    Xtr, Ytr, Xva, Yva = [], [], [], []
    val_len = 2 * H
    for e, cut in zip(enc_a, cuts):
        tr = np.arange(L, cut - val_len - H + 1)
        va = np.arange(max(L, cut - val_len), cut - H + 1)
        if len(tr):
            X, Y = inputs_a.design(e, tr)
            Xtr.append(X)
            Ytr.append(Y)
        if len(va):
            X, Y = inputs_a.design(e, va)
            Xva.append(X)
            Yva.append(Y)
    if not Xtr:
        raise DataError(
            f"The series are too short to train on after setting aside {k} backtest windows of {freq.units(H)} "
            f"and a validation period: use fewer backtest windows, a shorter horizon, or more history."
        )
    Xtr, Ytr = _cap(np.vstack(Xtr), np.vstack(Ytr), config.max_train_windows, rng)
    val = (np.vstack(Xva), np.vstack(Yva)) if Xva else None
    if len(Xtr) < 20:
        raise DataError(f"Only {len(Xtr)} training windows fit in the history before the backtest; bring more history "
                        "or shorten the horizon.")
    n_out = n_outputs(H)
    net_a = TabularMLP(inputs_a.n_in, n_out, config.hidden, config.dropout)
    t0 = time.perf_counter()
    history = fit_model(net_a, (Xtr, Ytr), val, loss_fn, config.train_config(len(Xtr)), progress=progress, cancel=cancel)
    seconds["train backtest network"] = time.perf_counter() - t0
    n_train_windows = len(Xtr)
    del Xtr, Ytr, val

    # ---- the backtest: k origins per series, each seeing actuals up to itself
    origins = [np.array([cut + j * H for j in range(k)]) for cut in cuts]
    actual = np.zeros((len(S), k, H))
    known = np.zeros((len(S), k, H), bool)
    open_ = np.ones((len(S), k, H), bool)
    qa = np.zeros((len(S), k, H, len(QUANTILES)))
    ta = np.zeros((len(S), k, H, len(TOTAL_LEVELS)))
    sn = np.zeros((len(S), k, H))
    for i, (s, e, os_) in enumerate(zip(S, enc_a, origins)):
        X, _ = inputs_a.design(e, os_)
        daily, totals = _quantiles(net_a, X, H)
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
    mase_den = np.array([_mase_scale(np.nan_to_num(s.y, nan=0.0), s.known, c, m) for s, c in zip(S, cuts)])
    if any(c <= m + 1 for c in cuts):
        notes.append(f"Some series have less than a season ({freq.units(m)}) of history before the backtest: seasonal naive "
                     "repeats their last value there, and their MASE compares with the step-to-step change.")
    if np.isnan(mase_den).any():
        notes.append(f"MASE leaves out {int(np.isnan(mase_den).sum()):,} series whose history never changes over a season.")
    metrics, per_model = scores(actual, qa[..., 1], mask, mase_den, qa[..., 0], qa[..., 2])
    sn_metrics, per_sn = scores(actual, sn, mask, mase_den)
    baseline_metrics = {SNAIVE: sn_metrics}
    per_series = {MODEL: per_model, SNAIVE: per_sn}
    ets = ets_lo = ets_hi = None
    if config.ets and len(S) <= config.ets_max_series:
        t0 = time.perf_counter()
        try:
            ets, ets_lo, ets_hi, failed = _ets_backtest(S, origins, H, m, cancel)
        except ImportError:
            notes.append("The AutoETS baseline was skipped: the statsforecast package is not installed here.")
        else:
            for arr in (ets, ets_lo, ets_hi):
                arr[~open_] = 0.0
            baseline_metrics[ETS], per_series[ETS] = scores(actual, ets, mask, mase_den, ets_lo, ets_hi)
            if failed:
                notes.append(f"AutoETS could not fit {failed:,} of {len(S) * k:,} series-windows; those use seasonal "
                             "naive's forecast instead.")
            seconds["AutoETS baseline"] = time.perf_counter() - t0
    elif config.ets:
        notes.append(f"The AutoETS baseline was skipped: {len(S):,} series is more than {config.ets_max_series:,} "
                     "(it fits one model per series and window).")
    if columns.open_flag:
        notes.append("Days marked closed are forecast as zero by every model and left out of the accuracy figures.")

    # are the totals behind the reorder quantities honest? share of whole-window totals at or below each level
    whole = known.all(-1)
    tot = actual.sum(-1)
    total_coverage = {f"{q:g}": float((tot[whole] <= ta[..., -1, j][whole] + 1e-9).mean()) if whole.any() else float("nan")
                      for j, q in enumerate(TOTAL_LEVELS)}

    backtest = pd.DataFrame({
        "series": np.repeat(ids, k * H),
        "window": np.tile(np.repeat(np.arange(1, k + 1), H), len(S)),
        "date": np.concatenate([freq.dates(s.start, s.n)[s.n - k * H:] for s in S]),
        "actual": actual.ravel(), "evaluated": mask.ravel(),
        "model_low": qa[..., 0].ravel(), "model": qa[..., 1].ravel(), "model_high": qa[..., 2].ravel(),
        "snaive": sn.ravel(),
    })
    if ets is not None:
        backtest["ets"], backtest["ets_low"], backtest["ets_high"] = ets.ravel(), ets_lo.ravel(), ets_hi.ravel()

    # ---- the network for the future: refitted on the whole history (same number of epochs)
    _check_cancel(cancel)
    if config.refit:
        inputs = _Inputs(panel, [s.n for s in S], columns)
        enc = inputs.encode_all(S, inputs.scales)
        parts = [inputs.design(e, np.arange(L, s.n - H + 1)) for e, s in zip(enc, S) if s.n - H + 1 > L]
        Xall, Yall = _cap(np.vstack([p[0] for p in parts]), np.vstack([p[1] for p in parts]), config.max_train_windows, rng)
        epochs = max(history.best_epoch, 3)
        net = TabularMLP(inputs.n_in, n_out, config.hidden, config.dropout)
        offset = len(history.epochs)

        def refit_progress(ev: dict[str, Any]) -> None:
            if progress is not None:
                progress({**ev, "epoch": offset + ev["epoch"], "max_epochs": offset + epochs, "val_loss": float("nan"),
                          "best_epoch": history.best_epoch, "phase": "refit on the whole history"})

        t0 = time.perf_counter()
        fit_model(net, (Xall, Yall), None, loss_fn, config.train_config(len(Xall), max_epochs=epochs, patience=epochs + 1),
                  progress=refit_progress, cancel=cancel)
        seconds["refit on the whole history"] = time.perf_counter() - t0
        background = Xall[rng.choice(len(Xall), size=min(100, len(Xall)), replace=False)]
        del Xall, Yall
    else:
        inputs, enc, net = inputs_a, enc_a, net_a
        background = None
        notes.append("The future forecast uses the backtest network (trained on the history before the backtest windows).")

    # ---- the future
    fut_rows = []
    for s, e in zip(S, enc):
        X, _ = inputs.design(e, np.array([s.n]))
        daily, totals = _quantiles(net, X, H)
        q, t = daily[0] * e.scale, totals[0] * e.scale
        op = s.open[s.n:] if s.open is not None else np.ones(H, bool)
        q[~op] = 0.0
        part = pd.DataFrame({"series": s.id, "date": freq.dates(s.start, s.n + H)[s.n:], "step": np.arange(1, H + 1),
                             "low": q[:, 0], "median": q[:, 1], "high": q[:, 2], "open": op})
        for j, level in enumerate(TOTAL_LEVELS):
            part[_total_col(level)] = t[:, j]
        fut_rows.append(part)
    forecast = pd.concat(fut_rows, ignore_index=True)
    actuals = pd.concat([pd.DataFrame({"series": s.id, "date": freq.dates(s.start, s.n), "actual": s.y, "known": s.known,
                                       "open": s.open[: s.n] if s.open is not None else np.ones(s.n, bool)}) for s in S],
                        ignore_index=True)

    # ---- what the explanations run on: each series' backtest origins and its future origin
    # every series' future origin (one-forecast explanations), and up to 200 of the backtest origins
    pairs = [(i, o) for i, os_ in enumerate(origins) for o in os_]
    chosen = sorted(rng.choice(len(pairs), size=min(200, len(pairs)), replace=False)) if pairs else []
    explain_origins: list[list[int]] = [[] for _ in S]
    for j in chosen:
        explain_origins[pairs[j][0]].append(int(pairs[j][1]))
    explain_X, explain_rows = _explain_inputs(inputs, panel, [o + [s.n] for o, s in zip(explain_origins, S)], list(inputs.scales))
    if background is None:
        Xb = np.vstack([inputs.design(e, np.arange(L, max(L + 1, s.n - k * H - H + 1)))[0] for e, s in zip(enc, S)])
        background = Xb[rng.choice(len(Xb), size=min(100, len(Xb)), replace=False)]

    seconds["total"] = time.perf_counter() - t_start
    notes.append(f"Trained on {n_train_windows:,} windows from {len(S):,} series; backtest: {k} × {freq.units(H)} "
                 "at the end of each series.")
    return ForecastModel(
        columns=columns, config=config, freq=freq, lags=L, ids=ids, id_values=panel.id_values, skipped=panel.skipped,
        net=net, inputs=inputs, background=background.astype(np.float32), history=history, metrics=metrics,
        baseline_metrics=baseline_metrics,
        per_series={name: {k_: [float(v) for v in arr] for k_, arr in per.items()} for name, per in per_series.items()},
        actuals=actuals, backtest=backtest, forecast=forecast, explain_X=explain_X, explain_rows=explain_rows,
        total_coverage=total_coverage, notes=notes, seconds=seconds,
    )


def _total_col(level: float) -> str:
    return f"total to here {level:.0%}"


def _cap(X: np.ndarray, Y: np.ndarray, limit: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    if len(X) <= limit:
        return X, Y
    keep = np.sort(rng.choice(len(X), size=limit, replace=False))
    return X[keep], Y[keep]


def _ets_backtest(S: list[SeriesData], origins: list[np.ndarray], H: int, m: int, cancel) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    import statsforecast.models  # noqa: F401  (raises ImportError here when absent)

    k = len(origins[0])
    mean = np.zeros((len(S), k, H))
    lo, hi = np.zeros_like(mean), np.zeros_like(mean)
    failed = 0
    for i, (s, os_) in enumerate(zip(S, origins)):
        for j, o in enumerate(os_):
            _check_cancel(cancel)
            out = _ets_forecast(s.y[:o], H, m)
            if out is None:
                failed += 1
                mean[i, j] = lo[i, j] = hi[i, j] = seasonal_naive(s.y, o, H, m)
            else:
                mean[i, j], lo[i, j], hi[i, j] = out
    return mean, lo, hi, failed


def stock_from_column(df: pd.DataFrame, columns: ForecastColumns, stock_column: str) -> pd.Series:
    """Current stock per series: the last non-empty value of `stock_column` by date."""
    if stock_column not in df.columns:
        raise DataError(f"The stock column '{stock_column}' is not in your file.")
    values = pd.to_numeric(df[stock_column], errors="coerce")
    if values.notna().sum() == 0:
        raise DataError(f"The stock column '{stock_column}' holds no numbers. Pick a column with stock on hand, or type the stock in.")
    frame = pd.DataFrame({"series": series_key(df, columns.series).to_numpy(),
                          "date": parse_dates(df[columns.date], columns.date).to_numpy(), "stock": values.to_numpy()})
    frame = frame.dropna(subset=["stock"]).sort_values("date")
    return frame.groupby("series")["stock"].last()
