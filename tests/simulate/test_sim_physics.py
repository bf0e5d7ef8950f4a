"""Physics of the simulator: the ideal sensors measure exactly what the true kinematics imply."""

import numpy as np
import pytest

from imurehab.quaternion import quat_angle, quat_from_rotvec, quat_multiply, quat_relative, quat_rotate
from imurehab.simulate import (
    DOF_NAMES,
    JOINTS,
    EarthField,
    MagneticDipole,
    SensorErrorModel,
    body_reference_quat,
    joint_angles_from_quats,
    simulate_session,
)
from imurehab.simulate.joints import joint_rotation
from imurehab.types import STANDARD_GRAVITY

IDEAL = SensorErrorModel.ideal()


@pytest.fixture(scope="module")
def knee():
    return simulate_session("seated-knee-extension", reps=10, errors=IDEAL, seed=4)


@pytest.fixture(scope="module")
def walking():
    return simulate_session("walking", duration_s=60.0, errors=IDEAL, seed=5)


def integrate_gyro(q0, gyr, dt):
    """Strapdown integration with the two-sample coning correction (third-order accurate)."""
    rot = 0.5 * (gyr[:-1] + gyr[1:]) * dt + dt * dt / 12.0 * np.cross(gyr[:-1], gyr[1:])
    steps = quat_from_rotvec(rot)
    out = np.empty((gyr.shape[0], 4))
    out[0] = q0
    for k in range(steps.shape[0]):
        out[k + 1] = quat_multiply(out[k], steps[k])
    return out


@pytest.mark.parametrize("which", ["knee", "walking"])
def test_integrated_ideal_gyro_reproduces_true_orientation(which, request):
    sim = request.getfixturevalue(which)
    for sensor in sim.recording:
        truth = sim.truth.sensors[sensor.sensor_id]
        assert truth.time_s[-1] > 55.0
        q = integrate_gyro(truth.quat[0], sensor.gyr, 1.0 / sensor.info.rate_hz)
        err_deg = np.rad2deg(quat_angle(q, truth.quat))
        assert err_deg.max() < 0.5, (sensor.sensor_id, err_deg.max())


def test_resting_accelerometer_reads_gravity_up(knee):
    for sensor in knee.recording:
        truth = knee.truth.sensors[sensor.sensor_id]
        rest = truth.time_s < 1.9  # the session starts with 2 s of rest
        f_earth = quat_rotate(truth.quat[rest], sensor.acc[rest])
        assert np.allclose(f_earth, [0.0, 0.0, STANDARD_GRAVITY], atol=1e-9)
        assert np.allclose(np.linalg.norm(sensor.acc[rest], axis=1), STANDARD_GRAVITY)
        assert np.allclose(sensor.gyr[rest], 0.0, atol=1e-12)


def test_moving_accelerometer_is_gravity_plus_acceleration(walking):
    sensor = walking.recording["S3"]  # pelvis
    truth = walking.truth.sensors["S3"]
    f_earth = quat_rotate(truth.quat, sensor.acc)
    assert 0.3 < np.std(f_earth[:, 2]) < 4.0  # vertical bob, no spikes
    assert np.isclose(np.mean(f_earth[:, 2]), STANDARD_GRAVITY, atol=0.05)  # no net vertical travel
    assert np.percentile(np.linalg.norm(sensor.acc, axis=1), 99) < 2.5 * STANDARD_GRAVITY


@pytest.mark.parametrize("which", ["knee", "walking"])
def test_joint_angles_from_true_segments_equal_commanded(which, request):
    truth = request.getfixturevalue(which).truth
    n = truth.time_s.shape[0]
    for key, spec in JOINTS.items():
        parent = (
            np.broadcast_to(body_reference_quat(truth.facing_deg), (n, 4))
            if spec.parent is None
            else truth.segment_quat[spec.parent]
        )
        recomputed = joint_angles_from_quats(key, parent, truth.segment_quat[spec.child])
        commanded = np.stack([truth.joint_angles[key][d] for d in DOF_NAMES], axis=-1)
        if spec.sequence == "YXY":
            # the arm swings through elevation 0, where plane and rotation are ill-conditioned: compare
            # elevation, and the rotations themselves
            assert np.abs(recomputed[:, 0] - commanded[:, 0]).max() < 1e-6, key
            rel = quat_relative(parent, truth.segment_quat[spec.child])
            assert quat_angle(joint_rotation(key, commanded), rel).max() < 1e-9, key
        else:
            assert np.abs(recomputed - commanded).max() < 1e-6, key


def test_rigid_sensor_orientation_is_segment_times_mount(knee):
    for sid, st in knee.truth.sensors.items():
        assert np.array_equal(st.time_s, knee.truth.time_s)  # ideal clock, same rate
        expected = quat_multiply(knee.truth.segment_quat[st.segment], st.mount_quat)
        assert np.rad2deg(quat_angle(expected, st.quat)).max() < 1e-9, sid
        assert np.rad2deg(quat_angle(st.mount_quat, [1.0, 0, 0, 0])) <= 10.0 + 1e-9


def test_ideal_magnetometer_reads_the_earth_field(knee):
    field = knee.truth.earth_field_ut
    assert np.isclose(np.linalg.norm(field), 49.0)
    assert field[1] > 0 and field[2] < 0 and np.isclose(field[0], 0.0)  # north and down, no declination
    for sensor in knee.recording:
        st = knee.truth.sensors[sensor.sensor_id]
        assert np.allclose(quat_rotate(st.quat, sensor.mag), field, atol=1e-9)
        assert st.field_ut is None


def test_magnetic_dipole_disturbs_nearby_sensors():
    dipole = MagneticDipole(position_m=(0.2, 0.0, 0.3), moment_am2=(0.0, 0.0, 2.0), start_s=5.0, end_s=15.0)
    sim = simulate_session(
        "seated-knee-extension",
        reps=2,
        errors=IDEAL,
        disturbances=(dipole,),
        seed=1,
        earth_field=EarthField(50.0, 60.0, 3.0),
    )
    earth = sim.truth.earth_field_ut
    assert np.isclose(np.degrees(np.arctan2(earth[0], earth[1])), 3.0)
    st = sim.truth.sensors["S2"]  # shank, near the dipole
    sensor = sim.recording["S2"]
    measured_earth = quat_rotate(st.quat, sensor.mag)
    assert np.allclose(measured_earth, st.field_ut, atol=1e-9)
    active = (st.time_s >= 5.0) & (st.time_s < 15.0)
    disturbance = np.linalg.norm(st.field_ut - earth, axis=1)
    assert disturbance[active].min() > 0.5
    assert np.allclose(disturbance[~active], 0.0)


def test_rep_truth_matches_the_joint_trajectory(knee, walking):
    for sim in (knee, walking):
        truth = sim.truth
        assert truth.reps
        for rep in truth.reps:
            inside = (truth.time_s >= rep.start_s) & (truth.time_s <= rep.end_s)
            angle = truth.joint_angles[rep.joint_key][rep.dof][inside]
            assert angle.min() >= rep.min_deg - 1e-6 and angle.max() <= rep.max_deg + 1e-6
            assert np.isclose(angle.max() - angle.min(), rep.rom_deg, atol=0.5)
            assert np.isclose(rep.rom_deg, rep.max_deg - rep.min_deg)


def test_knee_extension_ranges(knee):
    reps = knee.truth.reps_for("knee_right")
    assert [r.rep for r in reps] == list(range(1, 11))
    assert all(0.0 - 1e-9 <= r.min_deg <= 15.0 + 1e-9 for r in reps)
    assert all(86.0 < r.max_deg < 94.0 for r in reps)
    starts = np.array([r.start_s for r in reps])
    assert np.all(np.diff(starts) > 0)
    assert len({round(r.rom_deg, 3) for r in reps}) == 10  # natural variation
    durations = np.array([r.duration_s for r in reps])
    assert durations.std() > 0.05
    flex = knee.truth.joint_angles["knee_right"]["flexion_deg"]
    assert 86.0 < flex[0] < 94.0  # sitting, shank hanging


def test_walking_supporting_foot_barely_slides(walking):
    truth = walking.truth
    q = truth.segment_quat["foot_right"]
    dt = truth.time_s[1] - truth.time_s[0]
    omega = np.linalg.norm(np.diff(q, axis=0), axis=1) * 2 / dt
    gyr = np.linalg.norm(walking.recording["S4"].gyr, axis=1)
    assert gyr.max() > 4.0  # the foot swings
    assert np.mean(omega < 0.3) > 0.25  # and rests flat for part of each stride
    speed = np.diff(truth.pelvis_position_m[:, 1]) / dt
    assert 0.8 < np.median(speed[2000:4000]) < 1.6


def test_walking_reps_are_strides(walking):
    right = walking.truth.reps_for("knee_right")
    left = walking.truth.reps_for("knee_left")
    assert len(right) >= 40 and abs(len(right) - len(left)) <= 1
    durations = np.array([r.duration_s for r in right])
    assert np.all((durations > 0.9) & (durations < 1.3))
    assert all(50.0 < r.max_deg < 75.0 and r.min_deg < 10.0 for r in right)
