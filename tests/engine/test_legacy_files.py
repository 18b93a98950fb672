"""Model files saved before the scenario contract (format version 1 layouts, written out here field by field as
the old `to_bytes` wrote them) still load and predict the same after the move to field-driven packing."""

from __future__ import annotations

import dataclasses
from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest

from engine import artifacts
from engine import diagnosis as dx
from engine import digits as dg
from engine import fraud as fr
from engine.data import load_table
from tests.conftest import SAMPLES


def _sample(mod, rows: int | None = None) -> pd.DataFrame:
    df = load_table(SAMPLES / mod.SAMPLE, mod.SAMPLE).df
    return df.head(rows) if rows else df


def _state(prefix: str, net) -> dict:
    return {f"{prefix}.{k}": v for k, v in net.state_dict().items()}


def diagnosis_v1(m: dx.DiagnosisModel) -> bytes:
    tensors = {**_state("net", m.net), "background": m.background, **{f"test.{k}": v for k, v in m.test.items()}}
    meta = {
        "columns": asdict(m.columns),
        "config": asdict(m.config),
        "classes": m.classes,
        "positive_index": m.positive_index,
        "preprocessor": m.preprocessor.to_dict(),
        "net": m.net.spec(),
        "history": m.history.to_dict(),
        "metrics": m.metrics,
        "baseline_metrics": m.baseline_metrics,
        "intervals": m.intervals,
        "notes": m.notes,
        "n_rows": m.n_rows,
        "timings": m.timings,
    }
    return artifacts.to_bytes(dx.KIND, tensors, meta)


def fraud_v1(m: fr.FraudModel) -> bytes:
    tensors = {**_state("net", m.net), "background": m.background}
    if m.reference is not None:
        tensors.update(_state("ref", m.reference))
    tensors.update({f"val.{k}": np.asarray(v) for k, v in m.val.items()})
    tensors.update({f"test.{k}": np.asarray(v) for k, v in m.test.items()})
    meta = {
        "columns": asdict(m.columns),
        "config": asdict(m.config),
        "mode": m.mode,
        "preprocessor": m.preprocessor.to_dict(),
        "net": m.net.spec(),
        "error_ref": m.error_ref,
        "reference": m.reference.spec() if m.reference is not None else None,
        "reference_ref": m.reference_ref,
        "history": m.history.to_dict(),
        "quantiles": m.quantiles,
        "intervals": m.intervals,
        "notes": m.notes,
        "n_rows": m.n_rows,
        "fraud_value": m.fraud_value,
        "genuine_value": m.genuine_value,
        "default_costs": {
            "false_alarm": m.default_costs.false_alarm,
            "missed_fraud": m.default_costs.missed,
            "missed_is_amount": m.default_costs.missed_is_amount,
        },  # Costs' names before engine.binary
        "val_names": list(m.val),
        "test_names": list(m.test),
        "timings": m.timings,
    }  # version 1 kept no metrics: they were recomputed on every read
    return artifacts.to_bytes(fr.KIND, tensors, meta)


def digits_v1(m: dg.DigitModel) -> bytes:
    tensors = {
        **_state("cnn", m.cnn),
        **_state("mlp", m.mlp),
        **{f"logreg.{k}": v for k, v in m.logreg.items()},
        "background": m.background,
        **{f"test.{k}": v for k, v in m.test.items()},
    }
    meta = {
        "columns": asdict(m.columns),
        "config": asdict(m.config),
        "cnn": m.cnn.spec(),
        "mlp": m.mlp.spec(),
        "histories": {k: h.to_dict() for k, h in m.histories.items()},
        "metrics": m.metrics,
        "baseline_metrics": m.baseline_metrics,
        "notes": m.notes,
        "n_rows": m.n_rows,
        "seconds": m.timings,
    }
    return artifacts.to_bytes(dg.KIND, tensors, meta)


CASES = {  # maintenance was born on the contract: it has no version-1 files
    "diagnosis": (dx, diagnosis_v1, None),
    "fraud": (fr, fraud_v1, 3000),
    "digits": (dg, digits_v1, None),
}


@pytest.mark.parametrize("name", list(CASES))
def test_version_1_files_still_load(name):
    mod, write_v1, rows = CASES[name]
    df = _sample(mod, rows)
    config = mod.QUICK
    if name == "fraud":  # version-1 files chose the threshold on the validation rows: compare with a model that did too
        config = dataclasses.replace(config, threshold_folds=0)
    model = mod.fit(df, mod.default_columns(df), config)
    old = mod.load(write_v1(model))
    new_rows = df.head(25).drop(columns=[c for c in ("target", "Class", "label") if c in df.columns])
    pd.testing.assert_frame_equal(old.predict(new_rows), model.predict(new_rows))
    if name == "fraud":
        assert old.default_costs == model.default_costs
    assert old.metrics == pytest.approx(model.metrics, nan_ok=True)
    assert old.baseline_metrics.keys() == model.baseline_metrics.keys()
    assert old.timings == model.timings and old.history.epochs == model.history.epochs
