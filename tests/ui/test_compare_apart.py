"""Compare runs (issue 24 item 7): runs on different data or different held-out rows get no difference and no noise
verdict, and counts read as whole numbers."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from engine.data import Table
from ui.compare import Run, metrics_side_by_side, not_comparable


def _model(tp: float, auprc: float, rows=(1, 2, 3)):
    return SimpleNamespace(
        metrics={"auprc": auprc, "tp": tp},
        intervals={"net": {"auprc": (auprc - 0.1, auprc + 0.1)}},
        HEADLINE="auprc",
        METRIC_LABELS={},
        model_name="net",
        test={"rows": np.array(rows)},
        n_rows={"test": len(rows)},
    )


def _run(name: str, fp: str, seed: int = 0) -> Run:
    return Run(
        "fraud",
        Table(pd.DataFrame({"a": [1]}), name, [], fp),
        {"data": name, "option · test_fraction": "0.25", "option · seed": str(seed)},
    )


def test_runs_on_two_files_get_no_difference_and_counts_are_whole():
    a, b = _model(57.0, 0.61), _model(12.0, 0.83)
    apart = not_comparable(a, _run("cards_2013.csv", "aaa"), b, _run("cards_2023.csv", "bbb"))
    assert apart and "different data" in apart and "cards_2013.csv" in apart
    table, sentence = metrics_side_by_side(a, b, apart)
    assert "B − A" not in table.columns and sentence == apart
    assert "within noise" not in sentence and "cannot tell" not in sentence
    assert table.set_index("metric").loc["Caught (true positives)", "run A"] == "57"


def test_same_file_other_held_out_rows_or_seed_is_not_compared_either():
    a, b = _model(57.0, 0.61), _model(12.0, 0.83, rows=(4, 5, 6))
    assert "different held-out rows" in not_comparable(a, _run("x.csv", "f"), b, _run("x.csv", "f"))
    c = _model(50.0, 0.6)
    assert "seed" in not_comparable(a, _run("x.csv", "f"), c, _run("x.csv", "f", seed=1))
    same, sentence = metrics_side_by_side(a, c, not_comparable(a, _run("x.csv", "f"), c, _run("x.csv", "f")))
    assert list(same["B − A"]) == ["-0.010", "-7"] and "within noise" in sentence
