"""Step 2 of the segmentation page: what one row of the file is, each column's role (and why it was preselected), the
number of segments and the advanced options; then what was built from the file."""

from __future__ import annotations

import datetime as dt
from typing import Sequence

import pandas as pd
import streamlit as st

from engine import roles
from engine import segmentation as seg
from engine.options import default_of, help_of
from ui.options import option_input
from ui.state import memo
from ui.text import plain

NONE_INVOICE = "(none: count each purchase day as one order)"
NONE_QTY = "(none: the price column is the line amount)"
NONE_ID = "(none: number the rows)"
SHAPES = {
    seg.TRANSACTIONS: "A transaction line (invoice, customer, date, quantity, price)",
    seg.CUSTOMERS: "A customer (a ready customer table, one row each)",
}
AUTO_K = "Suggest from the data"


def _col(c: str, names: Sequence[str], default: str | None, key: str, label: str, help: str, extra: str | None = None):
    options = ([extra] if extra else []) + list(names)
    index = options.index(default) if default in options else (0 if extra else None)  # required + no guess: ask
    choice = c.selectbox(label, options, index=index, key=key, help=help, placeholder="Pick a column")
    return None if choice == extra else choice


def _transaction_columns(
    names: Sequence[str], t: seg.SegmentationColumns, fp: str, why: dict[str, roles.Guess]
) -> seg.SegmentationColumns:
    """The roles in a file of transaction lines (customer, date, invoice, quantity, price), preselected from `t`."""
    c1, c2, c3 = st.columns(3)
    customer = _col(c1, names, t.customer, f"seg_cust_{fp}", "Customer id", "Who bought: rows without it are left out.")
    date = _col(c2, names, t.date, f"seg_date_{fp}", "Invoice date", "When the purchase happened.")
    invoice = _col(
        c3,
        names,
        t.invoice,
        f"seg_inv_{fp}",
        "Invoice / order number",
        "Lines with the same number form one order; numbers starting with 'C' are cancellations.",
        NONE_INVOICE,
    )
    quantity = _col(
        c1, names, t.quantity, f"seg_qty_{fp}", "Quantity", "Units on the line; negative numbers are returns.", NONE_QTY
    )
    price = _col(
        c2,
        names,
        t.price,
        f"seg_price_{fp}",
        "Unit price" if quantity else "Line amount",
        "Price of one unit (or the line's total when there is no quantity column).",
    )
    columns = seg.SegmentationColumns(seg.TRANSACTIONS, customer, invoice, date, quantity, price)
    role_reasons(why, ("customer", "date", "invoice", "quantity", "price"))
    return columns


def _customer_columns(
    df: pd.DataFrame, names: Sequence[str], t: seg.SegmentationColumns, fp: str, why: dict[str, roles.Guess]
) -> seg.SegmentationColumns:
    """The roles in a customer table (an optional id, the columns to segment by), preselected from `t`; the columns
    left out, and why."""
    c1, c2 = st.columns([1, 3])
    customer = _col(
        c1,
        names,
        t.customer,
        f"seg_cid_{fp}",
        "Customer id (optional)",
        "Only used to label customers in tables and downloads.",
        NONE_ID,
    )
    options = [c for c in names if c != customer]
    features = c2.multiselect(
        "Columns to segment by",
        options,
        default=[f for f in t.features if f in options],
        key=f"seg_feats_{fp}_{customer}",
        help="Numbers such as age, income or spend; category columns may be added. Free text and dates cannot be used.",
    )
    columns = seg.SegmentationColumns(seg.CUSTOMERS, customer, features=tuple(features))
    role_reasons(why, ("customer_id",))
    left = roles.left_out(df, features, [customer])
    if left:
        st.caption(
            "Left out of the columns to segment by: "
            + "; ".join(f"'{c}' ({reason})" for c, reason in list(left.items())[:8])
            + ("…" if len(left) > 8 else "")
            + "."
        )
    return columns


def _k_and_options(shape: str, fp: str) -> seg.SegmentationConfig:
    """The number of segments (or the suggestion) and the advanced options; the reference date for transactions."""
    c1, c2 = st.columns([1, 2])
    k_choice = c1.selectbox(
        "Number of segments",
        [AUTO_K, *range(2, seg.K_LIMIT + 1)],
        key=f"seg_k_{fp}",
        help=help_of(seg.SegmentationConfig)["k"]["help"],
    )
    c2.caption(
        "Leave it on *Suggest* first: the page tries 2 to 10 segments and picks the number whose segments are "
        "best separated (silhouette). Then try the neighbours of that number and keep what reads best."
    )
    helps = help_of(seg.SegmentationConfig)
    with st.expander("Advanced options"):
        a1, a2, a3 = st.columns(3)
        restarts = option_input(a1, seg.SegmentationConfig, "restarts", key="seg_restarts")
        seed = option_input(a2, seg.SegmentationConfig, "seed", key="seg_seed")
        log_scale = a3.checkbox(
            helps["log_scale"]["label"],
            default_of(seg.SegmentationConfig, "log_scale"),
            key="seg_log",
            bind="query-params",
            help=helps["log_scale"]["help"],
        )
        ref = ""
        if shape == seg.TRANSACTIONS:
            use_ref = a1.checkbox(
                "Count recency from a date I choose",
                False,
                key=f"seg_use_ref_{fp}",
                help=helps["reference_date"]["help"],
            )
            if use_ref:
                ref = str(a2.date_input(helps["reference_date"]["label"], dt.date.today(), key=f"seg_ref_{fp}"))
    config = seg.SegmentationConfig(
        k=0 if k_choice == AUTO_K else int(k_choice),
        restarts=int(restarts),
        seed=int(seed),
        log_scale=log_scale,
        reference_date=ref,
    )
    return config


def columns_form(df: pd.DataFrame, fp: str) -> tuple[seg.SegmentationColumns, seg.SegmentationConfig]:
    """Step 2: the shape of the file, each column's role, the number of segments and advanced options."""
    st.subheader("2 · Columns")
    guess, as_tx, as_customers, why = memo(
        "seg_guess", fp, lambda: (seg.default_columns(df), *seg.guess_columns(df), seg.guess_roles(df))
    )
    names = [str(c) for c in df.columns]
    shape_label = st.radio(
        "What is one row of your file?",
        list(SHAPES.values()),
        horizontal=True,
        index=list(SHAPES).index(guess.shape),
        key=f"seg_shape_{fp}",
        help="Transactions are turned into one row per customer (recency, frequency, spend, …). "
        "A customer table is used as it is.",
    )
    shape = next(k for k, v in SHAPES.items() if v == shape_label)
    if shape == seg.TRANSACTIONS:
        columns = _transaction_columns(names, as_tx, fp, why)
    else:
        columns = _customer_columns(df, names, as_customers, fp, why)
    config = _k_and_options(shape, fp)
    return columns, config


ROLE_LABELS = {
    "customer": "customer id",
    "date": "invoice date",
    "invoice": "invoice number",
    "quantity": "quantity",
    "price": "unit price or amount",
    "customer_id": "customer id",
}


def role_reasons(why: dict[str, roles.Guess], shown: Sequence[str]) -> None:
    """Why each role was preselected (engine.roles says it in words)."""
    parts = [
        f"{ROLE_LABELS[r]}: '{why[r].column}' ({why[r].why})" if why[r].column else f"{ROLE_LABELS[r]}: {why[r].why}"
        for r in shown
    ]
    st.caption("Preselected " + "; ".join(parts) + ". Change any of them above.")


def prepared_summary(prep: seg.Prepared) -> None:
    c1, c2, c3 = st.columns(3)
    c1.metric(
        "Customers to segment",
        f"{prep.n_rows.get('customers', len(prep.features)):,}",
        help="One row per customer, built from your file as described below.",
    )
    c2.metric(
        f"Rows used (of {prep.n_rows.get('rows', 0):,})",
        f"{prep.n_rows.get('rows used', 0):,}",
        help="Rows left after removing those that cannot be tied to a customer or a price.",
    )
    c3.metric("Features per customer", f"{prep.features.shape[1]:,}", help="Columns k-means measures distances on.")
    with st.expander("What was done to your data", expanded=False):
        for note in prep.notes:
            st.markdown(f"- {plain(note)}")
        if set(seg.RFM_FEATURES) <= set(prep.features.columns):
            for name, text in seg.FEATURE_HELP.items():
                st.markdown(f"- **{name}**: {text}")
        st.dataframe(prep.features.head(20), width="stretch", height=220)
