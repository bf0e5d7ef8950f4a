"""Movesense GATT SensorData Protocol (GSP) codec: commands, results, DATA/DATA_PART2, IMU payloads.

Facts and sources: ``firmware_protocols/movesense-gsp/spec.md``; constants: its ``profile.toml``.

- Commands (client → sensor): :func:`encode_command` / :func:`parse_command` for HELLO, SUBSCRIBE,
  UNSUBSCRIBE, FETCH_LOG, GET, CLEAR_LOGBOOK, PUT_DATALOGGER_CONFIG, PUT_SYSTEMMODE, PUT_UTCTIME and
  PUT_DATALOGGER_STATE; UTC time is set with PUT_UTCTIME and read with GET ``/Time``.
- Results (sensor → client): :func:`encode_result`, :func:`encode_hello_result`, :func:`parse_result`.
- Data: :func:`reassemble` (DATA + DATA_PART2, each join checked by the next message: :class:`MessageJoiner`,
  the rule the live stream runs too), :func:`decode_meas` / :func:`encode_meas` for
  ``/Meas/{Acc,Gyro,Magn,IMU6,IMU6m,IMU9}/<rate>``, :func:`encode_log` / :func:`assemble_log` for
  FETCH_LOG chunks.
- Logbook: :func:`encode_entries` / :func:`parse_entries` (GET ``/Mem/Logbook/Entries``),
  :func:`encode_sbem` / :func:`parse_sbem` / :func:`decode_log` for the SBEM log file FETCH_LOG returns.
- :data:`FAMILY`: the registry entry used by ``imurehab protocol decode --family movesense-gsp``.

Units: acc [m/s²], gyr [rad/s] (deg/s on the wire), mag [µT]; time [ns since boot], from the packet's
uint32 ms timestamp of the first sample plus i / rate.

Examples
--------
>>> from imurehab.protocols.movesense import FAMILY, encode_command
>>> FAMILY.decode([encode_command("SUBSCRIBE", 99, path="/Meas/IMU6/104")], {}).info["path"]
'/Meas/IMU6/104'
"""

from imurehab.protocols.movesense._commands import (
    encode_command,
    encode_hello_result,
    encode_result,
    parse_command,
    parse_result,
)
from imurehab.protocols.movesense._data import (
    MAX_LOG_BYTES,
    MeasSamples,
    Reassembled,
    assemble_log,
    decode_meas,
    encode_log,
    encode_meas,
    reassemble,
)
from imurehab.protocols.movesense._family import FAMILY, SETTINGS, decode
from imurehab.protocols.movesense._joins import MessageJoiner, messages_missing, stamp_step
from imurehab.protocols.movesense._logbook import (
    LogEntry,
    decode_log,
    encode_entries,
    encode_sbem,
    meas_timestamps_contiguous,
    parse_entries,
    parse_sbem,
)
from imurehab.protocols.movesense._profile import BLOCKS, ENTRIES_PATH, RATES_HZ, meas_resource

__all__ = [
    "BLOCKS",
    "ENTRIES_PATH",
    "FAMILY",
    "MAX_LOG_BYTES",
    "RATES_HZ",
    "SETTINGS",
    "LogEntry",
    "MeasSamples",
    "MessageJoiner",
    "Reassembled",
    "assemble_log",
    "decode",
    "decode_log",
    "decode_meas",
    "encode_command",
    "encode_entries",
    "encode_hello_result",
    "encode_log",
    "encode_meas",
    "encode_result",
    "encode_sbem",
    "meas_resource",
    "meas_timestamps_contiguous",
    "messages_missing",
    "parse_command",
    "parse_entries",
    "parse_result",
    "parse_sbem",
    "reassemble",
    "stamp_step",
]
