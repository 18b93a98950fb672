"""Demand forecast benchmark: the network, AutoETS, seasonal naive, their combination and the page's choice, on
the same backtest windows, per set and frequency (issue 17).

1. Sets: the shipped sample (Online Retail, 30 products × 374 days) daily and added up to weeks; Rossmann
   (../shared/datasets/demand_forecasting, read in place, never copied) daily, weekly and monthly; the airline
   series monthly. One setting per frequency (daily 3 × 14 days, weekly 2 × 8 weeks, monthly 2 × 3 months).
   Printed per set: MASE of each, the ratios choice ÷ best baseline (goal ≤ 1.0) and network ÷ AutoETS, an
   out-of-sample check of the choice (picked on earlier windows, scored on the last), 80% coverage of the choice.
2. --scale: 1,000 synthetic daily series timed end to end on the CPU and, when CUDA is available, on the GPU.

    python bench/forecast.py [--quick] [--only weekly] [--seeds 3] [--scale] [--device auto|cpu|cuda]

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


def synthetic(n_series: int, days: int, seed: int = 0) -> pd.DataFrame:
    """Daily units with a weekly pattern, a yearly season, promotions (known ahead), Sunday closures and noise."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2022-01-03", periods=days, freq="D")
    level = rng.lognormal(3.0, 1.0, n_series)[:, None]
    weekly = 1 + rng.uniform(0.1, 0.6, n_series)[:, None] * np.sin(
        2 * np.pi * (dates.dayofweek.to_numpy()[None, :] + rng.uniform(0, 7, (n_series, 1))) / 7
    )
    yearly = 1 + rng.uniform(0, 0.4, n_series)[:, None] * np.sin(
        2 * np.pi * (dates.dayofyear.to_numpy()[None, :] / 365.25 + rng.uniform(0, 1, (n_series, 1)))
    )
    promo = (rng.random((n_series, days)) < 0.1).astype(int)
    open_ = np.broadcast_to((dates.dayofweek.to_numpy() != 6).astype(int), (n_series, days))
    mean = level * weekly * yearly * (1 + 0.8 * promo) * open_
    units = rng.poisson(mean)
    return pd.DataFrame(
        {
            "date": np.tile(dates.strftime("%Y-%m-%d"), n_series),
            "item": np.repeat([f"item{i:04d}" for i in range(n_series)], days),
            "units": units.ravel(),
            "promo": promo.ravel(),
            "open": open_.ravel(),
        }
    )


SETS_DIR = [
    ROOT / "shared" / "datasets" / "demand_forecasting",
    ROOT.parent / "shared" / "datasets" / "demand_forecasting",
]
# one setting per frequency, for every set of that frequency (not tuned to a set)
FREQ_CONFIG = {
    "daily": dict(horizon=14, backtest_windows=3),
    "weekly": dict(horizon=8, backtest_windows=2),
    "monthly": dict(horizon=3, backtest_windows=2),
}


def aggregate(
    df: pd.DataFrame, date: str, ids: list[str], target: str, sums: dict[str, str], kind: str
) -> pd.DataFrame:
    """Daily rows → weekly (weeks starting Monday) or monthly totals; drivers become counts of days (promo days,
    open days). Periods with a missing day (the edges, a gap in the file) are left out, not summed short."""
    d = pd.to_datetime(df[date])
    period = d.dt.to_period("W-SUN").dt.start_time if kind == "weekly" else d.dt.to_period("M").dt.start_time
    full = 7 if kind == "weekly" else period.dt.days_in_month
    frame = df.assign(_period=period, _full=full, _days=1)
    agg = {target: "sum", "_days": "sum", "_full": "first", **{c: "sum" for c in sums}}
    out = frame.groupby([*ids, "_period"], as_index=False).agg(agg)
    out = out[out["_days"] == out["_full"]].drop(columns=["_days", "_full"]).rename(columns={"_period": "date", **sums})
    out["date"] = out["date"].dt.strftime("%Y-%m-%d")
    return out


def benchmark_sets(quick: bool) -> list[tuple[str, pd.DataFrame, object]]:
    """(title, table, columns) of every set: the shipped sample and the shared data, daily, weekly and monthly."""
    from engine import forecast as fc

    sets = []
    retail = pd.read_csv(SAMPLE)
    sets.append(("Online Retail · daily", retail, fc.default_columns(retail)))
    weekly = aggregate(retail, "date", ["stock_code"], "units", {"shop_open": "open_days"}, "weekly")
    sets.append(
        ("Online Retail · weekly", weekly, fc.ForecastColumns("date", "units", ("stock_code",), ("open_days",)))
    )
    folder = next((p for p in SETS_DIR if p.exists()), None)
    if folder is None:
        print("\n(shared data not found: Rossmann and airline sets skipped)")
        return sets
    ross = pd.read_csv(folder / "rossmann_daily_store_sales.csv")
    stores = sorted(ross["store"].unique())
    daily = ross[ross["store"].isin(stores[:15])] if quick else ross
    cols = fc.ForecastColumns(
        "date", "sales", ("store",), ("promo", "stateholiday", "schoolholiday"), "open", missing_dates_as_zero=False
    )  # a 6-month gap is not zero sales
    sets.append((f"Rossmann · daily{' (15 stores)' if quick else ''}", daily, cols))
    ross = ross.assign(holiday=(ross["stateholiday"].astype(str) != "0").astype(int))
    some = ross[ross["store"].isin(stores[:25])] if quick else ross
    drivers = {"promo": "promo_days", "open": "open_days", "holiday": "holiday_days"}
    wcols = fc.ForecastColumns("date", "sales", ("store",), tuple(drivers.values()), missing_dates_as_zero=False)
    sets.append(
        (
            f"Rossmann · weekly{' (25 stores)' if quick else ''}",
            aggregate(some, "date", ["store"], "sales", drivers, "weekly"),
            wcols,
        )
    )
    sets.append(
        (
            f"Rossmann · monthly{' (25 stores)' if quick else ''}",
            aggregate(some, "date", ["store"], "sales", drivers, "monthly"),
            wcols,
        )
    )
    air = pd.read_csv(folder / "airline_passengers_monthly.csv")
    air = air.assign(month=pd.to_datetime(air["month"]).dt.strftime("%Y-%m-%d"))
    sets.append(("Airline passengers · monthly", air, fc.ForecastColumns("month", "passengers")))
    return sets


def later_window_choice(model) -> tuple[float, float] | None:
    """An out-of-sample check of the choice: pick each series' method (the page's rule) on all windows but the last,
    score it on the last; returns (choice MASE, best baseline MASE) on that last window, or None with one window."""
    from engine import forecast as fc
    from engine.forecast import choose as ch

    bt, k = model.backtest, model.config.backtest_windows
    if k < 2:
        return None
    cols = {fc.MODEL: "model", fc.SNAIVE: "snaive", ch.COMBO: "combo", **({fc.ETS: "ets"} if "ets" in bt else {})}
    per = model.per_series[fc.SNAIVE]
    den = pd.Series(
        [a / b if a is not None and b else np.nan for a, b in zip(per["mae"], per["mase"])], index=model.ids
    )

    def mase(part: pd.DataFrame) -> dict[str, pd.Series]:
        part = part[part["evaluated"]]
        out = {}
        for name, c in cols.items():
            out[name] = (part[c] - part["actual"]).abs().groupby(part["series"]).mean().reindex(model.ids)
        return out

    early, last = mase(bt[bt["window"] < k]), mase(bt[bt["window"] == k])
    overall, picks = ch.choose(
        {n: v.to_numpy() for n, v in early.items()}, {n: float((v / den).mean()) for n, v in early.items()}, k - 1
    )
    chosen = pd.Series([last[p].iloc[i] for i, p in enumerate(picks)], index=model.ids)
    base = min(float((last[n] / den).mean()) for n in (fc.SNAIVE, fc.ETS) if n in last)
    return float((chosen / den).mean()), base


def accuracy(title: str, df: pd.DataFrame, columns, quick: bool, seeds: int) -> dict[str, float]:
    """One set: every candidate's MASE on the same windows, the page's choice, and the ratios of the issue."""
    from engine import forecast as fc

    freq = fc.frequency_of(df, columns).name
    base = fc.ForecastConfig(**FREQ_CONFIG[freq])
    epochs = {"daily": 80, "weekly": 150, "monthly": 150}[freq] if quick else 150
    runs = []
    for seed in range(seeds):
        config = fc.ForecastConfig(**{**base.__dict__, "max_epochs": epochs, "seed": seed})
        t0 = time.perf_counter()
        model = fc.fit(df, columns, config)
        runs.append((model, time.perf_counter() - t0))
    model, total = runs[-1]

    def mean(get) -> float:
        vals = [get(m) for m, _ in runs]
        return float(np.mean(vals)) if all(v == v for v in vals) else float("nan")

    row = {
        "network": mean(lambda m: m.network_metrics["mase"]),
        "AutoETS": mean(lambda m: m.baseline_metrics.get(fc.ETS, {}).get("mase", float("nan"))),
        "seasonal naive": mean(lambda m: m.baseline_metrics[fc.SNAIVE]["mase"]),
        "combination": mean(lambda m: m.candidate_metrics[fc.COMBO]["mase"]),
        "choice": mean(lambda m: m.metrics["mase"]),
        "coverage": mean(lambda m: m.metrics.get("coverage", float("nan"))),
        "net coverage": mean(lambda m: m.network_metrics.get("coverage", float("nan"))),
        "train s": mean(lambda m: m.timings[fc.MODEL]),
    }
    best = np.nanmin([row["AutoETS"], row["seasonal naive"]])
    row["choice/best"] = row["choice"] / best
    row["net/ETS"] = row["network"] / row["AutoETS"]
    later = [later_window_choice(m) for m, _ in runs]
    row["later choice/best"] = float(np.mean([a / b for a, b in later])) if all(later) else float("nan")
    print(
        f"\n## {title}: {len(model.ids)} {freq} series, backtest {model.config.backtest_windows} × "
        f"{model.freq.units(model.horizon)}, look-back {model.lags}, {seeds} seed(s), whole fit {total:.0f} s"
    )
    print("   " + model.choice_note)
    return row


def print_table(rows: dict[str, dict[str, float]]) -> None:
    keys = [
        "network",
        "AutoETS",
        "seasonal naive",
        "combination",
        "choice",
        "choice/best",
        "net/ETS",
        "later choice/best",
        "coverage",
        "net coverage",
        "train s",
    ]
    print(
        "\n## MASE on the same backtest windows (lower is better); choice/best: the page's choice ÷ the best baseline "
        "(goal ≤ 1.0); later choice/best: the choice made on earlier windows, scored on the last one only"
    )
    print(f"{'set':<36}" + "".join(f"{k:>15}" for k in keys))
    for title, r in rows.items():
        print(f"{title:<36}" + "".join(f"{r[k]:>15.3f}" for k in keys))


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
    ap.add_argument(
        "--quick", action="store_true", help="1 seed, fewer stores and epochs (under ~3 minutes on 2 cores)"
    )
    ap.add_argument("--device", default=os.environ.get("EXPLORER_DEVICE", "auto"), choices=["auto", "cpu", "cuda"])
    ap.add_argument("--seeds", type=int, default=0, help="seeds per set (default 3; 1 with --quick)")
    ap.add_argument("--only", default="", help="run only the sets whose title contains this (e.g. weekly)")
    ap.add_argument(
        "--scale", action="store_true", help="also time 1,000 synthetic daily series (CPU, and GPU when present)"
    )
    args = ap.parse_args()
    os.environ["EXPLORER_DEVICE"] = args.device
    import torch

    from engine.device import describe

    seeds = args.seeds or (1 if args.quick else 3)
    print(
        f"# Demand forecast benchmark — device: {describe()} — torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    rows = {}
    for title, df, columns in benchmark_sets(args.quick):
        if args.only and args.only.lower() not in title.lower():
            continue
        rows[title] = accuracy(title, df, columns, args.quick, seeds)
        print_table(rows)
    if not args.scale:
        return

    n, days, epochs = (1000, 365, 5) if args.quick else (1000, 730, 60)
    devices = (
        ["cpu", "cuda"]
        if args.device == "auto" and torch.cuda.is_available()
        else ["cuda" if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()) else "cpu"]
    )
    print(
        f"\n## Scale: {n:,} synthetic daily series × {days} days ({n * days:,} rows), promo + open drivers, "
        f"at most {epochs} epochs, AutoETS off (one fit per series and window)"
    )
    print(
        f"{'device':<8} {'total s':>8} {'train s':>8} {'refit s':>8} {'epochs':>7} {'windows':>9} {'windows/s':>10} {'MASE vs naive':>14}"
    )
    res = {}
    for device in devices:
        r = scale_run(n, days, device, epochs)
        res[device] = r
        train = r.get("train backtest network", 0) + r.get("refit on the whole history", 0)
        print(
            f"{device:<8} {r['total']:>8.1f} {r.get('train backtest network', 0):>8.1f} {r.get('refit on the whole history', 0):>8.1f} "
            f"{int(r['epochs']):>7} {int(r['windows']):>9,} {r['windows'] * r['epochs'] / max(train, 1e-9):>10,.0f} {r['mase ratio']:>14.3f}"
        )
    if len(res) == 2:
        print(
            f"GPU vs CPU: end to end {res['cpu']['total'] / res['cuda']['total']:.1f}× faster, training "
            f"{(res['cpu']['train backtest network'] + res['cpu'].get('refit on the whole history', 0)) / (res['cuda']['train backtest network'] + res['cuda'].get('refit on the whole history', 0)):.1f}× faster"
        )


if __name__ == "__main__":
    main()
