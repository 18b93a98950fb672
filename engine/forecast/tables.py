"""The tables the page reads from a fitted forecaster: accuracy per series, one series' view, the forecast download,
and the reorder quantities (order-up-to, from the learned quantiles of the running total)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from engine.data import DataError
from engine.forecast.choose import CHOICE, SHORT
from engine.forecast.network import TOTAL_LEVELS, total_col
from engine.forecast.scores import MODEL

if TYPE_CHECKING:
    from engine.forecast.model import ForecastModel


def accuracy_table(model: ForecastModel) -> pd.DataFrame:
    """Per series: MASE, sMAPE and MAE of the model and of each baseline, and the model's interval coverage."""
    out = pd.DataFrame({"series": model.ids})

    def values(per: dict[str, list], key: str) -> np.ndarray:  # None (no figure for that series) → NaN
        return np.array([np.nan if v is None else v for v in per.get(key, [None] * len(model.ids))], dtype=float)

    for label, key in (("MASE", "mase"), ("sMAPE %", "smape"), ("MAE", "mae")):
        for name, per in model.per_series.items():
            out[f"{label} · {name}"] = values(per, key)
    for name in (CHOICE, MODEL):
        if name in model.per_series:
            out[f"80% coverage · {name}"] = values(model.per_series[name], "coverage")
    if len(set(model.choice)) > 1 or CHOICE in model.per_series:
        out.insert(1, "forecast used", [SHORT.get(m, m) for m in model.choice])
    return out


def series_view(model: ForecastModel, series: str) -> dict[str, pd.DataFrame]:
    return {
        "actuals": model.actuals[model.actuals["series"] == series],
        "backtest": model.backtest[model.backtest["series"] == series],
        "forecast": model.forecast[model.forecast["series"] == series],
    }


def forecast_table(model: ForecastModel) -> pd.DataFrame:
    """The future forecast of every series, with the analyst's series columns, for download."""
    out = model.forecast.copy()
    out.insert(0, "date", out.pop("date").dt.strftime("%Y-%m-%d"))
    for j, c in reversed(list(enumerate(model.columns.series))):
        out.insert(0, c, out["series"].map(lambda s, j=j: model.id_values.get(s, [s] * (j + 1))[j]))
    if model.columns.series:
        out = out.drop(columns="series")
    return out.rename(columns={"low": "low (10%)", "median": "forecast (median)", "high": "high (90%)"})


def reorder(model: ForecastModel, stock: float | dict[str, float] | pd.Series | None = None) -> pd.DataFrame:
    """Order-up-to quantities per series: demand over lead time + review period at the service level, minus stock.

    The lead time, review period and service level are decision fields: `model.decide(lead_time=3).reorder(stock)`.
    """
    lead_time, review_period, service_level = model.lead_time, model.review_period, model.service_level
    assert lead_time is not None and review_period is not None  # ForecastModel.__post_init__ sets both
    span = int(lead_time) + int(review_period)
    if lead_time < 0 or review_period < 1:
        raise DataError("The lead time cannot be negative and the review period must be at least one step.")
    if span > model.horizon:
        raise DataError(
            f"The lead time plus review period ({model.freq.units(span)}) is longer than the forecast horizon "
            f"({model.freq.units(model.horizon)}). Shorten them, or set the horizon to at least {span} and train again."
        )
    if not TOTAL_LEVELS[0] <= service_level <= TOTAL_LEVELS[-1]:
        raise DataError(f"The service level must lie between {TOTAL_LEVELS[0]:.0%} and {TOTAL_LEVELS[-1]:.0%}.")
    f = model.forecast[model.forecast["step"] == span].set_index("series").reindex(model.ids)
    totals = f[[total_col(q) for q in TOTAL_LEVELS]].to_numpy()
    expected = totals[:, 0]
    level = np.array([np.interp(service_level, TOTAL_LEVELS, row) for row in totals])
    if isinstance(stock, (dict, pd.Series)):
        on_hand = np.array([float(pd.Series(stock).get(s, 0.0) or 0.0) for s in model.ids])
    else:
        on_hand = np.full(len(model.ids), float(stock or 0.0))
    on_hand = np.nan_to_num(on_hand, nan=0.0)
    # whole units, consistently: what is covered is rounded up, the order is exactly covered minus stock (never below 0)
    covered = np.ceil(level - 1e-9)
    expected = np.round(expected)
    order = np.ceil(np.maximum(covered - on_hand, 0.0) - 1e-9)
    return pd.DataFrame(
        {
            "series": model.ids,
            "forecast used": [SHORT.get(model.method_of(s), s) for s in model.ids],
            f"expected demand over {model.freq.units(span)}": expected.astype(int),
            f"demand covered at {service_level:.1%} service": covered.astype(int),
            "safety stock": np.maximum(covered - expected, 0).astype(int),
            "current stock": on_hand,
            "suggested order": order.astype(int),
        }
    )
