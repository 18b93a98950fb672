"""The shared training loop's throughput on CPU and, when present, on a CUDA GPU.

Synthetic tabular classification (rows x 32 features, an MLP of 256-128), trained for a
fixed number of epochs with `engine.training.fit_model`: rows per second per device and
the GPU/CPU ratio, measured in the same run. Also the held-out accuracy on each device,
so a fast device that learns less is visible.

    python bench/engine.py [--rows 200000] [--epochs 3] [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def make_data(rows: int, features: int = 32, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, features)).astype(np.float32)
    w = rng.normal(size=features)
    logit = X @ w / np.sqrt(features) + 0.8 * np.sin(3 * X[:, 0]) * X[:, 1]
    y = (logit + rng.logistic(size=rows) * 0.3 > 0).astype(np.float32)[:, None]
    return X, y


def run(device_name: str, X, y, epochs: int, batch: int) -> dict[str, float]:
    import torch
    from torch import nn

    os.environ["EXPLORER_DEVICE"] = device_name
    from engine.device import get_device
    from engine.models import TabularMLP
    from engine.training import TrainConfig, fit_model, predict_batched

    device = get_device()
    n_val = len(X) // 10
    model = TabularMLP(X.shape[1], 1, (256, 128), 0.1)
    cfg = TrainConfig(max_epochs=epochs, batch_size=batch, lr=2e-3, patience=epochs + 1, max_seconds=None)
    fit_model(
        model,
        (X[:2000], y[:2000]),
        None,
        nn.BCEWithLogitsLoss(),
        TrainConfig(max_epochs=1, batch_size=batch),
        device=device,
    )  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    hist = fit_model(model, (X[n_val:], y[n_val:]), (X[:n_val], y[:n_val]), nn.BCEWithLogitsLoss(), cfg, device=device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t0
    logits = predict_batched(model, torch.as_tensor(X[:n_val], device=device))
    acc = float(((logits[:, 0] > 0).float().cpu().numpy() == y[:n_val, 0]).mean())
    return {"seconds": seconds, "rows_per_s": (len(X) - n_val) * len(hist.epochs) / seconds, "accuracy": acc}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    rows = 50_000 if args.quick else args.rows
    import torch

    X, y = make_data(rows)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(
        f"# Training-loop throughput: {rows:,} rows x {X.shape[1]} features, MLP 256-128, "
        f"{args.epochs} epochs, batch {args.batch}; torch {torch.__version__}, {os.cpu_count()} CPU cores"
    )
    results = {d: run(d, X, y, args.epochs, args.batch) for d in devices}
    for d, r in results.items():
        print(f"{d:>5}: {r['seconds']:7.2f} s  {r['rows_per_s']:>12,.0f} rows/s  held-out accuracy {r['accuracy']:.3f}")
    if "cuda" in results:
        print(
            f"GPU vs CPU: {results['cpu']['seconds'] / results['cuda']['seconds']:.1f}x faster "
            f"({torch.cuda.get_device_name(0)})"
        )
    else:
        print("GPU vs CPU: no CUDA device here")


if __name__ == "__main__":
    main()
