"""Wall-ball squat depth per rep, and the no-reps it implies.

A wall ball counts when the hips go below the knees. Two measures of depth, by sensor:

- Thigh: its largest tilt [deg] from the standing gravity direction within the rep
  (:func:`imurehab.analysis.hyrox.counts.squat_depths`); the thigh turns with the squat nearly one to one.
- Pelvis: how far the hips go down [m] (:func:`hip_drops`). The pelvis tilts only some 15–20° in a squat,
  and its tilt seen by the low-passed accelerometer is blurred by the hips' horizontal acceleration; its
  vertical travel is what the rule is about, and grows with the thigh angle θ as 1 − cos θ, so a shallow
  squat stands out more than in the tilt.

A rep falls short when its tilt is below 75 % of the set's median tilt (thigh), or its hip drop below 60 %
of the set's median drop (pelvis). The two rules agree: for a typical squat bottoming out with the thigh
70–90° from vertical, 75 % of that angle lowers the hips by 1 − cos(0.75 θ) / (1 − cos θ) ≈ 0.59–0.62 of
the full drop.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import signal

from imurehab.analysis.hyrox.counts import squat_depths

__all__ = ["DROP_SHORT", "TILT_SHORT", "hip_drops", "short_reps"]

FloatArray = npt.NDArray[np.float64]

TILT_SHORT = 0.75
"""A thigh rep whose tilt is below this share of the set's median tilt is a no-rep."""
DROP_SHORT = 0.6
"""A pelvis rep whose hip drop is below this share of the set's median drop is a no-rep."""

_GRAVITY_HZ = 0.5
_SPAN = 0.6


def _vertical(acc_mps2: FloatArray, rate_hz: float) -> FloatArray:
    """Specific force along the low-passed (0.5 Hz) gravity direction [m/s²]."""
    sos = signal.butter(2, min(_GRAVITY_HZ, 0.45 * rate_hz), fs=rate_hz, output="sos")
    up = signal.sosfiltfilt(sos, acc_mps2, axis=0)
    up /= np.maximum(np.linalg.norm(up, axis=1, keepdims=True), 1e-9)
    return np.einsum("ij,ij->i", acc_mps2, up)


def _windows(peaks: npt.NDArray[np.int64], n: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per rep: half-way to the neighbouring peaks, at most 0.6 typical intervals from its own."""
    mids = (peaks[1:] + peaks[:-1]) // 2
    lo = np.concatenate([[0], mids])
    hi = np.concatenate([mids, [n]])
    if peaks.size > 1:
        reach = int(_SPAN * float(np.median(np.diff(peaks))))
        lo, hi = np.maximum(lo, peaks - reach), np.minimum(hi, peaks + reach)
    return lo.astype(np.int64), hi.astype(np.int64)


def hip_drops(acc_mps2: FloatArray, rate_hz: float, peaks: npt.NDArray[np.int64]) -> FloatArray:
    """Vertical travel [m] of a pelvis sensor within each rep.

    The specific force along the gravity direction (the accelerometer low-passed at 0.5 Hz) is integrated
    twice over the rep's window. The athlete stands still at both ends of a rep at the same height, so the
    window's mean acceleration (then mean velocity) is removed before each integration: that takes out
    gravity, the sensor's bias and the drift.

    Parameters
    ----------
    acc_mps2 : ndarray, shape (N, 3)
        Specific force of a pelvis sensor over the wall-ball station [m/s²].
    rate_hz : float
        Sampling rate [Hz].
    peaks : ndarray of int
        One sample index per rep near its bottom (from :func:`imurehab.analysis.hyrox.count_cycles`).
        A rep spans half-way to its neighbours, at most 0.6 of the median peak interval either side.

    Returns
    -------
    ndarray, shape (len(peaks),)
        Highest minus lowest position within each rep [m] (0 for a window under 3 samples).
    """
    peaks = np.asarray(peaks, dtype=np.int64)
    if peaks.size == 0:
        return np.zeros(0)
    vertical = _vertical(np.asarray(acc_mps2, dtype=np.float64), rate_hz)
    lo, hi = _windows(peaks, vertical.size)
    out = np.zeros(peaks.size)
    for k, (a, b) in enumerate(zip(lo, hi, strict=True)):
        if b - a < 3:
            continue
        speed = np.cumsum(vertical[a:b] - vertical[a:b].mean()) / rate_hz
        height = np.cumsum(speed - speed.mean()) / rate_hz
        out[k] = float(np.ptp(height))
    return out


def short_reps(
    acc_mps2: FloatArray, rate_hz: float, peaks: npt.NDArray[np.int64], placement: str
) -> npt.NDArray[np.bool_]:
    """Which reps are no-reps: too shallow for the set (module docstring).

    Parameters
    ----------
    acc_mps2 : ndarray, shape (N, 3)
        Specific force of the depth sensor over the wall-ball station [m/s²].
    rate_hz : float
        Sampling rate [Hz].
    peaks : ndarray of int
        One sample index per rep near its bottom.
    placement : {"thigh", "pelvis"}
        Where the sensor is: the thigh is judged by tilt, the pelvis by hip drop.

    Returns
    -------
    ndarray of bool, shape (len(peaks),)
        True for a no-rep.
    """
    if placement == "thigh":
        depth, share = squat_depths(acc_mps2, rate_hz, peaks), TILT_SHORT
    elif placement == "pelvis":
        depth, share = hip_drops(acc_mps2, rate_hz, peaks), DROP_SHORT
    else:
        raise ValueError(f"placement must be 'thigh' or 'pelvis', got {placement!r}")
    if depth.size == 0:
        return np.zeros(0, dtype=bool)
    return depth < share * float(np.median(depth))
