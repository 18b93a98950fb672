"""Predictive-maintenance benchmark: does the network earn its place beside gradient boosting?

Trains the page's models on the AI4I sample with a few seeds (each seed: its own stratified split)
and prints held-out AUPRC of the network, gradient boosting and logistic regression, the ratios
network ÷ gradient boosting and network ÷ logistic regression, and the fit times.

    python bench/maintenance.py [--seeds 0 1 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import torch

    from engine import maintenance as mt
    from engine.data import load_table

    torch.set_num_threads(args.threads)
    df = load_table(ROOT / "sample_data" / "ai4i2020_machines_1_7000.csv").df
    cols = mt.default_columns(df)
    names = (mt.MODEL, *mt.BASELINES)
    rows = []
    print(f"{'seed':>4}  " + "  ".join(f"{n:>20}" for n in names) + "   net÷GB  net÷LR   fit s (net / GB / LR)")
    for seed in args.seeds:
        m = mt.fit(
            df, cols, mt.Config(seed=seed, bootstrap=0, max_seconds=3600)
        )  # a busy machine must not cut training short
        auprc = [m.metrics["auprc"], *(m.baseline_metrics[b]["auprc"] for b in mt.BASELINES)]
        rows.append(auprc)
        secs = " / ".join(f"{m.timings[n]:.1f}" for n in names)
        print(
            f"{seed:>4}  "
            + "  ".join(f"{a:>20.3f}" for a in auprc)
            + f"   {auprc[0] / auprc[1]:6.2f}  {auprc[0] / auprc[2]:6.2f}   {secs}  ({m.history.stopped})",
            flush=True,
        )
    mean = np.mean(rows, axis=0)
    print(
        f"{'mean':>4}  "
        + "  ".join(f"{a:>20.3f}" for a in mean)
        + f"   {mean[0] / mean[1]:6.2f}  {mean[0] / mean[2]:6.2f}"
    )
    print(f"failure rate of the held-out runs (AUPRC of guessing): {m.test['y'].mean():.3f}")


if __name__ == "__main__":
    main()
