"""Retail segmentation: customers grouped by k-means, written in torch, beside scikit-learn's KMeans.

Two input shapes. *Transactions* (invoice lines: customer, date, quantity, unit price, optional
invoice number) are turned into one row per customer: recency, frequency, monetary value,
tenure, average basket and return rate (RFM+). A *customer table* (one row per customer) is
used as it is. Skewed non-negative columns go on a log scale, then everything is scaled by
`engine.tabular.Preprocessor`.

K-means: k-means++ (greedy, like scikit-learn) initialisation, several restarts run together
in one batched computation, distances in row chunks so memory stays bounded, on
`engine.device.get_device()`. The number of segments is suggested by the silhouette score on a
sample (≤ 10,000 customers) over k = 2..10; the elbow (inertia) curve is kept beside it.

Why this segment: the *soft assignment* — softmax over negative squared distances to the segment
centres — is explained with SHAP through `engine.explain.deep_explain`. Because ‖x‖² is the same
for every segment it cancels in the softmax, so the soft assignment's logits are exactly linear
in the scaled features: an `nn.Linear` whose most likely segment *is* the k-means segment (100%
agreement by construction, checked in `fit`) and whose SHAP values are exact and additive.

Verbs shared by every scenario: `fit(df, columns, config, progress, cancel)` → `SegmentationModel`
with `metrics`, `baseline_metrics`, `history` (the k scan), `predict`, `explain`, `to_bytes`/`save`;
`load(path_or_bytes)` reads it back (tensors and JSON only).
"""
from __future__ import annotations

import math
import re
import time
import warnings
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from engine import artifacts
from engine.options import option as _opt
from engine.data import DataError, check_finite, column_kind, id_strings, parse_date_text
from engine.device import get_device
from engine.explain import Explanation, deep_explain
from engine.tabular import Preprocessor
from engine.models import rng_locked
from engine.training import Cancelled, History

KIND = "segmentation"
MODEL = "Torch k-means"
BASELINE = "scikit-learn KMeans"
TRANSACTIONS, CUSTOMERS = "transactions", "customers"
K_LIMIT = 10
RECENCY, FREQUENCY, MONETARY = "Recency (days)", "Frequency (orders)", "Monetary (net spend)"
TENURE, BASKET, RETURNS = "Tenure (days)", "Average basket", "Return rate"
RFM_FEATURES = (RECENCY, FREQUENCY, MONETARY, TENURE, BASKET, RETURNS)
FEATURE_HELP = {
    RECENCY: "Days from the customer's last purchase to the reference date (fewer = more recent).",
    FREQUENCY: "Number of separate orders (invoices) with a purchase.",
    MONETARY: "What the customer bought minus what they returned, in the file's currency (never below 0).",
    TENURE: "Days from the customer's first purchase to the reference date.",
    BASKET: "Average value of one order (purchases only).",
    RETURNS: "Share of the purchased value that was returned or cancelled (0 to 1).",
}


# ============================================================================= columns and options


@dataclass(frozen=True)
class SegmentationColumns:
    """Which column plays which role. `shape` says whether a row is a transaction line or a customer."""

    shape: str = TRANSACTIONS
    customer: str | None = None  # transactions: required; customer table: optional row label
    invoice: str | None = None  # optional: without it, each purchase day counts as one order
    date: str | None = None
    quantity: str | None = None  # optional: without it, `price` is read as the line amount
    price: str | None = None
    features: tuple[str, ...] = ()  # customer table only

    def __post_init__(self):
        if self.shape not in (TRANSACTIONS, CUSTOMERS):
            raise ValueError(f"shape must be {TRANSACTIONS!r} or {CUSTOMERS!r}")

    @property
    def transaction_roles(self) -> dict[str, str | None]:
        return {"customer": self.customer, "invoice": self.invoice, "date": self.date,
                "quantity": self.quantity, "price": self.price}




@dataclass(frozen=True)
class SegmentationConfig:
    """Analyst-facing options; defaults work on the sample data."""

    k: int = _opt(0, "Number of segments. 0 lets the data suggest it (highest silhouette score).", min=0, max=K_LIMIT)
    k_min: int = _opt(2, "Fewest segments tried when suggesting a number.", min=2, max=K_LIMIT)
    k_max: int = _opt(10, "Most segments tried when suggesting a number.", min=2, max=K_LIMIT)
    restarts: int = _opt(10, "K-means runs from different starting points; the tightest result is kept.", min=1, max=50)
    scan_restarts: int = _opt(4, "Restarts for each number of segments tried while suggesting k.", min=1, max=20)
    max_iter: int = _opt(300, "Most refinement rounds per k-means run.", min=5, max=2000)
    tol: float = _opt(1e-4, "A run stops when the segment centres move less than this (relative to the data's spread).")
    log_scale: bool = _opt(True, "Put skewed amounts and counts (such as spend) on a log scale so a few very large "
                                 "customers do not get segments of their own.")
    reference_date: str = _opt("", "Date that recency and tenure count back from (YYYY-MM-DD). Empty: the day after the "
                                   "last invoice in the file.")
    sample_size: int = _opt(10_000, "Customers sampled to score each number of segments (silhouette).", min=200, max=50_000)
    seed: int = _opt(0, "Random seed: the same seed, data and settings give the same segments.")

    def __post_init__(self):
        if not (2 <= self.k_min <= self.k_max <= K_LIMIT) or not (self.k == 0 or 2 <= self.k <= 50):
            raise ValueError("need 2 <= k_min <= k_max <= 10 and k == 0 or 2 <= k <= 50")
        if self.restarts < 1 or self.scan_restarts < 1 or self.max_iter < 1 or self.tol < 0:
            raise ValueError("restarts, scan_restarts and max_iter must be >= 1 and tol >= 0")

    @classmethod
    def help(cls) -> dict[str, dict]:
        return {f.name: dict(f.metadata) for f in fields(cls)}


_ROLE_WORDS = {
    "customer": ("customerid", "customer_id", "customer", "client", "clientid", "client_id", "account", "member",
                 "user_id", "userid", "cust_id", "custid", "buyer"),
    "invoice": ("invoiceno", "invoice_no", "invoice", "invoice_id", "order_id", "orderid", "order", "receipt",
                "transaction_id", "basket", "ticket"),
    "date": ("invoicedate", "invoice_date", "date", "order_date", "orderdate", "timestamp", "datetime", "time",
             "purchase_date", "transaction_date"),
    "quantity": ("quantity", "qty", "units", "quantity_sold", "count", "amount_units"),
    "price": ("unitprice", "unit_price", "price", "price_each", "unit_cost"),
    "amount": ("amount", "line_total", "total", "sales", "revenue", "value", "spend", "net_amount"),
}


def _norm(name: object) -> str:
    return re.sub(r"[\s\-().]+", "_", str(name).strip().lower()).strip("_")


def _find(names: Sequence[str], role: str, taken: set) -> str | None:
    normed = {n: _norm(n) for n in names if n not in taken}
    for word in _ROLE_WORDS[role]:  # exact first, then contains
        for n, v in normed.items():
            if v == word or v.replace("_", "") == word.replace("_", ""):
                return n
    for word in _ROLE_WORDS[role]:
        if len(word) >= 4:
            for n, v in normed.items():
                if word in v.replace("_", ""):
                    return n
    return None


def default_columns(df: pd.DataFrame) -> SegmentationColumns:
    """Guess the shape (transactions if it has customer, date and money columns) and each column's role."""
    tx, cust = guess_columns(df)
    is_transactions = bool(tx.customer and tx.date and tx.price)
    if is_transactions and df[tx.customer].nunique(dropna=True) >= 0.9 * len(df):
        is_transactions = False  # one row per customer: it is a customer table after all
    return tx if is_transactions else cust


def guess_columns(df: pd.DataFrame) -> tuple[SegmentationColumns, SegmentationColumns]:
    """The best guess of every role for each shape: (as transactions, as a customer table)."""
    names = [str(c) for c in df.columns]
    taken: set = set()
    found = {}
    for role in ("customer", "invoice", "date", "quantity", "price"):
        found[role] = _find(names, role, taken)
        if found[role]:
            taken.add(found[role])
    if found["price"] is None:
        found["price"] = _find(names, "amount", taken)
        if found["price"]:
            taken.add(found["price"])
            found["quantity"] = None
    if found["date"] is None:
        for c in names:
            if c not in taken and column_kind(df[c]) == "datetime":
                found["date"] = c
                break
    customer = found["customer"]
    if customer is None:
        for c in names:
            if column_kind(df[c]) == "id":
                customer = c
                break
    features = tuple(c for c in names if c != customer and column_kind(df[c]) == "numeric")
    return SegmentationColumns(TRANSACTIONS, **found), SegmentationColumns(CUSTOMERS, customer=customer, features=features)


# ============================================================================= transactions → customers


@dataclass
class Prepared:
    """One row per customer (raw, analyst-readable values), plus what was done to get there."""

    features: pd.DataFrame  # index: customer id (text)
    notes: list[str]
    revenue: pd.Series | None  # net spend per customer (transactions only)
    reference_date: str = ""  # ISO date (transactions only)
    n_rows: dict[str, int] = field(default_factory=dict)


_CURRENCY = re.compile(r"[£$€¥\s\u00a0]")


def _numbers(s: pd.Series, col: str, role: str, notes: list[str]) -> pd.Series:
    if pd.api.types.is_bool_dtype(s):
        raise DataError(f"The {role} column '{col}' holds yes/no values, not numbers. Pick the column with the {role}.")
    if pd.api.types.is_numeric_dtype(s):
        x = s.astype(float)
    else:
        text = s.astype("string").str.strip()
        x = pd.to_numeric(text, errors="coerce")
        bad = x.isna() & text.notna() & (text != "")
        if bad.any():
            stripped = text.str.replace(_CURRENCY, "", regex=True)
            x2 = pd.to_numeric(stripped, errors="coerce")
            if not (x2.isna() & bad).any():
                notes.append(f"Removed currency symbols and spaces from '{col}' to read it as numbers.")
                x = x2
            else:
                bad = x2.isna() & text.notna() & (text != "")
                example = text[bad].iloc[0]
                raise DataError(
                    f"The {role} column '{col}' should hold numbers, but {int(bad.sum()):,} cell(s) hold text such as "
                    f"'{example}'. Fix those cells (use a dot for decimals and no thousands separators), "
                    f"or pick another column as the {role}."
                )
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
        raise DataError(f"The column '{dup.pop()}' is picked for more than one role ({', '.join(roles_of)}). "
                        "Give each role its own column.")


def _day(ts: pd.Series | pd.Timestamp):
    return ts.dt.normalize() if isinstance(ts, pd.Series) else ts.normalize()


def transactions_to_customers(df: pd.DataFrame, columns: SegmentationColumns, reference_date: str = "") -> Prepared:
    """Invoice lines → one row per customer with RFM+ features. DataError for anything the analyst must fix."""
    roles = columns.transaction_roles
    _columns_present(df, roles, ("customer", "date", "price"))
    notes: list[str] = []
    n_in = len(df)
    ids = id_strings(df[columns.customer])
    no_id = ids.isna()
    if no_id.all():
        raise DataError(f"The customer column '{columns.customer}' is empty in every row, so no purchase can be tied to a "
                        "customer. Pick the column that holds customer numbers.")
    if no_id.any():
        notes.append(f"Dropped {int(no_id.sum()):,} of {n_in:,} rows ({100 * no_id.mean():.1f}%) without a customer id "
                     f"in '{columns.customer}' (guest or unknown buyers): they cannot be tied to a customer.")
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
        notes.append(f"Dropped {int(unparsed.sum()):,} rows whose date in '{columns.date}' could not be read "
                     f"(such as '{raw_dates[unparsed].iloc[0]}').")
    frame["date"] = dates.to_numpy()
    price = _numbers(df[columns.price][keep].reset_index(drop=True), columns.price,
                     "unit price" if columns.quantity else "amount", notes)
    if columns.quantity:
        qty = _numbers(df[columns.quantity][keep].reset_index(drop=True), columns.quantity, "quantity", notes)
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
        notes.append(f"Dropped {int(bad_price.sum()):,} rows with {what} (free items, write-offs, accounting "
                     "adjustments): they say nothing about what a customer spends.")
    frame, cancel_flag = frame[~bad_price], cancel_flag[~bad_price]
    is_return = (frame["quantity"].to_numpy() < 0) | cancel_flag
    n_ret = int(is_return.sum())
    if n_ret:
        notes.append(f"Counted {n_ret:,} cancellation or return rows (negative quantity"
                     + (f" or an invoice starting with 'C'" if columns.invoice else "")
                     + ") as returns: they lower net spend and raise the return rate, but are not orders.")
    buys, rets = frame[~is_return], frame[is_return]
    if buys.empty:
        raise DataError("After removing returns and rows without a price, no purchases are left. "
                        "Export purchases as well as returns.")
    if reference_date:
        try:
            ref = pd.Timestamp(reference_date).normalize()
        except (ValueError, TypeError):
            raise DataError(f"The reference date '{reference_date}' is not a date. Write it as YYYY-MM-DD.") from None
        if ref <= _day(buys["date"].max()):
            raise DataError(f"The reference date {ref.date()} is not after the last purchase "
                            f"({_day(buys['date'].max()).date()}). Pick a later date, or leave it empty.")
    else:
        ref = last_day + pd.Timedelta(days=1)
    g = buys.groupby("customer", sort=True)
    gross = g["amount"].sum()
    feats = pd.DataFrame({
        RECENCY: (ref - _day(g["date"].max())).dt.days.astype(float),
        FREQUENCY: g["invoice"].nunique().astype(float),
        TENURE: (ref - _day(g["date"].min())).dt.days.astype(float),
    })
    returned = (-rets["amount"]).abs().groupby(rets["customer"]).sum().reindex(feats.index, fill_value=0.0)
    net = gross - returned
    negative = int((net < 0).sum())
    feats[MONETARY] = net.clip(lower=0.0)
    feats[BASKET] = gross / feats[FREQUENCY]
    feats[RETURNS] = (returned / gross).clip(upper=1.0)
    feats = feats[list(RFM_FEATURES)]
    feats.index = feats.index.astype(str)
    feats.index.name = "customer"
    only_returns = sorted(set(frame["customer"]) - set(feats.index))
    if only_returns:
        notes.append(f"Left out {len(only_returns):,} customers who only returned or cancelled items in this period "
                     "(nothing bought, so no recency or spend).")
    if negative:
        notes.append(f"{negative:,} customers returned more than they bought in this period (returns of earlier "
                     "purchases); their net spend counts as 0 and their return rate as 1.")
    notes.append(f"Recency and tenure count back from {ref.date()}"
                 + (" (the day after the last invoice)." if not reference_date else " (the reference date you chose)."))
    _enough_customers(len(feats), "customer with purchases" if len(feats) == 1 else "customers with purchases")
    return Prepared(feats, notes, feats[MONETARY].copy(), str(ref.date()),
                    {"rows": n_in, "rows used": int(len(frame)), "customers": int(len(feats))})


def _enough_customers(n: int, what: str) -> None:
    if n < 2:
        count = "no" if n == 0 else "only one"
        raise DataError(f"The file has {count} {what}. Segments group many customers: upload a file with at least a "
                        "few dozen customers.")


def _check_spread(feats: pd.DataFrame, k: int) -> None:
    """Columns that cannot separate anyone, and fewer different customers than segments asked for."""
    if feats.shape[1] == 0:
        raise DataError("There is no column to segment customers by: the file holds only the customer column. "
                        "Upload a table with columns such as age, income or spend (or the transactions themselves).")
    kinds = {c: column_kind(feats[c]) for c in feats.columns}
    if all(v in ("constant", "empty") for v in kinds.values()):
        raise DataError(
            f"Every customer has the same value in {', '.join(map(repr, list(kinds)[:6]))}, so there is nothing to tell "
            "them apart. Pick columns whose values differ between customers."
        )
    if k:
        distinct = len(feats.drop_duplicates())
        if distinct < k:
            raise DataError(f"You asked for {k} segments, but only {distinct:,} customers have different values in the "
                            "chosen columns. Ask for fewer segments, or add columns that tell customers apart.")


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
        hint = (" Only one column was found: if your file uses another separator (such as spaces), save it as "
                "comma-separated." if df.shape[1] == 1 else "")
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
            raise DataError(f"Column '{f}' holds dates, which k-means cannot measure distances on. Remove it from the "
                            "columns to segment by, or replace it with a number such as days since the last order.")
        if kind in ("text", "id"):
            raise DataError(f"Column '{f}' holds free text ({df[f].nunique():,} different values in {len(df):,} rows), "
                            "which k-means cannot measure distances on. Remove it from the columns to segment by, or "
                            "turn it into a few categories first.")
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


def prepare(df: pd.DataFrame, columns: SegmentationColumns, config: SegmentationConfig = SegmentationConfig()) -> Prepared:
    """The customer features the segments are built on, with notes. Raises DataError with a sentence."""
    if columns.shape == TRANSACTIONS:
        prep = transactions_to_customers(df, columns, config.reference_date)
    else:
        prep = customer_table(df, columns)
    if config.k and config.k > len(prep.features):
        raise DataError(f"You asked for {config.k} segments but the file has only {len(prep.features):,} customers. "
                        "Ask for fewer segments, or upload more customers.")
    _check_spread(prep.features, config.k)
    return prep


# ============================================================================= k-means in torch


@dataclass
class KMeansResult:
    centers: torch.Tensor  # (k, d)
    labels: torch.Tensor  # (n,) int64
    inertia: float  # sum of squared distances to the assigned centre
    n_iter: int
    restart_inertias: list[float]


def _chunk(n_cols: int, device: torch.device) -> int:
    budget = 2**27 if device.type == "cuda" else 2**18  # elements of one distance block (CPU: stay in cache)
    return max(256, budget // max(n_cols, 1))


def _check_cancel(cancel) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled()


def _sq_dist(xb: torch.Tensor, xb_sq: torch.Tensor, c: torch.Tensor, c_sq: torch.Tensor) -> torch.Tensor:
    """Squared distances between row chunk xb (b, d) and centres c (m, d), clamped at 0: (b, m)."""
    return torch.addmm(c_sq[None, :], xb, c.T, alpha=-2.0).add_(xb_sq[:, None]).clamp_min_(0.0)


def _aug(centers: torch.Tensor) -> torch.Tensor:
    """(d + 1, m) weights so that [x, 1] @ w = ‖c‖² − 2x·c for every centre c (squared distance minus ‖x‖²)."""
    return torch.cat([-2.0 * centers.T, (centers * centers).sum(1)[None, :]], dim=0).contiguous()


def _init_pp(X1: torch.Tensor, x_sq: torch.Tensor, k: int, r: int, gen: torch.Generator, trials: int) -> torch.Tensor:
    """Greedy k-means++ (as scikit-learn) for r restarts at once: (r, k, d) starting centres.

    X1 is the data with a column of ones appended (see `_aug`).
    """
    n, d = X1.shape[0], X1.shape[1] - 1
    dev = X1.device
    rows = torch.arange(r, device=dev)
    centers = torch.empty(r, k, d, device=dev, dtype=X1.dtype)
    centers[:, 0] = X1[torch.randint(n, (r,), generator=gen, device=dev), :d]
    closest = _nearest(X1, x_sq, centers[:, :1])  # (n, r) squared distance to the nearest chosen centre
    step = _chunk(r * trials, dev)
    for c in range(1, k):
        cum = torch.cumsum(closest.T.double(), dim=1)  # (r, n)
        u = torch.rand(r, trials, generator=gen, device=dev, dtype=torch.float64) * cum[:, -1:]
        cand = torch.searchsorted(cum, u).clamp_(max=n - 1)  # D²-weighted candidates, (r, trials)
        cand_x = X1[cand.reshape(-1), :d]
        w = _aug(cand_x)
        shifted = closest - x_sq[:, None]  # compare without ‖x‖², which every candidate shares
        pot = torch.zeros(r, trials, device=dev, dtype=torch.float64)
        for s in range(0, n, step):
            d2 = (X1[s:s + step] @ w).view(-1, r, trials)
            pot += torch.minimum(d2, shifted[s:s + step, :, None]).sum(0).double()
        centers[:, c] = cand_x.view(r, trials, d)[rows, pot.argmin(1)]
        closest = torch.minimum(closest, _nearest(X1, x_sq, centers[:, c:c + 1]))
    return centers


def _nearest(X1: torch.Tensor, x_sq: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """(n, r) squared distance of each row to its nearest centre, per restart; centers (r, m, d)."""
    r, m, d = centers.shape
    w = _aug(centers.reshape(r * m, d))
    step = _chunk(r * m, X1.device)
    out = []
    for s in range(0, len(X1), step):
        out.append((X1[s:s + step] @ w).view(-1, r, m).amin(2).add_(x_sq[s:s + step, None]).clamp_min_(0.0))
    return torch.cat(out)


def _lloyd_pass(X1: torch.Tensor, x_sq_total: float, centers: torch.Tensor):
    """One assignment pass for r restarts: per-centre sums and counts, and the inertia of each restart.

    X1 is the data with a column of ones appended, so one matmul gives ‖c‖² − 2x·c (‖x‖² does not change
    the nearest centre and is added back as a total) and another gives the sums and counts together.
    """
    r, k, d = centers.shape
    w = _aug(centers.reshape(r * k, d))  # (d + 1, r * k)
    acc = torch.zeros(r * k, d + 1, device=X1.device, dtype=X1.dtype)  # sums | counts
    inertia = torch.zeros(r, device=X1.device, dtype=torch.float64)
    step = _chunk(r * k, X1.device)
    for s in range(0, len(X1), step):
        xb = X1[s:s + step]
        dist = (xb @ w).view(-1, r, k)
        mind = dist.amin(2, keepdim=True)
        onehot = (dist == mind).view(len(xb), r * k).to(X1.dtype)
        part = onehot.T @ xb
        if bool((part[:, d].view(r, k).sum(1) != len(xb)).any()):  # a row equally near two centres: keep the first
            onehot = torch.zeros_like(onehot).scatter_(
                1, dist.argmin(2) + torch.arange(r, device=X1.device)[None, :] * k, 1.0)
            part = onehot.T @ xb
        acc += part
        inertia += mind[:, :, 0].sum(0, dtype=torch.float64)
    acc = acc.view(r, k, d + 1)
    return acc[..., :d], acc[..., d], (inertia + x_sq_total).clamp_min(0.0)


def _labels(X: torch.Tensor, x_sq: torch.Tensor, centers: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest centre (k, d) of every row and its squared distance."""
    c_sq = (centers * centers).sum(1)
    step = _chunk(len(centers), X.device)
    labs, dists = [], []
    for s in range(0, len(X), step):
        mind, lab = _sq_dist(X[s:s + step], x_sq[s:s + step], centers, c_sq).min(1)
        labs.append(lab)
        dists.append(mind)
    return torch.cat(labs), torch.cat(dists)


def kmeans(
    X: np.ndarray | torch.Tensor,
    k: int,
    restarts: int = 10,
    max_iter: int = 300,
    tol: float = 1e-4,
    seed: int = 0,
    device: torch.device | None = None,
    cancel=None,
) -> KMeansResult:
    """Lloyd's k-means with greedy k-means++ starts; all restarts advance together; returns the best.

    `tol` follows scikit-learn: a run has converged when the squared movement of its centres is at
    most `tol` times the mean variance of the features.
    """
    device = device or get_device()
    X = torch.as_tensor(np.asarray(X, dtype=np.float32) if not isinstance(X, torch.Tensor) else X)
    X = X.to(device=device, dtype=torch.float32).contiguous()
    n, d = X.shape
    if not 1 <= k <= n:
        raise ValueError(f"k={k} must lie between 1 and the number of rows ({n})")
    gen = torch.Generator(device=device).manual_seed(int(seed))
    x_sq = (X * X).sum(1)
    tol_abs = float(tol * X.var(dim=0, unbiased=False).mean()) if n > 1 else 0.0
    trials = 2 + int(math.log(k))
    X1 = torch.cat([X, torch.ones(n, 1, device=device, dtype=X.dtype)], dim=1)
    centers = _init_pp(X1, x_sq, k, restarts, gen, trials)
    x_sq_total = float(x_sq.sum(dtype=torch.float64))
    active = torch.ones(restarts, dtype=torch.bool, device=device)
    inertias = torch.zeros(restarts, dtype=torch.float64, device=device)
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        _check_cancel(cancel)
        idx = torch.nonzero(active).flatten()  # only runs that have not converged yet
        old = centers[idx]
        sums, counts, inertias[idx] = _lloyd_pass(X1, x_sq_total, old)
        new = sums / counts.clamp_min(1.0)[..., None]
        empty = counts == 0
        if bool(empty.any()):
            new = _fill_empty(X, x_sq, new, empty)
        centers[idx] = new
        active[idx] = ((new - old) ** 2).sum((1, 2)) > tol_abs
        if not bool(active.any()):
            break
    best = int(inertias.argmin())  # inertia of each run's last pass (its centres moved by at most tol since)
    labels, mind = _labels(X, x_sq, centers[best])
    return KMeansResult(centers[best].clone(), labels, float(mind.sum(dtype=torch.float64)), n_iter,
                        [float(v) for v in inertias.cpu()])


def _fill_empty(X: torch.Tensor, x_sq: torch.Tensor, centers: torch.Tensor, empty: torch.Tensor) -> torch.Tensor:
    """Move empty centres onto the rows farthest from their own centre (as scikit-learn does)."""
    centers = centers.clone()
    for r in torch.nonzero(empty.any(1)).flatten().tolist():
        holes = torch.nonzero(empty[r]).flatten()
        _, dist = _labels(X, x_sq, centers[r])
        far = torch.topk(dist, min(len(holes), len(X))).indices
        centers[r, holes[: len(far)]] = X[far]
    return centers


def silhouette_scores(X: np.ndarray | torch.Tensor, labelings: Sequence[np.ndarray | torch.Tensor],
                      device: torch.device | None = None) -> list[float]:
    """Mean silhouette of several labelings of the same rows, from one pass over the pairwise distances.

    Matches sklearn.metrics.silhouette_score (Euclidean; a singleton cluster's rows score 0).
    """
    device = device or get_device()
    X = torch.as_tensor(np.asarray(X, dtype=np.float32) if not isinstance(X, torch.Tensor) else X).to(device, torch.float32)
    m = len(X)
    blocks, sizes = [], []
    for lab in labelings:
        lab = torch.as_tensor(np.asarray(lab) if not isinstance(lab, torch.Tensor) else lab).to(device).long()
        kk = int(lab.max()) + 1
        blocks.append(torch.nn.functional.one_hot(lab, kk).float())
        sizes.append(kk)
    onehot = torch.cat(blocks, dim=1)  # (m, sum k)
    counts = onehot.sum(0)
    totals = [torch.zeros((), dtype=torch.float64, device=device) for _ in labelings]
    step = max(64, _chunk(m, device) // 2)
    x_sq = (X * X).sum(1)
    for s in range(0, m, step):
        dist = _sq_dist(X[s:s + step], x_sq[s:s + step], X, x_sq).sqrt_()
        sums = dist @ onehot  # (b, sum k): summed distance to each cluster
        start = 0
        for j, kk in enumerate(sizes):
            block = sums[:, start:start + kk]
            own = onehot[s:s + step, start:start + kk].bool()
            cnt = counts[start:start + kk]
            own_cnt = cnt.expand_as(block)[own]
            a = block[own] / (own_cnt - 1).clamp_min(1.0)
            mean_other = (block / cnt.clamp_min(1.0)).masked_fill(own | (cnt == 0), float("inf"))
            b = mean_other.min(1).values
            sil = (b - a) / torch.maximum(a, b).clamp_min(1e-12)
            sil = torch.where(own_cnt > 1, sil, torch.zeros_like(sil))
            totals[j] += sil.sum(dtype=torch.float64)
            start += kk
    return [float(t) / m for t in totals]


def elbow_index(inertias: Sequence[float]) -> int:
    """Position of the elbow: the point farthest below the straight line from the first to the last value."""
    y = np.asarray(inertias, dtype=float)
    if len(y) < 3:
        return 0
    x = np.linspace(0, 1, len(y))
    yn = (y - y.min()) / max(y.max() - y.min(), 1e-12)
    line = yn[0] + (yn[-1] - yn[0]) * x
    return int(np.argmax(line - yn))


# ============================================================================= segment names


RFM_ACTIONS = {
    "Champions": "Reward them: early access to new products, loyalty perks, ask for reviews. They need no discounts.",
    "Loyal customers": "Upsell higher-value products and invite them into a loyalty programme.",
    "Potential loyalists": "Offer membership or a loyalty programme and recommend products that go with past orders.",
    "New customers": "Welcome them well: onboarding emails and a reason to place a second order soon.",
    "Promising": "Build the habit: free-delivery thresholds and recommendations based on what they bought.",
    "Need attention": "Time-limited offers based on past purchases, before they drift away.",
    "About to sleep": "Remind them with popular products and a small discount to revive interest.",
    "At risk": "Win them back with personal emails, renewals and helpful reminders; find out why they stopped.",
    "Can't lose them": "Big spenders who have gone quiet: reach out personally, with your best offer, now.",
    "Hibernating": "Low-cost reactivation only (newsletter, seasonal offer); do not overspend on them.",
    "Lost": "Leave them out of paid campaigns; try one last win-back offer, then stop.",
    "Frequent returners": "Find out why they send goods back (sizing, quality, descriptions) before spending on offers.",
}


def _mid_rank(values: pd.Series, x: float) -> float:
    v = values.to_numpy(float)
    return float(((v < x).sum() + 0.5 * (v == x).sum()) / max(len(v), 1))


def rfm_name(r: float, f: float, m: float, t: float) -> str:
    """A classic RFM segment name from percentile scores (0–1; r high = bought recently, t = tenure)."""
    fm = (f + m) / 2
    if r >= 0.6:
        if fm >= 0.65:
            return "Champions"
        if fm >= 0.4:
            return "Potential loyalists"
        return "New customers" if t < 0.4 else "Promising"
    if r >= 0.35:
        if fm >= 0.65:
            return "Loyal customers"
        if fm >= 0.4:
            return "Need attention"
        return "New customers" if t < 0.3 else "About to sleep"
    if fm >= 0.8:
        return "Can't lose them"
    if fm >= 0.55:
        return "At risk"
    return "Lost" if r < 0.15 and fm < 0.35 else "Hibernating"


def _dedupe(names: list[str], order_key: Sequence[float]) -> list[str]:
    out = list(names)
    for name in set(names):
        idx = [i for i, n in enumerate(names) if n == name]
        if len(idx) > 1:
            idx.sort(key=lambda i: -order_key[i])
            for rank, i in enumerate(idx):
                out[i] = f"{name} ({'ABCDEFGHIJ'[rank]})"
    return out


def name_segments(features: pd.DataFrame, labels: np.ndarray, k: int, shape: str,
                  centers: np.ndarray, pre: Preprocessor) -> tuple[list[str], list[str]]:
    """Plain-language names and a suggested action per segment."""
    if shape == TRANSACTIONS and {RECENCY, FREQUENCY, MONETARY} <= set(features.columns):
        names, spend = [], []
        for j in range(k):
            seg = features[labels == j]
            r = 1 - _mid_rank(features[RECENCY], float(seg[RECENCY].median()))
            f = _mid_rank(features[FREQUENCY], float(seg[FREQUENCY].median()))
            m = _mid_rank(features[MONETARY], float(seg[MONETARY].median()))
            t = _mid_rank(features[TENURE], float(seg[TENURE].median())) if TENURE in seg else 0.5
            returns = float(seg[RETURNS].median()) if RETURNS in seg else 0.0
            names.append("Frequent returners" if returns >= 0.2 else rfm_name(r, f, m, t))
            spend.append(float(seg[MONETARY].median()))
        actions = [RFM_ACTIONS[n] for n in names]
        return _dedupe(names, spend), actions
    names, actions, sizes = [], [], []
    groups = pre.groups
    encoded = pre.encoded_names
    for j in range(k):
        scores: list[tuple[float, str]] = []
        for plan in pre.plans_:
            idx = groups[plan.name]
            if plan.kind == "numeric":
                z = float(centers[j, idx[0]])
                if abs(z) >= 0.35:
                    scores.append((abs(z), f"{'High' if z > 0 else 'Low'} {_short(plan.name)}"))
            else:
                seg = labels == j
                for col_i in idx:
                    share_seg = float(_level_share(features, plan.name, encoded[col_i], seg))
                    share_all = float(_level_share(features, plan.name, encoded[col_i], np.ones_like(seg)))
                    if share_seg - share_all >= 0.25 and share_seg >= 0.6:
                        scores.append((2 * (share_seg - share_all), f"Mostly {encoded[col_i].split('=', 1)[1]}"))
        scores.sort(reverse=True)
        words = [w for _, w in scores[:2]]
        name = " · ".join(words) if words else "Typical customers"
        names.append(name)
        sizes.append(float((labels == j).sum()))
        actions.append(("Target what sets them apart: " + " and ".join(w.lower() for w in words) + ".")
                       if words else "Close to the average customer on every column: a good group for general offers.")
    return _dedupe(names, sizes), actions


def _short(name: str) -> str:
    """A column name without its unit in brackets: 'Spending Score (1-100)' → 'Spending Score'."""
    return re.sub(r"\s*[(\[].*?[)\]]\s*", " ", str(name)).strip() or str(name)


def _level_share(features: pd.DataFrame, col: str, encoded_name: str, mask: np.ndarray) -> float:
    level = encoded_name.split("=", 1)[1]
    s = features[col][mask].astype("string").fillna("(missing)").str.strip()
    return float((s == level).mean()) if len(s) else 0.0


# ============================================================================= the fitted model


class SoftAssignment(nn.Module):
    """Softmax over negative squared distances to the centres, as exact linear logits (centred).

    −‖x−c_j‖²/T = (2 c_j·x − ‖c_j‖²)/T − ‖x‖²/T; the last term is shared by every segment and cancels
    in the softmax, so the logits are linear in x. Centring them over segments changes no probability
    and makes each logit read as 'pull towards segment j compared with the average segment'.
    """

    @rng_locked
    def __init__(self, centers: torch.Tensor, temperature: float):
        super().__init__()
        k, d = centers.shape
        c = centers.detach().float().cpu()
        w = 2.0 * c / temperature
        b = -(c * c).sum(1) / temperature
        self.linear = nn.Linear(d, k)
        with torch.no_grad():
            self.linear.weight.copy_(w - w.mean(0, keepdim=True))
            self.linear.bias.copy_(b - b.mean())

    def forward(self, x):
        return self.linear(x)


def _log_columns(features: pd.DataFrame) -> list[str]:
    """Skewed, non-negative numeric columns that go on a log scale (log1p)."""
    out = []
    for col in features.columns:
        s = features[col]
        if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            continue
        x = s.dropna().astype(float)
        if len(x) < 3 or x.min() < 0 or x.nunique() < 3:
            continue
        if x.max() <= 1.0:
            continue  # rates and shares stay as they are
        if float(x.skew()) > 1.0:
            out.append(str(col))
    return out


def _apply_log(features: pd.DataFrame, log_cols: Sequence[str]) -> pd.DataFrame:
    if not log_cols:
        return features
    out = features.copy()
    for c in log_cols:
        out[c] = np.log1p(pd.to_numeric(out[c], errors="coerce").clip(lower=0))
    return out


@dataclass
class SegmentationModel:
    columns: SegmentationColumns
    config: SegmentationConfig
    preprocessor: Preprocessor
    log_columns: list[str]
    centers: np.ndarray  # (k, encoded) in the scaled feature space
    temperature: float
    names: list[str]
    actions: list[str]
    background: np.ndarray  # encoded rows for SHAP
    pca: dict[str, Any]  # mean, components (2, d), explained (2,)
    history: History  # epochs: one record per k tried (k, inertia, silhouette)
    metrics: dict[str, float]
    baseline_metrics: dict[str, dict[str, float]]
    profile: pd.DataFrame  # one row per segment + "All customers"
    notes: list[str]
    reference_date: str = ""
    n_rows: dict[str, int] = field(default_factory=dict)
    # In memory only (not saved: no customer data in model files)
    customers: pd.DataFrame | None = None  # raw features + segment per customer of the fitted data
    X: np.ndarray | None = None  # encoded features of those customers
    baseline_labels: np.ndarray | None = None

    # -- basics ----------------------------------------------------------------------------
    @property
    def k(self) -> int:
        return len(self.centers)

    @property
    def features(self) -> list[str]:
        return self.preprocessor.features

    @property
    def scan(self) -> pd.DataFrame:
        """The k scan: inertia (elbow) and silhouette per number of segments, on a sample."""
        return pd.DataFrame(self.history.epochs)

    @property
    def suggested_k(self) -> int:
        return int(self.history.best_epoch)

    def soft_model(self) -> SoftAssignment:
        return SoftAssignment(torch.as_tensor(self.centers), self.temperature)

    # -- scoring ---------------------------------------------------------------------------
    def customer_features(self, df: pd.DataFrame) -> pd.DataFrame:
        """One row per customer from new data of the shape this model was trained on."""
        if self.columns.shape == TRANSACTIONS:
            if set(self.features) <= set(map(str, df.columns)):
                feats = df.copy()
                if self.columns.customer and self.columns.customer in df.columns:
                    feats.index = pd.Index(id_strings(df[self.columns.customer]).astype(str).to_numpy(), name="customer")
                return feats[self.features]
            return transactions_to_customers(df, self.columns, self.config.reference_date).features
        return customer_table(df, SegmentationColumns(CUSTOMERS, self.columns.customer if self.columns.customer in
                                                      df.columns else None, features=tuple(self.features))).features

    def encode(self, features: pd.DataFrame) -> np.ndarray:
        return self.preprocessor.transform(_apply_log(features, self.log_columns))

    def assign(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Segment index and soft-assignment probabilities for encoded rows."""
        if len(X) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros((0, self.k))
        device = get_device()
        Xt = torch.as_tensor(X, dtype=torch.float32, device=device)
        c = torch.as_tensor(self.centers, dtype=torch.float32, device=device)
        labels, _ = _labels(Xt, (Xt * Xt).sum(1), c)
        with torch.no_grad():
            proba = torch.softmax(self.soft_model().to(device)(Xt), dim=1)
        return labels.cpu().numpy(), proba.cpu().numpy().astype(np.float64)

    def predict(self, df: pd.DataFrame, names: Sequence[str] | None = None) -> pd.DataFrame:
        """Customer → segment number, name, membership (soft assignment) and the features used."""
        feats = self.customer_features(df)
        labels, proba = self.assign(self.encode(feats))
        return self._table(feats, labels, proba, names)

    def _table(self, feats: pd.DataFrame, labels: np.ndarray, proba: np.ndarray,
               names: Sequence[str] | None = None) -> pd.DataFrame:
        names = list(names or self.names)
        out = pd.DataFrame({
            "customer": feats.index.astype(str),
            "segment": labels + 1,
            "segment_name": [names[j] for j in labels],
            "membership": proba[np.arange(len(labels)), labels].round(4) if len(labels) else [],
        })
        for col in self.features:
            out[col] = feats[col].to_numpy()
        return out

    def attach(self, df: pd.DataFrame) -> "SegmentationModel":
        """Rebuild the per-customer data (never stored in model files) from the data the model was fitted on.

        Each customer gets its nearest centre, which is its k-means segment; returns self.
        """
        feats = self.customer_features(df)
        self.X = self.encode(feats)
        labels, _ = self.assign(self.X)
        self.customers = feats[self.features].copy()
        self.customers["_segment"] = labels
        return self

    def customers_table(self, names: Sequence[str] | None = None) -> pd.DataFrame:
        """Customer → segment for the data the model was fitted on (empty after `load`)."""
        if self.customers is None:
            return pd.DataFrame(columns=["customer", "segment", "segment_name", "membership", *self.features])
        feats = self.customers[self.features]
        labels = self.customers["_segment"].to_numpy()
        _, proba = self.assign(self.X)
        return self._table(feats, labels, proba, names)

    # -- explanations ----------------------------------------------------------------------
    def explain(self, df: pd.DataFrame | None = None, segment: int | None = None,
                names: Sequence[str] | None = None, features: pd.DataFrame | None = None) -> Explanation:
        """SHAP of the soft assignment's pull towards `segment` (0-based), for customers.

        Pass new data `df` (the model's input shape) or customer `features` (one row per customer).
        With `segment=None` the segment most of the rows belong to is explained (for one customer:
        their own). Values are exact: the explained logits are linear in the scaled features.
        """
        feats = features if features is not None else self.customer_features(df)
        X = self.encode(feats)
        if segment is None:
            labels, _ = self.assign(X)
            segment = int(np.bincount(labels, minlength=self.k).argmax())
        name = list(names or self.names)[segment]
        return deep_explain(
            self.soft_model(), self.background, X, feats[self.features].reset_index(drop=True),
            self.preprocessor.group_matrix(), self.features, output_index=segment,
            output_name=f"pull towards '{name}'",
        )

    # -- views for the page ----------------------------------------------------------------
    def map_2d(self, max_points: int = 5000, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Customers (a sample when large) and segment centres on the first two principal components."""
        if self.customers is None or self.X is None:
            raise ValueError("map_2d needs the fitted customers (not kept in a saved model)")
        mean, comp = np.asarray(self.pca["mean"]), np.asarray(self.pca["components"])
        n = len(self.X)
        idx = np.arange(n) if n <= max_points else np.sort(np.random.default_rng(seed).choice(n, max_points, replace=False))
        xy = (self.X[idx] - mean) @ comp.T
        pts = pd.DataFrame({"pc1": xy[:, 0], "pc2": xy[:, 1], "segment": self.customers["_segment"].to_numpy()[idx],
                            "customer": self.customers.index.to_numpy()[idx].astype(str)})
        cxy = (self.centers - mean) @ comp.T
        centres = pd.DataFrame({"pc1": cxy[:, 0], "pc2": cxy[:, 1], "segment": np.arange(self.k)})
        return pts, centres

    def centre_z(self) -> pd.DataFrame:
        """Each segment's centre per numeric column, in standard deviations from the average customer."""
        plans = [p for p in self.preprocessor.plans_ if p.kind == "numeric"]
        groups = self.preprocessor.groups
        return pd.DataFrame({p.name: self.centers[:, groups[p.name][0]] for p in plans}, index=range(self.k))

    # -- persistence -----------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        tensors = {"centers": self.centers.astype(np.float32), "background": self.background.astype(np.float32),
                   "pca.mean": np.asarray(self.pca["mean"], np.float32),
                   "pca.components": np.asarray(self.pca["components"], np.float32)}
        meta = {
            "columns": asdict(self.columns), "config": asdict(self.config),
            "preprocessor": self.preprocessor.to_dict(), "log_columns": self.log_columns,
            "temperature": self.temperature, "names": self.names, "actions": self.actions,
            "pca_explained": list(map(float, self.pca["explained"])), "history": self.history.to_dict(),
            "metrics": self.metrics, "baseline_metrics": self.baseline_metrics,
            "profile": self.profile.reset_index().to_dict(orient="list"), "notes": self.notes,
            "reference_date": self.reference_date, "n_rows": self.n_rows,
        }
        return artifacts.to_bytes(KIND, tensors, meta)

    def save(self, path: str | Path) -> None:
        Path(path).write_bytes(self.to_bytes())




def load(source: str | Path | bytes) -> SegmentationModel:
    """Read a model file written by `SegmentationModel.save` (tensors and JSON only)."""
    tensors, meta = artifacts.load_artifact(source, KIND)
    try:
        cols = dict(meta["columns"])
        cols["features"] = tuple(cols["features"])
        profile = pd.DataFrame(meta["profile"])
        profile = profile.set_index(profile.columns[0])
        return SegmentationModel(
            columns=SegmentationColumns(**cols), config=SegmentationConfig(**meta["config"]),
            preprocessor=Preprocessor.from_dict(meta["preprocessor"]), log_columns=list(meta["log_columns"]),
            centers=tensors["centers"].numpy().astype(np.float64), temperature=float(meta["temperature"]),
            names=list(meta["names"]), actions=list(meta["actions"]), background=tensors["background"].numpy(),
            pca={"mean": tensors["pca.mean"].numpy(), "components": tensors["pca.components"].numpy(),
                 "explained": meta["pca_explained"]},
            history=History.from_dict(meta["history"]), metrics=meta["metrics"],
            baseline_metrics=meta["baseline_metrics"], profile=profile, notes=list(meta["notes"]),
            reference_date=meta["reference_date"], n_rows=dict(meta["n_rows"]),
        )
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError):
        raise DataError("This segmentation model file is incomplete or damaged. "
                        "Download it again from the page that made it.") from None


# ============================================================================= fit


def _profile(feats: pd.DataFrame, labels: np.ndarray, k: int, revenue: pd.Series | None,
             names: Sequence[str]) -> pd.DataFrame:
    """Per segment: size, share of customers (and revenue), median of numeric / main category of others."""
    rows = []
    groups = [("All customers", np.ones(len(feats), bool))] + [(names[j], labels == j) for j in range(k)]
    total_rev = float(revenue.sum()) if revenue is not None else 0.0
    for name, mask in groups:
        seg = feats[mask]
        row: dict[str, Any] = {"segment": name, "customers": int(mask.sum()), "share of customers": float(mask.mean())}
        if revenue is not None:
            row["share of revenue"] = float(revenue[mask].sum() / total_rev) if total_rev > 0 else float("nan")
        for col in feats.columns:
            s = seg[col]
            if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
                row[col] = float(s.median()) if len(s) else float("nan")
            else:
                counts = s.astype("string").fillna("(missing)").value_counts()
                row[col] = f"{counts.index[0]} ({100 * counts.iloc[0] / max(len(s), 1):.0f}%)" if len(counts) else ""
        rows.append(row)
    return pd.DataFrame(rows).set_index("segment")


def _emit(progress, step: int, total: int, t0: float, message: str, **extra) -> None:
    if progress is not None:
        progress({"epoch": step, "max_epochs": total, "seconds": time.perf_counter() - t0, "message": message, **extra})


def fit(
    df: pd.DataFrame,
    columns: SegmentationColumns,
    config: SegmentationConfig = SegmentationConfig(),
    progress: Callable[[dict[str, Any]], None] | None = None,
    cancel=None,
) -> SegmentationModel:
    """Customer features → scan k on a sample → torch k-means on everyone → scikit-learn baseline."""
    from sklearn.cluster import KMeans  # the baseline
    from sklearn.metrics import adjusted_rand_score

    t0 = time.perf_counter()
    prep = prepare(df, columns, config)
    feats = prep.features
    log_cols = _log_columns(feats) if config.log_scale else []
    pre = Preprocessor().fit(_apply_log(feats, log_cols), list(feats.columns))
    X = pre.transform(_apply_log(feats, log_cols))
    notes = list(prep.notes)
    if log_cols:
        notes.append(f"Put {', '.join(map(repr, log_cols))} on a log scale (log(1 + value)) so a few very large "
                     "customers do not get segments of their own; profiles show the original values.")
    notes += pre.notes_
    n = len(X)
    n_distinct = len(np.unique(X.round(6), axis=0))
    if config.k and config.k > n_distinct:
        raise DataError(f"You asked for {config.k} segments, but only {n_distinct:,} customers have different values "
                        "in the chosen columns. Ask for fewer segments, or add columns that tell customers apart.")
    if n_distinct < 2:
        raise DataError("Every customer has the same values in the chosen columns, so there is nothing to segment. "
                        "Pick columns whose values differ between customers.")
    device = get_device()
    Xt = torch.as_tensor(X, device=device)
    rng = np.random.default_rng(config.seed)
    sample = np.sort(rng.choice(n, size=min(n, config.sample_size), replace=False))
    Xs = Xt[torch.as_tensor(sample, device=device)]
    ks = [k for k in range(config.k_min, config.k_max + 1) if k < min(len(sample), n_distinct)]
    if not ks:
        ks = [2]
    total = len(ks) + 3
    records, scan_labels = [], []
    for i, k in enumerate(ks, start=1):
        _emit(progress, i - 1, total, t0, f"Trying {k} segments on {len(sample):,} customers ({i} of {len(ks)})")
        res = kmeans(Xs, k, config.scan_restarts, config.max_iter, config.tol, config.seed + k, device, cancel)
        records.append({"k": k, "inertia": res.inertia})
        scan_labels.append(res.labels)
    _check_cancel(cancel)
    sils = silhouette_scores(Xs, scan_labels, device) if len(sample) > 2 else [0.0] * len(ks)
    for rec, s in zip(records, sils):
        rec["silhouette"] = s
    suggested = ks[int(np.argmax(sils))]
    elbow = ks[elbow_index([r["inertia"] for r in records])]
    k = config.k or suggested
    _emit(progress, len(ks), total, t0, f"Finding {k} segments among all {n:,} customers ({config.restarts} restarts)")
    t_model = time.perf_counter()
    res = kmeans(Xt, k, config.restarts, config.max_iter, config.tol, config.seed, device, cancel)
    model_seconds = time.perf_counter() - t_model
    # Order segments by size, largest first, so numbers are stable and readable.
    labels = res.labels.cpu().numpy()
    order = np.argsort(-np.bincount(labels, minlength=k), kind="stable")
    remap = np.empty(k, dtype=np.int64)
    remap[order] = np.arange(k)
    labels = remap[labels]
    centers = res.centers.cpu().numpy().astype(np.float64)[order]

    _emit(progress, len(ks) + 1, total, t0, f"Fitting the baseline ({BASELINE}, same k and restarts)")
    _check_cancel(cancel)
    t_base = time.perf_counter()
    sk = KMeans(n_clusters=k, n_init=config.restarts, max_iter=config.max_iter, tol=config.tol,
                random_state=config.seed).fit(X)
    base_seconds = time.perf_counter() - t_base
    _emit(progress, len(ks) + 2, total, t0, "Scoring the segments and preparing explanations")
    sil_model, sil_base = silhouette_scores(Xs, [torch.as_tensor(labels[sample]), torch.as_tensor(sk.labels_[sample])],
                                            device) if len(sample) > 2 else (0.0, 0.0)
    temperature = max(res.inertia / n, 1e-6)
    model_stub = SoftAssignment(torch.as_tensor(centers), temperature)
    with torch.no_grad():
        soft = model_stub(torch.as_tensor(X)).argmax(1).numpy()
    names, actions = name_segments(feats, labels, k, columns.shape, centers, pre)
    profile = _profile(feats, labels, k, prep.revenue, names)
    # 2-D map: principal components of the scaled features.
    mean = X.mean(0, dtype=np.float64)
    cov = np.cov((X - mean).T) if X.shape[1] > 1 else np.ones((1, 1))
    cov = np.atleast_2d(cov)
    evals, evecs = np.linalg.eigh(cov)
    top = np.argsort(evals)[::-1][:2]
    comps = evecs[:, top].T
    if comps.shape[0] < 2:
        comps = np.vstack([comps, np.zeros_like(comps)])
    explained = (evals[top] / max(evals.sum(), 1e-12)).tolist() + [0.0] * (2 - len(top))
    # The explained logits are linear, so SHAP against the mean customer equals SHAP against the whole
    # population (E[w·x] = w·E[x]): one background row, exact and fast.
    bg = X.mean(0, keepdims=True, dtype=np.float64).astype(np.float32)
    metrics = {
        "k": k, "suggested_k": suggested, "elbow_k": elbow, "silhouette": sil_model, "inertia": res.inertia,
        "inertia_ratio": res.inertia / max(float(sk.inertia_), 1e-12),
        "ari_vs_baseline": float(adjusted_rand_score(sk.labels_, labels)),
        "soft_agreement": float((soft == labels).mean()), "seconds": model_seconds, "iterations": res.n_iter,
        "customers": n, "sample": len(sample),
    }
    baseline_metrics = {BASELINE: {"silhouette": sil_base, "inertia": float(sk.inertia_), "seconds": base_seconds,
                                   "iterations": int(sk.n_iter_)}}
    history = History(epochs=records, best_epoch=suggested,
                      stopped=f"suggested {suggested} segments (highest silhouette); elbow at {elbow}",
                      seconds=time.perf_counter() - t0)
    customers = feats.copy()
    customers["_segment"] = labels
    _emit(progress, total, total, t0, "Done")
    return SegmentationModel(
        columns=columns, config=config, preprocessor=pre, log_columns=log_cols, centers=centers,
        temperature=temperature, names=names, actions=actions, background=bg,
        pca={"mean": mean, "components": comps, "explained": explained}, history=history, metrics=metrics,
        baseline_metrics=baseline_metrics, profile=profile, notes=notes, reference_date=prep.reference_date,
        n_rows=prep.n_rows, customers=customers, X=X, baseline_labels=sk.labels_,
    )
