"""Reading the long table: column roles, the date column, the quantity column, series keys and the frequency."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from engine import roles
from engine.data import DataError, id_strings, parse_date_text
from engine.dictionary import short_text

SEP = " / "
MISSING_ID = "(missing)"
DRIVER_WORDS = ("promo", "holiday", "open", "closed", "event", "discount", "campaign", "advert")
TARGET_WORDS = ("units", "quantity", "qty", "sales", "demand", "volume", "sold", "orders", "passengers", "amount")
SERIES_WORDS = ("store", "item", "product", "sku", "stock_code", "series", "shop", "location", "article", "code", "id")


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

    @property
    def days(self) -> float:
        """The length of one step in days (a month: its average, 365.25 / 12)."""
        return {"D": 1.0, "W": 7.0}.get(self.kind, 365.25 / 12)

    def reread(self, n: int, source: Frequency) -> int:
        """`n` steps of `source` in this frequency's steps (14 days are 2 weeks), rounded, never below 0."""
        return max(0, int(round(n * source.days / self.days)))


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
        raise DataError(
            f"Every series has a single date in '{date_col}', so no frequency can be seen. Bring more history."
        )
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
    parts = [series_strings(df[c]) for c in series]
    key = parts[0]
    for p in parts[1:]:
        key = key + SEP + p
    return key


def series_descriptions(df: pd.DataFrame, series: Iterable[str], exclude: Iterable[str] = ()) -> dict[str, str]:
    """Series id → its name, when the file has a text column that is constant within every series (Online Retail's
    Description beside StockCode). Empty when there is none; columns named like 'description' or 'name' win."""
    series = list(series)
    if not series or df.empty:
        return {}
    key = series_key(df, series)
    skip = set(series) | set(exclude)
    candidates = [
        c
        for c in df.columns
        if c not in skip
        and not pd.api.types.is_numeric_dtype(df[c])
        and not pd.api.types.is_datetime64_any_dtype(df[c])
        and not pd.api.types.is_bool_dtype(df[c])
    ]
    candidates.sort(key=lambda c: not any(w in str(c).lower() for w in ("desc", "name", "title", "label")))
    n_series = key.nunique()
    for col in candidates:
        text = df[col].astype("string").str.strip().replace("", pd.NA)
        if text.notna().mean() < 0.5:
            continue
        grouped = text.groupby(key, sort=False)
        if (grouped.nunique(dropna=True) <= 1).mean() < 0.95 or text.nunique(dropna=True) < max(2, 0.5 * n_series):
            continue  # not one name per series, or the same few words for all (a category, not a name)
        first = grouped.first().dropna()
        names = {str(k): short_text(v) for k, v in first.items() if str(v) != str(k)}
        if names:
            return names
    return {}


def series_strings(s: pd.Series) -> pd.Series:
    text = id_strings(s)
    return text.mask(text.isna(), MISSING_ID).astype(object)


def parse_dates(s: pd.Series, col: str, notes: list[str] | None = None) -> pd.Series:
    """The date column as timestamps (midnight); DataError naming unreadable values."""
    if pd.api.types.is_datetime64_any_dtype(s):
        parsed = s
    else:  # text, or numbers written as 20240331: the one date reader of engine.data
        text = id_strings(s)
        numbers = pd.api.types.is_numeric_dtype(s)
        parsed, found = parse_date_text(text.where(text.str.fullmatch(r"\d{8}")) if numbers else text, col)
        if numbers and parsed[s.notna()].isna().all():
            raise DataError(
                f"The date column '{col}' holds plain numbers (such as {text.iloc[0]}), not dates. "
                "Pick the column with dates like 2024-03-31, or write the dates in that form."
            )
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


def target_values(s: pd.Series, col: str) -> pd.Series:
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


def frequency_of(df: pd.DataFrame, columns: ForecastColumns) -> Frequency:
    """The data's frequency from the date and series columns alone (cheap; for the page's horizon default)."""
    check_roles(df, ForecastColumns(columns.date, columns.target, columns.series))
    observed = target_values(df[columns.target], columns.target).notna().to_numpy()
    key = series_key(df, columns.series)[observed]
    dates = parse_dates(df[columns.date], columns.date)[observed]
    if not len(dates):
        raise DataError(
            f"The quantity column '{columns.target}' is empty in every row. Pick the column with the quantities sold."
        )
    return detect_frequency(key, dates, columns.date)


def check_roles(df: pd.DataFrame, columns: ForecastColumns) -> None:
    named = (
        [("date", columns.date), ("quantity", columns.target)]
        + [("series", c) for c in columns.series]
        + [("driver", c) for c in columns.all_drivers]
    )
    if len(df.columns) < 2:
        raise DataError(
            f"The file has only one column ('{df.columns[0]}'). A forecast needs a date column and a "
            "quantity column (one row per date and series): upload the sales history with both."
        )
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
                raise DataError(
                    f"'{c}' is already the {'date' if c == columns.date else 'quantity'} column; "
                    f"it cannot also be a {role} column."
                )
    both = set(columns.series) & set(columns.all_drivers)
    if both:
        raise DataError(
            f"'{sorted(both)[0]}' is picked both as a series id and as a driver. Pick it for one role only."
        )


def stock_from_column(df: pd.DataFrame, columns: ForecastColumns, stock_column: str) -> pd.Series:
    """Current stock per series: the last non-empty value of `stock_column` by date."""
    if stock_column not in df.columns:
        raise DataError(f"The stock column '{stock_column}' is not in your file.")
    values = pd.to_numeric(df[stock_column], errors="coerce")
    if values.notna().sum() == 0:
        raise DataError(
            f"The stock column '{stock_column}' holds no numbers. Pick a column with stock on hand, or type the stock in."
        )
    frame = pd.DataFrame(
        {
            "series": series_key(df, columns.series).to_numpy(),
            "date": parse_dates(df[columns.date], columns.date).to_numpy(),
            "stock": values.to_numpy(),
        }
    )
    frame = frame.dropna(subset=["stock"]).sort_values("date")
    return frame.groupby("series")["stock"].last()


# ----------------------------------------------------------------------------- default roles


def guess_columns(df: pd.DataFrame) -> tuple[ForecastColumns, dict[str, str]]:
    """The roles a page preselects and why each was chosen, in words (engine.roles): a date column, a quantity
    column, the fewest id columns that make (date, series) unique, and drivers known in advance by name."""
    names = list(df.columns)
    date = roles.date_column(df)
    if date.column is None:  # dates still written as text the reader did not convert
        date = roles.by_name(
            df,
            ("date", "day", "week", "month", "period", "time"),
            what="date",
            kinds=("datetime", "text", "categorical", "id"),
        )
    if date.column is None:
        date = roles.Guess(names[0], "the first column (no column holds dates)")
    assert date.column is not None  # the first column at the latest
    numeric = [c for c in names if c != date.column and pd.api.types.is_numeric_dtype(df[c])]
    target = roles.by_name(df[numeric], TARGET_WORDS, what="quantity") if numeric else roles.Guess(None, "")
    if target.column is None:
        busy = next((c for c in numeric if df[c].nunique() > 10), None)
        target = (
            roles.Guess(busy, "the first number column with many values")
            if busy
            else roles.Guess(numeric[0] if numeric else names[-1], "no column is named like a quantity")
        )
    assert target.column is not None  # a number column, or the last column at the latest
    rest = [c for c in names if c not in (date.column, target.column)]
    named = {
        c: next((w for w in SERIES_WORDS if w in roles.words(c) or "_".join(roles.words(c)) == w), None) for c in rest
    }
    ranked = sorted(
        [c for c in rest if named[c] or not pd.api.types.is_numeric_dtype(df[c])],
        key=lambda c: (named[c] is None, names.index(c)),
    )
    ranked = [c for c in ranked if 1 < df[c].nunique(dropna=False) <= max(len(df) // 2, 1)]
    series: list[str] = []
    try:  # the same day may be written in several ways: compare the dates, not their text
        dates = parse_dates(df[date.column], date.column).astype(str)
    except DataError:
        dates = df[date.column].astype(str)
    if dates.duplicated().any():
        for c in ranked:
            series.append(c)
            if not pd.concat([dates, *(df[s].astype(str) for s in series)], axis=1).duplicated().any():
                break
        else:
            series = series[:1]
    drivers = [
        c
        for c in rest
        if c not in series
        and any(w in roles.words(c) or w in str(c).lower() for w in DRIVER_WORDS)
        and df[c].nunique(dropna=True) <= 50
    ]
    open_flag = next(
        (
            c
            for c in drivers
            if "open" in str(c).lower() and set(pd.to_numeric(df[c], errors="coerce").dropna().unique()) <= {0, 1}
        ),
        None,
    )
    why = {
        "date": date.why,
        "quantity": target.why,
        "series": "every date appears once per combination of them"
        if series
        else "every date appears once: one series",
        "drivers": "named like promotions, holidays or opening days"
        if drivers
        else "no column is named like a known driver",
    }
    columns = ForecastColumns(
        date=date.column, target=target.column, series=tuple(series), drivers=tuple(drivers), open_flag=open_flag
    )
    return columns, why


def default_columns(df: pd.DataFrame) -> ForecastColumns:
    """Sensible roles for the page to preselect (`guess_columns` also says why each was chosen)."""
    return guess_columns(df)[0]
