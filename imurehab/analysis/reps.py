"""Repetitions and range of motion (ROM) from a joint-angle trace.

A repetition is one excursion from the rest angle and back: a knee extension from 90° flexion toward
0° and back, a squat from standing into flexion and back. The rest level is where the joint dwells
while still; each excursion's extreme is a peak of the trace's distance from rest, and a peak counts
when it is prominent relative to the largest excursions of the set.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy.ndimage import uniform_filter1d
from scipy.signal import find_peaks

from imurehab.errors import DataValidationError

__all__ = ["Rep", "segment_reps"]

FloatArray = npt.NDArray[np.float64]

_ONSET_FRACTION: Final[float] = 0.1  # movement starts/ends where the excursion crosses 10% of its peak
_MIN_PROMINENCE_FRACTION: Final[float] = 0.25  # of the set's typical (95th percentile) excursion


@dataclass(frozen=True)
class Rep:
    """One repetition.

    Attributes
    ----------
    rep : int
        1-based repetition number.
    start, end : int
        Sample indices of movement onset and offset (``end`` inclusive): where the excursion crosses
        10% of its height.
    peak : int
        Sample index of the excursion's extreme.
    min_deg, max_deg : float
        Smallest and largest angle from the preceding to the following rest [deg], from the trace
        smoothed over 0.1 s so that sensor noise does not widen the range.
    rom_deg : float
        Range of motion ``max_deg - min_deg`` [deg].
    """

    rep: int
    start: int
    end: int
    peak: int
    min_deg: float
    max_deg: float
    rom_deg: float


def _rest_start(still: npt.NDArray[np.bool_], lo: int, start: int) -> int:
    """First sample of the rest before a rep's onset at ``start`` (``lo`` if the trace rests back to it).

    Walks back over the onset's own slow samples, then over the rest, and stops where moving resumes.
    """
    seg = still[lo : start + 1][::-1]
    first_still = np.flatnonzero(seg)
    if first_still.size == 0:
        return lo
    moving = np.flatnonzero(~seg[first_still[0] :])
    return lo if moving.size == 0 else start - int(first_still[0] + moving[0]) + 1


def _rest_end(still: npt.NDArray[np.bool_], end: int, hi: int) -> int:
    """Last sample of the rest after a rep's end at ``end`` (``hi`` if the trace rests up to it)."""
    seg = still[end : hi + 1]
    first_still = np.flatnonzero(seg)
    if first_still.size == 0:
        return hi
    moving = np.flatnonzero(~seg[first_still[0] :])
    return hi if moving.size == 0 else end + int(first_still[0] + moving[0]) - 1


def segment_reps(
    angle_deg: npt.ArrayLike,
    rate_hz: float,
    *,
    min_rep_s: float = 1.0,
    min_rom_deg: float = 10.0,
) -> list[Rep]:
    """Find repetitions in a joint-angle trace and measure each one's ROM.

    Parameters
    ----------
    angle_deg : array_like, shape (N,)
        The angle of the joint's main degree of freedom [deg], evenly sampled.
    rate_hz : float
        Sampling rate [Hz].
    min_rep_s : float
        Shortest time between two repetitions' peaks [s].
    min_rom_deg : float
        Excursions smaller than this are not repetitions [deg].

    Returns
    -------
    list of Rep
        Repetitions in time order; empty if the trace holds none.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(0, 20, 0.01)
    >>> moving = (t >= 2) & (t < 18)
    >>> knee = 90 - 40 * (1 - np.cos(2 * np.pi * (t - 2) / 4)) * moving
    >>> [round(r.rom_deg) for r in segment_reps(knee, 100.0)]
    [80, 80, 80, 80]
    """
    a = np.asarray(angle_deg, dtype=np.float64)
    if a.ndim != 1:
        raise DataValidationError(f"angle must be one-dimensional, got shape {a.shape}", column="angle_deg")
    if not np.isfinite(a).all():
        raise DataValidationError("angle holds NaN or inf", column="angle_deg")
    if not (rate_hz > 0):
        raise DataValidationError(f"rate_hz must be positive, got {rate_hz!r}", column="rate_hz")
    if a.size < 3:
        return []
    smooth = uniform_filter1d(a, max(1, int(0.1 * rate_hz)), mode="nearest")
    speed = np.abs(np.gradient(smooth)) * rate_hz
    still = speed < np.percentile(speed, 25) + 1e-9
    rest = float(np.median(smooth[still]))
    up, down = np.percentile(smooth, 99) - rest, rest - np.percentile(smooth, 1)
    direction = 1.0 if up >= down else -1.0
    excursion = direction * (smooth - rest)
    typical = float(np.percentile(excursion, 95))
    prominence = max(min_rom_deg, _MIN_PROMINENCE_FRACTION * typical)
    peaks, _ = find_peaks(excursion, prominence=prominence, distance=max(1, int(min_rep_s * rate_hz)))
    if peaks.size == 0:
        return []
    # Troughs between peaks separate the repetitions; the trace's ends bound the first and last.
    bounds = [0]
    bounds += [int(p0 + np.argmin(excursion[p0:p1])) for p0, p1 in pairwise(peaks)]
    bounds.append(a.size - 1)
    reps: list[Rep] = []
    for i, p in enumerate(peaks):
        lo, hi = bounds[i], bounds[i + 1]
        base = max(excursion[lo:p].min(), excursion[p : hi + 1].min())
        level = base + _ONSET_FRACTION * (excursion[p] - base)
        before = np.flatnonzero(excursion[lo : p + 1] <= level)
        after = np.flatnonzero(excursion[p : hi + 1] <= level)
        start = lo + int(before[-1]) if before.size else lo
        end = int(p + after[0]) if after.size else hi
        # The first and last reps are bounded by the rest before and after them, not by the trace's
        # ends: what came before that rest (a calibration pose, getting into position) is no rep.
        if i == 0:
            lo = _rest_start(still, lo, start)
        if i == peaks.size - 1:
            hi = _rest_end(still, end, hi)
        window = smooth[lo : hi + 1]
        lo_deg, hi_deg = float(window.min()), float(window.max())
        if hi_deg - lo_deg < min_rom_deg:
            continue
        reps.append(Rep(len(reps) + 1, start, end, int(p), lo_deg, hi_deg, hi_deg - lo_deg))
    return reps
