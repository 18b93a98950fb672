"""Predictive maintenance: will a production run end in a machine failure, and which machines to service first.

Follows the scenario contract (engine/scenario.py). A class-weighted MLP beside gradient boosting and
logistic regression on the same stratified split; the alert threshold comes from two costs (an unplanned
failure, a service stop) and is chosen on every training run scored out of fold (engine/binary.py). Failure-mode columns (tool wear, heat,
power, overstrain, random: AI4I's TWF/HDF/PWF/OSF/RNF) are outcomes, known only after a run: they are
never features, only used to say which kinds of failure the flagged runs were.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from engine import binary, evaluate, options, roles
from engine.data import DataError, check_finite
from engine.explain import Explanation
from engine.models import AnyTabularNet, tabular_network
from engine.options import option
from engine.scenario import About, Decision, Fitted
from engine.tabular import Preprocessor
from engine.training import Progress, TrainConfig, fit_model

KIND = "maintenance"
MODEL = "Neural network"
BASELINES = (binary.GRADIENT_BOOSTING, binary.LOGISTIC)  # the one to beat first
MAX_ROWS = 200_000
MIN_ROWS, MIN_FAILURES = 50, 10
OUTCOME_WORDS = ("machine_failure", "failure", "failed", "breakdown", "broke", "fault", "target")
MODE_WORDS = ("twf", "hdf", "pwf", "osf", "rnf", "mode", "failure", "fail", "fault", "breakdown")
YES = {"1", "true", "yes", "y"}
ABOUT = About(
    name=KIND,
    title="Predictive maintenance",
    icon=":material/precision_manufacturing:",
    headline="auprc",
    prefix="mt",
    purpose="Predict which production runs will end in a machine failure, beside gradient boosting; turn what a "
    "failure and a service stop cost into the alert threshold, and list which machines to service first, and why.",
    decision=Decision(lambda m: {"threshold": 0.0}, lambda m, rows: m.predict(rows)["service before next run"]),
    subgroups=True,
    capacity=True,
)


@dataclass(frozen=True)
class Columns:
    """The failure outcome, the features, the machine id (for the service list) and the failure-mode columns."""

    target: str
    features: tuple[str, ...]
    machine: str | None = None
    modes: tuple[str, ...] = ()  # outcomes of the run: never features
    failure_value: str | None = None  # None: guessed ("1", "yes", "failure", else the rarer value)


@dataclass(frozen=True)
class Config:
    """Analyst-facing options; defaults work on the sample data."""

    seed: int = options.seed()
    test_fraction: float = options.test_fraction(0.25)
    val_fraction: float = option(0.2, "Share of the training runs used to stop training early.", min=0.1, max=0.4)
    threshold_folds: int = options.threshold_folds()
    max_epochs: int = options.max_epochs(300)
    max_seconds: float = options.max_seconds(300.0)
    hidden: tuple[int, ...] = option((64, 64), "Neurons in each hidden layer of the network.")
    dropout: float = options.dropout(0.05)
    weight_decay: float = options.weight_decay(1e-4)
    lr: float = option(3e-3, "Learning rate: the step size of training.", min=1e-5, max=0.1)
    batch_size: int = option(64, "Runs per training step.", min=8, max=4096)
    patience: int = option(30, "Passes without improvement before training stops early.", min=3, max=200)
    bootstrap: int = options.bootstrap()

    def __post_init__(self):
        options.validate(self)


Costs = binary.Costs


def service_costs(failure: float = 10_000.0, service: float = 500.0) -> Costs:
    """The page's two costs as the yes/no base reads them: a failure nobody serviced for is missed, and a service
    stop is paid on every flagged run, whether it would have failed (caught) or not (a false alarm)."""
    return Costs(false_alarm=service, missed=failure, caught=service)


DEFAULT_COSTS = service_costs()


def _mode_reason(df: pd.DataFrame, col: str, failed: pd.Series) -> str | None:
    """Why a 0/1 column looks like a failure mode (an outcome of the run), else None."""
    values = roles.label_text(df[col]).dropna()
    if not len(values) or not set(values.unique()) <= {"0", "1", "true", "false"}:
        return None
    hit = next((w for w in roles.words(col) if w in MODE_WORDS), None)
    if hit:
        return f"named like a failure mode ('{hit}')"
    ones = roles.label_text(df[col]).isin(YES)
    if ones.sum() and failed[ones].mean() >= 0.9:
        return f"{failed[ones].mean():.0%} of its 1s are failed runs: it records how a run failed"
    return None


def column_reasons(df: pd.DataFrame) -> tuple[Columns, dict[str, str]]:
    """The default roles and why each was chosen, in words (the Columns step shows them)."""
    guess = roles.outcome(df, OUTCOME_WORDS)
    target = guess.column if guess.column is not None else df.columns[-1]
    values = roles.label_values(df[target])
    failed = roles.label_text(df[target]) == roles.positive_value(values, roles.label_text(df[target]).value_counts())
    modes = {c: reason for c in df.columns if c != target and (reason := _mode_reason(df, c, failed))}
    machine = roles.identifier(df, exclude=[target, *modes], prefer_words=("product", "machine", "asset", "serial"))
    why = {target: f"outcome: {guess.why}", **{c: f"failure mode, never a feature: {w}" for c, w in modes.items()}}
    if machine.column is not None:
        why[machine.column] = f"machine id: {machine.why}"
    features = roles.features(df, exclude=[target, *modes])
    why.update({c: f"left out: {w}" for c, w in roles.left_out(df, features, [target, *modes, machine.column]).items()})
    return Columns(target, features, machine.column, tuple(modes)), why


def default_columns(df: pd.DataFrame) -> Columns:
    return column_reasons(df)[0]


@dataclass
class Prepared:
    df: pd.DataFrame  # features of the rows kept
    y: np.ndarray  # 1 = the run failed
    modes: np.ndarray  # (rows, modes) 0/1
    rows: np.ndarray  # positions in the analyst's table
    failure_value: str
    notes: list[str]


def prepare(df: pd.DataFrame, columns: Columns, config: Config | None = None) -> Prepared:
    """Check the table against the chosen columns; DataError with a sentence when it cannot work."""
    t = columns.target
    if t not in df.columns:
        raise DataError(
            f"The outcome column '{t}' is not in your file. Pick the column that says whether a run failed."
        )
    leaks = [f for f in columns.features if f == t or f in columns.modes]
    if leaks:
        raise DataError(
            f"'{leaks[0]}' records how a run ended, known only afterwards: it cannot be a feature, "
            "or the model would 'predict' failures from their outcome. Remove it from the features."
        )
    absent = [c for c in (*columns.features, *columns.modes) if c not in df.columns]
    if absent:
        raise DataError(f"Column(s) {', '.join(map(repr, absent))} are not in your file. Pick columns from its header.")
    if not columns.features:
        raise DataError("Pick at least one feature column (sensor readings, settings) besides the outcome.")
    labels = roles.label_text(df[t])
    counts = labels.value_counts()
    if len(counts) != 2:
        raise DataError(
            f"The outcome column '{t}' has {len(counts):,} different value(s); this page needs exactly two "
            "(the run failed or it did not, such as 1/0). Pick another column or fix the values."
        )
    value = columns.failure_value or roles.positive_value(list(counts.index), counts)
    if value not in counts.index:
        raise DataError(f"'{value}' is not a value of '{t}'. Pick one of: {', '.join(counts.index)}.")
    keep = labels.notna().to_numpy()
    notes = [f"Dropped {int((~keep).sum()):,} run(s) whose outcome '{t}' is missing."] if not keep.all() else []
    y = (labels[keep] == value).to_numpy(np.int64)
    if keep.sum() < MIN_ROWS or y.sum() < MIN_FAILURES:
        raise DataError(
            f"Your file has {int(keep.sum()):,} runs with a known outcome, {int(y.sum()):,} of them failures; "
            f"the page needs at least {MIN_ROWS} runs and {MIN_FAILURES} failures to train and to test honestly."
        )
    check_finite(df, columns.features)
    modes = (
        np.stack([roles.label_text(df.loc[keep, m]).isin(YES).to_numpy() for m in columns.modes], axis=1)
        if columns.modes
        else np.zeros((int(keep.sum()), 0), bool)
    )
    return Prepared(
        df.loc[keep, list(columns.features)].reset_index(drop=True),
        y,
        modes.astype(np.uint8),
        np.flatnonzero(keep),
        str(value),
        notes,
    )


METRIC_HELP = binary.metric_help("runs", "failing runs")


@dataclass
class MaintenanceModel(binary.YesNo, Fitted):
    KIND: ClassVar[str] = KIND
    HEADLINE: ClassVar[str] = ABOUT.headline
    METRIC_LABELS: ClassVar[dict[str, str]] = {"auprc": "AUPRC", "roc_auc": "ROC-AUC", "brier": "Brier score"}
    MODEL_NAMES: ClassVar[tuple[str, ...]] = (MODEL, *BASELINES)

    columns: Columns
    config: Config
    preprocessor: Preprocessor
    net: AnyTabularNet  # TabularMLP.from_spec: the TabM network (engine/tabnet.py)
    background: np.ndarray
    test: dict[str, np.ndarray]  # y, row, modes and each model's risk on the held-out runs; val_y, val_risk (the
    # threshold's rows: every training run scored out of fold, or the validation runs)
    threshold: float = 0.5  # decision: service before the next run when the risk reaches it

    def risk(self, df: pd.DataFrame) -> np.ndarray:
        return binary.risk(self.net, self.preprocessor.transform(df))

    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        """Failure risk of each run and whether to service the machine before it (risk >= threshold)."""
        risk = self.risk(df)
        return pd.DataFrame({"failure risk": risk, "service before next run": risk >= self.threshold}, index=df.index)

    def explain(self, df: pd.DataFrame, output: object = None) -> Explanation:
        """SHAP values of the failure logit, per analyst column."""
        return self.net_explain(df, output_name="the failure risk")

    def reasons_words(self) -> tuple[str, str]:
        return "raises risk", "lowers risk"

    # -- money and the threshold (cheapest_threshold, threshold_band, held_out_best: engine.binary.YesNo) --------
    def choice_rows(self, name: str | None = None) -> dict[str, np.ndarray] | None:
        """Every training run scored out of fold (or the validation runs), by the network: never the test runs."""
        if name not in (None, MODEL):
            return None
        return {"y": self.test["val_y"], "score": self.test["val_risk"]}

    def money(self, costs: Costs) -> dict[str, float]:
        """Per 1,000 held-out runs: the network at `threshold`, each baseline at its own cheapest threshold on
        these runs (a best case for it), and no model (every failure unplanned)."""
        y, n = self.test["y"], len(self.test["y"]) / 1000
        out = {MODEL: self.held_out_cost(costs, self.threshold) / n}
        for name in BASELINES:
            out[name] = self.held_out_best(costs, name=name)[1]
        out["No model"] = costs.missed * y.sum() / n
        return out

    def cost_curves(self, costs: Costs) -> dict[str, pd.DataFrame]:
        return binary.cost_curves(
            {k: self.test[k] for k in (MODEL, *BASELINES)},
            self.test["y"],
            costs.false_alarm,
            costs.missed,
            costs.caught,
        )

    # -- what the page reads -----------------------------------------------------------
    def pr_curves(self) -> dict[str, pd.DataFrame]:
        return {name: evaluate.pr_table(self.test["y"], self.test[name], 400) for name in (MODEL, *BASELINES)}

    def failure_modes(self) -> pd.DataFrame:
        """Per failure mode: held-out runs that failed that way, and how many of them the model flagged."""
        flagged = self.test[MODEL] >= self.threshold
        modes = self.test["modes"].astype(bool)
        return pd.DataFrame(
            {
                "failure mode": list(self.columns.modes),
                "runs that failed this way": modes.sum(0).astype(int),
                "flagged before the run": (modes & flagged[:, None]).sum(0).astype(int),
            }
        )

    def service_list(self, df: pd.DataFrame, limit: int = 50) -> pd.DataFrame:
        """Held-out runs flagged for service, riskiest first, with the top reasons and what really happened."""
        risk, rows = self.test[MODEL], self.test["row"]
        top = np.argsort(-risk, kind="stable")[: int((risk >= self.threshold).sum())][:limit]
        scored = self.score(df.iloc[rows[top]])
        mode_names = np.asarray(self.columns.modes, dtype=object)
        happened = [
            "failed: " + (", ".join(mode_names[m.astype(bool)]) or "no mode recorded") if yy else "ran fine"
            for yy, m in zip(self.test["y"][top], self.test["modes"][top])
        ]
        scored.insert(min(2, scored.shape[1]), "what happened", happened)
        if self.columns.machine in df.columns:
            scored.insert(0, "machine", df.iloc[rows[top]][self.columns.machine].to_numpy())
        return scored


load = MaintenanceModel.from_bytes


def _scores(y: np.ndarray, risk: np.ndarray) -> dict[str, float]:
    return {**evaluate.ranking(y, risk), "brier": evaluate.brier(y, risk)}


def fit(df: pd.DataFrame, columns: Columns, config: Config = Config(), progress=None, cancel=None) -> MaintenanceModel:
    """Train the network and both baselines on one stratified split; measure all of them on the held-out runs."""
    prep = prepare(df, columns, config)
    train, val, test = binary.split(prep.y, config.test_fraction, config.val_fraction, config.seed)
    pre = Preprocessor().fit(prep.df.iloc[train], columns.features)
    X, y = pre.transform(prep.df), prep.y
    net = tabular_network(X[train], 1, config.hidden, config.dropout)
    share = y[train].mean()
    loss = binary.weighted_bce(math.sqrt((1 - share) / share))
    target = y.astype(np.float32)[:, None]
    fitted, timings = evaluate.timed(
        {
            MODEL: lambda: fit_model(
                net,
                (X[train], target[train]),
                (X[val], target[val]),
                loss,
                TrainConfig.of(config),
                progress=progress,
                cancel=cancel,
            )
        }
    )
    fit_rows = np.sort(np.r_[train, val])
    folds = binary.out_of_fold(
        X,
        y,
        fit_rows,
        config.threshold_folds,
        config.seed,
        lambda _: (tabular_network(X[train], 1, config.hidden, config.dropout), loss),
        TrainConfig.of(config),
        fitted[MODEL],
        cancel=cancel,
        say=Progress(progress).say,
    )
    baselines, seconds = binary.fit_baselines(X[fit_rows], y[fit_rows], config.seed, BASELINES)
    net_risk = binary.risk(net, X)
    risks = {MODEL: net_risk[test], **{k: m.predict_proba(X[test])[:, 1] for k, m in baselines.items()}}
    yt = y[test]
    model = MaintenanceModel(
        columns=Columns(
            columns.target, tuple(columns.features), columns.machine, tuple(columns.modes), prep.failure_value
        ),
        config=config,
        preprocessor=pre,
        net=net,
        background=evaluate.background_sample(X, train, config.seed),
        test={
            "y": yt,
            "row": prep.rows[test],
            "modes": prep.modes[test],
            **risks,
            "val_y": folds.get("y", y[val]),
            "val_risk": folds.get("network", net_risk[val]),
        },
        metrics=_scores(yt, risks[MODEL]),
        baseline_metrics={k: _scores(yt, risks[k]) for k in BASELINES},
        intervals=binary.ranking_intervals(yt, risks, config.bootstrap, config.seed),
        history=fitted[MODEL],
        timings={**timings, **seconds},
        notes=prep.notes
        + pre.notes_
        + ([] if folds else binary.threshold_rows_note(config.threshold_folds, len(val), len(fit_rows), "runs")),
        n_rows={"train": len(train), "validation": len(val), "test": len(test)},
    )
    return model.decide(threshold=model.cheapest_threshold(DEFAULT_COSTS))


# The contract's names (engine/scenario.py).
Model = MaintenanceModel
SAMPLE = "ai4i2020_machines_1_7000.csv"
QUICK = Config(max_epochs=10, batch_size=128, bootstrap=20)
