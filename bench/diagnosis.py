"""Diagnosis benchmark: the engine's MLP vs logistic regression vs gradient boosting.

Repeated stratified cross-validation on both sample datasets (ROC-AUC and fit time, printed
as a table and as ratios against logistic regression measured in the same run), and the
page's click-to-result time on sample data (needs streamlit; skipped where it is absent).

    python bench/diagnosis.py [--quick] [--device auto|cpu|cuda] [--repeats 2] [--folds 5]
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

DATASETS = {
    "Cleveland heart disease": "heart_disease_cleveland.csv",
    "Wisconsin breast cancer": "breast_cancer_wisconsin.csv",
}


def cross_validate(path: Path, folds: int, repeats: int) -> dict[str, dict[str, list[float]]]:
    from sklearn.model_selection import RepeatedStratifiedKFold

    from engine import diagnosis as dx
    from engine.data import load_table

    df = load_table(path).df
    cols = dx.default_columns(df)
    y = dx.prepare(df, cols).y
    out: dict[str, dict[str, list[float]]] = {}
    cv = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=0)
    for k, (_, test) in enumerate(cv.split(np.zeros(len(y)), y)):
        m = dx.fit(df, cols, dx.DiagnosisConfig(bootstrap=0, seed=k), test_rows=test)
        for name, metrics in {dx.MODEL: m.metrics, **m.baseline_metrics}.items():
            rec = out.setdefault(name, {"roc_auc": [], "accuracy": [], "seconds": []})
            rec["roc_auc"].append(metrics["roc_auc"])
            rec["accuracy"].append(metrics["accuracy"])
            rec["seconds"].append(m.timings[name])
    return out


def click_to_result(repeats: int = 2) -> list[float] | None:
    """Seconds from pressing Train on the sample data to the results being rendered (AppTest)."""
    try:
        from streamlit.testing.v1 import AppTest
    except ImportError:
        return None
    times = []
    for _ in range(repeats):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.run()
        at.switch_page("app_pages/diagnosis.py").run()
        t0 = time.perf_counter()
        at.button(key="diagnosis_train").click().run()
        job = next(iter(at.session_state["_explorer_jobs"].values()))
        job.wait(300)
        at.run()
        assert not at.exception and any(m.label == "ROC-AUC" for m in at.metric)
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 repeat of 5 folds, one click-to-result run")
    ap.add_argument("--device", default=os.environ.get("EXPLORER_DEVICE", "auto"))
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args()
    os.environ["EXPLORER_DEVICE"] = args.device
    from engine.device import describe

    repeats = 1 if args.quick else args.repeats
    print(f"# Diagnosis benchmark — device: {describe()} — {repeats}x{args.folds}-fold stratified CV\n")
    print(
        f"{'dataset':<26} {'model':<20} {'ROC-AUC':>15} {'accuracy':>9} {'fit s':>7} {'AUC vs LR':>10} {'time vs LR':>11}"
    )
    for title, file in DATASETS.items():
        res = cross_validate(ROOT / "sample_data" / file, args.folds, repeats)
        lr = res["Logistic regression"]
        for name, r in res.items():
            auc, sd = np.mean(r["roc_auc"]), np.std(r["roc_auc"])
            print(
                f"{title:<26} {name:<20} {auc:>8.3f} ± {sd:.3f} {np.mean(r['accuracy']):>9.3f} {np.mean(r['seconds']):>7.2f} "
                f"{auc / np.mean(lr['roc_auc']):>10.3f} {np.mean(r['seconds']) / np.mean(lr['seconds']):>10.1f}x"
            )
    clicks = click_to_result(1 if args.quick else 2)
    if clicks is None:
        print("\nclick-to-result: skipped (streamlit not installed here)")
    else:
        print(
            f"\nclick-to-result on the Cleveland sample (press Train → results rendered): "
            f"{', '.join(f'{c:.1f} s' for c in clicks)} (goal ≤ 10 s on a 2-core CPU)"
        )


if __name__ == "__main__":
    main()
