"""The data dictionary: parsing an analyst's CSV (sentences for bad files), labels, JSON, saved with a model file."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.data import DataError
from engine.dictionary import Dictionary, parse_values

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"


def test_two_and_three_column_files_with_or_without_header():
    d = Dictionary.from_csv(
        b"column,description,values\ncp,chest pain type,1=typical angina; 4=asymptomatic\nage,age in years,\n"
    )
    assert d.label("cp") == "chest pain type (cp)"
    assert d.label("chol") == "chol"  # undescribed: the column's own name
    assert d.value_label("cp", 4.0) == "4 = asymptomatic"  # 4, 4.0 and "4" are the same code
    assert d.value_label("cp", "1") == "1 = typical angina"
    assert d.value_label("cp", 2) == "2"  # no label: the value as the data shows it
    two = Dictionary.from_csv(b"sex;patient's sex\nthal;thallium test\n")  # no header, semicolons
    assert two.descriptions == {"sex": "patient's sex", "thal": "thallium test"}


@pytest.mark.parametrize(
    "raw, words",
    [
        (b"", "is empty"),
        (b"just one column\nanother\n", "at least two columns"),
        (b"a,b,c,d\n1,2,3,4\n", "two or three columns"),
        (b"column,description\n,a description without a name\n", "no column name"),
        (b"column,description\ncp,chest pain\ncp,again\n", "describes 'cp' twice"),
        (b"column,description,values\ncp,chest pain,typical angina\n", "should look like '1=disease; 0=no disease'"),
        (b"column,description\n" + b"x,y\n" * 400_000, "a small file"),
    ],
)
def test_bad_files_get_a_sentence(raw, words):
    with pytest.raises(DataError) as err:
        Dictionary.from_csv(raw, name="cols.csv")
    assert words in err.value.message
    assert "Traceback" not in str(err.value)


def test_json_round_trip_and_frame_round_trip():
    d = Dictionary({"cp": "chest pain type"}, {"cp": parse_values("1=typical angina; 4=asymptomatic")})
    assert Dictionary.from_dict(d.to_dict()) == d
    assert Dictionary.from_frame(d.to_frame(["age", "cp"])) == d  # blank rows (age) are skipped
    assert Dictionary.from_dict(None) == Dictionary() and not Dictionary()
    assert d.unknown(["age"]) == ["cp"]


@pytest.mark.parametrize(
    "sample",
    [
        "heart_disease_cleveland",
        "breast_cancer_wisconsin",
        "creditcard_transactions",
        "ai4i2020_machines_1_7000",
        "mall_customers",
    ],
)
def test_every_sample_dictionary_reads_and_matches_its_columns(sample):
    import pandas as pd

    d = Dictionary.from_csv(SAMPLES / f"{sample}.dictionary.csv")
    columns = list(pd.read_csv(SAMPLES / f"{sample}.csv", nrows=1).columns)
    assert d and d.unknown(columns) == []
    assert len(d.described(columns)) == len(columns)


def test_saved_with_a_model_file_and_old_files_open_without_one():
    from engine import artifacts
    from engine import diagnosis as dx
    from engine.scenario import pack

    df = pd_sample()
    model = dx.fit(df, dx.default_columns(df), dx.QUICK)
    assert not model.dictionary  # an old file (no dictionary field) opens empty
    d = Dictionary.from_csv(SAMPLES / "heart_disease_cleveland.dictionary.csv")
    labelled = model.decide(dictionary=d)
    again = dx.load(labelled.to_bytes())
    assert again.dictionary == d and again.dictionary.label("cp") == "chest pain type (cp)"
    reasons = " ".join(again.score(df.head(5))["top reasons"])  # the reasons column speaks the analyst's words
    assert reasons.count("): ") >= 5  # "chest pain type (cp): 4 = asymptomatic raises risk"
    assert all(f"{c} = " not in reasons for c in model.features)  # no raw "cp = 4" left
    tensors, meta = pack(model)
    meta.pop("dictionary")  # a model file saved before dictionaries existed
    old = dx.load(artifacts.to_bytes(dx.DiagnosisModel.KIND, tensors, meta))
    assert old.dictionary == Dictionary()


def pd_sample():
    import pandas as pd

    return pd.read_csv(SAMPLES / "heart_disease_cleveland.csv")


def test_forecast_series_are_named_by_a_description_column():
    import pandas as pd

    from engine.forecast.frame import series_descriptions

    df = pd.read_csv(SAMPLES / "online_retail_daily_product_units.csv", dtype={"stock_code": str})
    names = series_descriptions(df, ["stock_code"], exclude=["date", "units"])
    assert names["15036"] == "ASSORTED COLOURS SILK FAN" and len(names) == df["stock_code"].nunique()
    assert series_descriptions(df.drop(columns="description"), ["stock_code"], exclude=["date"]) == {}
    mixed = df.assign(description=df["description"] + df.index.astype(str))  # not constant per series: no names
    assert series_descriptions(mixed, ["stock_code"], exclude=["date"]) == {}
