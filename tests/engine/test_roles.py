"""The one column-role guesser (engine.roles), on the shapes of real files that fooled the pages before."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine import diagnosis as dx
from engine import fraud as fr
from engine import roles
from engine.data import load_table
from tests.conftest import SAMPLES

rng = np.random.default_rng(0)
N = 300


def claims() -> pd.DataFrame:
    """The vehicle-insurance claims layout: label FraudFound_P, ids PolicyNumber and RepNumber."""
    return pd.DataFrame(
        {
            "Month": rng.choice(["Jan", "Feb", "Mar"], N),
            "PolicyNumber": np.arange(1001, 1001 + N),
            "RepNumber": rng.integers(1, 17, N),
            "Deductible": rng.choice([300, 400, 500], N),
            "Age": rng.integers(18, 80, N),
            "FraudFound_P": (rng.random(N) < 0.07).astype(int),
            "VehicleCategory": rng.choice(["Sedan", "Sport"], N),
        }
    )


def marketing() -> pd.DataFrame:
    """The marketing customer table: ID, Year_Birth, …, Dt_Customer (an enrolment date)."""
    return pd.DataFrame(
        {
            "ID": rng.permutation(N) + 5000,
            "Year_Birth": rng.integers(1940, 2000, N),
            "Income": rng.normal(5e4, 1e4, N),
            "Dt_Customer": [f"{d:02d}-{m:02d}-2013" for d, m in zip(rng.integers(1, 28, N), rng.integers(1, 12, N))],
            "Recency": rng.integers(0, 99, N),
        }
    )


def test_names_split_into_words():
    assert roles.words("FraudFound_P") == ["fraud", "found", "p"]
    assert roles.words("Dt_Customer") == ["dt", "customer"]
    assert roles.words("PolicyNumber") == ["policy", "number"]
    assert roles.words("Air temperature [K]") == ["air", "temperature", "k"]


def test_claims_file_opens_labelled_without_leaks_or_ids():
    cols = fr.default_columns(claims())
    assert cols.label == "FraudFound_P", "the label is found by its name's words"
    assert "FraudFound_P" not in cols.features, "the label never leaks into the features"
    assert not {"PolicyNumber", "RepNumber"} & set(cols.features)
    assert {"Deductible", "Age", "Month", "VehicleCategory"} <= set(cols.features)
    text = roles.summary(claims(), {"Label": cols.label}, cols.features)
    assert "PolicyNumber" in text and "identifier" in text


def test_marketing_table_id_is_the_id_not_the_date():
    df = marketing()
    guess = roles.identifier(df, prefer_words=("customer", "id"))
    assert guess.column == "ID" and "identifier" in guess.why
    assert roles.identifier_reason(df["Dt_Customer"]) is None, "a date is never an identifier"
    assert roles.date_column(df).column == "Dt_Customer"
    assert "Dt_Customer" not in roles.features(df) and "ID" not in roles.features(df)


def test_measurements_are_not_identifiers():
    gen = np.random.default_rng(3)
    df = pd.DataFrame(
        {"age": gen.integers(30, 80, 40), "chol": gen.permutation(np.arange(200, 280, 2)), "row": np.arange(1, 41)}
    )
    assert roles.identifier_reason(df["age"]) is None and roles.identifier_reason(df["chol"]) is None
    assert "row number" in roles.identifier_reason(df["row"])


def test_a_running_number_is_an_identifier_wherever_it_starts():
    """AI4I rows 7001-10000 keep their UDI: strictly increasing, one value per row, so never a feature."""
    ai4i = load_table(SAMPLES / "ai4i2020_machines_1_7000.csv", "m").df.iloc[4000:].reset_index(drop=True)
    assert ai4i["UDI"].iloc[0] == 4001
    assert "row number" in roles.identifier_reason(ai4i["UDI"]) and "4001, 4002" in roles.identifier_reason(ai4i["UDI"])
    assert "UDI" not in roles.features(ai4i)
    gaps = pd.Series(np.cumsum(np.random.default_rng(0).integers(1, 9, 50)) + 7000, name="invoice")
    assert "row number" in roles.identifier_reason(gaps), "increasing row by row, even with gaps"
    shuffled = pd.Series(np.random.default_rng(1).permutation(np.arange(7001, 7051)), name="n")
    assert "row number" in roles.identifier_reason(shuffled), "7001..7050 in any order"


def test_outcome_by_exact_name_then_word_then_fallback():
    heart = load_table(SAMPLES / "heart_disease_cleveland.csv", "h").df
    assert dx.default_columns(heart).target == "target"
    df = pd.DataFrame({"a": rng.normal(size=N), "Machine failure": rng.integers(0, 2, N), "b": rng.integers(0, 3, N)})
    assert roles.outcome(df, ("failure",)).column == "Machine failure"
    assert roles.outcome(df, ("fraud",), max_values=5).column == "b", "fallback: the last column with few values"
    assert roles.outcome(df, ("fraud",)).column == "Machine failure", "two values at most by default"
    assert roles.outcome(df, ("fraud",), fallback=False).column is None


def test_positive_value_and_label_text():
    assert roles.positive_value(["0", "1"]) == "1"
    assert roles.positive_value(["genuine", "fraud"]) == "fraud"
    assert roles.positive_value(["a", "b"], pd.Series({"a": 90, "b": 10})) == "b"
    assert roles.label_values(pd.Series([1.0, 0.0, np.nan, 1.0])) == ["0", "1"]
    assert roles.label_values(pd.Series([True, False])) == ["true", "false"] or roles.label_values(
        pd.Series([True, False])
    ) == ["false", "true"]


def test_seconds_since_the_first_transaction_are_a_time_not_a_row_number():
    """A slice of credit-card transactions: Time (seconds) rises row by row with gaps; it stays a measurement."""
    fraud = load_table(SAMPLES / "creditcard_transactions.csv", "c").df
    times = fraud["Time"].drop_duplicates().head(60).reset_index(drop=True)
    assert times.is_monotonic_increasing and times.diff().max() > 1
    assert roles.identifier_reason(times) is None
    assert "row number" in roles.identifier_reason(times.rename("Serial"))  # the same numbers as a running reference
