"""Movella DOT (formerly Xsens DOT) BLE codec: measurement payload modes and the message service.

Facts and sources: ``firmware_protocols/movella-dot/spec.md``; constants: its ``profile.toml``.

- Measurement service: :func:`decode_measurements` / :func:`encode_measurement` for the payload
  notifications of each documented payload mode (one sample per notification, decoded in batches
  with numpy), :func:`measurement_control` for the control characteristic.
- Configuration service: :func:`device_control` / :func:`parse_device_control` for the device control
  characteristic (output rate).
- Message service (``MID LEN DATA CHECKSUM``): :func:`encode_message`, :func:`describe`,
  recording/export/retransmission/synchronisation/configuration builders;
  :func:`decode_export` / :func:`export_file_data` for exported recordings (arrays, ordered by data
  number, gaps reported for Retransmission).
- :data:`FAMILY`: the registry entry used by ``imurehab protocol decode --family movella-dot``.

Units: acc [m/s²], gyr [rad/s] (deg/s on the wire), mag [µT] (a.u. on the wire, 1 a.u. ≈ 40 µT),
time [µs] on the sensor clock, unwrapped across its 2³² µs rollover.

Examples
--------
>>> from imurehab.protocols.movella_dot import FAMILY, recording_message
>>> FAMILY.decode([recording_message("GetState")], {}).info["message"]
'GetState'
"""

from imurehab.protocols.counters import unwrap_counter
from imurehab.protocols.movella_dot._device import device_control, parse_device_control, visits
from imurehab.protocols.movella_dot._export import (
    DEFAULT_SELECTION,
    decode_export,
    export_file_data,
    is_export_data,
)
from imurehab.protocols.movella_dot._family import FAMILY, SETTINGS, decode
from imurehab.protocols.movella_dot._measurement import (
    decode_measurements,
    encode_measurement,
    measurement_control,
    parse_measurement_control,
    payload_mode,
)
from imurehab.protocols.movella_dot._messages import (
    acknowledge,
    checksum,
    configuration_message,
    describe,
    encode_message,
    parse_frame,
    recording_message,
    recording_payload,
    select_export_data,
    sync_message,
)
from imurehab.protocols.movella_dot._profile import FIELDS, MODES, Field, Mode, uuid
from imurehab.protocols.movella_dot._samples import DotSamples

__all__ = [
    "DEFAULT_SELECTION",
    "FAMILY",
    "FIELDS",
    "MODES",
    "SETTINGS",
    "DotSamples",
    "Field",
    "Mode",
    "acknowledge",
    "checksum",
    "configuration_message",
    "decode",
    "decode_export",
    "decode_measurements",
    "describe",
    "device_control",
    "encode_measurement",
    "encode_message",
    "export_file_data",
    "is_export_data",
    "measurement_control",
    "parse_device_control",
    "parse_frame",
    "parse_measurement_control",
    "payload_mode",
    "recording_message",
    "recording_payload",
    "select_export_data",
    "sync_message",
    "unwrap_counter",
    "uuid",
    "visits",
]
