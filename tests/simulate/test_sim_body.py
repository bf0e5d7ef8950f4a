import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.spatial.transform import Rotation

from imurehab.quaternion import quat_from_scipy, quat_multiply, quat_rotate
from imurehab.simulate.body import (
    Skeleton,
    body_to_earth,
    orientations_in_body_frame,
    origins_in_body_frame,
    segment_chain,
)
from imurehab.simulate.joints import (
    JOINTS,
    cardan_to_clinical,
    cardan_zxy_to_quat,
    clinical_to_cardan,
    joint_angles_from_quats,
    quat_to_cardan_zxy,
)
from imurehab.simulate.trajectory import MinJerkPath, PeriodicPattern, SlowNoise, min_jerk_step
from imurehab.types import SEGMENTS

angle = st.floats(-179.0, 179.0)
middle = st.floats(-89.0, 89.0)


def pose(angles, segments):
    """Segment quaternions and origins in the body frame for one instant of clinical angles."""
    arrays = {k: np.atleast_2d(np.asarray(v, dtype=float)) for k, v in angles.items()}
    rot = orientations_in_body_frame(arrays, 1, segments)
    org = origins_in_body_frame(Skeleton(), rot, np.zeros((1, 3)), segments)
    return rot, org


def distal(segment, angles, point):
    rot, org = pose(angles, [segment])
    return (org[segment] + quat_rotate(rot[segment], point))[0]


def test_every_segment_and_joint_is_modelled():
    assert {spec.child for spec in JOINTS.values()} == set(SEGMENTS)
    assert segment_chain("hand_left") == ["pelvis", "trunk", "upper_arm_left", "forearm_left", "hand_left"]
    assert segment_chain("pelvis") == ["pelvis"]
    with pytest.raises(KeyError):
        segment_chain("tail")


@given(angle, middle, angle)
def test_cardan_zxy_roundtrip_and_scipy(a, b, c):
    rad = np.deg2rad([[a, b, c]])
    q = cardan_zxy_to_quat(rad)
    assert np.allclose(np.abs(np.sum(q * quat_from_scipy(Rotation.from_euler("ZXY", rad)), axis=1)), 1.0)
    assert np.allclose(quat_to_cardan_zxy(q), rad, atol=1e-9)


@pytest.mark.parametrize("key", sorted(JOINTS))
def test_clinical_roundtrip(key):
    deg = np.array([[30.0, -10.0, 5.0]])
    assert np.allclose(cardan_to_clinical(key, clinical_to_cardan(key, deg)), deg)


def test_neutral_standing_geometry():
    sk = Skeleton(1.75)
    rot, org = pose({}, ["foot_right", "foot_left", "hand_right", "head"])
    for side in ("right", "left"):
        ankle = org[f"foot_{side}"][0]
        assert np.isclose(ankle[1] + sk.pelvis_height_m, sk.ankle_height_m)
        heel = ankle + quat_rotate(rot[f"foot_{side}"][0], sk.heel_offset)
        assert np.isclose(heel[1] + sk.pelvis_height_m, 0.0)  # heel on the floor
    assert np.isclose(sk.pelvis_height_m, 0.530 * 1.75)
    assert org["foot_right"][0][2] > 0 > org["foot_left"][0][2]  # z points to the right
    assert org["head"][0][1] > 0.3


def test_body_to_earth_frames():
    q = body_to_earth(0.0)
    assert np.allclose(quat_rotate(q, [1.0, 0, 0]), [0, 1, 0])  # anterior → north
    assert np.allclose(quat_rotate(q, [0, 1.0, 0]), [0, 0, 1])  # superior → up
    assert np.allclose(quat_rotate(q, [0, 0, 1.0]), [1, 0, 0])  # right → east
    assert np.allclose(quat_rotate(body_to_earth(90.0), [1.0, 0, 0]), [1, 0, 0], atol=1e-12)  # faces east


def test_knee_flexion_moves_the_ankle_posterior():
    sk = Skeleton()
    ankle = distal("shank_right", {"knee_right": (60.0, 0, 0)}, [0, -sk.shank_length_m, 0])
    assert ankle[0] < -0.3


def test_hip_flexion_moves_the_knee_anterior_both_sides():
    for side in ("right", "left"):
        knee = distal(f"thigh_{side}", {f"hip_{side}": (90.0, 0, 0)}, [0, -Skeleton().thigh_length_m, 0])
        assert knee[0] > 0.4 and abs(knee[1]) < 1e-9


def test_elbow_flexion_moves_the_hand_anterior():
    hand = distal("forearm_right", {"elbow_right": (90.0, 0, 0)}, [0, -0.25, 0])
    elbow = distal("upper_arm_right", {}, [0, -0.325, 0])
    assert hand[0] - elbow[0] > 0.2


@pytest.mark.parametrize("side, sign", [("right", 1.0), ("left", -1.0)])
def test_shoulder_and_hip_abduction_move_distal_ends_laterally(side, sign):
    elbow = distal(f"upper_arm_{side}", {f"shoulder_{side}": (60.0, 0, 0)}, [0, -0.3, 0])  # Y-X-Y
    rest = distal(f"upper_arm_{side}", {}, [0, -0.3, 0])
    assert sign * (elbow[2] - rest[2]) > 0.2
    knee = distal(f"thigh_{side}", {f"hip_{side}": (0, 30.0, 0)}, [0, -0.4, 0])
    knee0 = distal(f"thigh_{side}", {}, [0, -0.4, 0])
    assert sign * (knee[2] - knee0[2]) > 0.15


def test_lumbar_flexion_moves_the_trunk_forward():
    neck = distal("trunk", {"lumbar": (30.0, 0, 0)}, [0, 0.4, 0])
    assert neck[0] > 0.15


def test_joint_angles_from_quats_recovers_commanded_angles():
    angles = {"hip_left": (40.0, -12.0, 8.0), "knee_left": (75.0, 4.0, -6.0), "pelvis": (10.0, 3.0, -4.0)}
    rot, _ = pose(angles, ["shank_left"])
    to_earth = body_to_earth(30.0)
    earth = {s: quat_multiply(to_earth, q) for s, q in rot.items()}
    knee = joint_angles_from_quats("knee_left", earth["thigh_left"], earth["shank_left"])
    assert np.allclose(knee, [angles["knee_left"]])
    assert np.allclose(
        joint_angles_from_quats("hip_left", earth["pelvis"], earth["thigh_left"]), [angles["hip_left"]]
    )
    assert np.allclose(joint_angles_from_quats("pelvis", to_earth[None], earth["pelvis"]), [angles["pelvis"]])


def test_skeleton_validates_height():
    with pytest.raises(ValueError, match="height"):
        Skeleton(0.5)


# --- trajectories --------------------------------------------------------------------------------


def test_min_jerk_step_shape():
    u = np.array([-1.0, 0.0, 0.5, 1.0, 2.0])
    assert np.allclose(min_jerk_step(u), [0.0, 0.0, 0.5, 1.0, 1.0])


@given(st.lists(st.floats(-50, 50), min_size=2, max_size=6), st.floats(0.1, 3.0))
def test_min_jerk_path_hits_knots_and_is_smooth(values, dt):
    times = np.arange(len(values)) * dt
    path = MinJerkPath(times, np.array(values))
    assert np.allclose(path(times), values)
    assert np.isclose(path(np.array([times[-1] + 10.0]))[0], values[-1])
    lo, hi = min(values), max(values)
    dense = path(np.linspace(-1, times[-1] + 1, 2001))
    assert np.all((dense >= lo - 1e-9) & (dense <= hi + 1e-9))
    h = 1e-4
    for tk in times:  # velocity vanishes at every knot
        assert abs(path(np.array([tk + h]))[0] - path(np.array([tk - h]))[0]) / (2 * h) < 1e-2 * (hi - lo + 1)


def test_min_jerk_path_integral_matches_quadrature():
    path = MinJerkPath(np.array([0.0, 1.0, 2.5, 3.0]), np.array([0.0, 2.0, -1.0, 0.5]))
    for t in (-0.5, 0.7, 2.0, 4.0):
        expected = quad(lambda x: float(path(np.array([x]))[0]), 0.0, t, limit=200)[0]
        assert np.isclose(path.integral(np.array([t]))[0], expected, atol=1e-8)


def test_min_jerk_path_rejects_unordered_knots():
    with pytest.raises(ValueError):
        MinJerkPath(np.array([0.0, 0.0]), np.array([1.0, 2.0]))


def test_periodic_pattern_wraps():
    p = PeriodicPattern((0, 30, 60), (1.0, 5.0, -2.0))
    assert np.allclose(p(np.array([0.3, 1.3, -0.7])), 5.0)
    lo, hi = p.extremes()
    assert lo <= -2.0 and hi >= 5.0
    h = PeriodicPattern.harmonic(2.0, 3.0, 25.0)
    assert np.isclose(h(np.array([0.25]))[0], 5.0, atol=1e-3)


def test_slow_noise_derivative():
    n = SlowNoise.random(np.random.default_rng(1), rms=0.5, max_hz=0.2)
    x = np.linspace(0, 20, 101)
    numeric = (n(x + 1e-6) - n(x - 1e-6)) / 2e-6
    assert np.allclose(n.derivative(x), numeric, atol=1e-6)
    assert n(np.array([0.0]))[0] == 0.0
    assert np.all(np.abs(n.derivative(x)) <= n.max_slope() + 1e-12)
