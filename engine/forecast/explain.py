"""Explanations (SHAP per group of inputs an analyst would name): which forecasts are explained, what each group's
value was, and the one-forecast explanation in units."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from engine.explain import Explanation, deep_explain
from engine.forecast.network import QUANTILES, TOTAL_LEVELS, Combine, Inputs, lag_bands, n_outputs
from engine.forecast.prepare import Panel

if TYPE_CHECKING:
    from engine.forecast.model import ForecastModel


def explain_inputs(
    inputs: Inputs, panel: Panel, origins: list[list[int]], scales: list[float]
) -> tuple[np.ndarray, pd.DataFrame, list[dict[str, list]]]:
    """Inputs at the given origins; per driver group, a value an analyst can read; and per forecast, each
    group's value on each forecast step (for one-step explanations)."""
    Xs, rows, steps = [], [], []
    bands = lag_bands(inputs.freq, inputs.L)
    cal_names = [n for n in inputs.group_names if n in ("day of week", "time of year", "month of year")]
    picked = [(s, np.asarray(os_, dtype=np.int64), sc) for s, os_, sc in zip(panel.series, origins, scales) if len(os_)]
    encoded = inputs.encode_all([p[0] for p in picked], [p[2] for p in picked])
    drivers = list(dict.fromkeys(inputs.driver_columns))
    for (s, os_, scale), enc in zip(picked, encoded):
        X, _ = inputs.design(enc, os_)
        Xs.append(X)
        y = np.nan_to_num(s.y, nan=0.0)
        dates = inputs.freq.dates(s.start, s.n + inputs.H)
        raw = {c: s.drivers[c].to_numpy() for c in drivers}
        num = {c: pd.to_numeric(s.drivers[c], errors="coerce").to_numpy(dtype=float) for c in drivers}
        for o in os_:
            r: dict[str, Any] = {"series": s.id, "from": dates[o], "future": bool(o >= s.n)}
            for lo, hi, name in bands:
                r[name] = float(y[max(o - hi, 0) : o - lo + 1].sum())
            r["usual sales level"] = scale
            step_dates = dates[o : o + inputs.H]
            per_step: dict[str, list] = {}  # each group's value on each forecast step (for one-point explanations)
            for name in cal_names:
                per_step[name] = list(step_dates.day_name() if name == "day of week" else step_dates.month_name())
                r[name] = per_step[name][0]
            for c in drivers:
                for when, sl in (("ahead", slice(o, o + inputs.H)), ("before", slice(max(o - inputs.L, 0), o))):
                    values, numbers = raw[c][sl], num[c][sl]
                    usable = len(numbers) and not np.isnan(numbers).any()
                    r[inputs.driver_group(c, when)] = (
                        float(numbers.mean()) if usable else str(pd.Series(values).mode().iloc[0])
                    )
                    if when == "ahead":
                        that_day = [float(v) for v in numbers] if usable else [str(v) for v in values]
                        per_step[inputs.driver_group(c, "that day")] = that_day
                        r[inputs.driver_group(c, "that day")] = that_day[0]
                        r[inputs.driver_group(c, "other days")] = "(several)"
            steps.append(per_step)
            rows.append(r)
    rows = pd.DataFrame(rows)
    for c in rows.columns:  # a driver read as numbers in some windows and text in others: text throughout
        if rows[c].dtype == object and rows[c].map(type).nunique() > 1:
            rows[c] = rows[c].astype(str)
    return np.vstack(Xs), rows, steps


def output_weights(H: int, step: int | None) -> np.ndarray:
    """The output SHAP explains: the median total over the horizon (step None) or one step's median."""
    weights = np.zeros(n_outputs(H))
    if step is None:
        weights[H * len(QUANTILES) + (H - 1) * len(TOTAL_LEVELS)] = H
    else:
        weights[(step - 1) * len(QUANTILES) + 1] = 1.0
    return weights


def explain_forecasts(
    model: ForecastModel, X: np.ndarray, rows: pd.DataFrame, steps: list[dict[str, list]], step: int | None
) -> Explanation:
    """SHAP (log scale) of the horizon total (step None) or of one step's median, per group of inputs."""
    H = model.horizon
    if step is None:
        matrix, names = model.inputs.group_matrix(), model.inputs.group_names
        output_name = f"the {H}-{model.freq.unit} forecast (log scale)"
        data = rows[names]
    else:
        if not 1 <= int(step) <= H:
            from engine.data import DataError

            raise DataError(f"Pick a step from 1 to {H}.")
        matrix, names = model.inputs.groups(int(step))
        output_name = f"the forecast {model.freq.units(int(step))} ahead (log scale)"
        data = rows[names].copy()
        for i, per_step in enumerate(steps):
            for name, values in per_step.items():
                data.iloc[i, data.columns.get_loc(name)] = values[int(step) - 1]
    return deep_explain(
        Combine(model.net, output_weights(H, step)),
        model.background,
        X,
        data,
        matrix,
        names,
        output_index=0,
        output_name=output_name,
    )


def explain_point(model: ForecastModel, series: str, step: int) -> Explanation:
    """SHAP of one future forecast (the median of `step`, 1-based) of one series, in units.

    The network works on a log scale; each contribution is converted to units in proportion to
    its share of the log-scale change, so they still add up from the average to this forecast.
    """
    rows = model.explain_rows
    row = rows.index[(rows["series"] == series) & rows["future"]][0]
    matrix, names = model.inputs.groups(step)
    date = model.forecast[(model.forecast["series"] == series) & (model.forecast["step"] == step)]["date"].iloc[0]
    exp = deep_explain(
        Combine(model.net, output_weights(model.horizon, step)),
        model.background,
        model.explain_X[[row]],
        rows.loc[[row], names],
        matrix,
        names,
        output_index=0,
        output_name=f"units forecast for {date:%a %d %b %Y}",
    )
    data = exp.data.copy()
    for name, values in model.explain_steps[row].items():
        data.loc[data.index[0], name] = values[step - 1]  # that day's weekday, month and driver values
    scale = float(rows.loc[row, "usual sales level"])
    base_log, out_log = exp.base_value, float(exp.outputs[0])
    base, out = (
        math.expm1(base_log) * scale,
        max(math.expm1(min(out_log, 30.0)), 0.0) * scale,
    )  # never below zero, as forecast
    gap = out_log - base_log
    factor = (out - base) / gap if abs(gap) > 1e-9 else math.exp(out_log) * scale
    return Explanation(exp.values * factor, base, data, exp.feature_names, exp.output_name)
