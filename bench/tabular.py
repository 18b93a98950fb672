"""Tabular benchmark (issue 27): the yes/no pages' network beside gradient boosting and logistic regression.

Per data set and seed (each seed its own stratified split, as the pages split: 25% held out, 20% of the rest to
stop early), on the same held-out rows:
  net   the network the pages train now (engine.tabnet.TabularNetwork, through engine.models.tabular_network)
  mlp   the plain MLP the pages trained before (engine.models.TabularMLP), for the time ratio
  GB    gradient boosting as the pages fit it (engine.binary.fit_baselines: HistGradientBoosting, 200 trees)
  LR    logistic regression (same)
Headline metric: AUPRC on the fraud and maintenance pages' tables with rare positives (as those pages show it) and
wherever positives are under 10% of rows, else ROC-AUC. Both networks train with the page's
defaults (hidden layers, dropout, learning rate, batch, patience, epochs of the page the set belongs to) and the
same class weighting. Times are ratios inside one run (the CPU is shared): net ÷ mlp.

Data sets. The project's own tables (sample_data/, sources in sample_data/README.md and shared/datasets):
  heart       UCI Cleveland heart disease, 303 patients (diagnosis page)
  breast      Wisconsin diagnostic breast cancer, 569 patients (diagnosis page)
  creditcard  ULB credit-card transactions subset, 1,774 rows, 298 frauds (fraud page)
  ai4i        AI4I 2020 predictive maintenance, runs 1-7,000, 3.97% failures (maintenance page)
Six more, shipped by scikit-learn (no download) or generated here, chosen for what trees do well:
  digits8     sklearn load_digits: "is this an 8?" (1,797 images as 64 pixel columns)
  diabetes    sklearn load_diabetes: progression above its 75th percentile (442 patients, 10 columns)
  hastie      sklearn make_hastie_10_2: 10 normal columns, y = sum of squares > 9.34 (6,000 rows)
  irregular   sklearn make_classification (5,000 rows, 20 columns, 6 informative, 8 clusters, 3% flipped labels),
              columns cubed: heavy tails, a target made of many clusters
  mixed       generated here: lognormal amounts, a 40-level category with its own effects, step functions of
              numbers, 6 useless columns (8,000 rows, ~8% positives)
  rossmann    Rossmann daily store sales (shared/datasets, Kaggle terms: read when present, never shipped): is
              a day in its store's top quarter of sales? store (50 levels), weekday, month, promo, holidays;
              a 20,000-row sample (categorical-heavy)

    python bench/tabular.py [--quick] [--seeds 0 1 2] [--sets heart ai4i] [--set k=16 width=64]

--quick: at most 3,000 training rows per set and 60 epochs, seeds 0 and 1 unless --seeds says otherwise; --set overrides the
network's settings (engine.tabnet.TabularNetwork arguments, or batch=N) to compare variants in one run.
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
SHARED = ROOT.parent / "shared" / "datasets"
if not SHARED.exists():
    SHARED = Path("/work/shared/datasets")


# ----------------------------------------------------------------------------- the data sets: (frame, target, page)


def _sample(name: str) -> pd.DataFrame:
    from engine.data import load_table

    return load_table(ROOT / "sample_data" / name, name).df


def heart():
    df = _sample("heart_disease_cleveland.csv")
    return df.drop(columns=["target"]), (df["target"].astype(str) != "0").to_numpy(int), "diagnosis"


def breast():
    df = _sample("breast_cancer_wisconsin.csv")
    drop = [c for c in df.columns if c.lower() in ("id", "diagnosis")]
    return df.drop(columns=drop), (df["diagnosis"] == "M").to_numpy(int), "diagnosis"


def creditcard():
    df = _sample("creditcard_transactions.csv")
    return df.drop(columns=["Class"]), df["Class"].to_numpy(int), "fraud"


def ai4i():
    df = _sample("ai4i2020_machines_1_7000.csv")
    out = ["UDI", "Product ID", "Machine failure", "TWF", "HDF", "PWF", "OSF", "RNF"]
    return df.drop(columns=out), df["Machine failure"].to_numpy(int), "maintenance"


def digits8():
    from sklearn.datasets import load_digits

    d = load_digits()
    return pd.DataFrame(d.data, columns=[f"p{i}" for i in range(64)]), (d.target == 8).astype(int), "diagnosis"


def diabetes():
    from sklearn.datasets import load_diabetes

    d = load_diabetes(as_frame=True)
    y = d.target.to_numpy()
    return d.data, (y > np.percentile(y, 75)).astype(int), "diagnosis"


def hastie():
    from sklearn.datasets import make_hastie_10_2

    X, y = make_hastie_10_2(n_samples=6000, random_state=0)
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(10)]), (y > 0).astype(int), "maintenance"


def irregular():
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=5000,
        n_features=20,
        n_informative=6,
        n_redundant=2,
        n_clusters_per_class=4,
        flip_y=0.03,
        class_sep=1.0,
        random_state=0,
    )
    return pd.DataFrame(X**3, columns=[f"x{i}" for i in range(20)]), y, "maintenance"


def mixed():
    rng = np.random.default_rng(0)
    n = 8000
    amount = rng.lognormal(3, 1.5, n)
    age = rng.integers(18, 90, n).astype(float)
    level = rng.integers(0, 40, n)
    effect = rng.normal(0, 1.2, 40)[level]
    hour = rng.integers(0, 24, n)
    logit = (
        -3.2
        + 1.6 * (amount > 150)
        + 1.2 * ((hour < 5) | (hour > 22))
        + effect
        + 0.8 * np.sin(age / 6)
        + 0.9 * (np.log(amount) > 5.5) * (age > 60)
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    df = pd.DataFrame({"amount": amount, "age": age, "merchant": [f"m{v:02d}" for v in level], "hour": hour})
    for i in range(6):
        df[f"noise{i}"] = rng.standard_t(3, n)
    return df, y, "fraud"


def rossmann():
    path = SHARED / "demand_forecasting" / "rossmann_daily_store_sales.csv"
    if not path.exists():
        return None
    df = pd.read_csv(path, parse_dates=["date"])
    df = df[df["open"] == 1].sample(20_000, random_state=0).reset_index(drop=True)
    top = df.groupby("store")["sales"].transform(lambda s: s.quantile(0.75))
    X = pd.DataFrame(
        {
            "store": "s" + df["store"].astype(str),
            "weekday": df["dayofweek"].astype(str),
            "month": df["date"].dt.month,
            "day": df["date"].dt.day,
            "promo": df["promo"],
            "stateholiday": df["stateholiday"].astype(str),
            "schoolholiday": df["schoolholiday"],
        }
    )
    return X, (df["sales"] > top).to_numpy(int), "maintenance"


SETS = {f.__name__: f for f in (heart, breast, creditcard, ai4i, digits8, diabetes, hastie, irregular, mixed, rossmann)}


# ----------------------------------------------------------------------------- one run


def page_settings(page: str, n_train: int):
    """The page's network options and its class weighting (what its `fit` passes to fit_model)."""
    from engine import diagnosis, fraud, maintenance

    if page == "diagnosis":
        c = diagnosis.DiagnosisConfig()
        return c, lambda share: (1 - share) / share
    if page == "fraud":
        c = fraud.FraudConfig()
        import dataclasses

        return dataclasses.replace(c, batch_size=fraud.auto_batch_size(n_train)), lambda share: (1 - share) / share
    c = maintenance.Config()
    return c, lambda share: np.sqrt((1 - share) / share)


def headline(y: np.ndarray, page: str) -> str:
    """The page's headline: AUPRC on the fraud and maintenance pages and wherever positives are rare, else ROC-AUC."""
    return "auprc" if page in ("fraud", "maintenance") and y.mean() < 0.25 or y.mean() < 0.10 else "roc_auc"


def score(metric: str, y, p) -> float:
    from sklearn.metrics import average_precision_score, roc_auc_score

    return float(average_precision_score(y, p) if metric == "auprc" else roc_auc_score(y, p))


def run_one(df: pd.DataFrame, y: np.ndarray, page: str, seed: int, quick: bool, overrides: dict) -> dict:
    import dataclasses

    from engine import binary
    from engine.models import TabularMLP, tabular_network
    from engine.tabular import Preprocessor
    from engine.training import TrainConfig, fit_model

    train, val, test = binary.split(y, 0.25, 0.2, seed)
    if quick and len(train) > 3000:
        train = np.random.default_rng(seed).choice(train, 3000, replace=False)
    pre = Preprocessor().fit(df.iloc[train], list(df.columns))
    X = pre.transform(df)
    config, weight = page_settings(page, len(train))
    share = y[train].mean()
    loss = binary.weighted_bce(float(weight(share)))
    target = y.astype(np.float32)[:, None]
    tc = TrainConfig.of(config, seed=seed, max_seconds=3600.0, **({"max_epochs": 60} if quick else {}))
    settings = {k: v for k, v in overrides.items() if k != "batch"}
    out = {}
    for name, make in (
        ("mlp", lambda: TabularMLP(X.shape[1], 1, config.hidden, config.dropout)),
        ("net", lambda: tabular_network(X[train], 1, config.hidden, config.dropout, **settings)),
    ):
        net = make()
        cfg = (
            dataclasses.replace(tc, batch_size=int(overrides["batch"]))
            if name == "net" and "batch" in overrides
            else tc
        )
        t0 = time.perf_counter()
        h = fit_model(net, (X[train], target[train]), (X[val], target[val]), loss, cfg)
        out[f"{name}_s"] = time.perf_counter() - t0
        out[f"{name}_epochs"] = len(h.epochs)
        out[name] = binary.risk(net, X[test])
    fit_rows = np.r_[train, val]
    models, seconds = binary.fit_baselines(X[fit_rows], y[fit_rows], seed)
    out["GB"] = models[binary.GRADIENT_BOOSTING].predict_proba(X[test])[:, 1]
    out["LR"] = models[binary.LOGISTIC].predict_proba(X[test])[:, 1]
    out["GB_s"], out["LR_s"] = seconds[binary.GRADIENT_BOOSTING], seconds[binary.LOGISTIC]
    metric = headline(y, page)
    res = {k: score(metric, y[test], out[k]) for k in ("net", "mlp", "GB", "LR")}
    res.update({k: v for k, v in out.items() if k.endswith("_s") or k.endswith("_epochs")})
    res.update(metric=metric, n=len(y), n_train=len(train), n_test=len(test))
    return res


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="default: 0 1 2 (0 1 with --quick)")
    parser.add_argument("--sets", nargs="+", default=list(SETS))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is steadiest on a shared CPU)")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="network settings to try")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    overrides = {
        k: (float(v) if "." in v else int(v)) if v.replace(".", "").isdigit() else v
        for k, v in (s.split("=", 1) for s in args.set)
    }
    seeds = args.seeds or ([0, 1] if args.quick else [0, 1, 2])
    print(
        f"load: {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} {os.getloadavg()[2]:.1f} on {os.cpu_count()} cores; "
        f"torch threads {args.threads}; seeds {seeds}; overrides {overrides or 'none'}; quick {args.quick}",
        flush=True,
    )
    head = (
        f"{'set':<11}{'metric':>7}{'rows':>7}  {'net':>6}{'mlp':>7}{'GB':>7}{'LR':>7}  {'net÷GB':>7}{'net÷LR':>7}"
        f"  {'net s':>7}{'mlp s':>7}{'GB s':>6}  {'time net÷mlp':>12}"
    )
    print(head, flush=True)
    table = []
    for name in args.sets:
        data = SETS[name]()
        if data is None:
            print(f"{name:<11} (not present here: skipped)")
            continue
        df, y, page = data
        runs = [run_one(df, y, page, s, args.quick, overrides) for s in seeds]
        m = {k: float(np.mean([r[k] for r in runs])) for k in ("net", "mlp", "GB", "LR", "net_s", "mlp_s", "GB_s")}
        sd = float(np.std([r["net"] - r["GB"] for r in runs]))
        table.append({"set": name, **m, "metric": runs[0]["metric"]})
        print(
            f"{name:<11}{runs[0]['metric']:>7}{len(y):>7}  {m['net']:6.3f}{m['mlp']:7.3f}{m['GB']:7.3f}{m['LR']:7.3f}"
            f"  {m['net'] / m['GB']:7.3f}{m['net'] / m['LR']:7.3f}  {m['net_s']:7.1f}{m['mlp_s']:7.1f}{m['GB_s']:6.1f}"
            f"  {m['net_s'] / m['mlp_s']:12.2f}   (net−GB per seed: "
            + " ".join(f"{r['net'] - r['GB']:+.3f}" for r in runs)
            + f"; sd {sd:.3f}; epochs net "
            + "/".join(str(r["net_epochs"]) for r in runs)
            + ", mlp "
            + "/".join(str(r["mlp_epochs"]) for r in runs)
            + ")",
            flush=True,
        )
    if table:
        t = pd.DataFrame(table)
        wins = int((t["net"] >= t["GB"]).sum())
        print(
            f"{'mean':<11}{'':>7}{'':>7}  {t['net'].mean():6.3f}{t['mlp'].mean():7.3f}{t['GB'].mean():7.3f}{t['LR'].mean():7.3f}"
            f"  {t['net'].mean() / t['GB'].mean():7.3f}{t['net'].mean() / t['LR'].mean():7.3f}"
            f"  {t['net_s'].sum():7.1f}{t['mlp_s'].sum():7.1f}{t['GB_s'].sum():6.1f}  {t['net_s'].sum() / t['mlp_s'].sum():12.2f}"
        )
        print(
            f"network ≥ gradient boosting on {wins} of {len(t)} sets; mlp ≥ GB on {int((t['mlp'] >= t['GB']).sum())}; "
            f"load now {os.getloadavg()[0]:.1f}"
        )


if __name__ == "__main__":
    main()
