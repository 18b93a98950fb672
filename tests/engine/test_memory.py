"""Memory stays bounded on a 1,000,000-row upload: read it, sample it to the page's cap, prepare it, train.

Runs in a fresh Python process so the peak resident set size (VmHWM) is this work's alone.
bench/fraud.py measures the whole fraud training (with its baselines) at this size.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd

from tests.conftest import ROOT

PEAK_LIMIT_MB = 1500  # the file is ~40 MB; pandas + torch + the model stay well under this

SCRIPT = r"""
import json, resource, sys, time
import numpy as np, torch
from engine import binary, fraud as fr
from engine.data import load_table, sample_rows
from engine.device import use_device
from engine.models import TabularMLP
from engine.tabular import Preprocessor
from engine.training import TrainConfig, fit_model
def mb():
    # VmHWM: this process image's own peak (ru_maxrss would carry the forking pytest's size across exec)
    try:
        return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0 = time.perf_counter()
base = mb()
table = sample_rows(load_table(sys.argv[1]), fr.MAX_ROWS)  # what the fraud page does with the upload
read = mb()
prep = fr.prepare(table.df, fr.default_columns(table.df))
config = fr.FraudConfig(seed=0)
train, val, test = binary.split(prep.y, config.test_fraction, config.val_fraction, config.seed, order=prep.time)
pre = Preprocessor().fit(prep.df.iloc[train], prep.features)
X = pre.transform(prep.df)
y = prep.y.astype(np.float32)[:, None]
with use_device("cpu"):  # the page's network, one pass over its 600,000 training rows
    net = TabularMLP(X.shape[1], 1, config.hidden, config.dropout)
    fit_model(net, (X[train], y[train]), (X[val], y[val]), torch.nn.BCEWithLogitsLoss(),
              TrainConfig(max_epochs=1, batch_size=4096))
print(json.dumps({"rows_read": len(table.df), "notice": table.notice, "base_mb": base, "after_read_mb": read,
                  "peak_mb": mb(), "seconds": time.perf_counter() - t0}))
"""


def million_rows(path) -> None:
    """1,000,000 card transactions: six numeric columns, an amount, a 0.5% fraud label that depends on them."""
    rng = np.random.default_rng(0)
    n = 1_000_000
    X = rng.normal(size=(n, 6)).astype(np.float32)
    fraud = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(0, 0.5, n) > 3.0).astype(np.int8)
    df = pd.DataFrame(X.round(4), columns=[f"V{i}" for i in range(1, 7)])
    df["Amount"] = rng.gamma(2.0, 40.0, n).round(2)
    df["Class"] = fraud
    df.to_csv(path, index=False)


def test_a_million_row_file_keeps_memory_bounded(tmp_path):
    path = tmp_path / "million.csv"
    million_rows(path)
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "2", "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"\n1M-row file ({path.stat().st_size / 2**20:.0f} MB): {figures}")
    (ROOT / "artifacts").mkdir(exist_ok=True)
    (ROOT / "artifacts" / "memory_1m_rows.json").write_text(json.dumps(figures, indent=1))
    assert figures["rows_read"] == 1_000_000 and not figures["notice"]  # the fraud page takes up to 1M rows
    assert figures["peak_mb"] < PEAK_LIMIT_MB, figures
