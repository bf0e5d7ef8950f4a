"""Impacts, acceleration/deceleration events and cadence on signals with a known answer."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imurehab.analysis.load import (
    IMPACT_ZONES_G,
    AxisMap,
    accel_decel_events,
    cadence_spm,
    impact_peaks,
    load_epochs,
)
from imurehab.store import columns as cols

G = 9.80665


def vertical(r_g):
    acc = np.zeros((r_g.size, 3))
    acc[:, 1] = r_g * G
    return acc


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), st.floats(2.0, 12.0)), min_size=1, max_size=12))
def test_isolated_peaks_are_counted_once_in_their_zone(peaks):
    # one peak per 0.5 s slot (well beyond the refractory time), each shaped like a short impact
    r = np.ones(100 * len(peaks) * 50 // 100 + 60)
    expected_zone = []
    for slot, (offset, height) in enumerate(peaks):
        i = 50 * slot + 20 + offset
        r[i - 1 : i + 2] = [1.0 + (height - 1.0) * 0.5, height, 1.0 + (height - 1.0) * 0.4]
        expected_zone.append(int(np.searchsorted(IMPACT_ZONES_G, height, side="right") - 1))
    _, peak, zone = impact_peaks(vertical(r), 100.0)
    assert zone.tolist() == expected_zone
    np.testing.assert_allclose(peak, [h for _, h in peaks])


def test_peaks_within_the_refractory_time_are_one_impact():
    r = np.ones(200)
    r[[50, 55, 64, 80]] = [
        2.5,
        4.0,
        2.2,
        3.0,
    ]  # 55 is 5 samples after 50, 64 after 55 (< 15); 80 is 16 after 64
    index, _, zone = impact_peaks(vertical(r), 100.0)
    assert index.tolist() == [55, 80]
    assert zone.tolist() == [1, 1]


def test_forward_pushes_and_braking_are_events_and_steady_bouncing_is_not():
    rate = 100.0
    t = np.arange(6000) / rate
    acc = vertical(1.0 + 0.6 * np.abs(np.sin(np.pi * 2.8 * t)))  # running-like bouncing
    acc[:, 0] += 3.0 * np.sin(2 * np.pi * 2.8 * t)  # braking and pushing within each step
    start, sign = accel_decel_events(acc, rate)
    assert start.size == 0
    acc[1000:1120, 0] += 3.5
    acc[3000:3150, 0] -= 3.5
    acc[5000:5030, 0] += 3.0  # 0.3 s: too short
    start, sign = accel_decel_events(acc, rate)
    assert sign.tolist() == [1, -1]
    assert abs(start[0] - 1000) < 40 and abs(start[1] - 3000) < 40
    # a sensor worn with its x axis pointing backwards sees the mirror image
    flipped = accel_decel_events(acc * [-1.0, 1.0, 1.0], rate, axis_map=AxisMap(fwd="-x", side="+z", up="+y"))
    assert flipped[1].tolist() == [1, -1]


@pytest.mark.parametrize("rate", [50.0, 100.0, 200.0])
@pytest.mark.parametrize(("hz", "band"), [(1.6, "steps"), (2.9, "steps"), (0.45, "strokes")])
def test_cadence_is_the_dominant_frequency_in_its_band(rate, hz, band):
    rng = np.random.default_rng(int(hz * 10))
    t = np.arange(round(60 * rate)) / rate
    r = (
        1.0
        + 0.3 * np.sin(2 * np.pi * hz * t)
        + 0.1 * np.sin(4 * np.pi * hz * t + 1)
        + rng.normal(0, 0.03, t.size)
    )
    steps, strokes = cadence_spm(vertical(r), rate)
    got = steps if band == "steps" else strokes
    assert got[0] == pytest.approx(60 * hz, abs=0.5)


def test_no_cadence_at_rest_or_for_noise():
    rng = np.random.default_rng(0)
    rest = vertical(1.0 + rng.normal(0, 0.002, 6000))
    noise = vertical(1.0 + rng.normal(0, 0.3, 6000))
    for acc in (rest, noise):
        steps, strokes = cadence_spm(acc, 100.0)
        assert np.isnan(steps).all() and np.isnan(strokes).all()


def test_table_counts_impacts_and_events_per_epoch():
    r = np.ones(12_000)
    r[[1_000, 2_000, 7_000]] = [2.5, 5.5, 9.0]
    acc = vertical(r)
    acc[6_500:6_600, 0] += 3.0
    t = 1_714_557_600_000_000 + np.arange(12_000, dtype=np.int64) * 10_000
    df = load_epochs(acc, t, rate_hz=100.0, epoch_s=60.0, sensor="S1")
    assert df.select(cols.IMPACTS).rows() == [(1, 0, 1, 0), (0, 0, 0, 1)]
    assert df.get_column(cols.ACCEL_EVENTS).to_list() == [0, 1]
    assert df.get_column(cols.DECEL_EVENTS).to_list() == [0, 0]
