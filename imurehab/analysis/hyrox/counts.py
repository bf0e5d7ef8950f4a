"""Counting reps, strokes and steps inside one station, and telling wall-ball no-reps by squat depth.

Each station's movement is periodic on the axis it moves most. The counter band-passes the
accelerometer and gyroscope of one sensor (0.15–3 Hz), projects each on its first principal axis over
the station, estimates the cycle period by autocorrelation within the station's plausible range, and
counts peaks at least 0.55 periods apart, at least a quarter as prominent as the typical cycle and in a
stretch that swings at least 15 % of the typical swing (not a rest between sets); of the
two signals it keeps the one with the more regular peak intervals. For steps, a sensor on one leg may
swing once per stride: when the period found is a stride (beyond the step range), each cycle counts two.

Wall balls are counted on rotation instead (``StationCounting.rotation``): the angle the segment turns
about its main axis of rotation (the gyroscope projected on its first principal axis, integrated and
high-passed at 0.15 Hz). Per rep it has one swing from the squat (pelvis, thigh; on the forearm the trunk's
lean) and, on the forearm, one plateau with the arms overhead. That axis stays clear where the
accelerometer's first two principal axes nearly tie (on the forearm, whose projection flipped with a
0.4 s shift of the window and with it the count). The counted extreme is on the side with the larger
excursion from the median, and a peak counts only if the period around it looks like the set's typical
cycle (the half before the peak and the half after each correlate >= 0.5 with the typical one's, swing
0.4-2 x the typical): the walk into the station, swinging up to some 2.5 x a rep, is not a rep, and a
level step before the first rep does not hide it.

Wall-ball depth: the tilt of the thigh at the bottom of each rep, from the low-passed gravity direction
(:func:`squat_depths`); no-reps from it and from the pelvis' hip drop: :mod:`imurehab.analysis.hyrox.depth`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import signal

__all__ = ["COUNTING", "CycleCount", "StationCounting", "count_cycles", "squat_depths"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class StationCounting:
    """How a station is counted.

    Attributes
    ----------
    unit : str
        What is counted (``"strokes"``, ``"steps"``, ``"reps"``, ``"pulls"``).
    period_s : tuple of float
        Plausible range of one counted cycle [s].
    placements : tuple of str
        Sensors to count on, best first.
    alternating : bool
        Left and right alternate (steps): a sensor may see every step or, on one leg, every stride.
        The period is then searched up to twice the range, and a period beyond it counts two per cycle.
    rotation : bool
        Count on the rotation angle about the segment's main axis (needs the gyroscope) and only cycles
        shaped like the set's typical one.
    lead_s : float
        Seconds before the station's found start that are counted too [s]: the first rep may begin
        before the boundary the segmentation found.
    """

    unit: str
    period_s: tuple[float, float]
    placements: tuple[str, ...]
    alternating: bool = False
    rotation: bool = False
    lead_s: float = 0.0

    def search_s(self) -> tuple[float, float]:
        """Range of the cycle period searched [s]."""
        lo, hi = self.period_s
        return (lo, 2.0 * hi) if self.alternating else (lo, hi)

    def per_cycle(self, period_s: float) -> int:
        """Counted units per cycle of the found period (2 for a stride of an alternating movement)."""
        return 2 if self.alternating and period_s > self.period_s[1] else 1


COUNTING = {
    "skierg": StationCounting("strokes", (1.0, 2.6), ("wrist", "pelvis", "thigh")),
    "sled-push": StationCounting("steps", (0.45, 1.0), ("pelvis", "thigh", "wrist"), alternating=True),
    "sled-pull": StationCounting("pulls", (0.9, 3.0), ("pelvis", "thigh", "wrist")),
    "burpee-broad-jumps": StationCounting("reps", (3.0, 10.0), ("thigh", "pelvis", "wrist")),
    "rowing": StationCounting("strokes", (1.5, 3.2), ("thigh", "pelvis", "wrist")),
    "farmers-carry": StationCounting("steps", (0.35, 0.7), ("pelvis", "thigh", "wrist"), alternating=True),
    "sandbag-lunges": StationCounting("steps", (1.6, 4.5), ("pelvis", "thigh", "wrist")),
    "wall-balls": StationCounting(
        "reps", (1.8, 4.5), ("thigh", "pelvis", "wrist"), rotation=True, lead_s=0.5
    ),
}
"""Counting rules per station (unit, cycle period range, preferred sensors, cycles per count)."""


@dataclass(frozen=True)
class CycleCount:
    """Cycles found in a signal: their peak sample indices and the period estimate [s]."""

    peaks: npt.NDArray[np.int64]
    period_s: float
    periodicity: float


def _axis(x: FloatArray) -> FloatArray:
    _, _, vt = np.linalg.svd(x - x.mean(axis=0), full_matrices=False)
    return vt[0]


def _principal(x: FloatArray) -> FloatArray:
    return (x - x.mean(axis=0)) @ _axis(x)


def _band(rate_hz: float) -> FloatArray:
    return signal.butter(2, (0.15, min(3.0, 0.45 * rate_hz)), btype="band", fs=rate_hz, output="sos")


def _rotation_angle(gyr_rads: FloatArray, rate_hz: float) -> FloatArray:
    """Angle [rad] turned about the main rotation axis, high-passed, its larger excursions positive."""
    rate = gyr_rads @ _axis(signal.sosfiltfilt(_band(rate_hz), gyr_rads, axis=0))
    angle = np.cumsum(rate - rate.mean()) / rate_hz
    angle = signal.sosfiltfilt(signal.butter(2, 0.15, btype="high", fs=rate_hz, output="sos"), angle)
    low, mid, high = np.percentile(angle, [2.0, 50.0, 98.0])
    return -angle if mid - low > high - mid else angle


def _correlation(c: FloatArray, t: FloatArray) -> float:
    c, t = c - c.mean(), t - t.mean()
    return float(c @ t) / max(float(np.linalg.norm(c) * np.linalg.norm(t)), 1e-12)


def _alike(x: FloatArray, peaks: npt.NDArray[np.int64], lag: int) -> npt.NDArray[np.int64]:
    """The peaks whose period looks like the median one: each half correlates >= 0.5, swing 0.4–2 ×.

    The half-period before the peak and the one after are compared with the same halves of the median
    period separately: a level step before the first rep (walking in, a rest) leaves both halves alike.
    """
    half = max(lag // 2, 1)
    cycles = np.full((peaks.size, 2 * half + 1), np.nan)
    for row, p in zip(cycles, peaks, strict=True):
        a, b = max(p - half, 0), min(p + half + 1, x.size)
        row[a - p + half : b - p + half] = x[a:b]
    typical = np.nanmedian(cycles, axis=0)
    keep = np.zeros(peaks.size, dtype=bool)
    for k, row in enumerate(cycles):
        seen = ~np.isnan(row)
        ratio = np.ptp(row[seen]) / max(float(np.ptp(typical[seen])), 1e-12)
        alike = True
        for part in (slice(0, half + 1), slice(half, None)):
            s = seen[part]
            if np.count_nonzero(s) > 2:
                alike &= _correlation(row[part][s], typical[part][s]) >= 0.5
        keep[k] = alike and 0.4 <= ratio <= 2.0
    return peaks[keep]


def _cycles(x: FloatArray, rate_hz: float, period_s: tuple[float, float]) -> CycleCount:
    n = x.size
    lo, hi = int(period_s[0] * rate_hz), min(int(period_s[1] * rate_hz), n - 1)
    if hi <= lo + 1:
        return CycleCount(np.zeros(0, dtype=np.int64), float("nan"), 0.0)
    spec = np.fft.rfft(x - x.mean(), 2 * n)
    ac = np.fft.irfft(np.abs(spec) ** 2)[:n]
    ac = ac / max(ac[0], 1e-12)
    lag = lo + int(np.argmax(ac[lo:hi]))
    period = lag / rate_hz
    amp, _ = signal.find_peaks(x, distance=max(int(0.55 * lag), 1))
    if amp.size == 0:
        return CycleCount(amp.astype(np.int64), period, float(ac[lag]))
    prom = signal.peak_prominences(x, amp, wlen=max(2 * lag, 3))[0]
    typical = np.median(np.sort(prom)[-max(amp.size // 2, 1) :])
    half = max(lag // 2, 1)
    swing = np.array([np.ptp(x[max(p - half, 0) : p + half + 1]) for p in amp])
    keep = amp[(prom >= 0.25 * typical) & (swing >= 0.15 * np.median(swing))]
    return CycleCount(keep.astype(np.int64), period, float(ac[lag]))


def count_cycles(
    acc_mps2: FloatArray,
    gyr_rads: FloatArray | None,
    rate_hz: float,
    period_s: tuple[float, float],
    *,
    rotation: bool = False,
) -> CycleCount:
    """Count movement cycles in one sensor's samples over a station.

    Parameters
    ----------
    acc_mps2 : ndarray, shape (N, 3)
        Specific force [m/s²].
    gyr_rads : ndarray, shape (N, 3), optional
        Angular rate [rad/s].
    rate_hz : float
        Sampling rate [Hz].
    period_s : tuple of float
        Plausible range of one cycle [s].
    rotation : bool
        Count on the rotation angle about the main axis of the gyroscope, keeping only cycles shaped like
        the typical one (module docstring); without a gyroscope, as if False.

    Returns
    -------
    CycleCount
        From whichever of the accelerometer and gyroscope projections has fewer peak intervals that are
        not one cycle (a missed cycle leaves about two, a doubled one about half); on a tie, more peaks.
        With ``rotation``, from the rotation angle.
    """
    if acc_mps2.shape[0] < max(int(2 * period_s[0] * rate_hz), 8):
        return CycleCount(np.zeros(0, dtype=np.int64), float("nan"), 0.0)
    if rotation and gyr_rads is not None:
        angle = _rotation_angle(gyr_rads, rate_hz)
        found = _cycles(angle, rate_hz, period_s)
        if found.peaks.size == 0:
            return found
        peaks = _alike(angle, found.peaks, round(found.period_s * rate_hz))
        return CycleCount(peaks, found.period_s, found.periodicity)
    sos = _band(rate_hz)
    found = [
        _cycles(_principal(signal.sosfiltfilt(sos, raw, axis=0)), rate_hz, period_s)
        for raw in (acc_mps2, gyr_rads)
        if raw is not None
    ]
    return min(found, key=lambda f: (_irregularity(f), -f.peaks.size))


def _irregularity(found: CycleCount) -> float:
    """Share of peak intervals that are not one cycle (inf with fewer than 3 peaks).

    An interval is one cycle within 0.7–1.4 × the median interval; a missed cycle leaves about 2×, a
    doubled one about ½×. Intervals beyond 2.5× are rests between sets and are not judged.
    """
    if found.peaks.size < 3:
        return float("inf")
    gaps = np.diff(found.peaks).astype(float)
    mid = float(np.median(gaps))
    judged = gaps[gaps <= 2.5 * mid]
    return float(np.mean((judged < 0.7 * mid) | (judged > 1.4 * mid)))


def squat_depths(acc_mps2: FloatArray, rate_hz: float, peaks: npt.NDArray[np.int64]) -> FloatArray:
    """Largest tilt [deg] from the standing direction of gravity within each rep.

    Parameters
    ----------
    acc_mps2 : ndarray, shape (N, 3)
        Specific force of a thigh or pelvis sensor over the wall-ball station [m/s²].
    rate_hz : float
        Sampling rate [Hz].
    peaks : ndarray of int
        One sample index per rep (from :func:`count_cycles`); each rep spans half-way to its neighbours.

    Returns
    -------
    ndarray, shape (len(peaks),)
        Tilt per rep [deg]; "standing" is the gravity direction the sensor shows most often (its median).
    """
    sos = signal.butter(2, min(1.5, 0.45 * rate_hz), fs=rate_hz, output="sos")
    g = signal.sosfiltfilt(sos, acc_mps2, axis=0)
    g /= np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-9)
    up = np.median(g, axis=0)
    up /= np.linalg.norm(up)
    tilt = np.degrees(np.arccos(np.clip(g @ up, -1.0, 1.0)))
    edges = np.concatenate([[0], (peaks[1:] + peaks[:-1]) // 2, [tilt.size]])
    return np.array([tilt[a:b].max() if b > a else 0.0 for a, b in itertools.pairwise(edges)])
