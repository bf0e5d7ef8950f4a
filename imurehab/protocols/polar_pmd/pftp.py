"""PFTP, Polar's file transfer over the PSFTP GATT service: frames, requests, directory listings.

Pure codecs, no I/O (``firmware_protocols/polar-pmd/spec.md`` §11 cites the source of every fact):

- :func:`encode_frame` / :func:`parse_frame`: one air frame, a header byte (``next``, status MORE/LAST/
  error, sequence number 0–15) and its payload; :func:`frame_message` cuts a message into frames of at
  most ATT MTU − 3 bytes, :func:`error_frame` is a device's status frame;
- :func:`build_request` / :func:`parse_request`: a request message (u16 LE header length, the
  ``PbPFtpOperation`` protobuf, PUT data);
- :func:`encode_directory` / :func:`decode_directory`: ``PbPFtpDirectory`` of ``PbPFtpEntry`` (name, size);
- :class:`ResponseReader`: the host side of a response, frame by frame, checking every sequence number.

Examples
--------
>>> frames = frame_message(build_request("GET", "/U/0/"), 20)
>>> [f.hex(" ") for f in frames]
['02 09 00 08 00 12 05 2f 55 2f 30 2f']
>>> reader = ResponseReader()
>>> reader.feed(bytes([0x06]) + bytes(19)), reader.feed(bytes([0x13, 0xAB]))
(False, True)
>>> len(reader.content), reader.error
(20, 0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from imurehab.protocols.polar_pmd._profile import fail, pmd_profile
from imurehab.protocols.polar_pmd.protobuf import LENGTH, VARINT, fields, key, length_delimited, varint

__all__ = [
    "CANCEL",
    "PFTP_ERRORS",
    "PFTP_GATT",
    "PftpEntry",
    "PftpFrame",
    "PftpRequest",
    "ResponseReader",
    "build_request",
    "decode_directory",
    "encode_directory",
    "encode_frame",
    "error_frame",
    "error_name",
    "frame_message",
    "parse_frame",
    "parse_request",
]

_P: Final = pmd_profile().raw["pftp"]
PFTP_GATT: Final[dict[str, str]] = {k: _P[k] for k in ("service", "mtu", "d2h", "h2d")}
"""UUIDs of the PSFTP service and its MTU, D2H and H2D characteristics (spec.md §11.1)."""
PFTP_ERRORS: Final[dict[int, str]] = {int(k): v for k, v in _P["errors"].items()}
"""``PbPFtpError`` names by code, with the SDK's host-side 303 (a lost frame)."""
CANCEL: Final = bytes(3)
"""What the host writes to the MTU characteristic to cancel a response stream (spec.md §11.3)."""
_STATUS: Final[dict[str, int]] = dict(_P["status"])
_STATUS_NAMES: Final = {v: k for k, v in _STATUS.items()}
_COMMANDS: Final[dict[str, int]] = dict(_P["commands"])
_COMMAND_NAMES: Final = {v: k for k, v in _COMMANDS.items()}
_MODULO: Final[int] = _P["sequence_modulo"]
_QUERY_BIT: Final[int] = _P["query_bit"]


def error_name(code: int) -> str:
    """The ``PbPFtpError`` name of ``code`` (``"ERROR_<code>"`` when unknown).

    Parameters
    ----------
    code : int
        Error code.
    """
    return PFTP_ERRORS.get(code, f"ERROR_{code}")


@dataclass(frozen=True)
class PftpFrame:
    """One air frame.

    Attributes
    ----------
    first : bool
        The message's first frame (header bit 0 clear).
    status : str
        ``"more"``, ``"last"`` or ``"error"`` (a status frame: ``error`` holds the code).
    sequence : int
        0–15.
    payload : bytes
        What follows the header (empty for a status frame).
    error : int or None
        The u16 code of a status frame; 0 means success without content.
    """

    first: bool
    status: str
    sequence: int
    payload: bytes = b""
    error: int | None = None


def encode_frame(frame: PftpFrame) -> bytes:
    """The bytes of one frame.

    Parameters
    ----------
    frame : PftpFrame
        Its fields (``error`` is required for status ``"error"``).
    """
    if frame.status not in _STATUS or not 0 <= frame.sequence < _MODULO:
        fail(f"status {frame.status!r} or sequence {frame.sequence} invalid", "value")
    head = (0 if frame.first else 1) | _STATUS[frame.status] << 1 | frame.sequence << 4
    if frame.status == "error":
        if frame.error is None or not 0 <= frame.error < 1 << 16:
            fail(f"a status frame needs a u16 error code, got {frame.error}", "value")
        return bytes([head]) + frame.error.to_bytes(2, "little")
    return bytes([head]) + frame.payload


def parse_frame(packet: bytes) -> PftpFrame:
    """Parse one frame (a notification of the MTU characteristic).

    Parameters
    ----------
    packet : bytes
        The notified bytes.

    Raises
    ------
    ProtocolError
        ``truncated`` (empty, or a status frame without its 2-byte code), ``value`` (status 2).
    """
    if not packet:
        fail("empty PFTP frame", "truncated", 0)
    head = packet[0]
    status = _STATUS_NAMES.get(head >> 1 & 3)
    if status is None:
        fail(f"PFTP frame status {head >> 1 & 3} is undefined", "value", 0)
    first, sequence = not head & 1, head >> 4
    if status != "error":
        return PftpFrame(first, status, sequence, bytes(packet[1:]))
    if len(packet) < 3:
        fail("PFTP status frame without its error code", "truncated", len(packet))
    return PftpFrame(first, status, sequence, error=int.from_bytes(packet[1:3], "little"))


def error_frame(code: int) -> bytes:
    """A device's one-frame status answer: ``code`` 0 is success without content.

    Parameters
    ----------
    code : int
        A ``PbPFtpError`` code.
    """
    return encode_frame(PftpFrame(True, "error", 0, error=code))


def frame_message(message: bytes, frame_bytes: int) -> list[bytes]:
    """Cut a message into frames of at most ``frame_bytes`` (ATT MTU − 3) bytes, sequence from 0.

    Parameters
    ----------
    message : bytes
        A request, or a response's content.
    frame_bytes : int
        Largest frame [bytes], ≥ 2.
    """
    if frame_bytes < 2:
        fail(f"frames of {frame_bytes} bytes cannot carry a payload", "value")
    room = frame_bytes - 1
    chunks = [message[i : i + room] for i in range(0, len(message), room)] or [b""]
    return [
        encode_frame(PftpFrame(i == 0, "last" if i == len(chunks) - 1 else "more", i % _MODULO, chunk))
        for i, chunk in enumerate(chunks)
    ]


@dataclass(frozen=True)
class PftpRequest:
    """A request message as the device reads it.

    Attributes
    ----------
    command : str
        ``"GET"``, ``"PUT"``, ``"MERGE"``, ``"REMOVE"``.
    path : str
        The file or directory (a directory ends with ``/``).
    data : bytes
        The file content of a PUT.
    """

    command: str
    path: str
    data: bytes = b""


def build_request(command: str, path: str, data: bytes = b"") -> bytes:
    """A request message: u16 LE header length, ``PbPFtpOperation {command, path}``, then ``data``.

    Parameters
    ----------
    command : str
        ``"GET"``, ``"PUT"``, ``"MERGE"`` or ``"REMOVE"``.
    path : str
        Device path.
    data : bytes
        PUT content.
    """
    if command not in _COMMANDS:
        fail(f"unknown PFTP command {command!r}; expected one of {sorted(_COMMANDS)}", "type")
    header = key(1, VARINT) + varint(_COMMANDS[command]) + key(2, LENGTH) + length_delimited(path.encode())
    if len(header) >= _QUERY_BIT:
        fail(f"request header of {len(header)} bytes exceeds 15 bits", "value")
    return len(header).to_bytes(2, "little") + header + data


def parse_request(message: bytes) -> PftpRequest:
    """Parse a request message (what a device reassembles from the frames written to it).

    Parameters
    ----------
    message : bytes
        The message.

    Raises
    ------
    ProtocolError
        ``truncated``; ``type`` (a query, an unknown command); ``value`` (a missing field, bad UTF-8).
    """
    if len(message) < 2:
        fail("PFTP message without its 2-byte length", "truncated", len(message))
    size = int.from_bytes(message[:2], "little")
    if size & _QUERY_BIT:
        fail(f"PFTP query {size & ~_QUERY_BIT} is not a request", "type", 0)
    if 2 + size > len(message):
        fail(f"PFTP request header of {size} bytes cut off", "truncated", len(message))
    command: int | None = None
    path: bytes | None = None
    for number, wire, value in fields(message[2 : 2 + size], offset=2):
        if number == 1 and wire == VARINT:
            command = int(value)  # type: ignore[arg-type]
        elif number == 2 and wire == LENGTH:
            path = value  # type: ignore[assignment]
    if command is None or path is None:
        fail("PbPFtpOperation lacks its command or path", "value", 2)
    if command not in _COMMAND_NAMES:
        fail(f"unknown PFTP command {command}", "type", 2)
    try:
        text = path.decode()
    except UnicodeDecodeError:
        fail("PFTP path is not UTF-8", "value", 2)
    return PftpRequest(_COMMAND_NAMES[command], text, bytes(message[2 + size :]))


@dataclass(frozen=True)
class PftpEntry:
    """One directory entry: ``name`` (a directory's ends with ``/``) and ``size`` [bytes]."""

    name: str
    size: int


def encode_directory(entries: Sequence[PftpEntry]) -> bytes:
    """A ``PbPFtpDirectory`` of entries (name and size only).

    Parameters
    ----------
    entries : sequence of PftpEntry
        In listing order.
    """
    out = b""
    for e in entries:
        entry = key(1, LENGTH) + length_delimited(e.name.encode()) + key(2, VARINT) + varint(e.size)
        out += key(1, LENGTH) + length_delimited(entry)
    return out


def decode_directory(data: bytes) -> list[PftpEntry]:
    """The entries of a ``PbPFtpDirectory`` (dates and unknown fields skipped).

    Parameters
    ----------
    data : bytes
        The content of a GET of a directory.

    Raises
    ------
    ProtocolError
        Malformed protobuf, an entry without name or size, a name not UTF-8 (``value``).
    """
    out = []
    for number, wire, value in fields(data):
        if number != 1 or wire != LENGTH:
            continue
        name: bytes | None = None
        size: int | None = None
        for n, w, v in fields(value):  # type: ignore[arg-type]
            if n == 1 and w == LENGTH:
                name = v  # type: ignore[assignment]
            elif n == 2 and w == VARINT:
                size = int(v)  # type: ignore[arg-type]
        if name is None or size is None:
            fail(f"directory entry {len(out)} lacks its name or size", "value")
        try:
            out.append(PftpEntry(name.decode(), size))
        except UnicodeDecodeError:
            fail(f"directory entry {len(out)}: name is not UTF-8", "value")
    return out


class ResponseReader:
    """Reassembles one response from its frames, checking every sequence number (spec.md §11.3).

    Attributes
    ----------
    content : bytearray
        Payload bytes so far.
    error : int or None
        The status frame's code once one arrived (0: success without content; 0 also after a LAST frame).
    frames : int
        Frames accepted.
    """

    def __init__(self) -> None:
        self.content = bytearray()
        self.error: int | None = None
        self.frames = 0

    def feed(self, packet: bytes) -> bool:
        """Take the next frame; True when the response is complete.

        Parameters
        ----------
        packet : bytes
            One MTU-characteristic notification.

        Raises
        ------
        ProtocolError
            ``sequence`` when a frame is missing (its sequence number or ``next`` bit is not the one
            expected), ``value`` after completion, and the errors of :func:`parse_frame`.
        """
        if self.error is not None:
            fail("frame after the end of the response", "value", 0)
        frame = parse_frame(packet)
        expected = self.frames % _MODULO
        if frame.sequence != expected or frame.first != (self.frames == 0):
            fail(
                f"frame {self.frames} of the response has sequence {frame.sequence}"
                f"{'' if frame.first == (self.frames == 0) else ' and the wrong next bit'}"
                f" (expected {expected}): a frame was lost",
                "sequence",
                0,
            )
        self.frames += 1
        if frame.status == "error":
            self.error = frame.error
            return True
        self.content += frame.payload
        if frame.status == "last":
            self.error = 0
        return self.error is not None

    @property
    def more_expected(self) -> bool:
        """The device is still sending this response (the host must cancel it to stop it)."""
        return self.error is None
