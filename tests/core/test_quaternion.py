import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.transform import Rotation

from imurehab.quaternion import (
    quat_angle,
    quat_canonical,
    quat_conjugate,
    quat_exp,
    quat_from_axis_angle,
    quat_from_matrix,
    quat_from_rotvec,
    quat_from_scipy,
    quat_identity,
    quat_inverse,
    quat_log,
    quat_multiply,
    quat_normalize,
    quat_relative,
    quat_rotate,
    quat_rotate_inverse,
    quat_slerp,
    quat_to_matrix,
    quat_to_rotvec,
    quat_to_scipy,
)

finite = st.floats(-10.0, 10.0, allow_nan=False, allow_infinity=False)
raw_quats = arrays(np.float64, (5, 4), elements=finite).filter(
    lambda q: np.all(np.linalg.norm(q, axis=1) > 1e-3)
)
vectors = arrays(np.float64, (5, 3), elements=finite)
rotvecs = arrays(np.float64, (5, 3), elements=st.floats(-3.0, 3.0, allow_nan=False)).filter(
    lambda r: np.all(np.linalg.norm(r, axis=1) < np.pi - 1e-3)
)


def same_rotation(p, q, atol=1e-9):
    return np.allclose(np.abs(np.sum(p * q, axis=-1)), 1.0, atol=atol)


@given(raw_quats)
def test_normalize_gives_unit_norm(q):
    assert np.allclose(np.linalg.norm(quat_normalize(q), axis=1), 1.0)


def test_normalize_rejects_zero():
    with pytest.raises(ValueError, match="zero"):
        quat_normalize(np.zeros(4))


def test_shape_errors_are_clear():
    with pytest.raises(ValueError, match="w, x, y, z"):
        quat_multiply(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="length 3"):
        quat_rotate(quat_identity(), np.zeros(4))


@given(raw_quats)
def test_inverse_and_conjugate(q):
    assert np.allclose(quat_multiply(q, quat_inverse(q)), quat_identity(5), atol=1e-9)
    u = quat_normalize(q)
    assert np.allclose(quat_inverse(u), quat_conjugate(u))
    assert np.allclose(quat_multiply(quat_conjugate(u), u), quat_identity(5), atol=1e-12)


@given(raw_quats, raw_quats)
def test_product_norm_and_composition_match_scipy(p, q):
    p, q = quat_normalize(p), quat_normalize(q)
    pq = quat_multiply(p, q)
    assert np.allclose(np.linalg.norm(pq, axis=1), 1.0)
    expected = quat_from_scipy(quat_to_scipy(p) * quat_to_scipy(q))
    assert same_rotation(pq, expected)


@given(raw_quats, vectors)
def test_rotate_matches_scipy_and_matrix(q, v):
    q = quat_normalize(q)
    expected = quat_to_scipy(q).apply(v)
    assert np.allclose(quat_rotate(q, v), expected, atol=1e-9)
    assert np.allclose(np.einsum("nij,nj->ni", quat_to_matrix(q), v), expected, atol=1e-9)
    assert np.allclose(quat_rotate_inverse(q, quat_rotate(q, v)), v, atol=1e-9)
    assert np.allclose(np.linalg.norm(quat_rotate(q, v), axis=1), np.linalg.norm(v, axis=1), atol=1e-9)


@given(raw_quats, raw_quats, vectors)
def test_composition_order_rotates_right_to_left(p, q, v):
    p, q = quat_normalize(p), quat_normalize(q)
    assert np.allclose(quat_rotate(quat_multiply(p, q), v), quat_rotate(p, quat_rotate(q, v)), atol=1e-9)


@given(raw_quats, raw_quats)
def test_relative_rotation(p, q):
    p, q = quat_normalize(p), quat_normalize(q)
    rel = quat_relative(p, q)
    assert same_rotation(quat_multiply(p, rel), q)
    assert np.allclose(quat_angle(p, q), np.linalg.norm(quat_to_rotvec(rel), axis=1), atol=1e-7)


@given(rotvecs)
def test_rotvec_roundtrip_and_scipy(r):
    q = quat_from_rotvec(r)
    assert np.allclose(np.linalg.norm(q, axis=1), 1.0)
    assert np.allclose(quat_to_rotvec(q), r, atol=1e-9)
    assert same_rotation(q, quat_from_scipy(Rotation.from_rotvec(r)))


@given(rotvecs)
def test_exp_log_roundtrip(r):
    v = 0.5 * r
    assert np.allclose(quat_log(quat_exp(v)), v, atol=1e-9)


def test_exp_log_small_angles_are_stable():
    v = np.array([[1e-14, 0.0, 0.0], [0.0, 0.0, 0.0], [1e-9, -2e-9, 3e-9]])
    q = quat_exp(v)
    assert np.all(np.isfinite(q))
    assert np.allclose(quat_log(q), v, atol=1e-20)


@given(raw_quats)
def test_matrix_roundtrip_and_canonical(q):
    q = quat_normalize(q)
    back = quat_from_matrix(quat_to_matrix(q))
    assert np.all(back[:, 0] >= 0)
    assert same_rotation(back, q)
    assert np.all(quat_canonical(q)[:, 0] >= 0)
    assert same_rotation(quat_canonical(q), q)


def test_known_rotation_sensor_to_earth():
    # 90° about earth z: the sensor's x axis points north (earth y)
    q = quat_from_rotvec([0.0, 0.0, np.pi / 2])
    assert np.allclose(quat_rotate(q, [1.0, 0.0, 0.0]), [0.0, 1.0, 0.0])
    assert np.allclose(q, [np.cos(np.pi / 4), 0.0, 0.0, np.sin(np.pi / 4)])


@settings(max_examples=50)
@given(raw_quats, raw_quats, st.floats(0.0, 1.0))
def test_slerp_endpoints_and_constant_speed(p, q, t):
    p, q = quat_normalize(p), quat_normalize(q)
    assert same_rotation(quat_slerp(p, q, 0.0), p)
    assert same_rotation(quat_slerp(p, q, 1.0), q, atol=1e-8)
    mid = quat_slerp(p, q, t)
    assert np.allclose(quat_angle(p, mid), t * quat_angle(p, q), atol=1e-7)


def test_scipy_boundary_order():
    r = Rotation.from_rotvec([0.3, -0.2, 0.1])
    q = quat_from_scipy(r)
    assert np.isclose(q[0], r.as_quat()[3])
    assert np.allclose(quat_to_scipy(q).as_quat(), r.as_quat())


def test_axis_angle_matches_rotvec_and_scipy():
    q = quat_from_axis_angle([0.0, 0.0, 2.0], np.pi / 2)
    assert np.allclose(q, [np.sqrt(0.5), 0, 0, np.sqrt(0.5)])
    assert np.allclose(quat_rotate(q, [1.0, 0.0, 0.0]), [0.0, 1.0, 0.0])
    axes = np.tile([1.0, 1.0, 0.0], (4, 1))
    angles = np.linspace(-1.0, 2.0, 4)
    expect = Rotation.from_rotvec(axes / np.sqrt(2) * angles[:, None])
    assert np.allclose(quat_from_axis_angle(axes, angles), quat_from_scipy(expect))
