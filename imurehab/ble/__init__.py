"""BLE ingest on bleak: discover sensors, stream live from several at once, sync their logs without loss.

- :func:`discover` scans and names each device's family (from its advertisement and the profiles).
- :func:`sync` downloads every log session of OSP sensors into an append-only raw journal on disk,
  resuming after link drops, device reboots and host crashes, verifies each whole log by CRC-32, erases
  it on the sensor only when asked and verified, and decodes the journal into the dataset's ``samples``.
- :func:`stream` streams live from several sensors at once (OSP and Polar PMD, through the family drivers
  of :mod:`imurehab.ble.family`), reports every gap exactly, reconnects by itself and keeps everything
  received when stopped or cancelled.
- :class:`ClockModel` maps a device boot's µs clock to UTC (offset + drift, with its uncertainty).

The bleak backend classes are parameters (None: the platform's); pass the virtual air's
(:class:`imurehab.virtual.VirtualBleakClient`, :class:`imurehab.virtual.VirtualBleakScanner`) to run the
same code against virtual sensors. Output layout and resume rules: :mod:`imurehab.ble.journal`,
:mod:`imurehab.ble.sync`.
"""

from imurehab.ble.clock import ClockModel, fit_clock_model, host_time_us
from imurehab.ble.connection import RetryPolicy
from imurehab.ble.discovery import DiscoveredDevice, discover, identify_family
from imurehab.ble.family import LIVE_FAMILIES, DeviceIdentity, LiveDriver, LiveFrame, family_from_services
from imurehab.ble.polar import PolarRequest
from imurehab.ble.report import (
    Gap,
    SensorReport,
    SessionResult,
    StreamReport,
    StreamSensorReport,
    SyncProgress,
    SyncReport,
)
from imurehab.ble.stream import LiveSamples, stream
from imurehab.ble.sync import sync

__all__ = [
    "LIVE_FAMILIES",
    "ClockModel",
    "DeviceIdentity",
    "DiscoveredDevice",
    "Gap",
    "LiveDriver",
    "LiveFrame",
    "LiveSamples",
    "PolarRequest",
    "RetryPolicy",
    "SensorReport",
    "SessionResult",
    "StreamReport",
    "StreamSensorReport",
    "SyncProgress",
    "SyncReport",
    "discover",
    "family_from_services",
    "fit_clock_model",
    "host_time_us",
    "identify_family",
    "stream",
    "sync",
]
