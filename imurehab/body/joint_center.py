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

from imurehab.quaternion import quat_rotate

__all__ = ["joint_center_mismatch"]

FloatArray = npt.NDArray[np.float64]

_MAX_OFFSET_M: Final[float] = 0.8  # no body-worn sensor sits further than this from the knee or elbow
_SMOOTH_S: Final[float] = 0.05  # gyro smoothing before differentiating


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
