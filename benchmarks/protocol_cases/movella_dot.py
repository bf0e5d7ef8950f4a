"""Movella DOT cases: payload mode 20 notifications and exported recording data, ~1 M samples each.

`ours` is a public decoder: `FAMILY.decode` for live notifications (packets stacked and read with one
numpy view, the 2^32 us clock unwrapped vectorised) and `decode_export` for exported recordings (the
array API: `FAMILY.decode` additionally copies the Euler angles into JSON-ready lists in `info`, which
costs about as much as the baseline itself for 1 M samples). `baseline` is a straightforward per-sample
`struct` decoder of the same packets with the same outputs (unwrapped time, SI units, checksum checked
for messages).
"""

from __future__ import annotations

import math
import struct

import numpy as np

from imurehab.protocols.movella_dot import FAMILY, decode_export, encode_measurement, export_file_data

_MODE20 = struct.Struct("<I3f3f3h")
_EXPORT = struct.Struct("<3BII3f3f3f")
_MAG_UT = 40.0 / 4096


def _unwrap(raw: int, last: int | None) -> int:
    return raw if last is None else last + ((raw - last) & 0xFFFFFFFF)


def _baseline_mode20(frames: list[bytes]) -> int:
    out, last = [], None
    for p in frames:
        ts, ax, ay, az, gx, gy, gz, mx, my, mz = _MODE20.unpack_from(p)
        last = _unwrap(ts, last)
        gyr = (math.radians(gx), math.radians(gy), math.radians(gz))
        out.append((last * 1000, (ax, ay, az), gyr, (mx * _MAG_UT, my * _MAG_UT, mz * _MAG_UT)))
    return len(out)


def _baseline_export(frames: list[bytes]) -> int:
    out, last = [], None
    for p in frames:
        mid, length, reid, number, ts, r, pi, y, ax, ay, az, gx, gy, gz = _EXPORT.unpack_from(p)
        if sum(p) & 0xFF or length != len(p) - 3 or mid != 1 or reid != 0x71:
            raise ValueError("not an ExportFileData message")
        last = _unwrap(ts, last)
        out.append(
            (
                number,
                last * 1000,
                (r, pi, y),
                (ax, ay, az),
                (math.radians(gx), math.radians(gy), math.radians(gz)),
            )
        )
    return len(out)


def cases() -> list[dict]:
    """Mode 20 (rate quantities with mag) at 60 Hz across a clock rollover; export of a recording."""
    n = 1_000_000
    rng = np.random.default_rng(11)
    t = (2**32 - 5_000_000) + np.arange(n, dtype=np.int64) * 16_667

    def vec() -> np.ndarray:
        return rng.normal(0, 3, (n, 3)).astype(np.float32).astype(np.float64)

    live = encode_measurement(
        20, t, acc=vec(), gyr=np.radians(vec()), mag=rng.integers(-4000, 4000, (n, 3)) * _MAG_UT
    )
    export = export_file_data(
        np.arange(n), [0, 4, 7, 8], time_us=t, euler_deg=vec(), acc=vec(), gyr=np.radians(vec())
    )
    return [
        {
            "name": "movella-dot mode 20 notifications",
            "frames": live,
            "n_samples": n,
            "ours": lambda f: len(FAMILY.decode(f, {"mode": 20})),
            "baseline": _baseline_mode20,
        },
        {
            "name": "movella-dot ExportFileData (ts, Euler, acc, gyr)",
            "frames": export,
            "n_samples": n,
            "ours": lambda f: len(decode_export(f)[0]),
            "baseline": _baseline_export,
        },
    ]
