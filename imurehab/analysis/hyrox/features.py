"""Per-second activity features of one body-worn IMU: energy, rotation, orientation to gravity, cadence.

Each frame is one second of the race; its features describe a window centred on it:

- ``energy``: log of the standard deviation of ‖a‖ over 4 s [log m/s²] (running ≫ walking ≫ standing);
- ``rotation``: log of the mean ‖ω‖ over 4 s [log rad/s];
- ``gravity_x/y/z``: the mean specific force over 4 s as a unit vector in the sensor frame: where "up"
  is for the sensor, i.e. the segment's orientation to gravity (seated rowing tilts the thigh, a prone
  burpee the pelvis, a sandbag on the shoulders the forearm);
- ``cadence``: log₂ of the dominant frequency of ‖a‖ in 0.25–4 Hz over 6 s [log₂ Hz] (steps while running
  ≈ 2.8 Hz, walking ≈ 1.8 Hz, strokes ≈ 0.5–0.8 Hz);
- ``periodicity``: the share of the 0.25–4 Hz power within ±0.15 Hz of that peak and its second harmonic.

Samples are placed on the frame grid by their time stamps, so gaps (a lost sensor, dropped packets)
leave frames without data (NaN features) instead of shifting the timeline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["FEATURE_NAMES", "FRAME_S", "SensorFeatures", "sensor_features"]

FloatArray = npt.NDArray[np.float64]

FRAME_S = 1.0
"""Frame hop [s]: the resolution of the segmentation."""
FEATURE_NAMES = ("energy", "rotation", "gravity_x", "gravity_y", "gravity_z", "cadence", "periodicity")
"""Feature columns, in order."""

_STAT_WINDOW = 4
_SPEC_WINDOW_S = 6.0
_SPEC_RATE_HZ = 25.0
_BAND_HZ = (0.25, 4.0)
_NFFT = 512
_MIN_COVER = 0.5


@dataclass(frozen=True)
class SensorFeatures:
    """Features of one sensor on the race's frame grid.

    Attributes
    ----------
    values : ndarray, shape (F, len(FEATURE_NAMES))
        Features per frame; NaN where the sensor has no data around the frame.
    rate_hz : float
        The sensor's sampling rate [Hz].
    """

    values: FloatArray
    rate_hz: float


def _block_sums(idx: npt.NDArray[np.int64], values: FloatArray, n: int) -> FloatArray:
    """Column sums of ``values`` per frame index (``idx`` in [0, n))."""
    return np.stack([np.bincount(idx, weights=v, minlength=n) for v in values.T], axis=1)


def _moving(x: FloatArray, width: int) -> FloatArray:
    """Centred moving sum over ``width`` frames (rows), zero-padded at the ends."""
    c = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0)])
    lo = np.clip(np.arange(x.shape[0]) - width // 2, 0, x.shape[0])
    hi = np.clip(lo + width, 0, x.shape[0])
    return c[hi] - c[lo]


def _spectral(t_s: FloatArray, norm: FloatArray, n_frames: int) -> tuple[FloatArray, FloatArray]:
    """Dominant frequency [Hz] and periodicity of ‖a‖ per frame (NaN without data)."""
    grid = np.arange(0.0, n_frames * FRAME_S, 1.0 / _SPEC_RATE_HZ)
    sig = np.interp(grid, t_s, norm)
    near = np.searchsorted(t_s, grid)
    near = np.clip(near, 1, t_s.size - 1)
    gap = np.minimum(np.abs(t_s[near] - grid), np.abs(t_s[near - 1] - grid))
    have = gap < 0.1
    width = int(_SPEC_WINDOW_S * _SPEC_RATE_HZ)
    hop = int(FRAME_S * _SPEC_RATE_HZ)
    pad = width // 2
    sig = np.concatenate([np.full(pad, sig[0]), sig, np.full(pad, sig[-1])])
    have = np.concatenate([np.zeros(pad, bool), have, np.zeros(pad, bool)])
    starts = np.arange(n_frames) * hop + hop // 2
    win = sliding_window_view(sig, width)[starts]
    cover = sliding_window_view(have, width)[starts].mean(axis=1)
    win = win - win.mean(axis=1, keepdims=True)
    spec = np.abs(np.fft.rfft(win * np.hanning(width), _NFFT, axis=1)) ** 2
    freqs = np.fft.rfftfreq(_NFFT, 1.0 / _SPEC_RATE_HZ)
    band = (freqs >= _BAND_HZ[0]) & (freqs <= _BAND_HZ[1])
    fb, sb = freqs[band], spec[:, band]
    peak = fb[np.argmax(sb, axis=1)]
    total = sb.sum(axis=1) + 1e-12
    near_peak = np.abs(fb[None, :] - peak[:, None]) <= 0.15
    near_harm = np.abs(fb[None, :] - 2.0 * peak[:, None]) <= 0.15
    share = (sb * (near_peak | near_harm)).sum(axis=1) / total
    bad = cover < _MIN_COVER
    peak[bad] = np.nan
    share[bad] = np.nan
    return peak, share


def sensor_features(
    time_s: npt.ArrayLike, acc_mps2: npt.ArrayLike, gyr_rads: npt.ArrayLike | None, n_frames: int
) -> SensorFeatures:
    """Per-frame features of one sensor (see the module docstring).

    Parameters
    ----------
    time_s : array_like, shape (N,)
        Sample times [s since the race's first frame], increasing.
    acc_mps2 : array_like, shape (N, 3)
        Specific force in the sensor frame [m/s²], gravity included.
    gyr_rads : array_like, shape (N, 3), optional
        Angular rate [rad/s]; None: the ``rotation`` feature is NaN.
    n_frames : int
        Number of frames of the race; frame ``j`` is centred on ``j·FRAME_S``.

    Returns
    -------
    SensorFeatures
    """
    t = np.asarray(time_s, dtype=np.float64)
    acc = np.asarray(acc_mps2, dtype=np.float64)
    rate = float((t.size - 1) / (t[-1] - t[0])) if t.size > 1 and t[-1] > t[0] else 0.0
    idx = np.round(t / FRAME_S).astype(np.int64)
    keep = (idx >= 0) & (idx < n_frames)
    idx, t, acc = idx[keep], t[keep], acc[keep]
    norm = np.linalg.norm(acc, axis=1)
    cols = [np.ones_like(norm), norm, norm * norm, *acc.T]
    if gyr_rads is not None:
        cols.append(np.linalg.norm(np.asarray(gyr_rads, dtype=np.float64)[keep], axis=1))
    sums = _moving(_block_sums(idx, np.stack(cols, axis=1), n_frames), _STAT_WINDOW)
    count = sums[:, 0]
    expected = rate * FRAME_S * _STAT_WINDOW if rate > 0 else 1.0
    ok = count >= _MIN_COVER * expected
    safe = np.maximum(count, 1.0)
    mean_norm = sums[:, 1] / safe
    var = np.maximum(sums[:, 2] / safe - mean_norm**2, 0.0)
    out = np.full((n_frames, len(FEATURE_NAMES)), np.nan)
    out[ok, 0] = np.log(np.sqrt(var[ok]) + 0.1)
    gravity = sums[:, 3:6] / safe[:, None]
    gravity /= np.maximum(np.linalg.norm(gravity, axis=1, keepdims=True), 1e-9)
    out[ok, 2:5] = gravity[ok]
    if gyr_rads is not None:
        out[ok, 1] = np.log(sums[ok, 6] / safe[ok] + 0.05)
    if t.size > 1:
        peak, share = _spectral(t, norm, n_frames)
        out[:, 5] = np.log2(peak)
        out[:, 6] = share
        out[~ok, 5:] = np.nan
    return SensorFeatures(out, rate)
