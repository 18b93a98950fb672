"""What a segmentation run is asked to do: the roles of the columns (`SegmentationColumns`), the
analyst's options (`SegmentationConfig`, declared with engine.options) and the guessed defaults
(`default_columns`, by engine.roles, with the reason for each role)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from engine import options, roles
from engine.data import MAX_ROWS as MAX_ROWS  # rows read per upload (the reader's cap; no sampling)
from engine.options import option as _opt
from engine.options import validate
from engine.scenario import About, Decision

KIND = "segmentation"
ABOUT = About(
    name=KIND,
    title="Retail segmentation",
    icon=":material/groups:",
    headline="silhouette",
    prefix="seg",
    purpose="Group customers by how they buy — from raw transactions (recency, frequency, spend) or a customer "
    "table — see what each segment looks like, name it, and see why any one customer sits in it.",
    decision=Decision(
        lambda m: {"names": [f"Renamed {i + 1}" for i in range(len(m.names))]},
        lambda m, rows: m.predict(rows)["segment_name"],
    ),
)
MODEL = "Torch k-means"
BASELINE = "scikit-learn KMeans"
BASELINES = (BASELINE,)
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
        return {
            "customer": self.customer,
            "invoice": self.invoice,
            "date": self.date,
            "quantity": self.quantity,
            "price": self.price,
        }


@dataclass(frozen=True)
class SegmentationConfig:
    """Analyst-facing options; defaults work on the sample data."""

    k: int = _opt(
        0,
        "Number of segments. 0 lets the data suggest it (highest silhouette score).",
        min=0,
        max=K_LIMIT,
        label="Number of segments",
    )
    k_min: int = _opt(
        2, "Fewest segments tried when suggesting a number.", min=2, max=K_LIMIT, label="Fewest segments tried"
    )
    k_max: int = _opt(
        10, "Most segments tried when suggesting a number.", min=2, max=K_LIMIT, label="Most segments tried"
    )
    restarts: int = _opt(
        10, "K-means runs from different starting points; the tightest result is kept.", min=1, max=50, label="Restarts"
    )
    scan_restarts: int = _opt(
        4,
        "Restarts for each number of segments tried while suggesting k.",
        min=1,
        max=20,
        label="Restarts while suggesting k",
    )
    max_iter: int = _opt(300, "Most refinement rounds per k-means run.", min=5, max=2000, label="Most rounds per run")
    tol: float = _opt(
        1e-4,
        "A run stops when the segment centres move less than this (relative to the data's spread).",
        min=0.0,
        max=0.1,
        label="Tolerance",
    )
    log_scale: bool = _opt(
        True,
        "Put skewed amounts and counts (such as spend) on a log scale so a few very large "
        "customers do not get segments of their own.",
        label="Log scale for skewed amounts",
    )
    reference_date: str = _opt(
        "",
        "Date that recency and tenure count back from (YYYY-MM-DD). Empty: the day after the last invoice in the file.",
        label="Reference date",
    )
    sample_size: int = _opt(
        10_000,
        "Customers sampled to score each number of segments (silhouette).",
        min=200,
        max=50_000,
        label="Customers sampled for the silhouette",
    )
    seed: int = options.seed()

    def __post_init__(self):
        validate(self)
        if self.k_min > self.k_max:
            raise ValueError("Fewest segments tried must not exceed most segments tried")
        if self.k == 1:
            raise ValueError("Number of segments must be 0 (suggested) or at least 2")


# ----------------------------------------------------------------------------- column roles (engine.roles)

CUSTOMER_WORDS = (
    "customer_id",
    "customerid",
    "client_id",
    "cust_id",
    "user_id",
    "member_id",
    "customer",
    "client",
    "account",
    "member",
    "buyer",
    "cust",
    "user",
)
INVOICE_WORDS = (
    "invoice_no",
    "invoice_id",
    "invoice",
    "order_id",
    "order_no",
    "order",
    "receipt",
    "transaction_id",
    "basket",
    "ticket",
)
DATE_WORDS = (
    "invoice_date",
    "order_date",
    "purchase_date",
    "transaction_date",
    "date",
    "timestamp",
    "datetime",
    "time",
)
# Transaction roles are found by name whatever the column holds: prepare() then says what is wrong with its values.
QUANTITY_WORDS = ("quantity", "qty", "units", "quantity_sold")
PRICE_WORDS = ("unit_price", "price", "price_each", "unit_cost")
AMOUNT_WORDS = ("amount", "line_total", "total", "sales", "revenue", "value", "spend", "net_amount")
NUMBERS = ("numeric",)  # a customer table segments by numbers by default (categories can be added)


def _named_like_date(df: pd.DataFrame) -> list[str]:
    """Columns holding dates or named like one (`Dt_Customer`): never a customer id."""
    return [
        c
        for c in df.columns
        if roles.is_date(df[c]) or any(w in ("date", "dt", "timestamp", "datetime") for w in roles.words(c))
    ]


def guess_roles(df: pd.DataFrame) -> dict[str, roles.Guess]:
    """Each role's best column and why, for both shapes: customer, invoice, date, quantity, price (transactions)
    and customer_id (a customer table)."""
    dates = _named_like_date(df)
    out: dict[str, roles.Guess] = {}
    taken: list[str | None] = []  # the columns found so far (None: a role not found, which excludes nothing)
    out["customer"] = roles.by_name(df, CUSTOMER_WORDS, exclude=dates, what="customer id")
    taken += [out["customer"].column]
    out["invoice"] = roles.by_name(df, INVOICE_WORDS, exclude=[*taken, *dates], what="receipt, invoice or order number")
    taken += [out["invoice"].column]
    out["date"] = roles.by_name(df, DATE_WORDS, exclude=taken, what="purchase date")
    if out["date"].column is None:
        out["date"] = roles.date_column(df, exclude=taken)
    taken += [out["date"].column]
    out["quantity"] = roles.by_name(df, QUANTITY_WORDS, exclude=taken, what="quantity")
    taken += [out["quantity"].column]
    out["price"] = roles.by_name(df, PRICE_WORDS, exclude=taken, what="unit price")
    if out["price"].column is None:
        amount = roles.by_name(df, AMOUNT_WORDS, exclude=taken, what="line amount")
        if amount.column is not None:
            out["price"], out["quantity"] = amount, roles.Guess(None, "a line amount is used, so no quantity is needed")
    # A customer table: the customer id is an identifier by name or content, never a date column.
    out["customer_id"] = roles.identifier(
        df, exclude=dates, prefer_words=("customer", "client", "member", "user", "account", "id")
    )
    return out


def guess_columns(df: pd.DataFrame) -> tuple[SegmentationColumns, SegmentationColumns]:
    """The best guess of every role for each shape: (as transactions, as a customer table)."""
    g = guess_roles(df)
    tx = SegmentationColumns(
        TRANSACTIONS,
        customer=g["customer"].column,
        invoice=g["invoice"].column,
        date=g["date"].column,
        quantity=g["quantity"].column,
        price=g["price"].column,
    )
    customer = g["customer_id"].column
    features = roles.features(df, exclude=[customer] if customer else [], kinds=NUMBERS)
    return tx, SegmentationColumns(CUSTOMERS, customer=customer, features=tuple(str(c) for c in features))


def default_columns(df: pd.DataFrame) -> SegmentationColumns:
    """Guess the shape (transactions if it has customer, date and money columns) and each column's role."""
    tx, cust = guess_columns(df)
    is_transactions = bool(tx.customer and tx.date and tx.price)
    if is_transactions and df[tx.customer].nunique(dropna=True) >= 0.9 * len(df):
        is_transactions = False  # one row per customer: it is a customer table after all
    return tx if is_transactions else cust
