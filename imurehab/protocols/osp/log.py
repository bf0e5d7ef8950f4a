"""Vectorised decoding of OSP logs: many concatenated frames → SI samples, sample indices, device times.

A session log (and a live stream's notifications, joined) is a plain concatenation of frames. The decoder
walks the common frame heads, and wherever consecutive DATA frames share version, type, length, sample
count and channel mask — nearly always, in a log — it treats that run as one 2-D array: headers through a
numpy structured view with the frame length as stride, the int16 payload through one strided view, and
one ``zlib.crc32`` call per frame (CRC-32 of a frame followed by its CRC is the constant residue). Scales
come from the log's DESCRIPTOR frame, or from the caller.

Examples
--------
>>> import numpy as np
>>> from imurehab.protocols.osp.encode import encode_log
>>> from imurehab.protocols.osp.descriptor import Descriptor
>>> d = Descriptor(channel_mask=3, rate_mhz=100_000, acc_scale=0.001, gyr_scale=0.0001, mag_scale=0,
...                boot_id=9, session_id=1)
>>> raw = np.arange(60, dtype=np.int16).reshape(10, 6)
>>> log = encode_log(d, raw, first_index=0, first_time_us=5_000, samples_per_frame=4)
>>> res = decode_log(log)
>>> len(res), int(res.sample_index[-1]), int(res.time_ns[1] - res.time_ns[0]), res.info["frames"]
(10, 9, 10000000, 4)
"""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from imurehab.errors import ProtocolError
from imurehab.protocols.base import DecodeResult
from imurehab.protocols.osp.constants import (
    CRC_BYTES,
    DATA_HEADER_BYTES,
    FAMILY_NAME,
    VERSION,
    Channel,
    FrameFlag,
    MessageType,
    fail,
    is_extension_frame,
)
from imurehab.protocols.osp.descriptor import Descriptor, decode_descriptor, descriptor_json
from imurehab.protocols.osp.frames import CRC_RESIDUE, channel_count, check_frame_head, frame_bytes

__all__ = ["LogDecoder", "decode_log"]

_HEAD_DTYPE: Final = np.dtype(
    [
        ("version", "u1"),
        ("type", "u1"),
        ("stream", "u1"),
        ("flags", "u1"),
        ("len", "<u2"),
        ("n", "u1"),
        ("mask", "u1"),
        ("session", "<u4"),
        ("seq", "<u4"),
        ("index", "<u8"),
        ("time", "<u8"),
    ]
)
_KEY_COLS: Final = np.array([0, 1, 4, 5, 6, 7])  # version, type, frame_len, n_samples, channel_mask
_MAX_I64: Final = 2**63 - 1
_MAX_TIME_US: Final = (_MAX_I64 - 255 * 10**12) // 1000  # so that time_ns of every sample fits int64
_GROUPS: Final = ((Channel.ACC, "acc"), (Channel.GYR, "gyr"), (Channel.MAG, "mag"))


@dataclass
class _Run:
    """Consecutive DATA frames of one shape, decoded as arrays."""

    head: npt.NDArray[Any]  # structured, one row per frame
    raw: npt.NDArray[np.int16]  # (frames × n, channels)
    n: int
    scales: tuple[float, float, float]
    rate_mhz: int


@dataclass
class LogDecoder:
    """Decode a log fed in pieces (each piece a whole number of frames), then collect the samples.

    Parameters
    ----------
    descriptor : Descriptor, optional
        Scales and rate for DATA frames met before any DESCRIPTOR frame of the log.
    on_error : {"raise", "skip"}
        ``"raise"`` (default): the first damaged frame raises :class:`~imurehab.errors.ProtocolError`.
        ``"skip"``: damaged frames are counted by reason in ``info["rejected"]`` and the decoder resumes at
        the next intact frame (found by its head and CRC).
    stream_id : int, optional
        Keep this stream only (default: the stream of the first DATA frame); others are counted.

    Notes
    -----
    ``info`` keys: ``frames``, ``data_frames``, ``descriptor_frames``, ``extension_frames``,
    ``other_stream_frames``, ``rejected`` (reason → frames), ``rejected_bytes``, ``stream_id``,
    ``session_ids``, ``boot_ids``, ``channel_mask``, ``rate_hz``, ``seq_first``, ``seq_last``, ``seq_gaps``,
    ``index_gaps``, ``lost_samples``, ``index_overlaps``, ``gap_flag_frames``, ``saturated_frames``,
    ``last_flag`` and ``descriptor`` (the last DESCRIPTOR frame, as a dict).
    """

    descriptor: Descriptor | None = None
    on_error: str = "raise"
    stream_id: int | None = None
    _runs: list[_Run] = field(default_factory=list, repr=False)
    _counts: Counter[str] = field(default_factory=Counter, repr=False)
    _rejected: Counter[str] = field(default_factory=Counter, repr=False)
    _boot_ids: list[int] = field(default_factory=list, repr=False)
    _mask: int | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.on_error not in ("raise", "skip"):
            raise fail(f"on_error must be 'raise' or 'skip', not {self.on_error!r}", "settings")

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Decode one piece: a notification, a log chunk of whole frames, or a whole session log.

        Parameters
        ----------
        data : bytes-like
            Concatenated frames; error offsets are relative to its start.

        Raises
        ------
        ProtocolError
            With ``on_error="raise"``, on the first damaged or unexpected frame.
        """
        mv = memoryview(data).cast("B") if not isinstance(data, memoryview) else data.cast("B")
        u8 = np.frombuffer(mv, dtype=np.uint8)
        pos, blob = 0, None
        while pos < len(mv):
            try:
                pos = self._step(mv, u8, pos)
            except ProtocolError as err:
                if self.on_error == "raise" or err.reason == "settings":
                    raise
                self._rejected[err.reason] += 1
                blob = bytes(mv) if blob is None else blob
                nxt = _resync(blob, pos + 1)
                self._counts["rejected_bytes"] += nxt - pos
                pos = nxt

    def _step(self, mv: memoryview, u8: npt.NDArray[np.uint8], pos: int) -> int:
        ftype, flen = check_frame_head(mv, pos)
        if ftype == MessageType.DATA:
            return self._data_run(mv, u8, pos, flen)
        if zlib.crc32(mv[pos : pos + flen]) != CRC_RESIDUE:
            raise fail("CRC-32 mismatch", "crc", pos + flen - CRC_BYTES)
        if ftype == MessageType.DESCRIPTOR:
            try:
                self.descriptor = decode_descriptor(mv[pos : pos + flen])
            except ProtocolError as err:
                raise fail(str(err), err.reason, pos + (err.offset or 0)) from None
            self._counts["descriptor_frames"] += 1
            if self.descriptor.boot_id not in self._boot_ids:
                self._boot_ids.append(self.descriptor.boot_id)
        elif is_extension_frame(ftype):
            self._counts["extension_frames"] += 1
        else:
            raise fail(f"frame type 0x{ftype:02x} is not a v1 frame", "type", pos + 1)
        self._counts["frames"] += 1
        return pos + flen

    def _data_run(self, mv: memoryview, u8: npt.NDArray[np.uint8], pos: int, flen: int) -> int:
        n, mask = int(u8[pos + 6]), int(u8[pos + 7])
        if (
            flen < DATA_HEADER_BYTES + CRC_BYTES
            or n == 0
            or mask == 0
            or mask & ~0x07
            or frame_bytes(n, mask) != flen
        ):
            raise fail(f"{n} samples of channel mask {mask} do not fill frame_len {flen}", "value", pos + 6)
        count = _run_length(u8, pos, flen)
        ok = [zlib.crc32(mv[p : p + flen]) == CRC_RESIDUE for p in range(pos, pos + count * flen, flen)]
        good = count if all(ok) else ok.index(False)
        if not good:
            raise fail("CRC-32 mismatch", "crc", pos + flen - CRC_BYTES)
        self._accept(mv, pos, flen, good, n, mask)
        return pos + good * flen  # a damaged frame after the good ones is met (and raised) on the next step

    def _accept(self, mv: memoryview, pos: int, flen: int, count: int, n: int, mask: int) -> None:
        head = np.ndarray((count,), _HEAD_DTYPE, buffer=mv, offset=pos, strides=(flen,))
        stream = int(head["stream"][0])
        if self.stream_id is None:
            self.stream_id = stream
        keep = head["stream"] == self.stream_id
        if not keep.all():
            self._counts["other_stream_frames"] += int((~keep).sum())
            self._counts["frames"] += int((~keep).sum())
            if not keep.any():
                return
        if self._mask is not None and mask != self._mask:
            raise fail(f"channel mask {mask} differs from {self._mask} earlier in the log", "value", pos + 7)
        if self.descriptor is None:
            raise fail(
                "no DESCRIPTOR frame and no scales given (settings: descriptor or *_scale, rate)",
                "settings",
                pos,
            )
        if (self.descriptor.channel_mask & mask) != mask:
            raise fail(f"channel mask {mask} has channels the descriptor lacks", "value", pos + 7)
        if int(head["index"].max()) > _MAX_I64 - n or int(head["time"].max()) > _MAX_TIME_US:
            raise fail("sample index or device time beyond int64", "value", pos + 16)
        self._mask = mask
        ch = channel_count(mask)
        payload = np.ndarray(
            (count, n * ch), "<i2", buffer=mv, offset=pos + DATA_HEADER_BYTES, strides=(flen, 2)
        )
        d = self.descriptor
        head, payload = (head[keep], payload[keep]) if not keep.all() else (head, payload)
        self._runs.append(
            _Run(
                head.copy(),
                np.ascontiguousarray(payload, dtype=np.int16).reshape(-1, ch),
                n,
                (d.acc_scale, d.gyr_scale, d.mag_scale),
                d.rate_mhz,
            )
        )
        self._counts["frames"] += len(head)
        self._counts["data_frames"] += len(head)

    def result(self) -> DecodeResult:
        """All samples decoded so far, in SI units, with the log's facts in ``info``.

        Returns
        -------
        DecodeResult
            ``time_ns`` on the device clock [ns since boot], ``sample_index`` from the frames, ``acc``
            [m/s²], ``gyr`` [rad/s], ``mag`` [µT] for the channels present (None otherwise).
        """
        mask = self._mask or 0
        arrays: dict[str, Any] = {name: None for _, name in _GROUPS}
        if self._runs:
            raw = np.concatenate([r.raw for r in self._runs]) if len(self._runs) > 1 else self._runs[0].raw
            col = 0
            for g, (bit, name) in enumerate(_GROUPS):
                if mask & bit:
                    scale = np.concatenate([np.full(len(r.raw), r.scales[g]) for r in self._runs])[:, None]
                    arrays[name] = raw[:, col : col + 3] * (
                        scale if len(self._runs) > 1 else self._runs[0].scales[g]
                    )
                    col += 3
            index = np.concatenate(
                [_per_sample(r.head["index"].astype(np.int64), r.n, 1, 1) for r in self._runs]
            )
            time_ns = np.concatenate(
                [
                    _per_sample(r.head["time"].astype(np.int64) * 1000, r.n, 10**12, r.rate_mhz)
                    for r in self._runs
                ]
            )
        else:
            index = time_ns = None
        return DecodeResult(
            family=FAMILY_NAME, time_ns=time_ns, sample_index=index, info=self._info(), **arrays
        )

    def _info(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            k: self._counts[k]
            for k in ("frames", "data_frames", "descriptor_frames", "extension_frames", "other_stream_frames")
        }
        info["rejected"] = dict(sorted(self._rejected.items()))
        info["rejected_bytes"] = self._counts["rejected_bytes"]
        info["stream_id"] = self.stream_id
        info["boot_ids"] = list(self._boot_ids)
        info["channel_mask"] = self._mask
        info["rate_hz"] = self.descriptor.rate_hz if self.descriptor else None
        info["descriptor"] = descriptor_json(self.descriptor)
        info.update(_sequence_stats([r.head for r in self._runs], [r.n for r in self._runs]))
        return info


def _per_sample(first: npt.NDArray[np.int64], n: int, num: int, den: int) -> npt.NDArray[np.int64]:
    """``first[f] + ⌊k·num/den⌋`` for k in 0..n-1, flattened frame-major."""
    return (first[:, None] + (np.arange(n, dtype=np.int64) * num) // den).ravel()


def _run_length(u8: npt.NDArray[np.uint8], pos: int, flen: int) -> int:
    """How many frames from ``pos`` share the first frame's version, type, length, count and mask."""
    key = u8[pos + _KEY_COLS]
    total, count, block = (len(u8) - pos) // flen, 0, 16
    while count < total:
        b = min(block, total - count)
        start = pos + count * flen
        same = (u8[start : start + b * flen].reshape(b, flen)[:, _KEY_COLS] == key).all(axis=1)
        if not same.all():
            return count + int(np.argmin(same))
        count, block = count + b, block * 2
    return count


def _resync(data: bytes, pos: int) -> int:
    """The next offset at or after ``pos`` where an intact frame (head and CRC) starts, else the end."""
    marker = bytes([VERSION])
    while True:
        pos = data.find(marker, pos)
        if pos < 0 or pos + 6 > len(data):
            return len(data)
        flen = data[pos + 4] | data[pos + 5] << 8
        ftype = data[pos + 1]
        plausible = ftype in (MessageType.DATA, MessageType.DESCRIPTOR) or is_extension_frame(ftype)
        if plausible and 10 <= flen <= len(data) - pos and zlib.crc32(data[pos : pos + flen]) == CRC_RESIDUE:
            return pos
        pos += 1


def _sequence_stats(heads: list[npt.NDArray[Any]], ns: list[int]) -> dict[str, Any]:
    """Gaps, overlaps and flags over all DATA frames kept, per (stream, session) run of frames."""
    if not heads:
        return {
            "session_ids": [],
            "seq_first": None,
            "seq_last": None,
            "seq_gaps": 0,
            "index_gaps": 0,
            "lost_samples": 0,
            "index_overlaps": 0,
            "gap_flag_frames": 0,
            "saturated_frames": 0,
            "last_flag": False,
        }
    h = np.concatenate(heads)
    n = np.concatenate([np.full(len(x), k, dtype=np.int64) for x, k in zip(heads, ns, strict=True)])
    same = h["session"][1:] == h["session"][:-1]
    expect = h["index"][:-1].astype(np.int64) + n[:-1]
    jump = h["index"][1:].astype(np.int64) - expect
    seq_step = (h["seq"][1:].astype(np.int64) - h["seq"][:-1].astype(np.int64)) % 2**32
    sat = int(FrameFlag.ACC_SATURATED | FrameFlag.GYR_SATURATED | FrameFlag.MAG_SATURATED)
    uniq, first = np.unique(h["session"], return_index=True)
    sessions = [int(s) for s in uniq[np.argsort(first)]]
    return {
        "session_ids": sessions,
        "seq_first": int(h["seq"][0]),
        "seq_last": int(h["seq"][-1]),
        "seq_gaps": int((same & (seq_step != 1)).sum()),
        "index_gaps": int((same & (jump > 0)).sum()),
        "lost_samples": int(jump[same & (jump > 0)].sum()),
        "index_overlaps": int((same & (jump < 0)).sum()),
        "gap_flag_frames": int((h["flags"] & FrameFlag.GAP_BEFORE != 0).sum()),
        "saturated_frames": int((h["flags"] & sat != 0).sum()),
        "last_flag": bool(h["flags"][-1] & FrameFlag.LAST),
    }


def decode_log(
    data: bytes | bytearray | memoryview,
    *,
    descriptor: Descriptor | None = None,
    on_error: str = "raise",
    stream_id: int | None = None,
) -> DecodeResult:
    """Decode a whole OSP log or log piece (concatenated frames) into SI samples.

    Parameters
    ----------
    data : bytes-like
        Concatenated frames: a session log (starting with its DESCRIPTOR frame), a verified prefix of it
        cut at a frame boundary, or joined live notifications.
    descriptor : Descriptor, optional
        Scales [SI per LSB] and rate for DATA frames before any DESCRIPTOR frame in ``data``.
    on_error : {"raise", "skip"}
        Raise on the first damaged frame, or count it in ``info["rejected"]`` and go on.
    stream_id : int, optional
        The stream to keep (default: the first DATA frame's).

    Returns
    -------
    DecodeResult
        ``time_ns`` [ns on the device clock since boot]: first-sample time of the frame plus
        ``⌊k·10¹²/rate_mHz⌋``; ``sample_index`` from the frames; ``acc`` [m/s²], ``gyr`` [rad/s],
        ``mag`` [µT]; ``info`` as documented in :class:`LogDecoder`.

    Raises
    ------
    ProtocolError
        With ``on_error="raise"``: ``truncated``, ``overlong``, ``crc``, ``type``, ``value``, or
        ``settings`` when neither the log nor the caller gives scales.
    """
    decoder = LogDecoder(descriptor=descriptor, on_error=on_error, stream_id=stream_id)
    decoder.feed(data)
    return decoder.result()
