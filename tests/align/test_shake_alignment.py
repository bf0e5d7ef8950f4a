"""Event-based alignment: sensors shaken together land on one timeline, and only then.

Signals come from :class:`~imurehab.simulate.shake.SensorShake` evaluated at each sensor's true sample
instants, with gyroscope noise (0.01 rad/s per sample, ~10× a MEMS gyroscope's at 100 Hz), a constant
bias and 16-bit-like quantisation; stamped times carry a known clock error per sensor.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imurehab.align import align_on_shakes, match_shake, shake_windows
from imurehab.simulate.shake import SensorShake
from imurehab.types import ClockModel, SensorInfo, SensorSamples

T0 = 1_700_000_000 * 10**6


def clock(bound_us: float, drift_sigma_ppm: float = 500.0, boot: int = 0) -> ClockModel:
    return ClockModel(boot, float(T0), 0.0, 0.0, bound_us, drift_sigma_ppm, float(T0), float(T0) + 1e6, 10, 1)


def make(sid, rate, shakes, rng, *, error_us, drift_ppm=0.0, seconds=20.0, bound_us=2000.0, boots=1):
    """A sensor's samples: the shakes at its true instants, stamped with its clock error [µs]."""
    true = np.arange(0.0, seconds, 1.0 / rate) + rng.uniform(0.0, 1.0 / rate)
    gyr = rng.normal(0.0, 0.05, (true.size, 3))  # slow wandering elsewhere (strapped on)
    acc = np.tile([0.0, 0.0, 9.81], (true.size, 1))
    for shake in shakes:
        inside = shake.contains(true)
        acc[inside], gyr[inside], _ = shake.measure(true[inside], sid)
    gyr = np.round((gyr + rng.normal(0.0, 0.01, gyr.shape) + rng.normal(0.0, 0.02, 3)) / 0.00106) * 0.00106
    stamped = np.round(T0 + true * 1e6 * (1.0 + drift_ppm * 1e-6) + error_us).astype(np.int64)
    info = SensorInfo(
        sid,
        "sim",
        rate,
        clocks=tuple(clock(bound_us, boot=b) for b in range(boots)),
        clock_uncertainty_us=bound_us,
    )
    return SensorSamples(info, stamped, acc, gyr), true


def errors_us(samples: SensorSamples, true_s: np.ndarray) -> np.ndarray:
    return samples.time_us - (T0 + true_s * 1e6)


@pytest.mark.parametrize("seed", range(6))
def test_three_sensors_shaken_together_land_within_tens_of_microseconds(seed):
    rng = np.random.default_rng(seed)
    shake = SensorShake(start_s=4.0, seed=seed)
    ref, _ = make("REF", 100.0, [shake], rng, error_us=120.0, bound_us=240.0)
    a, t_a = make("A", 60.0, [shake], rng, error_us=rng.uniform(-1400, 1400))
    b, t_b = make("B", 104.0, [shake], rng, error_us=rng.uniform(-1400, 1400), bound_us=1500.0)
    aligned, alignment = align_on_shakes([a, ref, b])
    assert alignment.reference == "REF" and sorted(alignment.applied) == ["A", "B"]
    assert aligned[1] is ref  # the reference keeps its times
    shake_mid = T0 + 5.5e6
    for s, t in ((aligned[0], t_a), (aligned[2], t_b)):
        e = errors_us(s, t)
        near = np.abs(s.time_us - shake_mid) < 1.5e6
        # at the shake: the reference's error (120 µs) up to the lag's error
        assert np.all(np.abs(e[near] - 120.0) < 40.0)
        # everywhere: within the new bound, which is no looser than the clock's own
        assert np.max(np.abs(e)) <= s.info.clock_uncertainty_us <= 2000.0
        (model,) = s.info.clocks
        assert np.allclose(model.to_utc_us(model.to_device_us(s.time_us[:3].astype(float))), s.time_us[:3])
        assert alignment.sensors[s.info.sensor_id].matches[0].fit > 0.99


def test_two_shakes_a_minute_apart_measure_the_drift_between_the_clocks():
    rng = np.random.default_rng(7)
    shakes = [SensorShake(start_s=3.0, seed=7), SensorShake(start_s=80.0, seed=8)]
    ref, _ = make("REF", 100.0, shakes, rng, error_us=0.0, seconds=90.0, bound_us=200.0)
    other, t = make("DOT", 60.0, shakes, rng, error_us=-900.0, drift_ppm=40.0, seconds=90.0, bound_us=5e4)
    (_, moved), alignment = align_on_shakes([ref, other])
    done = alignment.sensors["DOT"]
    assert done.applied and len(done.matches) == 2
    assert done.drift_ppm == pytest.approx(40.0, abs=1.0)
    e = errors_us(moved, t)
    assert np.max(np.abs(e)) < 60.0  # 40 ppm over 90 s was 3.6 ms
    assert np.max(np.abs(e)) <= moved.info.clock_uncertainty_us < 1000.0


def test_one_shake_leaves_the_drift_in_the_bound():
    rng = np.random.default_rng(9)
    shake = SensorShake(start_s=3.0, seed=9)
    ref, _ = make("REF", 100.0, [shake], rng, error_us=0.0, seconds=60.0, bound_us=200.0)
    other, t = make("DOT", 60.0, [shake], rng, error_us=-900.0, drift_ppm=20.0, seconds=60.0, bound_us=5e4)
    (_, moved), alignment = align_on_shakes([ref, other])
    assert alignment.sensors["DOT"].applied and alignment.sensors["DOT"].drift_ppm == 0.0
    e = errors_us(moved, t)
    assert abs(e[np.argmin(np.abs(t - 4.5))]) < 40.0  # right at the shake
    assert np.max(np.abs(e)) > 500.0  # 20 ppm over the rest of the minute is not measured...
    assert np.max(np.abs(e)) <= moved.info.clock_uncertainty_us  # ...but it is inside the bound


def test_sensors_that_moved_apart_are_not_aligned():
    rng = np.random.default_rng(3)
    ref, _ = make("REF", 100.0, [SensorShake(start_s=4.0, seed=1)], rng, error_us=0.0, bound_us=200.0)
    other, _ = make("B", 100.0, [SensorShake(start_s=4.0, seed=2)], rng, error_us=300.0)
    (_, same), alignment = align_on_shakes([ref, other])
    assert alignment.reference is None and alignment.sensors == {} and same is other


def test_a_shake_outside_the_clock_bounds_is_reported_not_applied():
    rng = np.random.default_rng(4)
    shake = SensorShake(start_s=4.0, seed=4)
    ref, _ = make("REF", 100.0, [shake], rng, error_us=0.0, bound_us=100.0)
    liar, _ = make("B", 100.0, [shake], rng, error_us=3000.0, bound_us=100.0)  # says ±0.1 ms, is 3 ms off
    (_, same), alignment = align_on_shakes([ref, liar])
    done = alignment.sensors["B"]
    assert not done.applied and "outside the clocks" in done.reason and same is liar
    assert done.matches[0].lag_us == pytest.approx(3000.0, abs=40.0)  # the evidence is kept


def test_a_sensor_of_several_boots_is_left_alone():
    rng = np.random.default_rng(5)
    shake = SensorShake(start_s=4.0, seed=5)
    ref, _ = make("REF", 100.0, [shake], rng, error_us=0.0, bound_us=100.0)
    other, _ = make("B", 100.0, [shake], rng, error_us=500.0, boots=2)
    _, alignment = align_on_shakes([ref, other])
    assert not alignment.sensors["B"].applied and "boots" in alignment.sensors["B"].reason


def test_without_a_shake_nothing_moves():
    rng = np.random.default_rng(6)
    ref, _ = make("REF", 100.0, [], rng, error_us=0.0)
    other, _ = make("B", 100.0, [], rng, error_us=500.0)
    assert shake_windows(ref) == []
    aligned, alignment = align_on_shakes([ref, other])
    assert alignment.reference is None and aligned == [ref, other]


@settings(max_examples=15, deadline=None)
@given(
    lag_us=st.floats(-4000.0, 4000.0),
    rate=st.sampled_from([50.0, 60.0, 100.0, 104.0, 200.0]),
    seed=st.integers(0, 2**16),
)
def test_the_lag_found_is_the_difference_of_the_clock_errors(lag_us, rate, seed):
    rng = np.random.default_rng(seed)
    shake = SensorShake(start_s=2.0, seed=seed, duration_s=2.5)
    ref, _ = make("REF", 100.0, [shake], rng, error_us=0.0, seconds=6.0)
    other, _ = make("B", rate, [shake], rng, error_us=lag_us, seconds=6.0)
    (window,) = shake_windows(ref)
    m = match_shake(ref, other, window, 5000.0)
    assert m is not None and abs(m.lag_us - lag_us) <= 6.0 * m.sigma_us + 10.0
