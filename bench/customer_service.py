"""Customer-service benchmark: does the text network match the linear SVM on Banking77's own test split?

Trains the page's models with the page's defaults (or options given here) on the 10,003 training messages and
measures them on the 3,080 test messages (the official split, from ../shared/datasets/customer_service, or
--data). Prints accuracy, macro-F1 and top-3 accuracy with 95% bootstrap intervals for the network and both
baselines, the ratios network ÷ SVM and network ÷ logistic regression, the fit seconds of each (and their ratio),
the new-topic flag's figures, and the seconds to explain one message. The machine's load (`os.getloadavg`) is
printed: on a shared machine seconds are inflated.

    python bench/customer_service.py [--seeds 0] [--threads 2] [--members 1] [--dim 64] [--folds 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "datasets" / "customer_service"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="OPTION=VALUE",
        help="Config options other than the page's defaults, e.g. members=3 dim=100",
    )
    args = parser.parse_args()
    import torch

    from engine import customer_service as cs
    from engine.device import get_device

    torch.set_num_threads(args.threads)
    train = pd.read_csv(args.data / "banking77_train.csv")
    test = pd.read_csv(args.data / "banking77_test.csv")
    df = pd.concat([train, test], ignore_index=True)
    test_rows = np.arange(len(train), len(df))
    cols = cs.Columns("text", "category")
    fields = {f.name: f.type for f in dataclasses.fields(cs.Config)}
    changes = {k: (float(v) if "float" in str(fields[k]) else int(v)) for k, v in (s.split("=", 1) for s in args.set)}
    names = (cs.MODEL, *cs.BASELINES)
    print(
        f"device: {get_device()}, torch threads: {args.threads}, load average at start: "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}; options: {changes or 'page defaults'}"
    )
    for seed in args.seeds:
        config = cs.Config(seed=seed, max_seconds=3600, **changes)  # a busy machine must not cut training short
        clock = time.perf_counter()
        m = cs.fit(df, cols, config, test_rows=test_rows)
        total = time.perf_counter() - clock
        print(
            f"\nseed {seed}: {m.n_rows['train']:,} training + {m.n_rows['validation']:,} validation messages, "
            f"{m.n_rows['test']:,} test; network {m.history.stopped}, best epoch {m.history.best_epoch}"
        )
        print(f"{'model':<34} {'accuracy':>22} {'macro-F1':>22} {'top-3':>22} {'fit s':>7}")
        for n in names:
            mm = m.metrics if n == cs.MODEL else m.baseline_metrics[n]
            iv = m.intervals.get(n, {})
            cells = [
                f"{mm[k]:.4f} ({iv[k][0]:.3f}–{iv[k][1]:.3f})" if k in iv else f"{mm[k]:.4f}"
                for k in ("accuracy", "macro_f1", "top3")
            ]
            print(f"{n:<34} " + " ".join(f"{c:>22}" for c in cells) + f" {m.timings[n]:7.1f}")
        acc = [m.metrics["accuracy"], *(m.baseline_metrics[b]["accuracy"] for b in cs.BASELINES)]
        print(
            f"accuracy ratio network ÷ SVM {acc[0] / acc[1]:.4f}, network ÷ LR {acc[0] / acc[2]:.4f}; fit-time ratio "
            f"network ÷ SVM {m.timings[cs.MODEL] / m.timings[cs.SVM]:.2f}, network ÷ LR "
            f"{m.timings[cs.MODEL] / m.timings[cs.LOGISTIC]:.2f}; whole fit (with threshold folds and baselines) "
            f"{total:.1f} s"
        )
        at = m.at_threshold()
        print(
            f"default costs: threshold {m.threshold:.3f}, automated {at['automated']:.1%} of test messages at "
            f"{at['automated_accuracy']:.3f} accuracy; new topics: {m.new_topic_summary()}"
        )
        texts = list(test["text"].head(50))
        clock = time.perf_counter()
        for t in texts:
            m.explain_texts([t])
        print(
            f"explaining one message: {1000 * (time.perf_counter() - clock) / len(texts):.1f} ms (mean of {len(texts)})"
        )
    print(f"load average at end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
