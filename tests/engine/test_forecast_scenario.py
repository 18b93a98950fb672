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
        rows.append(
            pd.DataFrame(
                {"date": dates.strftime("%Y-%m-%d"), "store": f"S{s}", "units": units, "promo": promo, "price": price}
            )
        )
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
    # the plan without a change is the page's own forecast, with its running totals and orders
    cols = ["series", "step", "low", "median", "high", *[c for c in model.forecast.columns if c.startswith("total")]]
    pd.testing.assert_frame_equal(same.base[cols], model.forecast[cols], check_dtype=False)
    order = same.reorder(lead_time=3, review_period=7)
    expected = model.decide(lead_time=3, review_period=7).reorder()
    assert list(order["suggested order · without the plan"]) == list(expected["suggested order"])
    assert (order["difference in the order"] == 0).all()
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
    assert (plan.planned["low"] <= plan.planned["median"]).all() and (
        plan.planned["median"] <= plan.planned["high"]
    ).all()
    others = plan.planned["step"].isin([1, 2, 10, 11, 12, 13, 14]).to_numpy()
    assert np.abs(up[others]).mean() < 0.25 * up[newly].mean()  # the days around it barely move
    assert plan.changes[0].describe("day") == "promo set to 1 on days 3 to 9"
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


def test_a_plan_that_cuts_demand_leaves_less_to_cover(model, data):
    """A dearer price sells less, and the running totals (what the orders cover) follow the plan's forecast down at
    every service level. (Closing days with an open/closed driver: the page test on the sample.) Prices beyond those
    in the history are named as a guess beyond the data."""
    plan = sc.plan(model, data, [sc.DriverChange("price", percent=30)], ["S0"])
    base_total = plan.base[[c for c in plan.base.columns if c.startswith("total")]].to_numpy()
    plan_total = plan.planned[[c for c in plan.planned.columns if c.startswith("total")]].to_numpy()
    assert plan.planned["median"].sum() < 0.9 * plan.base["median"].sum()
    assert (plan_total[-1] < base_total[-1]).all()  # less to cover at every service level
    assert list(plan.outside) == ["price"] and plan.outside["price"] == pytest.approx((8.0, 12.0), abs=0.01)
    assert sc.plan(model, data, [sc.DriverChange("price", 1, 3, value=10.0)], ["S0"]).outside == {}


def test_bad_plans_are_sentences(model, data):
    with pytest.raises(DataError, match="within the horizon"):
        sc.plan(model, data, [sc.DriverChange("promo", 10, H + 3, value=1)])
    with pytest.raises(DataError, match="not a driver this model reads"):
        sc.plan(model, data, [sc.DriverChange("weather", value=1)])
    with pytest.raises(DataError, match="only the history drives its forecast"):
        sc.plan(model.decide(driver_columns=[], drivers=None), data, [])
    assert sc.driver_kinds(model, data) == {"promo": "flag", "price": "number"}
