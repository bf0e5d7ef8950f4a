"""Vectorised unit-quaternion helpers in the project convention.

Conventions (see DESIGN.md):

- Hamilton quaternions, scalar first: ``q = (w, x, y, z)``, shape ``(..., 4)``; every function broadcasts
  over the leading axes.
- A quaternion ``q`` describing a sensor's (or segment's) orientation rotates vectors expressed in the
  sensor frame into the earth frame: ``v_earth = q ⊗ (0, v_sensor) ⊗ q*`` (:func:`quat_rotate`).
- Composition: ``quat_multiply(q_a, q_b)`` is the rotation ``q_b`` followed by ``q_a`` when applied to
  vectors, so a chain ``q_earth_sensor = q_earth_segment ⊗ q_segment_sensor`` reads right to left.
- scipy's :class:`~scipy.spatial.transform.Rotation` stores ``(x, y, z, w)``; :func:`quat_from_scipy` and
  :func:`quat_to_scipy` are the only places where the order is converted.

Rotation vectors (axis × angle, [rad]) and the quaternion exponential are related by
``quat_from_rotvec(r) == quat_exp(r / 2)``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.spatial.transform import Rotation

from imurehab._quat_kernel import interp_rows

__all__ = [
    "quat_angle",
    "quat_canonical",
    "quat_conjugate",
    "quat_exp",
    "quat_from_axis_angle",
    "quat_from_matrix",
    "quat_from_rotvec",
    "quat_from_scipy",
    "quat_identity",
    "quat_interp",
    "quat_inverse",
    "quat_log",
    "quat_multiply",
    "quat_normalize",
    "quat_relative",
    "quat_rotate",
    "quat_rotate_inverse",
    "quat_slerp",
    "quat_to_matrix",
    "quat_to_rotvec",
    "quat_to_scipy",
]

FloatArray = npt.NDArray[np.float64]

# scipy (x, y, z, w) <-> ours (w, x, y, z)
_TO_WXYZ = (3, 0, 1, 2)
_TO_XYZW = (1, 2, 3, 0)


def _q(q: npt.ArrayLike) -> FloatArray:
    arr = np.asarray(q, dtype=np.float64)
    if arr.shape[-1:] != (4,):
        raise ValueError(f"quaternions must have a last axis of length 4 (w, x, y, z), got shape {arr.shape}")
    return arr


def _v(v: npt.ArrayLike) -> FloatArray:
    arr = np.asarray(v, dtype=np.float64)
    if arr.shape[-1:] != (3,):
        raise ValueError(f"vectors must have a last axis of length 3, got shape {arr.shape}")
    return arr


def _cross(a: FloatArray, b: FloatArray) -> FloatArray:
    """Cross product over the last axis (faster than :func:`numpy.cross` for this fixed case)."""
    a, b = np.broadcast_arrays(a, b)
    out = np.empty(a.shape)
    out[..., 0] = a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1]
    out[..., 1] = a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2]
    out[..., 2] = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    return out


def quat_identity(n: int | None = None) -> FloatArray:
    """The identity rotation ``(1, 0, 0, 0)``.

    Parameters
    ----------
    n : int, optional
        Number of quaternions; None gives a single one of shape (4,), else shape (n, 4).
    """
    q = np.zeros((4,) if n is None else (n, 4))
    q[..., 0] = 1.0
    return q


def quat_multiply(p: npt.ArrayLike, q: npt.ArrayLike) -> FloatArray:
    """Hamilton product ``p ⊗ q``: rotation ``q`` first, then ``p``.

    Parameters
    ----------
    p, q : array_like, shape (..., 4)
        Quaternions (w, x, y, z); leading axes broadcast.
    """
    p, q = _q(p), _q(q)
    pw, px, py, pz = p[..., 0], p[..., 1], p[..., 2], p[..., 3]
    qw, qx, qy, qz = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    out = np.empty(np.broadcast_shapes(p.shape, q.shape))
    out[..., 0] = pw * qw - px * qx - py * qy - pz * qz
    out[..., 1] = pw * qx + px * qw + py * qz - pz * qy
    out[..., 2] = pw * qy - px * qz + py * qw + pz * qx
    out[..., 3] = pw * qz + px * qy - py * qx + pz * qw
    return out


def quat_conjugate(q: npt.ArrayLike) -> FloatArray:
    """Conjugate ``(w, -x, -y, -z)``; the inverse rotation for unit quaternions.

    Parameters
    ----------
    q : array_like, shape (..., 4)
        Quaternions (w, x, y, z).
    """
    out = _q(q).copy()
    out[..., 1:] *= -1.0
    return out


def quat_inverse(q: npt.ArrayLike) -> FloatArray:
    """Multiplicative inverse ``q* / |q|²`` (equals the conjugate for unit quaternions).

    Parameters
    ----------
    q : array_like, shape (..., 4)
        Non-zero quaternions (w, x, y, z).
    """
    q = _q(q)
    return quat_conjugate(q) / np.sum(q * q, axis=-1, keepdims=True)


def quat_normalize(q: npt.ArrayLike) -> FloatArray:
    """Scale to unit norm.

    Parameters
    ----------
    q : array_like, shape (..., 4)
        Quaternions (w, x, y, z).

    Raises
    ------
    ValueError
        If a quaternion has zero norm.
    """
    q = _q(q)
    n = np.linalg.norm(q, axis=-1, keepdims=True)
    if np.any(n == 0):
        raise ValueError("cannot normalise a zero quaternion")
    return q / n


def quat_canonical(q: npt.ArrayLike) -> FloatArray:
    """The same rotations with a non-negative scalar part (``q`` and ``-q`` are one rotation).

    Parameters
    ----------
    q : array_like, shape (..., 4)
        Unit quaternions (w, x, y, z).
    """
    q = _q(q)
    return np.where(q[..., :1] < 0, -q, q)


def quat_rotate(q: npt.ArrayLike, v: npt.ArrayLike) -> FloatArray:
    """Rotate vectors by unit quaternions: ``q ⊗ (0, v) ⊗ q*``.

    With ``q`` a sensor→earth orientation this maps sensor-frame vectors to the earth frame.

    Parameters
    ----------
    q : array_like, shape (..., 4)
        Unit quaternions (w, x, y, z).
    v : array_like, shape (..., 3)
        Vectors, broadcast against ``q``'s leading axes.
    """
    q, v = _q(q), _v(v)
    w = q[..., :1]
    u = q[..., 1:]
    # Rodrigues form of the sandwich product: v + 2w (u × v) + 2 u × (u × v)
    t = 2.0 * _cross(u, v)
    return v + w * t + _cross(u, t)


def quat_rotate_inverse(q: npt.ArrayLike, v: npt.ArrayLike) -> FloatArray:
    """Rotate vectors by the inverse of unit quaternions: ``q* ⊗ (0, v) ⊗ q``.

    With ``q`` a sensor→earth orientation this maps earth-frame vectors into the sensor frame.

    Parameters
    ----------
    q : array_like, shape (..., 4)
        Unit quaternions (w, x, y, z).
    v : array_like, shape (..., 3)
        Vectors, broadcast against ``q``'s leading axes.
    """
    return quat_rotate(quat_conjugate(q), v)


def quat_relative(q_parent: npt.ArrayLike, q_child: npt.ArrayLike) -> FloatArray:
    """Orientation of ``child`` relative to ``parent``: ``q_parent* ⊗ q_child``.

    If both map their frame to the earth frame, the result maps child-frame vectors into the parent frame
    (the quantity a joint angle is computed from).

    Parameters
    ----------
    q_parent, q_child : array_like, shape (..., 4)
        Unit quaternions (w, x, y, z); leading axes broadcast.
    """
    return quat_multiply(quat_conjugate(q_parent), q_child)


def quat_exp(v: npt.ArrayLike) -> FloatArray:
    """Exponential of the pure quaternion ``(0, v)``: ``(cos|v|, sin|v| v/|v|)``.

    A unit quaternion for real ``v``; it rotates by the angle ``2|v|`` about ``v``. Stable for ``v → 0``.

    Parameters
    ----------
    v : array_like, shape (..., 3)
        Vector part of the pure quaternion.
    """
    v = _v(v)
    theta = np.linalg.norm(v, axis=-1, keepdims=True)
    # np.sinc(x) = sin(pi x) / (pi x): a stable sin(θ)/θ near zero
    return np.concatenate([np.cos(theta), np.sinc(theta / np.pi) * v], axis=-1)


def quat_log(q: npt.ArrayLike) -> FloatArray:
    """Logarithm of unit quaternions: the vector ``v`` with ``quat_exp(v) == q``, ``|v| ≤ π``.

    The input is not canonicalised: ``q`` and ``-q`` give different logarithms (``|v|`` and ``π - |v|``).

    Parameters
    ----------
    q : array_like, shape (..., 4)
        Unit quaternions (w, x, y, z).
    """
    q = _q(q)
    w = np.clip(q[..., :1], -1.0, 1.0)
    u = q[..., 1:]
    s = np.linalg.norm(u, axis=-1, keepdims=True)
    theta = np.arctan2(s, w)
    # theta / s, stable when s → 0 with w > 0 (theta ≈ s)
    scale = np.where(s > 1e-12, theta / np.where(s > 1e-12, s, 1.0), 1.0 / np.where(w != 0, w, 1.0))
    return scale * u


def quat_from_axis_angle(axis: npt.ArrayLike, angle_rad: npt.ArrayLike) -> FloatArray:
    """Unit quaternions of rotations about an axis.

    Parameters
    ----------
    axis : array_like, shape (..., 3)
        Rotation axes (normalised here).
    angle_rad : array_like, shape (...)
        Rotation angles [rad], right-handed about ``axis``.
    """
    axis = _v(axis)
    axis = axis / np.linalg.norm(axis, axis=-1, keepdims=True)
    return quat_from_rotvec(axis * np.asarray(angle_rad, dtype=np.float64)[..., None])


def quat_from_rotvec(r: npt.ArrayLike) -> FloatArray:
    """Unit quaternions from rotation vectors (axis × angle).

    Parameters
    ----------
    r : array_like, shape (..., 3)
        Rotation vectors [rad].
    """
    return quat_exp(0.5 * _v(r))


def quat_to_rotvec(q: npt.ArrayLike) -> FloatArray:
    """Rotation vectors (axis × angle [rad], angle in [0, π]): the shortest rotation.

    Parameters
    ----------
    q : array_like, shape (..., 4)
        Unit quaternions (w, x, y, z).
    """
    return 2.0 * quat_log(quat_canonical(q))


def quat_angle(q_a: npt.ArrayLike, q_b: npt.ArrayLike) -> FloatArray:
    """Angle [rad] of the rotation between two orientations, in [0, π] (the geodesic distance).

    Parameters
    ----------
    q_a, q_b : array_like, shape (..., 4)
        Unit quaternions (w, x, y, z); leading axes broadcast.
    """
    d = quat_relative(q_a, q_b)
    return 2.0 * np.arctan2(np.linalg.norm(d[..., 1:], axis=-1), np.abs(d[..., 0]))


def quat_slerp(q0: npt.ArrayLike, q1: npt.ArrayLike, t: npt.ArrayLike) -> FloatArray:
    """Spherical linear interpolation from ``q0`` to ``q1`` along the shortest arc.

    Parameters
    ----------
    q0, q1 : array_like, shape (..., 4)
        Unit quaternions (w, x, y, z).
    t : array_like, shape (...)
        Interpolation fraction in [0, 1] (0 gives ``q0``, 1 gives ``q1``).
    """
    q0 = _q(q0)
    d = quat_canonical(quat_relative(q0, q1))
    t = np.asarray(t, dtype=np.float64)[..., None]
    return quat_multiply(q0, quat_exp(t * quat_log(d)))


def quat_interp(t_src: npt.ArrayLike, q_src: npt.ArrayLike, t_dst: npt.ArrayLike) -> FloatArray:
    """Orientations at other times: slerp between the two neighbouring samples (held beyond the ends).

    Parameters
    ----------
    t_src : array_like, shape (N,)
        Increasing sample times (any unit; int64 µs keeps full precision).
    q_src : array_like, shape (N, 4)
        Unit quaternions (w, x, y, z) at ``t_src``.
    t_dst : array_like, shape (M,)
        Times wanted, same unit.

    Returns
    -------
    ndarray, shape (M, 4)

    Examples
    --------
    >>> q = quat_from_axis_angle([0.0, 0.0, 1.0], np.array([0.0, 1.0]))
    >>> bool(np.allclose(quat_interp([0, 10], q, [5]), quat_from_axis_angle([0.0, 0.0, 1.0], 0.5)))
    True
    """
    t_src, t_dst = np.asarray(t_src), np.asarray(t_dst)
    q_src = _q(q_src)
    if t_src.shape == t_dst.shape and np.array_equal(t_src, t_dst):
        return q_src.copy()
    shape = t_dst.shape
    common = np.result_type(t_src, t_dst)
    out = np.empty((t_dst.size, 4))
    # quat_slerp between the neighbours, in one compiled pass without full-length temporaries.
    interp_rows(
        np.ascontiguousarray(t_src, dtype=common),
        np.ascontiguousarray(q_src),
        np.ascontiguousarray(t_dst.reshape(-1), dtype=common),
        out,
    )
    return out.reshape((*shape, 4))


def quat_from_scipy(rotation: Rotation) -> FloatArray:
    """``(w, x, y, z)`` quaternions of a scipy rotation (scipy stores ``(x, y, z, w)``).

    Parameters
    ----------
    rotation : scipy.spatial.transform.Rotation
        One or several rotations.
    """
    return np.ascontiguousarray(rotation.as_quat()[..., _TO_WXYZ])


def quat_to_scipy(q: npt.ArrayLike) -> Rotation:
    """A scipy :class:`~scipy.spatial.transform.Rotation` from ``(w, x, y, z)`` quaternions.

    Parameters
    ----------
    q : array_like, shape (4,) or (N, 4)
        Quaternions (w, x, y, z); scipy normalises them.
    """
    return Rotation.from_quat(_q(q)[..., _TO_XYZW])


def quat_to_matrix(q: npt.ArrayLike) -> FloatArray:
    """Rotation matrices ``R`` with ``R @ v`` equal to :func:`quat_rotate` ``(q, v)``.

    Parameters
    ----------
    q : array_like, shape (..., 4)
        Quaternions (w, x, y, z), normalised first.

    Returns
    -------
    ndarray, shape (..., 3, 3)
    """
    q = quat_normalize(q)
    w, x, y, z = np.moveaxis(q, -1, 0)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], axis=-1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], axis=-1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], axis=-1),
        ],
        axis=-2,
    )


def quat_from_matrix(m: npt.ArrayLike) -> FloatArray:
    """Unit quaternions (canonical, ``w ≥ 0``) of rotation matrices.

    Parameters
    ----------
    m : array_like, shape (..., 3, 3)
        Rotation matrices.
    """
    m = np.asarray(m, dtype=np.float64)
    if m.shape[-2:] != (3, 3):
        raise ValueError(f"rotation matrices must have shape (..., 3, 3), got {m.shape}")
    flat = m.reshape(-1, 3, 3)
    q = quat_from_scipy(Rotation.from_matrix(flat))
    return quat_canonical(q).reshape((*m.shape[:-2], 4))
