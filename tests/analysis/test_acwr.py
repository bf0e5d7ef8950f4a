from datetime import UTC, date, datetime

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from imurehab.analysis import acwr_ewma, acwr_rolling, daily_load, ewma, ewma_lambda, weekly_load

loads = arrays(np.float64, st.integers(1, 80), elements=st.floats(0.0, 1000.0))


def brute_rolling(x, acute, chronic, coupled):
    out = np.full(x.size, np.nan)
    for t in range(chronic - 1, x.size):
        a = x[t - acute + 1 : t + 1].mean()
        c = x[t - chronic + 1 : t + 1].mean() if coupled else x[t - chronic + 1 : t - acute + 1].mean()
        if c > 0:
            out[t] = a / c
    return out


@given(loads, st.booleans())
def test_rolling_equals_the_windows_written_out(x, coupled):
    np.testing.assert_allclose(acwr_rolling(x, coupled=coupled), brute_rolling(x, 7, 28, coupled), rtol=1e-9)


@given(loads, st.integers(1, 40))
def test_ewma_equals_its_weights_written_out(x, n):
    lam = 2.0 / (n + 1.0)
    e = ewma(x, n)
    for t in range(x.size):
        k = np.arange(1, t + 1)
        direct = (1 - lam) ** t * x[0] + np.sum(lam * (1 - lam) ** (t - k) * x[k])
        assert e[t] == pytest.approx(direct, rel=1e-9, abs=1e-9)


def test_lambda_of_williams_2017():
    assert ewma_lambda(7) == 0.25
    assert ewma_lambda(28) == pytest.approx(2 / 29)
    with pytest.raises(ValueError):
        ewma_lambda(0)


def test_steady_load_gives_one_after_the_warm_up_only():
    x = np.full(40, 250.0)
    for r in (acwr_rolling(x), acwr_rolling(x, coupled=False), acwr_ewma(x)):
        assert np.isnan(r[:27]).all()
        np.testing.assert_allclose(r[27:], 1.0)


def test_spike_raises_the_acute_side_more():
    x = np.full(40, 100.0)
    x[-1] = 800.0
    assert acwr_ewma(x)[-1] > acwr_rolling(x)[-1] > 1.0
    assert acwr_rolling(x, coupled=False)[-1] > acwr_rolling(x)[-1]  # the spike is not in the denominator


def test_zero_chronic_is_undefined_not_zero_or_infinite():
    assert np.isnan(acwr_rolling(np.zeros(30))).all()
    assert np.isnan(acwr_ewma(np.zeros(30))).all()


def test_bad_series_are_refused():
    with pytest.raises(ValueError, match="finite"):
        acwr_rolling([1.0, np.nan])
    with pytest.raises(ValueError, match="acute"):
        acwr_rolling(np.ones(30), acute_days=28, chronic_days=7)


def test_daily_load_fills_rest_days_and_weeks_start_on_monday():
    t = [
        datetime(2025, 3, 4, 10, tzinfo=UTC),
        datetime(2025, 3, 4, 23, tzinfo=UTC),
        datetime(2025, 3, 11, tzinfo=UTC),
    ]
    frame = pl.DataFrame({"who": ["a", "a", "a"], "t": t, "v": [1.0, 2.0, 4.0]})
    daily = daily_load(frame, time="t", value="v", by="who", until=pl.lit(date(2025, 3, 16)))
    assert daily.height == 13 and daily.get_column("v").sum() == 7.0
    assert daily.filter(pl.col("date") == date(2025, 3, 4)).get_column("v").item() == 3.0
    weekly = weekly_load(daily, value="v", by="who")
    assert weekly.get_column("week").to_list() == [date(2025, 3, 3), date(2025, 3, 10)]
    assert weekly.get_column("v").to_list() == [3.0, 4.0]
    assert weekly.get_column("days").to_list() == [6, 7]
