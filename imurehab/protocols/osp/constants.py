"""OSP v1 constants, read once from ``firmware_protocols/osp/profile.toml`` (the one source of the numbers).

Message types, status codes, frame flags, channel bits, GATT UUIDs and sizes live in the profile that the
C reference encoder and the spec share; this module turns them into Python enums and ``Final`` values.

Examples
--------
>>> from imurehab.protocols.osp.constants import MessageType, Status, SERVICE_UUID
>>> hex(MessageType.DATA), Status(7).name
('0x1', 'CRC_MISMATCH')
>>> SERVICE_UUID
'c47f0001-6f3d-4840-b4e8-1efca359db78'
"""

from __future__ import annotations

import enum
from typing import Any, Final

from imurehab.errors import ProtocolError
from imurehab.protocols.profiles import load_profile

__all__ = [
    "CHUNK_HEADER_BYTES",
    "CONTROL_POINT_UUID",
    "CRC_BYTES",
    "DATA_HEADER_BYTES",
    "DATA_UUID",
    "DESCRIPTOR_FIXED_BYTES",
    "DESCRIPTOR_UUID",
    "FAMILY_NAME",
    "FRAME_HEADER_BYTES",
    "LIST_ENTRY_BYTES",
    "LOG_DATA_UUID",
    "MAX_LIVE_FRAME_BYTES",
    "MAX_SAMPLES",
    "MAX_STRING_BYTES",
    "MIN_ATT_MTU",
    "PROFILE",
    "SERVICE_UUID",
    "VERSION",
    "Channel",
    "FrameFlag",
    "MessageType",
    "SessionState",
    "Status",
    "fail",
    "is_extension_frame",
]

FAMILY_NAME: Final = "osp"
PROFILE: Final[dict[str, Any]] = load_profile(FAMILY_NAME)
"""The parsed ``profile.toml`` (read-only)."""

VERSION: Final[int] = int(PROFILE["version"])
"""Byte 0 of every OSP v1 message."""

MessageType = enum.IntEnum("MessageType", PROFILE["message_types"])  # type: ignore[misc]
MessageType.__doc__ = "Byte 1 of every OSP message: frame, command, response, END or CHUNK."
Status = enum.IntEnum("Status", PROFILE["status"])  # type: ignore[misc]
Status.__doc__ = "Status byte of a RESPONSE or END (0 = OK)."
FrameFlag = enum.IntFlag("FrameFlag", PROFILE["frame"]["flags"])  # type: ignore[misc]
FrameFlag.__doc__ = "Bits of a DATA frame's flags byte."
Channel = enum.IntFlag("Channel", {k.upper(): v for k, v in PROFILE["channels"].items()})  # type: ignore[misc]
Channel.__doc__ = "Bits of ``channel_mask``: ACC, GYR, MAG; each present group is 3 int16 (x, y, z)."
SessionState = enum.IntEnum("SessionState", PROFILE["sessions"]["state"])  # type: ignore[misc]
SessionState.__doc__ = "State byte of a LIST entry: CLOSED, OPEN (still logging) or INTERRUPTED (reboot)."

FRAME_HEADER_BYTES: Final[int] = PROFILE["frame"]["header_bytes"]
DATA_HEADER_BYTES: Final[int] = PROFILE["frame"]["data_header_bytes"]
CRC_BYTES: Final[int] = PROFILE["frame"]["crc_bytes"]
MAX_SAMPLES: Final[int] = PROFILE["frame"]["max_samples"]
MAX_LIVE_FRAME_BYTES: Final[int] = PROFILE["frame"]["max_live_frame_bytes"]
DESCRIPTOR_FIXED_BYTES: Final[int] = PROFILE["descriptor"]["fixed_bytes"]
MAX_STRING_BYTES: Final[int] = PROFILE["descriptor"]["max_string_bytes"]
CHUNK_HEADER_BYTES: Final[int] = PROFILE["chunk"]["header_bytes"]
LIST_ENTRY_BYTES: Final[int] = PROFILE["list"]["entry_bytes"]
MIN_ATT_MTU: Final[int] = PROFILE["mtu"]["min_att_mtu"]

SERVICE_UUID: Final[str] = PROFILE["gatt"]["service"]
CONTROL_POINT_UUID: Final[str] = PROFILE["gatt"]["control_point"]
DATA_UUID: Final[str] = PROFILE["gatt"]["data"]
LOG_DATA_UUID: Final[str] = PROFILE["gatt"]["log_data"]
DESCRIPTOR_UUID: Final[str] = PROFILE["gatt"]["descriptor"]

_EXT_FIRST: Final[int] = PROFILE["extension_frames"]["first"]
_EXT_LAST: Final[int] = PROFILE["extension_frames"]["last"]


def is_extension_frame(frame_type: int) -> bool:
    """Whether a frame type is a skippable extension frame (a v1 reader checks its CRC and skips it).

    Parameters
    ----------
    frame_type : int
        Byte 1 of the frame.
    """
    return _EXT_FIRST <= frame_type <= _EXT_LAST


def fail(message: str, reason: str, offset: int | None = None) -> ProtocolError:
    """A :class:`~imurehab.errors.ProtocolError` of family ``osp`` (to ``raise``).

    Parameters
    ----------
    message : str
        What is wrong, for a person.
    reason : str
        ``"truncated"``, ``"overlong"``, ``"crc"``, ``"type"``, ``"value"``, ``"sequence"`` or ``"settings"``.
    offset : int, optional
        Byte offset of the problem in the message or log.
    """
    return ProtocolError(message, family=FAMILY_NAME, reason=reason, offset=offset)
