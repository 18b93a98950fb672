"""Data-parallel training (Ray Train, 2 CPU workers with gloo) against the one-worker loop.

Tolerance: the two-worker run splits every batch of the one-worker run across the ranks and
averages the gradients, so it follows the same path up to float rounding and dropout masks
(each rank draws its own). On the heart-disease sample the held-out ROC AUC stays within 0.03
and the best validation loss within 10 % of one worker's (measured: 0.925 vs 0.926).
"""

from __future__ import annotations

import pytest

from engine import diagnosis as dx
from engine.data import load_table
from engine.jobs import CANCELLED, DONE
from tests.conftest import SAMPLES
from tests.engine.test_ray_runner import _endless, _like_a_one_cpu_task, _wait_for


def test_two_workers_match_one_within_tolerance(ray_runner):
    df = load_table(SAMPLES / "heart_disease_cleveland.csv").df
    columns, config = dx.default_columns(df), dx.DiagnosisConfig(max_epochs=30, patience=30, bootstrap=0)
    job = ray_runner.submit(dx.fit, df, columns, config, name="diagnosis", workers=2)
    with _like_a_one_cpu_task():
        one = dx.fit(df, columns, config)
    assert job.wait(300), "the data-parallel job did not finish"
    assert job.status == DONE, job.error
    two = job.result
    assert "2 data-parallel workers" in two.history.stopped
    assert [e["epoch"] for e in job.events if "epoch" in e] == list(range(1, 31))
    assert all(e.get("workers") == 2 for e in job.events if "epoch" in e)
    assert two.metrics["roc_auc"] == pytest.approx(one.metrics["roc_auc"], abs=0.03)
    best = lambda m: min(e["val_loss"] for e in m.history.epochs)  # noqa: E731
    assert best(two) == pytest.approx(best(one), rel=0.10)
    assert two.metrics != one.metrics  # it really trained apart (not the one-worker loop)


def test_cancel_stops_both_workers(ray_runner):
    import ray

    df, columns, config = _endless()
    job = ray_runner.submit(dx.fit, df, columns, config, name="diagnosis", workers=2)
    assert _wait_for(lambda: any(e.get("epoch", 0) >= 3 for e in job.events), 240), "both workers should be training"
    assert ray.available_resources().get("CPU", 0) == 0  # both CPUs held by the two ranks
    job.cancel()
    assert job.wait(60) and job.status == CANCELLED
    # Both ranks agreed to stop and the worker group is gone: the cluster's CPUs are free again.
    assert _wait_for(lambda: ray.available_resources().get("CPU", 0) == 2, 60)
    assert job.latest.get("epoch", 0) < config.max_epochs
