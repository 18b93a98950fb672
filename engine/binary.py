"""The one yes/no base: shared by the scenarios that flag rows by a yes/no risk (diagnosis, fraud, maintenance).

One way to do what each of them needs, with one signature each: the split (`split`), the network's risk (`risk`),
the class-weighted loss (`weighted_bce`), the two classic baselines (gradient boosting, logistic regression) fitted
and timed, what mistakes cost (`Costs`), and on the fitted model (`YesNo`): metrics at a threshold
(`at_threshold`), the held-out rows (`held_out`), the cheapest threshold within a review capacity
(`cheapest_threshold`, with `threshold_band` and `held_out_best`), and cost-per-1,000 curves for the threshold chart.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping, Protocol, Sequence

import numpy as np
import pandas as pd
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from torch import nn

from engine import evaluate
from engine.data import DataError
from engine.explain import Explanation, deep_explain
from engine.training import History, TrainConfig, fit_model, predict_batched

if TYPE_CHECKING:
    from engine.tabular import Preprocessor

GRADIENT_BOOSTING = "Gradient boosting"
LOGISTIC = "Logistic regression"


class TabularNet:
    """Mixin for a Fitted whose network reads the analyst's columns through its fields `preprocessor` (an
    engine.tabular.Preprocessor), `net` and `background` (encoded rows SHAP compares against)."""

    if TYPE_CHECKING:  # the model's fields this mixin reads (declared by the model's dataclass)
        preprocessor: Preprocessor
        net: nn.Module  # with `n_out`, its number of outputs
        background: np.ndarray

    @property
    def features(self) -> list[str]:
        """The analyst's columns the model uses, in order."""
        return self.preprocessor.features

    def net_explain(self, df: pd.DataFrame, output_index: int = 0, output_name: str = "the output") -> Explanation:
        """SHAP values of one output of the network, summed back to the analyst's columns. A one-output network's
        output is the log-odds of its risk (shown in % to analysts); with several outputs it is a softmax logit."""
        return deep_explain(
            self.net,
            self.background,
            self.preprocessor.transform(df),
            df[self.features],
            self.preprocessor.group_matrix(),
            self.features,
            output_index=output_index,
            output_name=output_name,
            link="logit" if self.net.n_out == 1 else "identity",
        )


def risk(net: nn.Module, X: np.ndarray) -> np.ndarray:
    """The sigmoid of a network's first output for every row of an encoded matrix, in float64: a float32 sigmoid is
    exactly 1.0 for every logit above ~17, which ties the riskiest rows together, and no threshold can then flag the
    best k of them (a tight review capacity flagged nothing, issue 24). In float64 they stay apart up to ~36."""
    if len(X) == 0:  # no rows (e.g. none flagged): the batched forward pass returns no second dimension to index
        return np.empty(0)
    logits = predict_batched(net, X)[:, 0]
    return torch.sigmoid(logits.float().cpu().double()).numpy()  # on the CPU: MPS has no float64


class WeightedBCE(nn.BCEWithLogitsLoss):
    """Binary cross-entropy on logits with each positive counted `pos_weight` times (for rare positives). A module,
    so its weight follows the network to the training device (engine.training places both)."""

    def __init__(self, pos_weight: float):
        super().__init__(pos_weight=torch.tensor(float(pos_weight)))

    def forward(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return super().forward(logits, y.float())


def weighted_bce(pos_weight: float) -> WeightedBCE:
    """The class-weighted loss of the yes/no scenarios (`WeightedBCE`)."""
    return WeightedBCE(pos_weight)


def split(
    y: np.ndarray | None,
    test_fraction: float,
    val_fraction: float,
    seed: int,
    *,
    order: np.ndarray | None = None,
    held: np.ndarray | None = None,
    rows: int | None = None,
    unit: str = "rows",
    positives: str = "positives",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, validation, test) row positions, each sorted: the test share of all rows, the validation share of the
    rest. Stratified by `y` (1 = positive; None: not stratified); with `order` (a time per row) the test rows are the
    latest and the validation rows the latest before them, and DataError says so when a part holds no positive
    (`unit`/`positives` name them: "transactions", "fraud"); with `held` (a mask) those rows are the test rows.
    `rows`: how many rows there are, when there is neither `y` nor `order`. Every model of a run is measured on the
    same test rows."""
    if y is not None:
        n = len(y)
    elif order is not None:
        n = len(order)
    elif rows is not None:
        n = int(rows)
    else:
        raise TypeError("split needs `y`, `order` or `rows` to know how many rows there are")
    idx = np.arange(n)
    if order is not None:
        ranked = np.argsort(order, kind="stable")
        n_test = max(1, int(round(test_fraction * n)))
        n_val = max(1, int(round(val_fraction * (n - n_test))))
        train, val, test = ranked[: n - n_test - n_val], ranked[n - n_test - n_val : n - n_test], ranked[n - n_test :]
        if y is not None:
            for part, part_rows in (("test (latest)", test), ("validation", val), ("training (earliest)", train)):
                if y[part_rows].sum() == 0:
                    raise DataError(
                        f"Split by time, the {part} part of the {unit} holds no {positives}, so the model could not be "
                        f"trained or measured honestly. Pick no time column (a random split), or add {unit} from the "
                        f"whole period, with {positives} in every part."
                    )
        return np.sort(train), np.sort(val), np.sort(test)
    if held is not None:
        trainval, test = idx[~held], idx[held]
    else:
        trainval, test = train_test_split(idx, test_size=test_fraction, stratify=y, random_state=seed)
    train, val = train_test_split(
        trainval, test_size=val_fraction, stratify=None if y is None else y[trainval], random_state=seed
    )
    return np.sort(train), np.sort(val), np.sort(test)


def fit_baselines(
    X: np.ndarray, y: np.ndarray, seed: int, names: Sequence[str] = (GRADIENT_BOOSTING, LOGISTIC)
) -> tuple[dict[str, Any], dict[str, float]]:
    """The classic baselines fitted on (X, y), in the order of `names`, and the seconds each took."""
    make: dict[str, Callable[[], Any]] = {
        GRADIENT_BOOSTING: lambda: HistGradientBoostingClassifier(random_state=seed, max_iter=200),
        LOGISTIC: lambda: LogisticRegression(max_iter=2000),
    }

    def fitting(name: str) -> Callable[[], Any]:
        return lambda: make[name]().fit(X, y)

    return evaluate.timed({name: fitting(name) for name in names})


@dataclass(frozen=True)
class Costs:
    """What each outcome of a yes/no decision costs: acting on a row that turns out negative (`false_alarm`: a review,
    a needless service stop), missing a positive (`missed`: fixed, or the row's amount with `missed_is_amount`), and
    acting on a positive (`caught`: the service stop that prevents a failure; 0 for a fraud review)."""

    false_alarm: float = 5.0
    missed: float = 100.0
    caught: float = 0.0
    missed_is_amount: bool = False

    def __post_init__(self):
        values = (self.false_alarm, self.missed, self.caught)
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values) or min(values) < 0:
            raise DataError(
                "Costs must be numbers of 0 or more: enter what a false alarm, a missed case and acting "
                "on a real one cost you."
            )

    def miss_costs(self, amounts: np.ndarray | None, n: int) -> np.ndarray:
        """What missing each of `n` rows would cost: its amount (when costs follow the amount), else `missed`."""
        if self.missed_is_amount and amounts is not None:
            return np.asarray(amounts, dtype=np.float64)
        return np.full(n, float(self.missed))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Costs:
        """Also reads the fraud page's older files, which called `missed` `missed_fraud`."""
        d = {("missed" if k == "missed_fraud" else k): v for k, v in d.items()}
        return cls(**{f.name: d[f.name] for f in dataclasses.fields(cls) if f.name in d})


class _Seeded(Protocol):
    """A scenario's options, as far as YesNo reads them."""

    @property
    def seed(self) -> int: ...


class YesNo(TabularNet):
    """Mixin for a Fitted that flags rows by a yes/no risk: one way to read its held-out rows and to pick, judge and
    move its threshold. The model keeps `test` (held-out rows: "y" with 1 = positive, "row" = positions in the
    analyst's table, and each model's scores under its name), `config.seed` and a `threshold` field; it overrides
    `choice_rows` when it chooses thresholds from costs, and `held_out_y` / `held_out_scores` when `test` keeps
    something else (diagnosis keeps class indices and probabilities of every class)."""

    MODEL_NAMES: ClassVar[tuple[str, ...]] = ()  # the main model first, then the baselines

    if TYPE_CHECKING:  # the model's fields this mixin reads (declared by the model's dataclass)
        test: dict[str, np.ndarray]
        config: _Seeded
        threshold: float | None  # None only where the model overrides `decision_threshold` (fraud)

    @property
    def model_name(self) -> str:
        return self.MODEL_NAMES[0]

    def model_names(self) -> list[str]:
        return [n for n in self.MODEL_NAMES if n in self.test]

    def held_out_y(self) -> np.ndarray:
        """True where the held-out row is a positive."""
        return np.asarray(self.test["y"]).astype(bool)

    def held_out_scores(self, name: str | None = None) -> np.ndarray:
        """A model's scores (risk of the positive outcome) on the held-out rows."""
        return np.asarray(self.test[name or self.model_name], dtype=np.float64)

    def choice_rows(self, name: str | None = None) -> dict[str, np.ndarray] | None:
        """The rows a threshold is chosen on, never the held-out ones: {"y", "score", optionally "amount"}; None when
        the model picks no threshold from costs."""
        return None

    def _quota(self, part: Mapping[str, np.ndarray], t: float, capacity: float | None, name: str | None) -> float:
        """Under a capacity: the share of rows that `t` flags on the rows it was chosen on, placed on the held-out rows'
        scores (their labels unused) — a team reviews its best few of every batch it scores (`capacity_threshold`)."""
        if not capacity:
            return t
        return capacity_threshold(self.held_out_scores(name), float(np.mean(part["score"] >= t)), capacity)

    @property
    def decision_threshold(self) -> float:
        assert self.threshold is not None, "a model whose threshold may be None overrides decision_threshold"
        return float(self.threshold)

    def at_threshold(self, threshold: float | None = None) -> dict[str, dict[str, float]]:
        """Per model, on the held-out rows: everything that depends on a cut (evaluate.at_threshold) at `threshold`
        (default: the model's decision)."""
        t = self.decision_threshold if threshold is None else threshold
        y = self.held_out_y()
        return {name: evaluate.at_threshold(y, self.held_out_scores(name), t) for name in self.model_names()}

    def held_out(self, df: pd.DataFrame, limit: int | None = None) -> pd.DataFrame:
        """The held-out rows of the analyst's table, in the order of `test`; with `limit`, a sample of that many drawn
        with the run's seed (the same rows every time), for explanations and the what-if."""
        rows = np.asarray(self.test["row"])
        if limit and len(rows) > limit:
            rows = rows[np.sort(np.random.default_rng(self.config.seed).choice(len(rows), limit, replace=False))]
        return df.iloc[rows]

    def _money(self, costs: Costs, part: Mapping[str, np.ndarray]) -> dict[str, Any]:
        return dict(
            false_alarm=costs.false_alarm,
            missed=costs.miss_costs(part.get("amount"), len(part["y"])),
            caught=costs.caught,
        )

    def cheapest_threshold(self, costs: Costs, capacity: float | None = None, name: str | None = None) -> float:
        """The threshold with the lowest expected cost on the rows it is chosen on (`choice_rows`, never the held-out
        rows); `capacity`: a team that acts on at most this many per 1,000 rows gets its best k, 1 <= k <= that
        many (evaluate.best_threshold), never none: the cheapest share of rows is chosen there and placed on the
        held-out rows' scores (`capacity_threshold`). 0.5 when the model picks no threshold from costs."""
        part = self.choice_rows(name)
        if part is None:
            return 0.5
        t = evaluate.best_threshold(part["score"], part["y"], max_alerts_per_1000=capacity, **self._money(costs, part))[
            0
        ]
        return self._quota(part, t, capacity, name)

    def threshold_band(self, costs: Costs, capacity: float | None = None) -> tuple[float, float]:
        """The range (80%) the main model's cheapest threshold takes over bootstrap resamples of the rows it is chosen
        on."""
        part = self.choice_rows()
        if part is None:
            return 0.5, 0.5
        low, high = evaluate.threshold_band(
            part["score"], part["y"], max_alerts_per_1000=capacity, seed=self.config.seed, **self._money(costs, part)
        )
        return self._quota(part, low, capacity, None), self._quota(part, high, capacity, None)  # monotone: order kept

    def held_out_cost(self, costs: Costs, threshold: float, name: str | None = None) -> float:
        """Expected cost on the held-out rows of acting on a model's rows scoring at least `threshold`."""
        return evaluate.expected_cost(
            self.held_out_scores(name), self.held_out_y(), threshold, **self._money(costs, self.test)
        )

    def held_out_best(
        self, costs: Costs, capacity: float | None = None, name: str | None = None
    ) -> tuple[float, float]:
        """The threshold that would have been cheapest on the held-out rows, and its cost per 1,000 there (hindsight;
        never used to choose)."""
        y = self.held_out_y()
        t, cost = evaluate.best_threshold(
            self.held_out_scores(name), y, max_alerts_per_1000=capacity, **self._money(costs, self.test)
        )
        return t, 1000 * cost / max(len(y), 1)


def capacity_threshold(scores: np.ndarray, share: float, capacity: float) -> float:
    """The threshold that flags `share` of `scores` (rounded), at least one row and at most the capacity's share of
    them (at least one): a capacity is a quota, and the share chosen on the training rows is placed on the scores of
    the rows the team acts on.

    Why a share and not the score itself: a capacity's cut lies in the far tail, where scores do not carry over from
    one set of models or rows to another. On credit-card transactions never seen (issue 24), the fold models put 8
    of 665 rows at a risk of exactly 1.0 in float64 while no held-out row of the trained network reached 0.99999999,
    and the network's own 2nd-riskiest validation row (split by time) still outscored every later held-out row: a
    score cut flagged none of them at a capacity of 20 per 1,000. Shares carry over; the tail's scores do not."""
    s = np.sort(np.asarray(scores, dtype=np.float64))[::-1]
    n = len(s)
    most = max(1, math.floor(capacity * n / 1000 + 1e-9))
    k = int(np.clip(round(share * n), 1, most))
    if k >= n:
        return float(s[-1])
    mid = (s[k - 1] + s[k]) / 2
    return float(mid if s[k] < mid <= s[k - 1] else s[k - 1])  # tied or adjacent scores: flag the tie with the k-th


def cost_curves(
    scores: Mapping[str, np.ndarray],
    y: np.ndarray,
    false_alarm: float,
    missed,
    caught: float = 0.0,
    max_points: int = 400,
) -> dict[str, pd.DataFrame]:
    """Per model: expected cost per 1,000 rows against the threshold in [0, 1], thinned for plotting."""
    out = {}
    for name, s in scores.items():
        curve = evaluate.cost_curve(s, y, false_alarm, missed, caught)
        curve["cost_per_1000"] = 1000 * curve["cost"] / max(len(y), 1)
        out[name] = evaluate.thin(curve[(curve["threshold"] >= 0) & (curve["threshold"] <= 1)], max_points)
    return out


def ranking_intervals(
    y: np.ndarray, scores: Mapping[str, np.ndarray], n: int, seed: int
) -> dict[str, dict[str, list[float]]]:
    """95% bootstrap intervals of AUPRC and ROC-AUC on the held-out rows, per model."""
    return evaluate.bootstrap(
        np.asarray(y).astype(bool), scores, {"auprc": average_precision_score, "roc_auc": roc_auc_score}, n, seed
    )


def metric_help(rows: str, positives: str, rare: bool = False) -> dict[str, str]:
    """The help texts of the ranking metrics in a page's own words (rows: 'runs', positives: 'failing runs')."""
    return {
        "auprc": f"AUPRC (area under the precision-recall curve): how well the score ranks {positives} above the other "
        f"{rows}; 1 is perfect, and guessing gets the share of {positives}.",
        "roc_auc": f"ROC-AUC: the chance that one of the {positives} scores above one of the other {rows}; 0.5 is "
        "guessing." + (f" It looks flattering when {positives} are rare — read AUPRC first." if rare else ""),
        "brier": "Brier score: mean squared gap between the predicted risk and what happened; lower is better, 0 is perfect.",
    }


FOLDS_MAX_ROWS = 200_000  # above this many training rows the validation slice alone picks the threshold


def out_of_fold(
    X: np.ndarray,
    y: np.ndarray,
    rows: np.ndarray,
    folds: int,
    seed: int,
    make_net: Callable[[np.ndarray], tuple[nn.Module, Any]],
    train_config: TrainConfig,
    history: History,
    baselines: Mapping[str, Callable[[], Any]] | None = None,
    name: str = "network",
    cancel=None,
    say: Callable[[str], None] | None = None,
) -> dict[str, np.ndarray]:
    """Every row of `rows` scored by models trained without it (k stratified folds): thresholds chosen on these
    scores rest on all training rows, not on a small validation slice whose cheapest threshold moves a lot between
    runs (bench/threshold.py). Empty when k < 2 (too few positives) or when there are over FOLDS_MAX_ROWS rows (the
    validation slice is then large, and k more fits would be slow).

    `make_net(y_fit)` gives a fresh network and its loss for those labels; the fold networks train for the epochs
    the main one needed (`history`), with no rows left to stop them early. `baselines`: name -> unfitted estimator
    factory, scored the same way. Returns {"y": labels of `rows`, name: risks, baseline: risks, ...}."""
    k = min(folds, int(y[rows].sum()), int((y[rows] == 0).sum()))
    if k < 2 or len(rows) > FOLDS_MAX_ROWS:
        return {}
    epochs = max(history.best_epoch or len(history.epochs), 1)
    config = dataclasses.replace(train_config, max_epochs=epochs, patience=epochs + 1, lr_patience=epochs + 1)
    baselines = baselines or {}
    out = {n: np.zeros(len(rows)) for n in (name, *baselines)}
    for i, (a, b) in enumerate(StratifiedKFold(k, shuffle=True, random_state=seed).split(rows, y[rows])):
        if say:
            say(f"Choosing the alert threshold on rows the models did not see: fold {i + 1} of {k}…")
        fit_rows, score_rows = rows[a], rows[b]
        net, loss_fn = make_net(y[fit_rows])
        fit_model(net, (X[fit_rows], y[fit_rows].astype(np.float32)[:, None]), None, loss_fn, config, cancel=cancel)
        out[name][b] = risk(net.eval(), X[score_rows])
        for n, make in baselines.items():
            out[n][b] = make().fit(X[fit_rows], y[fit_rows]).predict_proba(X[score_rows])[:, 1]
    return {"y": y[rows], **out}


def threshold_rows_note(folds: int, n_val: int, n_rows: int, unit: str) -> list[str]:
    """Why the threshold fell back to the validation rows although folds were asked for (a note for the page)."""
    if folds < 2:
        return []
    why = (
        f"above {FOLDS_MAX_ROWS:,} training rows they are plenty, and scoring every training row by fold models "
        "would take too long"
        if n_rows > FOLDS_MAX_ROWS
        else "too few positives to split the training rows into folds"
    )
    return [f"The alert threshold is chosen on the {n_val:,} validation {unit} ({why})."]
