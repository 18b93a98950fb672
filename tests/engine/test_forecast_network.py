"""The forecast network on short weekly histories (issue 17): forecasts relative to each window's recent level,
an 80% band calibrated on windows it was not fitted on, and the network beside AutoETS on the weekly sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from engine import forecast as fc
from engine.forecast.frame import _frequency
from engine.forecast.network import QUANTILES, TOTAL_LEVELS, ForecastNet, calibrate, level_lags, quantiles
from tests.conftest import SAMPLES

H = 4


def _net(L: int = 6, level: int = 1, n_other: int = 3) -> ForecastNet:
    return ForecastNet(L + n_other, fc.n_outputs(H), (16,), 0.0, lags=L, level_lags=level)


def test_an_untrained_network_forecasts_the_recent_level():
    """With its layers at zero the network's every output is the level it reads from the last lags, so what the
    layers learn is the change from that level (the lags it sees are relative to it)."""
    net = _net(L=6, level=3)
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
    x = torch.tensor([[1.0, 2.0, 3.0, 9.0, 9.0, 9.0, 0.5, 0.5, 0.5], [0.0, 0.0, 0.0, 5.0, 5.0, 5.0, 1.0, 1.0, 1.0]])
    out = net.eval()(x).detach()
    np.testing.assert_allclose(out.numpy(), np.array([[2.0], [0.0]]) * np.ones((1, fc.n_outputs(H))))
    # the layers see the lags minus the level: two windows that differ only by level read the same to them
    seen = []
    net.net.register_forward_hook(lambda m, i, o: seen.append(i[0].detach().clone()))
    net(torch.tensor([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.0, 0.0, 0.0], [2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 0.0, 0.0, 0.0]]))
    np.testing.assert_allclose(seen[0][0].numpy(), seen[0][1].numpy())


def test_level_rule_and_model_files_of_earlier_versions():
    daily, weekly, monthly = (_frequency(k, c) for k, c in (("D", "D"), ("W", "W-MON"), ("M", "MS")))
    assert (level_lags(daily, 28), level_lags(daily, 5), level_lags(weekly, 6), level_lags(monthly, 24)) == (7, 5, 1, 1)
    net = _net(L=6, level=1)
    net.set_offsets(list(np.linspace(-1, 1, fc.n_outputs(H))))
    tensors, meta = pack_net(net)
    again = ForecastNet(**meta)
    again.load_state_dict(tensors)
    x = torch.randn(5, 9)
    torch.testing.assert_close(again.eval()(x), net.eval()(x))
    # a file written before this network: its spec has no lags, level or offsets, and it runs as the plain MLP
    old = ForecastNet(9, fc.n_outputs(H), (16,), 0.0)
    old.load_state_dict(net.state_dict())
    torch.testing.assert_close(old.eval()(x), net.net(x))


def pack_net(net: ForecastNet) -> tuple[dict, dict]:
    return {k: v.clone() for k, v in net.state_dict().items()}, net.spec()


def _too_narrow(n: int, rng: np.random.Generator) -> tuple[ForecastNet, np.ndarray, np.ndarray]:
    """A network whose band is far too narrow for its targets: log1p(y) spread ±1 around a median of 1."""
    net = _net(L=6, level=0)
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        net.net[-1].bias.fill_(1.0)  # every quantile and running total at log1p-value 1
    X = rng.normal(size=(n, 9)).astype(np.float32)
    y = np.expm1(1.0 + rng.normal(0, 0.5, size=(n, H))).clip(0)
    Y = np.hstack([y, np.ones((n, H))]).astype(np.float32)
    return net, X, Y


def test_calibration_makes_the_band_hold_on_new_windows():
    rng = np.random.default_rng(0)
    net, X, Y = _too_narrow(2000, rng)
    daily, _ = quantiles(net, X, H)
    y = Y[:, :H]
    before = ((y >= daily[..., 0]) & (y <= daily[..., -1])).mean()
    assert before < 0.05  # the band has no width
    calibrate(net, X, Y, H)
    _, Xn, Yn = _too_narrow(4000, np.random.default_rng(1))  # windows calibration never saw
    daily, totals = quantiles(net, Xn, H)
    yn = Yn[:, :H]
    after = ((yn >= daily[..., 0]) & (yn <= daily[..., -1])).mean()
    assert abs(after - 0.8) < 0.03, after
    assert np.all(daily[..., 0] <= daily[..., 1]) and np.all(daily[..., 1] <= daily[..., 2])
    # each running-total level now holds that share of the new windows' totals
    cum = np.cumsum(yn, axis=1)
    for j, level in enumerate(TOTAL_LEVELS):
        share = (cum[:, -1] <= totals[:, -1, j] + 1e-9).mean()
        assert abs(share - level) < 0.04, (level, share)
    assert len(QUANTILES) == 3


@pytest.fixture(scope="module")
def weekly() -> tuple[pd.DataFrame, fc.ForecastColumns]:
    """The shipped daily sample added up to whole weeks (Monday to Sunday): 30 products × about 52 weeks."""
    daily = pd.read_csv(SAMPLES / "online_retail_daily_product_units.csv")
    d = pd.to_datetime(daily["date"])
    week = d.dt.to_period("W-SUN").dt.start_time
    frame = daily.assign(week=week, days=1)
    out = frame.groupby(["stock_code", "week"], as_index=False).agg(
        units=("units", "sum"), days=("days", "sum"), open_days=("shop_open", "sum")
    )
    out = out[out["days"] == 7].drop(columns="days").rename(columns={"week": "date"})
    out["date"] = out["date"].dt.strftime("%Y-%m-%d")
    return out, fc.ForecastColumns("date", "units", ("stock_code",), ("open_days",))


def test_weekly_network_holds_up_beside_autoets(weekly):
    """On short weekly histories the network alone used to lose to AutoETS (MASE 1.17×, the global-mean scaling);
    forecasting from each window's level it is level with AutoETS, its 80% band holds, and the page's choice is
    never above the best baseline."""
    pytest.importorskip("statsforecast")
    df, cols = weekly
    model = fc.fit(df, cols, fc.ForecastConfig(horizon=8, backtest_windows=2, seed=0))
    assert model.freq.name == "weekly" and len(model.ids) == 30
    net, ets = model.network_metrics["mase"], model.baseline_metrics[fc.ETS]["mase"]
    naive = model.baseline_metrics[fc.SNAIVE]["mase"]
    assert net <= 1.05 * ets, f"network MASE {net:.3f} vs AutoETS {ets:.3f}"
    assert net < 0.95 * naive
    assert model.metrics["mase"] <= min(ets, naive) + 1e-9
    assert 0.7 <= model.network_metrics["coverage"] <= 0.92
    assert 0.7 <= model.metrics["coverage"] <= 0.92
    assert model.net.level_lags == 1 and model.net.offsets is not None
    again = fc.load(model.to_bytes())  # the level and the calibration travel in the model file
    assert again.net.spec() == model.net.spec()
    assert again.net.offsets == model.net.offsets
