"""Rows of DOT measurement data (Table 17 fields) to SI arrays and back, vectorised with numpy.

A live notification and an exported recording packet carry the same field formats; both reach
:func:`rows_to_samples` as a 2-D byte array (one row per sample) and leave :func:`samples_to_rows`
from SI arrays. Units in :class:`DotSamples`: acc and free_acc [m/s²], gyr [rad/s], mag [µT],
euler_deg [deg], dv [m/s], quaternion and dq unitless (w, x, y, z), time [µs].
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from imurehab.protocols.counters import unwrap_counter
from imurehab.protocols.movella_dot._profile import CLOCK_BITS, FAMILY_NAME, FIELDS, MAG_AU_TO_UT, error

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
ByteRows = npt.NDArray[np.uint8]

_F32_LIMIT = float(np.finfo(np.float32).max) + 2.0**103  # rounds to float32 max, not inf


@dataclass(frozen=True, eq=False)
class DotSamples:
    """Decoded DOT samples in SI units.

    Attributes
    ----------
    time_us : ndarray of int64, shape (N,), or None
        Device time, unwrapped across 2³² µs rollovers [µs since power-on of the sensor clock];
        None when the export selection has no timestamp.
    quantities : dict of str to ndarray
        Each field present, keyed by field name: ``acc`` and ``free_acc`` (N, 3) [m/s²], ``gyr``
        (N, 3) [rad/s], ``mag`` (N, 3) [µT], ``euler_deg`` (N, 3) roll/pitch/yaw [deg],
        ``quaternion`` and ``dq`` (N, 4) w, x, y, z, ``dv`` (N, 3) [m/s], ``status``,
        ``clip_count_acc``, ``clip_count_gyr`` (N,) int64.
    data_number : ndarray of int64, shape (N,), or None
        Export packet counter (recordings only).
    rollovers : int
        Clock rollovers unwrapped in these samples.
    """

    time_us: IntArray | None
    quantities: dict[str, npt.NDArray[Any]] = field(default_factory=dict)
    data_number: IntArray | None = None
    rollovers: int = 0

    def __len__(self) -> int:
        if self.time_us is not None:
            return int(self.time_us.shape[0])
        for v in self.quantities.values():
            return int(v.shape[0])
        return 0 if self.data_number is None else int(self.data_number.shape[0])


def row_dtype(fields: Sequence[str]) -> np.dtype[Any]:
    """The packed numpy dtype of one row of ``fields`` (wire order, little-endian)."""
    return np.dtype(
        [
            (f, FIELDS[f].dtype, (FIELDS[f].count,)) if FIELDS[f].count > 1 else (f, FIELDS[f].dtype)
            for f in fields
        ]
    )


def rows_to_samples(
    rows: ByteRows,
    fields: Sequence[str],
    *,
    offset: int = 0,
    previous_timestamp_us: int | None = None,
    mag_au_to_ut: float = MAG_AU_TO_UT,
    data_number: IntArray | None = None,
) -> DotSamples:
    """Decode rows of wire bytes.

    Parameters
    ----------
    rows : ndarray of uint8, shape (N, row bytes)
        One sample per row, fields in wire order.
    fields : sequence of str
        Field names of a row.
    offset : int
        Byte offset of the row inside its packet (for error offsets).
    previous_timestamp_us : int, optional
        Unwrapped time [µs] of the sample before ``rows[0]`` (continues the time line).
    mag_au_to_ut : float
        µT per arbitrary unit of the magnetometer [µT/a.u.].
    data_number : ndarray of int64, optional
        Export packet counters of the rows.

    Raises
    ------
    ProtocolError
        ``"value"`` for a non-finite float, ``"sequence"`` for timestamps out of order.
    """
    dt = row_dtype(fields)
    rec = np.ascontiguousarray(rows).view(dt)[:, 0]
    for name in fields:
        values = rec[name]
        if FIELDS[name].dtype.kind == "f" and not np.isfinite(values).all():
            bad = np.argwhere(~np.isfinite(values.reshape(len(values), -1)))[0]
            where = offset + dt.fields[name][1] + int(bad[1]) * FIELDS[name].dtype.itemsize
            raise error(f"sample {int(bad[0])}: non-finite {name}", "value", where)
    time_us, rollovers = None, 0
    if "timestamp" in fields:
        time_us, rollovers = unwrap_counter(
            rec["timestamp"], bits=CLOCK_BITS, previous=previous_timestamp_us, family=FAMILY_NAME
        )
    quantities: dict[str, npt.NDArray[Any]] = {}
    for name in fields:
        f = FIELDS[name]
        if name == "timestamp":
            continue
        if f.dtype.kind == "f":
            values64 = rec[name].astype(np.float64)
            quantities[name] = np.radians(values64) if name == "gyr" else values64
        elif name == "mag":
            quantities[name] = rec[name].astype(np.float64) * (f.scale * mag_au_to_ut)
        else:
            quantities[name] = rec[name].astype(np.int64)
    return DotSamples(time_us, quantities, data_number, rollovers)


def _wire_values(name: str, value: npt.ArrayLike, n: int, mag_au_to_ut: float) -> npt.NDArray[Any]:
    f = FIELDS[name]
    arr = np.asarray(value, dtype=np.float64)
    shape = (n, f.count) if f.count > 1 else (n,)
    if arr.shape != shape:
        raise error(f"{name} must have shape {shape}, got {arr.shape}", "value")
    if not np.isfinite(arr).all():
        raise error(f"{name} must be finite", "value")
    if name == "gyr":
        arr = np.degrees(arr)
    if f.dtype.kind == "f":
        if arr.size and np.abs(arr).max() >= _F32_LIMIT:
            raise error(f"{name} exceeds the float32 range", "value")
        return arr.astype(f.dtype)
    if name == "mag":
        arr = np.rint(arr / (f.scale * mag_au_to_ut))
    info = np.iinfo(f.dtype)
    if arr.size and (arr.min() < info.min or arr.max() > info.max or not np.array_equal(arr, np.rint(arr))):
        raise error(f"{name} does not fit {f.dtype} integers", "value")
    return arr.astype(f.dtype)


def samples_to_rows(
    fields: Sequence[str],
    quantities: Mapping[str, npt.ArrayLike],
    *,
    time_us: npt.ArrayLike | None = None,
    mag_au_to_ut: float = MAG_AU_TO_UT,
) -> ByteRows:
    """Encode SI samples into wire rows (the inverse of :func:`rows_to_samples`).

    Parameters
    ----------
    fields : sequence of str
        Field names of a row, wire order.
    quantities : mapping of str to array_like
        One entry per non-timestamp field, in the units of :class:`DotSamples`.
    time_us : array_like of int, shape (N,), optional
        Device time [µs]; written modulo 2³² (the sensor clock wraps). Required when ``fields``
        holds ``timestamp``.
    mag_au_to_ut : float
        µT per arbitrary unit of the magnetometer [µT/a.u.].

    Returns
    -------
    ndarray of uint8, shape (N, row bytes)

    Raises
    ------
    ProtocolError
        ``"value"`` for missing, extra, mis-shaped or unrepresentable values.
    """
    wanted = [f for f in fields if f != "timestamp"]
    if sorted(quantities) != sorted(wanted):
        raise error(f"expected quantities {sorted(wanted)}, got {sorted(quantities)}", "value")
    if "timestamp" in fields:
        if time_us is None:
            raise error("time_us is required for rows with a timestamp", "value")
        times = np.asarray(time_us, dtype=np.int64).reshape(-1)
        n = times.shape[0]
    else:
        n = np.asarray(next(iter(quantities.values()))).shape[0] if quantities else 0
    rec = np.zeros(n, dtype=row_dtype(fields))
    for name in fields:
        if name == "timestamp":
            if n and times.min() < 0:
                raise error("time_us must be non-negative", "value")
            rec[name] = times % (1 << 32)
        else:
            rec[name] = _wire_values(name, quantities[name], n, mag_au_to_ut)
    return rec.view(np.uint8).reshape(n, rec.dtype.itemsize)


def stack_packets(packets: Sequence[bytes], size: int, max_size: int, what: str) -> ByteRows:
    """Stack packets of ``size`` bytes (optionally zero-padded up to ``max_size``) into rows.

    Raises
    ------
    ProtocolError
        ``"truncated"`` for a packet shorter than ``size``; ``"overlong"`` for one longer than
        ``max_size`` or with non-zero padding.
    """
    n = len(packets)
    lengths = np.fromiter(map(len, packets), dtype=np.int64, count=n)
    short = np.flatnonzero(lengths < size)
    if short.size:
        i = int(short[0])
        raise error(f"{what} packet {i}: {lengths[i]} bytes, need {size}", "truncated", int(lengths[i]))
    long_ = np.flatnonzero(lengths > max_size)
    if long_.size:
        i = int(long_[0])
        raise error(f"{what} packet {i}: {lengths[i]} bytes, at most {max_size}", "overlong", max_size)
    if n and (lengths == lengths[0]).all():
        arr = np.frombuffer(b"".join(packets), dtype=np.uint8).reshape(n, int(lengths[0]))
    else:
        arr = np.zeros((n, max_size), dtype=np.uint8)
        for i, p in enumerate(packets):
            arr[i, : len(p)] = np.frombuffer(p, dtype=np.uint8)
    pad = arr[:, size:]
    if pad.size and pad.any():
        i, j = (int(v) for v in np.argwhere(pad)[0])
        raise error(f"{what} packet {i}: non-zero byte after the {size}-byte payload", "overlong", size + j)
    return arr[:, :size]
