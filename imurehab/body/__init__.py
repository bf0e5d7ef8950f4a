"""Body model: sensor-to-segment calibration and joint angles (ISB conventions, degrees)."""

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

__all__ = [
    "HINGE_JOINTS",
    "HingeAxes",
    "HingeJointAngles",
    "align_heading",
    "cardan_zxy_deg",
    "estimate_hinge_axes",
    "find_static_window",
    "heading_difference_9d",
    "heading_offset",
    "hinge_joint_angles",
    "segment_frame",
]
