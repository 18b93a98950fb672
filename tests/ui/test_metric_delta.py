"""A metric card's difference that rounds to zero reads "same", in grey and without an arrow (issue 18: "Accuracy
+0.000" came with a green up-arrow); any other difference keeps its sign, arrow and colour."""

from __future__ import annotations

import pytest

from ui.results import metric_delta


@pytest.mark.parametrize(
    "text, shown",
    [
        ("+0.000", "same"),
        ("-0.000", "same"),
        ("-0.0 points", "same"),
        ("+0.00 vs scikit-learn", "same as scikit-learn"),
    ],
)
def test_a_zero_difference_reads_same_without_an_arrow(text, shown):
    assert metric_delta(text) == {"delta": shown, "delta_color": "off", "delta_arrow": "off"}


def test_other_differences_keep_their_arrow_and_direction():
    assert metric_delta("+0.012") == {"delta": "+0.012", "delta_color": "normal"}
    assert metric_delta("-1,234.50 vs scikit-learn", lower_is_better=True) == {
        "delta": "-1,234.50 vs scikit-learn",
        "delta_color": "inverse",
    }
    assert metric_delta(None) == {"delta": None}
