"""Step 2 of the fraud page: the columns' roles (label and its fraud value, amount, time, features) and the advanced
training options."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine import fraud as fr
from engine import roles
from engine.options import help_of

NO_LABEL = "(no label: find unusual transactions)"
NONE = "(none)"


def _pick(box, label: str, options: list, default, key: str, help: str):
    return box.selectbox(label, options, index=options.index(default) if default in options else 0, key=key, help=help)


def column_roles(df: pd.DataFrame, fp: str) -> fr.FraudColumns:
    """Label (optional), which value is fraud, amount (optional), time (optional), features."""
    d = fr.default_columns(df)
    names = [str(c) for c in df.columns]
    c1, c2, c3, c4 = st.columns(4)
    label = _pick(
        c1,
        "Fraud label (optional)",
        [NO_LABEL, *names],
        d.label or NO_LABEL,
        f"fr_label_{fp}",
        "The column saying which past transactions were fraud. Without one, an autoencoder looks for "
        "transactions unlike the rest.",
    )
    label = None if label == NO_LABEL else label
    fraud_value = None
    if label is not None:
        values = fr.label_values(df[label])[:50]
        guess = fr.guess_fraud_value(values, roles.label_text(df[label]).value_counts())
        fraud_value = _pick(
            c2,
            "Value that means fraud",
            values,
            guess,
            f"fr_fraud_{fp}_{label}",
            "Rows with this label value are frauds; the others are genuine.",
        )
    amount = _pick(
        c3,
        "Amount (optional)",
        [NONE, *[c for c in names if c != label]],
        d.amount or NONE,
        f"fr_amount_{fp}_{label}",
        "The transaction's amount: lets a missed fraud cost what it was worth.",
    )
    amount = None if amount == NONE else amount
    time = _pick(
        c4,
        "Time (optional)",
        [NONE, *[c for c in names if c not in (label, amount)]],
        d.time or NONE,
        f"fr_time_{fp}_{label}",
        "When each transaction happened. With a time, the models train on the "
        "earlier transactions and are tested on the latest ones, as they would be used.",
    )
    time = None if time == NONE else time
    candidates = [c for c in names if c not in (label, time)]
    default = [c for c in d.features if c in candidates]
    if amount is not None and amount not in default:
        default.append(amount)
    features = st.multiselect(
        "Feature columns (what the models may use)",
        candidates,
        default=default,
        key=f"fr_features_{fp}_{label}_{time}",
        help="Free-text, id and date columns are left out by default.",
    )
    st.caption(roles.summary(df, {"Label": label, "Amount": amount, "Time": time}, features))
    return fr.FraudColumns(label, tuple(features), amount, time, fraud_value)


def options(has_label: bool) -> fr.FraudConfig:
    helps = help_of(fr.FraudConfig)
    with st.expander("Advanced training options"):
        a1, a2, a3 = st.columns(3)
        mode = "auto"
        if has_label:
            anomaly = a1.toggle(
                "Ignore the label (train the autoencoder only)",
                False,
                key="fr_anomaly",
                bind="query-params",
                help=helps["mode"]["help"],
            )
            mode = "anomaly" if anomaly else "auto"
        return fr.FraudConfig(
            mode=mode,
            loss=a2.selectbox(
                "Loss for rare frauds",
                ["weighted", "focal"],
                key="fr_loss",
                bind="query-params",
                help=helps["loss"]["help"],
            ),
            max_epochs=a3.number_input(
                "Most epochs", 5, 2000, 150, key="fr_epochs", bind="query-params", help=helps["max_epochs"]["help"]
            ),
            test_fraction=a1.slider(
                "Held-out share",
                0.1,
                0.5,
                0.25,
                0.05,
                key="fr_test",
                bind="query-params",
                help=helps["test_fraction"]["help"],
            ),
            dropout=a2.slider(
                "Dropout", 0.0, 0.8, 0.3, 0.05, key="fr_dropout", bind="query-params", help=helps["dropout"]["help"]
            ),
            seed=a3.number_input(
                "Random seed", 0, 10_000, 0, key="fr_seed", bind="query-params", help=helps["seed"]["help"]
            ),
        )
