"""OSP v1 device messages: RESPONSE and END (control-point indications) and CHUNK (log-data notifications).

The device answers every command with one RESPONSE echoing opcode and tag, with a status and, on success,
the opcode's result. A READ is answered by RESPONSE (the range that will be sent), then CHUNK
notifications on the log-data characteristic, then END on the control point. Layouts: ``spec.md``.

Examples
--------
>>> c = decode_chunk(encode_chunk(Chunk(session_id=3, offset=0, data=b"abc")))
>>> c.data, c.end
(b'abc', 3)
>>> decode_response(encode_response(Response(MessageType.CMD_COMMIT, Status.CRC_MISMATCH, tag=4))).ok
False
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import astuple, dataclass, fields
from typing import Any, ClassVar

from imurehab.protocols.osp.commands import CONFIG_FORMAT, Packed, StreamConfig, exact_length, message_head
from imurehab.protocols.osp.constants import (
    CHUNK_HEADER_BYTES,
    CRC_BYTES,
    LIST_ENTRY_BYTES,
    PROFILE,
    VERSION,
    MessageType,
    Status,
    fail,
)
from imurehab.protocols.osp.frames import CRC_RESIDUE

__all__ = [
    "Chunk",
    "ClockSyncReply",
    "End",
    "LogStarted",
    "LogStopped",
    "ReadAccepted",
    "Response",
    "SessionEntry",
    "SessionList",
    "decode_chunk",
    "decode_end",
    "decode_response",
    "encode_chunk",
    "encode_end",
    "encode_response",
    "list_entries_per_response",
    "max_chunk_data",
    "message_json",
]

_ATT_OVERHEAD: int = PROFILE["mtu"]["att_overhead"]


@dataclass(frozen=True)
class SessionEntry(Packed):
    """One LIST entry: a session log on the device.

    ``state``: CLOSED, OPEN (still logging: length grows) or INTERRUPTED (closed by a reboot);
    ``length`` [bytes] and ``log_crc`` cover the durable log; ``first_time_us`` [µs since boot ``boot_id``].
    """

    FORMAT: ClassVar[str] = "IBIIIIQQ"
    session_id: int
    state: int
    boot_id: int
    length: int
    log_crc: int
    n_samples: int
    first_index: int
    first_time_us: int


@dataclass(frozen=True)
class SessionList:
    """LIST result: ``total`` sessions on the device; these ``entries`` start at entry ``first``."""

    total: int
    first: int
    entries: tuple[SessionEntry, ...] = ()

    def pack(self) -> bytes:
        """The packed body."""
        try:
            head = struct.pack("<HHB", self.total, self.first, len(self.entries))
        except struct.error as err:
            raise fail(f"SessionList: field out of range ({err})", "value") from err
        return head + b"".join(e.pack() for e in self.entries)


@dataclass(frozen=True)
class ReadAccepted(Packed):
    """READ result: the byte range that CHUNKs will carry (clipped to the durable log length)."""

    FORMAT: ClassVar[str] = "III"
    session_id: int
    offset: int
    length: int


@dataclass(frozen=True)
class LogStarted(Packed):
    """START_LOG result: the new session id and the configuration applied."""

    FORMAT: ClassVar[str] = "I" + CONFIG_FORMAT
    session_id: int
    rate_mhz: int
    channel_mask: int
    acc_range_g: int
    gyr_range_dps: int
    max_samples: int


@dataclass(frozen=True)
class LogStopped(Packed):
    """STOP_LOG result: the closed session's length [bytes], CRC-32 and sample count."""

    FORMAT: ClassVar[str] = "IIII"
    session_id: int
    length: int
    log_crc: int
    n_samples: int


@dataclass(frozen=True)
class ClockSyncReply(Packed):
    """CLOCK_SYNC result: ``t1_us`` echoed, device receive ``t2_us`` and send ``t3_us`` [µs since boot]."""

    FORMAT: ClassVar[str] = "QQQI"
    t1_us: int
    t2_us: int
    t3_us: int
    boot_id: int


Body = SessionList | ReadAccepted | StreamConfig | LogStarted | LogStopped | ClockSyncReply
_BODIES: dict[int, type[Any] | None] = {
    MessageType.CMD_LIST: SessionList,
    MessageType.CMD_READ: ReadAccepted,
    MessageType.CMD_ABORT: None,
    MessageType.CMD_COMMIT: None,
    MessageType.CMD_START_STREAM: StreamConfig,
    MessageType.CMD_STOP_STREAM: None,
    MessageType.CMD_START_LOG: LogStarted,
    MessageType.CMD_STOP_LOG: LogStopped,
    MessageType.CMD_CLOCK_SYNC: ClockSyncReply,
}


@dataclass(frozen=True)
class Response:
    """RESPONSE to one command: opcode and tag echoed, status, and the result when status is OK."""

    opcode: int
    status: int
    tag: int = 0
    body: Body | None = None

    @property
    def ok(self) -> bool:
        """Whether the device accepted the command."""
        return self.status == Status.OK


def encode_response(resp: Response) -> bytes:
    """The bytes a device indicates on the control point.

    Parameters
    ----------
    resp : Response
        The response; ``body`` must match the opcode when status is OK, and be None otherwise.
    """
    want = _BODIES.get(resp.opcode)
    ok_body = resp.body is None if (want is None or resp.status != Status.OK) else type(resp.body) is want
    if not ok_body or not (0 <= resp.tag <= 0xFF and 0 <= resp.status <= 0xFF and 0 <= resp.opcode <= 0xFF):
        raise fail("response body does not match its opcode/status, or a byte field is out of range", "value")
    head = bytes([VERSION, MessageType.RESPONSE, resp.opcode, resp.tag, resp.status])
    return head + (resp.body.pack() if resp.body is not None else b"")


def decode_response(buf: bytes | bytearray | memoryview) -> Response:
    """Parse a control-point indication of type RESPONSE.

    Parameters
    ----------
    buf : bytes-like
        The indicated value.

    Raises
    ------
    ProtocolError
        ``type`` (version, not a RESPONSE, unknown opcode with status OK), ``truncated``, ``overlong``.
    """
    b = message_head(buf, "response", 5)
    if b[1] != MessageType.RESPONSE:
        raise fail(f"message type 0x{b[1]:02x} is not RESPONSE", "type", 1)
    opcode, tag, status = b[2], b[3], b[4]
    if status != Status.OK:
        exact_length(b, 5, "error response")
        return Response(opcode, status, tag)
    if opcode not in _BODIES:
        raise fail(f"response to unknown opcode 0x{opcode:02x}", "type", 2)
    cls = _BODIES[opcode]
    if cls is None:
        exact_length(b, 5, "response")
        return Response(opcode, status, tag)
    if cls is SessionList:
        if len(b) < 10:
            raise fail("LIST response shorter than its 5-byte head", "truncated", len(b))
        total, first, count = struct.unpack_from("<HHB", b, 5)
        exact_length(b, 10 + count * LIST_ENTRY_BYTES, "LIST response")
        entries = tuple(
            SessionEntry(*struct.unpack_from("<" + SessionEntry.FORMAT, b, 10 + i * LIST_ENTRY_BYTES))
            for i in range(count)
        )
        return Response(opcode, status, tag, SessionList(total, first, entries))
    exact_length(b, 5 + cls.size(), f"{cls.__name__} response")
    return Response(opcode, status, tag, cls(*struct.unpack_from("<" + cls.FORMAT, b, 5)))


def list_entries_per_response(att_mtu: int) -> int:
    """LIST entries that fit one indication at an ATT MTU (at least 1 from the minimum MTU up).

    Parameters
    ----------
    att_mtu : int
        Negotiated ATT MTU [bytes].
    """
    return max(0, min(255, (att_mtu - _ATT_OVERHEAD - 10) // LIST_ENTRY_BYTES))


# --- END and CHUNK ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class End(Packed):
    """END of a READ: the range sent and its CRC-32, and the whole log's length and CRC-32 right now.

    ``state`` is the session's LIST state: while OPEN the log may still grow past ``log_length``.
    """

    FORMAT: ClassVar[str] = "BIIIIIIB"
    status: int
    session_id: int
    offset: int
    length: int
    range_crc: int
    log_length: int
    log_crc: int
    state: int
    tag: int = 0


def encode_end(end: End) -> bytes:
    """The bytes of an END indication.

    Parameters
    ----------
    end : End
        The END message (``tag`` = the READ's tag).
    """
    if not 0 <= end.tag <= 0xFF:
        raise fail("tag must be a u8", "value")
    return bytes([VERSION, MessageType.END, end.tag]) + end.pack()


def decode_end(buf: bytes | bytearray | memoryview) -> End:
    """Parse an END indication.

    Parameters
    ----------
    buf : bytes-like
        The indicated value.
    """
    b = message_head(buf, "END", 3)
    if b[1] != MessageType.END:
        raise fail(f"message type 0x{b[1]:02x} is not END", "type", 1)
    exact_length(b, 3 + End.size(), "END")
    return End(*struct.unpack_from("<" + End.FORMAT, b, 3), tag=b[2])


@dataclass(frozen=True)
class Chunk:
    """A CHUNK: ``data`` = bytes ``[offset, offset + len(data))`` of a session log."""

    session_id: int
    offset: int
    data: bytes

    @property
    def end(self) -> int:
        """Offset just past the chunk's data [bytes]."""
        return self.offset + len(self.data)


def max_chunk_data(att_mtu: int) -> int:
    """Most log bytes one CHUNK notification carries at an ATT MTU.

    Parameters
    ----------
    att_mtu : int
        Negotiated ATT MTU [bytes].
    """
    return max(0, att_mtu - _ATT_OVERHEAD - CHUNK_HEADER_BYTES - CRC_BYTES)


def encode_chunk(chunk: Chunk) -> bytes:
    """The bytes of a CHUNK notification (CRC-32 over header and data).

    Parameters
    ----------
    chunk : Chunk
        The chunk.
    """
    try:
        head = struct.pack(
            "<BBHII", VERSION, MessageType.CHUNK, len(chunk.data), chunk.session_id, chunk.offset
        )
    except struct.error as err:
        raise fail(f"chunk field out of range ({err})", "value") from err
    body = head + bytes(chunk.data)
    return body + struct.pack("<I", zlib.crc32(body))


def decode_chunk(buf: bytes | bytearray | memoryview) -> Chunk:
    """Parse and verify a CHUNK notification.

    Parameters
    ----------
    buf : bytes-like
        The notified value.

    Raises
    ------
    ProtocolError
        ``truncated`` (e.g. cut to MTU − 3), ``overlong``, ``type``, ``crc``.
    """
    b = message_head(buf, "CHUNK", CHUNK_HEADER_BYTES)
    if b[1] != MessageType.CHUNK:
        raise fail(f"message type 0x{b[1]:02x} is not CHUNK", "type", 1)
    n, session, offset = struct.unpack_from("<HII", b, 2)
    exact_length(b, CHUNK_HEADER_BYTES + n + CRC_BYTES, "CHUNK")
    if zlib.crc32(b) != CRC_RESIDUE:
        raise fail("CHUNK CRC-32 mismatch", "crc", len(b) - CRC_BYTES)
    return Chunk(session, offset, b[CHUNK_HEADER_BYTES : CHUNK_HEADER_BYTES + n])


def _plain(entry: SessionEntry) -> dict[str, int]:
    return dict(zip([g.name for g in fields(entry)], astuple(entry), strict=True))


def message_json(msg: Any) -> dict[str, Any]:
    """A decoded message as a JSON-ready dict (``kind`` + fields; bytes as hex; status and opcode named).

    Parameters
    ----------
    msg : dataclass
        A command, :class:`Response`, :class:`End` or :class:`Chunk`.
    """
    out: dict[str, Any] = {"kind": type(msg).__name__}
    for f in fields(msg):
        v = getattr(msg, f.name)
        if isinstance(v, bytes):
            v = v.hex()
        elif isinstance(v, SessionList):
            v = {"total": v.total, "first": v.first, "entries": [_plain(e) for e in v.entries]}
        elif v is not None and hasattr(v, "__dataclass_fields__"):
            v = message_json(v)
        out[f.name] = v
        if f.name == "status":
            out["status_name"] = Status(v).name if v in Status._value2member_map_ else None
        if f.name == "opcode":
            out["opcode_name"] = MessageType(v).name if v in MessageType._value2member_map_ else None
    return out
