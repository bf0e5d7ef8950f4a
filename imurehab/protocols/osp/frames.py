"""OSP v1 frames one at a time: CRC-32, the common frame head and the DATA frame (encode and decode).

Every frame starts with the same 6 bytes (version, type, stream_id, flags, frame_len u16) and ends with the
CRC-32 (IEEE 802.3, reflected, the one ``zlib.crc32`` computes) of all bytes before it, little-endian. A
DATA frame carries ``n_samples`` samples of channel-interleaved int16 (acc xyz, gyr xyz, mag xyz, the groups
the channel mask names), the session id, a u32 sequence number, the u64 index and u64 device time [µs] of
its first sample. The DESCRIPTOR frame describes the device and the scale of each channel; it is the value
of the descriptor characteristic and the first frame of every session log. Layouts: ``spec.md``.

Examples
--------
>>> import numpy as np
>>> f = DataFrame(stream_id=0, flags=0, session_id=7, seq=0, first_index=0, first_time_us=1000,
...               channel_mask=1, samples=np.array([[1, 2, 3]], dtype=np.int16))
>>> raw = encode_data_frame(f)
>>> len(raw), decode_data_frame(raw) == f
(42, True)
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from imurehab.protocols.osp.constants import (
    CRC_BYTES,
    DATA_HEADER_BYTES,
    FRAME_HEADER_BYTES,
    MAX_SAMPLES,
    VERSION,
    MessageType,
    fail,
)

__all__ = [
    "CRC_CHECK",
    "CRC_RESIDUE",
    "DataFrame",
    "channel_count",
    "check_frame_head",
    "crc32",
    "decode_data_frame",
    "encode_data_frame",
    "frame_bytes",
    "sample_times_ns",
    "whole_frame",
]

CRC_CHECK: Final = 0xCBF43926
"""CRC-32 of the ASCII bytes ``123456789`` (the standard check value)."""
CRC_RESIDUE: Final = 0x2144DF1C
"""CRC-32 of any intact message followed by its own little-endian CRC-32."""

_DATA_HEAD = struct.Struct("<BBBBHBBIIQQ")  # 32 bytes
_U32 = struct.Struct("<I")
_U16_MAX: Final = 0xFFFF
_U32_MAX: Final = 0xFFFF_FFFF
_U64_MAX: Final = 0xFFFF_FFFF_FFFF_FFFF


def crc32(data: bytes | bytearray | memoryview, value: int = 0) -> int:
    """CRC-32/ISO-HDLC (IEEE 802.3): reflected, poly 0xEDB88320, init and xorout 0xFFFFFFFF.

    Parameters
    ----------
    data : bytes-like
        The bytes.
    value : int, optional
        The CRC of the bytes before ``data``, to continue a running CRC (0 to start).

    Examples
    --------
    >>> hex(crc32(b"123456789"))
    '0xcbf43926'
    >>> crc32(b"6789", crc32(b"12345")) == CRC_CHECK
    True
    """
    return zlib.crc32(data, value)


def channel_count(channel_mask: int) -> int:
    """Number of int16 values per sample for a channel mask (3 per group present).

    Parameters
    ----------
    channel_mask : int
        Bits of :class:`~imurehab.protocols.osp.constants.Channel`.
    """
    return 3 * bin(channel_mask & 0x07).count("1")


def frame_bytes(n_samples: int, channel_mask: int) -> int:
    """Total bytes of a DATA frame: 32-byte header, ``2 × n × channels`` payload, 4-byte CRC.

    Parameters
    ----------
    n_samples : int
        Samples in the frame (1–255).
    channel_mask : int
        Channel bits.
    """
    return DATA_HEADER_BYTES + 2 * n_samples * channel_count(channel_mask) + CRC_BYTES


def sample_times_ns(first_time_us: int, n_samples: int, rate_mhz: int) -> npt.NDArray[np.int64]:
    """Device times of a frame's samples [ns]: ``first_time_us·1000 + ⌊k·10¹²/rate_mHz⌋``.

    Parameters
    ----------
    first_time_us : int
        Device time of the first sample [µs since boot].
    n_samples : int
        Samples in the frame.
    rate_mhz : int
        Nominal sample rate [mHz] (200 Hz = 200000).

    Examples
    --------
    >>> sample_times_ns(10, 3, 3_000_000).tolist()  # 3 kHz
    [10000, 343333, 676666]
    """
    k = np.arange(n_samples, dtype=np.int64)
    return first_time_us * 1000 + (k * 10**12) // rate_mhz


@dataclass(frozen=True, eq=False)
class DataFrame:
    """One DATA frame.

    Attributes
    ----------
    stream_id : int
        Which sensor stream of the device (u8; 0 for the IMU).
    flags : int
        :class:`~imurehab.protocols.osp.constants.FrameFlag` bits.
    session_id : int
        The log session these samples are recorded in (u32; 0 when not logging).
    seq : int
        Frame sequence number (u32), +1 per frame of a stream or session.
    first_index : int
        Device sample counter of the first sample (u64; +1 per sample acquired since boot).
    first_time_us : int
        Device monotonic clock at the first sample [µs since boot] (u64).
    channel_mask : int
        Channel bits (ACC 1, GYR 2, MAG 4).
    samples : ndarray of int16, shape (n, channels)
        Raw samples: per sample acc x,y,z then gyr x,y,z then mag x,y,z (the groups present).
    """

    stream_id: int
    flags: int
    session_id: int
    seq: int
    first_index: int
    first_time_us: int
    channel_mask: int
    samples: npt.NDArray[np.int16] = field(repr=False)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DataFrame):
            return NotImplemented
        head = ("stream_id", "flags", "session_id", "seq", "first_index", "first_time_us", "channel_mask")
        return all(getattr(self, a) == getattr(other, a) for a in head) and np.array_equal(
            self.samples, other.samples
        )

    __hash__ = None  # type: ignore[assignment]


def check_frame_head(buf: bytes | memoryview, offset: int = 0) -> tuple[int, int]:
    """Check the common 6-byte frame head at ``offset``; return (frame type, frame_len).

    Parameters
    ----------
    buf : bytes-like
        The buffer holding the frame.
    offset : int, optional
        Where the frame starts in ``buf`` (also the base of error offsets).

    Raises
    ------
    ProtocolError
        ``truncated`` (fewer bytes than the head or than frame_len), ``type`` (unknown version).
    """
    avail = len(buf) - offset
    if avail < FRAME_HEADER_BYTES:
        raise fail(f"{avail} bytes cannot hold a frame head ({FRAME_HEADER_BYTES})", "truncated", offset)
    if buf[offset] != VERSION:
        raise fail(f"unsupported OSP version {buf[offset]} (this reader speaks {VERSION})", "type", offset)
    frame_len = buf[offset + 4] | buf[offset + 5] << 8
    if frame_len < FRAME_HEADER_BYTES + CRC_BYTES:
        raise fail(f"frame_len {frame_len} is below the minimum", "value", offset + 4)
    if frame_len > avail:
        raise fail(f"frame_len {frame_len} but only {avail} bytes", "truncated", offset + 4)
    return buf[offset + 1], frame_len


def _check_crc(buf: bytes | memoryview, offset: int, frame_len: int) -> None:
    end = offset + frame_len
    if zlib.crc32(buf[offset:end]) != CRC_RESIDUE:
        raise fail("CRC-32 mismatch", "crc", end - CRC_BYTES)


def whole_frame(buf: bytes | bytearray | memoryview, kind: MessageType) -> tuple[memoryview, int]:
    """Check that ``buf`` is exactly one intact frame of type ``kind``; return it as bytes view and length.

    Parameters
    ----------
    buf : bytes-like
        The frame.
    kind : MessageType
        The frame type expected.
    """
    mv = memoryview(buf).cast("B") if not isinstance(buf, memoryview) else buf
    frame_type, frame_len = check_frame_head(mv)
    if frame_type != kind:
        raise fail(f"frame type 0x{frame_type:02x} is not {kind.name}", "type", 1)
    if len(mv) > frame_len:
        raise fail(f"{len(mv) - frame_len} bytes after the frame", "overlong", frame_len)
    _check_crc(mv, 0, frame_len)
    return mv, frame_len


def encode_data_frame(frame: DataFrame) -> bytes:
    """The bytes of a DATA frame.

    Parameters
    ----------
    frame : DataFrame
        The frame; ``samples`` shape (1–255, 3 × groups in ``channel_mask``).

    Raises
    ------
    ProtocolError
        ``value`` if a field is out of its range or the sample shape does not fit the mask.
    """
    s = np.asarray(frame.samples)
    ch = channel_count(frame.channel_mask)
    if s.ndim != 2 or ch == 0 or s.shape[1] != ch or not 1 <= s.shape[0] <= MAX_SAMPLES:
        raise fail(f"samples of shape {s.shape} do not fit channel mask {frame.channel_mask}", "value")
    if (
        frame.channel_mask & ~0x07
        or s.dtype.kind not in "iu"
        or (s.size and (s.min() < -32768 or s.max() > 32767))
    ):
        raise fail("channel mask or sample values out of range", "value")
    n = s.shape[0]
    try:
        head = _DATA_HEAD.pack(
            VERSION,
            MessageType.DATA,
            frame.stream_id,
            frame.flags,
            frame_bytes(n, frame.channel_mask),
            n,
            frame.channel_mask,
            frame.session_id,
            frame.seq,
            frame.first_index,
            frame.first_time_us,
        )
    except struct.error as err:
        raise fail(f"header field out of range: {err}", "value") from err
    body = head + s.astype("<i2").tobytes()
    return body + _U32.pack(zlib.crc32(body))


def decode_data_frame(buf: bytes | bytearray | memoryview) -> DataFrame:
    """Decode exactly one DATA frame.

    Parameters
    ----------
    buf : bytes-like
        The frame (e.g. one notification of the data characteristic).

    Raises
    ------
    ProtocolError
        ``truncated``, ``overlong``, ``type`` (version or frame type), ``crc``, or ``value`` (sample count
        or channel mask inconsistent with frame_len).
    """
    mv, frame_len = whole_frame(buf, MessageType.DATA)
    if frame_len < DATA_HEADER_BYTES + CRC_BYTES:
        raise fail(f"frame_len {frame_len} cannot hold the DATA header", "value", 4)
    _, _, stream_id, flags, _, n, mask, session, seq, index, t_us = _DATA_HEAD.unpack_from(mv)
    if n == 0 or mask == 0 or mask & ~0x07 or frame_bytes(n, mask) != frame_len:
        raise fail(f"{n} samples of mask {mask} do not fill frame_len {frame_len}", "value", 6)
    payload = np.frombuffer(mv, dtype="<i2", count=n * channel_count(mask), offset=DATA_HEADER_BYTES)
    return DataFrame(
        stream_id, flags, session, seq, index, t_us, mask, payload.astype(np.int16).reshape(n, -1)
    )
