"""The joint centre seen from both segments: a heading check for 6D hinge-joint calibration.

The knee (or elbow) centre is one point of both segments, so its specific force is one vector. From a
sensor at offset ``o`` from the centre (sensor frame), with angular rate ``ω`` and angular acceleration
``ω̇``, the centre's specific force is ``a + Γ(ω, ω̇) o`` with ``Γ o = ω × (ω × o) + ω̇ × o`` (rigid-body
kinematics; used for joint-position estimation by Seel, Schauer & Raisch, IEEE CCA 2012). The centre
lies close to each segment's long axis, distal of the parent's sensor and proximal of the child's, so
``o_parent = −d_p y_parent`` and ``o_child = d_c y_child`` with unknown distances ``d``. Rotated into the
earth frame with the two orientations, the vectors must agree; with a wrong heading between the two 6D
estimates their horizontal parts do not. The residual is linear in ``(d_p, d_c)`` and solved in closed
form (bounded least squares).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
from scipy.ndimage import uniform_filter1d
from scipy.optimize import lsq_linear
from scipy.signal import butter, sosfiltfilt

from imurehab.quaternion import quat_rotate, quat_to_matrix

__all__ = ["distal_joint_lever", "joint_center_mismatch", "rotation_pivot"]

FloatArray = npt.NDArray[np.float64]

_MAX_OFFSET_M: Final[float] = 0.8  # no body-worn sensor sits further than this from the knee or elbow
_SMOOTH_S: Final[float] = 0.05  # gyro smoothing before differentiating
_PIVOT_HIGHPASS_HZ: Final[float] = 0.2  # below this, tilt errors of the orientation estimate dominate


def _gamma(w: FloatArray, wd: FloatArray, axis: FloatArray) -> FloatArray:
    return np.cross(w, np.cross(w, axis)) + np.cross(wd, axis)


def joint_center_mismatch(
    q_parent: FloatArray,
    q_child: FloatArray,
    acc_parent: FloatArray,
    gyr_parent: FloatArray,
    acc_child: FloatArray,
    gyr_child: FloatArray,
    y_parent: FloatArray,
    y_child: FloatArray,
    rate_hz: float,
) -> tuple[float, float, float]:
    """How badly the joint centre's specific force disagrees between the two segments.

    Parameters
    ----------
    q_parent, q_child : ndarray, shape (N, 4)
        Orientations (w, x, y, z), sensor → ENU earth, headings aligned by the candidate solution.
    acc_parent, acc_child : ndarray, shape (N, 3)
        Specific forces [m/s²] in the sensor frames.
    gyr_parent, gyr_child : ndarray, shape (N, 3)
        Angular rates [rad/s] in the sensor frames.
    y_parent, y_child : ndarray, shape (3,)
        Each segment's long axis (pointing proximal) in its sensor frame.
    rate_hz : float
        Sampling rate [Hz].

    Returns
    -------
    rms_mps2 : float
        RMS of the horizontal mismatch [m/s²] at the best distances.
    d_parent_m, d_child_m : float
        The fitted distances from each sensor to the joint centre along the long axis [m].
    """
    width = max(1, int(_SMOOTH_S * rate_hz))
    terms = []
    # Offsets from each sensor to the centre: o_p = −d_p y_p (distal), o_c = +d_c y_c (proximal); the
    # centre's specific force is a + Γ o, so the residual gains −d_p Γ_p y_p and −(+d_c Γ_c y_c).
    for acc, gyr, q, y, sign in (
        (acc_parent, gyr_parent, q_parent, y_parent, 1.0),
        (acc_child, gyr_child, q_child, y_child, 1.0),
    ):
        w = uniform_filter1d(gyr, width, axis=0)
        wd = np.gradient(w, axis=0) * rate_hz
        a = quat_rotate(q, uniform_filter1d(acc, width, axis=0))
        g = quat_rotate(q, _gamma(w, wd, np.broadcast_to(y, w.shape)))
        terms.append((a, sign * g))
    # residual = (a_p − d_p g_p) − (a_c + d_c g_c), horizontal components only (gravity cancels vertically
    # and carries no heading information).
    base = (terms[0][0] - terms[1][0])[:, :2].reshape(-1)
    design = -np.column_stack([terms[0][1][:, :2].reshape(-1), terms[1][1][:, :2].reshape(-1)])
    fit = lsq_linear(design, -base, bounds=(0.0, _MAX_OFFSET_M))
    resid = base + design @ fit.x
    return float(np.sqrt(np.mean(resid**2) * 2)), float(fit.x[0]), float(fit.x[1])


def _skew(v: FloatArray) -> FloatArray:
    """Cross-product matrices of a stack of vectors: ``_skew(v)[i] @ x == np.cross(v[i], x)``."""
    out = np.zeros((len(v), 3, 3))
    out[:, 0, 1], out[:, 0, 2] = -v[:, 2], v[:, 1]
    out[:, 1, 0], out[:, 1, 2] = v[:, 2], -v[:, 0]
    out[:, 2, 0], out[:, 2, 1] = -v[:, 1], v[:, 0]
    return out


def _kinematics(
    q: FloatArray, acc: FloatArray, gyr: FloatArray, rate_hz: float, gravity_mps2: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Rotation matrices (sensor → earth), Γ(ω, ω̇) and specific force minus gravity, sensor frame."""
    width = max(1, int(_SMOOTH_S * rate_hz))
    w = uniform_filter1d(gyr, width, axis=0)
    wd = np.gradient(w, axis=0) * rate_hz
    sw, swd = _skew(w), _skew(wd)
    rot = quat_to_matrix(q)
    gravity = np.einsum("nji,j->ni", rot, np.array([0.0, 0.0, gravity_mps2]))
    return rot, sw @ sw + swd, uniform_filter1d(acc, width, axis=0) - gravity


def _highpass(rate_hz: float, *arrays: FloatArray) -> list[FloatArray]:
    if len(arrays[0]) <= 30:
        return list(arrays)
    sos = butter(2, _PIVOT_HIGHPASS_HZ / (rate_hz / 2), "high", output="sos")
    return [sosfiltfilt(sos, a, axis=0) for a in arrays]


def distal_joint_lever(
    q_parent: FloatArray,
    acc_parent: FloatArray,
    gyr_parent: FloatArray,
    y_parent: FloatArray,
    q_child: FloatArray,
    acc_child: FloatArray,
    gyr_child: FloatArray,
    rate_hz: float,
    gravity_mps2: float = 9.80665,
) -> float:
    """How far along the parent's long axis the joint lies from the parent's pivot, seen by the child [m].

    Model: the parent turns about a fixed proximal pivot (hip, shoulder) and the joint (knee, elbow) lies
    at ``−L y_parent`` from it, so the joint's acceleration is ``−L R_p Γ_p y_p`` (earth frame); the child
    turns about the joint, so its sensor, at ``r`` from the joint, has the specific force
    ``a_c = R_cᵀ g_up − L R_cᵀ R_p Γ_p y_p + Γ_c r``: linear in ``(L, r)``. ``r`` is free (skin offsets
    included), the equation is solved by least squares after a 0.2 Hz high-pass. ``L`` comes out positive
    with the parent's long axis and the relative heading right; a 6D solution 180° off in heading turns
    the joint's horizontal acceleration around and gives a negative ``L``.

    Parameters
    ----------
    q_parent, q_child : ndarray, shape (N, 4)
        Orientations (w, x, y, z), sensor → ENU earth, the parent's heading aligned to the child's.
    acc_parent, acc_child : ndarray, shape (N, 3)
        Specific forces [m/s²], sensor frames.
    gyr_parent, gyr_child : ndarray, shape (N, 3)
        Angular rates [rad/s], sensor frames.
    y_parent : ndarray, shape (3,)
        The parent segment's long axis (pointing proximal) in its sensor frame.
    rate_hz : float
        Sampling rate [Hz].
    gravity_mps2 : float
        Local gravity [m/s²].

    Returns
    -------
    float
        ``L`` [m]; near zero when the parent barely turns.
    """
    rot_p, gamma_p, _ = _kinematics(q_parent, acc_parent, gyr_parent, rate_hz, gravity_mps2)
    rot_c, gamma_c, y = _kinematics(q_child, acc_child, gyr_child, rate_hz, gravity_mps2)
    joint = -np.einsum("nij,nj->ni", rot_p, gamma_p @ y_parent)  # per metre of L, earth frame
    joint_c = np.einsum("nji,nj->ni", rot_c, joint)
    y, joint_c, gamma_c = _highpass(rate_hz, y, joint_c, gamma_c)
    design = np.concatenate([joint_c.reshape(-1, 1), gamma_c.reshape(-1, 3)], axis=1)
    x, *_ = np.linalg.lstsq(design, y.reshape(-1), rcond=None)
    return float(x[0])


def rotation_pivot(
    q: FloatArray, acc: FloatArray, gyr: FloatArray, rate_hz: float, gravity_mps2: float = 9.80665
) -> FloatArray:
    """Where a segment's sensor sits relative to the fixed point the segment turns about.

    A segment turning about a fixed point (a thigh about the hip while seated, an upper arm about the
    shoulder) gives its sensor at offset ``r`` from that point the specific force
    ``a = Rᵀ g_up + Γ(ω, ω̇) r`` (rigid-body kinematics, see the module notes), which is linear in ``r``.
    Both sides are high-pass filtered at 0.2 Hz first, so slow tilt errors of the orientation estimate
    and sensor biases drop out; what is left is the lever-arm signal of the movement itself.

    Parameters
    ----------
    q : ndarray, shape (N, 4)
        Orientation (w, x, y, z), sensor → ENU earth (6D is fine: only the tilt is used).
    acc : ndarray, shape (N, 3)
        Specific force [m/s²] in the sensor frame.
    gyr : ndarray, shape (N, 3)
        Angular rate [rad/s] in the sensor frame.
    rate_hz : float
        Sampling rate [Hz].
    gravity_mps2 : float
        Local gravity [m/s²].

    Returns
    -------
    ndarray, shape (3,)
        ``r``, the sensor's position minus the pivot's, in the sensor frame [m]. Meaningless when the
        segment barely turns (its size is then set by noise).
    """
    _, gamma, y = _kinematics(q, acc, gyr, rate_hz, gravity_mps2)
    y, gamma = _highpass(rate_hz, y, gamma)
    r, *_ = np.linalg.lstsq(gamma.reshape(-1, 3), y.reshape(-1), rcond=None)
    return np.asarray(r, dtype=np.float64)
