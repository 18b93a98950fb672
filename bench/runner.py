"""Runner benchmark: what sending training jobs to Ray costs and buys, against the thread runner.

Measured in one run, printed as ratios against the thread runner (or one worker):
1. per-job overhead on a tiny job (one epoch of Diagnosis), warm workers, median of repeats;
2. one real Diagnosis and one real Fraud job (page defaults, sample data), local vs Ray;
3. N concurrent Diagnosis jobs on a Ray instance with 1 CPU vs 2 CPUs (throughput);
4. data-parallel training: the one-worker loop vs Ray Train with 1 and 2 CPU workers (gloo) on a
   synthetic table: start-up time, seconds per epoch, and the break-even size that follows.

    python bench/runner.py [--quick] [--jobs 4] [--rows 200000]

Starts its own local Ray instances (address="local"); needs the ray extra (pip install -e '.[ray]').
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)  # Ray workers start in the driver's directory and import this checkout's engine


def _samples():
    from engine.data import load_table

    heart = load_table(ROOT / "sample_data/heart_disease_cleveland.csv").df
    cards = load_table(ROOT / "sample_data/creditcard_transactions.csv").df
    return heart, cards


def _timed(runner, fn, *args, **kwargs) -> float:
    t = time.perf_counter()
    job = runner.submit(fn, *args, **kwargs)
    job.wait()
    if job.status != "done":
        raise SystemExit(f"job failed: {job.status} {job.error}")
    return time.perf_counter() - t


def _ray(cpus: int):
    import ray

    if ray.is_initialized():
        ray.shutdown()
    t = time.perf_counter()
    ray.init(
        address="local", num_cpus=cpus, include_dashboard=False, log_to_driver=False, object_store_memory=500 * 1024**2
    )
    from engine.ray_runner import RayRunner

    return RayRunner(), time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats, a smaller table")
    ap.add_argument("--jobs", type=int, default=4, help="concurrent jobs in part 3")
    ap.add_argument("--rows", type=int, default=200_000, help="rows of the synthetic table in part 4")
    args = ap.parse_args()
    repeats = 3 if args.quick else 7
    rows = min(args.rows, 60_000) if args.quick else args.rows

    import torch

    from engine import diagnosis as dx
    from engine import fraud as fr
    from engine.jobs import JobRunner

    torch.set_num_threads(1)  # the same one thread a one-CPU Ray task gets
    heart, cards = _samples()
    dcols, fcols = dx.default_columns(heart), fr.default_columns(cards)
    tiny = dx.DiagnosisConfig(max_epochs=1, bootstrap=0)
    print(
        f"# Runner benchmark — {os.cpu_count()} CPU cores (load average {os.getloadavg()[0]:.1f}), torch "
        f"{torch.__version__}, 1 torch thread per job\n"
    )

    local = JobRunner(max_workers=1)
    ray_runner, start_s = _ray(2)
    print(f"Ray local instance (2 CPUs) started in {start_s:.1f} s")

    # 1. overhead on a tiny job
    cold = _timed(ray_runner, dx.fit, heart, dcols, tiny)
    _timed(local, dx.fit, heart, dcols, tiny)
    loc = statistics.median(_timed(local, dx.fit, heart, dcols, tiny) for _ in range(repeats))
    rem = statistics.median(_timed(ray_runner, dx.fit, heart, dcols, tiny) for _ in range(repeats))
    print("\n## 1. Per-job overhead, tiny job (Diagnosis, 1 epoch), median of", repeats)
    print(f"{'runner':<28}{'seconds':>9}{'vs local':>10}")
    print(f"{'local threads':<28}{loc:>9.2f}{1.0:>9.2f}x")
    print(f"{'Ray, warm worker':<28}{rem:>9.2f}{rem / loc:>9.2f}x   overhead {rem - loc:+.2f} s per job")
    print(
        f"{'Ray, first job (cold)':<28}{cold:>9.2f}{cold / loc:>9.2f}x   (a fresh worker imports torch and the engine)"
    )

    # 2. real jobs
    print("\n## 2. Real jobs on sample data, page defaults (one run each, warm workers)")
    print(f"{'job':<28}{'local s':>9}{'Ray s':>9}{'Ray/local':>11}")
    real = {}
    for name, fn, df, cols, cfg in [
        ("Diagnosis (303 patients)", dx.fit, heart, dcols, dx.DiagnosisConfig()),
        ("Fraud (1,774 transactions)", fr.fit, cards, fcols, fr.FraudConfig()),
    ]:
        lo = _timed(local, fn, df, cols, cfg)
        ra = _timed(ray_runner, fn, df, cols, cfg)
        real[name] = ra
        print(f"{name:<28}{lo:>9.1f}{ra:>9.1f}{ra / lo:>10.2f}x")

    # 3. N concurrent jobs on 1 vs 2 CPUs
    cfg = dx.DiagnosisConfig(max_epochs=150, patience=150, bootstrap=0)
    through = {}
    for cpus in (1, 2):
        runner, _ = _ray(cpus)
        _timed(runner, dx.fit, heart, dcols, tiny)  # warm one worker
        t = time.perf_counter()
        jobs = [runner.submit(dx.fit, heart, dcols, dataclasses.replace(cfg, seed=i)) for i in range(args.jobs)]
        for job in jobs:
            job.wait()
        through[cpus] = time.perf_counter() - t
    print(f"\n## 3. {args.jobs} concurrent Diagnosis jobs (150 epochs each) on a Ray instance with 1 vs 2 CPUs")
    print(f"{'Ray CPUs':<28}{'wall s':>9}{'jobs/h':>9}{'speed-up':>10}")
    for cpus, s in through.items():
        print(f"{cpus:<28}{s:>9.1f}{3600 * args.jobs / s:>9,.0f}{through[1] / s:>9.2f}x")

    # 4. data-parallel training
    from engine.distributed import fit_data_parallel, use_workers
    from engine.models import TabularMLP
    from engine.training import TrainConfig, fit_model

    ray_runner, _ = _ray(2)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 30)).astype(np.float32)
    y = ((X[:, :5].sum(1) + rng.normal(size=rows)) > 0).astype(np.float32)[:, None]
    cut = int(rows * 0.9)
    epochs = 3 if args.quick else 5
    tc = TrainConfig(max_epochs=epochs, patience=epochs + 1, batch_size=256, seed=0)
    bce = torch.nn.BCEWithLogitsLoss()
    times: dict[str, tuple[float, float, float]] = {}
    for label, workers in [
        ("one-worker loop (this process)", 0),
        ("Ray Train, 1 worker", 1),
        ("Ray Train, 2 workers", 2),
    ]:
        net = TabularMLP(30, 1, (64, 32), 0.1)
        events: list[tuple[float, dict]] = []
        t = time.perf_counter()
        record = lambda e, events=events: events.append((time.perf_counter(), e))  # noqa: E731
        if workers == 0:
            hist = fit_model(net, (X[:cut], y[:cut]), (X[cut:], y[cut:]), bce, tc, progress=record)
        else:
            with use_workers(workers):
                hist = fit_data_parallel(net, (X[:cut], y[:cut]), (X[cut:], y[cut:]), bce, tc, progress=record)
        total = time.perf_counter() - t
        stamps = [s for s, e in events if "epoch" in e and "train_loss" in e]
        per_epoch = (stamps[-1] - stamps[0]) / max(len(stamps) - 1, 1) if len(stamps) > 1 else hist.seconds / epochs
        startup = stamps[0] - t - per_epoch if stamps else total
        times[label] = (startup, per_epoch, min(e["val_loss"] for e in hist.epochs))
    base = times["one-worker loop (this process)"][1]
    print(f"\n## 4. Data-parallel training, {rows:,} rows x 30 columns, MLP 64-32, batch 256, {epochs} epochs")
    print(f"{'how':<34}{'start-up s':>11}{'s/epoch':>9}{'epoch speed-up':>16}{'best val loss':>15}")
    for label, (startup, per_epoch, best) in times.items():
        print(f"{label:<34}{max(startup, 0):>11.1f}{per_epoch:>9.2f}{base / per_epoch:>15.2f}x{best:>15.4f}")
    s2, e2, _ = times["Ray Train, 2 workers"]
    saved_per_row_epoch = (base - e2) / rows
    if saved_per_row_epoch > 0:
        print(
            f"break-even: 2 workers pay back their {s2:.0f} s start-up after {s2 / (base - e2):,.0f} epochs on "
            f"this table, or on one 50-epoch run of about {s2 / (50 * saved_per_row_epoch):,.0f} rows"
        )
    else:
        print(
            "break-even: none on this machine — two workers are not faster per epoch than one here "
            "(both ranks share the same cores); data-parallel pays only with a CPU (or GPU) per worker to spare"
        )

    # capacity per worker, from part 2
    print("\n## Capacity from part 2 (one job per CPU worker at a time)")
    for name, s in real.items():
        print(f"{name:<28}{s:>7.1f} s per job  ->  about {3600 / s:,.0f} jobs per hour per worker")
    import ray

    ray.shutdown()


if __name__ == "__main__":
    main()
