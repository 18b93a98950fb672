"""Reading the analyst's table for fraud detection: which columns play which role, and the checks that turn a
table into training rows (`prepare`), each problem a `DataError` sentence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from engine import roles
from engine.data import MAX_ROWS, DataError, check_finite
from engine.fraud.spec import MAX_LABEL_VALUES_SHOWN, MIN_FRAUDS, MIN_ROWS, FraudColumns, FraudConfig

_FRAUD_WORDS = ("1", "fraud", "fraudulent", "yes", "y", "true", "t", "positive", "bad", "chargeback", "suspicious")

label_values = roles.label_values
OUTCOME_WORDS = ("class", "is_fraud", "isfraud", "fraud", "label", "target", "fraud_flag", "is_fraudulent", "y")
TIME_WORDS = ("time", "timestamp", "datetime", "date", "trans_date_trans_time", "transaction_time", "unix_time", "step")


def guess_fraud_value(values: Sequence[str], counts: pd.Series | None = None) -> str | None:
    """'1', 'fraud', 'yes', … if present, else the rarer of two values."""
    return roles.positive_value(values, counts if counts is not None and len(counts) == 2 else None, _FRAUD_WORDS)


def default_columns(df: pd.DataFrame) -> FraudColumns:
    """Sensible defaults (engine.roles): a label named like one (`Class`, `FraudFound_P`), an amount and a time
    column by name; identifiers (`PolicyNumber`) and dates are never features."""
    label = roles.outcome(df, OUTCOME_WORDS, max_values=20, fallback=False).column
    taken = [label] if label is not None else []
    amount = roles.by_name(df, ("amount", "amt"), exclude=taken, what="amount").column
    time = roles.by_name(df, TIME_WORDS, exclude=taken, what="time").column
    return FraudColumns(
        label=label,
        features=roles.features(df, exclude=[*taken, *([time] if time is not None else [])]),
        amount=amount,
        time=time,
    )


@dataclass
class Prepared:
    df: pd.DataFrame  # the feature columns of the rows kept
    features: list[str]
    y: np.ndarray | None  # 1 = fraud, 0 = genuine; None without a label
    fraud_value: str | None
    genuine_value: str | None
    amount: np.ndarray | None
    time: np.ndarray | None  # sortable numbers (seconds or ns since epoch)
    rows: np.ndarray  # positions in the analyst's table
    notes: list[str]


def _amounts(df: pd.DataFrame, col: str, notes: list[str]) -> np.ndarray:
    s = df[col]
    x = pd.to_numeric(s, errors="coerce") if not pd.api.types.is_bool_dtype(s) else s.astype(float)
    bad = x.isna() & s.notna()
    if pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s):
        bad = bad | (s.astype("string").str.strip() == "")
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"The amount column '{col}' should hold numbers but has text such as '{s.iloc[first]}' "
            f"(data row {first + 1:,}; {int(bad.sum()):,} cell(s) in all). Write amounts as plain numbers without "
            "currency signs or thousands separators (1809.50, not '€1,809.50'), or pick no amount column."
        )
    x = x.to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(x).any():
        raise DataError(f"The amount column '{col}' has infinite values. Replace them with the real amounts.")
    neg = np.flatnonzero(x < 0)
    if len(neg):
        raise DataError(
            f"The amount column '{col}' has {len(neg):,} negative value(s) (the first, {x[neg[0]]:,.2f}, in data row "
            f"{neg[0] + 1:,}). Amounts must be zero or more: remove refunds and reversals from the file, or pick no "
            "amount column."
        )
    missing = np.isnan(x)
    if missing.all():
        raise DataError(f"The amount column '{col}' is empty in every row. Pick another amount column, or none.")
    if missing.any():
        med = float(np.nanmedian(x))
        notes.append(
            f"{int(missing.sum()):,} row(s) have no amount in '{col}'; their amount was taken as the median "
            f"({med:,.2f}) when costing a missed fraud."
        )
        x = np.where(missing, med, x)
    return x


def _times(df: pd.DataFrame, col: str) -> np.ndarray:
    s = df[col]
    if pd.api.types.is_bool_dtype(s):
        raise DataError(f"The time column '{col}' holds yes/no values, not times. Pick a date/time column, or none.")
    if pd.api.types.is_numeric_dtype(s):
        x = s.to_numpy(dtype=float, na_value=np.nan)
        if np.isinf(x).any():
            raise DataError(f"The time column '{col}' has infinite values. Replace them with real times.")
        return x
    if pd.api.types.is_datetime64_any_dtype(s):
        t = pd.to_datetime(s)
    else:
        text = s.astype("string").str.strip()
        t = pd.to_datetime(text, errors="coerce", format="mixed")
        bad = t.isna() & text.notna() & (text != "")
        if bad.any():
            first = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"The time column '{col}' has {int(bad.sum()):,} value(s) that are not dates or times, such as "
                f"'{s.iloc[first]}' (data row {first + 1:,}). Write every time in one format such as "
                "2024-03-31 14:05, or pick no time column (the split is then random)."
            )
    if getattr(t.dt, "tz", None) is not None:
        t = t.dt.tz_convert("UTC").dt.tz_localize(None)
    ns = t.astype("datetime64[ns]").to_numpy().astype("int64").astype(float)
    ns[t.isna().to_numpy()] = np.nan
    return ns


def _features(df: pd.DataFrame, columns: FraudColumns, notes: list[str]) -> list[str]:
    """The feature columns (the label and the time left out); DataError when a picked column is not in the table or
    one column is picked for two roles."""
    for role, col in (("label", columns.label), ("amount", columns.amount), ("time", columns.time)):
        if col is not None and col not in df.columns:
            raise DataError(f"The {role} column '{col}' is not in your file. Pick one of its columns, or none.")
    if columns.amount is not None and columns.amount == columns.label:
        raise DataError("The same column is picked as the fraud label and the amount. Pick a different amount column.")
    if columns.time is not None and columns.time in (columns.label, columns.amount):
        raise DataError(
            f"'{columns.time}' is picked as the time column and for another role. Pick a different time column."
        )
    features = [f for f in dict.fromkeys(columns.features) if f not in (columns.label, columns.time)]
    if columns.time is not None and columns.time in columns.features:
        notes.append(
            f"'{columns.time}' orders the split (train on earlier, test on later transactions); "
            "it is not used as a feature."
        )
    absent = [f for f in features if f not in df.columns]
    if absent:
        raise DataError(
            f"Feature column(s) {', '.join(map(repr, absent))} are not in your file. Pick features from its columns."
        )
    if not features:
        hint = (
            " Only one column was found: if your file uses another separator (such as spaces), save it as "
            "comma-separated."
            if df.shape[1] == 1
            else ""
        )
        raise DataError("Pick at least one feature column (besides the label and the time)." + hint)
    return features


def _usable_rows(
    df: pd.DataFrame, columns: FraudColumns, config: FraudConfig, notes: list[str]
) -> tuple[np.ndarray, pd.Series | None, np.ndarray | None]:
    """The rows with a label and a time (when those are mapped), a seeded sample of MAX_ROWS of them when there are
    more; with the label text and the times of every row of the table."""
    keep = np.ones(len(df), dtype=bool)
    labels = None
    if columns.label is not None:
        labels = roles.label_text(df[columns.label])
        n_missing = int(labels.isna().sum())
        if n_missing == len(df):
            raise DataError(
                f"The label column '{columns.label}' is empty in every row. Fill it in (fraud or genuine), "
                "or pick no label to look for unusual transactions instead."
            )
        if n_missing:
            notes.append(f"Dropped {n_missing:,} row(s) whose label '{columns.label}' is empty.")
        keep &= labels.notna().to_numpy()
    times = None
    if columns.time is not None:
        times = _times(df, columns.time)
        no_time = np.isnan(times) & keep
        if no_time.all():
            raise DataError(f"The time column '{columns.time}' is empty. Pick another time column, or none.")
        if no_time.any():
            notes.append(f"Dropped {int(no_time.sum()):,} row(s) with no time in '{columns.time}'.")
        keep &= ~np.isnan(times)
    rows = np.flatnonzero(keep)
    if len(rows) > MAX_ROWS:
        rng = np.random.default_rng(config.seed)
        rows = np.sort(rng.choice(rows, size=MAX_ROWS, replace=False))
        notes.append(
            f"Your table has {int(keep.sum()):,} usable rows, more than the {MAX_ROWS:,} this page trains on: "
            f"it used a random sample of {MAX_ROWS:,} rows (the fraud rate stays as in your file)."
        )
    if len(rows) < MIN_ROWS:
        raise DataError(
            f"Only {len(rows):,} usable row(s); at least {MIN_ROWS} transactions are needed to train a "
            "model and still keep some aside to test it honestly. Add more rows."
        )
    return rows, labels, times


def _fraud_labels(lab: pd.Series, columns: FraudColumns) -> tuple[np.ndarray, str, str]:
    """1 for fraud, 0 for genuine, from the label text of the rows used; with the values meaning fraud and genuine.
    DataError unless the label has exactly two values and enough rows of each."""
    counts = lab.value_counts()
    values = sorted(counts.index.astype(str), key=lambda c: (len(c), c))
    name = columns.label
    if len(values) > 2:
        shown = ", ".join(f"'{v}'" for v in values[:MAX_LABEL_VALUES_SHOWN]) + (
            "…" if len(values) > MAX_LABEL_VALUES_SHOWN else ""
        )
        raise DataError(
            f"The label column '{name}' has {len(values):,} different values ({shown}); it must have exactly two: "
            "fraud and genuine (such as 1/0 or yes/no). Merge the values into two, pick another label column, "
            "or pick no label to look for unusual transactions."
        )
    fraud = columns.fraud_value if columns.fraud_value is not None else guess_fraud_value(values, counts)
    if len(values) == 1:  # decided by the value's meaning: a page preselects the only value whatever it is
        only = values[0]
        if guess_fraud_value(values) == only:
            raise DataError(
                f"Every row of '{name}' is marked as fraud ('{only}'), so there are no genuine transactions to "
                "learn the difference from. Add genuine transactions to the file."
            )
        raise DataError(
            f"No row of '{name}' is marked as fraud: every row has the value '{only}'. A model cannot learn fraud "
            "without examples of it. Check that the fraud rows are in the file, or pick no label to look for "
            "unusual transactions instead."
        )
    if fraud is None or str(fraud) not in values:
        raise DataError(
            f"'{fraud}' is not a value of '{name}'. Pick which value means fraud: "
            f"{' or '.join(repr(v) for v in values)}."
        )
    fraud = str(fraud)
    genuine = next(v for v in values if v != fraud)
    y = (lab == fraud).to_numpy().astype(np.int64)
    n_fraud, n_genuine = int(y.sum()), int(len(y) - y.sum())
    if n_fraud < MIN_FRAUDS:
        raise DataError(
            f"Only {n_fraud} row(s) of '{name}' are fraud ('{fraud}'); at least {MIN_FRAUDS} are needed to learn "
            "from some and test on others. Add more known frauds, or pick no label to look for unusual "
            "transactions."
        )
    if n_genuine < MIN_FRAUDS:
        raise DataError(
            f"Only {n_genuine} row(s) of '{name}' are genuine ('{genuine}') and the rest are fraud; at least "
            f"{MIN_FRAUDS} genuine transactions are needed. Add genuine transactions, or check which value means fraud."
        )
    return y, fraud, genuine


def prepare(df: pd.DataFrame, columns: FraudColumns, config: FraudConfig | None = None) -> Prepared:
    """Check the table against the chosen columns; DataError with a sentence if it cannot work."""
    config = config or FraudConfig()
    notes: list[str] = []
    features = _features(df, columns, notes)
    rows, labels, times = _usable_rows(df, columns, config, notes)
    y = fraud = genuine = None
    if labels is not None:
        y, fraud, genuine = _fraud_labels(labels.iloc[rows], columns)
    sub = df.iloc[rows]
    check_finite(sub, features)
    amount = _amounts(sub, columns.amount, notes) if columns.amount is not None else None
    return Prepared(
        df=sub[features].reset_index(drop=True),
        features=features,
        y=y,
        fraud_value=fraud,
        genuine_value=genuine,
        amount=amount,
        time=times[rows] if times is not None else None,
        rows=rows,
        notes=notes,
    )
