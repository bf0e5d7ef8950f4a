"""WitMotion cases: 1 M BLE ``55 61`` notifications (one packet each), and a serial ``55 5x`` byte stream.

`ours` is the public decoder (`decode_stream`: one vectorised pass with resynchronisation rules);
`baseline` is a straightforward per-packet `struct` decoder written here producing the same SI tuples.
"""

from __future__ import annotations

import math
import struct

import numpy as np

from imurehab.protocols.witmotion import (
    ACC_LSB,
    ANGLE_LSB,
    GYR_LSB,
    decode_stream,
    encode_combined,
    encode_serial,
)

_NINE = struct.Struct("<9h")
_FOUR = struct.Struct("<4h")


def _si(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    raw = rng.integers(-20000, 20000, (n, 9))
    return raw[:, :3] * ACC_LSB, raw[:, 3:6] * GYR_LSB, raw[:, 6:] * ANGLE_LSB


def _baseline_combined(packets: list[bytes]) -> int:
    out = []
    for p in packets:
        if len(p) != 20 or p[0] != 0x55 or p[1] != 0x61:
            continue
        v = _NINE.unpack_from(p, 2)
        acc = (v[0] * ACC_LSB, v[1] * ACC_LSB, v[2] * ACC_LSB)
        gyr = (v[3] * GYR_LSB, v[4] * GYR_LSB, v[5] * GYR_LSB)
        ang = (v[6] * ANGLE_LSB, v[7] * ANGLE_LSB, v[8] * ANGLE_LSB)
        out.append((acc, gyr, ang))
    return len(out)


def _baseline_serial(chunks: list[bytes]) -> int:
    buf = b"".join(chunks)
    out, sample, pos = [], {}, 0
    nan3 = (math.nan,) * 3
    while pos + 11 <= len(buf):
        if buf[pos] != 0x55 or sum(buf[pos : pos + 10]) & 0xFF != buf[pos + 10]:
            pos += 1
            continue
        kind = buf[pos + 1]
        v = _FOUR.unpack_from(buf, pos + 2)
        if kind in sample or (sample and kind < max(sample)):
            out.append((sample.get(0x51, nan3), sample.get(0x52, nan3), sample.get(0x53, nan3)))
            sample = {}
        scale = {0x51: ACC_LSB, 0x52: GYR_LSB, 0x53: ANGLE_LSB}.get(kind, 1.0)
        sample[kind] = (v[0] * scale, v[1] * scale, v[2] * scale)
        pos += 11
    if sample:
        out.append((sample.get(0x51, nan3), sample.get(0x52, nan3), sample.get(0x53, nan3)))
    return len(out)


def cases() -> list[dict]:
    """BLE notifications (20 bytes each) and 244-byte serial chunks cutting packets anywhere."""
    acc, gyr, ang = _si(1_000_000)
    ble = encode_combined(acc, gyr, ang)
    stream = b"".join(encode_serial(acc[:500_000], gyr[:500_000], ang[:500_000]))
    serial = [stream[i : i + 244] for i in range(0, len(stream), 244)]
    return [
        {
            "name": "witmotion BLE 0x61 notifications (1 each)",
            "frames": ble,
            "n_samples": 1_000_000,
            "ours": lambda p: len(decode_stream(p)),
            "baseline": _baseline_combined,
        },
        {
            "name": "witmotion serial 0x51-0x53 stream, 244 B chunks",
            "frames": serial,
            "n_samples": 500_000,
            "ours": lambda p: len(decode_stream(p)),
            "baseline": _baseline_serial,
        },
    ]
