"""Encoding OSP streams and logs from samples: what a firmware (or a virtual sensor) sends and stores.

SI values become int16 with :func:`quantize`; :func:`encode_frames` cuts a contiguous block of samples into
DATA frames (setting the saturation flags as a firmware does); :func:`encode_log` prefixes the session's
DESCRIPTOR frame and marks the last frame; :func:`max_samples_per_frame` sizes frames for an ATT MTU.

Examples
--------
>>> max_samples_per_frame(247, 0x03), max_samples_per_frame(247, 0x07), max_samples_per_frame(64, 0x07)
(17, 11, 1)
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from imurehab.protocols.osp.constants import (
    CRC_BYTES,
    DATA_HEADER_BYTES,
    MAX_SAMPLES,
    PROFILE,
    Channel,
    FrameFlag,
    fail,
)
from imurehab.protocols.osp.descriptor import Descriptor, encode_descriptor
from imurehab.protocols.osp.frames import DataFrame, channel_count, encode_data_frame

__all__ = ["encode_frames", "encode_log", "max_samples_per_frame", "quantize", "saturation_flags"]

_ATT_OVERHEAD: int = PROFILE["mtu"]["att_overhead"]


def max_samples_per_frame(att_mtu: int, channel_mask: int) -> int:
    """Most samples one DATA frame can carry in one notification at an ATT MTU.

    Parameters
    ----------
    att_mtu : int
        Negotiated ATT MTU [bytes]; a notification carries ``att_mtu − 3`` bytes.
    channel_mask : int
        Channel bits.

    Returns
    -------
    int
        1–255; 0 if not even one sample fits (below the protocol's minimum MTU).
    """
    room = att_mtu - _ATT_OVERHEAD - DATA_HEADER_BYTES - CRC_BYTES
    per_sample = 2 * channel_count(channel_mask)
    return max(0, min(MAX_SAMPLES, room // per_sample)) if per_sample else 0


def quantize(values: npt.ArrayLike, scale: float) -> npt.NDArray[np.int16]:
    """SI values → int16 LSB counts: round half to even, clip to [−32768, 32767].

    Parameters
    ----------
    values : array_like
        Values in SI units ([m/s²], [rad/s] or [µT]).
    scale : float
        SI value of one LSB (> 0).

    Examples
    --------
    >>> quantize([0.5, 1.6, 1e9], 0.1).tolist()
    [5, 16, 32767]
    """
    if not scale > 0:
        raise fail("scale must be positive", "value")
    q = np.rint(np.asarray(values, dtype=np.float64) / scale)
    return np.clip(np.nan_to_num(q), -32768, 32767).astype(np.int16)


def saturation_flags(samples: npt.NDArray[np.int16], channel_mask: int) -> int:
    """ACC/GYR/MAG_SATURATED bits for a frame: a group has a value at −32768 or 32767.

    Parameters
    ----------
    samples : ndarray of int16, shape (n, channels)
        The frame's samples.
    channel_mask : int
        Channel bits.
    """
    flags, col = 0, 0
    for bit, flag in (
        (Channel.ACC, FrameFlag.ACC_SATURATED),
        (Channel.GYR, FrameFlag.GYR_SATURATED),
        (Channel.MAG, FrameFlag.MAG_SATURATED),
    ):
        if channel_mask & bit:
            group = samples[:, col : col + 3]
            if (group == 32767).any() or (group == -32768).any():
                flags |= int(flag)
            col += 3
    return flags


def encode_frames(
    raw: npt.NDArray[np.int16],
    *,
    channel_mask: int,
    first_index: int,
    first_time_us: int,
    rate_mhz: int,
    samples_per_frame: int,
    session_id: int = 0,
    stream_id: int = 0,
    first_seq: int = 0,
    time_us: npt.NDArray[np.int64] | None = None,
    gap_before: bool = False,
    last: bool = False,
) -> list[bytes]:
    """Cut a contiguous block of samples into DATA frames.

    Parameters
    ----------
    raw : ndarray of int16, shape (n, channels)
        Samples, channel-interleaved (acc, gyr, mag groups in ``channel_mask``).
    channel_mask : int
        Channel bits.
    first_index : int
        Device sample index of ``raw[0]``; the block is contiguous.
    first_time_us : int
        Device time of ``raw[0]`` [µs since boot].
    rate_mhz : int
        Nominal rate [mHz]: frame ``f`` starts at ``first_time_us + ⌊k·10⁹/rate_mHz⌋`` µs (k its first
        sample), unless ``time_us`` gives each sample's measured time.
    samples_per_frame : int
        Samples per frame (1–255); the last frame may hold fewer.
    session_id, stream_id, first_seq : int, optional
        Header fields; ``seq`` counts up from ``first_seq`` (mod 2³²).
    time_us : ndarray of int64, optional
        Each sample's device time [µs]; frames carry their first sample's.
    gap_before : bool, optional
        Flag the first frame GAP_BEFORE (the device dropped samples just before this block).
    last : bool, optional
        Flag the final frame LAST (end of a session or stream).

    Returns
    -------
    list of bytes
        One DATA frame each.
    """
    raw = np.asarray(raw)
    if not 1 <= samples_per_frame <= MAX_SAMPLES or raw.ndim != 2:
        raise fail(f"samples_per_frame {samples_per_frame} must be 1..255 and raw 2-D", "value")
    if time_us is not None and len(time_us) != len(raw):
        raise fail("time_us must have one entry per sample", "value")
    frames = []
    starts = range(0, len(raw), samples_per_frame)
    for f, k in enumerate(starts):
        block = raw[k : k + samples_per_frame]
        flags = saturation_flags(block, channel_mask)
        if f == 0 and gap_before:
            flags |= FrameFlag.GAP_BEFORE
        if last and f == len(starts) - 1:
            flags |= FrameFlag.LAST
        t0 = int(time_us[k]) if time_us is not None else first_time_us + (k * 10**9) // rate_mhz
        frames.append(
            encode_data_frame(
                DataFrame(
                    stream_id,
                    int(flags),
                    session_id,
                    (first_seq + f) % 2**32,
                    first_index + k,
                    t0,
                    channel_mask,
                    block,
                )
            )
        )
    return frames


def encode_log(
    descriptor: Descriptor,
    raw: npt.NDArray[np.int16],
    *,
    first_index: int,
    first_time_us: int,
    samples_per_frame: int,
    time_us: npt.NDArray[np.int64] | None = None,
    closed: bool = True,
) -> bytes:
    """A whole session log: the DESCRIPTOR frame, then DATA frames (seq from 0), LAST on the final one.

    Parameters
    ----------
    descriptor : Descriptor
        The session's descriptor (its ``session_id``, ``channel_mask``, ``rate_mhz`` are used).
    raw : ndarray of int16, shape (n, channels)
        The session's samples, contiguous from ``first_index``.
    first_index : int
        Device sample index of ``raw[0]``.
    first_time_us : int
        Device time of ``raw[0]`` [µs since boot].
    samples_per_frame : int
        Samples per DATA frame (1–255).
    time_us : ndarray of int64, optional
        Each sample's device time [µs].
    closed : bool, optional
        Whether the session was stopped (the last frame carries LAST); False for an interrupted log.
    """
    frames = encode_frames(
        raw,
        channel_mask=descriptor.channel_mask,
        first_index=first_index,
        first_time_us=first_time_us,
        rate_mhz=descriptor.rate_mhz,
        samples_per_frame=samples_per_frame,
        session_id=descriptor.session_id,
        stream_id=descriptor.stream_id,
        time_us=time_us,
        last=closed,
    )
    return encode_descriptor(descriptor) + b"".join(frames)
