"""Core containers: one sensor's samples, session metadata, and a recording of several sensors.

Conventions (see DESIGN.md):

- Units are SI: specific force in m/s² (gravity included: a sensor at rest reads +9.81 m/s² along the
  axis pointing up), angular rate in rad/s, magnetic flux density in µT, time in seconds.
- ``time_us`` is int64 microseconds since the Unix epoch, UTC: the sample's time on the common timeline.
- ``sample_index`` is the device's own int64 running index of each sample; a jump of more than one is a
  lost sample. ``device_time`` is the raw device clock value (ticks of ``SensorInfo.device_clock_hz``).
- Sensor frame axes as printed on the device, right-handed.

Every container validates on construction and raises a subclass of
:class:`imurehab.errors.DataValidationError` that names the sensor, column and first bad sample.
"""

from imurehab.types._basics import (
    ACC_UNITS,
    GYR_UNITS,
    MAG_UNITS,
    SEGMENTS,
    STANDARD_GRAVITY,
    SampleFlags,
    check_identifier,
    datetime_to_us,
    us_to_datetime,
)
from imurehab.types.clock import ClockModel
from imurehab.types.samples import SensorInfo, SensorSamples
from imurehab.types.session import Recording, SessionInfo

__all__ = [
    "ACC_UNITS",
    "GYR_UNITS",
    "MAG_UNITS",
    "SEGMENTS",
    "STANDARD_GRAVITY",
    "ClockModel",
    "Recording",
    "SampleFlags",
    "SensorInfo",
    "SensorSamples",
    "SessionInfo",
    "check_identifier",
    "datetime_to_us",
    "us_to_datetime",
]
