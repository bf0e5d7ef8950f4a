"""The ``osp`` registry entry: decode any mix of OSP frames and control messages for the CLI and ingest.

Packets whose type byte is a frame (DATA, DESCRIPTOR, extension) are joined, in order, into one byte
stream and decoded as a log (one frame per notification, or log pieces cut anywhere) — a DESCRIPTOR
frame sets the scales of the DATA frames after it. Errors name the packet and the offset within it.
Commands, RESPONSE, END and CHUNK messages are parsed into ``info["messages"]`` (for firmware authors).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from imurehab.errors import ProtocolError
from imurehab.protocols.base import DecodeResult, ProtocolFamily, Settings
from imurehab.protocols.osp.commands import decode_command
from imurehab.protocols.osp.constants import FAMILY_NAME, PROFILE, MessageType, fail, is_extension_frame
from imurehab.protocols.osp.descriptor import descriptor_from_settings
from imurehab.protocols.osp.log import LogDecoder
from imurehab.protocols.osp.messages import decode_chunk, decode_end, decode_response, message_json

__all__ = ["FAMILY", "decode"]

_FRAME_TYPES = (MessageType.DATA, MessageType.DESCRIPTOR)


def _message(packet: bytes) -> dict[str, Any]:
    kind = packet[1]
    if kind == MessageType.RESPONSE:
        return message_json(decode_response(packet))
    if kind == MessageType.END:
        return message_json(decode_end(packet))
    if kind == MessageType.CHUNK:
        return message_json(decode_chunk(packet))
    return message_json(decode_command(packet))


def _located(err: ProtocolError, index: int, count: int, offset: int | None) -> ProtocolError:
    """The same error at ``offset`` within packet ``index``, naming the packet when there are several."""
    text = str(err).removeprefix(f"{FAMILY_NAME}: ").removesuffix(f" ({err.reason})")
    if err.offset is not None:
        text = text.removesuffix(f" at byte {err.offset}")
    return fail(f"packet {index} of {count}: {text}" if count > 1 else text, err.reason, offset)


def decode(packets: Sequence[bytes], settings: Settings) -> DecodeResult:
    """Decode OSP packets: frames into SI samples, control messages into ``info["messages"]``.

    Parameters
    ----------
    packets : sequence of bytes
        Notifications, indications, control-point writes or log pieces, in order. Error offsets are
        within the packet named in the message (numbered from 0).
    settings : Mapping
        ``descriptor`` (DESCRIPTOR frame hex) or ``acc_scale`` [m/s²/LSB], ``gyr_scale`` [rad/s/LSB],
        ``mag_scale`` [µT/LSB] with ``rate`` [Hz], for DATA frames before any DESCRIPTOR frame;
        ``on_error`` (``raise`` or ``skip``); ``stream`` (stream id to keep).

    Returns
    -------
    DecodeResult
        See :func:`~imurehab.protocols.osp.log.decode_log`; plus ``info["messages"]`` when any.
    """
    try:
        stream = settings.get("stream")
        decoder = LogDecoder(
            descriptor=descriptor_from_settings(settings),
            on_error=str(settings.get("on_error", "raise")),
            stream_id=None if stream is None else int(stream),
        )
    except (TypeError, ValueError) as err:
        if isinstance(err, ProtocolError):
            raise
        raise fail(f"bad setting: {err}", "settings") from err
    messages: list[dict[str, Any]] = []
    frames: list[bytes] = []
    where: list[int] = []  # packet index of each frame packet
    for i, packet in enumerate(packets):
        if len(packet) >= 2 and packet[1] not in _FRAME_TYPES and not is_extension_frame(packet[1]):
            try:
                if packet[0] != PROFILE["version"]:
                    raise fail(f"unsupported OSP version {packet[0]}", "type", 0)
                messages.append(_message(packet))
            except ProtocolError as err:
                raise _located(err, i, len(packets), err.offset) from None
        else:
            frames.append(packet)
            where.append(i)
    try:
        decoder.feed(b"".join(frames))  # one byte stream: fast, and frames may span packets
    except ProtocolError as err:
        ends = np.cumsum([len(f) for f in frames])
        k = min(int(np.searchsorted(ends, err.offset or 0, side="right")), len(frames) - 1)
        offset = None if err.offset is None else err.offset - int(ends[k] - len(frames[k]))
        raise _located(err, where[k], len(packets), offset) from None
    result = decoder.result()
    if messages:
        result.info["messages"] = messages
    return result


FAMILY = ProtocolFamily(
    name=FAMILY_NAME,
    title=PROFILE["title"],
    settings={
        "descriptor": "DESCRIPTOR frame in hex (0x prefix allowed), for DATA frames not preceded by one",
        "acc_scale": "accelerometer LSB [m/s²] (instead of descriptor; with rate)",
        "gyr_scale": "gyroscope LSB [rad/s]",
        "mag_scale": "magnetometer LSB [µT]",
        "rate": "sample rate [Hz] (with *_scale)",
        "on_error": "raise (default) or skip damaged frames, counted in info.rejected",
        "stream": "stream id to keep (default: the first DATA frame's)",
    },
    decode=decode,
)
"""Registry entry of the imurehab Open Sensor Protocol."""
