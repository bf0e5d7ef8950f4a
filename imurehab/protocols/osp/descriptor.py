"""The OSP device descriptor: what the IMU is, its channels and their SI scales, rate, boot and session.

The DESCRIPTOR frame is the value of the descriptor characteristic and the first frame of every session
log, so a log decodes on its own. It shares the 6-byte frame head and the CRC-32 of every frame; its body
is fixed fields (36 bytes with the head) then four length-prefixed UTF-8 strings. Layout: ``spec.md``.

Examples
--------
>>> d = Descriptor(channel_mask=3, rate_mhz=200_000, acc_scale=16 * 9.80665 / 32768,
...                gyr_scale=0.00106526, mag_scale=0.0, boot_id=0x1234, imu_model="ICM-42688-P")
>>> raw = encode_descriptor(d)
>>> len(raw), decode_descriptor(raw) == d, d.rate_hz
(55, True, 200.0)
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from imurehab.protocols.osp.constants import (
    CRC_BYTES,
    DESCRIPTOR_FIXED_BYTES,
    MAX_STRING_BYTES,
    VERSION,
    Channel,
    MessageType,
    fail,
)
from imurehab.protocols.osp.frames import whole_frame

__all__ = [
    "Descriptor",
    "decode_descriptor",
    "descriptor_from_settings",
    "descriptor_json",
    "encode_descriptor",
]

_DESC_FIXED = struct.Struct("<BBBBHBBBBIfffIIH")  # 36 bytes
_U32 = struct.Struct("<I")
_STRINGS: Final = ("imu_model", "serial", "firmware", "axis_frame")
_GROUPS: Final = (Channel.ACC, Channel.GYR, Channel.MAG)


@dataclass(frozen=True)
class Descriptor:
    """The device descriptor: what the IMU is, which channels, their scales, rate, boot and session.

    Scales are stored as IEEE-754 float32 on the wire; the constructor rounds them to float32 so that
    ``decode_descriptor(encode_descriptor(d)) == d``.

    Attributes
    ----------
    channel_mask : int
        Channel bits present in DATA frames.
    rate_mhz : int
        Nominal sample rate [mHz] (u32; 200 Hz = 200000).
    acc_scale, gyr_scale, mag_scale : float
        SI value of one LSB: [m/s²/LSB], [rad/s/LSB], [µT/LSB] (0 for an absent channel).
    acc_range_g : int
        Accelerometer full scale [±g] (u8).
    gyr_range_dps : int
        Gyroscope full scale [±deg/s] (u16).
    boot_id : int
        Random non-zero u32 drawn at every boot: a new value means the device clock restarted.
    session_id : int
        The log session this descriptor opens (0 for the characteristic when not logging).
    imu_model, serial, firmware, axis_frame : str
        UTF-8, at most 32 bytes each; ``axis_frame`` says how x, y, z sit on the case.
    stream_id : int
        Stream described (u8).
    protocol_minor : int
        Additive revision of v1 the device implements (u8).
    """

    channel_mask: int
    rate_mhz: int
    acc_scale: float
    gyr_scale: float
    mag_scale: float
    boot_id: int
    session_id: int = 0
    acc_range_g: int = 16
    gyr_range_dps: int = 2000
    imu_model: str = ""
    serial: str = ""
    firmware: str = ""
    axis_frame: str = ""
    stream_id: int = 0
    protocol_minor: int = 0

    def __post_init__(self) -> None:
        for name in ("acc_scale", "gyr_scale", "mag_scale"):
            object.__setattr__(self, name, float(np.float32(getattr(self, name))))

    @property
    def rate_hz(self) -> float:
        """Nominal sample rate [Hz]."""
        return self.rate_mhz / 1000.0


def encode_descriptor(desc: Descriptor) -> bytes:
    """The bytes of a DESCRIPTOR frame (the descriptor characteristic's value; first frame of a log).

    Parameters
    ----------
    desc : Descriptor
        The descriptor.

    Raises
    ------
    ProtocolError
        ``value`` if a field is out of range or a string exceeds 32 UTF-8 bytes.
    """
    strings = [getattr(desc, s).encode("utf-8") for s in _STRINGS]
    if any(len(s) > MAX_STRING_BYTES for s in strings) or desc.channel_mask & ~0x07 or desc.rate_mhz == 0:
        raise fail("descriptor string longer than 32 bytes, bad channel mask or zero rate", "value")
    tail = b"".join(bytes([len(s)]) + s for s in strings)
    frame_len = DESCRIPTOR_FIXED_BYTES + len(tail) + CRC_BYTES
    try:
        head = _DESC_FIXED.pack(
            VERSION,
            MessageType.DESCRIPTOR,
            desc.stream_id,
            0,
            frame_len,
            desc.protocol_minor,
            desc.channel_mask,
            desc.acc_range_g,
            0,
            desc.rate_mhz,
            desc.acc_scale,
            desc.gyr_scale,
            desc.mag_scale,
            desc.boot_id,
            desc.session_id,
            desc.gyr_range_dps,
        )
    except (struct.error, OverflowError) as err:
        raise fail(f"descriptor field out of range: {err}", "value") from err
    body = head + tail
    return body + _U32.pack(zlib.crc32(body))


def decode_descriptor(buf: bytes | bytearray | memoryview) -> Descriptor:
    """Decode exactly one DESCRIPTOR frame.

    Parameters
    ----------
    buf : bytes-like
        The frame (the descriptor characteristic's value, or the first frame of a session log).

    Raises
    ------
    ProtocolError
        ``truncated``, ``overlong``, ``type``, ``crc`` or ``value`` (strings that do not fill the frame,
        invalid UTF-8, zero rate).
    """
    mv, frame_len = whole_frame(buf, MessageType.DESCRIPTOR)
    if frame_len < DESCRIPTOR_FIXED_BYTES + 4 + CRC_BYTES:
        raise fail(f"frame_len {frame_len} cannot hold a descriptor", "value", 4)
    (_, _, stream_id, _, _, minor, mask, acc_g, _, rate, acc_s, gyr_s, mag_s, boot, session, gyr_dps) = (
        _DESC_FIXED.unpack_from(mv)
    )
    pos, end, strings = DESCRIPTOR_FIXED_BYTES, frame_len - CRC_BYTES, []
    for _ in _STRINGS:
        if pos >= end or pos + 1 + mv[pos] > end or mv[pos] > MAX_STRING_BYTES:
            raise fail("descriptor strings overrun the frame", "value", pos)
        try:
            strings.append(bytes(mv[pos + 1 : pos + 1 + mv[pos]]).decode("utf-8"))
        except UnicodeDecodeError as err:
            raise fail("descriptor string is not UTF-8", "value", pos) from err
        pos += 1 + mv[pos]
    if pos != end:
        raise fail(f"{end - pos} unexpected bytes after the descriptor strings", "overlong", pos)
    if rate == 0 or mask & ~0x07 or not all(np.isfinite([acc_s, gyr_s, mag_s])):
        raise fail("descriptor has zero rate, a bad channel mask or a non-finite scale", "value", 7)
    return Descriptor(
        channel_mask=mask,
        rate_mhz=rate,
        acc_scale=acc_s,
        gyr_scale=gyr_s,
        mag_scale=mag_s,
        boot_id=boot,
        session_id=session,
        acc_range_g=acc_g,
        gyr_range_dps=gyr_dps,
        imu_model=strings[0],
        serial=strings[1],
        firmware=strings[2],
        axis_frame=strings[3],
        stream_id=stream_id,
        protocol_minor=minor,
    )


def descriptor_json(d: Descriptor | None) -> dict[str, Any] | None:
    """A descriptor as a JSON-ready dict (None stays None).

    Parameters
    ----------
    d : Descriptor or None
        The descriptor.
    """
    if d is None:
        return None
    return {k: getattr(d, k) for k in d.__dataclass_fields__}


def descriptor_from_settings(settings: Mapping[str, Any]) -> Descriptor | None:
    """A :class:`Descriptor` from decoder settings (``descriptor`` hex, or ``*_scale`` and ``rate``).

    Parameters
    ----------
    settings : Mapping
        ``descriptor``: the DESCRIPTOR frame in hex (a ``0x`` prefix is allowed); or ``acc_scale``
        [m/s²/LSB], ``gyr_scale`` [rad/s/LSB], ``mag_scale`` [µT/LSB] (absent = 0) and ``rate`` [Hz].
    """
    if "descriptor" in settings:
        text = str(settings["descriptor"]).strip()
        try:
            raw = bytes.fromhex(text[2:] if text.lower().startswith("0x") else text)
        except ValueError as err:
            raise fail("setting 'descriptor' is not hexadecimal", "settings") from err
        return decode_descriptor(raw)
    names = ("acc_scale", "gyr_scale", "mag_scale")
    if not any(k in settings for k in names):
        return None
    try:
        rate_mhz = round(float(settings["rate"]) * 1000)
        scales = [float(settings.get(k, 0.0)) for k in names]
    except (KeyError, TypeError, ValueError, OverflowError) as err:
        raise fail("settings need numeric acc_scale/gyr_scale/mag_scale and rate [Hz]", "settings") from err
    if not 0 < rate_mhz <= 0xFFFF_FFFF or not all(np.isfinite(scales)):
        raise fail("setting 'rate' must be positive and scales finite", "settings")
    mask = sum(bit for bit, k in zip(_GROUPS, names, strict=True) if k in settings)
    return Descriptor(
        channel_mask=mask,
        rate_mhz=rate_mhz,
        acc_scale=scales[0],
        gyr_scale=scales[1],
        mag_scale=scales[2],
        boot_id=0,
    )
