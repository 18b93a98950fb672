"""Runs side by side, the main curve of the pages without a PR/ROC curve (issue 16): a forecast's backtest (both
runs' forecasts added up over all series, with what actually sold) and segmentation's silhouette by number of
segments, each equal to its model's own figures added up independently."""

from __future__ import annotations

import pandas as pd

from engine import forecast as fc
from engine import segmentation as sg
from tests.conftest import SAMPLES
from ui.compare import curves_overlaid


def _traces(fig) -> dict[str, pd.Series]:
    return {t.name: pd.Series(list(t.y), index=list(t.x)) for t in fig.data}


def test_two_forecasts_overlay_their_backtests_beside_the_actuals():
    sample = pd.read_csv(SAMPLES / fc.SAMPLE)
    few = sample[sample["stock_code"].isin(sample["stock_code"].unique()[:4])]
    config = fc.ForecastConfig(horizon=7, backtest_windows=2, hidden=(16,), max_epochs=3, ets=False, refit=False)
    a = fc.fit(few, fc.default_columns(few), config)
    b = fc.fit(few, fc.default_columns(few), fc.ForecastConfig(**{**config.__dict__, "horizon": 5}))
    fig = curves_overlaid(a, b)
    assert fig is not None and "Backtest" in fig.layout.title.text
    traces = _traces(fig)
    assert list(traces) == ["actual", "run A", "run B"]
    for name, model in (("run A", a), ("run B", b)):
        bt = model.backtest
        expected = bt.loc[bt["evaluated"], "chosen"].groupby(bt.loc[bt["evaluated"], "date"]).sum()
        assert (
            len(traces[name]) == len(expected) <= model.config.backtest_windows * model.horizon
        )  # closed days left out
        assert traces[name].to_numpy().tolist() == pytest_approx(expected.to_numpy())
    sold = a.backtest[a.backtest["evaluated"]].pivot_table(index="date", columns="series", values="actual").sum(axis=1)
    assert traces["actual"].to_numpy().tolist() == pytest_approx(sold.to_numpy())


def test_two_segmentations_overlay_their_silhouette_by_k():
    mall = pd.read_csv(SAMPLES / sg.SAMPLE)
    a = sg.fit(mall, sg.default_columns(mall), sg.QUICK)
    b = sg.fit(mall, sg.default_columns(mall), sg.SegmentationConfig(**{**sg.QUICK.__dict__, "k_max": 7}))
    fig = curves_overlaid(a, b)
    assert fig is not None and "Silhouette" in fig.layout.title.text
    traces = _traces(fig)
    assert list(traces) == ["run A", "run B"]
    assert list(traces["run A"].index) == list(a.scan["k"]) and list(traces["run B"].index) == list(b.scan["k"])
    assert len(traces["run B"]) > len(traces["run A"])  # run B tried up to 7 segments
    assert traces["run A"].to_numpy().tolist() == pytest_approx(a.scan["silhouette"].to_numpy())


def pytest_approx(values):
    import pytest

    return pytest.approx(list(values), rel=1e-9, abs=1e-9)
