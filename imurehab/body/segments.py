"""Joint angles of any instrumented joint from a static pose and the exercise's own movement (6D).

For joints that are not hinges (shoulder, hip, lumbar spine, ankle) no joint constraint ties two
sensors' headings together, so the calibration combines three things, each measured, none assumed
about where the sensor sits on the segment:

1. **Static pose** — a window at the start in which both segments rest; gravity gives one anatomical
   axis of each segment in its sensor frame. Which one depends on the pose: standing or sitting, the
   long axis ``y`` of the trunk, pelvis, arms and shank points up; sitting, the thigh's anterior axis
   ``x`` points up; lying on the back (``"supine"``), every trunk and leg segment's ``x`` points up.
2. **Functional axis** — the axis the moving (child) segment turns about during the exercise, the
   principal axis of its angular rate in its sensor frame: the mediolateral axis ``z`` for a flexion
   (straight-leg raise, shoulder flexion, lumbar flexion), the anterior axis ``x`` for an abduction
   in the frontal plane (shoulder abduction). With the gravity axis it fixes the child's frame.
3. **Heading between the two 6D estimates** — when the parent turns as well (the pelvis in a forward
   bend), it turns about the same anatomical axis as the child: its own principal axis ties the two
   headings together as a hinge axis does (:func:`~imurehab.body.calibration.heading_offset`). When the
   parent stays still, the heading between them is not observable without a magnetometer; the
   parent's horizontal axes are then set so that the child's functional axis, at the static pose, is
   the parent's axis of the same name: the exercise is done in the parent's sagittal (or frontal)
   plane by definition. Angles that do not depend on it (shoulder elevation, the flexion of a joint
   whose parent stays upright) come out the same whatever it is; the plane of elevation and axial
   rotations are reported relative to it.

The sign of the functional axis is chosen so that the exercise's angle moves the way the exercise
template says (e.g. shoulder elevation increases). Angles follow the ISB conventions of
:mod:`imurehab.simulate.joints` (Z-X-Y Cardan angles; the shoulder in Y-X-Y: elevation, plane of
elevation, axial rotation; Wu et al., J Biomech 35, 2002 and 38, 2005), the one definition the whole
project uses, so estimates and simulated truth mean the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from imurehab.body.calibration import align_heading, find_static_window, heading_offset, most_active_window
from imurehab.errors import DataValidationError
from imurehab.quaternion import quat_from_matrix, quat_multiply, quat_rotate
from imurehab.simulate.joints import DOF_NAMES, joint_angles_from_quats

__all__ = [
    "JOINT_SEGMENTS",
    "MIDLINE_SEGMENTS",
    "SegmentJointAngles",
    "segment_joint_angles",
    "sided_segment",
    "up_axis",
]

FloatArray = npt.NDArray[np.float64]
Axis = Literal["x", "y", "z"]

JOINT_SEGMENTS: Final[dict[str, tuple[str, str]]] = {
    "knee": ("thigh", "shank"),
    "hip": ("pelvis", "thigh"),
    "ankle": ("shank", "foot"),
    "elbow": ("upper_arm", "forearm"),
    "shoulder": ("trunk", "upper_arm"),
    "lumbar": ("pelvis", "trunk"),
}
"""Joint → (parent segment, child segment), without the side suffix."""

MIDLINE_SEGMENTS: Final[frozenset[str]] = frozenset({"pelvis", "trunk", "head"})
"""Segments on the body's midline: their names carry no side."""


def sided_segment(segment: str, side: str | None) -> str:
    """A segment's name on one side: ``thigh`` + ``right`` → ``thigh_right``; midline names unchanged.

    Parameters
    ----------
    segment : str
        Segment name without side (``"thigh"``, ``"pelvis"``).
    side : {"left", "right"} or None
        The side (None for a midline joint).

    Examples
    --------
    >>> sided_segment("thigh", "right"), sided_segment("trunk", "left"), sided_segment("shank", None)
    ('thigh_right', 'trunk', 'shank')
    """
    return segment if side is None or segment in MIDLINE_SEGMENTS else f"{segment}_{side}"


_MIN_MOVING_RAD_S: Final[float] = 0.2  # the child must turn faster than this (RMS, most active part)


def up_axis(segment: str, pose: str) -> Axis:
    """The segment's anatomical axis that points up in the calibration pose.

    Parameters
    ----------
    segment : str
        Segment name without side (``"thigh"``).
    pose : {"standing", "sitting", "supine"}
        Calibration pose.

    Examples
    --------
    >>> up_axis("thigh", "sitting"), up_axis("trunk", "supine"), up_axis("upper_arm", "supine")
    ('x', 'x', 'y')
    """
    if pose == "standing":
        return "y"
    if pose == "sitting":
        return "x" if segment == "thigh" else "y"
    if pose == "supine":
        return "x" if segment in ("pelvis", "trunk", "head", "thigh", "shank") else "y"
    raise DataValidationError(f"unknown calibration pose {pose!r}; expected standing, sitting or supine")


def _rest_angle(angle_deg: FloatArray, rate_hz: float) -> float:
    """Median angle [deg] over the stillest quarter of the samples (the rest between repetitions)."""
    speed = np.abs(np.gradient(angle_deg)) * rate_hz
    return float(np.median(angle_deg[speed <= np.percentile(speed, 25)]))


@dataclass(frozen=True, eq=False)
class SegmentJointAngles:
    """A joint's angles over time and how its two segments were calibrated.

    Attributes
    ----------
    angles_deg : ndarray, shape (N, 3)
        ``flexion_deg, abduction_deg, rotation_deg`` [deg]; for the shoulder elevation, plane of
        elevation, axial rotation (see :mod:`imurehab.simulate.joints` for signs).
    frame_parent, frame_child : ndarray, shape (3, 3)
        Segment axes (columns x, y, z) in each sensor's frame.
    static_window : slice
        The samples used as the static pose.
    functional_axis : ndarray, shape (3,)
        The child's axis of movement in its sensor frame (sign as used).
    planarity : float
        Fraction (0–1) of the child's angular-rate energy about the functional axis: near 1 for a
        movement in one plane, a quality figure of the calibration.
    heading : str
        How the two 6D headings were related: ``"parent-axis"`` (the parent turned too, about the same
        anatomical axis) or ``"exercise-plane"`` (a still parent: the exercise plane by definition).
    """

    angles_deg: FloatArray
    frame_parent: FloatArray
    frame_child: FloatArray
    static_window: slice
    functional_axis: FloatArray
    planarity: float
    heading: str = "exercise-plane"

    @property
    def flexion_deg(self) -> FloatArray:
        """Flexion (for the shoulder: elevation) [deg]."""
        return self.angles_deg[:, 0]

    @property
    def abduction_deg(self) -> FloatArray:
        """Ab/adduction (for the shoulder: plane of elevation) [deg]."""
        return self.angles_deg[:, 1]

    @property
    def rotation_deg(self) -> FloatArray:
        """Axial rotation [deg]."""
        return self.angles_deg[:, 2]


def _frame(up_name: Axis, up: FloatArray, other_name: Axis, other: FloatArray) -> FloatArray:
    """Right-handed segment axes (columns) with ``up`` exact and ``other`` made orthogonal to it."""
    u = up / np.linalg.norm(up)
    o = other - (other @ u) * u
    norm = np.linalg.norm(o)
    if norm < 1e-6:
        raise DataValidationError("the movement axis is parallel to gravity in the calibration pose")
    axes: dict[str, FloatArray] = {up_name: u, other_name: o / norm}
    third = ({"x", "y", "z"} - set(axes)).pop()
    if third == "x":
        axes["x"] = np.cross(axes["y"], axes["z"])
    elif third == "y":
        axes["y"] = np.cross(axes["z"], axes["x"])
    else:
        axes["z"] = np.cross(axes["x"], axes["y"])
    return np.column_stack([axes["x"], axes["y"], axes["z"]])


def _principal_axis(gyr: FloatArray) -> tuple[FloatArray, float, float]:
    """The dominant rotation axis, the share of angular-rate energy about it, and the RMS rate [rad/s]."""
    values, vectors = np.linalg.eigh(gyr.T @ gyr)
    return (
        vectors[:, -1],
        float(values[-1] / max(values.sum(), 1e-300)),
        float(np.sqrt(values.sum() / len(gyr))),
    )


def segment_joint_angles(
    q_parent: FloatArray,
    q_child: FloatArray,
    gyr_parent: FloatArray,
    gyr_child: FloatArray,
    acc_parent: FloatArray,
    acc_child: FloatArray,
    rate_hz: float,
    *,
    joint: str,
    side: str | None,
    pose: str,
    movement_axis: Literal["x", "z"],
    dof: str = "flexion_deg",
    direction: Literal["increase", "decrease"] = "increase",
) -> SegmentJointAngles:
    """Calibrate two segments from a static pose and the movement, and compute the joint's angles.

    The recording must start with both segments still in ``pose`` for at least one second and contain
    the exercise's movement of the child segment.

    Parameters
    ----------
    q_parent, q_child : ndarray, shape (N, 4)
        Sensor orientations (w, x, y, z), sensor → ENU earth; 6D estimates are fine.
    gyr_parent, gyr_child : ndarray, shape (N, 3)
        Angular rates [rad/s] on the same sample grid.
    acc_parent, acc_child : ndarray, shape (N, 3)
        Specific forces [m/s²] on the same sample grid.
    rate_hz : float
        Sampling rate [Hz].
    joint : str
        A key of :data:`JOINT_SEGMENTS` (``"shoulder"``, ``"hip"``, ``"lumbar"``, ...).
    side : {"left", "right"} or None
        The side (None for the lumbar spine).
    pose : {"standing", "sitting", "supine"}
        Calibration pose (see :func:`up_axis`).
    movement_axis : {"x", "z"}
        The child's anatomical axis the exercise turns it about: ``"z"`` for flexion, ``"x"`` for
        abduction in the frontal plane.
    dof : str
        The angle the exercise is about (``"flexion_deg"``, ``"abduction_deg"``, ``"rotation_deg"``).
    direction : {"increase", "decrease"}
        How that angle moves from its rest during the exercise's repetitions; fixes the functional
        axis's sign.

    Returns
    -------
    SegmentJointAngles

    Raises
    ------
    DataValidationError
        If the joint is unknown, no static window is found, or the child barely moves.
    """
    if joint not in JOINT_SEGMENTS:
        raise DataValidationError(f"unknown joint {joint!r}; expected one of {sorted(JOINT_SEGMENTS)}")
    parent_seg, child_seg = JOINT_SEGMENTS[joint]
    key = joint if side is None else f"{joint}_{side}"
    static = find_static_window([gyr_parent, gyr_child], rate_hz, search_s=30.0)
    up_p_name, up_c_name = up_axis(parent_seg, pose), up_axis(child_seg, pose)
    up_p, up_c = acc_parent[static].mean(axis=0), acc_child[static].mean(axis=0)
    w = most_active_window(gyr_child, rate_hz)
    axis, planarity, rms = _principal_axis(gyr_child[w])
    if rms < _MIN_MOVING_RAD_S:
        raise DataValidationError("the moving segment barely turns: its axis of movement cannot be found")
    axis_p, _, rms_p = _principal_axis(gyr_parent[w])
    if rms_p >= _MIN_MOVING_RAD_S:
        # The parent turns too (the pelvis in a forward bend): about the same anatomical axis as the
        # child, and the same way. Its own axis then ties the two 6D headings together, as a hinge axis
        # does (sliding window, following slow drift).
        if np.mean((gyr_parent[w] @ axis_p) * (gyr_child[w] @ axis)) < 0:
            axis_p = -axis_p
        q_parent = align_heading(q_parent, heading_offset(q_parent, q_child, axis_p, axis, rate_hz))
        in_parent, heading = axis_p, "parent-axis"
    else:
        heading = "exercise-plane"
        # A still parent: the exercise plane is its sagittal (or frontal) plane by definition; the
        # child's functional axis at the static pose, seen in the parent's sensor frame, names it.
        t0 = (static.start + static.stop) // 2
        in_earth = quat_rotate(q_child[t0], axis)
        in_parent = quat_rotate(np.array([q_parent[t0][0], *(-q_parent[t0][1:])]), in_earth)
    column = DOF_NAMES.index(dof)
    best: tuple[float, SegmentJointAngles] | None = None
    for sign in (1.0, -1.0):
        frame_c = _frame(up_c_name, up_c, movement_axis, sign * axis)
        frame_p = _frame(up_p_name, up_p, movement_axis, sign * in_parent)
        ang = joint_angles_from_quats(
            key,
            quat_multiply(q_parent, quat_from_matrix(frame_p)),
            quat_multiply(q_child, quat_from_matrix(frame_c)),
        )
        # Reps leave the rest angle the template's way: measured from where the joint rests between
        # them (not from the calibration pose, which a relaxed rest can lie beyond: a foot hanging
        # plantarflexed before ankle pumps), the right sign reaches far, the wrong one barely leaves.
        trace = ang[:, column] - _rest_angle(ang[:, column], rate_hz)
        score = float(np.percentile(trace, 95) if direction == "increase" else -np.percentile(trace, 5))
        result = SegmentJointAngles(ang, frame_p, frame_c, static, sign * axis, planarity, heading)
        if best is None or score > best[0]:
            best = (score, result)
    assert best is not None
    return best[1]
