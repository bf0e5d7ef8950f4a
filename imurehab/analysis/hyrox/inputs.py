"""Which sensors a race segmentation uses: wrist, pelvis (sacrum) and thigh, from a recording or arrays."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from imurehab.errors import DataValidationError
from imurehab.types import Recording

__all__ = ["PLACEMENTS", "RaceSensor", "race_sensors"]

PLACEMENTS = ("wrist", "pelvis", "thigh")
"""Sensor placements the segmentation understands."""

_SEGMENT_PLACEMENT = {
    "forearm_right": "wrist",
    "forearm_left": "wrist",
    "hand_right": "wrist",
    "hand_left": "wrist",
    "pelvis": "pelvis",
    "thigh_right": "thigh",
    "thigh_left": "thigh",
}


@dataclass(frozen=True, eq=False)
class RaceSensor:
    """One sensor's samples for the race segmentation.

    Parameters
    ----------
    placement : {"wrist", "pelvis", "thigh"}
        Where it was worn: a watch on the wrist (forearm or hand segment), a sacrum/pelvis sensor, or a
        thigh sensor. Its axes may point any way: the features do not assume a mounting.
    time_us : array_like of int, shape (N,)
        Sample times [µs since the Unix epoch, UTC], increasing; gaps are allowed.
    acc_mps2 : array_like, shape (N, 3)
        Specific force in the sensor frame [m/s²], gravity included.
    gyr_rads : array_like, shape (N, 3), optional
        Angular rate [rad/s].
    sensor_id : str
        Name for messages and results.
    """

    placement: str
    time_us: npt.NDArray[np.int64]
    acc_mps2: npt.NDArray[np.float64]
    gyr_rads: npt.NDArray[np.float64] | None = None
    sensor_id: str = ""

    def __post_init__(self) -> None:
        name = self.sensor_id or self.placement
        if self.placement not in PLACEMENTS:
            raise DataValidationError(
                f"placement must be one of {PLACEMENTS}, got {self.placement!r}", sensor_id=name
            )
        t = np.asarray(self.time_us, dtype=np.int64)
        acc = None if self.acc_mps2 is None else np.asarray(self.acc_mps2, dtype=np.float64)
        if acc is None or acc.ndim != 2 or acc.shape[1] != 3 or acc.shape[0] == 0:
            raise DataValidationError(
                "needs accelerometer data of shape (N, 3)", sensor_id=name, column="acc"
            )
        if t.shape != (acc.shape[0],):
            raise DataValidationError(
                "time_us must have one value per acc row", sensor_id=name, column="time_us"
            )
        if t.size > 1 and np.any(np.diff(t) <= 0):
            raise DataValidationError("time_us must increase", sensor_id=name, column="time_us")
        if not np.all(np.isfinite(acc)):
            raise DataValidationError("acc holds NaN or inf", sensor_id=name, column="acc")
        gyr = None
        if self.gyr_rads is not None:
            gyr = np.asarray(self.gyr_rads, dtype=np.float64)
            if gyr.shape != acc.shape or not np.all(np.isfinite(gyr)):
                raise DataValidationError(
                    "gyr must be finite and shaped like acc", sensor_id=name, column="gyr"
                )
        object.__setattr__(self, "time_us", t)
        object.__setattr__(self, "acc_mps2", acc)
        object.__setattr__(self, "gyr_rads", gyr)
        object.__setattr__(self, "sensor_id", name)


def race_sensors(
    source: Recording | Sequence[RaceSensor], use: Collection[str] | None = None
) -> list[RaceSensor]:
    """The sensors of ``source`` the segmentation uses, one per placement, in :data:`PLACEMENTS` order.

    Parameters
    ----------
    source : Recording or sequence of RaceSensor
        A recording whose placements name forearm/hand (wrist), pelvis or thigh segments, or sensors.
    use : collection of str, optional
        Placements to use (e.g. ``{"wrist"}``); default every one available.

    Raises
    ------
    DataValidationError
        If no usable sensor remains, or ``use`` names an unknown placement.
    """
    if use is not None and not set(use) <= set(PLACEMENTS):
        raise DataValidationError(f"use must name placements among {PLACEMENTS}, got {sorted(use)}")
    if isinstance(source, Recording):
        found = []
        for samples in source.sensors:
            placement = _SEGMENT_PLACEMENT.get(source.session.placements.get(samples.sensor_id, ""))
            if placement is not None:
                found.append(
                    RaceSensor(placement, samples.time_us, samples.acc, samples.gyr, samples.sensor_id)
                )
    else:
        found = list(source)
        for s in found:
            if not isinstance(s, RaceSensor):
                raise DataValidationError(f"sensors must be RaceSensor, got {type(s).__name__}")
    chosen = []
    for placement in PLACEMENTS:
        if use is not None and placement not in use:
            continue
        match = [s for s in found if s.placement == placement]
        if match:
            chosen.append(match[0])
    if not chosen:
        raise DataValidationError(
            "no usable sensor: the race segmentation needs a wrist (forearm or hand), pelvis or thigh sensor"
            + ("" if use is None else f" among {sorted(use)}")
        )
    return chosen
