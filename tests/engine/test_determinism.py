"""Same data, settings and seed → the same metrics on the CPU, for every page's model.

Each scenario is trained twice from scratch in this process, on real sample data with small
settings; every metric of the model and of its baselines must come out identical. (Parallel
jobs giving bit-identical results is tested in test_training.py.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine import diagnosis as dx
from engine import digits as dg
from engine import forecast as fc
from engine import fraud as fr
from engine import maintenance as mt
from engine import segmentation as seg
from engine.data import load_table
from engine.device import use_device
from tests.conftest import SAMPLES


def _diagnosis():
    df = load_table(SAMPLES / "heart_disease_cleveland.csv").df
    return df, dx.default_columns(df), dx.DiagnosisConfig(max_epochs=15, bootstrap=20, seed=3), dx.fit


def _fraud():
    df = load_table(SAMPLES / "creditcard_transactions.csv").df
    return df, fr.default_columns(df), fr.FraudConfig(max_epochs=5, bootstrap=20, seed=3), fr.fit


def _segmentation():
    df = load_table(SAMPLES / "mall_customers.csv").df
    return df, seg.default_columns(df), seg.SegmentationConfig(k=4, seed=3), seg.fit


def _forecast():
    df = load_table(SAMPLES / "online_retail_daily_product_units.csv").df
    df = df[df["stock_code"].isin(df["stock_code"].unique()[:4])].reset_index(drop=True)
    config = fc.ForecastConfig(
        horizon=7, backtest_windows=1, hidden=(16,), max_epochs=3, ets=False, refit=False, seed=3
    )
    return df, fc.default_columns(df), config, fc.fit


def _digits():
    df = load_table(SAMPLES / "mnist_train_500.csv").df
    return df, dg.default_columns(df), dg.DigitConfig(cnn_epochs=2, mlp_epochs=4, augment=False, seed=3), dg.fit


def _maintenance():
    df = load_table(SAMPLES / "ai4i2020_machines_1_7000.csv").df.head(2000)  # 52 failures
    return df, mt.default_columns(df), mt.Config(max_epochs=5, bootstrap=20, seed=3), mt.fit


@pytest.mark.parametrize(
    "scenario",
    [_diagnosis, _fraud, _segmentation, _forecast, _digits, _maintenance],
    ids=["diagnosis", "fraud", "segmentation", "forecast", "digits", "maintenance"],
)
def test_same_seed_same_metrics(scenario):
    df, columns, config, fit = scenario()
    with use_device("cpu"):
        first = fit(df.copy(), columns, config)
        np.random.default_rng().random(1000)  # disturb global state between the runs
        pd.DataFrame(np.random.rand(50, 3)).sum()
        second = fit(df.copy(), columns, config)
    assert first.metrics and _quality(first.metrics) == _quality(second.metrics)
    assert _quality(first.baseline_metrics) == _quality(second.baseline_metrics)


def _quality(metrics):
    """The metrics without wall-clock timings (which differ run to run); NaN made comparable."""
    if isinstance(metrics, dict):
        return {k: _quality(v) for k, v in metrics.items() if "second" not in k and "time" not in k}
    if isinstance(metrics, float) and np.isnan(metrics):
        return "nan"
    return metrics
