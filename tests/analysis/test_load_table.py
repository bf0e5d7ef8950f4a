"""The per-epoch load table: UTC-aligned epochs, edge epochs, the load schema, aggregation."""

import numpy as np
import polars as pl
import pytest

from imurehab.analysis.load import (
    LOAD_METRICS_VERSION,
    aggregate_load,
    enmo_mg,
    load_epochs,
    mad_mg,
    playerload,
)
from imurehab.errors import DataValidationError, TimeOrderError
from imurehab.store import columns as cols
from imurehab.store.schema import conform_frame, polars_schema

G = 9.80665
T0_US = 1_714_557_612_345_678  # 2024-05-01T10:00:12.345678Z, not on an epoch boundary


def signal(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 3.0, (n, 3)) + np.array([0.0, G, 0.0])


def test_rows_have_the_load_schema_and_epochs_on_the_utc_grid():
    acc = signal(20_000)
    t = T0_US + np.arange(20_000, dtype=np.int64) * 10_000
    df = load_epochs(acc, t, rate_hz=100.0, epoch_s=60.0, sensor="S7")
    assert df.schema == polars_schema(cols.LOAD)
    assert conform_frame(df, cols.LOAD).equals(df)
    starts = df.get_column(cols.EPOCH_START).dt.epoch("us").to_numpy()
    assert (starts % 60_000_000 == 0).all()
    assert starts[0] <= T0_US < starts[0] + 60_000_000
    assert df.get_column(cols.SENSOR).unique().to_list() == ["S7"]
    assert df.get_column(cols.LOAD_VERSION).unique().to_list() == [LOAD_METRICS_VERSION]
    assert df.get_column(cols.STATION).null_count() == df.height
    # partial edge epochs are kept with the seconds they hold; the middle ones are whole
    covered = df.get_column(cols.COVERED_S).to_numpy()
    assert covered.sum() == pytest.approx(200.0)
    assert covered[0] == pytest.approx(60.0 - 12.35, abs=0.011)
    assert (covered[1:-1] == 60.0).all()
    assert 0.0 < covered[-1] < 60.0


def test_per_epoch_sums_and_means_match_the_whole_recording_functions():
    acc = signal(18_000, seed=1)
    t = 1_714_557_600_000_000 + np.arange(18_000, dtype=np.int64) * 10_000  # on a minute boundary
    df = load_epochs(acc, t, rate_hz=100.0, epoch_s=60.0, sensor="S1", mad_window_s=60.0)
    assert df.get_column(cols.PLAYERLOAD).sum() == pytest.approx(playerload(acc, 100.0), rel=1e-12)
    np.testing.assert_allclose(df.get_column(cols.ENMO_MG).to_numpy(), enmo_mg(acc, 100.0, epoch_s=60.0))
    np.testing.assert_allclose(df.get_column(cols.MAD_MG).to_numpy(), mad_mg(acc, 100.0, epoch_s=60.0))


def test_mad_is_the_mean_of_its_windows():
    acc = signal(12_000, seed=2)
    t = 1_714_557_600_000_000 + np.arange(12_000, dtype=np.int64) * 10_000
    df = load_epochs(acc, t, rate_hz=100.0, epoch_s=60.0, sensor="S1", mad_window_s=5.0)
    per_window = mad_mg(acc, 100.0, epoch_s=5.0)
    np.testing.assert_allclose(df.get_column(cols.MAD_MG).to_numpy(), per_window.reshape(2, 12).mean(axis=1))


def test_datetime_and_integer_times_give_the_same_rows():
    acc = signal(3_000)
    t = T0_US + np.arange(3_000, dtype=np.int64) * 10_000
    a = load_epochs(acc, t, rate_hz=100.0, epoch_s=10.0, sensor="S1")
    b = load_epochs(acc, t.astype("datetime64[us]"), rate_hz=100.0, epoch_s=10.0, sensor="S1")
    assert a.equals(b)


def test_a_gap_leaves_out_empty_epochs_and_its_difference():
    acc = signal(4_000, seed=3)
    t = T0_US + np.arange(4_000, dtype=np.int64) * 10_000
    t[2_000:] += 125_000_000  # 125 s without samples
    df = load_epochs(acc, t, rate_hz=100.0, epoch_s=30.0, sensor="S1")
    starts = df.get_column(cols.EPOCH_START).dt.epoch("us").to_numpy()
    assert np.diff(starts).max() > 30_000_000
    both = playerload(acc[:2_000], 100.0) + playerload(acc[2_000:], 100.0)
    assert df.get_column(cols.PLAYERLOAD).sum() == pytest.approx(both, rel=1e-12)


def test_aggregate_sums_and_weights_by_covered_seconds():
    acc = signal(20_000, seed=4)
    t = T0_US + np.arange(20_000, dtype=np.int64) * 10_000
    df = load_epochs(acc, t, rate_hz=100.0, epoch_s=60.0, sensor="S1")
    agg = aggregate_load(df)
    assert agg.height == 1
    row = agg.row(0, named=True)
    assert row[cols.COVERED_S] == pytest.approx(200.0)
    assert row[cols.PLAYERLOAD] == pytest.approx(df.get_column(cols.PLAYERLOAD).sum())
    covered = df.get_column(cols.COVERED_S).to_numpy()
    enmo = df.get_column(cols.ENMO_MG).to_numpy()
    assert row[cols.ENMO_MG] == pytest.approx((enmo * covered).sum() / covered.sum())
    assert row[cols.START] == df.get_column(cols.EPOCH_START).min()
    assert row[cols.LOAD_VERSION] == LOAD_METRICS_VERSION
    # lazily too, and by an expression
    lazy = aggregate_load(df.lazy(), by=pl.col(cols.EPOCH_START).dt.truncate("2m")).collect()
    assert lazy.get_column(cols.COVERED_S).sum() == pytest.approx(200.0)


def test_bad_input_raises():
    acc = signal(100)
    t = T0_US + np.arange(100, dtype=np.int64) * 10_000
    with pytest.raises(TimeOrderError):
        load_epochs(acc, t[::-1], rate_hz=100.0, sensor="S1")
    with pytest.raises(DataValidationError):
        load_epochs(acc, t[:-1], rate_hz=100.0, sensor="S1")
    with pytest.raises(DataValidationError):
        load_epochs(acc, t, rate_hz=100.0, epoch_s=7.0, sensor="S1", mad_window_s=5.0)
    bad = acc.copy()
    bad[5, 1] = np.nan
    with pytest.raises(DataValidationError):
        load_epochs(bad, t, rate_hz=100.0, sensor="S1")


def test_huge_finite_values_pass_the_check_and_nan_or_inf_fail_it():
    from imurehab.analysis.load._validate import check_acc
    from imurehab.errors import NonFiniteError

    acc = np.full((10, 3), 1e308)  # their sum overflows: the quick check must not decide alone
    assert check_acc(acc) is not None
    for bad in (np.nan, np.inf, -np.inf):
        acc[4, 1] = bad
        with pytest.raises(NonFiniteError) as err:
            check_acc(acc)
        assert err.value.index == 4


def test_reused_working_arrays_change_nothing_and_are_never_shared():
    from imurehab.analysis.load import _scratch

    rng = np.random.default_rng(7)
    time_us = np.arange(9000, dtype=np.int64) * 10_000
    gravity = np.array([0.0, 9.80665, 0.0])
    signals = [rng.normal(0.0, 6.0, (9000, 3)) + gravity for _ in range(3)]
    fresh = [load_epochs(acc, time_us, rate_hz=100.0, sensor="S1") for acc in signals]
    with _scratch.reusing():
        reused = [load_epochs(acc, time_us, rate_hz=100.0, sensor="S1") for acc in signals]
        a = _scratch.scratch("x", 10)
        base = id(a.base)
        del a
        assert id(_scratch.scratch("x", 8).base) == base  # free: the same one again
        b = _scratch.scratch("x", 10)
        assert _scratch.scratch("x", 10).base is not b.base  # held: a new one
    for f, r in zip(fresh, reused, strict=True):
        assert f.equals(r)
