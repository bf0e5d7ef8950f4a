"""GSP commands (client → sensor) and command results (sensor → client).

A command is ``code, reference, payload``; its result is ``COMMAND_RESULT, reference, uint16
status, data`` (HELLO: no status). Payload layouts come from the profile's ``command_payload``.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

from imurehab.protocols.movesense._profile import (
    COMMAND_NAME,
    COMMAND_PAYLOAD,
    COMMANDS,
    DATALOGGER_STATE_NAME,
    GET_RESPONSES,
    HEADER,
    RESPONSES,
    error,
    unpack_spec,
)

_STATUS = struct.Struct("<H")
_HELLO_FIELDS = ("serial", "product", "dfu_mac", "app_name", "app_version")
_LEGACY_HELLO = b"Hello"


def _reference(reference: int) -> int:
    if not 1 <= reference <= 0xFF:
        raise error(f"reference must be 1..255 (0 is reserved), got {reference}", "value", 1)
    return reference


def _path_bytes(path: str, nul: bool) -> bytes:
    raw = path.encode("ascii", errors="replace") if path.isascii() else b""
    if not raw or not all(0x20 <= b < 0x7F for b in raw):
        raise error(f"a resource path is non-empty printable ASCII, got {path!r}", "value")
    return raw + (b"\0" if nul else b"")


def _parse_path(raw: bytes, at: int) -> str:
    if raw.endswith(b"\0"):
        raw = raw[:-1]
    bad = next((i for i, b in enumerate(raw) if not 0x20 <= b < 0x7F), None)
    if not raw or bad is not None:
        raise error("a resource path is non-empty printable ASCII", "value", at + (bad or 0))
    return raw.decode("ascii")


def encode_command(command: str, reference: int, *, nul: bool = False, **fields: Any) -> bytes:
    """Build a GSP command.

    Parameters
    ----------
    command : str
        ``HELLO``, ``SUBSCRIBE`` (``path``), ``UNSUBSCRIBE``, ``FETCH_LOG`` (``log_id``), ``GET``
        (``path``), ``CLEAR_LOGBOOK``, ``PUT_DATALOGGER_CONFIG`` (``paths``), ``PUT_SYSTEMMODE``
        (``system_mode``), ``PUT_UTCTIME`` (``utc_us``: µs since 1970-01-01 UTC),
        ``PUT_DATALOGGER_STATE`` (``state``: 2 ready, 3 logging).
    reference : int
        Client-chosen reference 1..255 that the sensor echoes in its responses.
    nul : bool
        NUL-terminate a single path (both forms are in use; the shared vector has none).
    **fields
        The command's payload fields, as named above.

    Raises
    ------
    ProtocolError
        ``"type"`` for an unknown command, ``"value"`` for a bad reference or field.

    Examples
    --------
    >>> encode_command("SUBSCRIBE", 99, path="/Meas/IMU6/104").hex(" ")[:14]
    '01 63 2f 4d 65'
    """
    if command not in COMMANDS:
        raise error(f"unknown command {command!r}; known {sorted(COMMANDS, key=COMMANDS.get)}", "type")
    head = bytes([COMMANDS[command], _reference(reference)])
    spec = COMMAND_PAYLOAD[command]
    if spec == "none":
        names: tuple[str, ...] = ()
    elif spec in ("path", "paths"):
        names = (spec,)
    else:
        layout, names = unpack_spec(spec)
    if sorted(fields) != sorted(names):
        raise error(f"{command} takes {list(names)}, got {sorted(fields)}", "value")
    if spec == "none":
        return head
    if spec == "path":
        return head + _path_bytes(str(fields["path"]), nul)
    if spec == "paths":
        paths: Sequence[str] = fields["paths"]
        return head + b"".join(_path_bytes(p, True) for p in paths)
    try:
        return head + layout.pack(*(fields[k] for k in names))
    except struct.error as err:
        raise error(f"{command}: {err}", "value") from None


def parse_command(packet: bytes) -> dict[str, Any]:
    """A command's JSON-ready facts: ``command``, ``reference`` and its payload fields.

    Parameters
    ----------
    packet : bytes
        One command as written to the write characteristic.

    Raises
    ------
    ProtocolError
        ``"truncated"``/``"overlong"`` for a payload of the wrong size, ``"type"`` for an unknown
        command, ``"value"`` for a zero reference or a path that is not printable ASCII.
    """
    if len(packet) < HEADER:
        raise error("a command has a code and a reference byte", "truncated", len(packet))
    if packet[0] not in COMMAND_NAME:
        raise error(f"unknown command code {packet[0]}", "type", 0)
    name = COMMAND_NAME[packet[0]]
    info: dict[str, Any] = {"command": name, "reference": _reference(packet[1])}
    body, spec = packet[HEADER:], COMMAND_PAYLOAD[name]
    if spec == "none":
        if body:
            raise error(f"{name} carries no payload", "overlong", HEADER)
    elif spec == "path":
        info["path"] = _parse_path(body, HEADER)
    elif spec == "paths":
        if not body.endswith(b"\0"):
            raise error("DataLogger config paths are NUL-terminated", "truncated", len(packet))
        parts, at = [], HEADER
        for raw in body[:-1].split(b"\0"):
            parts.append(_parse_path(raw, at))
            at += len(raw) + 1
        info["paths"] = parts
    else:
        layout, names = unpack_spec(spec)
        if len(body) != layout.size:
            reason = "truncated" if len(body) < layout.size else "overlong"
            raise error(
                f"{name} carries {layout.size} payload bytes", reason, HEADER + min(len(body), layout.size)
            )
        info.update(zip(names, layout.unpack(body), strict=True))
    if "state" in info:
        if info["state"] not in DATALOGGER_STATE_NAME:
            raise error(f"unknown DataLogger state {info['state']}", "value", HEADER)
        info["state_name"] = DATALOGGER_STATE_NAME[info["state"]]
    return info


def encode_result(reference: int, status: int, data: bytes = b"") -> bytes:
    """A COMMAND_RESULT notification.

    Parameters
    ----------
    reference : int
        The command's reference (1..255).
    status : int
        HTTP-style status (200, 404, 507, ...), sent as uint16 little-endian.
    data : bytes
        Result data (e.g. the value a GET read).
    """
    if not 0 <= status <= 0xFFFF:
        raise error(f"status {status} is not a uint16", "value")
    return bytes([RESPONSES["COMMAND_RESULT"], _reference(reference)]) + _STATUS.pack(status) + data


def encode_hello_result(reference: int, protocol_version: int = 1, **strings: str) -> bytes:
    """The HELLO reply (no status field): protocol version, then NUL-terminated strings.

    Parameters
    ----------
    reference : int
        The HELLO command's reference.
    protocol_version : int
        GSP version (1).
    **strings : str
        ``serial``, ``product``, ``dfu_mac``, ``app_name`` and ``app_version``.
    """
    if sorted(strings) != sorted(_HELLO_FIELDS) or not 0 <= protocol_version <= 0xFF:
        raise error(f"HELLO reply takes protocol_version and {list(_HELLO_FIELDS)}", "value")
    text = b"".join(strings[k].encode() + b"\0" for k in _HELLO_FIELDS)
    return bytes([RESPONSES["COMMAND_RESULT"], _reference(reference), protocol_version]) + text


def parse_result(packet: bytes, command: str | None = None, path: str | None = None) -> dict[str, Any]:
    """A COMMAND_RESULT's JSON-ready facts: ``reference``, ``status``, ``data`` and parsed fields.

    Parameters
    ----------
    packet : bytes
        The notification.
    command : str, optional
        The command it answers; ``"HELLO"`` replies carry no status.
    path : str, optional
        The GET path it answers; ``/Time`` gives ``utc_us`` [µs since 1970 UTC] and
        ``/Mem/DataLogger/State`` gives ``state``.

    Raises
    ------
    ProtocolError
        For a short packet, a wrong response code or a data size the GET path does not allow.
    """
    if len(packet) < HEADER:
        raise error("a response has a code and a reference byte", "truncated", len(packet))
    if packet[0] != RESPONSES["COMMAND_RESULT"]:
        raise error(f"response code {packet[0]} is not COMMAND_RESULT", "type", 0)
    info: dict[str, Any] = {"response": "COMMAND_RESULT", "reference": _reference(packet[1])}
    body = packet[HEADER:]
    if command == "HELLO":
        info["command"] = "HELLO"
        if body == _LEGACY_HELLO:
            return info | {"hello": body.decode()}
        if not body:
            raise error("HELLO reply carries a protocol version", "truncated", HEADER)
        try:
            strings = body[1:].decode("utf-8").split("\0")
        except UnicodeDecodeError as err:
            raise error("HELLO strings are UTF-8", "value", HEADER + 1 + err.start) from None
        return info | {"protocol_version": body[0]} | dict(zip(_HELLO_FIELDS, strings, strict=False))
    if len(body) < _STATUS.size:
        raise error("COMMAND_RESULT carries a uint16 status", "truncated", len(packet))
    info["status"] = _STATUS.unpack_from(body)[0]
    data = body[_STATUS.size :]
    info["data"] = list(data)
    if command is not None:
        info["command"] = command
    if path is not None and path in GET_RESPONSES and info["status"] == 200:
        layout, names = unpack_spec(GET_RESPONSES[path])
        if len(data) != layout.size:
            reason = "truncated" if len(data) < layout.size else "overlong"
            raise error(
                f"GET {path} returns {layout.size} bytes", reason, HEADER + 2 + min(len(data), layout.size)
            )
        info.update(zip(names, layout.unpack(data), strict=True))
        if "state" in info:
            info["state_name"] = DATALOGGER_STATE_NAME.get(info["state"], "unknown")
    return info
