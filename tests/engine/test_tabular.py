from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from engine.data import DataError
from engine.tabular import OTHER, Preprocessor


@pytest.fixture
def frame():
    return pd.DataFrame(
        {
            "age": [50, 60, np.nan, 70, 40, 55],
            "sex": ["M", "F", "M", None, "F", "M"],
            "const": [1] * 6,
            "city": ["a", "b", "c", "d", "e", "a"],
        }
    )


def test_numeric_and_categorical_encoding(frame):
    p = Preprocessor(max_categories=3).fit(frame, ["age", "sex", "const", "city"])
    X = p.transform(frame)
    assert p.features == ["age", "sex", "city"]  # the constant column is left out, and said
    assert any("const" in n for n in p.notes_) and any("median" in n for n in p.notes_)
    assert X.dtype == np.float32 and X.shape[0] == 6
    assert abs(X[:, 0].mean()) < 1e-6  # scaled
    assert OTHER in p.plans_[2].levels  # capped one-hot
    # each analyst column's one-hot block sums to 1 per row
    for name, idx in p.groups.items():
        if name != "age":
            assert np.allclose(X[:, idx].sum(1), 1)
    G = p.group_matrix()
    assert G.shape == (X.shape[1], 3) and np.allclose(G.sum(1), 1)


def test_json_round_trip_is_exact(frame):
    p = Preprocessor().fit(frame, ["age", "sex", "city"])
    q = Preprocessor.from_dict(json.loads(json.dumps(p.to_dict())))
    assert np.array_equal(p.transform(frame), q.transform(frame))


def test_unseen_levels_and_missing_values_at_scoring_time(frame):
    p = Preprocessor().fit(frame, ["age", "sex"])
    new = pd.DataFrame({"age": [np.nan], "sex": ["X"]})
    X = p.transform(new)
    assert np.isfinite(X).all()


def test_scoring_file_problems_are_sentences(frame):
    p = Preprocessor().fit(frame, ["age", "sex"])
    with pytest.raises(DataError, match="lacks the column"):
        p.transform(frame.drop(columns=["age"]))
    with pytest.raises(DataError, match="should hold numbers"):
        p.transform(frame.assign(age=["x"] * 6))


def test_free_text_feature_is_refused():
    df = pd.DataFrame({"note": [f"patient said {i} things" for i in range(60)], "x": range(60)})
    with pytest.raises(DataError, match="free text"):
        Preprocessor().fit(df, ["note", "x"])
