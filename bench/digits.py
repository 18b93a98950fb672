"""Digit recognizer benchmark: CNN vs the classic 784-128-10 MLP vs logistic regression on the shipped MNIST subsets.

Trains on mnist_train_10k (10% of it deciding when to stop) and measures on mnist_test_2k: accuracy,
error, training time and epochs per model, with ratios against the MLP and logistic regression measured
in the same run. Goals (issue 6): CNN error ≤ half the MLP's; CNN training ≤ 60 s on a 2-core CPU; on a
CUDA GPU the CNN reaches ≥ 99% on the 2k test in seconds. With CUDA available every configuration also
runs on the GPU and the GPU vs CPU time ratios are printed. Needs no streamlit, plotly or shap.

    python bench/digits.py [--quick] [--device auto|cpu|cuda] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# name → DigitConfig keyword arguments
CONFIGS = {
    "page default (augmented)": {},
    "no augmentation": {"augment": False},
    "wide + augmented (GPU)": {"augment": True, "channels": 32, "cnn_epochs": 40, "patience": 6},
}


def run(config_kw: dict, device: str, train, test) -> dict:
    os.environ["EXPLORER_DEVICE"] = device
    from engine import digits as dg

    t0 = time.perf_counter()
    m = dg.fit(train, dg.DigitColumns(), dg.DigitConfig(**config_kw), test_df=test)
    wall = time.perf_counter() - t0
    if device == "cuda":
        import torch

        torch.cuda.synchronize()
    rows = {}
    for name in dg.MODELS:
        metrics = m.metrics if name == dg.MODEL else m.baseline_metrics[name]
        hist = m.histories.get(name)
        rows[name] = {
            "accuracy": metrics["accuracy"],
            "errors": metrics["errors"],
            "seconds": m.timings[name],
            "epochs": len(hist.epochs) if hist else None,
            "best": hist.best_epoch if hist else None,
        }
    return {"rows": rows, "wall": wall, "n_test": m.n_rows["test"]}


def show(title: str, res: dict) -> None:
    from engine import digits as dg

    rows, n = res["rows"], res["n_test"]
    mlp, lr = rows[dg.MLP], rows[dg.LOGREG]
    print(f"\n## {title} — fit wall time {res['wall']:.1f} s, {n:,} test images")
    print(
        f"{'model':<20} {'accuracy':>9} {'errors':>7} {'error %':>8} {'train s':>8} {'epochs':>10} "
        f"{'err vs MLP':>11} {'err vs LR':>10} {'time vs LR':>11}"
    )
    for name, r in rows.items():
        ep = f"{r['epochs']} (best {r['best']})" if r["epochs"] else "–"
        print(
            f"{name:<20} {r['accuracy']:>9.4f} {r['errors']:>7,} {100 * r['errors'] / n:>7.2f}% {r['seconds']:>8.1f} {ep:>10} "
            f"{r['errors'] / max(mlp['errors'], 1):>10.2f}x {r['errors'] / max(lr['errors'], 1):>9.2f}x "
            f"{r['seconds'] / max(lr['seconds'], 1e-9):>10.1f}x"
        )
    cnn = rows[dg.MODEL]
    ratio = cnn["errors"] / max(mlp["errors"], 1)
    print(
        f"goal CNN error ≤ 0.5× MLP's: {ratio:.2f}× → {'met' if ratio <= 0.5 else 'NOT met'}; "
        f"CNN accuracy {100 * cnn['accuracy']:.2f}% (≥ 99% is the GPU goal: {'met' if cnn['accuracy'] >= 0.99 else 'not met'}); "
        f"CNN training {cnn['seconds']:.1f} s"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="only the page's default configuration (CPU: ~1 minute)")
    ap.add_argument("--device", default=os.environ.get("EXPLORER_DEVICE", "auto"), help="auto, cpu or cuda")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = ap.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from engine.data import load_table

    train = load_table(ROOT / "sample_data" / "mnist_train_10k.csv.gz").df
    test = load_table(ROOT / "sample_data" / "mnist_test_2k.csv.gz").df
    cuda = torch.cuda.is_available()
    devices = ["cpu", "cuda"] if (args.device == "auto" and cuda) else (["cuda"] if args.device == "cuda" else ["cpu"])
    names = ["page default (augmented)"] if args.quick else list(CONFIGS)
    print(
        f"# Digit recognizer benchmark — torch {torch.__version__}, {torch.get_num_threads()} CPU thread(s)"
        f"{', GPU ' + torch.cuda.get_device_name(0) if cuda else ', no CUDA GPU'}; train 10,000 (9,000 + 1,000 "
        "validation), test 2,000"
    )
    results: dict[tuple[str, str], dict] = {}
    for name in names:
        for device in devices:
            if device == "cpu" and name == "wide + augmented (GPU)":
                print(f"\n## {name} on cpu — skipped (many minutes on a CPU; its point is the GPU goal)")
                continue
            res = run(CONFIGS[name], device, train, test)
            results[(name, device)] = res
            show(f"{name} on {device}", res)
    if "cuda" in devices and "cpu" in devices:
        print("\n## GPU vs CPU (training seconds, CPU ÷ GPU: > 1 means the GPU is faster)")
        from engine import digits as dg

        for name in names:
            if (name, "cpu") in results and (name, "cuda") in results:
                c, g = results[(name, "cpu")]["rows"], results[(name, "cuda")]["rows"]
                print(
                    f"{name:<24} "
                    + "  ".join(f"{m}: {c[m]['seconds'] / max(g[m]['seconds'], 1e-9):.1f}x" for m in (dg.MODEL, dg.MLP))
                )


if __name__ == "__main__":
    main()
