"""Vectorised Hamilton quaternion helpers, scalar first (w, x, y, z).

A quaternion ``q`` describing a sensor's orientation rotates sensor-frame vectors into the earth frame:
``v_earth = q ⊗ v_sensor ⊗ q*``. All functions broadcast over leading axes: ``(4,)`` or ``(N, 4)``.
scipy's :class:`~scipy.spatial.transform.Rotation` uses scalar-last (x, y, z, w); :func:`to_rotation`
and :func:`from_rotation` are the one place where the two meet.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.spatial.transform import Rotation

__all__ = [
    "from_rotation",
    "quat_angle_deg",
    "quat_conjugate",
    "quat_from_axis_angle",
    "quat_from_rotvec",
    "quat_multiply",
    "quat_normalize",
    "quat_rotate",
    "quat_to_rotvec",
    "to_rotation",
]

FloatArray = npt.NDArray[np.float64]


def quat_multiply(p: npt.ArrayLike, q: npt.ArrayLike) -> FloatArray:
    """Hamilton product ``p ⊗ q`` (apply ``q`` first, then ``p``).

    Parameters
    ----------
    p, q : array_like, shape (..., 4)
        Quaternions (w, x, y, z); leading axes broadcast.
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    pw, px, py, pz = np.moveaxis(p, -1, 0)
    qw, qx, qy, qz = np.moveaxis(q, -1, 0)
    return np.stack(
        [
            pw * qw - px * qx - py * qy - pz * qz,
            pw * qx + px * qw + py * qz - pz * qy,
            pw * qy - px * qz + py * qw + pz * qx,
            pw * qz + px * qy - py * qx + pz * qw,
        ],
        axis=-1,
    )


def quat_conjugate(q: npt.ArrayLike) -> FloatArray:
    """Conjugate ``q*`` (the inverse of a unit quaternion).

    Parameters
    ----------
    q : array_like, shape (..., 4)
        Quaternions (w, x, y, z).
    """
    q = np.array(q, dtype=np.float64)
    q[..., 1:] *= -1.0
    return q


def quat_normalize(q: npt.ArrayLike) -> FloatArray:
    """Scale quaternions to unit norm.

    Parameters
    ----------
    q : array_like, shape (..., 4)
        Non-zero quaternions (w, x, y, z).
    """
    q = np.asarray(q, dtype=np.float64)
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def quat_rotate(q: npt.ArrayLike, v: npt.ArrayLike) -> FloatArray:
    """Rotate vectors by unit quaternions: ``q ⊗ v ⊗ q*``.

    Parameters
    ----------
    q : array_like, shape (..., 4)
        Unit quaternions (w, x, y, z).
    v : array_like, shape (..., 3)
        Vectors, in any unit (the result has the same unit).

    Returns
    -------
    ndarray, shape (..., 3)
        The rotated vectors (sensor → earth when ``q`` is a sensor orientation).
    """
    q = np.asarray(q, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    w = q[..., :1]
    u = q[..., 1:]
    t = 2.0 * np.cross(u, v)
    return v + w * t + np.cross(u, t)


def quat_from_axis_angle(axis: npt.ArrayLike, angle_rad: npt.ArrayLike) -> FloatArray:
    """Quaternion of a rotation about an axis.

    Parameters
    ----------
    axis : array_like, shape (..., 3)
        Rotation axis (normalised here).
    angle_rad : array_like, shape (...)
        Rotation angle [rad], right-handed about ``axis``.
    """
    axis = np.asarray(axis, dtype=np.float64)
    axis = axis / np.linalg.norm(axis, axis=-1, keepdims=True)
    half = 0.5 * np.asarray(angle_rad, dtype=np.float64)[..., None]
    return np.concatenate([np.cos(half), np.sin(half) * axis], axis=-1)


def quat_from_rotvec(rotvec: npt.ArrayLike) -> FloatArray:
    """Quaternion of a rotation vector; the exponential map.

    Parameters
    ----------
    rotvec : array_like, shape (..., 3)
        Rotation vectors: unit axis × angle [rad].
    """
    rv = np.asarray(rotvec, dtype=np.float64)
    angle = np.linalg.norm(rv, axis=-1, keepdims=True)
    half = 0.5 * angle
    # sin(x/2)/x → 1/2 as x → 0; the series keeps full precision for tiny angles.
    small = angle < 1e-6
    k = np.where(small, 0.5 - angle**2 / 48.0, np.sin(half) / np.where(small, 1.0, angle))
    return np.concatenate([np.cos(half), k * rv], axis=-1)


def quat_to_rotvec(q: npt.ArrayLike) -> FloatArray:
    """Rotation vector of unit quaternions; the logarithm map.

    Parameters
    ----------
    q : array_like, shape (..., 4)
        Unit quaternions (w, x, y, z).

    Returns
    -------
    ndarray, shape (..., 3)
        Unit axis × angle [rad], angle in [0, π].
    """
    q = np.asarray(q, dtype=np.float64)
    q = np.where(q[..., :1] < 0, -q, q)
    vnorm = np.linalg.norm(q[..., 1:], axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(vnorm, q[..., :1])
    small = vnorm < 1e-12
    k = np.where(small, 2.0 / np.where(small, q[..., :1], 1.0), angle / np.where(small, 1.0, vnorm))
    return k * q[..., 1:]


def quat_angle_deg(p: npt.ArrayLike, q: npt.ArrayLike) -> FloatArray:
    """Angle of the rotation between two orientations [deg], in [0, 180].

    Parameters
    ----------
    p, q : array_like, shape (..., 4)
        Quaternions (w, x, y, z).

    Notes
    -----

    Computed as ``2 atan2(|v|, |w|)`` of ``p* ⊗ q``, which stays accurate for tiny angles where
    ``arccos`` of a dot product loses half the digits.
    """
    d = quat_multiply(quat_conjugate(quat_normalize(p)), quat_normalize(q))
    return np.degrees(2.0 * np.arctan2(np.linalg.norm(d[..., 1:], axis=-1), np.abs(d[..., 0])))


def to_rotation(q: npt.ArrayLike) -> Rotation:
    """scipy Rotation of scalar-first quaternions.

    Parameters
    ----------
    q : array_like, shape (..., 4)
        Quaternions (w, x, y, z).
    """
    return Rotation.from_quat(np.roll(np.asarray(q, dtype=np.float64), -1, axis=-1))


def from_rotation(r: Rotation) -> FloatArray:
    """Scalar-first quaternions of a scipy Rotation.

    Parameters
    ----------
    r : scipy.spatial.transform.Rotation
        One or several rotations.
    """
    return np.roll(r.as_quat(), 1, axis=-1)
