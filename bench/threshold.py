"""How much the fraud page's alert threshold moves between runs: out-of-fold choice vs the validation slice.

For each seed (a new split and a new network), `engine.fraud.fit` runs twice on the bundled sample: once choosing
the cheapest threshold on the validation rows only (threshold_folds=0, the previous behaviour) and once on
out-of-fold scores of every training row (the default). Printed per method: the chosen threshold per seed, its
spread across seeds, the cost per 1,000 held-out transactions at the chosen threshold, and the regret — that cost
minus the cheapest cost any threshold would have reached on those held-out rows in hindsight. Ratios compare the
two methods measured in the same run; with a review capacity the same table is printed for a capped run.

    python bench/threshold.py [--seeds 5] [--capacity 150] [--file sample_data/creditcard_transactions.csv]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def run(file: str, seeds: int, capacity: float | None) -> dict[int, list[dict]]:
    from engine import fraud as fr
    from engine.data import load_table

    df = load_table(ROOT / file).df
    cols = fr.default_columns(df)
    out: dict[int, list[dict]] = {0: [], 5: []}
    for seed in range(seeds):
        for folds in out:
            t0 = time.perf_counter()
            m = fr.fit(
                df,
                cols,
                dataclasses.replace(fr.FraudConfig(), seed=seed, threshold_folds=folds, compare_unlabelled=False),
            )
            costs = m.default_costs
            t = m.cheapest_threshold(costs, capacity)
            low, high = m.threshold_band(costs, capacity)
            ev = m.evaluate(costs, capacity=capacity)[fr.CLASSIFIER]
            best_t, best_cost = m.held_out_best(costs, capacity)
            out[folds].append(
                dict(
                    seed=seed,
                    threshold=t,
                    low=low,
                    high=high,
                    cost=ev["cost_per_1000"],
                    alerts=ev["alerts_per_1000"],
                    regret=ev["cost_per_1000"] - best_cost,
                    hindsight=best_t,
                    seconds=time.perf_counter() - t0,
                )
            )
            r = out[folds][-1]
            print(
                f"  seed {seed} folds {folds}: threshold {t:.3f} [{low:.3f}, {high:.3f}], held-out cost {r['cost']:,.0f} "
                f"per 1,000 (hindsight {best_cost:,.0f} at {best_t:.3f}), {r['alerts']:.0f} alerts per 1,000, "
                f"{r['seconds']:.1f} s",
                flush=True,
            )
    return out


def report(out: dict[int, list[dict]], capacity: float | None) -> None:
    name = {0: "validation slice (before)", 5: "out-of-fold, 5 folds (now)"}
    print(f"\nCheapest threshold at the default costs{f', at most {capacity:g} alerts per 1,000' if capacity else ''}:")
    print(f"{'method':<28}{'thresholds':>30}{'spread':>8}{'band':>7}{'cost/1k':>9}{'regret':>8}{'fit s':>7}")
    stats = {}
    for folds, rows in out.items():
        ts = np.array([r["threshold"] for r in rows])
        spread = float(ts.max() - ts.min())
        band = float(np.mean([r["high"] - r["low"] for r in rows]))
        cost, regret = float(np.mean([r["cost"] for r in rows])), float(np.mean([r["regret"] for r in rows]))
        secs = float(np.mean([r["seconds"] for r in rows]))
        stats[folds] = dict(spread=spread, regret=regret, seconds=secs)
        print(
            f"{name[folds]:<28}{' '.join(f'{t:.2f}' for t in ts):>30}{spread:>8.3f}{band:>7.3f}{cost:>9,.0f}"
            f"{regret:>8,.0f}{secs:>7.1f}"
        )
    b, a = stats[0], stats[5]
    print(
        f"ratios now / before: spread {a['spread'] / max(b['spread'], 1e-9):.2f}, regret "
        f"{a['regret'] / max(b['regret'], 1e-9):.2f}, fit time {a['seconds'] / b['seconds']:.2f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument(
        "--capacity", type=float, default=None, help="also run with this review capacity (alerts per 1,000)"
    )
    ap.add_argument("--file", default="sample_data/creditcard_transactions.csv")
    args = ap.parse_args()
    for capacity in (None, args.capacity) if args.capacity else (None,):
        report(run(args.file, args.seeds, capacity), capacity)


if __name__ == "__main__":
    main()
