"""OSP v1 commands (host → control point) and the packing shared by every control message.

Every message starts ``version, type``. A command continues with a host-chosen ``tag`` (echoed in the
RESPONSE) and its fixed little-endian parameters. Layouts: ``firmware_protocols/osp/spec.md``.

Examples
--------
>>> cmd = ReadCommand(session_id=3, offset=0, length=0xFFFFFFFF, tag=1)
>>> encode_command(cmd).hex(" ")
'01 11 01 03 00 00 00 00 00 00 00 ff ff ff ff'
>>> decode_command(encode_command(cmd)) == cmd
True
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from imurehab.protocols.osp.constants import VERSION, MessageType, fail

__all__ = [
    "CONFIG_FORMAT",
    "AbortCommand",
    "ClockSyncCommand",
    "Command",
    "CommitCommand",
    "ListCommand",
    "Packed",
    "ReadCommand",
    "StartLogCommand",
    "StartStreamCommand",
    "StopLogCommand",
    "StopStreamCommand",
    "StreamConfig",
    "decode_command",
    "encode_command",
    "exact_length",
    "message_head",
]

CONFIG_FORMAT = "IBBHB"
"""struct format of acquisition settings: rate_mhz, channel_mask, acc_range_g, gyr_range_dps, max_samples."""


class Packed:
    """Fixed-layout fields packed in declaration order (``tag`` excluded) with ``FORMAT``."""

    FORMAT: ClassVar[str] = ""

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f.name) for f in fields(self) if f.name != "tag")  # type: ignore[arg-type]

    def pack(self) -> bytes:
        """The packed fields."""
        try:
            return struct.pack("<" + self.FORMAT, *self._values())
        except struct.error as err:
            raise fail(f"{type(self).__name__}: field out of range ({err})", "value") from err

    @classmethod
    def size(cls) -> int:
        """Packed size [bytes]."""
        return struct.calcsize("<" + cls.FORMAT)


# --- commands ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListCommand(Packed):
    """LIST: the device's sessions from entry ``first`` on (paged by MTU)."""

    OPCODE: ClassVar[MessageType] = MessageType.CMD_LIST
    FORMAT: ClassVar[str] = "H"
    first: int = 0
    tag: int = 0


@dataclass(frozen=True)
class ReadCommand(Packed):
    """READ: send ``length`` bytes (0xFFFFFFFF: to the end) of a session log from byte ``offset``."""

    OPCODE: ClassVar[MessageType] = MessageType.CMD_READ
    FORMAT: ClassVar[str] = "III"
    session_id: int
    offset: int
    length: int
    tag: int = 0


@dataclass(frozen=True)
class AbortCommand(Packed):
    """ABORT: stop the READ in progress (END follows with status ABORTED)."""

    OPCODE: ClassVar[MessageType] = MessageType.CMD_ABORT
    tag: int = 0


@dataclass(frozen=True)
class CommitCommand(Packed):
    """COMMIT: erase a session, only if ``length`` and ``log_crc`` match the device's own."""

    OPCODE: ClassVar[MessageType] = MessageType.CMD_COMMIT
    FORMAT: ClassVar[str] = "III"
    session_id: int
    length: int
    log_crc: int
    tag: int = 0


@dataclass(frozen=True)
class StreamConfig(Packed):
    """Acquisition settings (START_STREAM body and its RESPONSE): rate [mHz], channels, ranges, frame size.

    ``acc_range_g`` [±g], ``gyr_range_dps`` [±deg/s]; 0 in a command = keep the current value.
    ``max_samples`` caps samples per frame (0 = as many as the MTU allows).
    """

    FORMAT: ClassVar[str] = CONFIG_FORMAT
    rate_mhz: int
    channel_mask: int
    acc_range_g: int = 0
    gyr_range_dps: int = 0
    max_samples: int = 0


@dataclass(frozen=True)
class StartStreamCommand(StreamConfig):
    """START_STREAM: notify live DATA frames with this configuration."""

    OPCODE: ClassVar[MessageType] = MessageType.CMD_START_STREAM
    tag: int = 0


@dataclass(frozen=True)
class StopStreamCommand(Packed):
    """STOP_STREAM: stop live notifications (the last frame carries LAST)."""

    OPCODE: ClassVar[MessageType] = MessageType.CMD_STOP_STREAM
    tag: int = 0


@dataclass(frozen=True)
class StartLogCommand(StreamConfig):
    """START_LOG: open a new session log with this configuration."""

    OPCODE: ClassVar[MessageType] = MessageType.CMD_START_LOG
    tag: int = 0


@dataclass(frozen=True)
class StopLogCommand(Packed):
    """STOP_LOG: close the open session (its last frame carries LAST)."""

    OPCODE: ClassVar[MessageType] = MessageType.CMD_STOP_LOG
    tag: int = 0


@dataclass(frozen=True)
class ClockSyncCommand(Packed):
    """CLOCK_SYNC: host send time ``t1_us`` (opaque to the device, echoed) [µs on the host clock]."""

    OPCODE: ClassVar[MessageType] = MessageType.CMD_CLOCK_SYNC
    FORMAT: ClassVar[str] = "Q"
    t1_us: int
    tag: int = 0


Command = (
    ListCommand
    | ReadCommand
    | AbortCommand
    | CommitCommand
    | StartStreamCommand
    | StopStreamCommand
    | StartLogCommand
    | StopLogCommand
    | ClockSyncCommand
)
_COMMANDS: dict[int, type[Any]] = {
    c.OPCODE: c
    for c in (
        ListCommand,
        ReadCommand,
        AbortCommand,
        CommitCommand,
        StartStreamCommand,
        StopStreamCommand,
        StartLogCommand,
        StopLogCommand,
        ClockSyncCommand,
    )
}


def message_head(buf: bytes | bytearray | memoryview, kind: str, minimum: int) -> bytes:
    """The message as bytes, after checking its version and minimum length.

    Parameters
    ----------
    buf : bytes-like
        The message.
    kind : str
        Its name, for error messages.
    minimum : int
        Bytes it must have at least.
    """
    b = bytes(buf)
    if not b:
        raise fail(f"empty {kind}", "truncated", 0)
    if b[0] != VERSION:
        raise fail(f"unsupported OSP version {b[0]} (this reader speaks {VERSION})", "type", 0)
    if len(b) < minimum:
        raise fail(f"{kind} of {len(b)} bytes is shorter than {minimum}", "truncated", len(b))
    return b


def exact_length(b: bytes, size: int, kind: str) -> None:
    """Raise ``truncated`` / ``overlong`` unless the message has exactly ``size`` bytes.

    Parameters
    ----------
    b : bytes
        The message.
    size : int
        Its required length [bytes].
    kind : str
        Its name, for error messages.
    """
    if len(b) < size:
        raise fail(f"{kind} needs {size} bytes, got {len(b)}", "truncated", len(b))
    if len(b) > size:
        raise fail(f"{len(b) - size} bytes after the {kind}", "overlong", size)


def encode_command(cmd: Command) -> bytes:
    """The bytes a host writes to the control point.

    Parameters
    ----------
    cmd : command dataclass
        One of the ``*Command`` classes.
    """
    if not 0 <= cmd.tag <= 0xFF:
        raise fail("tag must be a u8", "value")
    return bytes([VERSION, cmd.OPCODE, cmd.tag]) + cmd.pack()


def decode_command(buf: bytes | bytearray | memoryview) -> Command:
    """Parse a control-point write (what a device firmware does).

    Parameters
    ----------
    buf : bytes-like
        The written value.

    Raises
    ------
    ProtocolError
        ``type`` (version or unknown opcode; a device answers UNSUPPORTED_VERSION / UNKNOWN_OPCODE),
        ``truncated`` / ``overlong`` (a device answers INVALID_LENGTH).
    """
    b = message_head(buf, "command", 3)
    cls = _COMMANDS.get(b[1])
    if cls is None:
        raise fail(f"unknown opcode 0x{b[1]:02x}", "type", 1)
    exact_length(b, 3 + cls.size(), cls.__name__)
    return cls(*struct.unpack_from("<" + cls.FORMAT, b, 3), tag=b[2])
