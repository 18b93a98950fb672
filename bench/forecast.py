"""Demand forecast benchmark: the global neural forecaster vs seasonal naive vs AutoETS on the same backtest windows.

1. The shipped sample (UCI Online Retail, 30 products × 374 days) and Rossmann (50 stores × 942 days, read from
   ../shared/datasets/demand_forecasting when present, never copied): MASE, sMAPE, interval coverage and fit time
   of each model on the same rolling-origin windows; the headline is MASE relative to seasonal naive (goal ≤ 0.85).
2. A synthetic 1,000-series daily dataset, timed end to end (prepare, train, backtest, refit, forecast), on the CPU
   and, when CUDA is available, on the GPU too, with the GPU/CPU ratio.

    python bench/forecast.py [--quick] [--device auto|cpu|cuda] [--seeds 3] [--rossmann PATH]

Needs only the engine (numpy, pandas, torch; statsforecast for AutoETS — skipped with a note when absent).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SAMPLE = ROOT / "sample_data" / "online_retail_daily_product_units.csv"
ROSSMANN = [ROOT / "shared" / "datasets" / "demand_forecasting" / "rossmann_daily_store_sales.csv",
            ROOT.parent / "shared" / "datasets" / "demand_forecasting" / "rossmann_daily_store_sales.csv"]


def synthetic(n_series: int, days: int, seed: int = 0) -> pd.DataFrame:
    """Daily units with a weekly pattern, a yearly season, promotions (known ahead), Sunday closures and noise."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2022-01-03", periods=days, freq="D")
    level = rng.lognormal(3.0, 1.0, n_series)[:, None]
    weekly = 1 + rng.uniform(0.1, 0.6, n_series)[:, None] * np.sin(2 * np.pi * (dates.dayofweek.to_numpy()[None, :] + rng.uniform(0, 7, (n_series, 1))) / 7)
    yearly = 1 + rng.uniform(0, 0.4, n_series)[:, None] * np.sin(2 * np.pi * (dates.dayofyear.to_numpy()[None, :] / 365.25 + rng.uniform(0, 1, (n_series, 1))))
    promo = (rng.random((n_series, days)) < 0.1).astype(int)
    open_ = np.broadcast_to((dates.dayofweek.to_numpy() != 6).astype(int), (n_series, days))
    mean = level * weekly * yearly * (1 + 0.8 * promo) * open_
    units = rng.poisson(mean)
    return pd.DataFrame({
        "date": np.tile(dates.strftime("%Y-%m-%d"), n_series),
        "item": np.repeat([f"item{i:04d}" for i in range(n_series)], days),
        "units": units.ravel(), "promo": promo.ravel(), "open": open_.ravel(),
    })


def naive_seconds(model, df, columns) -> float:
    """Seasonal naive over the same windows, timed on its own (the engine computes it inside fit)."""
    from engine import forecast as fc

    panel = fc.prepare(df, columns, model.config)
    t0 = time.perf_counter()
    for s in panel.series:
        for j in range(model.config.backtest_windows):
            fc.seasonal_naive(s.y, s.n - (model.config.backtest_windows - j) * model.horizon, model.horizon, panel.freq.season)
    return time.perf_counter() - t0


def accuracy(title: str, df: pd.DataFrame, columns, config, seeds: int) -> None:
    from engine import forecast as fc

    rows: dict[str, dict[str, list[float]]] = {}
    for seed in range(seeds):
        t0 = time.perf_counter()
        model = fc.fit(df, columns, config.__class__(**{**config.__dict__, "seed": seed}))
        total = time.perf_counter() - t0
        secs = {fc.MODEL: model.timings[fc.MODEL], fc.SNAIVE: naive_seconds(model, df, columns),
                fc.ETS: model.timings.get(fc.ETS, float("nan"))}
        for name, m in {fc.MODEL: model.metrics, **model.baseline_metrics}.items():
            r = rows.setdefault(name, {"mase": [], "smape": [], "coverage": [], "seconds": []})
            for k in ("mase", "smape", "coverage"):
                r[k].append(m.get(k, float("nan")))
            r["seconds"].append(secs[name])
        skipped = [n for n in model.notes if "AutoETS baseline was skipped" in n]
    H, k = model.horizon, model.config.backtest_windows
    print(f"\n## {title}: {len(model.ids)} series, backtest {k} × {H} {model.freq.unit}s, {seeds} seed(s); "
          f"whole fit {total:.1f} s (last seed)")
    print(f"{'model':<34} {'MASE':>14} {'sMAPE %':>8} {'80% cov':>8} {'fit s':>8} {'MASE vs naive':>14}")
    naive = np.mean(rows[fc.SNAIVE]["mase"])
    for name, r in rows.items():
        mase, sd = np.mean(r["mase"]), np.std(r["mase"])
        cov = np.nanmean(r["coverage"]) if np.isfinite(r["coverage"]).any() else float("nan")
        print(f"{name:<34} {mase:>7.3f} ± {sd:.3f} {np.mean(r['smape']):>8.2f} {cov:>8.3f} {np.mean(r['seconds']):>8.2f} {mase / naive:>14.3f}")
    for note in skipped:
        print(f"  note: {note}")
    if fc.ETS not in rows and not skipped:
        print("  note: AutoETS not run")
    print(f"  headline: neural MASE / seasonal-naive MASE = {np.mean(rows[fc.MODEL]['mase']) / naive:.3f} (goal ≤ 0.85)")


def scale_run(n_series: int, days: int, device: str, max_epochs: int) -> dict[str, float]:
    from engine import forecast as fc

    os.environ["EXPLORER_DEVICE"] = device
    df = synthetic(n_series, days)
    cols = fc.ForecastColumns("date", "units", ("item",), drivers=("promo",), open_flag="open")
    cfg = fc.ForecastConfig(ets=False, max_epochs=max_epochs, max_seconds=600)
    t0 = time.perf_counter()
    model = fc.fit(df, cols, cfg)
    total = time.perf_counter() - t0
    out = {**model.timings, "total": total, "epochs": len(model.history.epochs), "rows": len(df)}
    out["mase ratio"] = model.metrics["mase"] / model.baseline_metrics[fc.SNAIVE]["mase"]
    out["windows"] = next((int(n.split()[2].replace(",", "")) for n in model.notes if n.startswith("Trained on")), 0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 seed, fewer stores and epochs (under ~3 minutes on 2 cores)")
    ap.add_argument("--device", default=os.environ.get("EXPLORER_DEVICE", "auto"), choices=["auto", "cpu", "cuda"])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--rossmann", default=os.environ.get("ROSSMANN_CSV", ""))
    args = ap.parse_args()
    os.environ["EXPLORER_DEVICE"] = args.device
    import torch

    from engine import forecast as fc
    from engine.device import describe

    seeds = 1 if args.quick else args.seeds
    print(f"# Demand forecast benchmark — device: {describe()} — torch {torch.__version__}, {torch.get_num_threads()} threads")
    sample = pd.read_csv(SAMPLE)
    accuracy("Online Retail sample (shipped)", sample, fc.default_columns(sample),
             fc.ForecastConfig(max_epochs=80 if args.quick else 150), seeds)

    path = Path(args.rossmann) if args.rossmann else next((p for p in ROSSMANN if p.exists()), None)
    if path is None or not path.exists():
        print("\n## Rossmann: skipped (../shared/datasets/demand_forecasting/rossmann_daily_store_sales.csv not found)")
    else:
        ross = pd.read_csv(path)
        if args.quick:
            ross = ross[ross["store"].isin(sorted(ross["store"].unique())[:15])]
        cols = fc.default_columns(ross)
        cols = fc.ForecastColumns(**{**cols.__dict__, "missing_dates_as_zero": False})  # a 6-month gap is not zero sales
        accuracy(f"Rossmann ({path.name}{', first 15 stores' if args.quick else ''})", ross, cols,
                 fc.ForecastConfig(max_epochs=40 if args.quick else 150), seeds)

    n, days, epochs = (1000, 365, 5) if args.quick else (1000, 730, 60)
    devices = ["cpu", "cuda"] if args.device == "auto" and torch.cuda.is_available() else [
        "cuda" if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()) else "cpu"]
    print(f"\n## Scale: {n:,} synthetic daily series × {days} days ({n * days:,} rows), promo + open drivers, "
          f"at most {epochs} epochs, AutoETS off (one fit per series and window)")
    print(f"{'device':<8} {'total s':>8} {'train s':>8} {'refit s':>8} {'epochs':>7} {'windows':>9} {'windows/s':>10} {'MASE vs naive':>14}")
    res = {}
    for device in devices:
        r = scale_run(n, days, device, epochs)
        res[device] = r
        train = r.get("train backtest network", 0) + r.get("refit on the whole history", 0)
        print(f"{device:<8} {r['total']:>8.1f} {r.get('train backtest network', 0):>8.1f} {r.get('refit on the whole history', 0):>8.1f} "
              f"{int(r['epochs']):>7} {int(r['windows']):>9,} {r['windows'] * r['epochs'] / max(train, 1e-9):>10,.0f} {r['mase ratio']:>14.3f}")
    if len(res) == 2:
        print(f"GPU vs CPU: end to end {res['cpu']['total'] / res['cuda']['total']:.1f}× faster, training "
              f"{(res['cpu']['train backtest network'] + res['cpu'].get('refit on the whole history', 0)) / (res['cuda']['train backtest network'] + res['cuda'].get('refit on the whole history', 0)):.1f}× faster")


if __name__ == "__main__":
    main()
