"""`fit`: customer features → scan k on a sample → torch k-means on everyone → scikit-learn's KMeans as
the baseline (same k, restarts and tolerance) → names, profiles, 2-D map and the explained soft assignment."""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import torch

from engine.data import DataError
from engine.segmentation.clustering import KMeansResult, check_cancel, elbow_index, kmeans, silhouette_scores
from engine.segmentation.model import SegmentationModel, SoftAssignment, apply_log, log_columns
from engine.segmentation.naming import name_segments
from engine.segmentation.prepare import prepare
from engine.segmentation.spec import BASELINE, MODEL, SegmentationColumns, SegmentationConfig
from engine.tabular import Preprocessor
from engine.training import History, place


def _profile(
    feats: pd.DataFrame, labels: np.ndarray, k: int, revenue: pd.Series | None, names: Sequence[str]
) -> pd.DataFrame:
    """Per segment: size, share of customers (and revenue), median of numeric / main category of others.
    A "segment" column holds 'All customers' then the segment names."""
    rows = []
    groups = [("All customers", np.ones(len(feats), bool))] + [(names[j], labels == j) for j in range(k)]
    total_rev = float(revenue.sum()) if revenue is not None else 0.0
    for name, mask in groups:
        seg = feats[mask]
        row: dict[str, Any] = {"segment": name, "customers": int(mask.sum()), "share of customers": float(mask.mean())}
        if revenue is not None:
            row["share of revenue"] = float(revenue[mask].sum() / total_rev) if total_rev > 0 else float("nan")
        for col in feats.columns:
            s = seg[col]
            if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
                row[col] = float(s.median()) if len(s) else float("nan")
            else:
                counts = s.astype("string").fillna("(missing)").value_counts()
                row[col] = f"{counts.index[0]} ({100 * counts.iloc[0] / max(len(s), 1):.0f}%)" if len(counts) else ""
        rows.append(row)
    return pd.DataFrame(rows)


def _principal_plane(X: np.ndarray) -> tuple[dict[str, np.ndarray], list[float]]:
    """The first two principal components of the scaled features (for the 2-D map) and their shares."""
    mean = X.mean(0, dtype=np.float64)
    cov = np.atleast_2d(np.cov((X - mean).T) if X.shape[1] > 1 else np.ones((1, 1)))
    evals, evecs = np.linalg.eigh(cov)
    top = np.argsort(evals)[::-1][:2]
    comps = evecs[:, top].T
    if comps.shape[0] < 2:
        comps = np.vstack([comps, np.zeros_like(comps)])
    explained = (evals[top] / max(evals.sum(), 1e-12)).tolist() + [0.0] * (2 - len(top))
    return {"mean": mean, "components": comps}, [float(v) for v in explained]


def _emit(progress, step: int, total: int, t0: float, message: str) -> None:
    if progress is not None:
        progress({"epoch": step, "max_epochs": total, "seconds": time.perf_counter() - t0, "message": message})


def _encode(feats: pd.DataFrame, config: SegmentationConfig, notes: list[str]):
    """Log scale for skewed columns, then the shared preprocessor: (log columns, preprocessor, X)."""
    log_cols = log_columns(feats) if config.log_scale else []
    pre = Preprocessor().fit(apply_log(feats, log_cols), list(feats.columns))
    X = pre.transform(apply_log(feats, log_cols))
    if log_cols:
        notes.append(
            f"Put {', '.join(map(repr, log_cols))} on a log scale (log(1 + value)) so a few very large "
            "customers do not get segments of their own; profiles show the original values."
        )
    notes += pre.notes_
    n_distinct = len(np.unique(X.round(6), axis=0))
    if config.k and config.k > n_distinct:
        raise DataError(
            f"You asked for {config.k} segments, but only {n_distinct:,} customers have different values "
            "in the chosen columns. Ask for fewer segments, or add columns that tell customers apart."
        )
    if n_distinct < 2:
        raise DataError(
            "Every customer has the same values in the chosen columns, so there is nothing to segment. "
            "Pick columns whose values differ between customers."
        )
    return log_cols, pre, X, n_distinct


def _scan(Xs: torch.Tensor, ks: list[int], config: SegmentationConfig, device, progress, total, t0, cancel):
    """Inertia and silhouette for each k tried on the sample: (scan table, suggested k, elbow k)."""
    records, scan_labels = [], []
    for i, k in enumerate(ks, start=1):
        _emit(progress, i - 1, total, t0, f"Trying {k} segments on {len(Xs):,} customers ({i} of {len(ks)})")
        res = kmeans(Xs, k, config.scan_restarts, config.max_iter, config.tol, config.seed + k, device, cancel)
        records.append({"k": k, "inertia": res.inertia})
        scan_labels.append(res.labels)
    check_cancel(cancel)
    sils = silhouette_scores(Xs, scan_labels, device) if len(Xs) > 2 else [0.0] * len(ks)
    for rec, s, labels, k in zip(records, sils, scan_labels, ks):
        rec["silhouette"] = s
        rec["workable"] = workable_sizes(np.bincount(labels.cpu().numpy(), minlength=k) / max(len(Xs), 1))
    # the suggestion: the best-separated k whose segments are all workable sizes (the page warns about the others),
    # the best-separated k of all when none is
    pool = [i for i, r in enumerate(records) if r["workable"]] or list(range(len(records)))
    best = max(pool, key=lambda i: sils[i])
    return pd.DataFrame(records), ks[best], ks[elbow_index([r["inertia"] for r in records])]


SMALL_SHARE, LARGE_SHARE = 0.05, 0.5  # a segment too small to act on alone; one that hides several groups


def workable_sizes(shares: Sequence[float] | np.ndarray) -> bool:
    """Every segment large enough to act on alone and none holding more than half the customers."""
    arr = np.asarray(shares, dtype=float)
    return bool(len(arr)) and float(arr.min()) >= SMALL_SHARE and float(arr.max()) <= LARGE_SHARE


def _sample(
    Xt: torch.Tensor, n_distinct: int, config: SegmentationConfig
) -> tuple[np.ndarray, torch.Tensor, list[int]]:
    """The customers the k scan runs on (a seeded sample) and the k to try: (positions, their rows, ks)."""
    n = len(Xt)
    rng = np.random.default_rng(config.seed)
    sample = np.sort(rng.choice(n, size=min(n, config.sample_size), replace=False))
    Xs = Xt[torch.as_tensor(sample, device=Xt.device)]
    ks = [k for k in range(config.k_min, config.k_max + 1) if k < min(len(sample), n_distinct)] or [2]
    return sample, Xs, ks


def _segments_by_size(
    Xt: torch.Tensor, k: int, config: SegmentationConfig, cancel
) -> tuple[KMeansResult, np.ndarray, np.ndarray, float]:
    """torch k-means on everyone, segments numbered by size (largest first) so numbers are stable and readable:
    (result, labels, centres, seconds)."""
    t_model = time.perf_counter()
    res = kmeans(Xt, k, config.restarts, config.max_iter, config.tol, config.seed, Xt.device, cancel)
    model_seconds = time.perf_counter() - t_model
    labels = res.labels.cpu().numpy()
    order = np.argsort(-np.bincount(labels, minlength=k), kind="stable")
    remap = np.empty(k, dtype=np.int64)
    remap[order] = np.arange(k)
    centers = res.centers.cpu().numpy().astype(np.float64)[order]
    return res, remap[labels], centers, model_seconds


def _baseline(X: np.ndarray, k: int, config: SegmentationConfig) -> tuple[Any, float]:
    """scikit-learn's KMeans with the same k, restarts, iterations, tolerance and seed: (fitted, seconds)."""
    from sklearn.cluster import KMeans

    t_base = time.perf_counter()
    sk = KMeans(
        n_clusters=k, n_init=config.restarts, max_iter=config.max_iter, tol=config.tol, random_state=config.seed
    ).fit(X)
    return sk, time.perf_counter() - t_base


def _metrics(
    X: np.ndarray,
    Xs: torch.Tensor,
    sample: np.ndarray,
    res: KMeansResult,
    labels: np.ndarray,
    centers: np.ndarray,
    sk: Any,
    scan: tuple[int, int],
) -> tuple[dict[str, Any], float, float]:
    """The segments scored beside the baseline (silhouette on the sample, inertia, agreement) and the soft
    assignment's agreement with the hard one: (metrics, baseline silhouette, temperature)."""
    from sklearn.metrics import adjusted_rand_score

    n, k = len(X), len(centers)
    sil_model, sil_base = (
        silhouette_scores(Xs, [torch.as_tensor(labels[sample]), torch.as_tensor(sk.labels_[sample])], Xs.device)
        if len(sample) > 2
        else (0.0, 0.0)
    )
    temperature = max(res.inertia / n, 1e-6)
    with torch.no_grad():
        soft = SoftAssignment(torch.as_tensor(centers), temperature)(torch.as_tensor(X)).argmax(1).numpy()
    suggested, elbow = scan
    metrics = {
        "k": k,
        "suggested_k": suggested,
        "elbow_k": elbow,
        "silhouette": sil_model,
        "inertia": res.inertia,
        "inertia_ratio": res.inertia / max(float(sk.inertia_), 1e-12),
        "ari_vs_baseline": float(adjusted_rand_score(sk.labels_, labels)),
        "soft_agreement": float((soft == labels).mean()),
        "iterations": res.n_iter,
        "customers": n,
        "sample": len(sample),
    }
    return metrics, sil_base, temperature


def fit(
    df: pd.DataFrame,
    columns: SegmentationColumns,
    config: SegmentationConfig = SegmentationConfig(),
    progress: Callable[[dict[str, Any]], None] | None = None,
    cancel=None,
) -> SegmentationModel:
    """Customer features → scan k on a sample → torch k-means on everyone → scikit-learn baseline."""
    t0 = time.perf_counter()
    prep = prepare(df, columns, config)
    feats = prep.features
    notes = list(prep.notes)
    log_cols, pre, X, n_distinct = _encode(feats, config, notes)
    n = len(X)
    Xt = place(X)
    sample, Xs, ks = _sample(Xt, n_distinct, config)
    total = len(ks) + 3
    scan, suggested, elbow = _scan(Xs, ks, config, Xt.device, progress, total, t0, cancel)
    k = config.k or suggested
    _emit(progress, len(ks), total, t0, f"Finding {k} segments among all {n:,} customers ({config.restarts} restarts)")
    res, labels, centers, model_seconds = _segments_by_size(Xt, k, config, cancel)

    _emit(progress, len(ks) + 1, total, t0, f"Fitting the baseline ({BASELINE}, same k and restarts)")
    check_cancel(cancel)
    sk, base_seconds = _baseline(X, k, config)
    _emit(progress, len(ks) + 2, total, t0, "Scoring the segments and preparing explanations")
    metrics, sil_base, temperature = _metrics(X, Xs, sample, res, labels, centers, sk, (suggested, elbow))
    names, actions = name_segments(feats, labels, k, columns.shape, centers, pre)
    pca, explained = _principal_plane(X)
    customers = feats.copy()
    customers["_segment"] = labels
    _emit(progress, total, total, t0, "Done")
    return SegmentationModel(
        columns=columns,
        config=config,
        preprocessor=pre,
        log_columns=log_cols,
        centers=centers,
        temperature=temperature,
        names=names,
        actions=actions,
        # The explained logits are linear, so SHAP against the mean customer equals SHAP against the whole
        # population (E[w·x] = w·E[x]): one background row, exact and fast.
        background=X.mean(0, keepdims=True, dtype=np.float64).astype(np.float32),
        pca=pca,
        pca_explained=explained,
        scan=scan,
        profile_rows=_profile(feats, labels, k, prep.revenue, names),
        reference_date=prep.reference_date,
        metrics={key: float(v) for key, v in metrics.items()},
        baseline_metrics={
            BASELINE: {"silhouette": float(sil_base), "inertia": float(sk.inertia_), "iterations": float(sk.n_iter_)}
        },
        timings={MODEL: model_seconds, BASELINE: base_seconds},
        history=History(
            stopped=f"k-means has no training epochs; the k scan suggested {suggested} segments "
            f"(highest silhouette among workable sizes), elbow at {elbow}",
            seconds=time.perf_counter() - t0,
        ),
        notes=notes,
        n_rows=prep.n_rows,
        customers=customers,
        X=X,
        baseline_labels=sk.labels_,
    )
