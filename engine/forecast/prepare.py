"""Check and reshape the long table into one regular series per id (`prepare`); every problem an analyst can fix
is a DataError sentence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from engine.data import DataError, check_finite
from engine.forecast.config import ForecastConfig
from engine.forecast.frame import (
    ForecastColumns,
    Frequency,
    check_roles,
    detect_frequency,
    parse_dates,
    series_key,
    series_strings,
    target_values,
)


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
        return (
            f"Detected {self.freq.name} data: {len(self.series):,} series from {first:%d %b %Y} to {last:%d %b %Y} "
            f"(up to {self.freq.units(max(s.n for s in self.series))} each)."
        )


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
        words = (
            s.astype("string")
            .str.strip()
            .str.lower()
            .map({"yes": 1.0, "no": 0.0, "true": 1.0, "false": 0.0, "open": 1.0, "closed": 0.0, "y": 1.0, "n": 0.0})
        )
        x = x.fillna(words.astype(float))
    bad = s.notna() & ~x.isin([0.0, 1.0])
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"The open/closed column '{col}' should hold 1 (open) and 0 (closed), but has values such as "
            f"'{s.iloc[first]}' (data row {first + 1:,}). Pick a 0/1 column as the open/closed column, or none."
        )
    return x


def prepare(
    df: pd.DataFrame,
    columns: ForecastColumns,
    config: ForecastConfig = ForecastConfig(),
    *,
    min_length: str = "train",
    frequency: Frequency | None = None,
) -> Panel:
    """Check and reshape the long table into one regular series per id; DataError with a sentence when it cannot work.

    `min_length="train"` keeps series long enough to train and backtest; "predict" keeps any series
    with at least one lag window (scoring new history with a trained model). `frequency`: the one a
    trained model expects (a file of another frequency is refused).
    """
    check_roles(df, columns)
    if len(df) == 0:
        raise DataError("The file has no rows. Upload the sales history.")
    notes: list[str] = []
    drivers = list(columns.all_drivers)
    check_finite(df, [columns.target, *drivers], "your file")
    frame, id_values = _read(df, columns, drivers, notes)
    frame = _fix_rows(frame, columns, drivers, notes)
    frame, observed, no_history, freq = _regular_dates(frame, columns, frequency, notes)
    frame, starts, lengths, L, skipped = _lengths(frame, observed, no_history, freq, config, min_length, notes)
    series = _series(frame, columns, drivers, freq, config.horizon, starts, lengths, skipped, notes)
    return Panel(
        freq,
        series,
        config.horizon,
        L,
        config.backtest_windows,
        notes,
        skipped,
        {s.id: id_values.get(s.id, [s.id]) for s in series},
    )


def _read(
    df: pd.DataFrame, columns: ForecastColumns, drivers: list[str], notes: list[str]
) -> tuple[pd.DataFrame, dict]:
    """One row per input row: series key, date, quantity and the drivers; and each key's series column values."""
    frame = pd.DataFrame(
        {
            "_key": series_key(df, columns.series).to_numpy(),
            "_date": parse_dates(df[columns.date], columns.date, notes).to_numpy(),
            "_y": target_values(df[columns.target], columns.target).to_numpy(),
        }
    )
    for c in drivers:
        frame[c] = df[c].to_numpy()
    if columns.open_flag:
        frame[columns.open_flag] = _to_flag(df[columns.open_flag], columns.open_flag).to_numpy()
    id_values = {}
    if columns.series:
        firsts = pd.DataFrame({c: series_strings(df[c]).to_numpy() for c in columns.series}).assign(
            _key=frame["_key"].to_numpy()
        )
        firsts = firsts.drop_duplicates("_key")
        id_values = {r[-1]: list(r[:-1]) for r in firsts[[*columns.series, "_key"]].itertuples(index=False, name=None)}

    return frame, id_values


def _fix_rows(frame: pd.DataFrame, columns: ForecastColumns, drivers: list[str], notes: list[str]) -> pd.DataFrame:
    """Negative quantities and repeated (series, date) rows: a sentence, or fixed when the analyst ticked the option."""
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
            hint = (
                "pick more series columns (for example store and item) if each row is a different item, or "
                if columns.series
                else "pick the series columns (such as store or item) if the file holds several series, or "
            )
            raise DataError(
                f"{int(frame.duplicated(['_key', '_date']).sum()):,} row(s) repeat a date already present{where} "
                f"(such as {first['_date']:%Y-%m-%d}). Each series needs one row per date: {hint}"
                "tick 'Add up rows with the same date and series' to sum their quantities."
            )
        n_before = len(frame)
        agg: dict[str, str | Callable[[pd.Series], Any]] = {"_y": lambda s: s.sum(min_count=1)}
        for c in drivers:
            agg[c] = (
                "max" if c == columns.open_flag else ("mean" if pd.api.types.is_numeric_dtype(frame[c]) else "first")
            )
        frame = frame.groupby(["_key", "_date"], sort=False, as_index=False).agg(agg)
        notes.append(f"Added up rows with the same date and series: {n_before:,} rows became {len(frame):,}.")
    _note_one_offs(frame, columns, notes)
    return frame


ONE_OFF_RATIO = 20.0  # a day this many times a series' usual peak (its 99th percentile) is called a one-off


def _note_one_offs(frame: pd.DataFrame, columns: ForecastColumns, notes: list[str]) -> None:
    """Say which series have a single value far beyond the rest of their history (a bulk order, a typing error,
    an order later cancelled): every forecast follows such a value, so the analyst should know and decide."""
    found = []
    for key, g in frame.groupby("_key", sort=False):
        y = g["_y"].to_numpy(dtype=float)
        if len(y) < 20 or not np.isfinite(y).any():
            continue
        top = int(np.nanargmax(y))
        rest = np.delete(y, top)
        q99 = float(np.nanpercentile(rest, 99))
        if y[top] > ONE_OFF_RATIO * max(q99, 1.0):
            found.append((y[top] / max(q99, 1.0), key, y[top], g["_date"].iloc[top], q99))
    if found:
        found.sort(reverse=True)
        _, key, value, when, usual = found[0]
        where = f"Series '{key}' has" if columns.series else "The history has"
        others = len(found) - 1
        more = f" ({others:,} other series {'has' if others == 1 else 'have'} such a value too)" if others else ""
        notes.append(
            f"{where} {value:,.0f} in '{columns.target}' on {when:%Y-%m-%d}, while 99% of its other values are at "
            f"most {usual:,.0f}{more}. A one-off like this (a bulk order, a typing error, an order later "
            "cancelled) pulls every forecast of that series up: correct or remove that row if it will not repeat."
        )


def _regular_dates(
    frame: pd.DataFrame, columns: ForecastColumns, frequency: Frequency | None, notes: list[str]
) -> tuple[pd.DataFrame, pd.Series, pd.Series, Frequency]:
    """Sorted rows, which hold a quantity, which series have none, and the frequency (checked against `frequency`)."""
    frame = frame.sort_values(["_key", "_date"], kind="stable").reset_index(drop=True)
    observed = frame["_y"].notna()
    if not observed.any():
        raise DataError(
            f"The quantity column '{columns.target}' is empty in every row. Pick the column with the quantities sold."
        )
    last_obs = frame["_date"].where(observed).groupby(frame["_key"]).transform("max")
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
        seen = (
            detect_frequency(frame.loc[observed, "_key"], frame.loc[observed, "_date"], columns.date)
            if counts.max() > 1
            else freq
        )
        if seen.kind != freq.kind:
            raise DataError(
                f"This file holds {seen.name} data but the model was trained on {freq.name} data. "
                f"Upload {freq.name} history with the same columns."
            )
    if freq.kind == "M" and freq.code == "MS":
        off = frame["_date"].dt.day != 1
        if off.any():
            frame["_date"] = frame["_date"].dt.to_period("M").dt.to_timestamp()
            notes.append(f"Monthly dates were moved to the first of their month ({int(off.sum()):,} rows).")
            if frame.duplicated(["_key", "_date"]).any():
                raise DataError(
                    f"Some series have two rows in the same month in '{columns.date}'. Keep one row per "
                    "month (or tick 'Add up rows with the same date and series')."
                )

    return frame, observed, no_history, freq


def _lengths(
    frame: pd.DataFrame,
    observed: pd.Series,
    no_history: pd.Series,
    freq: Frequency,
    config: ForecastConfig,
    min_length: str,
    notes: list[str],
) -> tuple[pd.DataFrame, pd.Series, dict, int, dict[str, str]]:
    """How much history each series has, the look-back the network uses, and the series too short to keep."""
    H, k = config.horizon, config.backtest_windows
    # lengths: how much history each series has, and what the model needs
    frame = frame[~no_history]
    starts = frame[observed[~no_history]].groupby("_key", sort=False)["_date"].min()
    ends = frame[observed[~no_history]].groupby("_key", sort=False)["_date"].max()
    lengths = dict(
        zip(
            starts.index,
            (
                freq.steps_between(
                    pd.DatetimeIndex(starts.to_numpy()), pd.DatetimeIndex(ends.reindex(starts.index).to_numpy())
                )
                + 1
            ).tolist(),
        )
    )
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
            notes.append(
                f"The history is short, so the network looks back {freq.units(L)} instead of {freq.units(freq.lags)}."
            )
    need = L + H * (k + 1) if min_length == "train" else L
    skipped = {
        key: (
            f"only {freq.units(n)} of history; it needs at least {freq.units(need)} "
            f"(look-back {L} + horizon {H}" + (f" × ({k} backtest windows + 1))" if min_length == "train" else ")")
        )
        for key, n in lengths.items()
        if n < need
    }
    if len(skipped) == len(lengths):
        if min_length == "train":
            raise DataError(
                f"No series is long enough to train and test: each needs at least {freq.units(need)} of history "
                f"(look-back {L} + horizon {H} × ({k} backtest windows + 1)); the longest has {freq.units(n_max)}. "
                "Shorten the horizon, use fewer backtest windows, or bring more history."
            )
        raise DataError(
            f"No series has the {freq.units(need)} of history the model needs to look back on. Bring more history."
        )
    if skipped:
        notes.append(f"Skipped {len(skipped):,} series that are too short (listed under 'Skipped series').")

    return frame, starts, lengths, L, skipped


def _history(
    g: pd.DataFrame, pos: np.ndarray, hist: np.ndarray, n: int, missing_as_zero: bool
) -> tuple[np.ndarray, np.ndarray, int, int, bool]:
    """One series' quantities on its regular calendar: (y, known, rows without a quantity, dates filled, whether
    more than half its dates were missing)."""
    y = np.full(n, np.nan)
    present = np.zeros(n, bool)
    y[pos[hist]] = g["_y"].to_numpy()[hist]
    present[pos[hist]] = True
    n_unknown = int((present & np.isnan(y)).sum())
    filled = ~present
    if missing_as_zero:
        y[filled] = 0.0
    return y, ~np.isnan(y), n_unknown, int(filled.sum()), bool(filled.sum() > present.sum())


def _driver_frame(
    g: pd.DataFrame,
    drivers: list[str],
    numeric: dict[str, bool],
    pos: np.ndarray,
    hist: np.ndarray,
    fut: np.ndarray,
    n: int,
    H: int,
    m: int,
) -> tuple[pd.DataFrame, int, int]:
    """One series' drivers over its history and horizon, gaps in the history filled, horizon values not given
    repeated from one season earlier: (drivers, future rows found, horizon values assumed)."""
    vals = g[drivers].to_numpy(dtype=object)
    arr = np.full((n + H, len(drivers)), np.nan, dtype=object)
    arr[pos[hist]] = vals[hist]
    arr[pos[fut]] = vals[fut]
    n_assumed = 0
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
    return pd.DataFrame(columns_out), int(fut.sum()), n_assumed


def _series_notes(
    notes: list[str],
    columns: ForecastColumns,
    freq: Frequency,
    drivers: list[str],
    n_filled: int,
    sparse: list[str],
    n_unknown: int,
    n_future: int,
    n_assumed: int,
) -> None:
    """Sentences on the dates filled, sparse series, rows without a quantity and driver values assumed."""
    m = freq.season
    if n_filled:
        how = (
            "counted as zero sales"
            if columns.missing_dates_as_zero
            else "treated as unknown (not used to train or to score)"
        )
        notes.append(f"Filled {n_filled:,} dates missing from the series ({how}).")
    if sparse:
        notes.append(
            f"More than half of the {freq.unit}s are missing in {len(sparse):,} series (such as '{sparse[0]}'). "
            f"Fine if nothing sold on those {freq.unit}s; if some rows are weekly or monthly totals, the file mixes "
            "frequencies: put one frequency per file."
        )
    if n_unknown:
        notes.append(
            f"{n_unknown:,} rows have no quantity; they were treated as unknown (not used to train or to score)."
        )
    if drivers and n_assumed:
        given = f"{n_future:,} future rows with driver values were found. " if n_future else ""
        notes.append(
            f"{given}For {n_assumed:,} future {freq.unit}(s) without driver values, each driver was assumed to repeat "
            f"its value from one season earlier ({freq.units(m)}). Add future rows (date, series and drivers, "
            "quantity empty) to set them yourself."
        )


def _series(
    frame: pd.DataFrame,
    columns: ForecastColumns,
    drivers: list[str],
    freq: Frequency,
    H: int,
    starts: pd.Series,
    lengths: dict,
    skipped: dict[str, str],
    notes: list[str],
) -> list[SeriesData]:
    """Each kept series on a regular calendar: gaps filled and reported, drivers carried over the horizon."""
    series: list[SeriesData] = []
    numeric = {c: pd.api.types.is_numeric_dtype(frame[c]) for c in drivers}
    sparse: list[str] = []  # series missing more than half their dates
    n_filled = n_unknown = n_future = n_assumed = 0
    for key, g in frame.groupby("_key", sort=True):
        if key in skipped or key not in lengths:
            continue
        start, n = starts[key], lengths[key]
        pos = freq.positions(pd.DatetimeIndex(g["_date"]), start)
        hist = pos < n
        fut = (pos >= n) & (pos < n + H)
        y, known, unknown, filled, is_sparse = _history(g, pos, hist, n, columns.missing_dates_as_zero)
        n_unknown += unknown
        n_filled += filled
        if is_sparse:
            sparse.append(str(key))
        drv = pd.DataFrame(index=range(n + H))
        open_ = None
        if drivers:
            drv, future, assumed = _driver_frame(g, drivers, numeric, pos, hist, fut, n, H, freq.season)
            n_future += future
            n_assumed += assumed
            if columns.open_flag:
                open_ = np.nan_to_num(drv[columns.open_flag].to_numpy(dtype=float), nan=1.0) > 0.5
                drv[columns.open_flag] = open_.astype(float)
        series.append(SeriesData(str(key), start, y, known, drv, open_))
    _series_notes(notes, columns, freq, drivers, n_filled, sparse, n_unknown, n_future, n_assumed)
    return series
