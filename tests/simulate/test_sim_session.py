"""simulate_session: the recording it returns, its truth, determinism and input checking."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from imurehab.errors import ImurehabError, SimulationError
from imurehab.quaternion import quat_angle, quat_from_rotvec
from imurehab.simulate import (
    DEFAULT_START_TIME,
    MOVEMENTS,
    SensorErrorModel,
    SensorMount,
    list_movements,
    simulate_session,
)
from imurehab.simulate.hyrox import HYROX_PHASES
from imurehab.types import SEGMENTS, Recording

IDEAL = SensorErrorModel.ideal()


def assert_truth_equal(a, b):
    assert np.array_equal(a.time_s, b.time_s)
    for seg in a.segment_quat:
        assert np.array_equal(a.segment_quat[seg], b.segment_quat[seg])
    for key, dofs in a.joint_angles.items():
        for dof, values in dofs.items():
            assert np.array_equal(values, b.joint_angles[key][dof])
    for sid, st in a.sensors.items():
        assert np.array_equal(st.quat, b.sensors[sid].quat)
        assert np.array_equal(st.time_s, b.sensors[sid].time_s)
        assert np.array_equal(st.gyr_bias_rads, b.sensors[sid].gyr_bias_rads)
    assert a.reps == b.reps and a.phases == b.phases


def test_registry():
    assert list_movements() == sorted(MOVEMENTS)
    assert set(list_movements()) == {
        "seated-knee-extension",
        "squat",
        "straight-leg-raise",
        "heel-slide",
        "elbow-flexion",
        "shoulder-abduction",
        "shoulder-flexion",
        "lumbar-flexion",
        "ankle-pumps",
        "walking",
        "hyrox",
        "hyrox-race",
    }


@pytest.mark.parametrize("movement", sorted(MOVEMENTS))
def test_every_movement_runs(movement):
    kwargs: dict[str, object] = {"duration_s": 60.0} if movement == "hyrox" else {"duration_s": 25.0}
    if movement == "hyrox-race":
        from imurehab.simulate.hyrox_race import HyroxRaceOptions

        kwargs = {"options": HyroxRaceOptions(scale=0.02), "rate_hz": 20.0, "truth_rate_hz": 20.0}
    sim = simulate_session(movement, seed=1, **kwargs)
    rec = sim.recording
    assert isinstance(rec, Recording)
    assert rec.session.exercise == movement
    assert rec.sensor_ids == sorted(rec.sensor_ids)
    assert set(rec.session.placements.values()) <= SEGMENTS
    for sensor in rec:
        assert sensor.info.family == "sim"
        assert len(sensor) == sim.truth.time_s.shape[0]
        assert np.all(np.isfinite(sensor.acc)) and np.all(np.isfinite(sensor.mag))
        q = sim.truth.sensors[sensor.sensor_id].quat
        assert np.allclose(np.linalg.norm(q, axis=1), 1.0)
    assert sim.truth.reps, movement
    assert sim.truth.phases[0].start_s == 0.0
    dt = float(sim.truth.time_s[1] - sim.truth.time_s[0])
    # a race ends when its last wall ball lands, between two samples
    tol = dt if movement == "hyrox-race" else 1e-8
    assert np.isclose(sim.truth.phases[-1].end_s, sim.truth.time_s[-1] + dt, atol=tol)
    for a, b in zip(sim.truth.phases[:-1], sim.truth.phases[1:], strict=True):
        assert a.end_s == b.start_s


def test_default_knee_session_matches_the_brief():
    sim = simulate_session("seated-knee-extension")
    rec = sim.recording
    assert rec.session.placements == {"S1": "thigh_right", "S2": "shank_right"}
    assert rec.session.start_time == DEFAULT_START_TIME
    assert rec.session.subject_id == "sim01"
    assert len(sim.truth.reps_for("knee_right")) == 10
    assert 40.0 < sim.truth.time_s[-1] < 90.0
    assert rec["S1"].time_us[0] >= rec.session.start_us
    assert np.array_equal(rec["S1"].sample_index, np.arange(len(rec["S1"])))


def test_same_seed_is_bit_identical():
    a = simulate_session("squat", reps=3, seed=7)
    b = simulate_session("squat", reps=3, seed=7)
    assert a.recording.equals(b.recording)
    assert_truth_equal(a.truth, b.truth)


def test_different_seed_differs():
    a = simulate_session("squat", reps=3, seed=7)
    b = simulate_session("squat", reps=3, seed=8)
    assert not a.recording.equals(b.recording)
    assert a.truth.reps != b.truth.reps


def test_sensor_randomness_depends_on_its_own_id():
    a = simulate_session("squat", reps=2, seed=3, sensors={"A": "thigh_right", "B": "shank_right"})
    b = simulate_session("squat", reps=2, seed=3, sensors={"B": "shank_right"})
    assert a.recording["B"].equals(b.recording["B"])
    assert np.array_equal(a.truth.sensors["B"].mount_quat, b.truth.sensors["B"].mount_quat)


def test_explicit_mount_and_misalignment():
    rot = quat_from_rotvec([0.0, 0.0, np.pi / 2])
    sensors = {
        "X": SensorMount("forearm_left", position_m=(0.0, -0.2, 0.03), rotation=tuple(rot)),
        "Y": "hand_left",
    }
    sim = simulate_session("elbow-flexion", reps=2, side="left", sensors=sensors, errors=IDEAL, seed=1)
    assert np.allclose(sim.truth.sensors["X"].mount_quat, rot)
    assert np.allclose(sim.truth.sensors["X"].mount_position_m, [0.0, -0.2, 0.03])
    assert sim.recording.session.placements == {"X": "forearm_left", "Y": "hand_left"}
    assert sim.truth.reps_for("elbow_left")
    none = simulate_session("elbow-flexion", reps=2, misalignment_deg=0.0, errors=IDEAL, seed=1)
    for st in none.truth.sensors.values():
        assert np.allclose(st.mount_quat, [1.0, 0.0, 0.0, 0.0])
    big = simulate_session("elbow-flexion", reps=2, misalignment_deg=30.0, errors=IDEAL, seed=1)
    angles = [np.rad2deg(quat_angle(st.mount_quat, [1.0, 0, 0, 0])) for st in big.truth.sensors.values()]
    assert all(0.0 < a <= 30.0 + 1e-9 for a in angles)


def test_start_time_ids_and_truth_rate():
    start = datetime(2025, 3, 1, 8, 30, tzinfo=UTC) + timedelta(microseconds=7)
    sim = simulate_session(
        "shoulder-abduction",
        reps=2,
        start_time=start,
        subject_id="p007",
        session_id="visit-2",
        truth_rate_hz=25.0,
        rate_hz=50.0,
    )
    assert sim.recording.session.start_time == start
    assert sim.recording.session.session_id == "visit-2"
    assert np.allclose(np.diff(sim.truth.time_s), 0.04)
    assert sim.recording["S1"].info.rate_hz == 50.0
    reps = sim.truth.reps_for("shoulder_right")
    assert all(r.dof == "flexion_deg" and 150.0 - 1e-9 < r.max_deg < 165.0 + 1e-9 for r in reps)  # elevation


def test_reps_and_duration_together():
    sim = simulate_session("elbow-flexion", reps=3, duration_s=40.0, seed=2)
    assert len(sim.truth.reps) == 3 and np.isclose(sim.truth.time_s[-1], 39.99)
    filled = simulate_session("elbow-flexion", duration_s=40.0, seed=2)
    assert len(filled.truth.reps) > 3
    walk = simulate_session("walking", reps=12, seed=2)
    assert len(walk.truth.reps_for("knee_right")) == 12


def test_hyrox_phases_and_labels():
    sim = simulate_session("hyrox", duration_s=80.0, errors=IDEAL, seed=4)
    labels = [p.label for p in sim.truth.phases if p.label != "transition"]
    assert labels == list(HYROX_PHASES)
    at = sim.truth.labels_at(sim.truth.time_s)
    assert set(at) == {*HYROX_PHASES, "transition"}
    exercises = {r.exercise for r in sim.truth.reps}
    assert exercises == set(HYROX_PHASES)
    for phase in sim.truth.phases:
        if phase.label in HYROX_PHASES:
            reps = [r for r in sim.truth.reps if r.exercise == phase.label]
            assert all(phase.start_s - 1e-9 <= r.start_s and r.end_s <= phase.end_s + 1e-9 for r in reps)
    pelvis = sim.truth.pelvis_position_m
    assert pelvis[-1, 1] > 30.0  # ran north
    assert np.abs(np.diff(pelvis, axis=0)).max() < 0.1  # continuous through the transitions


def test_facing_rotates_the_walk():
    sim = simulate_session("walking", reps=4, facing_deg=90.0, errors=IDEAL, seed=1)
    travel = sim.truth.pelvis_position_m[-1] - sim.truth.pelvis_position_m[0]
    assert travel[0] > 3.0 and abs(travel[1]) < 0.3  # walked east


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"movement": "jumping-jacks"}, "unknown movement"),
        ({"movement": "squat", "rate_hz": 0.0}, "rate_hz"),
        ({"movement": "squat", "rate_hz": float("nan")}, "rate_hz"),
        ({"movement": "squat", "duration_s": -5.0}, "duration_s"),
        ({"movement": "squat", "reps": 0}, "reps"),
        ({"movement": "squat", "reps": 2.5}, "reps"),
        ({"movement": "squat", "reps": 30, "duration_s": 20.0}, "do not fit"),
        ({"movement": "squat", "duration_s": 3.0}, "too short"),
        ({"movement": "hyrox", "reps": 3}, "duration_s"),
        ({"movement": "hyrox", "duration_s": 30.0}, "hyrox needs"),
        ({"movement": "walking", "duration_s": 5.0}, "walking needs"),
        ({"movement": "squat", "sensors": {"S1": "tail"}}, "segment"),
        ({"movement": "squat", "sensors": {}}, "non-empty"),
        ({"movement": "squat", "sensors": {"bad id!": "pelvis"}}, "sensor id"),
        ({"movement": "squat", "side": "middle"}, "side"),
        ({"movement": "squat", "seed": -1}, "seed"),
        ({"movement": "squat", "misalignment_deg": 200.0}, "misalignment"),
        ({"movement": "squat", "height_m": 0.3}, "height_m"),
        ({"movement": "squat", "start_time": datetime(2024, 1, 1)}, "timezone"),
        ({"movement": "squat", "subject_id": "a b"}, "subject"),
        ({"movement": "squat", "disturbances": ("magnet",)}, "MagneticDipole"),
        (
            {"movement": "squat", "sensors": {"S1": SensorMount("pelvis", position_m=(5.0, 0.0, 0.0))}},
            "position",
        ),
    ],
)
def test_bad_input_raises_simulation_error(kwargs, match):
    with pytest.raises(SimulationError, match=match) as info:
        simulate_session(**kwargs)
    assert isinstance(info.value, ImurehabError)
