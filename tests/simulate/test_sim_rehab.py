"""Rehabilitation movements and the session options: physics, postures, compensations, incomplete reps."""

import dataclasses

import numpy as np
import pytest

from imurehab.errors import SimulationError
from imurehab.quaternion import quat_angle, quat_from_rotvec, quat_multiply, quat_relative, quat_rotate
from imurehab.simulate import (
    COMPENSATIONS,
    DOF_NAMES,
    JOINTS,
    MOVEMENTS,
    SensorErrorModel,
    body_reference_quat,
    joint_angles_from_quats,
    simulate_session,
)
from imurehab.simulate.joints import joint_rotation
from imurehab.simulate.rehab import CALIBRATION_HOLD_S
from imurehab.types import STANDARD_GRAVITY

IDEAL = SensorErrorModel.ideal()
NEW = ("straight-leg-raise", "heel-slide", "shoulder-flexion", "lumbar-flexion", "shoulder-abduction")


@pytest.fixture(scope="module", params=NEW)
def new(request):
    return simulate_session(request.param, reps=2, errors=IDEAL, seed=3, misalignment_deg=20.0)


def integrate_gyro(q0, gyr, dt):
    rot = 0.5 * (gyr[:-1] + gyr[1:]) * dt + dt * dt / 12.0 * np.cross(gyr[:-1], gyr[1:])
    steps = quat_from_rotvec(rot)
    out = np.empty((gyr.shape[0], 4))
    out[0] = q0
    for k in range(steps.shape[0]):
        out[k + 1] = quat_multiply(out[k], steps[k])
    return out


def test_resting_sensors_read_gravity_and_no_rotation(new):
    for sensor in new.recording:
        truth = new.truth.sensors[sensor.sensor_id]
        rest = truth.time_s < 1.9
        f_earth = quat_rotate(truth.quat[rest], sensor.acc[rest])
        assert np.allclose(f_earth, [0.0, 0.0, STANDARD_GRAVITY], atol=1e-9)
        assert np.allclose(sensor.gyr[rest], 0.0, atol=1e-12)
        assert np.rad2deg(quat_angle(truth.mount_quat, [1.0, 0, 0, 0])) <= 20.0 + 1e-9


def test_integrated_gyro_reproduces_orientation(new):
    for sensor in new.recording:
        truth = new.truth.sensors[sensor.sensor_id]
        q = integrate_gyro(truth.quat[0], sensor.gyr, 1.0 / sensor.info.rate_hz)
        assert np.rad2deg(quat_angle(q, truth.quat)).max() < 0.5, sensor.sensor_id


def test_truth_angles_follow_from_segment_orientations(new):
    truth = new.truth
    n = truth.time_s.shape[0]
    for key, spec in JOINTS.items():
        if spec.parent is None:
            parent = np.broadcast_to(body_reference_quat(truth.facing_deg, truth.posture), (n, 4))
        else:
            parent = truth.segment_quat[spec.parent]
        child = truth.segment_quat[spec.child]
        reported = np.stack([truth.joint_angles[key][d] for d in DOF_NAMES], axis=-1)
        if spec.sequence == "YXY":
            assert np.abs(joint_angles_from_quats(key, parent, child)[:, 0] - reported[:, 0]).max() < 1e-6
            assert quat_angle(joint_rotation(key, reported), quat_relative(parent, child)).max() < 1e-9
        else:
            assert np.abs(joint_angles_from_quats(key, parent, child) - reported).max() < 1e-6, key


def test_rep_windows_bracket_the_counted_angle(new):
    truth = new.truth
    assert len(truth.reps) == 2
    for rep in truth.reps:
        assert rep.exercise == truth.movement and not rep.incomplete and not rep.compensated
        inside = (truth.time_s >= rep.start_s) & (truth.time_s <= rep.end_s)
        angle = truth.joint_angles[rep.joint_key][rep.dof]
        assert angle[inside].max() <= rep.max_deg + 1e-6 and angle[inside].min() >= rep.min_deg - 1e-6
        assert rep.max_deg - angle[inside].max() < 0.05
        outside = ~inside & (truth.time_s < truth.reps[0].start_s)
        assert np.allclose(angle[outside], rep.min_deg, atol=1e-6)  # at rest before the first rep


def test_supine_posture_lies_on_the_back():
    sim = simulate_session("heel-slide", reps=1, errors=IDEAL, seed=2, facing_deg=90.0)
    truth = sim.truth
    assert truth.posture == "supine"
    up = [0.0, 0.0, 1.0]
    for segment in ("pelvis", "trunk", "thigh_right", "shank_right"):
        q = truth.segment_quat[segment][0]
        assert np.allclose(quat_rotate(q, [1.0, 0, 0]), up, atol=1e-12)  # anterior faces the ceiling
        assert np.allclose(quat_rotate(q, [0, 1.0, 0]), [-1.0, 0.0, 0.0], atol=1e-12)  # head to the west
    assert np.allclose(truth.joint_angles["pelvis"]["flexion_deg"], 0.0)  # flat relative to the posture
    assert 0.05 < truth.pelvis_position_m[0, 2] < 0.15
    # the heel stays near the floor while the knee bends past 90°
    rep = truth.reps_for("knee_right")[0]
    assert rep.max_deg > 84.0
    t = truth.time_s
    inside = (t >= rep.start_s) & (t <= rep.end_s)
    shank, thigh = truth.segment_quat["shank_right"], truth.segment_quat["thigh_right"]
    sk = 1.75
    knee = truth.pelvis_position_m + quat_rotate(thigh, [0.0, -0.245 * sk, 0.0])
    ankle = knee + quat_rotate(shank, [0.0, -0.246 * sk, 0.0])
    assert np.ptp(ankle[inside, 2]) < 0.01
    assert np.ptp(ankle[inside, 0]) > 0.2  # slides toward the buttock


def test_straight_leg_raise_keeps_the_knee_straight():
    sim = simulate_session("straight-leg-raise", reps=3, errors=IDEAL, seed=5, side="left")
    truth = sim.truth
    assert sim.recording.session.placements == {"S1": "thigh_left", "S2": "shank_left", "S3": "pelvis"}
    assert all(44.0 - 1e-6 < r.max_deg < 55.0 + 1e-6 for r in truth.reps_for("hip_left"))
    assert np.allclose(truth.joint_angles["knee_left"]["flexion_deg"], 2.0)
    assert np.ptp(truth.segment_quat["trunk"], axis=0).max() < 1e-12  # the trunk lies still


def test_lumbar_flexion_bends_the_trunk_and_arms_hang():
    sim = simulate_session("lumbar-flexion", reps=2, errors=IDEAL, seed=1)
    truth = sim.truth
    reps = truth.reps_for("lumbar")
    assert [r.side for r in reps] == [None, None] and all(40.0 - 1e-6 < r.max_deg < 50.0 + 1e-6 for r in reps)
    top = np.argmax(truth.joint_angles["lumbar"]["flexion_deg"])
    trunk_up = quat_rotate(truth.segment_quat["trunk"][top], [0.0, 1.0, 0.0])
    assert trunk_up[2] < 0.3  # the trunk is near horizontal
    arm_up = quat_rotate(truth.segment_quat["upper_arm_right"][top], [0.0, 1.0, 0.0])
    assert np.allclose(arm_up, [0.0, 0.0, 1.0], atol=1e-9)  # the arm hangs vertically


# --- options ---------------------------------------------------------------------------------------


def test_default_options_change_nothing():
    plain = simulate_session("squat", reps=3, seed=7)
    spelled = simulate_session(
        "squat", reps=3, seed=7, compensation=None, incomplete_reps=0, tempo_jitter=0.12
    )
    assert plain.recording.equals(spelled.recording)
    assert plain.truth.reps == spelled.truth.reps


def test_incomplete_reps_stop_short_and_nothing_else_changes():
    plain = simulate_session("seated-knee-extension", reps=8, errors=IDEAL, seed=4)
    short = simulate_session("seated-knee-extension", reps=8, errors=IDEAL, seed=4, incomplete_reps=3)
    flagged = [r for r in short.truth.reps if r.incomplete]
    assert len(flagged) == 3 and not any(r.compensated for r in short.truth.reps)
    rest_knee = plain.truth.reps[0].max_deg
    for p, s in zip(plain.truth.reps, short.truth.reps, strict=True):
        assert (p.start_s, p.end_s, p.max_deg) == (s.start_s, s.end_s, s.max_deg)  # timing and rest kept
        if s.incomplete:
            assert 0.4 - 1e-6 <= s.rom_deg / rest_knee <= 0.7 + 1e-6
            assert p.rom_deg > 0.8 * rest_knee
        else:
            assert p == s
    t = short.truth.time_s
    inside = np.zeros_like(t, dtype=bool)
    for r in flagged:
        inside |= (t >= r.start_s) & (t <= r.end_s)
    for key in JOINTS:
        for dof in DOF_NAMES:
            a, b = plain.truth.joint_angles[key][dof], short.truth.joint_angles[key][dof]
            assert np.array_equal(a[~inside], b[~inside]), (key, dof)
    # the same number of reps is chosen when the session length sets it
    filled = simulate_session("elbow-flexion", duration_s=40.0, seed=2, errors=IDEAL, incomplete_reps=2)
    reference = simulate_session("elbow-flexion", duration_s=40.0, seed=2, errors=IDEAL)
    assert [(r.start_s, r.end_s) for r in filled.truth.reps] == [
        (r.start_s, r.end_s) for r in reference.truth.reps
    ]
    assert sum(r.incomplete for r in filled.truth.reps) == 2


@pytest.mark.parametrize(
    ("movement", "compensation", "joint", "dof", "sign", "added"),
    [
        ("squat", "trunk-lean", "lumbar", "flexion_deg", 1.0, {"S4": "trunk"}),
        ("shoulder-abduction", "trunk-lean", "lumbar", "abduction_deg", -1.0, {"S3": "pelvis"}),
        ("shoulder-flexion", "trunk-lean", "lumbar", "flexion_deg", -1.0, {"S3": "pelvis"}),
        ("straight-leg-raise", "hip-hike", "pelvis", "abduction_deg", -1.0, {"S4": "trunk"}),
        ("straight-leg-raise", "knee-bend", "knee_right", "flexion_deg", 1.0, {}),
        ("squat", "knee-valgus", "knee_right", "abduction_deg", 1.0, {}),
        ("elbow-flexion", "shoulder-swing", "shoulder_right", "flexion_deg", 1.0, {"S3": "trunk"}),
        ("heel-slide", "leg-roll", "hip_right", "rotation_deg", -1.0, {}),
        ("lumbar-flexion", "trunk-twist", "lumbar", "rotation_deg", -1.0, {}),
    ],
)
def test_compensation_adds_its_angle_on_the_chosen_reps(movement, compensation, joint, dof, sign, added):
    plain = simulate_session(movement, reps=5, errors=IDEAL, seed=9)
    comp = simulate_session(
        movement,
        reps=5,
        errors=IDEAL,
        seed=9,
        compensation=compensation,
        compensation_deg=12.0,
        compensated_reps=2,
    )
    placements = comp.recording.session.placements
    assert placements == {**plain.recording.session.placements, **added}
    for sid in plain.recording.sensor_ids:  # the shared sensors are strapped the same way
        assert np.array_equal(plain.truth.sensors[sid].mount_quat, comp.truth.sensors[sid].mount_quat)
    assert [r.compensated for r in comp.truth.reps].count(True) == 2 * len(
        {(r.joint, r.side) for r in comp.truth.reps}
    )
    changed = set(COMPENSATIONS[movement][compensation].pose("right"))
    assert joint in changed
    t = comp.truth.time_s
    diff = comp.truth.joint_angles[joint][dof] - plain.truth.joint_angles[joint][dof]
    for p, c in zip(plain.truth.reps, comp.truth.reps, strict=True):
        assert (p.start_s, p.end_s, p.rom_deg) == (c.start_s, c.end_s, c.rom_deg)
        inside = (t >= c.start_s) & (t <= c.end_s)
        peak = diff[inside][np.argmax(np.abs(diff[inside]))]
        assert np.isclose(peak, sign * 12.0 if c.compensated else 0.0, atol=1e-9)
    for key in set(JOINTS) - changed:
        for d in DOF_NAMES:
            assert np.array_equal(comp.truth.joint_angles[key][d], plain.truth.joint_angles[key][d]), key


def test_every_rep_compensates_by_default():
    sim = simulate_session("elbow-flexion", reps=3, errors=IDEAL, seed=1, compensation="trunk-sway")
    assert all(r.compensated for r in sim.truth.reps)
    assert sim.recording.session.placements == {
        "S1": "upper_arm_right",
        "S2": "forearm_right",
        "S3": "pelvis",
        "S4": "trunk",
    }
    lean = sim.truth.joint_angles["lumbar"]["flexion_deg"]
    assert np.isclose(lean.min(), -15.0)  # the default compensation_deg, leaning back


def test_tempo_jitter_scales_the_rep_durations():
    def spread(jitter):
        sim = simulate_session("heel-slide", reps=30, errors=IDEAL, seed=8, tempo_jitter=jitter, rate_hz=20.0)
        return np.array([r.duration_s for r in sim.truth.reps])

    still = spread(0.0)
    # out 2.0 s and back 2.0 s exactly; only the 0.8 s hold varies (×0.6–1.4)
    assert np.all((still >= 4.0 + 0.48 - 1e-9) & (still <= 4.0 + 1.12 + 1e-9))
    assert spread(0.3).std() > 2.0 * still.std()


@pytest.mark.parametrize(
    ("movement", "joint", "pose_deg", "rest_deg"),
    [("elbow-flexion", "elbow_right", 0.0, 8.0), ("seated-knee-extension", "knee_right", 90.0, None)],
)
def test_a_calibration_hold_opens_the_session_in_the_instructed_pose(movement, joint, pose_deg, rest_deg):
    plain = simulate_session(movement, reps=2, errors=IDEAL, seed=4, rate_hz=50.0)
    exact = simulate_session(
        movement, reps=2, errors=IDEAL, seed=4, rate_hz=50.0, calibration_pose_sd_deg=0.0
    )
    t, flex = exact.truth.time_s, exact.truth.joint_angles[joint]["flexion_deg"]
    assert np.allclose(flex[t < CALIBRATION_HOLD_S], pose_deg, atol=1e-9)
    rest = plain.truth.joint_angles[joint]["flexion_deg"][0] if rest_deg is None else rest_deg
    moved = (t > CALIBRATION_HOLD_S + 1.0) & (t < CALIBRATION_HOLD_S + 2.5)
    assert np.allclose(flex[moved], rest, atol=1e-9)
    # the reps are the plain session's, 4 s later
    assert [r.rom_deg for r in exact.truth.reps] == pytest.approx([r.rom_deg for r in plain.truth.reps])
    assert exact.truth.reps[0].start_s == pytest.approx(
        plain.truth.reps[0].start_s + CALIBRATION_HOLD_S + 1.0
    )
    held = [
        simulate_session(movement, reps=1, errors=IDEAL, seed=s, rate_hz=50.0, calibration_pose_sd_deg=3.0)
        for s in range(12)
    ]
    errs = np.array([h.truth.joint_angles[joint]["flexion_deg"][0] - pose_deg for h in held])
    assert 1.0 < errs.std() < 6.0 and np.all(np.abs(errs) < 4 * 3.0)


def test_error_model_parts_switch_off():
    m = SensorErrorModel.realistic(bias_drift=False, soft_tissue=False)
    assert m.gyr.bias_walk == 0.0 and m.acc.bias_walk == 0.0 and m.gyr.bias > 0.0
    assert not m.soft_tissue.enabled
    assert dataclasses.replace(
        m, soft_tissue=SensorErrorModel.realistic().soft_tissue
    ) == SensorErrorModel.realistic(bias_drift=False)
    sim = simulate_session("shoulder-flexion", reps=1, seed=2, errors=m, with_mag=False)
    bias = sim.truth.sensors["S2"].gyr_bias_rads
    assert np.array_equal(bias, np.broadcast_to(bias[0], bias.shape))  # constant: no drift
    assert all(s.mag is None for s in sim.recording)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"movement": "walking", "compensation": "trunk-lean"}, "not a rep exercise"),
        ({"movement": "hyrox", "tempo_jitter": 0.1, "duration_s": 60.0}, "not a rep exercise"),
        ({"movement": "squat", "compensation": "hip-hike"}, "no compensation"),
        ({"movement": "squat", "compensated_reps": 2}, "needs a compensation"),
        ({"movement": "squat", "reps": 3, "incomplete_reps": 4}, "only 3 reps"),
        ({"movement": "squat", "incomplete_reps": -1}, "incomplete_reps"),
        ({"movement": "squat", "tempo_jitter": 0.5}, "tempo_jitter"),
        ({"movement": "squat", "calibration_pose_sd_deg": 20.0}, "calibration_pose_sd_deg"),
        ({"movement": "walking", "calibration_pose_sd_deg": 2.0}, "not a rep exercise"),
        ({"movement": "squat", "compensation": "trunk-lean", "compensation_deg": 90.0}, "compensation_deg"),
    ],
)
def test_bad_options_raise(kwargs, match):
    with pytest.raises(SimulationError, match=match):
        simulate_session(**kwargs)


def test_registry_compensations_are_consistent():
    for name, movement in MOVEMENTS.items():
        assert dict(movement.compensations) == dict(COMPENSATIONS.get(name, {}))
        for comp in movement.compensations.values():
            for side in ("right", "left"):
                assert set(comp.pose(side)) <= set(JOINTS)
