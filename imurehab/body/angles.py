"""Joint angles of hinge joints (knee, elbow) from two sensors' orientations, without a magnetometer.

Angles follow the ISB joint coordinate conventions (Grood & Suntay, J Biomech Eng 105, 1983; Wu et al.,
J Biomech 35, 2002 and 38, 2005): the child segment's rotation relative to the parent, decomposed as
intrinsic Z-X-Y Cardan angles — flexion/extension about the flexion axis z, ab/adduction about x,
axial rotation about y. Segment frames: x anterior, y along the segment toward proximal, z the flexion
axis. Signs: knee flexion positive when the shank's distal end moves posterior; elbow flexion positive
when the forearm's distal end moves anterior; 0° with the segments aligned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
from scipy.spatial.transform import Rotation

from imurehab.body.calibration import (
    HingeAxes,
    align_heading,
    estimate_hinge_axes,
    find_static_window,
    segment_frame,
)
from imurehab.errors import DataValidationError
from imurehab.quaternion import from_rotation, quat_conjugate, quat_multiply, to_rotation

__all__ = ["HINGE_JOINTS", "HingeJointAngles", "cardan_zxy_deg", "hinge_joint_angles"]

FloatArray = npt.NDArray[np.float64]
Pose = Literal["standing", "sitting"]


@dataclass(frozen=True)
class _HingeDef:
    parent: str
    child: str
    flexion_sign: float  # flexion = sign × (Z Cardan angle) with ISB frames (z pointing right)
    vertical_axis: dict[str, tuple[str, str]]  # pose → (parent's vertical axis, child's vertical axis)


HINGE_JOINTS: Final[dict[str, _HingeDef]] = {
    "knee": _HingeDef("thigh", "shank", -1.0, {"standing": ("y", "y"), "sitting": ("x", "y")}),
    "elbow": _HingeDef("upper_arm", "forearm", 1.0, {"standing": ("y", "y"), "sitting": ("y", "y")}),
}
"""Hinge joints: parent and child segment, the sign of flexion, and which axis is up per pose."""


@dataclass(frozen=True, eq=False)
class HingeJointAngles:
    """A hinge joint's angles over time, with what the calibration found.

    Attributes
    ----------
    flexion_deg, abduction_deg, rotation_deg : ndarray, shape (N,)
        Cardan angles [deg] (see the module notes for signs).
    axes : HingeAxes
        The estimated flexion axis in both sensor frames (signs as used).
    static_window : slice
        The samples used as the static calibration pose.
    off_axis_rms_deg : float
        RMS of abduction and rotation after removing their means [deg]: how far the estimated motion
        departs from a pure hinge. A quality figure of the calibration; a few degrees is normal.
    """

    flexion_deg: FloatArray
    abduction_deg: FloatArray
    rotation_deg: FloatArray
    axes: HingeAxes
    static_window: slice
    off_axis_rms_deg: float


def cardan_zxy_deg(q_parent_segment: FloatArray, q_child_segment: FloatArray) -> FloatArray:
    """Intrinsic Z-X-Y Cardan angles of the child segment relative to the parent [deg].

    Parameters
    ----------
    q_parent_segment, q_child_segment : ndarray, shape (N, 4)
        Segment orientations (w, x, y, z), segment → earth.

    Returns
    -------
    ndarray, shape (N, 3)
        Angles about z, x, y [deg], in that order.
    """
    q_rel = quat_multiply(quat_conjugate(q_parent_segment), q_child_segment)
    with np.errstate(invalid="ignore"):
        return np.asarray(to_rotation(q_rel).as_euler("ZXY", degrees=True), dtype=np.float64)


def _segment_quat(q_sensor: FloatArray, frame: FloatArray) -> FloatArray:
    return quat_multiply(q_sensor, from_rotation(Rotation.from_matrix(frame)))


def _angles_for(
    joint: _HingeDef,
    pose: str,
    q_parent: FloatArray,
    q_child: FloatArray,
    up_parent: FloatArray,
    up_child: FloatArray,
    j_parent: FloatArray,
    j_child: FloatArray,
    rate_hz: float,
) -> FloatArray:
    vp, vc = joint.vertical_axis[pose]
    q_parent_aligned = align_heading(q_parent, q_child, j_parent, j_child, rate_hz)
    seg_p = _segment_quat(q_parent_aligned, segment_frame(j_parent, up_parent, vp))
    seg_c = _segment_quat(q_child, segment_frame(j_child, up_child, vc))
    ang = cardan_zxy_deg(seg_p, seg_c)
    ang[:, 0] *= joint.flexion_sign
    return ang


def hinge_joint_angles(
    q_parent: FloatArray,
    q_child: FloatArray,
    gyr_parent: FloatArray,
    gyr_child: FloatArray,
    acc_parent: FloatArray,
    acc_child: FloatArray,
    rate_hz: float,
    *,
    joint: str = "knee",
    pose: Pose = "sitting",
) -> HingeJointAngles:
    """Calibrate a hinge joint from the recording itself and compute its angles.

    The recording must start with the subject still in ``pose`` for at least one second and contain
    movements about the joint (e.g. repetitions of the exercise).

    Parameters
    ----------
    q_parent, q_child : ndarray, shape (N, 4)
        Sensor orientations (w, x, y, z), sensor → ENU earth; 6D estimates are fine (headings unrelated).
    gyr_parent, gyr_child : ndarray, shape (N, 3)
        Angular rates [rad/s] on the same sample grid.
    acc_parent, acc_child : ndarray, shape (N, 3)
        Specific forces [m/s²] on the same sample grid.
    rate_hz : float
        Sampling rate [Hz].
    joint : {"knee", "elbow"}
        Which joint (see :data:`HINGE_JOINTS`).
    pose : {"sitting", "standing"}
        The calibration pose at the start: sitting means thigh horizontal and shank vertical; standing
        means upright segments. Arms hang at the sides in both.

    Returns
    -------
    HingeJointAngles
        Angles in degrees and calibration details.

    Notes
    -----
    The flexion axis has no sign of its own in the data; the pair of signs is chosen so that the motion
    is closest to a pure hinge (smallest off-axis angles), then the overall sign so that flexion is on
    average positive — true of knees and elbows, which rest in and move through flexion.
    """
    if joint not in HINGE_JOINTS:
        raise DataValidationError(f"unknown hinge joint {joint!r}; expected one of {sorted(HINGE_JOINTS)}")
    jdef = HINGE_JOINTS[joint]
    if pose not in jdef.vertical_axis:
        raise DataValidationError(f"unknown calibration pose {pose!r}; expected 'sitting' or 'standing'")
    n = len(q_parent)
    for name, arr, cols in (
        ("q_child", q_child, 4),
        ("gyr_parent", gyr_parent, 3),
        ("gyr_child", gyr_child, 3),
        ("acc_parent", acc_parent, 3),
        ("acc_child", acc_child, 3),
    ):
        if np.shape(arr) != (n, cols):
            raise DataValidationError(f"must have shape ({n}, {cols}), got {np.shape(arr)}", column=name)
    static = find_static_window([gyr_parent, gyr_child], rate_hz, search_s=30.0)
    up_p = acc_parent[static].mean(axis=0)
    up_c = acc_child[static].mean(axis=0)
    axes = estimate_hinge_axes(gyr_parent, gyr_child, q_parent, q_child)

    best: tuple[float, FloatArray, FloatArray] | None = None
    child_signs = (1.0,) if axes.method == "static-parent" else (1.0, -1.0)
    for s in child_signs:
        jp, jc = axes.parent, s * axes.child
        ang = _angles_for(jdef, pose, q_parent, q_child, up_p, up_c, jp, jc, rate_hz)
        off = float(np.sqrt(np.mean((ang[:, 1:] - ang[:, 1:].mean(axis=0)) ** 2)))
        if best is None or off < best[0]:
            best = (off, ang, jc)
    assert best is not None
    off, ang, jc = best
    jp = axes.parent
    if np.mean(ang[:, 0]) < 0:
        jp, jc = -jp, -jc
        ang = _angles_for(jdef, pose, q_parent, q_child, up_p, up_c, jp, jc, rate_hz)
    used = HingeAxes(jp, jc, axes.residual_rad_s, axes.method)
    return HingeJointAngles(ang[:, 0], ang[:, 1], ang[:, 2], used, static, off)
