"""Vectorised decoding of PMD data frames (ACC, GYRO, MAG; raw and delta-compressed).

A data frame is ``type (1 B) | timestamp (u64 LE, ns since 2000-01-01) | frame type (1 B) | content``.
Raw content is whole samples of ``channels × ceil(resolution/8)`` little-endian signed bytes. Delta
content is one reference sample of that size, then blocks ``bits (1 B) | count (1 B) | count × channels
× bits`` of LSB-first packed two's-complement differences, each block padded to a whole byte; samples
accumulate in 32-bit integers (spec.md §5).

Every frame, block and value of all packets is located by array arithmetic; values are then pulled out
of the concatenated packets with one unaligned word gather and two shifts per value, and delta frames
are integrated with one segmented cumulative sum. Python loops run per *block index* (a handful), never
per sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Final

import numpy as np
import numpy.typing as npt

from imurehab.protocols.polar_pmd._profile import FrameLayout, fail, layout_for, pmd_profile
from imurehab.protocols.polar_pmd.bitunpack import (
    integrate_deltas,
    sign_extend_partial_bytes,
    unpack_fields,
    word_window,
)
from imurehab.protocols.polar_pmd.timing import previous_timestamps, sample_times

__all__ = ["PmdSamples", "decode_frames"]

_FRAME: Final = pmd_profile().raw["frame"]
_HEADER: Final[int] = _FRAME["header_bytes"]
_INT64_MAX: Final[int] = pmd_profile().raw["clock"]["max_timestamp_ns"]


@dataclass(frozen=True, eq=False)
class PmdSamples:
    """Samples decoded from consecutive PMD data frames of one measurement.

    Attributes
    ----------
    measurement : str
        ``"acc"``, ``"gyro"`` or ``"mag"``.
    raw : ndarray of int32, shape (N, C)
        The integers as transmitted (delta frames integrated); bit patterns for float32 frames. Stored
        channel-major (Fortran order) when delta frames were integrated.
    unit : str
        Base unit of :attr:`values`: ``"mg"``, ``"deg/s"`` or ``"gauss"``.
    frame_scale : ndarray of float64, shape (F,)
        Per frame, base units per count (frame scaling × factor where the frame type uses it).
    frame_float32 : ndarray of bool, shape (F,)
        Per frame, whether its integers are IEEE-754 float32 bit patterns.
    time_ns : ndarray of int64, shape (N,), or None
        Sample times [ns since 2000-01-01, device clock] by Polar's rule; None when unknown.
    frame_timestamps_ns : ndarray of int64, shape (F,)
        Each frame's timestamp [ns since 2000-01-01], the time of its last sample.
    frame_type_bytes : ndarray of uint8, shape (F,)
        Each frame's frame-type byte (bit 7: delta compressed).
    samples_per_frame : ndarray of int64, shape (F,)
    resolution_bits : ndarray of int64, shape (F,)
        Bits of each frame's raw or reference samples.
    time_basis : list of str
        Per frame: how its sample spacing was found (see :func:`~.timing.sample_times`).
    block_frame, block_bits, block_samples : ndarray, shape (B,)
        The delta blocks: frame index, bits per value, samples.
    status_channel : int or None
        Index of the unscaled status channel (magnetometer calibration status), if any.
    """

    measurement: str
    raw: npt.NDArray[np.int32]
    unit: str
    frame_scale: npt.NDArray[np.float64]
    frame_float32: npt.NDArray[np.bool_]
    time_ns: npt.NDArray[np.int64] | None
    frame_timestamps_ns: npt.NDArray[np.int64]
    frame_type_bytes: npt.NDArray[np.uint8]
    samples_per_frame: npt.NDArray[np.int64]
    resolution_bits: npt.NDArray[np.int64]
    time_basis: list[str]
    block_frame: npt.NDArray[np.int64]
    block_bits: npt.NDArray[np.int64]
    block_samples: npt.NDArray[np.int64]
    status_channel: int | None = None

    def __len__(self) -> int:
        return int(self.raw.shape[0])

    @cached_property
    def values(self) -> npt.NDArray[np.float64]:
        """Samples in the base unit (``unit``), shape (N, C); a status channel is copied unscaled."""
        values = self._scaled(self.raw, 1.0)
        if self.status_channel is not None:
            values[:, self.status_channel] = self.raw[:, self.status_channel]
        return values

    def si(self) -> npt.NDArray[np.float64] | None:
        """The x, y, z channels in SI units (m/s², rad/s or µT), shape (N, 3); None below 3 channels."""
        if self.raw.shape[1] < 3:
            return None
        return self._scaled(self.raw[:, :3], pmd_profile().si_per_base(self.measurement))

    def _scaled(self, counts: npt.NDArray[np.int32], unit: float) -> npt.NDArray[np.float64]:
        """``counts`` × frame scale × ``unit`` as float64, float32 frames reinterpreted first.

        The result keeps the memory order of ``counts`` (channel-major after delta integration).
        """
        source: npt.NDArray[np.generic] = counts
        if self.frame_float32.all():
            source = counts.view(np.float32)  # same item size: a view in any memory order
        elif self.frame_float32.any():
            rows = np.repeat(self.frame_float32, self.samples_per_frame)[:, None]
            source = np.where(rows, counts.view(np.float32), counts)
        scale = self.frame_scale * unit
        with np.errstate(over="ignore", invalid="ignore"):  # float32 frames may carry inf/NaN patterns
            if np.all(scale == scale[0]):
                return np.multiply(source, scale[0], dtype=np.float64)
            return np.multiply(source, np.repeat(scale, self.samples_per_frame)[:, None], dtype=np.float64)

    def delta_blocks(self) -> list[list[list[int]]]:
        """Per frame, its delta blocks as ``[bits, samples]`` pairs (empty for raw frames)."""
        out: list[list[list[int]]] = [[] for _ in range(len(self.frame_timestamps_ns))]
        for f, w, n in zip(
            self.block_frame.tolist(), self.block_bits.tolist(), self.block_samples.tolist(), strict=True
        ):
            out[f].append([w, n])
        return out


def decode_frames(
    frames: Sequence[bytes],
    *,
    previous_timestamp_ns: int | None = None,
    sample_rate_hz: float | None = None,
    factor: float = 1.0,
    channels: int | None = None,
    resolution_bits: int | None = None,
) -> PmdSamples:
    """Decode PMD data frames (one notification each, in arrival order) of one measurement.

    Parameters
    ----------
    frames : sequence of bytes
        Data frames of the PMD data characteristic.
    previous_timestamp_ns : int, optional
        Timestamp of the frame before the first one [ns since 2000-01-01], per stream.
    sample_rate_hz : float, optional
        Nominal sample rate [Hz] for spacing a stream's first frame when no previous timestamp is given.
    factor : float
        The FACTOR setting of the start-measurement response (multiplies counts of frame types that use
        it); 1.0 when the sensor sends none.
    channels, resolution_bits : int, optional
        Layout of frame types the profile does not list (channels per sample, bits per raw/reference
        value); must agree with the profile for listed types.

    Returns
    -------
    PmdSamples
        Integers, base-unit values and times of every sample.

    Raises
    ------
    ProtocolError
        For any malformed frame (offset within the packet named in the message), mixed measurements or
        channel counts (``"type"``), or a time rule violation (see :func:`~.timing.sample_times`).
    """
    n_frames = len(frames)
    if n_frames == 0:
        fail("no data frames", "truncated", 0)
    if previous_timestamp_ns is not None and not 0 <= previous_timestamp_ns <= _INT64_MAX:
        fail(f"previous_timestamp_ns {previous_timestamp_ns} outside 0 … 2**63 − 1", "settings")
    lengths = np.fromiter(map(len, frames), dtype=np.int64, count=n_frames)
    _check_lengths(lengths)
    blob = b"".join(frames) + bytes(16)
    buf = np.frombuffer(blob, dtype=np.uint8)
    starts = np.cumsum(lengths) - lengths
    type_bytes = buf[starts]
    ft_bytes = buf[starts + _FRAME["frame_type_offset"]]
    stamps = word_window(blob, np.uint64)[starts + _FRAME["timestamp_offset"]]
    over = np.flatnonzero(stamps > _INT64_MAX)
    if over.size:
        fail(f"packet {int(over[0])}: timestamp beyond 2**63 − 1 ns", "value", _FRAME["timestamp_offset"])
    stamps = stamps.astype(np.int64)

    layout_of, per_frame = _layouts(type_bytes, ft_bytes, channels, resolution_bits)
    n_ch = layout_of[0].channels
    res = np.array([lay.resolution_bits for lay in layout_of], dtype=np.int64)[per_frame]
    nbytes = (res + 7) // 8
    compressed = np.array([lay.compressed for lay in layout_of], dtype=bool)[per_frame]

    counts = np.zeros(n_frames, dtype=np.int64)
    raw_f = np.flatnonzero(~compressed)
    if raw_f.size:
        content = lengths[raw_f] - _HEADER
        size = n_ch * nbytes[raw_f]
        part = np.flatnonzero(content % size)
        if part.size:
            f = int(raw_f[part[0]])
            fail(
                f"packet {f}: raw frame ends inside a sample",
                "truncated",
                int(_HEADER + content[part[0]] // size[part[0]] * size[part[0]]),
            )
        counts[raw_f] = content // size
    delta_f = np.flatnonzero(compressed)
    blocks = _walk_blocks(buf, starts, lengths, delta_f, n_ch * nbytes[delta_f], n_ch)
    counts += np.bincount(blocks[0], weights=blocks[3], minlength=n_frames).astype(np.int64)
    counts[delta_f] += 1
    first_row = np.cumsum(counts) - counts

    table = _values(blob, starts, first_row, counts, nbytes, compressed, blocks, n_ch)
    chan = np.ascontiguousarray(table.T) if delta_f.size else table.T  # channel-major for the sums
    sign_extend_partial_bytes(chan, res, compressed, first_row, counts)
    if delta_f.size:
        integrate_deltas(chan, first_row, counts, compressed)
    time_ns, basis = sample_times(
        stamps,
        counts,
        previous_timestamps(stamps, type_bytes, ft_bytes, previous_timestamp_ns),
        sample_rate_hz,
    )
    lay = layout_of[0]
    return PmdSamples(
        measurement=lay.measurement,
        raw=chan.T,
        unit=pmd_profile().base_units[lay.measurement],
        frame_scale=np.array([x.to_base * (factor if x.factor else 1.0) for x in layout_of])[per_frame],
        frame_float32=np.array([x.value == "float32" for x in layout_of])[per_frame],
        time_ns=time_ns,
        frame_timestamps_ns=stamps,
        frame_type_bytes=ft_bytes.copy(),
        samples_per_frame=counts,
        resolution_bits=res,
        time_basis=basis,
        block_frame=blocks[0],
        block_bits=blocks[2],
        block_samples=blocks[3],
        status_channel=lay.status_channel,
    )


def _check_lengths(lengths: npt.NDArray[np.int64]) -> None:
    short = np.flatnonzero(lengths < _HEADER)
    if short.size:
        n = int(lengths[short[0]])
        fail(
            f"packet {int(short[0])}: {n} bytes, a data frame header needs {_HEADER}",
            "truncated",
            0 if n == 0 else _FRAME["timestamp_offset"] if n < _FRAME["frame_type_offset"] else n,
        )
    limit = int(pmd_profile().raw["gatt"]["max_attribute_bytes"])
    long = np.flatnonzero(lengths > limit)
    if long.size:
        fail(
            f"packet {int(long[0])}: {int(lengths[long[0]])} bytes, longer than a GATT attribute value",
            "overlong",
            limit,
        )


def _layouts(
    type_bytes: npt.NDArray[np.uint8],
    ft_bytes: npt.NDArray[np.uint8],
    channels: int | None,
    resolution_bits: int | None,
) -> tuple[list[FrameLayout], npt.NDArray[np.intp]]:
    """The distinct frame layouts and, per frame, the index of its layout."""
    keys = type_bytes.astype(np.int64) * 256 + ft_bytes
    uniq, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    layouts = [
        layout_for(int(k) >> 8, int(k) & 0xFF, channels, resolution_bits, where=f"packet {int(i)}: ")
        for k, i in zip(uniq, first, strict=True)
    ]
    for lay, i in zip(layouts, first, strict=True):
        if lay.measurement != layouts[0].measurement:
            fail(f"packet {int(i)}: {lay.measurement} frame among {layouts[0].measurement} frames", "type", 0)
        if lay.channels != layouts[0].channels:
            fail(
                f"packet {int(i)}: {lay.channels}-channel frame among {layouts[0].channels}-channel frames",
                "type",
                _FRAME["frame_type_offset"],
            )
    return layouts, inverse.reshape(-1)


_Blocks = tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
]


def _walk_blocks(
    buf: npt.NDArray[np.uint8],
    starts: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    delta_f: npt.NDArray[np.int64],
    ref_bytes: npt.NDArray[np.int64],
    n_ch: int,
) -> _Blocks:
    """Find every delta block: (frame, payload byte offset in the blob, bits, samples, sample offset).

    All frames advance one block per iteration, so the loop runs as often as the most blocks any frame
    holds, not once per frame.
    """
    delta = pmd_profile().raw["delta"]
    short = np.flatnonzero(lengths[delta_f] < _HEADER + ref_bytes)
    if short.size:
        fail(
            f"packet {int(delta_f[short[0]])}: delta frame ends inside its reference sample",
            "truncated",
            _HEADER,
        )
    frame = delta_f
    cursor = starts[delta_f] + _HEADER + ref_bytes
    end = starts[delta_f] + lengths[delta_f]
    done = np.zeros(len(delta_f), dtype=np.int64)
    found: list[tuple[npt.NDArray[np.int64], ...]] = []
    active = np.flatnonzero(cursor < end)
    while active.size:
        f, c, e = frame[active], cursor[active], end[active]
        bad = np.flatnonzero(c + 2 > e)
        if bad.size:
            i = bad[0]
            fail(f"packet {int(f[i])}: delta block header cut off", "truncated", int(c[i] - starts[f[i]]))
        bits = buf[c].astype(np.int64)
        count = buf[c + 1].astype(np.int64)
        bad = np.flatnonzero((bits < delta["min_bits"]) | (bits > delta["max_bits"]))
        if bad.size:
            i = bad[0]
            fail(
                f"packet {int(f[i])}: delta block of {int(bits[i])} bits (1–32 allowed)",
                "value",
                int(c[i] - starts[f[i]]),
            )
        payload = (count * bits * n_ch + 7) // 8
        bad = np.flatnonzero(c + 2 + payload > e)
        if bad.size:
            i = bad[0]
            fail(
                f"packet {int(f[i])}: delta block of {int(count[i])} samples × {int(bits[i])} bits cut off",
                "truncated",
                int(c[i] - starts[f[i]]),
            )
        found.append((f, c + 2, bits, count, done[active].copy()))
        done[active] += count
        cursor[active] = c + 2 + payload
        active = active[cursor[active] < end[active]]
    if not found:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty, empty
    cols = [np.concatenate([blk[j] for blk in found]) for j in range(5)]
    order = np.lexsort((cols[4], cols[0]))
    return cols[0][order], cols[1][order], cols[2][order], cols[3][order], cols[4][order]


def _values(
    blob: bytes,
    starts: npt.NDArray[np.int64],
    first_row: npt.NDArray[np.int64],
    counts: npt.NDArray[np.int64],
    nbytes: npt.NDArray[np.int64],
    compressed: npt.NDArray[np.bool_],
    blocks: _Blocks,
    n_ch: int,
) -> npt.NDArray[np.int32]:
    """Every transmitted value (raw samples, reference samples, deltas) in output order, shape (N, C)."""
    raw_f = np.flatnonzero(~compressed)
    delta_f = np.flatnonzero(compressed)
    b_frame, b_off, b_bits, b_count, b_done = blocks
    # One run of equal-width values per raw frame, per reference sample and per delta block.
    row = np.concatenate([first_row[raw_f], first_row[delta_f], first_row[b_frame] + 1 + b_done])
    offset = np.concatenate([starts[raw_f] + _HEADER, starts[delta_f] + _HEADER, b_off])
    bits = np.concatenate([8 * nbytes[raw_f], 8 * nbytes[delta_f], b_bits])
    nvals = n_ch * np.concatenate([counts[raw_f], np.ones(len(delta_f), dtype=np.int64), b_count])
    order = np.argsort(row, kind="stable")
    flat = unpack_fields(blob, offset[order], bits[order], nvals[order])
    return flat.reshape(-1, n_ch)
