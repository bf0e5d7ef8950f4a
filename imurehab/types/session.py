"""Session metadata and a recording of several sensors."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from imurehab.errors import DataValidationError, DuplicateSensorError
from imurehab.types._basics import SEGMENTS, check_identifier, datetime_to_us, us_to_datetime
from imurehab.types.samples import SensorSamples

__all__ = ["Recording", "SessionInfo"]


@dataclass(frozen=True)
class SessionInfo:
    """Metadata of one recorded session. Pseudonymous: no names or birth dates.

    Parameters
    ----------
    session_id : str
        Session id, unique per subject.
    subject_id : str
        Pseudonymous subject id.
    start_time : datetime
        Start of the session, timezone-aware (stored as UTC, µs resolution).
    placements : Mapping[str, str]
        Sensor id → body segment (see :data:`SEGMENTS`, e.g. ``"thigh_right"``).
    exercise : str, optional
        Exercise or protocol name (e.g. ``"seated-knee-extension"``).
    """

    session_id: str
    subject_id: str
    start_time: datetime
    placements: Mapping[str, str] = field(default_factory=dict)
    exercise: str | None = None

    def __post_init__(self) -> None:
        check_identifier(self.session_id, "session")
        check_identifier(self.subject_id, "subject")
        us = datetime_to_us(self.start_time)
        object.__setattr__(self, "start_time", us_to_datetime(us))
        placements = dict(self.placements)
        for sensor, segment in placements.items():
            check_identifier(sensor, "sensor")
            if segment not in SEGMENTS:
                raise DataValidationError(
                    f"unknown segment {segment!r} for sensor {sensor!r}; expected one of {sorted(SEGMENTS)}",
                    sensor_id=sensor,
                    column="placements",
                )
        object.__setattr__(self, "placements", placements)

    @property
    def start_us(self) -> int:
        """Session start, microseconds since the Unix epoch (UTC)."""
        return datetime_to_us(self.start_time)


@dataclass(frozen=True, eq=False)
class Recording:
    """Several sensors recorded in one session.

    Parameters
    ----------
    session : SessionInfo
        Session metadata; its placements may only name sensors of this recording.
    sensors : sequence of SensorSamples
        One entry per sensor; sensor ids must be unique.

    Raises
    ------
    DuplicateSensorError
        If two sensors share an id.
    DataValidationError
        If a placement names a sensor that is not in the recording.
    """

    session: SessionInfo
    sensors: tuple[SensorSamples, ...]

    def __post_init__(self) -> None:
        sensors = tuple(self.sensors)
        seen: set[str] = set()
        for s in sensors:
            if not isinstance(s, SensorSamples):
                raise DataValidationError(f"sensors must be SensorSamples, got {type(s).__name__}")
            if s.sensor_id in seen:
                raise DuplicateSensorError("appears twice in the recording", sensor_id=s.sensor_id)
            seen.add(s.sensor_id)
        for sensor in self.session.placements:
            if sensor not in seen:
                raise DataValidationError(
                    "is placed on a segment but is not in the recording",
                    sensor_id=sensor,
                    column="placements",
                )
        object.__setattr__(self, "sensors", sensors)

    def __getitem__(self, sensor_id: str) -> SensorSamples:
        for s in self.sensors:
            if s.sensor_id == sensor_id:
                return s
        raise KeyError(sensor_id)

    def __iter__(self) -> Iterator[SensorSamples]:
        return iter(self.sensors)

    def __len__(self) -> int:
        return len(self.sensors)

    @property
    def sensor_ids(self) -> list[str]:
        """The sensor ids, in recording order."""
        return [s.sensor_id for s in self.sensors]

    def sensor_on(self, segment: str) -> SensorSamples:
        """The samples of the sensor placed on ``segment`` (e.g. ``"shank_right"``).

        Raises
        ------
        KeyError
            If no sensor is placed on that segment.
        """
        for sensor, seg in self.session.placements.items():
            if seg == segment:
                return self[sensor]
        raise KeyError(f"no sensor is placed on {segment!r}")

    def equals(self, other: Recording) -> bool:
        """True if the session metadata and every sensor's samples are identical (order-insensitive)."""
        if self.session != other.session or sorted(self.sensor_ids) != sorted(other.sensor_ids):
            return False
        return all(s.equals(other[s.sensor_id]) for s in self.sensors)
