"""Sensor-to-segment calibration for hinge joints (knee, elbow) that works without a magnetometer.

Three steps, each a pure function:

1. :func:`find_static_window` — a stretch where both sensors rest; the gravity direction in each sensor
   then gives one anatomical axis per segment, given the calibration pose (standing or sitting).
2. :func:`estimate_hinge_axes` — the joint's flexion axis in each sensor frame from the movement itself.
   When both segments move, the gyroscope-only method of Seel, Raisch & Schauer ("IMU-based joint angle
   measurement for gait analysis", Sensors 14(4), 2014) is used: for a hinge, the angular rates of the
   two segments projected off the axis have equal norms, ``|ω₁ × j₁| = |ω₂ × j₂|``. When the parent
   segment is (nearly) still, as in a seated knee extension, that equation cannot identify ``j₁``; the
   axis is then the principal axis of the child's angular rate relative to the parent, with the heading
   offset between the two 6D estimates chosen to make that relative rate most hinge-like.
3. :func:`align_heading` — 6D orientation estimates of two sensors have unrelated headings. The hinge
   axis is one physical line, so its directions seen from both segments must agree in the earth frame;
   the rotation about the vertical that best makes them agree (in a sliding window, to follow slow drift)
   is applied to the parent's orientation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy.ndimage import uniform_filter1d
from scipy.optimize import least_squares, minimize_scalar

from imurehab.body._hinge_kernel import axis_agreement
from imurehab.errors import DataValidationError
from imurehab.quaternion import quat_conjugate, quat_from_axis_angle, quat_multiply, quat_rotate

__all__ = [
    "HingeAxes",
    "align_heading",
    "estimate_hinge_axes",
    "find_static_window",
    "heading_difference_9d",
    "heading_offset",
    "most_active_window",
    "segment_frame",
]

FloatArray = npt.NDArray[np.float64]

_REST_GYR_RADS: Final[float] = 0.15  # below this angular rate norm a limb counts as still
_MOVING_GYR_RADS: Final[float] = 0.3  # parent must exceed this (RMS) for the gyro-only axis method
_MAX_FIT_SAMPLES: Final[int] = 4000
# Planar movement (both segments turning about one axis each, as in squats and heel slides) leaves the
# gyro-only fit a family of axis pairs tilted alike that fit equally well; the principal axes of the two
# angular rates pick the member the movement itself turns about, when both segments' rates are that
# planar (second singular value below this fraction of the first) and they fit nearly as well (residual
# within _PLANAR_RESIDUAL times the best fit's, or below _PLANAR_RESIDUAL_FLOOR of the child's RMS rate:
# gyro scale and cross-axis errors of 1–2 % alone leave that much).
_PLANAR_RATIO: Final[float] = 0.2
_PLANAR_RESIDUAL: Final[float] = 1.5
_PLANAR_RESIDUAL_FLOOR: Final[float] = 0.02
# A hinge axis is one physical line: its inclination seen through the parent's and the child's orientation
# must agree at every sample (heading plays no part). The gyro-only fit only matches rate magnitudes and,
# when the knee also caves in (valgus during a squat), can land on a child axis 30–90° off that fails this
# check. The fit on the relative angular rate then replaces it when the gyro-only pair's inclinations
# disagree by more than _INCLINATION_MISMATCH (RMS of the difference of the axis's earth-up components,
# ≈ 1.7°) and the relative-rate pair's by less than _INCLINATION_GAIN of that.
_INCLINATION_MISMATCH: Final[float] = 0.03
_INCLINATION_GAIN: Final[float] = 0.5


@dataclass(frozen=True)
class HingeAxes:
    """A hinge joint's flexion axis in the parent's and the child's sensor frames.

    Attributes
    ----------
    parent : ndarray, shape (3,)
        Unit axis in the parent sensor's frame.
    child : ndarray, shape (3,)
        Unit axis in the child sensor's frame.
    residual_rad_s : float
        RMS residual of the fit [rad/s]: how far the movement departs from a pure hinge (lower is better).
    method : str
        ``"seel2014"`` (gyro-only, both segments moving), ``"seel2014+principal"`` (a planar movement:
        the principal axes of the two angular rates, from the family of equally good gyro-only fits) or
        ``"relative-rate"`` (parent nearly still, or the gyro-only pair fails the inclination check).
    """

    parent: FloatArray
    child: FloatArray
    residual_rad_s: float
    method: str


def most_active_window(gyr: FloatArray, rate_hz: float, seconds: float = 180.0) -> slice:
    """The ``seconds`` in which a sensor turns most (the whole recording if shorter).

    Windows start every tenth of their length; "most" is the largest sum of squared angular rates.

    Parameters
    ----------
    gyr : ndarray, shape (N, 3)
        Angular rates [rad/s].
    rate_hz : float
        Sampling rate [Hz].
    seconds : float
        Window length [s].

    Examples
    --------
    >>> g = np.zeros((1000, 3)); g[700:900, 0] = 1.0
    >>> most_active_window(g, 100.0, seconds=2.0)
    slice(700, 900, None)
    """
    n, m = len(gyr), int(seconds * rate_hz)
    if n <= m:
        return slice(0, n)
    energy = np.cumsum(np.concatenate([[0.0], np.sum(gyr**2, axis=1)]))
    starts = np.arange(0, n - m + 1, max(1, m // 10))
    best = int(starts[np.argmax(energy[starts + m] - energy[starts])])
    return slice(best, best + m)


def find_static_window(
    gyrs: list[FloatArray], rate_hz: float, *, min_duration_s: float = 1.0, search_s: float | None = None
) -> slice:
    """First window in which every sensor rests.

    Parameters
    ----------
    gyrs : list of ndarray, shape (N, 3)
        Angular rates of the sensors [rad/s], on a common sample grid.
    rate_hz : float
        Sampling rate [Hz].
    min_duration_s : float
        Shortest acceptable window [s].
    search_s : float, optional
        Search only the first ``search_s`` seconds.

    Returns
    -------
    slice
        Sample range of the first window of ``min_duration_s`` in which every sensor's angular rate,
        smoothed over 0.2 s, stays below 0.15 rad/s.

    Raises
    ------
    DataValidationError
        If no such window exists.
    """
    n = min(len(g) for g in gyrs)
    if search_s is not None:
        n = min(n, int(search_s * rate_hz))
    width = max(1, int(0.2 * rate_hz))
    still = np.ones(n, dtype=bool)
    for g in gyrs:
        still &= uniform_filter1d(np.linalg.norm(g[:n], axis=1), width, mode="nearest") < _REST_GYR_RADS
    need = max(1, int(min_duration_s * rate_hz))
    run = np.convolve(still.astype(np.int64), np.ones(need, dtype=np.int64), mode="valid")
    hits = np.flatnonzero(run == need)
    if hits.size == 0:
        raise DataValidationError(
            f"no {min_duration_s:g} s window where all sensors rest; a static calibration pose is needed "
            "at the start of the session"
        )
    start = int(hits[0])
    return slice(start, start + need)


def _axis(theta: float, phi: float) -> FloatArray:
    return np.array([np.cos(phi) * np.cos(theta), np.cos(phi) * np.sin(theta), np.sin(phi)])


def _principal_axis(w: FloatArray) -> FloatArray:
    _, _, vt = np.linalg.svd(w, full_matrices=False)
    return np.asarray(vt[0], dtype=np.float64)


def _relative_rate_axes(
    g1: FloatArray, g2: FloatArray, q1: FloatArray, q2: FloatArray
) -> tuple[FloatArray, FloatArray, float]:
    """Hinge axes when the parent barely moves, from the child's rate relative to the parent.

    For a hinge, ``ω₂ − R₂ᵀ H(δ) R₁ ω₁`` is parallel to the axis in the child frame, where ``H(δ)`` is the
    unknown heading offset between two 6D estimates. The offset is found by a grid search then a bounded
    refinement of the off-axis residual; where the parent is entirely still every offset fits equally
    and the parent's small motion, if any, decides.
    """
    up = np.array([0.0, 0.0, 1.0])

    def fit(delta: float) -> tuple[float, FloatArray, FloatArray]:
        q_pc = quat_multiply(quat_conjugate(q2), quat_multiply(quat_from_axis_angle(up, delta), q1))
        w_rel = g2 - quat_rotate(q_pc, g1)
        j2 = _principal_axis(w_rel)
        resid = float(np.sqrt(np.mean(np.sum(np.cross(w_rel, j2) ** 2, axis=1))))
        return resid, j2, q_pc

    grid = np.radians(np.arange(0.0, 360.0, 10.0))
    d0 = float(grid[int(np.argmin([fit(d)[0] for d in grid]))])
    best = minimize_scalar(lambda d: fit(d)[0], bounds=(d0 - 0.2, d0 + 0.2), method="bounded")
    resid, j2, q_pc = fit(float(best.x))
    j1_all = quat_rotate(quat_conjugate(q_pc), j2)
    j1 = j1_all.mean(axis=0)
    return j1 / np.linalg.norm(j1), j2, resid


def estimate_hinge_axes(
    gyr_parent: FloatArray, gyr_child: FloatArray, q_parent: FloatArray, q_child: FloatArray
) -> HingeAxes:
    """Estimate a hinge joint's axis in both sensor frames from a movement about it.

    Parameters
    ----------
    gyr_parent, gyr_child : ndarray, shape (N, 3)
        Angular rates of the parent and child sensors [rad/s], same sample grid.
    q_parent, q_child : ndarray, shape (N, 4)
        Orientation estimates (w, x, y, z), sensor → earth; 6D estimates are fine.

    Returns
    -------
    HingeAxes
        The axes, each with an arbitrary sign (fixed later by :func:`segment_frame` users).

    Raises
    ------
    DataValidationError
        If the child barely moves: nothing identifies the axis.
    """
    moving = np.linalg.norm(gyr_child, axis=1) > _MOVING_GYR_RADS
    if moving.sum() < 20:
        raise DataValidationError("the joint barely moves: its hinge axis cannot be estimated")
    idx = np.flatnonzero(moving)
    if idx.size > _MAX_FIT_SAMPLES:
        idx = idx[np.linspace(0, idx.size - 1, _MAX_FIT_SAMPLES).astype(np.int64)]
    g1, g2 = gyr_parent[idx], gyr_child[idx]
    parent_rms = float(np.sqrt(np.mean(np.sum(g1**2, axis=1))))
    if parent_rms < _MOVING_GYR_RADS:
        j1, j2, rms = _relative_rate_axes(g1, g2, q_parent[idx], q_child[idx])
        return HingeAxes(j1, j2, rms, "relative-rate")

    def residuals(p: FloatArray) -> FloatArray:
        j1 = _axis(p[0], p[1])
        j2 = _axis(p[2], p[3])
        return np.linalg.norm(np.cross(g1, j1), axis=1) - np.linalg.norm(np.cross(g2, j2), axis=1)

    best = None
    # A few deterministic starting points: the cost has local minima (Seel et al. 2014, §2.2).
    for start in ((0.0, 0.0), (np.pi / 2, 0.0), (0.0, np.pi / 2), (np.pi / 4, np.pi / 4)):
        for start2 in ((0.0, 0.0), (np.pi / 2, 0.0), (0.0, np.pi / 2)):
            fit = least_squares(residuals, np.array([*start, *start2]), method="lm")
            if best is None or fit.cost < best.cost:
                best = fit
    assert best is not None
    rms = float(np.sqrt(2.0 * best.cost / idx.size))
    j1, j2 = _axis(best.x[0], best.x[1]), _axis(best.x[2], best.x[3])
    planar = _planar_axes(g1, g2, j1, j2, rms)
    if planar is not None:
        return HingeAxes(planar[0], planar[1], planar[2], "seel2014+principal")
    q1, q2 = q_parent[idx], q_child[idx]
    mismatch = _inclination_mismatch(q1, q2, j1, j2)
    if mismatch > _INCLINATION_MISMATCH:
        r1, r2, r_rms = _relative_rate_axes(g1, g2, q1, q2)
        if _inclination_mismatch(q1, q2, r1, r2) < _INCLINATION_GAIN * mismatch:
            return HingeAxes(r1, r2, r_rms, "relative-rate")
    return HingeAxes(j1, j2, rms, "seel2014")


def _inclination_mismatch(q1: FloatArray, q2: FloatArray, j1: FloatArray, j2: FloatArray) -> float:
    """RMS difference of the axis's earth-up component seen from both segments (best of the two signs)."""
    a, b = quat_rotate(q1, j1)[:, 2], quat_rotate(q2, j2)[:, 2]
    return float(min(np.sqrt(np.mean((a - b) ** 2)), np.sqrt(np.mean((a + b) ** 2))))


def _planar_axes(
    g1: FloatArray, g2: FloatArray, j1: FloatArray, j2: FloatArray, rms: float
) -> tuple[FloatArray, FloatArray, float] | None:
    """The principal axes of both angular rates, if the movement is planar and they fit (else None)."""
    axes = []
    for g, j in ((g1, j1), (g2, j2)):
        _, sv, vt = np.linalg.svd(g, full_matrices=False)
        if sv[1] > _PLANAR_RATIO * sv[0]:
            return None
        a = vt[0] if vt[0] @ j >= 0 else -vt[0]
        axes.append(np.asarray(a, dtype=np.float64))
    resid = np.linalg.norm(np.cross(g1, axes[0]), axis=1) - np.linalg.norm(np.cross(g2, axes[1]), axis=1)
    planar_rms = float(np.sqrt(np.mean(resid**2)))
    floor = _PLANAR_RESIDUAL_FLOOR * float(np.sqrt(np.mean(np.sum(g2**2, axis=1))))
    if planar_rms > max(_PLANAR_RESIDUAL * rms, floor):
        return None
    return axes[0], axes[1], planar_rms


def segment_frame(hinge_axis: FloatArray, up_in_sensor: FloatArray, vertical_axis: str) -> FloatArray:
    """Rotation from a segment's anatomical frame to its sensor's frame.

    Segment frames follow ISB: x anterior, y along the segment toward proximal, z the flexion axis.

    Parameters
    ----------
    hinge_axis : ndarray, shape (3,)
        The flexion axis in the sensor frame (becomes the segment's z).
    up_in_sensor : ndarray, shape (3,)
        Direction of earth-up in the sensor frame during the calibration pose (mean specific force).
    vertical_axis : {"y", "x"}
        Which anatomical axis points up in the calibration pose: ``"y"`` for a segment upright (standing;
        the shank when sitting), ``"x"`` for a horizontal segment facing up (the thigh when sitting).

    Returns
    -------
    ndarray, shape (3, 3)
        Matrix whose columns are the segment's x, y, z axes in sensor coordinates: it maps segment-frame
        vectors to sensor-frame vectors.
    """
    z = np.asarray(hinge_axis, dtype=np.float64)
    z = z / np.linalg.norm(z)
    v = np.asarray(up_in_sensor, dtype=np.float64)
    v = v - np.dot(v, z) * z
    if np.linalg.norm(v) < 1e-6:
        raise DataValidationError("the hinge axis is vertical in the calibration pose; pick another pose")
    v = v / np.linalg.norm(v)
    if vertical_axis == "y":
        y = v
        x = np.cross(y, z)
    elif vertical_axis == "x":
        x = v
        y = np.cross(z, x)
    else:
        raise DataValidationError(f"vertical_axis must be 'x' or 'y', got {vertical_axis!r}")
    return np.column_stack([x, y, z])


def heading_offset(
    q_parent: FloatArray,
    q_child: FloatArray,
    axis_parent: FloatArray,
    axis_child: FloatArray,
    rate_hz: float,
    *,
    window_s: float = 20.0,
) -> FloatArray:
    """Rotation about earth-up that makes the parent's view of the hinge axis agree with the child's.

    Parameters
    ----------
    q_parent, q_child : ndarray, shape (N, 4)
        Orientations (w, x, y, z), sensor → ENU earth, e.g. from 6D fusion.
    axis_parent, axis_child : ndarray, shape (3,)
        The hinge axis in each sensor frame, signs consistent (same physical direction).
    rate_hz : float
        Sampling rate [Hz].
    window_s : float
        Length of the sliding window over which the heading offset is taken as constant [s].

    Returns
    -------
    ndarray, shape (N,)
        Heading offset per sample [rad]; turning the parent's orientation by it about earth-up aligns it.

    Notes
    -----
    With ``a`` and ``b`` the horizontal components of the axis in the earth frame seen from the parent and
    the child, the least-squares offset is ``atan2(Σ (a × b)_z, Σ a · b)``. Horizontal components weight
    themselves: when the axis points up, heading is unobservable and contributes nothing.
    """
    q_parent = np.ascontiguousarray(q_parent, dtype=np.float64)
    cross, dot = np.empty(len(q_parent)), np.empty(len(q_parent))
    axis_agreement(
        q_parent,
        np.ascontiguousarray(q_child, dtype=np.float64),
        np.asarray(axis_parent, dtype=np.float64).reshape(3),
        np.asarray(axis_child, dtype=np.float64).reshape(3),
        cross,
        dot,
    )
    width = max(1, int(window_s * rate_hz))
    if width >= len(dot):
        cross_s = np.full(len(dot), cross.sum())
        dot_s = np.full(len(dot), dot.sum())
    else:
        cross_s = uniform_filter1d(cross, width, mode="nearest")
        dot_s = uniform_filter1d(dot, width, mode="nearest")
    return np.arctan2(cross_s, dot_s)


def align_heading(q_parent: FloatArray, delta_rad: FloatArray) -> FloatArray:
    """Turn orientations about earth-up.

    Parameters
    ----------
    q_parent : ndarray, shape (N, 4)
        Orientations (w, x, y, z), sensor → ENU earth.
    delta_rad : ndarray, shape (N,) or float
        Heading offset [rad] (see :func:`heading_offset`).

    Returns
    -------
    ndarray, shape (N, 4)
        ``H(δ) ⊗ q``, where ``H(δ)`` turns by ``δ`` about earth-up.
    """
    turn = quat_from_axis_angle(np.array([0.0, 0.0, 1.0]), np.asarray(delta_rad, dtype=np.float64))
    return quat_multiply(turn, q_parent)


def heading_difference_9d(
    q6_parent: FloatArray, q9_parent: FloatArray, q6_child: FloatArray, q9_child: FloatArray
) -> float:
    """The heading offset between two sensors' 6D estimates, as their magnetometers see it.

    Parameters
    ----------
    q6_parent, q9_parent, q6_child, q9_child : ndarray, shape (N, 4)
        6D and 9D orientations (w, x, y, z), sensor → ENU earth, on one sample grid.

    Returns
    -------
    float
        The offset [rad] that :func:`align_heading` would apply to the parent (circular mean over the
        recording). Magnetic disturbances bias it by tens of degrees at worst, so it serves to choose
        between hinge solutions that differ by 180°, not to measure angles.
    """

    def yaw(q9: FloatArray, q6: FloatArray) -> FloatArray:
        d = quat_multiply(q9, quat_conjugate(q6))
        return 2.0 * np.arctan2(d[:, 3], d[:, 0])

    diff = yaw(q9_parent, q6_parent) - yaw(q9_child, q6_child)
    return float(np.arctan2(np.mean(np.sin(diff)), np.mean(np.cos(diff))))
