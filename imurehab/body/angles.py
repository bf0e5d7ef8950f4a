"""Joint angles of hinge joints (knee, elbow) from two sensors' orientations, without a magnetometer.

Angles follow the ISB joint coordinate conventions (Grood & Suntay, J Biomech Eng 105, 1983; Wu et al.,
J Biomech 35, 2002 and 38, 2005): the child segment's rotation relative to the parent, decomposed as
intrinsic Z-X-Y Cardan angles — flexion/extension about the flexion axis z, ab/adduction about x,
axial rotation about y. Segment frames: x anterior, y along the segment toward proximal, z the flexion
axis. Signs: knee flexion positive when the shank's distal end moves posterior; elbow flexion positive
when the forearm's distal end moves anterior; 0° with the segments aligned.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from imurehab._quat_kernel import relative_cardan_zxy_deg
from imurehab.body._hinge_kernel import hinge_cardan_deg
from imurehab.body.calibration import (
    HingeAxes,
    estimate_hinge_axes,
    find_static_window,
    heading_offset,
    most_active_window,
    segment_frame,
)
from imurehab.body.joint_center import distal_joint_lever, joint_center_mismatch, rotation_pivot
from imurehab.errors import DataValidationError
from imurehab.quaternion import quat_from_matrix

__all__ = ["HINGE_JOINTS", "HingeJointAngles", "cardan_zxy_deg", "hinge_joint_angles"]

FloatArray = npt.NDArray[np.float64]
Pose = Literal["standing", "sitting", "supine"]

# Solutions whose flexion stays this close to the physiological range are all plausible; if two of them
# differ by more than _DISTINCT_DEG somewhere, the data alone cannot tell which is right.
_IN_RANGE_DEG: Final[float] = 1.0
_DISTINCT_DEG: Final[float] = 2.0
# The joint-centre check decides only when one solution's mismatch is well below the other's.
_DECISIVE_RATIO: Final[float] = 0.7
# The parent's pivot decides when it lies clearly on one side of the sensor along the long axis: a
# thigh or upper-arm sensor sits 5–30 cm from the hip or shoulder.
_MIN_PIVOT_M: Final[float] = 0.05


@dataclass(frozen=True)
class _HingeDef:
    parent: str
    child: str
    flexion_sign: float  # flexion = sign × (Z Cardan angle) with ISB frames (z pointing right)
    flexion_range_deg: tuple[float, float]  # physiologically possible flexion, with a margin
    vertical_axis: dict[str, tuple[str, str]]  # pose → (parent's vertical axis, child's vertical axis)


HINGE_JOINTS: Final[dict[str, _HingeDef]] = {
    # Normal active ranges: knee 0–135°, elbow 0–150° (AAOS, Greene & Heckman 1994); margins for
    # hyperextension and for estimation error.
    "knee": _HingeDef(
        "thigh",
        "shank",
        -1.0,
        (-25.0, 170.0),
        {"standing": ("y", "y"), "sitting": ("x", "y"), "supine": ("x", "x")},
    ),
    "elbow": _HingeDef(
        "upper_arm", "forearm", 1.0, (-25.0, 170.0), {"standing": ("y", "y"), "sitting": ("y", "y")}
    ),
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
    heading : str
        How the heading between the two 6D estimates was settled: ``"hinge"`` (the rotations alone
        decided), ``"magnetometer"`` (the 9D headings chose between solutions 180° apart),
        ``"lever-arms"`` (only one solution has the parent turning about its proximal end and the
        joint distal of that pivot), ``"joint-center"`` (the joint centre's accelerations, seen from
        both segments, chose) or
        ``"ambiguous"`` (two solutions fit equally; flexion may be off by twice the parent's rotation).
    frame_parent, frame_child : ndarray, shape (3, 3)
        Segment axes (columns x, y, z) in each sensor's frame, as used.
    """

    flexion_deg: FloatArray
    abduction_deg: FloatArray
    rotation_deg: FloatArray
    axes: HingeAxes
    static_window: slice
    off_axis_rms_deg: float
    heading: str
    frame_parent: FloatArray | None = None
    frame_child: FloatArray | None = None


def cardan_zxy_deg(q_parent_segment: FloatArray, q_child_segment: FloatArray) -> FloatArray:
    """Intrinsic Z-X-Y Cardan angles of the child segment relative to the parent [deg].

    Parameters
    ----------
    q_parent_segment, q_child_segment : ndarray, shape (N, 4)
        Segment orientations (w, x, y, z), segment → earth.

    Returns
    -------
    ndarray, shape (N, 3)
        Angles about z, x, y [deg], in that order: the first and third in [-180, 180), the second in
        [-90, 90]. At gimbal lock (second angle ±90°) the third is set to zero, with a warning.
    """
    q_p, q_c = np.broadcast_arrays(
        np.asarray(q_parent_segment, dtype=np.float64), np.asarray(q_child_segment, dtype=np.float64)
    )
    shape = q_p.shape[:-1]
    q_p, q_c = (np.ascontiguousarray(q.reshape(-1, 4)) for q in (q_p, q_c))
    out = np.empty((len(q_p), 3))
    _warn_gimbal_lock(relative_cardan_zxy_deg(q_p, q_c, out))
    return out.reshape((*shape, 3))


def _warn_gimbal_lock(locked: int) -> None:
    if locked:
        warnings.warn(
            f"gimbal lock at {locked} sample(s): the third Cardan angle is set to zero there",
            RuntimeWarning,
            stacklevel=3,
        )


def _frame_quat(frame: FloatArray) -> FloatArray:
    """The rotation of a segment frame matrix (columns: segment axes in sensor coordinates)."""
    return np.ascontiguousarray(quat_from_matrix(frame), dtype=np.float64)


@dataclass(frozen=True, eq=False)
class _Candidate:
    ang: FloatArray
    delta: FloatArray
    q_parent: FloatArray
    frame_parent: FloatArray
    frame_child: FloatArray
    jp: FloatArray
    jc: FloatArray


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
) -> _Candidate:
    vp, vc = joint.vertical_axis[pose]
    q_parent = np.ascontiguousarray(q_parent, dtype=np.float64)
    q_child = np.ascontiguousarray(q_child, dtype=np.float64)
    delta = heading_offset(q_parent, q_child, j_parent, j_child, rate_hz)
    frame_p = segment_frame(j_parent, up_parent, vp)
    frame_c = segment_frame(j_child, up_child, vc)
    # One compiled pass: align_heading(q_parent, delta), both segment orientations, cardan_zxy_deg.
    q_aligned, ang = np.empty_like(q_parent), np.empty((len(q_parent), 3))
    _warn_gimbal_lock(
        hinge_cardan_deg(
            q_parent,
            q_child,
            delta,
            _frame_quat(frame_p),
            _frame_quat(frame_c),
            joint.flexion_sign,
            q_aligned,
            ang,
        )
    )
    return _Candidate(ang, delta, q_aligned, frame_p, frame_c, j_parent, j_child)


_DECISION_S: Final[float] = 180.0


def _wrapped_deg(a: FloatArray) -> FloatArray:
    return np.degrees(np.abs(np.angle(np.exp(1j * a))))


def _choose_by_joint_center(
    plausible: list[tuple[float, float, _Candidate]],
    acc_parent: FloatArray,
    gyr_parent: FloatArray,
    acc_child: FloatArray,
    gyr_child: FloatArray,
    q_child: FloatArray,
    rate_hz: float,
) -> tuple[_Candidate, str]:
    """Pick among plausible solutions by the joint-centre check; say "ambiguous" when it cannot tell."""
    by_fit = sorted(plausible, key=lambda x: x[1])
    best = by_fit[0][2]
    distinct = [x[2] for x in by_fit[1:] if np.max(np.abs(x[2].ang[:, 0] - best.ang[:, 0])) > _DISTINCT_DEG]
    if not distinct:
        return best, "hinge"
    groups = [best, *distinct]
    mismatch = [
        joint_center_mismatch(
            c.q_parent,
            q_child,
            acc_parent,
            gyr_parent,
            acc_child,
            gyr_child,
            c.frame_parent[:, 1],
            c.frame_child[:, 1],
            rate_hz,
        )[0]
        for c in groups
    ]
    order = np.argsort(mismatch)
    if mismatch[order[0]] < _DECISIVE_RATIO * mismatch[order[1]]:
        return groups[int(order[0])], "joint-center"
    return best, "ambiguous"


def _choose_by_lever_arms(
    plausible: list[tuple[float, float, _Candidate]],
    acc_parent: FloatArray,
    gyr_parent: FloatArray,
    q_parent: FloatArray,
    acc_child: FloatArray,
    gyr_child: FloatArray,
    q_child: FloatArray,
    rate_hz: float,
) -> _Candidate | None:
    """Pick the solution whose lever arms are anatomical, if one is clearly better.

    Two distances along the parent's long axis must come out positive for the right solution: how far
    the parent's sensor sits distal of the pivot the parent turns about (:func:`rotation_pivot`: the hip
    for a thigh, the shoulder for an upper arm), and how far the joint lies distal of that pivot as the
    child's accelerations see it (:func:`distal_joint_lever`). A solution 180° off in heading, or with
    the parent's axis reversed, makes one of them negative or small. Their sum scores each solution
    (each clipped to ±1 m: beyond that the fit is noise); the best must beat every distinct other one
    by :data:`_MIN_PIVOT_M` twice over.
    """
    r = rotation_pivot(q_parent, acc_parent, gyr_parent, rate_hz)
    scored = []
    for _, _, c in plausible:
        y = c.frame_parent[:, 1]
        lever = distal_joint_lever(
            c.q_parent, acc_parent, gyr_parent, y, q_child, acc_child, gyr_child, rate_hz
        )
        scored.append((float(np.clip(-r @ y, -1.0, 1.0) + np.clip(lever, -1.0, 1.0)), c))
    scored.sort(key=lambda x: -x[0])
    top = scored[0]
    rest = [x for x in scored[1:] if np.max(np.abs(x[1].ang[:, 0] - top[1].ang[:, 0])) > _DISTINCT_DEG]
    if all(top[0] - x[0] >= 2 * _MIN_PIVOT_M for x in rest):
        return top[1]
    return None


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
    heading_hint_rad: float | None = None,
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
    heading_hint_rad : float, optional
        Heading offset between the two 6D estimates as magnetometers see it
        (:func:`~imurehab.body.calibration.heading_difference_9d`) [rad]; used only to choose between
        solutions 180° apart, so magnetic disturbance of tens of degrees does no harm.

    Returns
    -------
    HingeJointAngles
        Angles in degrees and calibration details.

    Notes
    -----
    The flexion axis has no sign of its own in the data; of the four sign pairs, the one is kept whose
    motion is closest to a pure hinge (smallest off-axis angles) and stays inside the joint's
    physiological flexion range — a knee or elbow cannot flex to 180° or hyperextend by 90°. When the
    parent segment turns only about the hinge, two solutions with headings 180° apart fit equally;
    ``heading_hint_rad`` then decides, and without it the result says ``heading="ambiguous"``.
    """
    if joint not in HINGE_JOINTS:
        raise DataValidationError(f"unknown hinge joint {joint!r}; expected one of {sorted(HINGE_JOINTS)}")
    jdef = HINGE_JOINTS[joint]
    if pose not in jdef.vertical_axis:
        raise DataValidationError(
            f"calibration pose {pose!r} is not supported for the {joint}; "
            f"expected one of {sorted(jdef.vertical_axis)}"
        )
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

    # The flexion axis has no sign in the data: try the four sign pairs. Pairs that differ in the child's
    # sign give heading offsets 180° apart; when the parent turns only about the hinge both fit the
    # rotations equally, and only the magnetometer, the parent's pivot or the joint centre's accelerations
    # tell them apart. The choice is one per session: it is made on the few minutes in which the child
    # moves most (as good as an hour, and cheap), then the chosen solution is computed over everything.
    w = most_active_window(gyr_child, rate_hz, _DECISION_S)
    qp, qc, ap, gp, ac, gc = q_parent[w], q_child[w], acc_parent[w], gyr_parent[w], acc_child[w], gyr_child[w]
    lo, hi = jdef.flexion_range_deg
    cands = []
    for sp, sc in ((1.0, 1.0), (-1.0, -1.0), (1.0, -1.0), (-1.0, 1.0)):
        c = _angles_for(jdef, pose, qp, qc, up_p, up_c, sp * axes.parent, sc * axes.child, rate_hz)
        outside = np.clip(lo - c.ang[:, 0], 0, None) + np.clip(c.ang[:, 0] - hi, 0, None)
        off = float(np.sqrt(np.mean((c.ang[:, 1:] - c.ang[:, 1:].mean(axis=0)) ** 2)))
        cands.append((float(np.sqrt(np.mean(outside**2))), off, c))
    plausible = [x for x in cands if x[0] < _IN_RANGE_DEG] or [min(cands, key=lambda x: x[0] + x[1])]
    if heading_hint_rad is not None:
        chosen = min(
            plausible,
            key=lambda x: (float(np.mean(_wrapped_deg(x[2].delta - heading_hint_rad))) > 90.0, x[1]),
        )[2]
        heading = "magnetometer"
    elif (by_lever := _choose_by_lever_arms(plausible, ap, gp, qp, ac, gc, qc, rate_hz)) is not None:
        chosen, heading = by_lever, "lever-arms"
    else:
        chosen, heading = _choose_by_joint_center(plausible, ap, gp, ac, gc, qc, rate_hz)
    if w != slice(0, len(q_parent)):
        chosen = _angles_for(jdef, pose, q_parent, q_child, up_p, up_c, chosen.jp, chosen.jc, rate_hz)
    ang, jp, jc = chosen.ang, chosen.jp, chosen.jc
    off = float(np.sqrt(np.mean((ang[:, 1:] - ang[:, 1:].mean(axis=0)) ** 2)))
    used = HingeAxes(jp, jc, axes.residual_rad_s, axes.method)
    return HingeJointAngles(
        ang[:, 0], ang[:, 1], ang[:, 2], used, static, off, heading, chosen.frame_parent, chosen.frame_child
    )
