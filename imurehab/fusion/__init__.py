"""Orientation estimation: each sensor's orientation in the ENU earth frame from its IMU samples."""

from imurehab.fusion.eskf import EskfParams
from imurehab.fusion.estimate import (
    METHODS,
    FusionResult,
    estimate_orientation,
    estimate_orientation_detailed,
)
from imurehab.fusion.table import fuse_sensor, orientation_rows, orientation_table

__all__ = [
    "METHODS",
    "EskfParams",
    "FusionResult",
    "estimate_orientation",
    "estimate_orientation_detailed",
    "fuse_sensor",
    "orientation_rows",
    "orientation_table",
]
