"""Results by subgroup: does the model catch cases, and raise false alarms, alike across groups of people or things?

The source article's ethics section asks that a model used on people be checked for groups it serves worse. For a
yes/no decision (diagnosis, fraud, maintenance) this module takes the held-out rows, the truth, the decision at the
page's threshold and the risk score, and splits them by one column: a coded column as it is, a number column into
bands of about equal size (an age band). Per group it gives the counts, the recall (share of real cases caught),
the false-alarm rate (share of negatives flagged) and the precision, each with a 95% Wilson interval, and the
ROC-AUC where the group has both outcomes.

A gap is flagged only when it is larger than chance explains: the group's recall (or false-alarm rate) against
the rest of the rows, by Fisher's exact test on the 2x2 counts, with a Bonferroni correction for the number of
comparisons made. Small groups have wide intervals; "no flag" is said to be no proof of fairness.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import fisher_exact
from sklearn.metrics import roc_auc_score

Z95 = 1.959963984540054
MAX_CODES = 12  # a column with at most this many distinct values is grouped by its values
BANDS = 4  # a number column with more values is cut into this many bands of about equal size
MIN_GROUP = 5  # smaller groups are pooled into "other" (their rates would say nothing)
ALPHA = 0.05
MISSING = "(missing)"


def wilson(k: int, n: int) -> tuple[float, float]:
    """95% Wilson score interval of k successes in n trials (NaN, NaN when n is 0)."""
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 * np.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / (1 + Z95**2 / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def groupable(df: pd.DataFrame, exclude: tuple[str, ...] = ()) -> list[str]:
    """Columns a page offers to split by: coded ones (few values) and numbers (cut into bands); not ids or free text."""
    out = []
    for col in df.columns:
        if col in exclude:
            continue
        values = df[col].dropna()
        n = values.nunique()
        if 2 <= n <= MAX_CODES or (pd.api.types.is_numeric_dtype(values) and n > MAX_CODES):
            out.append(col)
    return out


def _number(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 or float(v).is_integer() else f"{v:,.3g}"


def groups_of(values: pd.Series, bands: int = BANDS) -> pd.Series:
    """The group of every row as text: a coded column's value, or a number's band ("29–45"), or "(missing)"."""
    values = values.reset_index(drop=True)
    if pd.api.types.is_numeric_dtype(values) and values.nunique() > MAX_CODES:
        cut = pd.qcut(values, bands, duplicates="drop")
        whole = bool((values.dropna() % 1 == 0).all())  # ages, counts: bands of whole numbers ("47–54")

        def edges(i: int, iv: pd.Interval) -> tuple[float, float]:
            if whole:
                return (values.min() if i == 0 else np.floor(iv.left) + 1), np.floor(iv.right)
            return (values.min() if i == 0 else iv.left), iv.right

        labels = {iv: "–".join(_number(v) for v in edges(i, iv)) for i, iv in enumerate(cut.cat.categories)}
        out = cut.map(labels).astype(object)
    else:
        out = values.map(
            lambda v: _number(float(v)) if isinstance(v, (int, float, np.integer, np.floating)) else str(v)
        ).astype(object)
    out[values.isna().to_numpy()] = MISSING
    return out.astype(str)


@dataclass
class Subgroups:
    """The per-group table, the groups whose gap chance does not explain, and one sentence saying what it means."""

    column: str
    table: pd.DataFrame  # one row per group; its count columns are named by `unit` and `positive`
    flagged: list[str]
    sentence: str
    unit: str = "rows"
    positive: str = "cases"


def _gap(k: int, n: int, k_rest: int, n_rest: int) -> float:
    """p-value of Fisher's exact test: is the group's rate k/n different from the rest's?"""
    if n == 0 or n_rest == 0:
        return 1.0
    return float(fisher_exact([[k, n - k], [k_rest, n_rest - k_rest]])[1])


def compare(
    column: str,
    values: pd.Series,
    y: np.ndarray,
    flagged: np.ndarray,
    score: np.ndarray | None = None,
    unit: str = "rows",
    positive: str = "cases",
    bands: int = BANDS,
) -> Subgroups:
    """Recall, false-alarm rate and precision per group of `values` (held-out rows, aligned with y/flagged/score)."""
    y, flagged = np.asarray(y).astype(bool), np.asarray(flagged).astype(bool)
    group = groups_of(values, bands).to_numpy()
    sizes = pd.Series(group).value_counts()
    small = [g for g, c in sizes.items() if c < MIN_GROUP]
    if small and len(small) < len(sizes):
        group = np.where(np.isin(group, small), "other", group)
    names = sorted(set(group), key=lambda g: (g in ("other", MISSING), _order(g)))
    rows = []
    comparisons = max(1, 2 * len(names))
    for g in names:
        m = group == g
        pos, neg = y & m, ~y & m
        tp, fp = int((flagged & pos).sum()), int((flagged & neg).sum())
        n_pos, n_neg = int(pos.sum()), int(neg.sum())
        rest_pos, rest_neg = y & ~m, ~y & ~m
        tp_rest, fp_rest = int((flagged & rest_pos).sum()), int((flagged & rest_neg).sum())
        rec_p = _gap(tp, n_pos, tp_rest, int(rest_pos.sum()))
        fa_p = _gap(fp, n_neg, fp_rest, int(rest_neg.sum()))
        auc = float("nan")
        if score is not None and 0 < n_pos < int(m.sum()):
            auc = float(roc_auc_score(y[m], np.asarray(score)[m]))
        rows.append(
            {
                "group": g,
                unit: int(m.sum()),
                positive: n_pos,
                "flagged": int((flagged & m).sum()),
                "recall": tp / n_pos if n_pos else np.nan,
                "recall_ci": wilson(tp, n_pos),
                "false_alarm_rate": fp / n_neg if n_neg else np.nan,
                "false_alarm_ci": wilson(fp, n_neg),
                "precision": tp / (tp + fp) if tp + fp else np.nan,
                "precision_ci": wilson(tp, tp + fp),
                "roc_auc": auc,
                "recall_p": min(1.0, rec_p * comparisons),
                "false_alarm_p": min(1.0, fa_p * comparisons),
            }
        )
    table = pd.DataFrame(rows)
    table["gap"] = [
        " and ".join(w for w, p in (("recall", r), ("false alarms", f)) if p < ALPHA)
        for r, f in zip(table["recall_p"], table["false_alarm_p"])
    ]
    flagged_groups = table.loc[table["gap"] != "", "group"].tolist()
    return Subgroups(
        column, table, flagged_groups, _sentence(column, table, y, flagged, unit, positive), unit, positive
    )


def _order(g: str) -> tuple[float, str]:
    """Bands and numbers in numeric order, then text in alphabetical order."""
    head = g.split("–")[0].replace(",", "")
    try:
        return float(head), g
    except ValueError:
        return float("inf"), g


def _pct(v: float) -> str:
    return "—" if not np.isfinite(v) else f"{100 * v:.0f}%"


def _sentence(column: str, table: pd.DataFrame, y: np.ndarray, flagged: np.ndarray, unit: str, positive: str) -> str:
    overall_recall = (flagged & y).sum() / max(1, y.sum())
    overall_fa = (flagged & ~y).sum() / max(1, (~y).sum())
    gaps = table[table["gap"] != ""]
    if gaps.empty:
        return (
            f"No group of '{column}' differs from the others by more than chance explains on these {len(y):,} "
            f"held-out {unit} (recall {_pct(overall_recall)}, false alarms {_pct(overall_fa)} overall). Small "
            "groups have wide intervals, so this is no proof that the model serves every group alike."
        )
    parts = []
    for _, r in gaps.iterrows():
        if "recall" in r["gap"]:
            lo, hi = r["recall_ci"]
            parts.append(
                f"for {column} = {r['group']} it catches {_pct(r['recall'])} of {positive} (95% interval "
                f"{_pct(lo)}–{_pct(hi)}, {r[positive]} {positive}) against {_pct(overall_recall)} overall"
            )
        if "false alarms" in r["gap"]:
            lo, hi = r["false_alarm_ci"]
            parts.append(
                f"for {column} = {r['group']} it raises false alarms on {_pct(r['false_alarm_rate'])} of the "
                f"others (95% interval {_pct(lo)}–{_pct(hi)}) against {_pct(overall_fa)} overall"
            )
    return (
        "A gap larger than chance explains: " + "; ".join(parts) + ". The model's mistakes fall unevenly on "
        "these groups. Check whether the group is small or different in the training data, and whether the "
        "decision should be reviewed for it, before relying on the model there."
    )
