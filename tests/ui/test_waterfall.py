"""The SHAP waterfall reads in business units: a probability explained in log-odds starts and ends in %, with each
bar's percentage points; other outputs keep their own units."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.explain import Explanation
from ui import charts


def _exp(link: str) -> Explanation:
    data = pd.DataFrame({"age": [63.0], "chol": [233.0], "sex": ["1"]})
    return Explanation(np.array([[1.2, -0.4, 0.9]]), -1.5, data, ["age", "chol", "sex"], "the risk of disease", link)


def test_a_log_odds_explanation_starts_and_ends_as_probabilities():
    fig = charts.shap_waterfall(_exp("logit"), 0)
    bars = fig.data[0]
    sigmoid = lambda z: 100 / (1 + np.exp(-z))  # noqa: E731
    assert bars.text[0] == f"{sigmoid(-1.5):.1f}%" and bars.text[-1] == f"{sigmoid(-1.5 + 1.7):.1f}%"  # 18.2% -> 55.0%
    # each bar is its share of the change in %, in proportion to its log-odds (independent of the order drawn)
    share = (sigmoid(0.2) - sigmoid(-1.5)) / 1.7
    assert list(bars.x[1:-1]) == pytest.approx([-0.4 * share, 0.9 * share, 1.2 * share])
    points = [float(t.split()[0]) for t in bars.text[1:-1]]
    assert sum(points) == pytest.approx(sigmoid(0.2) - sigmoid(-1.5), abs=0.2)
    assert all(t.endswith(" pts") for t in bars.text[1:-1])
    # the axis is in %, the bars' unit stated on it; the log-odds stay on hover
    assert fig.layout.xaxis.ticksuffix == "%" and "points of the risk of disease" in fig.layout.xaxis.title.text
    assert "log-odds" in bars.hovertemplate and "log-odds" not in "".join(bars.text)
    assert list(bars.customdata)[-1] == pytest.approx(0.2) and list(bars.customdata)[1] == pytest.approx(-0.4)


def test_one_unit_across_the_explanations_tab():
    """Importance, beeswarm, waterfall and dependence of a probability all in points of risk, stated on each axis."""
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"age": rng.normal(55, 9, 40), "chol": rng.normal(240, 40, 40)})
    exp = Explanation(rng.normal(0, 1, (40, 2)), -1.0, data, ["age", "chol"], "the risk of disease", "logit")
    bar, swarm = charts.shap_bar(exp), charts.shap_beeswarm(exp)
    dep, fall = charts.shap_dependence(exp, "age"), charts.shap_waterfall(exp, 3)
    for title in (
        bar.layout.xaxis.title.text,
        swarm.layout.xaxis.title.text,
        dep.layout.yaxis.title.text,
        fall.layout.xaxis.title.text,
    ):
        assert "points of the risk of disease" in title, title
    p = 100 / (1 + np.exp(-exp.outputs))
    points = charts.in_points(exp).values
    assert points.sum(axis=1) == pytest.approx(
        p - 100 / (1 + np.exp(1.0))
    )  # a row's points: its risk minus the average
    age = next(t for t in swarm.data if t.name == "age")
    assert list(age.x) == pytest.approx(points[:, 0]) and list(dep.data[0].y) == pytest.approx(points[:, 0])
    assert fall.data[0].x[
        list(fall.data[0].y).index(next(y for y in fall.data[0].y if y.startswith("age")))
    ] == pytest.approx(points[3, 0])  # the waterfall's bar is the beeswarm's dot
    assert list(bar.data[0].x)[::-1] == pytest.approx(sorted(np.abs(points).mean(axis=0), reverse=True))


def test_other_outputs_keep_their_units():
    fig = charts.shap_waterfall(_exp("identity"), 0, axis_title="units sold")
    bars = fig.data[0]
    assert bars.text[0] == "-1.50" and bars.text[-1] == "0.20"
    assert fig.layout.xaxis.title.text == "units sold" and fig.layout.xaxis.ticktext is None


def test_a_softmax_membership_is_drawn_in_points_of_the_probability_along_the_columns():
    """Segmentation: the output is one segment's pull (a softmax logit); `probability` gives the membership once some
    columns have pushed, so the chart starts and ends in % and its bars add up to the change, the pull on hover."""
    exp = _exp("identity")
    share = {(): 0.25, ("chol",): 0.20, ("chol", "sex"): 0.35, ("chol", "sex", "age"): 0.50}  # in the order drawn

    def probability(columns):
        return share[tuple(columns)]

    fig = charts.shap_waterfall(exp, 0, probability=probability, axis_title="membership of 'Loyal' (%)")
    bars = fig.data[0]
    assert bars.text[0] == "25.0%" and bars.text[-1] == "50.0%"
    assert list(bars.y[1:-1]) == ["chol = 233", "sex = 1", "age = 63"]  # the largest effect next to the result
    assert list(bars.x[1:-1]) == pytest.approx([-5.0, 15.0, 15.0])
    assert all(t.endswith(" pts") for t in bars.text[1:-1]) and "pull" not in "".join(bars.text)
    assert fig.layout.xaxis.title.text == "membership of 'Loyal' (%)" and fig.layout.xaxis.ticksuffix == "%"
    assert list(bars.customdata)[-1] == pytest.approx(0.2)
