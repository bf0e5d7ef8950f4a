"""Polar PMD decoding cases: imurehab's vectorised decoder next to a per-sample `struct`/bit-loop decoder.

Frames are built with imurehab's encoders from a simulated wrist signal (gravity, arm swing, sensor
noise), cut the way a Verity Sense cuts them: ~70 samples per notification of ≤ 244 bytes (MTU 247), a
reference sample then delta blocks of 20–25 samples whose bit width follows the signal. Both decoders
return the same thing: per sample the time on the device clock [ns] by Polar's rule (previous frame's
timestamp, spread evenly) and x, y, z in SI units.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from typing import Any

import numpy as np

from imurehab.protocols.polar_pmd import decode_frames, encode_delta_frame, encode_raw_frame
from imurehab.types import STANDARD_GRAVITY

_T0_NS = 800_000_000_000_000_000  # ~2025 on Polar's clock (ns since 2000-01-01)
_TOTAL = 1_000_000


def _signal(n: int, rate_hz: float, scale: float, seed: int) -> np.ndarray:
    """A wrist-like 3-axis signal in sensor counts: gravity/offset, 1 Hz swing, 8 Hz tremor, noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate_hz
    phase = rng.uniform(0, 2 * np.pi, 3)
    x = (
        scale * np.array([0.1, -0.3, 0.95])[None, :]
        + 0.4 * scale * np.sin(2 * np.pi * 1.0 * t[:, None] + phase)
        + 0.02 * scale * np.sin(2 * np.pi * 8.0 * t[:, None] + 2 * phase)
        + rng.normal(0, 0.004 * scale, (n, 3))
    )
    return np.round(x).astype(np.int64)


def _delta_frames(
    measurement: str,
    frame_type: int,
    counts: np.ndarray,
    rate_hz: float,
    per_frame: int,
    per_block: int,
    bits: int | None,
) -> list[bytes]:
    frames = []
    step = round(1e9 / rate_hz)
    for i in range(0, len(counts), per_frame):
        chunk = counts[i : i + per_frame]
        ts = _T0_NS + (i + len(chunk) - 1) * step
        frames.append(
            encode_delta_frame(measurement, frame_type, ts, chunk, bits=bits, block_samples=per_block)
        )
    return frames


def _raw_frames(counts: np.ndarray, rate_hz: float, per_frame: int) -> list[bytes]:
    step = round(1e9 / rate_hz)
    return [
        encode_raw_frame(
            "acc", 1, _T0_NS + (i + len(counts[i : i + per_frame]) - 1) * step, counts[i : i + per_frame]
        )
        for i in range(0, len(counts), per_frame)
    ]


def _ours(factor: float) -> Callable[[list[bytes]], int]:
    def run(frames: list[bytes]) -> int:
        s = decode_frames(frames, previous_timestamp_ns=_T0_NS - 10_000_000, factor=factor)
        si = s.si()
        assert si is not None and s.time_ns is not None
        return len(s)

    return run


def _baseline(to_si: float, factor_scale: float) -> Callable[[list[bytes]], int]:
    """A straightforward decoder: `struct` for headers and whole bytes, an int bit loop per delta value."""

    def run(frames: list[bytes]) -> int:
        previous = _T0_NS - 10_000_000
        times: list[int] = []
        xyz: list[tuple[float, float, float]] = []
        scale = to_si * factor_scale
        for frame in frames:
            _, ts, ftype = struct.unpack_from("<BQB", frame, 0)
            if ftype & 0x80:
                samples = _delta_samples(frame)
            else:
                samples = [struct.unpack_from("<3h", frame, off) for off in range(10, len(frame), 6)]
            n = len(samples)
            dt = (ts - previous) / n
            for i, (x, y, z) in enumerate(samples):
                times.append(ts if i == n - 1 else round(previous + (i + 1) * dt))
                xyz.append((x * scale, y * scale, z * scale))
            previous = ts
        return len(xyz)

    return run


def _delta_samples(frame: bytes) -> list[tuple[int, int, int]]:
    x, y, z = struct.unpack_from("<3h", frame, 10)
    out = [(x, y, z)]
    off = 16
    while off < len(frame):
        bits, count = frame[off], frame[off + 1]
        nbytes = (bits * count * 3 + 7) // 8
        field = int.from_bytes(frame[off + 2 : off + 2 + nbytes], "little")
        mask, sign, full = (1 << bits) - 1, 1 << (bits - 1), 1 << bits
        pos = 0
        for _ in range(count):
            d = (field >> pos) & mask
            x += d - full if d & sign else d
            d = (field >> (pos + bits)) & mask
            y += d - full if d & sign else d
            d = (field >> (pos + 2 * bits)) & mask
            z += d - full if d & sign else d
            pos += 3 * bits
            out.append((x, y, z))
        off += 2 + nbytes
    return out


def cases() -> list[dict[str, Any]]:
    """Benchmark cases: ~1 M samples each, realistic frame sizes."""
    acc = _signal(_TOTAL, 52.0, 1000.0, seed=1)  # mg, ±8 g range
    gyro = _signal(_TOTAL, 52.0, 300.0, seed=2)  # deg/s counts
    acc_si = STANDARD_GRAVITY / 1000.0
    out = []
    for name, frames, to_si, factor in (
        (
            "polar-pmd ACC delta, widths per block",
            _delta_frames("acc", 1, acc, 52.0, 70, 23, None),
            acc_si,
            1.0,
        ),
        ("polar-pmd ACC delta 16-bit", _delta_frames("acc", 1, acc, 52.0, 36, 35, 16), acc_si, 1.0),
        (
            "polar-pmd GYRO delta, widths per block",
            _delta_frames("gyro", 0, gyro, 52.0, 70, 23, None),
            math.pi / 180,
            1.0,
        ),
        ("polar-pmd ACC raw 16-bit", _raw_frames(acc, 52.0, 39), acc_si, 1.0),
    ):
        out.append(
            {
                "name": name,
                "frames": frames,
                "n_samples": _TOTAL,
                "ours": _ours(factor),
                "baseline": _baseline(to_si, factor),
            }
        )
    return out
