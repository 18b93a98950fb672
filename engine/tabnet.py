"""The tabular network of the yes/no pages (diagnosis, fraud, maintenance): TabM over embedded numbers.

Built from the field's own packages rather than rewritten (issue 27; bench/tabular.py holds the measurements):

- `tabm` (Gorishniy et al., ICLR 2025): one MLP trained as an efficient ensemble of k members. "tabm-mini" shares
  every weight and gives each member only its own scaling of the inputs; the k predictions are averaged. Each
  member is trained on its own loss (`training_loss`), so the members stay different, as the paper requires.
- `rtdl_num_embeddings` (Gorishniy et al., NeurIPS 2022): each number becomes a small vector through periodic
  features (PLR, the "lite" variant: one linear layer shared by all numbers), which lets an MLP learn the
  irregular, step-like functions of a number that trees find easily.
- RealMLP's robust scaling and smooth clipping (Holzmüller et al., NeurIPS 2024): numbers are centred on their
  median, scaled by their inter-quartile range and softly clipped (x / sqrt(1 + (x/3)^2)), so heavy tails and
  outliers do not saturate the periodic features. Written here (two lines) rather than taken from `pytabkit`,
  which pulls in several other model libraries.

The network reads the same encoded matrix as the plain MLP (engine.tabular.Preprocessor: standardised numbers,
one-hot categories): the analyst's columns, what-if and model files are unchanged. Columns with at most two
values in training (one-hot levels, 0/1 codes) pass through as they are; the others are embedded.

SHAP: DeepExplainer cannot follow cos/sin, so `explained` splits the network in two: the embedding (per column,
no mixing between columns) and the body (linear layers, ReLU modules, the ensemble average). DeepExplainer
explains the body on the embedded rows, exactly additive; each embedded column's attributions are then summed
back to its column, as one-hot levels are summed back to theirs (tests/engine/test_tabnet.py checks additivity).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import rtdl_num_embeddings
import tabm
import torch
from torch import nn

from engine.seeding import rng_locked

ARCH = "tabm-mini"


def default_size(n_rows: int) -> dict[str, int]:
    """The network's size from the number of training rows (the page has no tuning): k = 4 members of one shared
    MLP of width 32 (64 above 100,000 rows: an unmeasured guess, the largest table benchmarked had 20,000), each number embedded from 8 frequencies (`embedding_size` values).

    Measured in bench/tabular.py (one seed, 4 tables, against today's network in the same run): k=4 × 32 wide with
    8-value embeddings ranked as well as k=8 × 128 wide with 16 (0.925 vs 0.935 mean headline) at about 2× the plain
    MLP's training time instead of 5×; k=1 (MLP-PLR) was cheapest (1.5×) but lost on the fraud sample. The cost
    of one step grows as k × width × (embedded width): on 2 CPU cores the ensemble size is the price of quality."""
    return {"k": 4, "width": 32 if n_rows <= 100_000 else 64, "n_frequencies": 8}


def embedding_size(n_numbers: int) -> int:
    """Values per embedded number: 8, fewer from 17 numbers on so that all together give at most 128, and none above
    24 numbers (they then enter robustly scaled and clipped, unembedded). Measured (bench/tabular.py and the fraud
    page's own time split): 20 numbers gained from embeddings (irregular: 0.901 vs the plain MLP's 0.815); 29-30
    did not (credit-card fraud AUPRC 0.892/0.903 with 4 values each, 0.906/0.918 without, seeds 0/1; breast cancer
    sits at its ceiling either way) and cost 3-4× the plain MLP's time; 64 pixel columns lost with 2 values each
    (digits8 AUPRC 0.896 vs 0.927 without)."""
    return 0 if n_numbers > 24 else int(min(8, 128 // max(n_numbers, 1)))


def robust_stats(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and a robust spread (inter-quartile range / 1.349, falling back to the standard deviation) per column."""
    q25, median, q75 = np.nanpercentile(X, [25, 50, 75], axis=0)
    spread = (q75 - q25) / 1.349
    std = np.nanstd(X, axis=0)
    spread = np.where(spread > 1e-6, spread, np.where(std > 1e-6, std, 1.0))
    return median.astype(np.float32), spread.astype(np.float32)


class MeanOfMembers(nn.Module):
    """(batch, k, outputs) → the members' mean logit (batch, outputs) when evaluating; each member's own logits
    while training (their losses are averaged in `TabularNetwork.training_loss`)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.training else x.mean(dim=1)


class TabularNetwork(nn.Module):
    """TabM-mini (k members) over PLR-embedded, robustly scaled numbers; returns logits (batch, n_out).

    `numeric`: positions of the encoded columns to embed (the others pass through). `center` / `scale` of those
    columns are buffers, set from the training rows by `for_rows` and saved with the weights."""

    numeric: torch.Tensor  # buffers (typed here: nn.Module's attribute lookup cannot tell a buffer from a layer)
    others: torch.Tensor
    center: torch.Tensor
    scale: torch.Tensor
    embedding: nn.Module | None
    body: nn.Sequential

    @rng_locked
    def __init__(
        self,
        n_in: int,
        n_out: int,
        numeric: Sequence[int] = (),
        k: int = 4,
        width: int = 32,
        depth: int = 2,
        dropout: float = 0.1,
        d_embedding: int = 8,
        n_frequencies: int = 8,
        frequency_scale: float = 0.1,
        clip: float = 3.0,
        arch: str = ARCH,
    ):
        super().__init__()
        numeric = sorted(int(i) for i in numeric)
        others = [i for i in range(n_in) if i not in set(numeric)]
        self.register_buffer("numeric", torch.tensor(numeric, dtype=torch.long))
        self.register_buffer("others", torch.tensor(others, dtype=torch.long))
        self.register_buffer("center", torch.zeros(len(numeric)))
        self.register_buffer("scale", torch.ones(len(numeric)))
        self.embedding = (
            rtdl_num_embeddings.PeriodicEmbeddings(
                len(numeric), d_embedding, n_frequencies=n_frequencies, frequency_init_scale=frequency_scale, lite=True
            )
            if numeric and d_embedding
            else None
        )
        width_of = [d_embedding if self.embedding is not None else 1] * len(numeric) + [1] * len(others)
        self.body = nn.Sequential(
            tabm.EnsembleView(k=k),
            tabm.make_tabm_backbone(
                d_in=sum(width_of),
                n_blocks=depth,
                d_block=width,
                dropout=dropout,
                k=k,
                arch_type=arch,
                start_scaling_init="normal" if self.embedding is not None else "random-signs",
                start_scaling_init_chunks=width_of,
            ),
            tabm.LinearEnsemble(width, n_out, k=k),
            MeanOfMembers(),
        )
        self.width_of = width_of
        self.settings = {
            "n_in": n_in,
            "n_out": n_out,
            "numeric": numeric,
            "k": k,
            "width": width,
            "depth": depth,
            "dropout": dropout,
            "d_embedding": d_embedding,
            "n_frequencies": n_frequencies,
            "frequency_scale": frequency_scale,
            "clip": clip,
            "arch": arch,
        }
        self.n_in, self.n_out, self.k, self.clip = n_in, n_out, k, clip

    @classmethod
    def for_rows(cls, X_train: np.ndarray, n_out: int, dropout: float = 0.1, **settings) -> TabularNetwork:
        """A network for these encoded training rows: which columns to embed, their robust scaling, its size."""
        X_train = np.asarray(X_train, dtype=np.float32)
        numeric = [
            j
            for j in range(X_train.shape[1])
            if len(np.unique(X_train[:2000, j])) > 2 or len(np.unique(X_train[:, j])) > 2
        ]
        size = {**default_size(len(X_train)), "d_embedding": embedding_size(len(numeric))}
        net = cls(X_train.shape[1], n_out, numeric, dropout=dropout, **{**size, **settings})
        if numeric:
            center, scale = robust_stats(X_train[:, numeric])
            net.center.copy_(torch.from_numpy(center))
            net.scale.copy_(torch.from_numpy(scale))
        return net

    def spec(self) -> dict:
        """Plain parameters that rebuild this module (saved beside the weights; `engine.models.network` reads them)."""
        return dict(self.settings)

    # -- forward in two parts (the split SHAP needs) --------------------------------------------
    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Encoded rows (batch, n_in) → the body's input (batch, sum(width_of)): embedded numbers, then the rest."""
        parts = []
        if len(self.numeric):
            z = (x[:, self.numeric] - self.center) / self.scale
            z = z / torch.sqrt(1 + (z / self.clip) ** 2)  # smooth clipping (RealMLP)
            parts.append(self.embedding(z).flatten(1) if self.embedding is not None else z)
        if len(self.others):
            parts.append(x[:, self.others])
        return torch.cat(parts, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(self.embed(x))

    def training_loss(self, loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]):
        """The loss the training loop minimises: the mean of the k members' own losses (TabM trains its members
        independently); evaluation (validation, predictions) sees the members' mean logit."""
        k = self.k

        def member_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            if out.dim() == 3:  # training: (batch, k, outputs)
                return loss_fn(out.flatten(0, 1), y.repeat_interleave(k, dim=0))
            return loss_fn(out, y)

        return member_loss

    def explained(self, background: np.ndarray, X: np.ndarray, group_matrix: np.ndarray):
        """(body, embedded background, embedded X, group matrix of the embedded columns): what DeepExplainer
        explains exactly (engine.explain.deep_explain calls this). Each embedded column maps to its encoded one."""
        source = [int(j) for j in self.numeric.tolist()] + [int(j) for j in self.others.tolist()]
        to_encoded = np.zeros((sum(self.width_of), self.n_in))
        row = 0
        for j, w in zip(source, self.width_of):
            to_encoded[row : row + w, j] = 1.0
            row += w
        device = self.center.device
        with torch.no_grad():
            embed = [
                self.embed(torch.as_tensor(np.asarray(a, dtype=np.float32), device=device)).cpu().numpy()
                for a in (background, X)
            ]
        return self.body, embed[0], embed[1], to_encoded @ group_matrix


def parameter_count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def describe(net: nn.Module) -> str:
    """The network in words (for notes and the benchmark)."""
    if isinstance(net, TabularNetwork):
        s = net.settings
        emb = (
            f"{len(s['numeric'])} numbers embedded (PLR, {s['d_embedding']} each)"
            if s["d_embedding"]
            else "no embeddings"
        )
        return f"TabM-mini, k={s['k']} members, {s['depth']}×{s['width']}, {emb}, {parameter_count(net):,} weights"
    return f"MLP {getattr(net, 'hidden', '')}, {parameter_count(net):,} weights"
