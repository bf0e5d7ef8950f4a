"""The error model: each error shows up in the measurements as specified, and nowhere else."""

import dataclasses

import numpy as np
import pytest

from imurehab.errors import SimulationError
from imurehab.quaternion import quat_angle, quat_from_rotvec, quat_multiply
from imurehab.simulate import ChannelErrors, ClockErrors, SensorErrorModel, SoftTissue, simulate_session
from imurehab.types import STANDARD_GRAVITY, SampleFlags

IDEAL = SensorErrorModel.ideal()
KNEE = {"movement": "seated-knee-extension", "reps": 3, "seed": 11}


@pytest.fixture(scope="module")
def ideal():
    return simulate_session(**KNEE, errors=IDEAL)


def with_(**parts):
    return dataclasses.replace(IDEAL, **parts)


def test_realistic_defaults_are_bmi270_class():
    m = SensorErrorModel.realistic()
    assert np.isclose(m.acc.noise_density, 160e-6 * STANDARD_GRAVITY)
    assert np.isclose(m.acc.full_scale, 16 * STANDARD_GRAVITY)
    assert np.isclose(np.rad2deg(m.gyr.full_scale), 2000.0)
    assert m.soft_tissue.enabled and not IDEAL.soft_tissue.enabled
    with pytest.raises(ValueError):
        ChannelErrors(noise_density=-1.0)


def test_white_noise_level(ideal):
    density = 0.01
    sim = simulate_session(**KNEE, errors=with_(acc=ChannelErrors(noise_density=density)))
    diff = sim.recording["S1"].acc - ideal.recording["S1"].acc
    expected = density * np.sqrt(100.0 / 2)
    assert np.allclose(diff.std(axis=0), expected, rtol=0.05)
    assert np.allclose(diff.mean(axis=0), 0.0, atol=4 * expected / np.sqrt(diff.shape[0]))
    assert np.array_equal(sim.recording["S1"].gyr, ideal.recording["S1"].gyr)


def test_constant_bias_and_random_walk(ideal):
    sim = simulate_session(**KNEE, errors=with_(gyr=ChannelErrors(bias=0.01, bias_walk=1e-3)))
    st = sim.truth.sensors["S2"]
    diff = sim.recording["S2"].gyr - ideal.recording["S2"].gyr
    assert np.allclose(diff, st.gyr_bias_rads, atol=1e-6)
    steps = np.diff(st.gyr_bias_rads.astype(np.float64), axis=0)
    assert np.allclose(steps.std(axis=0), 1e-3 * np.sqrt(0.01), rtol=0.1)
    assert np.all(np.abs(st.gyr_bias_rads[0]) <= 0.01 + 1e-3)


def test_scale_and_misalignment(ideal):
    sim = simulate_session(**KNEE, errors=with_(acc=ChannelErrors(scale=0.02, misalignment=0.01)))
    m = sim.truth.sensors["S1"].acc_matrix
    assert not np.allclose(m, np.eye(3))
    assert np.allclose(sim.recording["S1"].acc, ideal.recording["S1"].acc @ m.T, atol=1e-12)


def test_quantisation_to_int16_counts():
    sim = simulate_session(**KNEE, errors=SensorErrorModel.realistic())
    sensor = sim.recording["S2"]
    for values, full_scale in (
        (sensor.acc, sensor.info.acc_range_mps2),
        (sensor.gyr, sensor.info.gyr_range_rads),
    ):
        counts = values / (full_scale / 32768.0)
        assert np.allclose(counts, np.round(counts), atol=1e-6)
        assert counts.min() >= -32768 and counts.max() <= 32767
    assert np.isclose(sensor.info.acc_range_mps2, 16 * STANDARD_GRAVITY)


def test_saturation_sets_flags():
    errors = with_(
        acc=ChannelErrors(full_scale=2 * STANDARD_GRAVITY), gyr=ChannelErrors(full_scale=np.deg2rad(125.0))
    )
    sim = simulate_session("walking", duration_s=20.0, errors=errors, seed=2)
    foot = sim.recording["S4"]
    acc_sat = (foot.flags & SampleFlags.ACC_SATURATED) > 0
    gyr_sat = (foot.flags & SampleFlags.GYR_SATURATED) > 0
    assert acc_sat.any() and gyr_sat.any() and not acc_sat.all()
    lsb = 2 * STANDARD_GRAVITY / 32768
    at_rail = np.any((foot.acc >= 32767 * lsb - 1e-9) | (foot.acc <= -32768 * lsb + 1e-9), axis=1)
    assert np.array_equal(acc_sat, at_rail)
    assert np.abs(foot.gyr).max() <= np.deg2rad(125.0) + 1e-12
    assert foot.info.gyr_range_rads == pytest.approx(np.deg2rad(125.0))


def test_clock_offset_drift_and_jitter():
    errors = with_(clock=ClockErrors(offset_max_s=0.5, drift_max_ppm=500.0, jitter_s=50e-6))
    sim = simulate_session(**KNEE, errors=errors)
    start_us = sim.recording.session.start_us
    for sensor in sim.recording:
        st = sim.truth.sensors[sensor.sensor_id]
        assert 0.0 <= st.clock_offset_s <= 0.5 and abs(st.clock_drift_ppm) <= 500.0
        assert np.array_equal(sensor.time_us, start_us + sensor.device_time)
        assert np.array_equal(sensor.sample_index, np.arange(len(sensor)))
        assert sensor.info.device_clock_hz == 1e6
        device_s = sensor.device_time / 1e6
        slope, intercept = np.polyfit(st.time_s, device_s, 1)
        assert slope - 1.0 == pytest.approx(st.clock_drift_ppm * 1e-6, abs=2e-6)
        assert intercept == pytest.approx(st.clock_offset_s, abs=1e-4)
        residual = device_s - (intercept + slope * st.time_s)
        assert 30e-6 < residual.std() < 70e-6  # the jitter: data sampled off the time-stamped grid
    drifts = [sim.truth.sensors[s].clock_drift_ppm for s in sim.recording.sensor_ids]
    assert drifts[0] != drifts[1]  # each device has its own clock


def test_ideal_clock_is_exact(ideal):
    sensor = ideal.recording["S1"]
    assert np.array_equal(np.diff(sensor.device_time), np.full(len(sensor) - 1, 10_000))
    assert np.allclose(ideal.truth.sensors["S1"].time_s, np.arange(len(sensor)) / 100.0)


def test_soft_tissue_wobble_moves_sensor_consistently():
    tissue = SoftTissue(frequency_hz=12.0, damping=0.3, translation=1.0, tilt_rad_per_mps2=2e-3)
    sim = simulate_session(
        "walking", duration_s=15.0, rate_hz=200.0, errors=with_(soft_tissue=tissue), seed=3
    )
    st = sim.truth.sensors["S2"]
    rigid = quat_multiply(sim.truth.segment_quat[st.segment], st.mount_quat)
    wobble_deg = np.rad2deg(quat_angle(rigid, st.quat))
    assert 0.05 < wobble_deg.max() < 10.0
    assert wobble_deg[:150].max() < 1e-9  # still while standing
    gyr = sim.recording["S2"].gyr
    dt = 1.0 / 200.0
    rot = 0.5 * (gyr[:-1] + gyr[1:]) * dt + dt * dt / 12.0 * np.cross(gyr[:-1], gyr[1:])
    steps = quat_from_rotvec(rot)
    q = st.quat[0]
    worst = 0.0
    for k in range(steps.shape[0]):
        q = quat_multiply(q, steps[k])
        worst = max(worst, float(quat_angle(q, st.quat[k + 1])))
    assert np.rad2deg(worst) < 0.5


def test_magnetometer_can_be_left_out():
    sim = simulate_session(**KNEE, errors=IDEAL, with_mag=False)
    assert all(s.mag is None for s in sim.recording)
    assert sim.recording["S1"].info.mag_range_ut is None


def test_bad_error_model_is_rejected():
    with pytest.raises(SimulationError, match="SensorErrorModel"):
        simulate_session(**KNEE, errors="realistic")
