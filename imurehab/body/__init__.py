"""Body model: sensor-to-segment calibration and joint angles (ISB conventions, degrees).

:func:`joint_angles` gives the ``joint_angles`` table of a recording for an exercise; the calibration
steps below it are public for researchers who want them one by one: hinge joints (knee, elbow) in
:func:`hinge_joint_angles`, other joints (shoulder in ISB Y-X-Y, hip, lumbar spine) in
:func:`segment_joint_angles`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from imurehab.body.angles import HINGE_JOINTS, HingeJointAngles, cardan_zxy_deg, hinge_joint_angles
from imurehab.body.calibration import (
    HingeAxes,
    align_heading,
    estimate_hinge_axes,
    find_static_window,
    heading_difference_9d,
    heading_offset,
    segment_frame,
)
from imurehab.body.segments import JOINT_SEGMENTS, SegmentJointAngles, segment_joint_angles, up_axis

if TYPE_CHECKING:
    import polars as pl

    from imurehab.types import Recording

__all__ = [
    "HINGE_JOINTS",
    "JOINT_SEGMENTS",
    "HingeAxes",
    "HingeJointAngles",
    "SegmentJointAngles",
    "align_heading",
    "cardan_zxy_deg",
    "estimate_hinge_axes",
    "find_static_window",
    "heading_difference_9d",
    "heading_offset",
    "hinge_joint_angles",
    "joint_angles",
    "segment_frame",
    "segment_joint_angles",
    "up_axis",
]


def joint_angles(recording: Recording, exercise: str | None = None) -> pl.DataFrame:
    """The joint angles of a recording, as rows of the ``joint_angles`` table.

    Orientation of every sensor (6D), then calibration and angles of the exercise's joint on each
    instrumented side, in degrees (ISB conventions; for the shoulder ``flexion_deg`` is elevation,
    ``abduction_deg`` the plane of elevation, ``rotation_deg`` axial rotation).

    Parameters
    ----------
    recording : Recording
        The session; its placements say which sensor is on which segment.
    exercise : str, optional
        A built-in exercise template name (default: the session's exercise); without one every
        instrumented knee and elbow is computed with a standing calibration pose.

    Returns
    -------
    polars.DataFrame
        Columns ``joint, side, time, flexion_deg, abduction_deg, rotation_deg``.

    Examples
    --------
    >>> from imurehab import simulate_session
    >>> from imurehab.body import joint_angles
    >>> sim = simulate_session("squat", reps=2, seed=1, with_mag=False)
    >>> angles = joint_angles(sim.recording, "squat")
    >>> angles["joint"][0], round(float(angles["flexion_deg"].max())) > 60
    ('knee', True)
    """
    from imurehab.pipeline import process_recording  # the pipeline builds on this package

    return process_recording(recording, exercise=exercise).joint_angles
