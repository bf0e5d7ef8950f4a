"""Movesense GSP cases: IMU6 DATA and IMU9 DATA + DATA_PART2 streams, ~1 M samples each.

`ours` is the public decoder (`FAMILY.decode`, vectorised with numpy); `baseline` is a straightforward
per-sample `struct` decoder of the same notifications producing the same outputs (SI tuples with the
same per-sample times), written here.
"""

from __future__ import annotations

import math
import struct

import numpy as np

from imurehab.protocols.movesense import FAMILY, encode_meas

_TS = struct.Struct("<I")
_XYZ = struct.Struct("<3f")


def _frames(path: str, blocks: tuple[str, ...], messages: int, per_message: int, rate: float) -> list[bytes]:
    rng = np.random.default_rng(7)
    n = messages * per_message
    stamps = np.rint(np.arange(messages) * per_message * 1000 / rate).astype(np.int64) + 12_345
    samples = {b: rng.normal(0, 5, (n, 3)).astype(np.float32).astype(np.float64) for b in blocks}
    return encode_meas(path, 99, stamps, **samples)


def _baseline(frames: list[bytes], blocks: int, rate: float) -> int:
    """Reassemble DATA + DATA_PART2, then unpack sample by sample."""
    messages: list[bytes] = []
    for p in frames:
        if p[0] == 2:
            messages.append(p[2:])
        elif p[0] == 3:
            messages[-1] += p[2:]
        else:
            raise ValueError("unexpected response code")
    out = []
    for msg in messages:
        (ts,) = _TS.unpack_from(msg, 0)
        n = (len(msg) - 4) // (12 * blocks)
        for i in range(n):
            t_ns = ts * 1_000_000 + round(i * 1e9 / rate)
            acc = _XYZ.unpack_from(msg, 4 + 12 * i)
            gx, gy, gz = _XYZ.unpack_from(msg, 4 + 12 * (n + i))
            gyr = (math.radians(gx), math.radians(gy), math.radians(gz))
            mag = _XYZ.unpack_from(msg, 4 + 12 * (2 * n + i)) if blocks == 3 else None
            out.append((t_ns, acc, gyr, mag))
    return len(out)


def cases() -> list[dict]:
    """IMU6 at 104 Hz (4 samples per DATA) and IMU9 at 208 Hz (8 samples, DATA + DATA_PART2)."""
    imu6 = _frames("/Meas/IMU6/104", ("acc", "gyr"), 250_000, 4, 104.0)
    imu9 = _frames("/Meas/IMU9/208", ("acc", "gyr", "mag"), 125_000, 8, 208.0)
    return [
        {
            "name": "movesense IMU6 104 Hz, DATA (4 samples)",
            "frames": imu6,
            "n_samples": 1_000_000,
            "ours": lambda f: len(FAMILY.decode(f, {"path": "/Meas/IMU6/104"})),
            "baseline": lambda f: _baseline(f, 2, 104.0),
        },
        {
            "name": "movesense IMU9 208 Hz, DATA+DATA_PART2 (8)",
            "frames": imu9,
            "n_samples": 1_000_000,
            "ours": lambda f: len(FAMILY.decode(f, {"path": "/Meas/IMU9/208"})),
            "baseline": lambda f: _baseline(f, 3, 208.0),
        },
    ]
