"""Checks shared by the tabular page tests: the SHAP dependence plot every tabular page draws."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.io as pio
from streamlit.testing.v1 import AppTest

from engine.explain import Explanation


def dependence_points(at: AppTest, title: str) -> tuple[np.ndarray, np.ndarray]:
    """The (x, y) of the one chart whose title contains `title` (plotly's own decoding of the page's figure)."""
    figs = [pio.from_json(c.proto.spec) for c in at.get("plotly_chart")]
    found = [f for f in figs if f.layout.title.text and title in f.layout.title.text]
    assert len(found) == 1, [f.layout.title.text for f in figs]
    return np.asarray(found[0].data[0].x), np.asarray(found[0].data[0].y, dtype=float)


def check_dependence(at: AppTest, key: str, exp: Explanation) -> None:
    """The page's column picker offers the explained columns, most important first; picking the second one draws
    one dot per explained row at that row's value of the column, at that row's SHAP value for it."""
    pick = at.selectbox(key=f"{key}_dep")
    order = list(exp.importance().index)
    assert pick.value == order[0]
    col = order[1] if len(order) > 1 else order[0]
    pick.set_value(col).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    x, y = dependence_points(at, "' changes the prediction")  # the page's one dependence plot
    want = exp.data[col].to_numpy()
    assert len(x) == len(want) == len(exp.data)
    if pd.api.types.is_numeric_dtype(exp.data[col]):
        np.testing.assert_allclose(x.astype(float), want.astype(float))
    else:
        assert [str(v) for v in x] == [str(v) for v in want]
    np.testing.assert_allclose(y, exp.values[:, exp.feature_names.index(col)], rtol=1e-9, atol=1e-12)
