"""Polar's sample time rule: a frame's timestamp is its last sample's; the others are spread evenly.

Sample ``i`` of a frame of ``n`` samples stamped ``ts`` [ns since 2000-01-01] lies at
``ts − (n − 1 − i)·Δ``, rounded half to even, with ``Δ = (ts − previous frame's ts) / n`` when the
previous frame of the same stream is known, else ``Δ = 1e9 / rate`` from the nominal sample rate
(Polar BLE SDK ``PmdTimeStampUtils.getTimeStamps``; spec.md §6). The last sample is ``ts`` exactly.

Polar computes this in double precision, which cannot hold today's timestamps (~8e17 ns) exactly;
here the rational value is rounded exactly, so results agree with Polar wherever doubles are exact.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Final

import numpy as np
import numpy.typing as npt

from imurehab.protocols.polar_pmd._profile import fail, pmd_profile

__all__ = ["NO_PREVIOUS", "previous_timestamps", "sample_times"]

NO_PREVIOUS: Final = -1
"""Marks a frame whose previous frame timestamp is unknown."""

_FLOAT_EXACT: Final = float(2**51)  # below this, float64 holds the numerators exactly with margin
_TIMESTAMP_OFFSET: Final[int] = pmd_profile().raw["frame"]["timestamp_offset"]

Int64Array = npt.NDArray[np.int64]


def sample_times(
    frame_ts: Int64Array,
    counts: Int64Array,
    previous: Int64Array,
    rate_hz: float | None,
    where: list[int] | None = None,
) -> tuple[Int64Array | None, list[str]]:
    """Each sample's device time [ns since 2000-01-01] by Polar's rule.

    Parameters
    ----------
    frame_ts : ndarray of int64, shape (F,)
        Frame timestamps [ns since 2000-01-01] (the last sample of each frame).
    counts : ndarray of int64, shape (F,)
        Samples per frame.
    previous : ndarray of int64, shape (F,)
        Timestamp of the previous frame of the same stream [ns], or :data:`NO_PREVIOUS`.
    rate_hz : float or None
        Nominal sample rate [Hz], used where the previous timestamp is unknown.
    where : list of int, optional
        Packet index of each frame, for error messages.

    Returns
    -------
    time_ns : ndarray of int64, shape (sum(counts),), or None
        Sample times, or None when a frame of several samples has neither a previous timestamp nor a
        rate (its spacing is unknown).
    basis : list of str
        Per frame: ``"previous_timestamp"``, ``"sample_rate"``, ``"single_sample"`` or ``"unknown"``.

    Raises
    ------
    ProtocolError
        A previous timestamp not before the frame's (reason ``"sequence"``), a non-positive rate
        (``"settings"``) or a first sample before the epoch (``"value"``); offsets point at the
        frame timestamp (byte 1).
    """
    packets = where if where is not None else list(range(len(frame_ts)))
    has_prev = previous != NO_PREVIOUS
    bad = np.flatnonzero(has_prev & (previous >= frame_ts))
    if bad.size:
        i = int(bad[0])
        fail(
            f"packet {packets[i]}: frame timestamp {int(frame_ts[i])} ns is not after the previous frame's "
            f"{int(previous[i])} ns",
            "sequence",
            _TIMESTAMP_OFFSET,
        )
    single = counts <= 1
    use_rate = ~has_prev & ~single
    basis = np.where(single, "single_sample", np.where(has_prev, "previous_timestamp", "sample_rate"))
    if rate_hz is None:
        basis[use_rate] = "unknown"
        if use_rate.any():
            return None, basis.tolist()
    elif not rate_hz > 0:
        fail(f"sample rate {rate_hz} Hz is not positive", "settings")
    # Per frame, the sample spacing is the rational a/b [ns].
    rate = Fraction(rate_hz).limit_denominator(1000) if rate_hz is not None else Fraction(1)
    span = np.where(has_prev, frame_ts - np.where(has_prev, previous, 0), 0)
    a = np.where(single, 0.0, np.where(has_prev, span, 10**9 * rate.denominator).astype(np.float64))
    b = np.where(has_prev, counts, rate.numerator).astype(np.float64)
    times = _spread(frame_ts, counts, a, b)
    starts = np.cumsum(counts) - counts
    for f in np.flatnonzero((counts - 1) * a + b >= _FLOAT_EXACT):
        exact_a, exact_b = (
            (int(span[f]), int(counts[f])) if has_prev[f] else (10**9 * rate.denominator, rate.numerator)
        )
        times[starts[f] : starts[f] + counts[f]] = _spread_exact(
            int(frame_ts[f]), int(counts[f]), exact_a, exact_b
        )
    first = times[starts[counts > 0]]
    neg = np.flatnonzero(first < 0)
    if neg.size:
        f = int(np.flatnonzero(counts > 0)[neg[0]])
        fail(f"packet {packets[f]}: first sample would fall before 2000-01-01", "value", _TIMESTAMP_OFFSET)
    return times, basis.tolist()


def _spread(
    frame_ts: Int64Array, counts: Int64Array, a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]
) -> Int64Array:
    """``round_half_even(ts − k·a/b)`` for k = n−1 … 0 per frame, vectorised.

    With ``ts = E + p`` (E even, p = ts mod 2): round(E + p − k·a/b) = E + round((p·b − k·a) / b), since
    adding an even integer keeps ties' parity. The numerator is an exact float integer; one correctly
    rounded division then decides the rounding exactly (its distance to a half-integer is 0 or ≥ 1/(2b),
    far above the division's error while (n−1)·a + b < 2**51).
    """
    total = int(counts.sum())
    parity = frame_ts & 1
    k = np.repeat((np.cumsum(counts) - 1).astype(np.float64), counts)
    k -= np.arange(total, dtype=np.float64)
    k *= np.repeat(a, counts)
    z = np.repeat(parity * b, counts)
    z -= k
    z /= np.repeat(b, counts)
    np.rint(z, out=z)
    times = z.astype(np.int64)
    times += np.repeat(frame_ts - parity, counts)
    return times


def _spread_exact(ts: int, n: int, a: int, b: int) -> list[int]:
    """The same rule in exact rational arithmetic (for spacings too large for float64)."""
    return [round(Fraction(ts) - Fraction((n - 1 - i) * a, b)) for i in range(n)]


def previous_timestamps(
    stamps: npt.NDArray[np.int64],
    type_bytes: npt.NDArray[np.uint8],
    ft_bytes: npt.NDArray[np.uint8],
    previous_timestamp_ns: int | None,
) -> npt.NDArray[np.int64]:
    """Per frame, the timestamp of the previous frame of its stream (measurement, frame type).

    Polar keys streams by measurement type and frame type without the compressed bit
    (``BlePMDClient.previousTimeStampMap``).

    Parameters
    ----------
    stamps : ndarray of int64, shape (F,)
        Frame timestamps [ns since 2000-01-01].
    type_bytes, ft_bytes : ndarray of uint8, shape (F,)
        Measurement type and frame type bytes of each frame.
    previous_timestamp_ns : int or None
        Timestamp before each stream's first frame, if known [ns].

    Returns
    -------
    ndarray of int64, shape (F,)
        Previous timestamps, :data:`NO_PREVIOUS` where unknown.
    """
    prof = pmd_profile().raw
    key = (type_bytes & prof["measurement"]["type_mask"]).astype(np.int64) * 256 + (
        ft_bytes & prof["frame"]["type_mask"]
    )
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    prev_sorted = np.empty(len(key), dtype=np.int64)
    prev_sorted[1:] = stamps[order][:-1]
    first = np.ones(len(key), dtype=bool)
    first[1:] = sorted_key[1:] != sorted_key[:-1]
    prev_sorted[first] = NO_PREVIOUS if previous_timestamp_ns is None else previous_timestamp_ns
    previous = np.empty_like(prev_sorted)
    previous[order] = prev_sorted
    return previous
