"""BLE ingest on bleak: discover sensors, stream live from several at once, sync their logs without loss.

- :func:`discover` scans and names each device's family (from its advertisement and the profiles).
- :func:`sync` downloads what sensors of any family logged into an append-only raw journal on disk and
  decodes it into the dataset's ``samples``, one family's sync after the other: OSP (:func:`sync_osp`:
  resumes after link drops, device reboots and host crashes, verifies each log by CRC-32), Polar offline
  recordings over PFTP (:func:`sync_polar`), Movesense Logbook entries (:func:`sync_movesense`) and
  Movella DOT exports (:func:`sync_dot`); each erases on the sensor only when asked and verified.
- :func:`stream` streams live from several sensors at once (OSP, Polar PMD, Movesense GSP, Movella DOT,
  through the family drivers of :mod:`imurehab.ble.family`), reports every gap exactly, reconnects by
  itself and keeps everything received when stopped or cancelled.
- :class:`ClockModel` maps a device boot's µs clock to UTC (offset + drift, with its uncertainty).

The bleak backend classes are parameters (None: the platform's); pass the virtual air's
(:class:`imurehab.virtual.VirtualBleakClient`, :class:`imurehab.virtual.VirtualBleakScanner`) to run the
same code against virtual sensors. Output layout and resume rules: :mod:`imurehab.ble.journal`,
:mod:`imurehab.ble.sync`.
"""

from imurehab.ble.clock import ClockModel, fit_clock_model, host_time_us
from imurehab.ble.connection import RetryPolicy
from imurehab.ble.discovery import DiscoveredDevice, discover, find_families, identify_family
from imurehab.ble.dot import DotRequest
from imurehab.ble.dot_sync import start_recording, stop_recording, sync_dot, sync_sensors
from imurehab.ble.family import LIVE_FAMILIES, DeviceIdentity, LiveDriver, LiveFrame, family_from_services
from imurehab.ble.movesense import MovesenseRequest
from imurehab.ble.movesense_sync import sync_movesense
from imurehab.ble.polar import PolarRequest
from imurehab.ble.polar_offline import start_offline_recording, stop_offline_recording, sync_polar
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
from imurehab.ble.sync import SYNC_FAMILIES, sync, sync_osp

__all__ = [
    "LIVE_FAMILIES",
    "SYNC_FAMILIES",
    "ClockModel",
    "DeviceIdentity",
    "DiscoveredDevice",
    "DotRequest",
    "Gap",
    "LiveDriver",
    "LiveFrame",
    "LiveSamples",
    "MovesenseRequest",
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
    "find_families",
    "fit_clock_model",
    "host_time_us",
    "identify_family",
    "start_offline_recording",
    "start_recording",
    "stop_offline_recording",
    "stop_recording",
    "stream",
    "sync",
    "sync_dot",
    "sync_movesense",
    "sync_osp",
    "sync_polar",
    "sync_sensors",
]
