"""Counting reps, strokes and steps inside one station, and telling wall-ball no-reps by squat depth.

Each station's movement is periodic on the axis it moves most. The counter band-passes the
accelerometer and gyroscope of one sensor (0.15–3 Hz), projects each on its first principal axis over
the station, estimates the cycle period by autocorrelation within the station's plausible range, and
counts peaks at least 0.55 periods apart, at least a quarter as prominent as the typical cycle and in a
stretch that swings at least 15 % of the typical swing (not a rest between sets); of the
two signals it keeps the one with the more regular peak intervals. For steps, a sensor on one leg may
swing once per stride: when the period found is a stride (beyond the step range), each cycle counts two.

Wall-ball depth: the tilt of the thigh (or, without one, the pelvis) at the bottom of each rep, from the
low-passed gravity direction; a rep whose tilt falls short of 75 % of the set's median is a no-rep.
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
    """

    unit: str
    period_s: tuple[float, float]
    placements: tuple[str, ...]
    alternating: bool = False

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
    "wall-balls": StationCounting("reps", (1.8, 4.5), ("thigh", "pelvis", "wrist")),
}
"""Counting rules per station (unit, cycle period range, preferred sensors, cycles per count)."""


@dataclass(frozen=True)
class CycleCount:
    """Cycles found in a signal: their peak sample indices and the period estimate [s]."""

    peaks: npt.NDArray[np.int64]
    period_s: float
    periodicity: float


def _principal(x: FloatArray) -> FloatArray:
    x = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    return x @ vt[0]


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
    acc_mps2: FloatArray, gyr_rads: FloatArray | None, rate_hz: float, period_s: tuple[float, float]
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

    Returns
    -------
    CycleCount
        From whichever of the accelerometer and gyroscope projections has fewer peak intervals that are
        not one cycle (a missed cycle leaves about two, a doubled one about half); on a tie, more peaks.
    """
    if acc_mps2.shape[0] < max(int(2 * period_s[0] * rate_hz), 8):
        return CycleCount(np.zeros(0, dtype=np.int64), float("nan"), 0.0)
    sos = signal.butter(2, (0.15, min(3.0, 0.45 * rate_hz)), btype="band", fs=rate_hz, output="sos")
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
