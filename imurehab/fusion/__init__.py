"""Orientation estimation: each sensor's orientation in the ENU earth frame from its IMU samples."""

from imurehab.fusion.estimate import (
    METHODS,
    FusionResult,
    estimate_orientation,
    estimate_orientation_detailed,
)

__all__ = ["METHODS", "FusionResult", "estimate_orientation", "estimate_orientation_detailed"]
