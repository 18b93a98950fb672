"""From the analyst's file to one row per customer: transactions → RFM+ features, or a customer table
checked as it is. Every problem the analyst must fix is a DataError with a sentence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from engine.data import DataError, check_finite, column_kind, id_strings, parse_date_text
from engine.segmentation.spec import (
    BASKET,
    FREQUENCY,
    MONETARY,
    RECENCY,
    RETURNS,
    RFM_FEATURES,
    TENURE,
    TRANSACTIONS,
    SegmentationColumns,
    SegmentationConfig,
)


@dataclass
class Prepared:
    """One row per customer (raw, analyst-readable values), plus what was done to get there."""

    features: pd.DataFrame  # index: customer id (text)
    notes: list[str]
    revenue: pd.Series | None  # net spend per customer (transactions only)
    reference_date: str = ""  # ISO date (transactions only)
    n_rows: dict[str, int] = field(default_factory=dict)


def _numbers(s: pd.Series, col: str, role: str) -> pd.Series:
    """A money or quantity column as floats. Numbers written as text (currency signs, thousands separators,
    decimal commas) were already read by the reader (engine.data.load_table); text left here is an error."""
    if pd.api.types.is_bool_dtype(s):
        raise DataError(f"The {role} column '{col}' holds yes/no values, not numbers. Pick the column with the {role}.")
    if pd.api.types.is_numeric_dtype(s):
        x = s.astype(float)
    else:
        text = s.astype("string").str.strip()
        x = pd.to_numeric(text, errors="coerce")
        bad = x.isna() & text.notna() & (text != "")
        if bad.any():
            raise DataError(
                f"The {role} column '{col}' should hold numbers, but {int(bad.sum()):,} cell(s) hold text such as "
                f"'{text[bad].iloc[0]}'. Fix those cells (use a dot for decimals and no thousands separators), "
                f"or pick another column as the {role}."
            )
        x = x.astype(float)
    check_finite(pd.DataFrame({col: x}), [col])
    return x


def _parse_dates(s: pd.Series, col: str, notes: list[str]) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s
    elif pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        raise DataError(
            f"The date column '{col}' holds numbers (such as {s.dropna().iloc[0] if s.notna().any() else 'none'}), "
            "not dates. Pick the column with the invoice date, or export dates as text like 2011-12-09 14:30."
        )
    else:
        out, found = parse_date_text(s, col)
        notes += found
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert(None)
    return out


def _columns_present(df: pd.DataFrame, roles: dict[str, str | None], required: Sequence[str]) -> None:
    for role in required:
        if not roles.get(role):
            what = {"price": "unit price (or line amount)", "customer": "customer id", "date": "invoice date"}[role]
            raise DataError(f"Pick the {what} column in step 2: segmenting transactions needs it.")
    absent = [f"{role} '{col}'" for role, col in roles.items() if col and col not in df.columns]
    if absent:
        raise DataError(
            f"Your file has no column for the {', '.join(absent)}. Its columns are: "
            f"{', '.join(map(str, list(df.columns)[:12]))}{'…' if df.shape[1] > 12 else ''}. "
            "Pick the right columns in step 2, or choose 'A customer' there if your file is a customer table."
        )
    chosen = [c for c in roles.values() if c]
    dup = {c for c in chosen if chosen.count(c) > 1}
    if dup:
        roles_of = [r for r, c in roles.items() if c in dup]
        raise DataError(
            f"The column '{dup.pop()}' is picked for more than one role ({', '.join(roles_of)}). "
            "Give each role its own column."
        )


def _day(ts: pd.Series | pd.Timestamp):
    return ts.dt.normalize() if isinstance(ts, pd.Series) else ts.normalize()


def transactions_to_customers(df: pd.DataFrame, columns: SegmentationColumns, reference_date: str = "") -> Prepared:
    """Invoice lines → one row per customer with RFM+ features. DataError for anything the analyst must fix."""
    roles = columns.transaction_roles
    _columns_present(df, roles, ("customer", "date", "price"))
    notes: list[str] = []
    n_in = len(df)
    frame, cancel_flag = _invoice_lines(df, columns, notes)
    frame, cancel_flag, last_day = _purchase_lines(frame, cancel_flag, columns, notes)
    is_return = (frame["quantity"].to_numpy() < 0) | cancel_flag
    n_ret = int(is_return.sum())
    if n_ret:
        notes.append(
            f"Counted {n_ret:,} cancellation or return rows (negative quantity"
            + (" or an invoice starting with 'C'" if columns.invoice else "")
            + ") as returns: they lower net spend and raise the return rate, but are not orders."
        )
    buys, rets = frame[~is_return], frame[is_return]
    if buys.empty:
        raise DataError(
            "After removing returns and rows without a price, no purchases are left. "
            "Export purchases as well as returns."
        )
    ref = _reference_day(reference_date, buys, last_day)
    feats, negative = _rfm_features(buys, rets, ref)
    only_returns = sorted(set(frame["customer"]) - set(feats.index))
    if only_returns:
        notes.append(
            f"Left out {len(only_returns):,} customers who only returned or cancelled items in this period "
            "(nothing bought, so no recency or spend)."
        )
    if negative:
        notes.append(
            f"{negative:,} customers returned more than they bought in this period (returns of earlier "
            "purchases); their net spend counts as 0 and their return rate as 1."
        )
    notes.append(
        f"Recency and tenure count back from {ref.date()}"
        + (" (the day after the last invoice)." if not reference_date else " (the reference date you chose).")
    )
    _enough_customers(len(feats), "customer with purchases" if len(feats) == 1 else "customers with purchases")
    return Prepared(
        feats,
        notes,
        feats[MONETARY].copy(),
        str(ref.date()),
        {"rows": n_in, "rows used": int(len(frame)), "customers": int(len(feats))},
    )


def _invoice_lines(df: pd.DataFrame, columns: SegmentationColumns, notes: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """The lines of known customers as customer, date, quantity, amount, invoice (the day when there is no invoice
    column), and which lines are cancellations (an invoice starting with 'C')."""
    n_in = len(df)
    # named: transactions_to_customers checked the customer, date and price roles first (_columns_present)
    assert columns.date is not None and columns.price is not None
    ids = id_strings(df[columns.customer])
    no_id = ids.isna()
    if no_id.all():
        raise DataError(
            f"The customer column '{columns.customer}' is empty in every row, so no purchase can be tied to a "
            "customer. Pick the column that holds customer numbers."
        )
    if no_id.any():
        notes.append(
            f"Dropped {int(no_id.sum()):,} of {n_in:,} rows ({100 * no_id.mean():.1f}%) without a customer id "
            f"in '{columns.customer}' (guest or unknown buyers): they cannot be tied to a customer."
        )
    keep = ~no_id.to_numpy()
    frame = pd.DataFrame({"customer": ids[keep].to_numpy()})
    dates = _parse_dates(df[columns.date][keep].reset_index(drop=True), columns.date, notes)
    raw_dates = df[columns.date][keep].reset_index(drop=True)
    unparsed = dates.isna() & raw_dates.notna()
    if unparsed.mean() > 0.05:
        example = raw_dates[unparsed].iloc[0]
        raise DataError(
            f"{int(unparsed.sum()):,} of {len(dates):,} values in the date column '{columns.date}' could not be read as "
            f"dates, such as '{example}'. Use one format for every row, like 2011-12-09 or 2011-12-09 14:30, "
            "or pick the column that holds the invoice date."
        )
    if unparsed.any():
        notes.append(
            f"Dropped {int(unparsed.sum()):,} rows whose date in '{columns.date}' could not be read "
            f"(such as '{raw_dates[unparsed].iloc[0]}')."
        )
    frame["date"] = dates.to_numpy()
    price = _numbers(
        df[columns.price][keep].reset_index(drop=True), columns.price, "unit price" if columns.quantity else "amount"
    )
    if columns.quantity:
        qty = _numbers(df[columns.quantity][keep].reset_index(drop=True), columns.quantity, "quantity")
        frame["quantity"] = qty.to_numpy()
        frame["amount"] = (qty * price).to_numpy()
    else:
        frame["quantity"] = np.sign(price.to_numpy())
        frame["amount"] = price.to_numpy()
    if columns.invoice:
        inv = df[columns.invoice][keep].reset_index(drop=True).astype("string").str.strip()
        frame["invoice"] = inv.to_numpy()
        cancel_flag = inv.str.upper().str.startswith("C").fillna(False).to_numpy(bool)
    else:
        frame["invoice"] = pd.Series(dates.dt.strftime("%Y-%m-%d")).to_numpy()
        cancel_flag = np.zeros(len(frame), bool)
        notes.append("No invoice column was picked: each day a customer bought something counts as one order.")
    return frame, cancel_flag


def _purchase_lines(
    frame: pd.DataFrame, cancel_flag: np.ndarray, columns: SegmentationColumns, notes: list[str]
) -> tuple[pd.DataFrame, np.ndarray, pd.Timestamp]:
    """The lines left after dropping those without a date or amount and those with no price (free items,
    write-offs), with their cancellation flags, and the export's last invoice day."""
    missing = frame["date"].isna() | frame["amount"].isna()
    n_missing_values = int((frame["amount"].isna() & frame["date"].notna()).sum())
    if n_missing_values:
        notes.append(f"Dropped {n_missing_values:,} rows with an empty quantity or price.")
    frame, cancel_flag = frame[~missing.to_numpy()], cancel_flag[~missing.to_numpy()]
    last_day = _day(frame["date"].max())  # the export's last invoice day (any line of a known customer)
    if columns.quantity:
        unit = (frame["amount"] / frame["quantity"].where(frame["quantity"] != 0)).to_numpy()
        bad_price = ~(unit > 0)  # zero or negative unit price (free items, write-offs, adjustments) or qty 0
    else:
        bad_price = (frame["amount"] == 0).to_numpy()
    qty = frame["quantity"].to_numpy()
    if not (qty > 0).any():
        what = f"quantity column '{columns.quantity}'" if columns.quantity else f"amount column '{columns.price}'"
        raise DataError(
            f"Every value in the {what} is zero or negative, so the file holds no purchases to segment (negative "
            "values are returns and cancellations). Check that you picked the right column, and export purchases as "
            "well as returns."
        )
    if bad_price.any():
        what = "a zero or negative unit price or a zero quantity" if columns.quantity else "a zero amount"
        notes.append(
            f"Dropped {int(bad_price.sum()):,} rows with {what} (free items, write-offs, accounting "
            "adjustments): they say nothing about what a customer spends."
        )
    return frame[~bad_price], cancel_flag[~bad_price], last_day


def _reference_day(reference_date: str, buys: pd.DataFrame, last_day: pd.Timestamp) -> pd.Timestamp:
    """The day recency and tenure count back from: the analyst's date (after the last purchase), else the day after
    the last invoice."""
    if reference_date:
        try:
            ref = pd.Timestamp(reference_date).normalize()
        except (ValueError, TypeError):
            raise DataError(f"The reference date '{reference_date}' is not a date. Write it as YYYY-MM-DD.") from None
        if ref <= _day(buys["date"].max()):
            raise DataError(
                f"The reference date {ref.date()} is not after the last purchase "
                f"({_day(buys['date'].max()).date()}). Pick a later date, or leave it empty."
            )
    else:
        ref = last_day + pd.Timedelta(days=1)
    return ref


def _rfm_features(buys: pd.DataFrame, rets: pd.DataFrame, ref: pd.Timestamp) -> tuple[pd.DataFrame, int]:
    """The RFM+ features per customer who bought something, and how many returned more than they bought."""
    g = buys.groupby("customer", sort=True)
    gross = g["amount"].sum()
    feats = pd.DataFrame(
        {
            RECENCY: (ref - _day(g["date"].max())).dt.days.astype(float),
            FREQUENCY: g["invoice"].nunique().astype(float),
            TENURE: (ref - _day(g["date"].min())).dt.days.astype(float),
        }
    )
    returned = (-rets["amount"]).abs().groupby(rets["customer"]).sum().reindex(feats.index, fill_value=0.0)
    net = gross - returned
    negative = int((net < 0).sum())
    feats[MONETARY] = net.clip(lower=0.0)
    feats[BASKET] = gross / feats[FREQUENCY]
    feats[RETURNS] = (returned / gross).clip(upper=1.0)
    feats = feats[list(RFM_FEATURES)]
    feats.index = feats.index.astype(str)
    feats.index.name = "customer"
    return feats, negative


def _enough_customers(n: int, what: str) -> None:
    if n < 2:
        count = "no" if n == 0 else "only one"
        raise DataError(
            f"The file has {count} {what}. Segments group many customers: upload a file with at least a "
            "few dozen customers."
        )


def _check_spread(feats: pd.DataFrame, k: int) -> None:
    """Columns that cannot separate anyone, and fewer different customers than segments asked for."""
    if feats.shape[1] == 0:
        raise DataError(
            "There is no column to segment customers by: the file holds only the customer column. "
            "Upload a table with columns such as age, income or spend (or the transactions themselves)."
        )
    kinds = {c: column_kind(feats[c]) for c in feats.columns}
    if all(v in ("constant", "empty") for v in kinds.values()):
        raise DataError(
            f"Every customer has the same value in {', '.join(map(repr, list(kinds)[:6]))}, so there is nothing to tell "
            "them apart. Pick columns whose values differ between customers."
        )
    if k:
        distinct = len(feats.drop_duplicates())
        if distinct < k:
            raise DataError(
                f"You asked for {k} segments, but only {distinct:,} customers have different values in the "
                "chosen columns. Ask for fewer segments, or add columns that tell customers apart."
            )


def customer_table(df: pd.DataFrame, columns: SegmentationColumns) -> Prepared:
    """A ready customer table: check the chosen feature columns; index by the customer column if given."""
    notes: list[str] = []
    features = [f for f in columns.features if f != columns.customer]
    absent = [f for f in features + ([columns.customer] if columns.customer else []) if f not in df.columns]
    if absent:
        raise DataError(f"Column(s) {', '.join(map(repr, absent))} are not in your file. Pick columns from its header.")
    if not features:
        others = [c for c in df.columns if c != columns.customer]
        _check_spread(df[others], 0)
        if others and not any(column_kind(df[c]) in ("numeric", "categorical") for c in others):
            raise DataError(
                "K-means groups customers by distances between numbers, but none of the columns of your file "
                f"({', '.join(map(repr, others[:6]))}) holds usable numbers or categories — they hold free text, dates "
                "or one value only. Add columns such as age, income or spend, or upload raw transactions instead."
            )
        hint = (
            " Only one column was found: if your file uses another separator (such as spaces), save it as "
            "comma-separated."
            if df.shape[1] == 1
            else ""
        )
        raise DataError("Pick at least one column to segment customers by (such as age, income or spend)." + hint)
    kinds = {f: column_kind(df[f]) for f in features}
    _check_spread(df[features], 0)
    numeric = {f for f, k in kinds.items() if k == "numeric" or (k == "id" and pd.api.types.is_numeric_dtype(df[f]))}
    if not numeric:
        if not any(k == "categorical" for k in kinds.values()):
            raise DataError(
                "K-means groups customers by distances between numbers, but none of the chosen columns "
                f"({', '.join(map(repr, features[:6]))}) holds usable numbers — they hold text, dates or one value only. "
                "Pick at least one numeric column such as age, income or spend; categories can be added beside it."
            )
        notes.append("Only category columns were chosen: customers are grouped by which categories they share.")
    for f, kind in kinds.items():
        if f in numeric:
            continue
        if kind == "datetime":
            raise DataError(
                f"Column '{f}' holds dates, which k-means cannot measure distances on. Remove it from the "
                "columns to segment by, or replace it with a number such as days since the last order."
            )
        if kind in ("text", "id"):
            raise DataError(
                f"Column '{f}' holds free text ({df[f].nunique():,} different values in {len(df):,} rows), "
                "which k-means cannot measure distances on. Remove it from the columns to segment by, or "
                "turn it into a few categories first."
            )
    check_finite(df, features)
    feats = df[features].copy()
    if columns.customer:
        ids = id_strings(df[columns.customer])
        if ids.isna().any():
            ids = ids.fillna(pd.Series([f"row {i + 1}" for i in range(len(df))], index=ids.index, dtype="string"))
            notes.append(f"Some rows have no value in '{columns.customer}'; they are named by their row number.")
        dup = ids[ids.duplicated()]
        if len(dup):
            first = dup.iloc[0]
            raise DataError(
                f"Customer '{first}' appears in {int((ids == first).sum())} rows of '{columns.customer}', but a customer "
                "table has one row per customer. If each row is a purchase, choose 'A transaction line' in step 2."
            )
        feats.index = pd.Index(ids.astype(str).to_numpy(), name="customer")
    else:
        feats.index = pd.Index([f"row {i + 1}" for i in range(len(df))], name="customer")
    _enough_customers(len(feats), "customer row" if len(feats) == 1 else "customer rows")
    return Prepared(feats, notes, None, "", {"rows": len(df), "rows used": len(df), "customers": len(feats)})


def prepare(
    df: pd.DataFrame, columns: SegmentationColumns, config: SegmentationConfig = SegmentationConfig()
) -> Prepared:
    """The customer features the segments are built on, with notes. Raises DataError with a sentence."""
    if columns.shape == TRANSACTIONS:
        prep = transactions_to_customers(df, columns, config.reference_date)
    else:
        prep = customer_table(df, columns)
    if config.k and config.k > len(prep.features):
        raise DataError(
            f"You asked for {config.k} segments but the file has only {len(prep.features):,} customers. "
            "Ask for fewer segments, or upload more customers."
        )
    _check_spread(prep.features, config.k)
    return prep
