import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.transform import Rotation

from imurehab.quaternion import (
    from_rotation,
    quat_angle_deg,
    quat_conjugate,
    quat_from_axis_angle,
    quat_from_rotvec,
    quat_multiply,
    quat_normalize,
    quat_rotate,
    quat_to_rotvec,
    to_rotation,
)

finite = st.floats(-1.0, 1.0, allow_nan=False)
quats = (
    arrays(np.float64, (4,), elements=finite).filter(lambda q: np.linalg.norm(q) > 0.1).map(quat_normalize)
)
vecs = arrays(np.float64, (3,), elements=st.floats(-10, 10, allow_nan=False))


@settings(max_examples=200, derandomize=True)
@given(quats, quats, vecs)
def test_multiply_and_rotate_match_scipy(p, q, v):
    expect = (to_rotation(p) * to_rotation(q)).apply(v)
    assert np.allclose(quat_rotate(quat_multiply(p, q), v), expect, atol=1e-9)
    assert np.allclose(quat_rotate(p, v), to_rotation(p).apply(v), atol=1e-9)
    assert np.isclose(np.linalg.norm(quat_multiply(p, q)), 1.0)


@settings(max_examples=200, derandomize=True)
@given(quats)
def test_conjugate_is_inverse_and_rotvec_round_trip(q):
    ident = quat_multiply(q, quat_conjugate(q))
    assert np.allclose(ident, [1, 0, 0, 0], atol=1e-12)
    back = quat_from_rotvec(quat_to_rotvec(q))
    assert quat_angle_deg(back, q) < 1e-6
    assert np.allclose(from_rotation(to_rotation(q)) * np.sign(q[0] or 1), q * np.sign(q[0] or 1), atol=1e-12)


def test_axis_angle_and_scalar_first_convention():
    q = quat_from_axis_angle([0, 0, 1], np.pi / 2)
    assert np.allclose(q, [np.sqrt(0.5), 0, 0, np.sqrt(0.5)])
    assert np.allclose(quat_rotate(q, [1, 0, 0]), [0, 1, 0])
    assert np.allclose(from_rotation(Rotation.from_rotvec([0, 0, np.pi / 2])), q)
    assert np.allclose(quat_from_rotvec(np.zeros(3)), [1, 0, 0, 0])
    assert quat_angle_deg(q, [1, 0, 0, 0]) == np.float64(90.0) or np.isclose(
        quat_angle_deg(q, [1, 0, 0, 0]), 90
    )


def test_vectorised_shapes():
    q = quat_from_axis_angle(np.tile([1.0, 0, 0], (5, 1)), np.linspace(0, 1, 5))
    assert q.shape == (5, 4)
    assert quat_rotate(q, np.ones((5, 3))).shape == (5, 3)
    assert quat_multiply(q, q[0]).shape == (5, 4)
