"""PlayerLoad: the published formula exactly at 100 Hz, and close to it at other rates."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from imurehab.analysis.load import AxisMap, playerload
from imurehab.errors import DataValidationError

G = 9.80665


def naive_playerload(acc_mps2, cols):
    """The formula written out directly: Σ √(Σ_axes Δ²) / 100 with acceleration in g."""
    g = acc_mps2 / G
    total = 0.0
    for i in range(1, len(g)):
        total += np.sqrt(sum((g[i, c] - g[i - 1, c]) ** 2 for c in cols)) / 100.0
    return total


finite = st.floats(-160.0, 160.0, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(2, 400), st.just(3)), elements=finite))
def test_raw_formula_at_100hz_equals_a_direct_implementation(acc):
    # ISB default: x forward, z side, y up
    cases = {"3d": (0, 1, 2), "2d": (0, 2), "fwd": (0,), "side": (2,), "up": (1,)}
    for axes, cols in cases.items():
        expected = naive_playerload(acc, cols)
        got = playerload(acc, 100.0, axes=axes)
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_axis_map_picks_the_axes():
    rng = np.random.default_rng(3)
    acc = rng.normal(0.0, 5.0, (500, 3))
    amap = AxisMap(fwd="-z", side="+y", up="+x")
    assert playerload(acc, 100.0, axes="fwd", axis_map=amap) == pytest.approx(naive_playerload(acc, (2,)))
    assert playerload(acc, 100.0, axes="2d", axis_map=amap) == pytest.approx(naive_playerload(acc, (2, 1)))
    assert playerload(acc, 100.0, axes="up", axis_map=amap) == pytest.approx(naive_playerload(acc, (0,)))
    # the 3D value is a norm: independent of the map
    assert playerload(acc, 100.0, axis_map=amap) == pytest.approx(playerload(acc, 100.0), rel=1e-12)


def band_limited(rate_hz, duration_s=20.0, seed=0):
    """Gravity plus 3-axis sums of sines between 0.5 and 8 Hz, sampled at ``rate_hz``."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(duration_s * rate_hz)) / rate_hz
    acc = np.tile([0.0, G, 0.0], (t.size, 1))
    for axis in range(3):
        for f, a, p in zip(
            rng.uniform(0.5, 8.0, 6), rng.uniform(0.5, 6.0, 6), rng.uniform(0, 6.3, 6), strict=True
        ):
            acc[:, axis] += a * np.sin(2 * np.pi * f * t + p)
    return acc


@pytest.mark.parametrize("rate_hz", [50.0, 200.0, 400.0, 104.0, 52.0])
@pytest.mark.parametrize("axes", ["3d", "2d", "up"])
def test_other_rates_agree_with_100hz_for_band_limited_motion(rate_hz, axes):
    reference = playerload(band_limited(100.0), 100.0, axes=axes)
    got = playerload(band_limited(rate_hz), rate_hz, axes=axes)
    assert got == pytest.approx(reference, rel=0.01)


def test_higher_rates_would_inflate_the_raw_sum_with_noise_but_resampling_does_not():
    # white noise at 400 Hz: the raw formula at 400 Hz sums 4x as many noisy differences
    rng = np.random.default_rng(5)
    acc = band_limited(400.0) + rng.normal(0.0, 0.05 * G, (8000, 3))
    raw_400 = naive_playerload(acc, (0, 1, 2))
    resampled = playerload(acc, 400.0)
    reference = playerload(band_limited(100.0) + rng.normal(0.0, 0.05 * G, (2000, 3)), 100.0)
    assert abs(resampled - reference) < abs(raw_400 - reference)


def test_bad_arguments_raise():
    acc = np.zeros((10, 3))
    with pytest.raises(DataValidationError):
        playerload(acc, 100.0, axes="4d")
    with pytest.raises(DataValidationError):
        playerload(acc, 0.0)
    with pytest.raises(DataValidationError):
        playerload(np.zeros((10, 2)), 100.0)
    with pytest.raises(DataValidationError):
        AxisMap(fwd="+x", side="+x", up="+y")
