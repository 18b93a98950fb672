"""Segmentation benchmark: the engine's torch k-means vs scikit-learn KMeans, same data, k, restarts and tolerance.

1. Synthetic customers: 100,000 and 1,000,000 rows x 8 features (8 overlapping blobs), k = 8.
   Wall time and inertia of torch k-means on the CPU (and on CUDA when available) against
   scikit-learn's KMeans (Lloyd) on the CPU, measured in the same run, printed as ratios.
   Goals: inertia <= 1.01x scikit-learn; CPU time <= 1.0x; CUDA >= 20x faster than scikit-learn.
2. The shipped sample (UCI Online Retail transactions): the whole `segmentation.fit` (RFM, k scan
   2..10 with silhouette, final k-means, baseline) on each device, and its inertia ratio.

    python bench/segmentation.py [--quick] [--device auto|cpu|cuda] [--restarts 10] [--repeats 3]

Needs only numpy, pandas, torch and scikit-learn (no streamlit, plotly or shap).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def blobs(n: int, d: int = 8, k: int = 8, seed: int = 0) -> np.ndarray:
    from sklearn.datasets import make_blobs

    X, _ = make_blobs(n, d, centers=k, cluster_std=2.5, center_box=(-10, 10), random_state=seed)
    return X.astype(np.float32)


def best_of(fn, repeats: int):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def compare(X: np.ndarray, k: int, restarts: int, repeats: int, devices: list) -> list[dict]:
    import torch
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    from engine.segmentation import kmeans

    t_sk, sk = best_of(
        lambda: KMeans(n_clusters=k, n_init=restarts, max_iter=300, tol=1e-4, random_state=0).fit(X), repeats
    )
    rows = [
        dict(
            method="scikit-learn KMeans",
            device="cpu",
            seconds=t_sk,
            inertia=float(sk.inertia_),
            ari=1.0,
            iters=int(sk.n_iter_),
        )
    ]
    for device in devices:

        def run(device=device):
            res = kmeans(X, k, restarts=restarts, max_iter=300, tol=1e-4, seed=0, device=device)
            sync(device)
            return res

        run()  # warm-up (kernels, allocator); the first CUDA call also pays for context start-up
        t, res = best_of(run, repeats)
        rows.append(
            dict(
                method="torch k-means",
                device=str(device),
                seconds=t,
                inertia=res.inertia,
                ari=float(adjusted_rand_score(sk.labels_, res.labels.cpu().numpy())),
                iters=res.n_iter,
            )
        )
        del res
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return rows


def print_rows(title: str, rows: list[dict]) -> None:
    base = rows[0]
    print(f"\n{title}")
    print(
        f"{'method':<22}{'device':<8}{'seconds':>10}{'iters':>7}{'inertia':>16}{'time vs sklearn':>17}"
        f"{'inertia ratio':>15}{'ARI vs sklearn':>16}"
    )
    for r in rows:
        speed = base["seconds"] / r["seconds"]
        print(
            f"{r['method']:<22}{r['device']:<8}{r['seconds']:>10.3f}{r['iters']:>7}{r['inertia']:>16,.1f}"
            f"{r['seconds'] / base['seconds']:>16.2f}x{r['inertia'] / base['inertia']:>15.4f}{r['ari']:>16.3f}"
            + (f"   ({speed:.1f}x faster)" if speed > 1 and r is not base else "")
        )


def sample_pipeline(devices: list) -> None:
    from engine import segmentation as seg
    from engine.data import load_table

    df = load_table(ROOT / "sample_data" / "online_retail_transactions.csv.gz").df
    cols = seg.default_columns(df)
    print("\nShipped sample (UCI Online Retail, 159,926 rows): the whole fit (RFM, k scan 2..10, k-means, baseline)")
    print(
        f"{'device':<8}{'fit seconds':>12}{'k':>4}{'torch k-means s':>17}{'sklearn s':>11}{'inertia ratio':>15}"
        f"{'ARI':>7}{'silhouette':>12}"
    )
    for device in devices:
        os.environ["EXPLORER_DEVICE"] = device.type
        seg.fit(df, cols)  # warm-up
        t0 = time.perf_counter()
        m = seg.fit(df, cols)
        t = time.perf_counter() - t0
        print(
            f"{device.type:<8}{t:>12.2f}{m.k:>4}{m.timings[seg.MODEL]:>17.3f}{m.timings[seg.BASELINE]:>11.3f}"
            f"{m.metrics['inertia_ratio']:>15.4f}{m.metrics['ari_vs_baseline']:>7.3f}{m.metrics['silhouette']:>12.3f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--quick", action="store_true", help="100,000 rows only, fewer repeats (under ~3 minutes on 2 cores)"
    )
    ap.add_argument(
        "--device",
        default="auto",
        choices=["auto", "cpu", "cuda"],
        help="torch device(s): auto = the CPU, plus CUDA when available",
    )
    ap.add_argument("--restarts", type=int, default=10, help="k-means++ restarts for both methods (the page's default)")
    ap.add_argument("--repeats", type=int, default=None, help="timed runs per measurement (best is kept)")
    ap.add_argument(
        "--threads",
        type=int,
        default=None,
        help="CPU threads for both torch and scikit-learn (default: all cores). On a shared, busy machine "
        "1 thread gives steadier figures: spinning OpenMP threads suffer most from contention.",
    )
    args = ap.parse_args()

    import sklearn
    import torch
    from threadpoolctl import threadpool_info, threadpool_limits

    if args.threads:
        torch.set_num_threads(args.threads)
        threadpool_limits(args.threads)

    devices = []
    if args.device in ("auto", "cpu"):
        devices.append(torch.device("cpu"))
    if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            sys.exit("--device cuda: no CUDA device is visible")
        devices.append(torch.device("cuda"))
    sizes = [100_000] if args.quick else [100_000, 1_000_000]
    repeats = args.repeats or (2 if args.quick else 3)
    blas = {i.get("internal_api") for i in threadpool_info()}
    print(
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), scikit-learn {sklearn.__version__} "
        f"({', '.join(sorted(b for b in blas if b))}), {os.cpu_count()} CPU cores"
        + (f", GPU: {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ", no GPU")
        + f"; load average {os.getloadavg()[0]:.1f} when starting"
    )
    print(
        f"k = 8, {args.restarts} restarts (k-means++), max_iter 300, tol 1e-4 for both; best of {repeats} runs; "
        "torch timings include moving the data to the device and back.\n"
        "iters: scikit-learn's best run; torch runs all restarts together, so its count is the slowest restart's."
    )
    for n in sizes:
        X = blobs(n)
        reps = repeats if n <= 100_000 else max(1, repeats - 1)
        rows = compare(X, 8, args.restarts, reps, devices)
        print_rows(f"{n:,} rows x 8 features", rows)
        if n == 100_000 and not args.quick:
            print_rows(f"{n:,} rows x 8 features, 1 restart", compare(X, 8, 1, reps, devices))
    sample_pipeline(devices)


if __name__ == "__main__":
    main()
