"""DOT message service (0x7000): framing ``MID LEN DATA CHECKSUM`` and the message catalogue.

The checksum byte makes the sum of all message bytes 0 modulo 256. Recording (MID 0x01),
synchronisation (0x02) and configuration (0x03) messages start their DATA with an identifier; the
fixed layouts and code tables come from the profile.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

import numpy as np

from imurehab.errors import ProtocolError
from imurehab.protocols.movella_dot._profile import (
    ACK_RESULT_NAME,
    CONFIG,
    CONFIG_NAME,
    EXPORT,
    MAX_DATA,
    MID,
    MID_NAME,
    RECORDING,
    RECORDING_LAYOUT,
    RECORDING_NAME,
    SYNC,
    SYNC_NAME,
    SYNC_RESULT_NAME,
    SYNC_STATUS_NAME,
    export_fields,
    layout,
)
from imurehab.protocols.movella_dot._profile import error as _error

_FILE_INFO = layout(EXPORT["file_info_layout"])
_FLASH_INFO = layout(EXPORT["flash_info_layout"])
DATA_NUMBER = struct.Struct(EXPORT["data_number_format"])
EXPORT_HEADER = 3 + DATA_NUMBER.size  # MID, LEN, ReID, DataNumber
"""Bytes before the first exported field in an ExportFileData message."""


def checksum(body: bytes) -> int:
    """The checksum byte that makes ``sum(body) + checksum`` equal 0 modulo 256.

    Parameters
    ----------
    body : bytes
        MID, LEN and DATA of a message.
    """
    return -sum(body) & 0xFF


def encode_message(mid: int, data: bytes) -> bytes:
    """Frame DATA as a message: ``MID LEN DATA CHECKSUM``.

    Parameters
    ----------
    mid : int
        Message identifier (1 recording, 2 synchronisation, 3 configuration).
    data : bytes
        At most 157 data bytes.

    Raises
    ------
    ProtocolError
        ``"value"`` for a MID outside 0..255 or DATA longer than 157 bytes.

    Examples
    --------
    >>> encode_message(1, bytes([2])).hex(" ")
    '01 01 02 fc'
    """
    if not 0 <= mid <= 0xFF:
        raise _error(f"MID {mid} is not a byte", "value")
    if len(data) > MAX_DATA:
        raise _error(f"message DATA is at most {MAX_DATA} bytes, got {len(data)}", "value")
    body = bytes([mid, len(data)]) + bytes(data)
    return body + bytes([checksum(body)])


def parse_frame(packet: bytes) -> tuple[int, bytes]:
    """Check a message's framing and return ``(mid, data)``.

    Parameters
    ----------
    packet : bytes
        One complete message as read or notified.

    Raises
    ------
    ProtocolError
        ``"truncated"``/``"overlong"`` when the length differs from LEN + 3, ``"value"`` for LEN
        above 157, ``"crc"`` for a bad checksum, ``"type"`` for an unknown MID.
    """
    if len(packet) < 3:
        raise _error("a message has at least MID, LEN and CHECKSUM", "truncated", len(packet))
    mid, n = packet[0], packet[1]
    if n > MAX_DATA:
        raise _error(f"LEN {n} exceeds {MAX_DATA}", "value", 1)
    if len(packet) < n + 3:
        raise _error(f"LEN {n} needs {n + 3} bytes, got {len(packet)}", "truncated", len(packet))
    if len(packet) > n + 3:
        raise _error(f"LEN {n} needs {n + 3} bytes, got {len(packet)}", "overlong", n + 3)
    if sum(packet) & 0xFF:
        raise _error(f"checksum 0x{packet[-1]:02X} does not zero the byte sum", "crc", n + 2)
    if mid not in MID_NAME:
        raise _error(f"unknown MID 0x{mid:02X}", "type", 0)
    return mid, packet[2:-1]


def recording_message(name: str, **values: int) -> bytes:
    """A recording message (MID 0x01) with a fixed layout, e.g. ``recording_message("GetState")``.

    Parameters
    ----------
    name : str
        Message name as in the spec (``"StartRecording"``, ``"RequestFileData"``, ...).
    **values : int
        The layout's fields (``start_utc_s`` [s], ``recording_time_s`` [s], ``file_index``, ...).

    Raises
    ------
    ProtocolError
        ``"type"`` for an unknown name, ``"value"`` for missing or out-of-range fields.
    """
    if name not in RECORDING:
        raise _error(f"unknown recording message {name!r}", "type")
    body = bytes([RECORDING[name]])
    if name in RECORDING_LAYOUT:
        lay = RECORDING_LAYOUT[name]
        if sorted(values) != sorted(lay.names):
            raise _error(f"{name} takes {list(lay.names)}, got {sorted(values)}", "value")
        try:
            body += lay.struct.pack(*(values[k] for k in lay.names))
        except struct.error as err:
            raise _error(f"{name}: {err}", "value") from None
    elif values:
        raise _error(f"{name} has no fields", "value")
    return encode_message(MID["recording"], body)


def recording_payload(name: str, redata: bytes = b"") -> bytes:
    """A recording message (MID 0x01) with ReDATA given as bytes (the sensor's notifications).

    For messages whose ReDATA has no fixed layout in the profile (ExportFileInfo, ExportFlashInfo,
    ExportFileDataInvalid, ...); :func:`recording_message` builds those with one.

    Parameters
    ----------
    name : str
        Message name as in the spec (``"ExportFileDataDone"``, ``"NoRecordingFile"``, ...).
    redata : bytes
        ReDATA, at most 156 bytes.

    Raises
    ------
    ProtocolError
        ``"type"`` for an unknown name, ``"value"`` for ReDATA too long.

    Examples
    --------
    >>> recording_payload("ExportFileDataDone").hex(" ")
    '01 01 72 8c'
    """
    if name not in RECORDING:
        raise _error(f"unknown recording message {name!r}", "type")
    return encode_message(MID["recording"], bytes([RECORDING[name]]) + bytes(redata))


def select_export_data(selection: Sequence[int]) -> bytes:
    """SelectExportData: the quantities each exported packet will carry.

    Parameters
    ----------
    selection : sequence of int
        SelectExportData codes (Table 25), e.g. ``[0, 4, 7, 8]`` (timestamp, Euler, acc, gyr).
    """
    export_fields(tuple(selection))
    return encode_message(MID["recording"], bytes([RECORDING["SelectExportData"], *selection]))


def acknowledge(control: bytes, result: str | int) -> bytes:
    """The acknowledge a sensor reads back for a recording or synchronisation control message.

    Parameters
    ----------
    control : bytes
        The complete control message being acknowledged.
    result : str or int
        Result code or name (``"idle"``, ``"success"``, ... from Tables 26 and 30).
    """
    mid, data = parse_frame(control)
    names = {MID["recording"]: ACK_RESULT_NAME, MID["synchronization"]: SYNC_RESULT_NAME}.get(mid)
    if names is None:
        raise _error("only recording and synchronisation messages are acknowledged this way", "type", 0)
    code = result if isinstance(result, int) else {v: k for k, v in names.items()}.get(result)
    if code is None or code not in names:
        raise _error(f"unknown acknowledge result {result!r}", "value")
    ack = RECORDING["Acknowledge"] if mid == MID["recording"] else SYNC["Acknowledge"]
    return encode_message(mid, bytes([ack, code]) + data)


def sync_message(name: str, root_mac: str | None = None, value: int | None = None) -> bytes:
    """A synchronisation message (MID 0x02).

    Parameters
    ----------
    name : str
        ``"StartSync"`` (with ``root_mac``), ``"StopSync"``, ``"GetSyncStatus"``, or the sensor's
        ``"SyncStatus"`` / ``"StopSyncResult"`` (with ``value``).
    root_mac : str, optional
        Root node address ``"D4:22:CD:AA:BB:CC"``; sent least significant byte first.
    value : int, optional
        Status or result byte of a sensor notification.
    """
    if name not in SYNC:
        raise _error(f"unknown synchronisation message {name!r}", "type")
    body = bytes([SYNC[name]])
    if root_mac is not None:
        try:
            body += bytes.fromhex(root_mac.replace(":", ""))[::-1]
        except ValueError:
            raise _error(f"not a MAC address: {root_mac!r}", "value") from None
    if value is not None:
        body += bytes([value])
    return encode_message(MID["synchronization"], body)


def configuration_message(name: str, index: int | None = None) -> bytes:
    """A configuration control message (MID 0x03).

    Parameters
    ----------
    name : str
        ``"RequestMacAddress"``, ``"RequestTag"``, ``"RequestSerialNumber"``,
        ``"RevertToFactorySettings"``, ``"RequestFilterProfileCount"`` or
        ``"RequestFilterProfileName"``.
    index : int, optional
        Filter profile index, for RequestFilterProfileName only.
    """
    if name not in CONFIG:
        raise _error(f"unknown configuration message {name!r}", "type")
    return encode_message(MID["configuration"], bytes([CONFIG[name]] + ([] if index is None else [index])))


def _fixed(lay_struct: struct.Struct, names: Sequence[str], raw: bytes, at: int) -> dict[str, Any]:
    if len(raw) < lay_struct.size:
        raise _error(f"needs {lay_struct.size} data bytes, got {len(raw)}", "truncated", at + len(raw))
    if len(raw) > lay_struct.size:
        raise _error(f"needs {lay_struct.size} data bytes, got {len(raw)}", "overlong", at + lay_struct.size)
    return dict(zip(names, lay_struct.unpack(raw), strict=True))


def _recording(reid: int, redata: bytes, at: int) -> dict[str, Any]:
    """Facts of a recording message; ``at`` is the byte offset of ReDATA in the packet."""
    name = RECORDING_NAME[reid]
    if name in RECORDING_LAYOUT:
        lay = RECORDING_LAYOUT[name]
        return _fixed(lay.struct, lay.names, redata, at)
    if name == "Acknowledge":
        if len(redata) < 2:
            raise _error(
                "an acknowledge carries a result and the control ReID", "truncated", at + len(redata)
            )
        result, control = redata[0], redata[1]
        if result not in ACK_RESULT_NAME:
            raise _error(f"unknown acknowledge result 0x{result:02X}", "value", at)
        if control not in RECORDING_NAME:
            raise _error(f"acknowledge of unknown ReID 0x{control:02X}", "type", at + 1)
        return {
            "ack_result": result,
            "ack_state": ACK_RESULT_NAME[result],
            "control_reid": control,
            "control_message": RECORDING_NAME[control],
            "control": _recording(control, redata[2:], at + 2),
        }
    if name == "SelectExportData":
        try:
            fields = export_fields(tuple(redata))
        except ProtocolError as err:
            raise _error(str(err), "value", at) from None
        return {"selection": list(redata), "fields": list(fields)}
    if name == "ExportFileInfo":
        info = _fixed(_FILE_INFO.struct, _FILE_INFO.names, redata[: _FILE_INFO.struct.size], at)
        if info["magic"] != EXPORT["file_info_magic"]:
            raise _error(f"file info magic 0x{info['magic']:08X}", "value", at)
        return info
    if name == "ExportFlashInfo":
        if redata[:4] == struct.pack("<I", EXPORT["flash_info_magic"]):
            return _fixed(_FLASH_INFO.struct, _FLASH_INFO.names, redata[: _FLASH_INFO.struct.size], at)
        ind = np.frombuffer(redata, dtype=np.uint8)
        return {"file_headers": int((ind == 0xEE).sum()), "data_sectors": int((ind == 0xCC).sum())}
    if name in ("ExportFileData", "ExportFileDataInvalid"):
        if len(redata) < DATA_NUMBER.size:
            raise _error("export data starts with a uint32 data number", "truncated", at + len(redata))
        return {"data_number": DATA_NUMBER.unpack_from(redata)[0]}
    if redata:
        raise _error(f"{name} carries no data", "overlong", at)
    return {}


def _sync(syid: int, sydata: bytes, at: int) -> dict[str, Any]:
    name = SYNC_NAME[syid]
    if name == "StartSync":
        if len(sydata) != 6:
            raise _error(
                "StartSync carries a 6-byte root MAC", "truncated" if len(sydata) < 6 else "overlong", at
            )
        return {"root_mac": ":".join(f"{b:02X}" for b in sydata[::-1])}
    tables = {
        "Acknowledge": SYNC_RESULT_NAME,
        "StopSyncResult": {0: "success", 1: "failed"},
        "SyncStatus": SYNC_STATUS_NAME,
    }
    if name not in tables:
        if sydata:
            raise _error(f"{name} carries no data", "overlong", at)
        return {}
    if not sydata:
        raise _error(f"{name} carries a result byte", "truncated", at)
    if sydata[0] not in tables[name]:
        raise _error(f"unknown {name} result 0x{sydata[0]:02X}", "value", at)
    key = {"Acknowledge": "ack", "StopSyncResult": "stop_sync", "SyncStatus": "sync"}[name]
    out: dict[str, Any] = {f"{key}_result": sydata[0], f"{key}_state": tables[name][sydata[0]]}
    if name == "Acknowledge" and len(sydata) > 1:
        if sydata[1] not in SYNC_NAME:
            raise _error(f"acknowledge of unknown SyID 0x{sydata[1]:02X}", "type", at + 1)
        out["control_message"] = SYNC_NAME[sydata[1]]
        out["control"] = _sync(sydata[1], sydata[2:], at + 2)
    elif len(sydata) > 1:
        raise _error(f"{name} carries one byte", "overlong", at + 1)
    return out


def describe(packet: bytes, characteristic: str = "control") -> dict[str, Any]:
    """Parse one message into JSON-ready facts: ``mid``, ``len``, ``data`` and the message's fields.

    Parameters
    ----------
    packet : bytes
        One complete message.
    characteristic : str
        Where it was read: ``"control"``, ``"acknowledge"`` or ``"notification"``. Only
        configuration replies (which carry no identifier) depend on it.

    Raises
    ------
    ProtocolError
        On bad framing or checksum, an unknown identifier or a field of the wrong size.
    """
    mid, data = parse_frame(packet)
    info: dict[str, Any] = {"mid": mid, "len": len(data), "data": list(data), "service": MID_NAME[mid]}
    if mid == MID["configuration"] and characteristic == "acknowledge":
        return info | {"message": "ConfigurationAcknowledge"}
    if not data:
        raise _error("the message carries no identifier", "truncated", 2)
    names = {
        MID["recording"]: RECORDING_NAME,
        MID["synchronization"]: SYNC_NAME,
        MID["configuration"]: CONFIG_NAME,
    }
    if data[0] not in names[mid]:
        raise _error(f"unknown {MID_NAME[mid]} identifier 0x{data[0]:02X}", "type", 2)
    info["id"] = data[0]
    info["message"] = names[mid][data[0]]
    if mid == MID["recording"]:
        info.update(_recording(data[0], data[1:], 3))
    elif mid == MID["synchronization"]:
        info.update(_sync(data[0], data[1:], 3))
    elif len(data) > 1 + (info["message"] == "RequestFilterProfileName"):
        raise _error(f"{info['message']} carries no more data", "overlong", 3)
    return info
