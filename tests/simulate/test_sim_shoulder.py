"""The shoulder in ISB Y-X-Y: composition, decomposition, signs, and the simulated raises beyond 90°."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from imurehab.quaternion import quat_angle, quat_from_scipy, quat_multiply, quat_relative, quat_rotate
from imurehab.simulate import SensorErrorModel, simulate_session
from imurehab.simulate.body import Skeleton, body_to_earth, orientations_in_body_frame, origins_in_body_frame
from imurehab.simulate.joints import (
    JOINTS,
    joint_angles_from_quats,
    joint_rotation,
    quat_to_yxy,
    yxy_to_quat,
)

IDEAL = SensorErrorModel.ideal()
sides = st.sampled_from(["right", "left"])
wide = st.floats(-179.0, 179.0)


def wrapped(a, b):
    """Absolute difference of angles [deg], modulo 360."""
    return np.abs((np.asarray(a) - np.asarray(b) + 180.0) % 360.0 - 180.0)


def arm_pose(side, shoulder, trunk=(0.0, 0.0, 0.0), facing=0.0):
    """Trunk and upper-arm → earth quaternions for one instant, the shoulder commanded in Y-X-Y."""
    angles = {"lumbar": np.array([trunk]), f"shoulder_{side}": np.array([shoulder])}
    rot = orientations_in_body_frame(angles, 1, [f"upper_arm_{side}"])
    to_earth = body_to_earth(facing)
    return quat_multiply(to_earth, rot["trunk"]), quat_multiply(to_earth, rot[f"upper_arm_{side}"])


def elbow_position(side, shoulder):
    """Elbow centre relative to the glenohumeral centre, body frame (forward, up, right) [m]."""
    angles = {f"shoulder_{side}": np.array([shoulder])}
    rot = orientations_in_body_frame(angles, 1, [f"upper_arm_{side}"])
    org = origins_in_body_frame(Skeleton(), rot, np.zeros((1, 3)), [f"upper_arm_{side}"])
    seg = f"upper_arm_{side}"
    return (quat_rotate(rot[seg], [0.0, -0.3255, 0.0]))[0], org[seg][0]


@given(wide, st.floats(-179.0, 179.0), wide)
def test_yxy_quaternion_matches_scipy_and_inverts(phi, theta, psi):
    rad = np.deg2rad([phi, theta, psi])
    q = yxy_to_quat(rad)
    expected = quat_from_scipy(Rotation.from_euler("YXY", rad))
    assert np.isclose(abs(np.dot(q, expected)), 1.0)
    back = quat_to_yxy(q, theta_sign=np.sign(theta) or 1.0)
    if abs(theta) > 1e-3:
        assert np.allclose(wrapped(np.rad2deg(back), [phi, theta, psi]), 0.0, atol=1e-9)


@given(sides, st.floats(0.01, 170.0), wide, wide, st.tuples(wide, st.floats(-60, 60), wide), wide)
def test_shoulder_angles_from_segment_quaternions_equal_commanded(
    side, elevation, plane, rotation, trunk, facing
):
    commanded = [elevation, plane, rotation]
    q_trunk, q_arm = arm_pose(side, commanded, trunk, facing)
    measured = joint_angles_from_quats(f"shoulder_{side}", q_trunk, q_arm)[0]
    assert abs(measured[0] - elevation) < 1e-9
    assert np.all(wrapped(measured[1:], commanded[1:]) < 1e-9)


@pytest.mark.parametrize("side", ["right", "left"])
def test_hanging_arm_is_the_singular_case(side):
    q_trunk, q_arm = arm_pose(side, [0.0, 70.0, -30.0])
    measured = joint_angles_from_quats(f"shoulder_{side}", q_trunk, q_arm)[0]
    # elevation 0: only plane + rotation is defined; it is reported as rotation with plane 0
    assert abs(measured[0]) < 1e-9 and measured[1] == 0.0
    assert wrapped(measured[2], 40.0) < 1e-9


@pytest.mark.parametrize(("side", "lateral"), [("right", 1.0), ("left", -1.0)])
def test_shoulder_signs(side, lateral):
    # plane 0: abduction, the elbow goes out to the side
    elbow, _ = elbow_position(side, [90.0, 0.0, 0.0])
    assert np.allclose(elbow, [0.0, 0.0, lateral * 0.3255], atol=1e-12)
    # plane 90: forward flexion; elevation 160 takes the elbow above the shoulder
    elbow, _ = elbow_position(side, [90.0, 90.0, -90.0])
    assert np.allclose(elbow, [0.3255, 0.0, 0.0], atol=1e-12)
    elbow, _ = elbow_position(side, [160.0, 90.0, -90.0])
    assert elbow[1] > 0.3 and elbow[0] > 0.1
    # negative plane: behind the frontal plane
    elbow, _ = elbow_position(side, [45.0, -60.0, 60.0])
    assert elbow[0] < -0.1
    # internal rotation with the arm at the side turns the anterior face medially
    rot = orientations_in_body_frame(
        {f"shoulder_{side}": np.array([[0.0, 0.0, 30.0]])}, 1, [f"upper_arm_{side}"]
    )
    anterior = quat_rotate(rot[f"upper_arm_{side}"], [1.0, 0.0, 0.0])[0]
    assert -lateral * anterior[2] > 0.4


@pytest.mark.parametrize("side", ["right", "left"])
def test_zxy_commands_agree_with_yxy_for_pure_flexion_and_abduction(side):
    key = f"shoulder_{side}"
    assert JOINTS[key].sequence == "YXY"
    for zxy, yxy in (([60.0, 0.0, 0.0], [60.0, 90.0, -90.0]), ([0.0, 60.0, 0.0], [60.0, 0.0, 0.0])):
        a = joint_rotation(key, [zxy], "ZXY")
        b = joint_rotation(key, [yxy], "YXY")
        assert quat_angle(a, b).max() < 1e-12
    with pytest.raises(ValueError, match="YXY"):
        joint_rotation("knee_right", [[10.0, 0.0, 0.0]], "YXY")


@pytest.fixture(scope="module")
def raises():
    return {
        m: simulate_session(m, reps=3, errors=IDEAL, seed=6, side=side)
        for m, side in (("shoulder-abduction", "right"), ("shoulder-flexion", "left"))
    }


@pytest.mark.parametrize(("movement", "plane"), [("shoulder-abduction", 0.0), ("shoulder-flexion", 90.0)])
def test_simulated_raises_go_beyond_90_degrees(raises, movement, plane):
    sim = raises[movement]
    side = "right" if movement == "shoulder-abduction" else "left"
    key = f"shoulder_{side}"
    truth = sim.truth
    reps = truth.reps_for(key)
    assert len(reps) == 3 and all(r.dof == "flexion_deg" for r in reps)
    assert all(150.0 - 1e-9 <= r.max_deg <= 165.0 + 1e-9 and np.isclose(r.min_deg, 5.0) for r in reps)
    angles = truth.joint_angles[key]
    assert np.allclose(angles["abduction_deg"], plane)  # the plane of elevation stays put
    recomputed = joint_angles_from_quats(
        key, truth.segment_quat["trunk"], truth.segment_quat[f"upper_arm_{side}"]
    )
    assert np.abs(recomputed[:, 0] - angles["flexion_deg"]).max() < 1e-9
    assert (
        wrapped(recomputed[:, 1:], np.stack([angles["abduction_deg"], angles["rotation_deg"]], -1)).max()
        < 1e-9
    )
    # the upper-arm sensor really points up at the top: its long axis within 30° of vertical
    sensor = truth.sensors["S2"]
    top = np.argmax(np.interp(sensor.time_s, truth.time_s, angles["flexion_deg"]))
    axis_up = quat_rotate(quat_relative(sensor.mount_quat, [1.0, 0, 0, 0]), [0.0, 1.0, 0.0])
    along = quat_rotate(sensor.quat[top], axis_up)
    assert along[2] < -np.cos(np.deg2rad(30.0))  # the proximal (+y) axis points down: the elbow is up
