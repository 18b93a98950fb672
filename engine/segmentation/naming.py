"""Plain-language segment names and a suggested action each: classic RFM names for transactions,
"High income · Low age" style names from the centres for a customer table."""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np
import pandas as pd

from engine.segmentation.spec import FREQUENCY, MONETARY, RECENCY, RETURNS, TENURE, TRANSACTIONS
from engine.tabular import Preprocessor

RFM_ACTIONS = {
    "Champions": "Reward them: early access to new products, loyalty perks, ask for reviews. They need no discounts.",
    "Loyal customers": "Upsell higher-value products and invite them into a loyalty programme.",
    "Potential loyalists": "Offer membership or a loyalty programme and recommend products that go with past orders.",
    "New customers": "Welcome them well: onboarding emails and a reason to place a second order soon.",
    "Promising": "Build the habit: free-delivery thresholds and recommendations based on what they bought.",
    "Need attention": "Time-limited offers based on past purchases, before they drift away.",
    "About to sleep": "Remind them with popular products and a small discount to revive interest.",
    "At risk": "Win them back with personal emails, renewals and helpful reminders; find out why they stopped.",
    "Can't lose them": "Big spenders who have gone quiet: reach out personally, with your best offer, now.",
    "Hibernating": "Low-cost reactivation only (newsletter, seasonal offer); do not overspend on them.",
    "Lost": "Leave them out of paid campaigns; try one last win-back offer, then stop.",
    "Frequent returners": "Find out why they send goods back (sizing, quality, descriptions) before spending on offers.",
}


def _mid_rank(values: pd.Series, x: float) -> float:
    v = values.to_numpy(float)
    return float(((v < x).sum() + 0.5 * (v == x).sum()) / max(len(v), 1))


def rfm_name(r: float, f: float, m: float, t: float) -> str:
    """A classic RFM segment name from percentile scores (0–1; r high = bought recently, t = tenure)."""
    fm = (f + m) / 2
    if r >= 0.6:
        if fm >= 0.65:
            return "Champions"
        if fm >= 0.4:
            return "Potential loyalists"
        return "New customers" if t < 0.4 else "Promising"
    if r >= 0.35:
        if fm >= 0.65:
            return "Loyal customers"
        if fm >= 0.4:
            return "Need attention"
        return "New customers" if t < 0.3 else "About to sleep"
    if fm >= 0.8:
        return "Can't lose them"
    if fm >= 0.55:
        return "At risk"
    return "Lost" if r < 0.15 and fm < 0.35 else "Hibernating"


def _dedupe(names: list[str], order_key: Sequence[float]) -> list[str]:
    out = list(names)
    for name in set(names):
        idx = [i for i, n in enumerate(names) if n == name]
        if len(idx) > 1:
            idx.sort(key=lambda i: -order_key[i])
            for rank, i in enumerate(idx):
                out[i] = f"{name} ({'ABCDEFGHIJ'[rank]})"
    return out


def name_segments(
    features: pd.DataFrame, labels: np.ndarray, k: int, shape: str, centers: np.ndarray, pre: Preprocessor
) -> tuple[list[str], list[str]]:
    """Plain-language names and a suggested action per segment."""
    if shape == TRANSACTIONS and {RECENCY, FREQUENCY, MONETARY} <= set(features.columns):
        names, spend = [], []
        for j in range(k):
            seg = features[labels == j]
            r = 1 - _mid_rank(features[RECENCY], float(seg[RECENCY].median()))
            f = _mid_rank(features[FREQUENCY], float(seg[FREQUENCY].median()))
            m = _mid_rank(features[MONETARY], float(seg[MONETARY].median()))
            t = _mid_rank(features[TENURE], float(seg[TENURE].median())) if TENURE in seg else 0.5
            returns = float(seg[RETURNS].median()) if RETURNS in seg else 0.0
            names.append("Frequent returners" if returns >= 0.2 else rfm_name(r, f, m, t))
            spend.append(float(seg[MONETARY].median()))
        actions = [RFM_ACTIONS[n] for n in names]
        return _dedupe(names, spend), actions
    names, actions, sizes = [], [], []
    groups = pre.groups
    encoded = pre.encoded_names
    for j in range(k):
        scores: list[tuple[float, str]] = []
        for plan in pre.plans_:
            idx = groups[plan.name]
            if plan.kind == "numeric":
                z = float(centers[j, idx[0]])
                if abs(z) >= 0.35:
                    what = _short(plan.name)
                    word = (
                        ("younger (born later)" if z > 0 else "older (born earlier)")
                        if what == "year of birth"
                        else f"{'high' if z > 0 else 'low'} {what}"
                    )
                    scores.append((abs(z), word))
            else:
                seg = labels == j
                for col_i in idx:
                    share_seg = float(_level_share(features, plan.name, encoded[col_i], seg))
                    share_all = float(_level_share(features, plan.name, encoded[col_i], np.ones_like(seg)))
                    if share_seg - share_all >= 0.25 and share_seg >= 0.6:
                        scores.append((2 * (share_seg - share_all), f"mostly {encoded[col_i].split('=', 1)[1]}"))
        scores.sort(reverse=True)
        words = [w for _, w in scores[:2]]
        name = (" · ".join(words)[:1].upper() + " · ".join(words)[1:]) if words else "Typical customers"
        names.append(name)
        sizes.append(float((labels == j).sum()))
        actions.append(
            (
                "What sets them apart from the average customer: "
                + " and ".join(words)
                + ". Shape the offer around that."
            )
            if words
            else "Close to the average customer on every column: a good group for general offers."
        )
    return _dedupe(names, sizes), actions


_ABBREVIATIONS = {
    "mnt": "spend on",
    "amt": "amount of",
    "num": "number of",
    "nb": "number of",
    "no": "number of",
    "cnt": "count of",
    "qty": "quantity of",
    "avg": "average",
    "pct": "share of",
    "yr": "year",
    "dt": "date",
    "recency": "days since last purchase",
    "kidhome": "children at home",
    "teenhome": "teenagers at home",
}


def _short(name: str) -> str:
    """A column name in words, without its unit in brackets: 'Spending Score (1-100)' → 'spending score',
    'MntMeatProducts' → 'spend on meat products', 'NumWebVisitsMonth' → 'number of web visits month',
    'Year_Birth' → 'year of birth'."""
    bare = re.sub(r"\s*[(\[].*?[)\]]\s*", " ", str(name)).strip() or str(name)
    parts = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", bare))
    words = [w.lower() for w in re.split(r"[\s_\-.]+", parts) if w]
    if not words:
        return bare
    if words[0] == "year" and len(words) == 2:
        return f"year of {words[1]}"
    words = (
        [_ABBREVIATIONS.get(words[0], words[0]), *words[1:]]
        if len(words) > 1
        else [_ABBREVIATIONS.get(words[0], words[0])]
    )
    return " ".join(words)


def _level_share(features: pd.DataFrame, col: str, encoded_name: str, mask: np.ndarray) -> float:
    level = encoded_name.split("=", 1)[1]
    s = features[col][mask].astype("string").fillna("(missing)").str.strip()
    return float((s == level).mean()) if len(s) else 0.0
