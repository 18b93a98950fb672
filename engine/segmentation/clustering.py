"""K-means in torch: greedy k-means++ starts (as scikit-learn), several restarts advanced together in one
batched computation, distances in row chunks so memory stays bounded, on any device; silhouette scores
of several labelings from one pass over the pairwise distances; the elbow of an inertia curve."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from engine.training import Cancelled, as_tensor, place


@dataclass
class KMeansResult:
    centers: torch.Tensor  # (k, d)
    labels: torch.Tensor  # (n,) int64
    inertia: float  # sum of squared distances to the assigned centre
    n_iter: int
    restart_inertias: list[float]


def _placed(X: np.ndarray | torch.Tensor, device: torch.device | None) -> torch.Tensor:
    """X as float32 on `device`, or where the training loop places tensors (engine.training.place) when None."""
    x = torch.as_tensor(np.asarray(X, dtype=np.float32)) if not isinstance(X, torch.Tensor) else X
    return place(x, torch.float32) if device is None else as_tensor(x, device, torch.float32)


def _chunk(n_cols: int, device: torch.device) -> int:
    budget = 2**27 if device.type == "cuda" else 2**18  # elements of one distance block (CPU: stay in cache)
    return max(256, budget // max(n_cols, 1))


def check_cancel(cancel) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled()


def _sq_dist(xb: torch.Tensor, xb_sq: torch.Tensor, c: torch.Tensor, c_sq: torch.Tensor) -> torch.Tensor:
    """Squared distances between row chunk xb (b, d) and centres c (m, d), clamped at 0: (b, m)."""
    return torch.addmm(c_sq[None, :], xb, c.T, alpha=-2.0).add_(xb_sq[:, None]).clamp_min_(0.0)


def _aug(centers: torch.Tensor) -> torch.Tensor:
    """(d + 1, m) weights so that [x, 1] @ w = ‖c‖² − 2x·c for every centre c (squared distance minus ‖x‖²)."""
    return torch.cat([-2.0 * centers.T, (centers * centers).sum(1)[None, :]], dim=0).contiguous()


def _init_pp(X1: torch.Tensor, x_sq: torch.Tensor, k: int, r: int, gen: torch.Generator, trials: int) -> torch.Tensor:
    """Greedy k-means++ (as scikit-learn) for r restarts at once: (r, k, d) starting centres.

    X1 is the data with a column of ones appended (see `_aug`).
    """
    n, d = X1.shape[0], X1.shape[1] - 1
    dev = X1.device
    rows = torch.arange(r, device=dev)
    centers = torch.empty(r, k, d, device=dev, dtype=X1.dtype)
    centers[:, 0] = X1[torch.randint(n, (r,), generator=gen, device=dev), :d]
    closest = _nearest(X1, x_sq, centers[:, :1])  # (n, r) squared distance to the nearest chosen centre
    step = _chunk(r * trials, dev)
    for c in range(1, k):
        cum = torch.cumsum(closest.T.double(), dim=1)  # (r, n)
        u = torch.rand(r, trials, generator=gen, device=dev, dtype=torch.float64) * cum[:, -1:]
        cand = torch.searchsorted(cum, u).clamp_(max=n - 1)  # D²-weighted candidates, (r, trials)
        cand_x = X1[cand.reshape(-1), :d]
        w = _aug(cand_x)
        shifted = closest - x_sq[:, None]  # compare without ‖x‖², which every candidate shares
        pot = torch.zeros(r, trials, device=dev, dtype=torch.float64)
        for s in range(0, n, step):
            d2 = (X1[s : s + step] @ w).view(-1, r, trials)
            pot += torch.minimum(d2, shifted[s : s + step, :, None]).sum(0).double()
        centers[:, c] = cand_x.view(r, trials, d)[rows, pot.argmin(1)]
        closest = torch.minimum(closest, _nearest(X1, x_sq, centers[:, c : c + 1]))
    return centers


def _nearest(X1: torch.Tensor, x_sq: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """(n, r) squared distance of each row to its nearest centre, per restart; centers (r, m, d)."""
    r, m, d = centers.shape
    w = _aug(centers.reshape(r * m, d))
    step = _chunk(r * m, X1.device)
    out = []
    for s in range(0, len(X1), step):
        out.append((X1[s : s + step] @ w).view(-1, r, m).amin(2).add_(x_sq[s : s + step, None]).clamp_min_(0.0))
    return torch.cat(out)


def _lloyd_pass(X1: torch.Tensor, x_sq_total: float, centers: torch.Tensor):
    """One assignment pass for r restarts: per-centre sums and counts, and the inertia of each restart.

    X1 is the data with a column of ones appended, so one matmul gives ‖c‖² − 2x·c (‖x‖² does not change
    the nearest centre and is added back as a total) and another gives the sums and counts together.
    """
    r, k, d = centers.shape
    w = _aug(centers.reshape(r * k, d))  # (d + 1, r * k)
    acc = torch.zeros(r * k, d + 1, device=X1.device, dtype=X1.dtype)  # sums | counts
    inertia = torch.zeros(r, device=X1.device, dtype=torch.float64)
    step = _chunk(r * k, X1.device)
    for s in range(0, len(X1), step):
        xb = X1[s : s + step]
        dist = (xb @ w).view(-1, r, k)
        mind = dist.amin(2, keepdim=True)
        onehot = (dist == mind).view(len(xb), r * k).to(X1.dtype)
        part = onehot.T @ xb
        if bool((part[:, d].view(r, k).sum(1) != len(xb)).any()):  # a row equally near two centres: keep the first
            onehot = torch.zeros_like(onehot).scatter_(
                1, dist.argmin(2) + torch.arange(r, device=X1.device)[None, :] * k, 1.0
            )
            part = onehot.T @ xb
        acc += part
        inertia += mind[:, :, 0].sum(0, dtype=torch.float64)
    acc = acc.view(r, k, d + 1)
    return acc[..., :d], acc[..., d], (inertia + x_sq_total).clamp_min(0.0)


def nearest_centres(X: torch.Tensor, x_sq: torch.Tensor, centers: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest centre (k, d) of every row and its squared distance."""
    c_sq = (centers * centers).sum(1)
    step = _chunk(len(centers), X.device)
    labs, dists = [], []
    for s in range(0, len(X), step):
        mind, lab = _sq_dist(X[s : s + step], x_sq[s : s + step], centers, c_sq).min(1)
        labs.append(lab)
        dists.append(mind)
    return torch.cat(labs), torch.cat(dists)


def kmeans(
    X: np.ndarray | torch.Tensor,
    k: int,
    restarts: int = 10,
    max_iter: int = 300,
    tol: float = 1e-4,
    seed: int = 0,
    device: torch.device | None = None,
    cancel=None,
) -> KMeansResult:
    """Lloyd's k-means with greedy k-means++ starts; all restarts advance together; returns the best.

    `tol` follows scikit-learn: a run has converged when the squared movement of its centres is at
    most `tol` times the mean variance of the features.
    """
    X = _placed(X, device).contiguous()
    device = X.device
    n, d = X.shape
    if not 1 <= k <= n:
        raise ValueError(f"k={k} must lie between 1 and the number of rows ({n})")
    gen = torch.Generator(device=device).manual_seed(int(seed))
    x_sq = (X * X).sum(1)
    tol_abs = float(tol * X.var(dim=0, unbiased=False).mean()) if n > 1 else 0.0
    trials = 2 + int(math.log(k))
    X1 = torch.cat([X, torch.ones(n, 1, device=device, dtype=X.dtype)], dim=1)
    centers = _init_pp(X1, x_sq, k, restarts, gen, trials)
    x_sq_total = float(x_sq.sum(dtype=torch.float64))
    active = torch.ones(restarts, dtype=torch.bool, device=device)
    inertias = torch.zeros(restarts, dtype=torch.float64, device=device)
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 - the count of passes made is read after the loop
        check_cancel(cancel)
        idx = torch.nonzero(active).flatten()  # only runs that have not converged yet
        old = centers[idx]
        sums, counts, inertias[idx] = _lloyd_pass(X1, x_sq_total, old)
        new = sums / counts.clamp_min(1.0)[..., None]
        empty = counts == 0
        if bool(empty.any()):
            new = _fill_empty(X, x_sq, new, empty)
        centers[idx] = new
        active[idx] = ((new - old) ** 2).sum((1, 2)) > tol_abs
        if not bool(active.any()):
            break
    best = int(inertias.argmin())  # inertia of each run's last pass (its centres moved by at most tol since)
    labels, mind = nearest_centres(X, x_sq, centers[best])
    return KMeansResult(
        centers[best].clone(), labels, float(mind.sum(dtype=torch.float64)), n_iter, [float(v) for v in inertias.cpu()]
    )


def _fill_empty(X: torch.Tensor, x_sq: torch.Tensor, centers: torch.Tensor, empty: torch.Tensor) -> torch.Tensor:
    """Move empty centres onto the rows farthest from their own centre (as scikit-learn does)."""
    centers = centers.clone()
    for r in torch.nonzero(empty.any(1)).flatten().tolist():
        holes = torch.nonzero(empty[r]).flatten()
        _, dist = nearest_centres(X, x_sq, centers[r])
        far = torch.topk(dist, min(len(holes), len(X))).indices
        centers[r, holes[: len(far)]] = X[far]
    return centers


def silhouette_scores(
    X: np.ndarray | torch.Tensor, labelings: Sequence[np.ndarray | torch.Tensor], device: torch.device | None = None
) -> list[float]:
    """Mean silhouette of several labelings of the same rows, from one pass over the pairwise distances.

    Matches sklearn.metrics.silhouette_score (Euclidean; a singleton cluster's rows score 0).
    """
    X = _placed(X, device)
    device = X.device
    m = len(X)
    blocks, sizes = [], []
    for lab in labelings:
        lab = torch.as_tensor(np.asarray(lab) if not isinstance(lab, torch.Tensor) else lab).to(device).long()
        kk = int(lab.max()) + 1
        blocks.append(torch.nn.functional.one_hot(lab, kk).float())
        sizes.append(kk)
    onehot = torch.cat(blocks, dim=1)  # (m, sum k)
    counts = onehot.sum(0)
    totals = [torch.zeros((), dtype=torch.float64, device=device) for _ in labelings]
    step = max(64, _chunk(m, device) // 2)
    x_sq = (X * X).sum(1)
    for s in range(0, m, step):
        dist = _sq_dist(X[s : s + step], x_sq[s : s + step], X, x_sq).sqrt_()
        sums = dist @ onehot  # (b, sum k): summed distance to each cluster
        start = 0
        for j, kk in enumerate(sizes):
            block = sums[:, start : start + kk]
            own = onehot[s : s + step, start : start + kk].bool()
            cnt = counts[start : start + kk]
            own_cnt = cnt.expand_as(block)[own]
            a = block[own] / (own_cnt - 1).clamp_min(1.0)
            mean_other = (block / cnt.clamp_min(1.0)).masked_fill(own | (cnt == 0), float("inf"))
            b = mean_other.min(1).values
            sil = (b - a) / torch.maximum(a, b).clamp_min(1e-12)
            sil = torch.where(own_cnt > 1, sil, torch.zeros_like(sil))
            totals[j] += sil.sum(dtype=torch.float64)
            start += kk
    return [float(t) / m for t in totals]


def elbow_index(inertias: Sequence[float]) -> int:
    """Position of the elbow: the point farthest below the straight line from the first to the last value."""
    y = np.asarray(inertias, dtype=float)
    if len(y) < 3:
        return 0
    x = np.linspace(0, 1, len(y))
    yn = (y - y.min()) / max(y.max() - y.min(), 1e-12)
    line = yn[0] + (yn[-1] - yn[0]) * x
    return int(np.argmax(line - yn))
