"""Pairing Polar GYRO (or MAG) samples onto ACC's sample times for the ``samples`` table."""

from __future__ import annotations

import numpy as np

from imurehab.ble.polar_dataset import pair_onto


def linear(t):
    return np.stack([t, 2 * t, -t], axis=1).astype(np.float64)


def test_aligned_equal_rates_take_the_samples_as_they_are():
    t = np.arange(100) * 2404.0
    values = np.random.default_rng(1).normal(size=(100, 3))
    out, filled = pair_onto(t, t + 3.0, values)  # a few µs of rounding is the same sample
    assert np.array_equal(out, values) and not filled.any()


def test_misaligned_or_other_rates_are_interpolated_without_a_flag():
    t = np.arange(200) * 10.0
    for source in (np.arange(-1, 201) * 10.0 + 5.0, np.arange(-1, 81) * 25.0):
        out, filled = pair_onto(t, source, linear(source))
        assert np.allclose(out, linear(t)) and not filled.any()


def test_a_gap_in_the_paired_channel_is_flagged_exactly_and_its_edges_held():
    t = np.arange(50) * 10.0
    keep = np.ones(50, bool)
    keep[[0, 1, 20, 21, 22, 49]] = False
    out, filled = pair_onto(t, t[keep], linear(t[keep]))
    assert np.flatnonzero(filled).tolist() == [0, 1, 20, 21, 22, 49]
    assert np.allclose(out[20:23], linear(t[20:23]))  # linear across the gap
    assert np.allclose(out[[0, 1]], linear(t[[2]])) and np.allclose(out[49], linear(t[[48]]))
