"""Checks shared by the page tests: reading a chart as the browser gets it, the SHAP dependence plot of every tabular page."""

from __future__ import annotations

import base64
import json

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from engine.explain import Explanation


def array(v) -> np.ndarray:
    """A figure's data array as sent to the browser: a list, or plotly's typed array {dtype, bdata (base64), shape}."""
    if isinstance(v, dict) and "bdata" in v:
        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        return a.reshape([int(n) for n in str(v["shape"]).split(",")]) if "shape" in v else a
    return np.asarray(v)


def chart(at: AppTest, title: str) -> dict:
    """The one chart on the page whose title contains `title`, as the JSON the browser gets."""
    figs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    titles = [str(f["layout"].get("title", {}).get("text", "")) for f in figs]
    found = [f for f, t in zip(figs, titles) if title in t]
    assert len(found) == 1, titles
    return found[0]


def dependence_points(at: AppTest, title: str) -> tuple[np.ndarray, np.ndarray]:
    """The (x, y) of the one chart whose title contains `title`."""
    trace = chart(at, title)["data"][0]
    return array(trace["x"]), array(trace["y"]).astype(float)


def check_dependence(at: AppTest, key: str, exp: Explanation) -> None:
    """The page's column picker offers the explained columns, most important first; picking the second one draws
    one dot per explained row at that row's value of the column, at that row's SHAP value for it."""
    values = _points(exp)  # the tab's one unit: points of risk for a probability
    pick = at.selectbox(key=f"{key}_dep")
    order = list(pd.Series(np.abs(values).mean(axis=0), index=exp.feature_names).sort_values(ascending=False).index)
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
    np.testing.assert_allclose(y, values[:, exp.feature_names.index(col)], rtol=1e-9, atol=1e-12)


def _points(exp: Explanation) -> np.ndarray:
    """SHAP of a probability in percentage points, computed here on its own: each row's change in risk from the
    average, shared among the columns in proportion to their log-odds; other outputs as they are."""
    if exp.link != "logit":
        return exp.values
    f = exp.base_value + exp.values.sum(axis=1)
    change = 100 / (1 + np.exp(-f)) - 100 / (1 + np.exp(-exp.base_value))
    return exp.values * (change / (f - exp.base_value))[:, None]
