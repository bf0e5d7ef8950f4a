"""WitMotion (WIT standard protocol): BLE 5.0 ``0x55 0x61`` packets and the classic ``0x55 0x5x`` packets.

A WitMotion sensor streams 20-byte ``55 61`` packets (acceleration, angular rate, angle; no checksum) over
BLE, or 11-byte ``55 51``/``52``/``53``/``54`` packets (one quantity each, 8-bit checksum) over serial links.
Packets may arrive split over notifications or several to a notification, with damaged bytes between: the
decoder resynchronises on the ``0x55`` header. Packets without checksum are only believed when what follows
them is a header or a notification boundary, so a lost fragment cannot pass as a sample. There is no device
clock: samples get the host receive time of the notification that completed them (``HOST_TIME``).
Scaling and UUIDs come from ``firmware_protocols/witmotion/profile.toml``; sources in its ``spec.md``.

Examples
--------
>>> pkt = encode_combined([[0.0, 0.0, 9.80665]], [[0.0, 0.0, 0.5]], [[1.0, -2.0, 90.0]])[0]
>>> pkt.hex(" ")
'55 61 00 00 00 00 00 08 00 00 00 00 d5 01 b6 00 94 fe 00 40'
>>> s = decode_stream([pkt[:7], pkt[7:], b"garbage"])  # split packet, then junk
>>> s.acc.round(5).tolist(), s.angle_deg.round(2).tolist(), s.counts["garbage_bytes"]
([[0.0, 0.0, 9.80665]], [[1.0, -2.0, 90.0]], 7)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from imurehab.errors import ProtocolError
from imurehab.protocols.base import DecodeResult, ProtocolFamily, Settings
from imurehab.protocols.profiles import load_profile

__all__ = [
    "ACC_LSB",
    "ANGLE_LSB",
    "FAMILY",
    "GYR_LSB",
    "WitmotionSamples",
    "WitmotionStream",
    "decode",
    "decode_stream",
    "encode_combined",
    "encode_serial",
    "read_register_command",
    "write_register_command",
]

_NAME: Final = "witmotion"
PROFILE: Final[dict[str, Any]] = load_profile(_NAME)
_P = PROFILE["packets"]
_T = PROFILE["serial_types"]
_S = PROFILE["scaling"]
_HEADER: Final[int] = PROFILE["header"]
_COMBINED: Final[int] = _P["combined_flag"]
_REGISTER: Final[int] = _P["register_flag"]
_SIZE = np.zeros(256, dtype=np.int64)  # packet size by flag byte; 0 = not a flag
_SIZE[[_COMBINED, _REGISTER]] = _P["combined_bytes"]
_SIZE[_P["serial_first_flag"] : _P["serial_last_flag"] + 1] = _P["serial_bytes"]
_SERIAL_BYTES: Final[int] = _P["serial_bytes"]
_G: Final[float] = _S["standard_gravity"]
ACC_LSB: Final[float] = _S["acc_full_scale_g"] * _G / _S["lsb_divisor"]
"""Accelerometer LSB [m/s²] (±16 g over int16)."""
GYR_LSB: Final[float] = np.deg2rad(_S["gyr_full_scale_dps"]) / _S["lsb_divisor"]
"""Gyroscope LSB [rad/s] (±2000 °/s over int16)."""
ANGLE_LSB: Final[float] = _S["angle_full_scale_deg"] / _S["lsb_divisor"]
"""Angle LSB [deg] (±180° over int16)."""


def _fail(message: str, reason: str, offset: int | None = None) -> ProtocolError:
    return ProtocolError(message, family=_NAME, reason=reason, offset=offset)


@dataclass(frozen=True, eq=False)
class WitmotionSamples:
    """Samples decoded from WitMotion packets; NaN where a serial cycle lacked that packet.

    Attributes
    ----------
    acc : ndarray, shape (N, 3)
        Specific force [m/s²].
    gyr : ndarray, shape (N, 3)
        Angular rate [rad/s].
    angle_deg : ndarray, shape (N, 3)
        The sensor's own roll, pitch, yaw [deg] (Z-Y-X Euler angles).
    mag : ndarray, shape (N, 3), or None
        Magnetic flux density [µT]; None when no ``0x54`` packet came.
    host_time_ns : ndarray of int64, shape (N,), or None
        Host receive time of the notification that completed each sample [ns], where given.
    counts : dict
        Running totals: ``packets`` (by flag, hex), ``rejected`` (``checksum``, ``unconfirmed``),
        ``garbage_bytes``, ``truncated_bytes``, ``register_reads`` (``0x71`` replies: register, 8 values).
    """

    acc: npt.NDArray[np.float64]
    gyr: npt.NDArray[np.float64]
    angle_deg: npt.NDArray[np.float64]
    mag: npt.NDArray[np.float64] | None
    host_time_ns: npt.NDArray[np.int64] | None
    counts: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.acc)


@dataclass
class WitmotionStream:
    """Stateful decoder of one sensor's notifications: feed bytes as they arrive, get completed samples.

    Parameters
    ----------
    mag_scale : float, optional
        Magnetometer LSB [µT] for ``0x54`` packets (default from the profile: 1 mG = 0.1 µT).

    Examples
    --------
    >>> stream = WitmotionStream()
    >>> pkt = encode_combined([[0, 0, 9.8]], [[0, 0, 0]], [[0, 0, 0]])[0]
    >>> len(stream.feed(pkt[:12], host_time_ns=1)), stream.feed(pkt[12:], host_time_ns=2).host_time_ns
    (0, array([2]))
    """

    mag_scale: float = _S["mag_scale_uT"]
    _buf: bytes = field(default=b"", repr=False)
    _ends: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    _stamps: npt.NDArray[np.int64] | None = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    _carry: tuple[Any, ...] | None = field(default=None, repr=False)
    _cycle: frozenset[int] = field(default=frozenset(), repr=False)
    _counts: Counter[str] = field(default_factory=Counter, repr=False)
    _packets: Counter[str] = field(default_factory=Counter, repr=False)
    _registers: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def feed(self, data: bytes, host_time_ns: int | None = None) -> WitmotionSamples:
        """Take one notification's bytes; return the samples it completed.

        Parameters
        ----------
        data : bytes
            The notification value.
        host_time_ns : int, optional
            Host receive time of the notification [ns]; without it, no sample gets a host time.
        """
        self._buf += bytes(data)
        self._ends = np.append(self._ends, len(self._buf))
        if self._stamps is not None:
            self._stamps = None if host_time_ns is None else np.append(self._stamps, host_time_ns)
        return self._run(final=False)

    def flush(self) -> WitmotionSamples:
        """End of stream: emit the last serial cycle and count leftover bytes as ``truncated_bytes``."""
        return self._run(final=True)

    @property
    def counts(self) -> dict[str, Any]:
        """Packets accepted by flag, rejected by reason, garbage and truncated bytes, register reads."""
        return {
            "packets": dict(sorted(self._packets.items())),
            "rejected": {k: self._counts[k] for k in ("checksum", "unconfirmed")},
            "garbage_bytes": self._counts["garbage_bytes"],
            "truncated_bytes": self._counts["truncated_bytes"],
            "register_reads": list(self._registers),
        }

    def _run(self, final: bool) -> WitmotionSamples:
        buf = self._buf
        runs, pos = _scan(buf, self._ends, self._counts)
        if final and pos < len(buf):
            self._counts["truncated_bytes"] += len(buf) - pos
            pos = len(buf)
        kinds, vals, ends = _table(buf, runs)
        times = None
        if self._stamps is not None and len(self._stamps):
            times = self._stamps[np.minimum(np.searchsorted(self._ends, ends), len(self._ends) - 1)]
        elif self._stamps is not None:
            times = np.zeros(0, np.int64)
        keep = self._ends > pos
        self._buf, self._ends = buf[pos:], self._ends[keep] - pos
        self._stamps = None if self._stamps is None else self._stamps[keep]
        flags, per_flag = np.unique(kinds, return_counts=True)
        for k, c in zip(flags.tolist(), per_flag.tolist(), strict=True):
            self._packets[f"0x{k:02x}"] += c
        reg = kinds == _REGISTER
        if reg.any():
            for row in vals[reg]:
                self._registers.append(
                    {"register": int(row[0]) & 0xFFFF, "values": [int(v) for v in row[1:]]}
                )
            kinds, vals, times = kinds[~reg], vals[~reg], None if times is None else times[~reg]
        if self._carry is not None:
            ck, cv, ct = self._carry
            kinds, vals = np.concatenate([ck, kinds]), np.concatenate([cv, vals])
            times = None if ct is None or times is None else np.concatenate([ct, times])
            self._carry = None
        return self._assemble(kinds.astype(np.int64), vals, times, final)

    def _assemble(
        self, k: npt.NDArray[np.int64], vals: npt.NDArray[np.int16], times: Any, final: bool
    ) -> WitmotionSamples:
        """Packets → samples: a ``0x61`` is one; the serial packets of one output cycle make one."""
        n = len(k)
        combined = k == _COMBINED
        if combined.all():  # the BLE case: one packet, one sample
            acc, gyr, ang = (
                vals[:, c : c + 3] * lsb for c, lsb in ((0, ACC_LSB), (3, GYR_LSB), (6, ANGLE_LSB))
            )
            return WitmotionSamples(acc, gyr, ang, None, times, self.counts)
        start = np.ones(n, dtype=bool)
        start[1:] = combined[1:] | combined[:-1] | (k[1:] <= k[:-1])
        group = np.cumsum(start) - 1
        n_groups = int(group[-1]) + 1
        if not final and not combined[-1]:  # the last serial cycle may still be arriving
            first = int(np.flatnonzero(start)[-1])
            if not self._cycle or not self._cycle <= set(k[first:].tolist()):
                self._carry = (k[first:], vals[first:], None if times is None else times[first:])
                n_groups -= 1
        inside = group < n_groups
        serial = inside & ~combined
        if serial.any():
            self._cycle = frozenset(k[group == group[serial].max()].tolist())
        out: dict[str, Any] = {}
        has_data = np.zeros(n_groups, dtype=bool)
        for name, col, serial_flag, scale in (
            ("acc", 0, _T["acc"], ACC_LSB),
            ("gyr", 3, _T["gyr"], GYR_LSB),
            ("angle", 6, _T["angle"], ANGLE_LSB),
            ("mag", None, _T["mag"], self.mag_scale),
        ):
            out[name] = np.full((n_groups, 3), np.nan)
            for rows, c in ((inside & combined, col), (inside & (k == serial_flag), 0)):
                if c is not None and rows.any():
                    out[name][group[rows]] = vals[rows, c : c + 3] * scale
                    has_data[group[rows]] = True
        host = None if times is None else np.zeros(0, dtype=np.int64)
        if times is not None and n_groups:
            last_of_group = np.full(n_groups, -1, dtype=np.int64)
            np.maximum.at(last_of_group, group[inside], np.flatnonzero(inside))
            host = times[last_of_group][has_data]
        mag = out["mag"][has_data] if (inside & (k == _T["mag"])).any() else None
        return WitmotionSamples(
            out["acc"][has_data], out["gyr"][has_data], out["angle"][has_data], mag, host, self.counts
        )


def _scan(buf: bytes, bounds: npt.NDArray[np.int64], counts: Counter[str]) -> tuple[list, int]:
    """Runs of packets ``(offset, size, count)``, and where parsing stopped (an incomplete packet)."""
    u8 = np.frombuffer(buf, dtype=np.uint8)
    n, pos, runs = len(buf), 0, []
    header = bytes([_HEADER])
    while pos < n:
        if buf[pos] != _HEADER:
            nxt = buf.find(header, pos)
            nxt = n if nxt < 0 else nxt
            counts["garbage_bytes"] += nxt - pos
            pos = nxt
            continue
        if pos + 1 >= n:
            break
        size = int(_SIZE[buf[pos + 1]])
        if size == 0:
            counts["garbage_bytes"] += 1
            pos += 1
            continue
        if pos + size > n:
            break
        count = _run_length(u8, pos, size)
        block = u8[pos : pos + count * size].reshape(count, size)
        if size == _SERIAL_BYTES:
            ok = (block[:, :10].sum(axis=1, dtype=np.int64) & 0xFF) == block[:, 10]
            good = count if ok.all() else int(np.argmin(ok))
            bad = "checksum" if good < count else None
        else:
            good = count if _continues(buf, pos + count * size, bounds) else count - 1
            bad = "unconfirmed" if good < count else None
        if good:
            runs.append((pos, size, good))
            pos += good * size
        if bad:
            counts[bad] += 1
            counts["garbage_bytes"] += 1
            pos += 1
    return runs, pos


def _run_length(u8: npt.NDArray[np.uint8], pos: int, size: int) -> int:
    """Consecutive packets of ``size`` bytes from ``pos`` whose header and flag are valid."""
    total, count, block = (len(u8) - pos) // size, 0, 16
    while count < total:
        b = min(block, total - count)
        heads = u8[pos + count * size : pos + (count + b) * size].reshape(b, size)
        same = (heads[:, 0] == _HEADER) & (_SIZE[heads[:, 1]] == size)
        if not same.all():
            return count + int(np.argmin(same))
        count, block = count + b, block * 2
    return count


def _continues(buf: bytes, end: int, bounds: npt.NDArray[np.int64]) -> bool:
    """Whether a checksum-less packet ending at ``end`` is followed by a header or a notification boundary."""
    if end == len(buf) or (len(bounds) and bounds[min(np.searchsorted(bounds, end), len(bounds) - 1)] == end):
        return True
    if buf[end] != _HEADER:
        return False
    return end + 1 == len(buf) or bool(_SIZE[buf[end + 1]])


def _table(
    buf: bytes, runs: list
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int16], npt.NDArray[np.int64]]:
    """Flags, values (9 int16 per packet; serial packets in columns 0–3) and end offsets of packets."""
    kinds, vals, ends = [], [], []
    u8 = np.frombuffer(buf, dtype=np.uint8)
    for pos, size, count in runs:
        block = u8[pos : pos + count * size].reshape(count, size)
        v = np.zeros((count, 9), dtype=np.int16)
        cells = (size - 2) // 2
        v[:, :cells] = np.ascontiguousarray(block[:, 2 : 2 + 2 * cells]).view("<i2")
        kinds.append(block[:, 1])
        vals.append(v)
        ends.append(pos + size * np.arange(1, count + 1, dtype=np.int64))
    if not runs:
        return np.zeros(0, np.uint8), np.zeros((0, 9), np.int16), np.zeros(0, np.int64)
    return np.concatenate(kinds), np.concatenate(vals), np.concatenate(ends)


def decode_stream(
    packets: Sequence[bytes],
    host_time_ns: Sequence[int] | None = None,
    *,
    mag_scale: float = _S["mag_scale_uT"],
) -> WitmotionSamples:
    """Decode a whole sequence of notifications at once (the same as feeding a :class:`WitmotionStream`).

    Parameters
    ----------
    packets : sequence of bytes
        Notification values in arrival order (split, merged or damaged packets allowed).
    host_time_ns : sequence of int, optional
        Receive time of each notification [ns].
    mag_scale : float, optional
        Magnetometer LSB [µT].

    Returns
    -------
    WitmotionSamples
        Every sample, with counts of accepted and rejected packets and skipped bytes.
    """
    if host_time_ns is not None and len(host_time_ns) != len(packets):
        raise _fail("host_time_ns needs one time per packet", "settings")
    stream = WitmotionStream(mag_scale=_check_scale(mag_scale))
    stream._buf = b"".join(packets)
    stream._ends = np.cumsum(np.fromiter(map(len, packets), dtype=np.int64, count=len(packets)))
    stream._stamps = None if host_time_ns is None else np.asarray(host_time_ns, dtype=np.int64)
    return stream.flush()


def _check_scale(mag_scale: Any) -> float:
    try:
        scale = float(mag_scale)
    except (TypeError, ValueError) as err:
        raise _fail("mag_scale must be a number [µT/LSB]", "settings") from err
    if not (np.isfinite(scale) and scale > 0):
        raise _fail("mag_scale must be positive and finite [µT/LSB]", "settings")
    return scale


def _quantize(values: npt.ArrayLike, lsb: float, name: str) -> npt.NDArray[np.int16]:
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != 3 or not np.isfinite(v).all():
        raise _fail(f"{name} must be finite, shape (N, 3)", "value")
    return np.clip(np.rint(v / lsb), -32768, 32767).astype("<i2")


def encode_combined(acc: npt.ArrayLike, gyr: npt.ArrayLike, angle_deg: npt.ArrayLike) -> list[bytes]:
    """BLE 5.0 ``55 61`` packets, one per sample (what a WitMotion sensor notifies).

    Parameters
    ----------
    acc : array_like, shape (N, 3)
        Specific force [m/s²] (clipped to ±16 g).
    gyr : array_like, shape (N, 3)
        Angular rate [rad/s] (clipped to ±2000 °/s).
    angle_deg : array_like, shape (N, 3)
        Roll, pitch, yaw [deg].

    Returns
    -------
    list of bytes
        20-byte packets; values rounded to the nearest LSB.
    """
    raw = np.hstack(
        [
            _quantize(acc, ACC_LSB, "acc"),
            _quantize(gyr, GYR_LSB, "gyr"),
            _quantize(angle_deg, ANGLE_LSB, "angle"),
        ]
    )
    head = bytes([_HEADER, _COMBINED])
    return [head + row.tobytes() for row in raw]


def encode_serial(
    acc: npt.ArrayLike,
    gyr: npt.ArrayLike,
    angle_deg: npt.ArrayLike,
    mag: npt.ArrayLike | None = None,
    *,
    mag_scale: float = _S["mag_scale_uT"],
) -> list[bytes]:
    """Classic 11-byte packets ``55 51``, ``55 52``, ``55 53`` (and ``55 54``) per sample, with checksums.

    Parameters
    ----------
    acc, gyr, angle_deg : array_like, shape (N, 3)
        As for :func:`encode_combined`.
    mag : array_like, shape (N, 3), optional
        Magnetic flux density [µT].
    mag_scale : float, optional
        Magnetometer LSB [µT].

    Returns
    -------
    list of bytes
        The packets in sensor order; the 4th int16 (temperature or version) is 0.
    """
    groups = [
        (_T["acc"], _quantize(acc, ACC_LSB, "acc")),
        (_T["gyr"], _quantize(gyr, GYR_LSB, "gyr")),
        (_T["angle"], _quantize(angle_deg, ANGLE_LSB, "angle")),
    ]
    if mag is not None:
        groups.append((_T["mag"], _quantize(mag, _check_scale(mag_scale), "mag")))
    if len({len(raw) for _, raw in groups}) != 1:
        raise _fail("all quantities need the same number of samples", "value")
    out = []
    for i in range(len(groups[0][1])):
        for flag, raw in groups:
            body = bytes([_HEADER, flag]) + raw[i].tobytes() + b"\0\0"
            out.append(body + bytes([sum(body) & 0xFF]))
    return out


def write_register_command(register: int, value: int) -> bytes:
    """The 5-byte command ``FF AA reg value_low value_high`` (send the unlock command first).

    Parameters
    ----------
    register : int
        Register address (0–255), e.g. ``0x03`` RRATE.
    value : int
        16-bit value.
    """
    if not (0 <= register <= 0xFF and -0x8000 <= value <= 0xFFFF):
        raise _fail("register must be a byte and value 16-bit", "value")
    return bytes(PROFILE["commands"]["prefix"]) + bytes([register]) + (value & 0xFFFF).to_bytes(2, "little")


def read_register_command(register: int) -> bytes:
    """The command asking for 8 registers from ``register`` (reply: a ``55 71`` packet).

    Parameters
    ----------
    register : int
        First register (e.g. ``0x3A``: magnetic field x, y, z).
    """
    return write_register_command(PROFILE["registers"]["readaddr"], register)


def decode(packets: Sequence[bytes], settings: Settings) -> DecodeResult:
    """Decode WitMotion notifications into SI samples (no device time: ``time_ns`` is None).

    Parameters
    ----------
    packets : sequence of bytes
        Notification values in arrival order.
    settings : Mapping
        ``mag_scale``: magnetometer LSB [µT] (default 0.1).

    Returns
    -------
    DecodeResult
        ``acc`` [m/s²], ``gyr`` [rad/s], ``mag`` [µT] (None without ``0x54`` packets); ``info``: the counts
        of :class:`WitmotionSamples` and ``angle_deg`` (roll, pitch, yaw per sample [deg]).
    """
    s = decode_stream(packets, mag_scale=_check_scale(settings.get("mag_scale", _S["mag_scale_uT"])))
    info = dict(s.counts)
    info["angle_deg"] = s.angle_deg.tolist()
    info["host_time"] = True
    return DecodeResult(family=_NAME, acc=s.acc, gyr=s.gyr, mag=s.mag, info=info)


FAMILY = ProtocolFamily(
    name=_NAME,
    title=PROFILE["title"],
    settings={"mag_scale": "magnetometer LSB [µT] for 0x54 packets (default 0.1: 1 mG)"},
    decode=decode,
)
"""Registry entry of the WitMotion family."""
