"""Forecast scenario planning: drivers changed over the horizon move the forecast the way the data taught the
network (promotions sell more, a price rise sells less), with the interval, the reorder quantity and the money."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine import forecast as fc
from engine.data import DataError
from engine.forecast import scenario as sc

H = 14
COLS = fc.ForecastColumns(date="date", target="units", series=("store",), drivers=("promo", "price"))
CONFIG = fc.ForecastConfig(horizon=H, backtest_windows=1, hidden=(32,), max_epochs=30, ets=False, refit=False, seed=0)


def _promo_data(n_series: int = 4, days: int = 240, seed: int = 0) -> pd.DataFrame:
    """Daily sales that triple on promotion days and fall as the price rises; future rows carry the drivers."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=days + H, freq="D")
    rows = []
    for s in range(n_series):
        promo = (rng.random(len(dates)) < 0.2).astype(int)
        price = np.round(rng.uniform(8, 12, len(dates)), 2)
        mean = (15 + 5 * s) * (1 + 2 * promo) * (10 / price) ** 2
        units = rng.poisson(mean).astype(float)
        units[days:] = np.nan  # the horizon: drivers known, sales not yet
        rows.append(pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "store": f"S{s}", "units": units,
                                  "promo": promo, "price": price}))
    return pd.concat(rows, ignore_index=True)


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return _promo_data()


@pytest.fixture(scope="module")
def model(data):
    return fc.fit(data, COLS, CONFIG)


def test_no_change_is_the_models_own_forecast(model, data):
    same = sc.plan(model, data, [])
    pd.testing.assert_frame_equal(same.base, same.planned)
    # the engine's own forecast of this history, and (within 2%: its scale is the training one) the page's forecast
    own = model.predict(data)
    assert same.base["median"].to_numpy() == pytest.approx(own["forecast (median)"].to_numpy(), rel=1e-5, abs=1e-4)
    assert same.base["high"].to_numpy() == pytest.approx(own["high (90%)"].to_numpy(), rel=1e-5, abs=1e-4)
    mine = same.base.set_index(["series", "step"])["median"]
    theirs = model.forecast.set_index(["series", "step"])["median"]
    assert np.allclose(mine.reindex(theirs.index).to_numpy(), theirs.to_numpy(), rtol=0.02)
    assert (same.summary()["difference (units)"] == 0).all()


def test_a_promotion_raises_the_forecast_on_its_days_and_the_order(model, data):
    series = ["S1"]
    base = sc.plan(model, data, [], series)
    promo_days = base.base_drivers["promo"].to_numpy() == 1
    # the plan: a promotion from day 3 to day 9 (wherever there was none), for one store only
    plan = sc.plan(model, data, [sc.DriverChange("promo", 3, 9, value=1)], series)
    assert plan.ids == series and set(plan.planned["series"]) == {"S1"}
    assert (plan.planned_drivers["promo"].to_numpy()[2:9] == 1).all()
    newly = np.zeros(H, bool)
    newly[2:9] = ~promo_days[2:9]
    assert newly.any()
    up = plan.planned["median"].to_numpy() - plan.base["median"].to_numpy()
    assert up[newly].min() > 0  # a promotion sells more on each day it is newly on, as the data taught
    assert up[newly].mean() > 0.5 * plan.base["median"].to_numpy()[newly].mean()  # by a lot: the data tripled sales
    assert (plan.planned["low"] <= plan.planned["median"]).all() and (plan.planned["median"] <= plan.planned["high"]).all()
    s = plan.summary(unit_price=2.5)
    assert s.loc[0, "difference (units)"] == pytest.approx(up.sum())
    assert s.loc[0, "difference (money)"] == pytest.approx(2.5 * up.sum())
    order = plan.reorder(lead_time=3, review_period=7)
    assert order.loc[0, "suggested order · with the plan"] > order.loc[0, "suggested order · without the plan"]
    assert order.loc[0, "difference in the order"] > 0


def test_a_price_rise_lowers_the_forecast_and_money_reads_the_planned_price(model, data):
    plan = sc.plan(model, data, [sc.DriverChange("price", percent=30)])
    assert plan.ids == ["S0", "S1", "S2", "S3"]
    ratio = plan.planned_drivers["price"].to_numpy() / plan.base_drivers["price"].to_numpy()
    assert ratio == pytest.approx(np.full(len(ratio), 1.3))
    s = plan.summary(price_driver="price")
    assert (s["difference (units)"] < 0).all()  # dearer: fewer units, as the data taught
    money = (plan.planned["median"] * plan.planned_drivers["price"]).groupby(plan.planned["series"]).sum()
    assert s.set_index("series")["money with the plan"].to_numpy() == pytest.approx(money.to_numpy())


def test_bad_plans_are_sentences(model, data):
    with pytest.raises(DataError, match="within the horizon"):
        sc.plan(model, data, [sc.DriverChange("promo", 10, H + 3, value=1)])
    with pytest.raises(DataError, match="not a driver this model reads"):
        sc.plan(model, data, [sc.DriverChange("weather", value=1)])
    with pytest.raises(DataError, match="only the history drives its forecast"):
        sc.plan(model.decide(driver_columns=[], drivers=None), data, [])
    assert sc.driver_kinds(model, data) == {"promo": "flag", "price": "number"}
