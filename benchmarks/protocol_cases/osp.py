"""OSP cases: session-log chunks (the BLE sync's journal pieces) and live notifications, 1–2 M samples.

`ours` is the public decoder (`FAMILY.decode`: one vectorised pass with a CRC-32 per frame); `baseline`
is a straightforward per-frame `struct` decoder written here that also checks every CRC and produces the
same outputs per sample (time [ns], index, acc/gyr/mag in SI).
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from imurehab.protocols.osp import FAMILY, Descriptor, encode_descriptor, encode_frames, max_samples_per_frame

_HEAD = struct.Struct("<BBBBHBBIIQQ")
_DESC = struct.Struct("<BBBBHBBBBIfffIIH")


def _session(mask: int, n: int, rate_hz: float, spf: int) -> tuple[bytes, list[bytes]]:
    """A session log (descriptor + DATA frames) of ``n`` samples, and the frames alone."""
    d = Descriptor(
        channel_mask=mask,
        rate_mhz=round(rate_hz * 1000),
        acc_scale=16 * 9.80665 / 32768,
        gyr_scale=np.deg2rad(2000) / 32768,
        mag_scale=0.15,
        boot_id=0x5EED,
        session_id=3,
        imu_model="ICM-42688-P",
    )
    ch = 3 * bin(mask).count("1")
    rng = np.random.default_rng(3)
    raw = rng.integers(-4000, 4000, (n, ch), dtype=np.int16)
    frames = encode_frames(
        raw,
        channel_mask=mask,
        first_index=0,
        first_time_us=1_000_000,
        rate_mhz=d.rate_mhz,
        samples_per_frame=spf,
        session_id=3,
    )
    return encode_descriptor(d), frames


def _chunks(descriptor: bytes, frames: list[bytes], per_chunk: int) -> list[bytes]:
    """Journal pieces of ``per_chunk`` frames each, the first opening with the descriptor."""
    out = [b"".join(frames[i : i + per_chunk]) for i in range(0, len(frames), per_chunk)]
    out[0] = descriptor + out[0]
    return out


def _baseline(pieces: list[bytes]) -> int:
    """Walk frame by frame; check CRC; unpack each sample with struct; scale; per-sample time."""
    scales: list[float] = []
    rate_mhz = 1
    out = []
    for piece in pieces:
        pos = 0
        while pos < len(piece):
            ver, kind, _, _, flen = _HEAD.unpack_from(piece, pos)[:5]
            frame = piece[pos : pos + flen]
            if ver != 1 or zlib.crc32(frame[:-4]) != struct.unpack_from("<I", frame, flen - 4)[0]:
                raise ValueError("bad frame")
            if kind == 2:
                f = _DESC.unpack_from(frame)
                mask, rate_mhz = f[6], f[9]
                scales = [s for bit, s in zip((1, 2, 4), f[10:13], strict=True) if mask & bit]
            else:
                _, _, _, _, _, n, mask, _, _, index, t_us = _HEAD.unpack_from(frame)
                ch = 3 * len(scales)
                unpack = struct.Struct(f"<{ch}h").unpack_from
                for k in range(n):
                    values = unpack(frame, 32 + 2 * ch * k)
                    si = tuple(v * scales[j // 3] for j, v in enumerate(values))
                    out.append((t_us * 1000 + k * 10**12 // rate_mhz, index + k, si))
            pos += flen
    return len(out)


def cases() -> list[dict]:
    """Log chunks at 6 and 9 channels (frames sized for ATT MTU 247), and one-frame live notifications."""
    d6, f6 = _session(0x03, 2_000_000, 200.0, max_samples_per_frame(247, 0x03))
    d9, f9 = _session(0x07, 1_000_000, 100.0, max_samples_per_frame(247, 0x07))
    live = [d6, *f6[:60_000]]
    return [
        {
            "name": "osp log chunks acc+gyr, 17/frame (1024 frames)",
            "frames": _chunks(d6, f6, 1024),
            "n_samples": 2_000_000,
            "ours": lambda p: len(FAMILY.decode(p, {})),
            "baseline": _baseline,
        },
        {
            "name": "osp log chunks acc+gyr+mag, 11/frame",
            "frames": _chunks(d9, f9, 1024),
            "n_samples": 1_000_000,
            "ours": lambda p: len(FAMILY.decode(p, {})),
            "baseline": _baseline,
        },
        {
            "name": "osp live notifications, 1 frame each (17)",
            "frames": live,
            "n_samples": 17 * 60_000,
            "ours": lambda p: len(FAMILY.decode(p, {})),
            "baseline": _baseline,
        },
    ]
