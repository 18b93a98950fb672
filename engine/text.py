"""Text as a first-class input: a Unicode tokenizer, a vocabulary of word and character n-grams, and a
fastText-style network over it (a bag of n-gram embeddings, averaged, then one linear layer).

Why written here rather than taken from a library: no pretrained weights can be fetched at run time, so a
tokenizer from a model hub (Hugging Face `tokenizers`) would have to be trained here anyway, and the model file
must stay safetensors + JSON. scikit-learn's vectorisers are the baselines' (engine/customer_service/scores.py); the
network needs ids it can embed, with each feature traced back to the word it came from so an explanation can
highlight words in the message.

Tokens are `\\w+` runs (any script, re.UNICODE) or single other non-space characters (an emoji, "?", "€"),
after NFKC normalisation and case folding. Features of a message: each token, each pair of neighbouring tokens,
and the character 3- to 5-grams of each word wrapped in "<" and ">" (so "cards" shares "<car" with "card";
the 4-grams of "<card>" are "<car", "card", "ard>"). The vocabulary keeps the features seen at least
`min_count` times in training; unseen ones are dropped (a message of unseen words gets the intents' prior).

Why a linear head on averaged embeddings: the logit of intent c is b_c + sum_f (W_c · E_f) / n, so each
feature's part of the logit is exact and the words' parts add up to the model's output (additive explanations
without sampling, under a millisecond per message). It was chosen by measurement (bench/customer_service.py).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import torch
from torch import nn

from engine.models import Dropout, rng_locked

TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
PAD = 0  # feature id 0 pads a message's row; it has a zero embedding and no gradient
MAX_IDS = 2**24  # ids travel through the training loop as float32, which holds integers exactly up to 2**24


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def tokens(text: str) -> list[tuple[str, int, int]]:
    """(token, start, end) of every token of `text`, positions in the text as given (not normalised).

    NFKC can change a string's length, so each match is normalised on its own and keeps the original span."""
    return [(normalise(m.group()), m.start(), m.end()) for m in TOKEN.finditer(text)]


def char_ngrams(word: str, low: int, high: int) -> list[str]:
    wrapped = f"<{word}>"
    return (
        [wrapped[i : i + n] for n in range(low, high + 1) for i in range(len(wrapped) - n + 1)] if len(word) > 1 else []
    )


def features(toks: Sequence[str], low: int = 3, high: int = 5, pairs: bool = True) -> list[tuple[str, int, int]]:
    """Every feature of a tokenised message with the token(s) it comes from: (feature, first token, last token)."""
    out: list[tuple[str, int, int]] = []
    for i, t in enumerate(toks):
        out.append(("w " + t, i, i))
        out.extend(("c " + g, i, i) for g in char_ngrams(t, low, high) if g != f"<{t}>")
        if pairs and i + 1 < len(toks):
            out.append(("p " + t + " " + toks[i + 1], i, i + 1))
    return out


@dataclass
class Vocabulary:
    """Feature strings → ids (1-based; 0 pads). Saved in the model file as JSON (to_dict / from_dict)."""

    terms: list[str] = field(default_factory=list)
    low: int = 3
    high: int = 5
    pairs: bool = True
    max_features: int = 1024  # features kept per message (the first ones: a 100,000-character message is cut)

    def __post_init__(self):
        self.index = {t: i + 1 for i, t in enumerate(self.terms)}

    @classmethod
    def build(
        cls,
        texts: Iterable[str],
        min_count: int = 2,
        max_terms: int = 500_000,
        low: int = 3,
        high: int = 5,
        pairs: bool = True,
        max_features: int = 1024,
    ) -> Vocabulary:
        """The features seen at least `min_count` times (at most `max_terms`, most frequent first; ties by text)."""
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(f for f, _, _ in features([t for t, _, _ in tokens(text)], low, high, pairs))
        kept = sorted((t for t, n in counts.items() if n >= min_count), key=lambda t: (-counts[t], t))[:max_terms]
        return cls(kept[: MAX_IDS - 1], low, high, pairs, max_features)

    def __len__(self) -> int:
        return len(self.terms) + 1

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(messages, width) feature ids, 0-padded; width = the longest message's count, at most max_features."""
        rows = []
        for text in texts:
            fs = features([t for t, _, _ in tokens(text)], self.low, self.high, self.pairs)
            rows.append([i for f, _, _ in fs if (i := self.index.get(f))][: self.max_features])
        width = max([len(r) for r in rows] + [1])
        out = np.zeros((len(rows), width), np.int64)
        for k, r in enumerate(rows):
            out[k, : len(r)] = r
        return out

    def trace(self, text: str) -> tuple[list[tuple[str, int, int]], np.ndarray, np.ndarray, np.ndarray]:
        """For one message: its tokens (token, start, end), and for each kept feature its id, first and last token
        (the features `encode` keeps, in the same order)."""
        toks = tokens(text)
        fs = features([t for t, _, _ in toks], self.low, self.high, self.pairs)
        kept = [(i, a, b) for f, a, b in fs if (i := self.index.get(f))][: self.max_features]
        ids, first, last = (np.array(v, np.int64) for v in zip(*kept)) if kept else (np.zeros(0, np.int64),) * 3
        return toks, ids, first, last

    def pieces(self) -> np.ndarray:
        """1 for each id that is a word piece (a character n-gram), 0 for words, word pairs and padding."""
        return np.r_[0, [t.startswith("c ") for t in self.terms]].astype(np.uint8)

    def to_dict(self) -> dict:
        return {
            "terms": self.terms,
            "low": self.low,
            "high": self.high,
            "pairs": self.pairs,
            "max_features": self.max_features,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Vocabulary:
        return cls(list(d["terms"]), int(d["low"]), int(d["high"]), bool(d["pairs"]), int(d["max_features"]))


class _Embeddings(nn.EmbeddingBag):
    """fastText's start: small uniform embeddings (the training loop calls reset_parameters on every module)."""

    def reset_parameters(self) -> None:
        with torch.no_grad():
            self.weight.uniform_(-1.0 / self.embedding_dim, 1.0 / self.embedding_dim)
            self.weight[PAD].zero_()


class _ZeroLinear(nn.Linear):
    """fastText's start: an output layer of zeros (every intent equally likely before training)."""

    def reset_parameters(self) -> None:
        nn.init.zeros_(self.weight)
        nn.init.zeros_(self.bias)


class TextBag(nn.Module):
    """Averaged n-gram embeddings → dropout → one linear layer of logits (fastText).

    With `blocks` (a 0/1 flag per feature id: 1 for word pieces), whole words and word pairs are averaged apart from
    word pieces and the two means are added with equal weight, as the linear SVM baseline joins two normalised TF-IDF
    blocks (a message has ~10 times more pieces than words, which would otherwise drown the words); a message with
    only one kind of feature uses that mean alone. Either way the output is linear in each feature's embedding, so
    each feature's part of a logit is exact (`feature_weights`).

    Input: (batch, width) feature ids as floats or integers (0 = padding; the shared training loop moves inputs
    as float32). Several `members` (trained from different seeds) are averaged by the scenario, not here."""

    blocks: torch.Tensor  # a buffer: 1 where a feature id is a word piece

    @rng_locked
    def __init__(self, n_terms: int, n_out: int, dim: int = 64, dropout: float = 0.0, two_blocks: bool = False):
        super().__init__()
        self.embed = _Embeddings(n_terms, dim, mode="sum", padding_idx=PAD)
        self.drop = Dropout(dropout)
        self.head = _ZeroLinear(dim, n_out)
        self.register_buffer("blocks", torch.zeros(n_terms, dtype=torch.uint8))
        self.n_terms, self.n_out, self.dim, self.dropout, self.two_blocks = n_terms, n_out, dim, dropout, two_blocks

    def set_blocks(self, pieces: np.ndarray) -> TextBag:
        """Mark which feature ids are word pieces (the vocabulary knows; saved with the weights)."""
        self.blocks.copy_(torch.as_tensor(np.asarray(pieces, np.uint8)))
        return self

    def feature_weights(self, ids: torch.Tensor) -> torch.Tensor:
        """Each feature's weight in the pooled vector (0 for padding): 1/count of its kind, halved when a message has
        both kinds (plain averaging without two blocks)."""
        real = (ids != PAD).to(self.embed.weight.dtype)
        if not self.two_blocks:
            return real / real.sum(1, keepdim=True).clamp(min=1)
        piece = self.blocks[ids].to(real.dtype) * real
        word = real - piece
        n_piece, n_word = piece.sum(1, keepdim=True), word.sum(1, keepdim=True)
        kinds = (n_piece > 0).to(real.dtype) + (n_word > 0).to(real.dtype)
        return (piece / n_piece.clamp(min=1) + word / n_word.clamp(min=1)) / kinds.clamp(min=1)

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        ids = x.long()
        return self.embed(ids, per_sample_weights=self.feature_weights(ids))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.pooled(x)))

    def spec(self) -> dict:
        return {
            "n_terms": self.n_terms,
            "n_out": self.n_out,
            "dim": self.dim,
            "dropout": self.dropout,
            "two_blocks": self.two_blocks,
        }

    @torch.no_grad()
    def feature_logits(self) -> np.ndarray:
        """(terms, outputs): what one feature adds to each logit when it is a message's only feature (W · E_f).
        A feature's part of a message's logit is this times its weight (`feature_weights`)."""
        return (self.embed.weight.float() @ self.head.weight.float().T).cpu().numpy()


class TextEnsemble(nn.Module):
    """Several TextBags trained from different seeds (`members`); the output is the mean of their logits, still exact
    per feature (the mean of the members' parts)."""

    @rng_locked
    def __init__(
        self, members: int, n_terms: int, n_out: int, dim: int = 64, dropout: float = 0.0, two_blocks: bool = False
    ):
        super().__init__()
        self.members = nn.ModuleList([TextBag(n_terms, n_out, dim, dropout, two_blocks) for _ in range(members)])

    @classmethod
    def of(cls, nets: Sequence[TextBag]) -> TextEnsemble:
        """The ensemble of networks trained one by one (in the shared loop)."""
        spec = nets[0].spec()
        out = cls(1, **spec)
        out.members = nn.ModuleList(nets)
        return out

    def bags(self) -> list[TextBag]:
        return [m for m in self.members if isinstance(m, TextBag)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([m(x) for m in self.members]).mean(0)

    def spec(self) -> dict:
        return {"members": len(self.members), **self.bags()[0].spec()}

    def feature_weights(self, ids: torch.Tensor) -> torch.Tensor:
        return self.bags()[0].feature_weights(ids)  # members share the vocabulary and the pooling

    @property
    def blocks(self) -> torch.Tensor:
        return self.bags()[0].blocks

    @torch.no_grad()
    def feature_logits(self) -> np.ndarray:
        return np.mean([m.feature_logits() for m in self.bags()], axis=0)

    @torch.no_grad()
    def bias(self) -> np.ndarray:
        return np.mean([m.head.bias.float().cpu().numpy() for m in self.bags()], axis=0)
