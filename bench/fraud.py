"""Fraud benchmark: the engine's MLP vs gradient boosting vs logistic regression, and the 1M-row scale run.

1. Sample data (sample_data/creditcard_transactions.csv): held-out AUPRC and fit time of every model over
   several seeds — stratified splits (a new split per seed) and the page's default time-ordered split —
   printed with ratios against logistic regression measured in the same run; the unlabelled autoencoder
   against the isolation forest.
2. Scale: `engine.fraud.fit` end to end on a synthetic table of N rows x 30 columns (28 features
   V1..V28, Amount, Time; 0.2% fraud) in a fresh process per device, so its peak RSS
   (resource.getrusage) is the fit's own: seconds per model, rows/s, peak memory against the 4 GB goal.
   On a CUDA machine the same run repeats on the GPU and GPU/CPU ratios are printed.

    python bench/fraud.py [--quick] [--device auto|cpu|cuda] [--rows 1000000] [--seeds 5]

Needs numpy, pandas, scikit-learn and torch only (no streamlit, plotly or shap).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


# ----------------------------------------------------------------------------- 1 · quality on the sample


def sample_runs(seeds: int) -> dict[str, dict[str, dict[str, list[float]]]]:
    from engine import fraud as fr
    from engine.data import load_table

    df = load_table(ROOT / "sample_data" / "creditcard_transactions.csv").df
    cols = fr.default_columns(df)
    setups = {"stratified split": dataclasses.replace(cols, time=None), "time-ordered split": cols}
    out: dict[str, dict[str, dict[str, list[float]]]] = {}
    for setup, c in setups.items():
        for seed in range(seeds if setup == "stratified split" else min(seeds, 3)):
            for mode in ("auto", "anomaly"):
                m = fr.fit(df, c, fr.FraudConfig(seed=seed, bootstrap=0, mode=mode, compare_unlabelled=False))
                for name, metrics in m.evaluate(m.default_costs).items():
                    rec = out.setdefault(setup, {}).setdefault(name, {"auprc": [], "roc_auc": [], "seconds": []})
                    rec["auprc"].append(metrics["auprc"])
                    rec["roc_auc"].append(metrics["roc_auc"])
                    rec["seconds"].append(m.timings.get(name, float("nan")))
    return out


def print_sample(results, seeds: int) -> None:
    print("## Sample data: ULB card transactions (1,774 rows, 16.8% fraud), held-out AUPRC over seeds\n")
    print(
        f"{'split':<20} {'model':<20} {'AUPRC':>15} {'ROC-AUC':>8} {'fit s':>7} {'AUPRC vs LR':>12} {'time vs LR':>11}"
    )
    for setup, res in results.items():
        lr = res.get("Logistic regression")
        for name, r in res.items():
            ap, sd = np.mean(r["auprc"]), np.std(r["auprc"])
            ref_ap = np.mean(lr["auprc"]) if lr else np.nan
            ref_t = np.mean(lr["seconds"]) if lr else np.nan
            ratio_t = np.mean(r["seconds"]) / ref_t if ref_t else np.nan
            print(
                f"{setup:<20} {name:<20} {ap:>8.3f} ± {sd:.3f} {np.mean(r['roc_auc']):>8.3f} {np.mean(r['seconds']):>7.2f} "
                f"{ap / ref_ap:>12.3f} {ratio_t:>10.1f}x   (n={len(r['auprc'])})"
            )
    print()


# ----------------------------------------------------------------------------- 2 · scale


def synthetic(rows: int, seed: int = 0):
    """ULB-like: 28 standardised components, a heavy-tailed amount, time in seconds; frauds shifted on a few."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < 0.002).astype(np.int8)
    data = {"Time": np.sort(rng.uniform(0, 172_800, rows))}
    shift = {14: -4.0, 12: -3.0, 10: -2.5, 4: 2.5, 11: 2.0, 17: -3.0}
    for j in range(1, 29):
        v = rng.normal(size=rows)
        if j in shift:
            v += shift[j] * y * rng.uniform(0.3, 1.5, rows)
        data[f"V{j}"] = v
    data["V3"] += 0.5 * data["V1"] * data["V2"]  # some interaction
    data["Amount"] = np.round(rng.gamma(1.2, 70.0, rows) * np.where(y == 1, rng.uniform(0.2, 3, rows), 1.0), 2)
    data["Class"] = y
    return pd.DataFrame(data)


def scale_child(rows: int, device: str, threads: int) -> None:
    """Runs in its own process: build the table, fit, score; print one JSON line."""
    os.environ["EXPLORER_DEVICE"] = device
    import torch

    if threads:
        torch.set_num_threads(threads)
    from engine import fraud as fr
    from engine.device import describe

    t0 = time.perf_counter()
    df = synthetic(rows)
    t_data = time.perf_counter() - t0
    rss_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cols = fr.default_columns(df)
    t0 = time.perf_counter()
    m = fr.fit(df, cols, fr.FraudConfig(max_seconds=240.0))
    t_fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    scores = m.scores(df)
    t_score = time.perf_counter() - t0
    ev = m.evaluate(m.default_costs)
    print(
        json.dumps(
            {
                "device": describe(),
                "torch_threads": torch.get_num_threads(),
                "rows": rows,
                "cols": df.shape[1] - 1,
                "data_s": t_data,
                "fit_s": t_fit,
                "score_s": t_score,
                "scored": int(len(scores)),
                "epochs": len(m.history.epochs),
                "stopped": m.history.stopped,
                "timings": m.timings,
                "auprc": {k: v["auprc"] for k, v in ev.items()},
                "fraud_rate": ev[fr.CLASSIFIER]["fraud_rate"],
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "rss_after_data_mb": rss_data,
            }
        )
    )


def scale_run(rows: int, device: str, threads: int) -> dict | None:
    env = dict(os.environ)
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(rows), "--device", device, "--threads", str(threads)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        print(f"scale run on {device} failed:\n{proc.stderr[-2000:]}")
        return None
    return json.loads(lines[-1])


def print_scale(r: dict) -> None:
    print(
        f"## Scale: {r['rows']:,} rows x {r['cols']} columns ({100 * r['fraud_rate']:.2f}% fraud) on {r['device']}, torch threads {r['torch_threads']}\n"
    )
    print(f"{'model':<30} {'fit s':>8} {'train rows/s':>13} {'AUPRC':>7} {'time vs LR':>11}")
    n_train = int(r["rows"] * 0.75 * 0.8)
    lr = r["timings"].get("Logistic regression")
    for name, s in r["timings"].items():
        print(
            f"{name:<30} {s:>8.1f} {n_train / s:>13,.0f} {r['auprc'].get(name, float('nan')):>7.3f} "
            f"{s / lr if lr else float('nan'):>10.1f}x"
        )
    print("(the label-free reference autoencoder learns from a sample of at most 200,000 training rows)")
    print(f"\nneural network: {r['epochs']} epochs ({r['stopped']})")
    print(
        f"whole fit (prepare, split, preprocess, 4 models, metrics): {r['fit_s']:.1f} s; "
        f"scoring all {r['scored']:,} rows: {r['score_s']:.1f} s ({r['scored'] / r['score_s']:,.0f} rows/s)"
    )
    print(
        f"peak memory (RSS): {r['peak_rss_mb']:,.0f} MB (of which the table itself: {r['rss_after_data_mb']:,.0f} MB) "
        f"— goal ≤ 4,096 MB: {'met' if r['peak_rss_mb'] <= 4096 else 'MISSED'}\n"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--quick", action="store_true", help="2 seeds and a 200,000-row scale run (about 3 minutes on 2 cores)"
    )
    ap.add_argument("--device", default=os.environ.get("EXPLORER_DEVICE", "auto"), help="auto, cpu or cuda")
    ap.add_argument(
        "--rows", type=int, default=None, help="rows of the scale run (default 1,000,000; 200,000 with --quick)"
    )
    ap.add_argument("--seeds", type=int, default=None)
    ap.add_argument("--skip-sample", action="store_true")
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads in the scale run (0: torch's default). "
        "1 is the default: the page's small MLPs gain nothing from more, and on a busy 2-core machine "
        "2 threads ran 7-40x slower per step than 1",
    )
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        scale_child(args.child, args.device, args.threads)
        return
    import torch

    seeds = args.seeds or (2 if args.quick else 5)
    rows = args.rows or (200_000 if args.quick else 1_000_000)
    os.environ["EXPLORER_DEVICE"] = "cpu" if args.device == "auto" else args.device
    print(
        f"# Fraud benchmark — {os.cpu_count()} CPU cores (load average {os.getloadavg()[0]:.1f}), torch "
        f"{torch.__version__}, CUDA {'available' if torch.cuda.is_available() else 'not available'}\n"
    )
    if not args.skip_sample:
        print_sample(sample_runs(seeds), seeds)
    devices = ["cpu"] if args.device in ("auto", "cpu") else [args.device]
    if args.device == "auto" and torch.cuda.is_available():
        devices.append("cuda")
    if args.device == "cuda" and "cpu" not in devices:
        devices.insert(0, "cpu")
    runs = {}
    for device in devices:
        r = scale_run(rows, device, args.threads)
        if r:
            runs[device] = r
            print_scale(r)
    if "cpu" in runs and "cuda" in runs:
        c, g = runs["cpu"], runs["cuda"]
        print("## GPU vs CPU (same rows, same settings)\n")
        for name in c["timings"]:
            print(
                f"{name:<30} CPU {c['timings'][name]:>7.1f} s   GPU {g['timings'][name]:>7.1f} s   "
                f"speed-up {c['timings'][name] / g['timings'][name]:>5.1f}x"
            )
        print(
            f"{'whole fit':<30} CPU {c['fit_s']:>7.1f} s   GPU {g['fit_s']:>7.1f} s   speed-up {c['fit_s'] / g['fit_s']:>5.1f}x"
        )
        print(
            f"{'scoring':<30} CPU {c['score_s']:>7.1f} s   GPU {g['score_s']:>7.1f} s   speed-up {c['score_s'] / g['score_s']:>5.1f}x"
        )


if __name__ == "__main__":
    main()
