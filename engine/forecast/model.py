"""The fitted forecaster (a `Fitted` of the scenario contract): what the page reads, reorder quantities, forecasts
of a newer history, explanations, and the model file (packed from the fields; first-version files still load)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import torch

from engine import artifacts
from engine.data import DataError
from engine.explain import Explanation
from engine.forecast import explain as explaining
from engine.forecast import tables
from engine.forecast.choose import chosen_future
from engine.forecast.config import ForecastConfig
from engine.forecast.frame import ForecastColumns, Frequency
from engine.forecast.network import ForecastNet, Inputs, quantiles, scale_of
from engine.forecast.prepare import prepare
from engine.forecast.scores import ETS, METRIC_LABELS, MODEL
from engine.scenario import About, Decision, Fitted, unpack
from engine.tabular import Preprocessor

KIND = "forecast"
ABOUT = About(
    name=KIND,
    title="Demand forecast",
    icon=":material/trending_up:",
    headline="mase",
    prefix="fc",
    purpose="Forecast sales per store or item with intervals from one network for all series, see on past periods "
    "whether it beats seasonal naive and exponential smoothing, which drivers matter, and what to reorder.",
    decision=Decision(lambda m: {"service_level": 0.5}, lambda m, rows: m.reorder(0.0)),  # order for a median week
    data_parallel=True,
)


@dataclass
class ForecastModel(Fitted):
    KIND: ClassVar[str] = KIND
    HEADLINE: ClassVar[str] = ABOUT.headline
    METRIC_LABELS: ClassVar[dict[str, str]] = METRIC_LABELS
    TRANSIENT: ClassVar[tuple[str, ...]] = ("inputs",)

    columns: ForecastColumns
    config: ForecastConfig
    freq: Frequency
    lags: int
    ids: list[str]
    id_values: dict[str, list[str]]
    skipped: dict[str, str]
    net: ForecastNet
    drivers: Preprocessor | None  # the driver encoding, fitted on the history the network trained on
    driver_columns: list[str]
    level_stats: tuple[float, float]  # mean and spread of log1p(series scale)
    background: np.ndarray
    per_series: dict[str, dict[str, list[float | None]]]  # model -> metric -> value per series (ids order; None: none)
    actuals: pd.DataFrame  # series, date, actual, known, open
    backtest: pd.DataFrame  # series, window, date, actual, evaluated, per-model forecasts
    forecast: pd.DataFrame  # series, date, step, low, median, high, open, total quantiles
    explain_X: np.ndarray
    explain_rows: pd.DataFrame  # group values of each explained forecast, plus 'series', 'from', 'future'
    explain_steps: list[dict[str, list]]  # per explained forecast: each group's value on each step
    total_coverage: dict[str, float]  # backtest: share of whole-window totals at or below each total quantile
    # decision settings of the reorder table (changed with `decide`, saved with the model file)
    lead_time: int | None = None  # None: half the horizon, at most 7 steps
    review_period: int | None = None  # None: the rest of the horizon, at most 7 steps
    service_level: float = 0.95
    # the page's choice among the network, AutoETS, seasonal naive and their combination (engine.forecast.choose);
    # empty in files of earlier versions: the network for every series
    choice: list[str] = field(default_factory=list)  # the method used for each series (ids order)
    choice_overall: str = MODEL  # the best method over all series (used for series a newer history adds)
    choice_note: str = ""  # one sentence: which, and why
    candidate_metrics: dict[str, dict[str, float]] = field(default_factory=dict)  # the network, the combination
    inputs: Inputs = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.inputs = Inputs.restore(
            self.freq, int(self.lags), self.config.horizon, list(self.driver_columns), self.drivers, self.level_stats
        )
        H = self.config.horizon
        if self.lead_time is None:
            self.lead_time = min(7, H // 2)
        if self.review_period is None:
            self.review_period = max(1, min(7, H - self.lead_time))
        if not self.choice:  # an earlier version's file: its forecasts are the network's
            self.choice = [MODEL] * len(self.ids)
            self.candidate_metrics = self.candidate_metrics or {MODEL: dict(self.metrics)}
            self.choice_note = (
                self.choice_note or "This model file predates the page's choice: its forecasts are the network's."
            )
        if "network" not in self.forecast.columns:
            self.forecast = self.forecast.assign(
                method=MODEL,
                network_low=self.forecast["low"],
                network=self.forecast["median"],
                network_high=self.forecast["high"],
            )

    @property
    def network_metrics(self) -> dict[str, float]:
        """The network's own backtest metrics (it is reported even when another method is chosen)."""
        return self.candidate_metrics.get(MODEL, self.metrics)

    def method_of(self, series: str) -> str:
        """The method the page uses for `series` (the overall choice for a series it has not seen)."""
        where = {s: m for s, m in zip(self.ids, self.choice)}
        return where.get(series, self.choice_overall)

    @property
    def horizon(self) -> int:
        return self.inputs.H

    @property
    def features(self) -> list[str]:
        """The columns a newer history needs (date, quantity, series ids, drivers)."""
        c = self.columns
        return [c.date, c.target, *c.series, *c.all_drivers]

    # -- what the page reads -------------------------------------------------------------
    def accuracy_table(self) -> pd.DataFrame:
        """Per series: MASE, sMAPE and MAE of the model and of each baseline, and the model's interval coverage."""
        return tables.accuracy_table(self)

    def series_view(self, series: str) -> dict[str, pd.DataFrame]:
        return tables.series_view(self, series)

    def forecast_table(self) -> pd.DataFrame:
        """The future forecast of every series, with the analyst's series columns, for download."""
        return tables.forecast_table(self)

    def reorder(self, stock: float | dict[str, float] | pd.Series | None = None) -> pd.DataFrame:
        """Order-up-to quantities per series at the lead time, review period and service level of this model's
        decision fields (`model.decide(lead_time=3).reorder(stock)`), minus the stock on hand."""
        return tables.reorder(self, stock)

    # -- scoring new history -----------------------------------------------------------
    def _forecast_new(self, df: pd.DataFrame) -> pd.DataFrame:
        """The next H steps (10%, median, 90%) of each series of a newer history, keyed by 'series'."""
        panel = prepare(df, self.columns, self.config, min_length="predict", frequency=self.freq)
        rows = []
        for s in panel.series:
            scale = scale_of(s, s.n)
            X, _ = self.inputs.design(self.inputs.encode(s, scale), np.array([s.n]))
            q = quantiles(self.net, X, self.horizon)[0][0] * scale
            dates = self.freq.dates(s.start, s.n + self.horizon)[s.n :]
            if s.open is not None:
                q[~s.open[s.n :]] = 0.0
            c = chosen_future(
                s.y, q, self.method_of(s.id), self.horizon, self.freq.season, with_ets=ETS in self.baseline_metrics
            )
            q = np.stack([c.low, c.point, c.high], axis=1)
            if s.open is not None:
                q[~s.open[s.n :]] = 0.0
            part = pd.DataFrame(
                {
                    "series": s.id,
                    "date": dates.strftime("%Y-%m-%d"),
                    "low (10%)": q[:, 0],
                    "forecast (median)": q[:, 1],
                    "high (90%)": q[:, 2],
                }
            )
            for j, col in enumerate(self.columns.series):
                part.insert(j, col, panel.id_values[s.id][j])
            rows.append(part)
        return pd.concat(rows, ignore_index=True)

    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        """The next H steps of each series of a (newer) history with the same columns, by the method chosen for that
        series on the backtest: one row per series and step (the analyst's series columns, date, low (10%),
        forecast (median), high (90%))."""
        out = self._forecast_new(df)
        return out.drop(columns="series") if self.columns.series else out

    def score(self, df: pd.DataFrame, reasons: int = 3) -> pd.DataFrame:
        """What "Score new data" downloads: the forecasts, then (per series) the top reasons for its horizon total."""
        out = self._forecast_new(df)
        if reasons:
            exp, series = self._explain_new(df, None)
            up, down = "raises the forecast", "lowers the forecast"
            words = {s: "; ".join(exp.reasons(i, reasons, up, down)) for i, s in enumerate(series)}
            out["top reasons"] = out["series"].map(words)
        return out.drop(columns="series") if self.columns.series else out

    # -- explanations --------------------------------------------------------------------
    def explain(self, df: pd.DataFrame | None = None, output: int | None = None) -> Explanation:
        """SHAP per group of inputs (lags, usual level, calendar, each driver ahead / before).

        `output`: None explains the median total over the horizon; a step (1..H) explains that step's median
        (drivers then split into 'that day' and 'other days'). Both on the network's log scale.
        Without `df`: the forecasts made at (up to 200) backtest origins and for the future, across the series.
        With `df`: the future forecast of each series of that (newer) history, one row per series.
        """
        if df is not None:
            return self._explain_new(df, output)[0]
        X, rows, steps = self.explain_X, self.explain_rows, self.explain_steps
        if len(X) > 400:  # keep it quick: the backtest rows and a fixed sample of the future ones
            fut = rows.index[rows["future"]].to_numpy()
            keep = np.sort(
                np.concatenate(
                    [
                        rows.index[~rows["future"]].to_numpy(),
                        np.random.default_rng(0).choice(fut, size=min(len(fut), 200), replace=False),
                    ]
                )
            )
            X, rows, steps = X[keep], rows.loc[keep].reset_index(drop=True), [steps[i] for i in keep]
        return explaining.explain_forecasts(self, X, rows, steps, output)

    def _explain_new(self, df: pd.DataFrame, output: int | None) -> tuple[Explanation, list[str]]:
        panel = prepare(df, self.columns, self.config, min_length="predict", frequency=self.freq)
        X, rows, steps = explaining.explain_inputs(
            self.inputs, panel, [[s.n] for s in panel.series], [scale_of(s, s.n) for s in panel.series]
        )
        return explaining.explain_forecasts(self, X, rows, steps, output), list(rows["series"])

    def explain_point(self, series: str, step: int) -> Explanation:
        """SHAP of one future forecast (the median of `step`, 1-based) of one series, in units."""
        return explaining.explain_point(self, series, step)

    def reasons_words(self) -> tuple[str, str]:
        return "raises the forecast", "lowers the forecast"

    # -- the model file ------------------------------------------------------------------
    @classmethod
    def from_bytes(cls, source: str | Path | bytes) -> ForecastModel:
        tensors, meta = artifacts.load_artifact(source, cls.KIND)
        if "frames" in meta:  # a first-version file: tables as one tensor per column, explain rows as JSON
            try:
                tensors, meta = _from_first_version(tensors, meta)
            except (KeyError, TypeError, ValueError, IndexError):
                meta = {}
        try:
            return unpack(cls, tensors, meta)
        except DataError:
            raise
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError):
            raise DataError(
                f"This {cls.KIND} model file is incomplete or damaged. Download it again from the page that trained it."
            ) from None


def _parquet(frame: pd.DataFrame) -> torch.Tensor:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return torch.from_numpy(np.frombuffer(buf.getvalue(), dtype=np.uint8).copy())


def _from_first_version(tensors: dict[str, torch.Tensor], meta: dict) -> tuple[dict[str, torch.Tensor], dict]:
    """Today's layout from a file of the first version (one tensor per table column, explain rows as JSON)."""
    ids = list(meta["ids"])
    tensors = dict(tensors)
    for name, spec in meta["frames"].items():
        out = {}
        for c, kind in spec:
            v = tensors.pop(f"{name}.{c}").numpy()
            if kind == "series":
                out[c] = np.asarray(ids, dtype=object)[v]
            elif kind.startswith("date"):
                out[c] = pd.to_datetime(v.astype("datetime64[ns]"))
                if ":" in kind:
                    out[c] = out[c].astype(kind.split(":", 1)[1])
            else:
                out[c] = v.astype({"bool": bool, "int": np.int64}.get(kind, np.float64))
        tensors[f"{name}.parquet"] = _parquet(pd.DataFrame(out))
    rows = pd.DataFrame(meta["explain_rows"])
    rows["from"] = pd.to_datetime(rows["from"])
    steps = list(rows.pop("per_step"))
    for c in rows.columns:
        if rows[c].dtype == object and rows[c].map(type).nunique() > 1:
            rows[c] = rows[c].astype(str)
    tensors["explain_rows.parquet"] = _parquet(rows)
    timings = dict(meta.get("seconds", {}))
    meta = {k: v for k, v in meta.items() if k not in ("frames", "explain_rows", "seconds")}
    return tensors, {**meta, "explain_steps": steps, "timings": timings}


def load(source: str | Path | bytes) -> ForecastModel:
    """Read a model file saved from the forecast page (weights and JSON only, never a pickle)."""
    return ForecastModel.from_bytes(source)
