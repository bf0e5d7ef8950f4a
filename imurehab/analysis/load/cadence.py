"""Step and stroke cadence per epoch: the dominant frequency of ‖a‖ in a stated band.

Definition (imurehab, version :data:`~imurehab.analysis.load.LOAD_METRICS_VERSION`): per epoch, ‖a‖ in g
is averaged over blocks of round(rate/25) samples (≈ 25 Hz), its mean is removed, and its power spectrum
is taken (zero-padded to at least 60 s, so the grid is ≤ 1 per minute; the peak is refined by a parabola
through the log power of the three bins around it). In each band the frequency of the largest peak is
the cadence:

- **step cadence**: 1.0–4.0 Hz → 60–240 steps/min (each foot contact is one peak of ‖a‖ at the trunk,
  thigh or shank; at the wrist the arm swings at half the step rate, but the impacts still show);
- **stroke cadence**: 0.25–1.0 Hz → 15–60 strokes/min (rowing, SkiErg, ...).

A cadence is reported only when the epoch is active and periodic: MAD ≥ 20 mg over the epoch, at least
10 s of data, and the peak (its bin and its two neighbours) holding ≥ 25 % of the power between 0.25
and 8 Hz; otherwise null. Both cadences are computed for every epoch; which one means something depends
on the activity (walking has its stride frequency, 0.8–1 Hz, in the stroke band; a station label tells
which to read).
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt
from numba import njit
from scipy import fft

from imurehab.analysis.load._validate import FloatArray, IntArray, check_acc, check_epoch, check_rate
from imurehab.analysis.load.epochs import magnitude_g, sample_bounds

__all__ = ["MIN_ACTIVITY_MAD_MG", "MIN_PERIODIC_FRACTION", "STEP_BAND_HZ", "STROKE_BAND_HZ", "cadence_spm"]

STEP_BAND_HZ: Final[tuple[float, float]] = (1.0, 4.0)
"""Frequency band of the step cadence [Hz]."""
STROKE_BAND_HZ: Final[tuple[float, float]] = (0.25, 1.0)
"""Frequency band of the stroke cadence [Hz]."""
MIN_ACTIVITY_MAD_MG: Final[float] = 20.0
"""Epochs with a smaller MAD (over the whole epoch) have no cadence [mg]."""
MIN_PERIODIC_FRACTION: Final[float] = 0.25
"""Share of the 0.25–8 Hz power the peak must hold for a cadence to be reported."""
_MIN_SECONDS: Final = 10.0
_DECIMATED_HZ: Final = 25.0
_TOTAL_BAND_HZ: Final = (0.25, 8.0)


@njit(cache=True, nogil=True)
def _blocks(r, bounds, k, rows, mad):
    """Per epoch: block means of ``r`` (k samples each), demeaned, into ``rows``; MAD of the epoch [g]."""
    for e in range(bounds.shape[0] - 1):
        a, b = bounds[e], bounds[e + 1]
        n_blocks = (b - a) // k
        total = 0.0
        for j in range(n_blocks):
            s = 0.0
            for i in range(a + j * k, a + (j + 1) * k):
                s += r[i]
            rows[e, j] = s / k
            total += s
        mean = total / max(1, n_blocks * k)
        dev = 0.0
        for i in range(a, a + n_blocks * k):
            dev += abs(r[i] - mean)
        mad[e] = dev / max(1, n_blocks * k)
        for j in range(n_blocks):
            rows[e, j] -= mean


def _peak(power: FloatArray, freq: FloatArray, band: tuple[float, float], total: FloatArray) -> FloatArray:
    """Cadence [1/min] of the band's peak per row (NaN where not periodic enough)."""
    lo, hi = np.searchsorted(freq, band[0]), np.searchsorted(freq, band[1], side="right")
    sub = power[:, lo:hi]
    j = np.argmax(sub, axis=1) + lo
    rows = np.arange(power.shape[0])
    left = power[rows, np.maximum(j - 1, 0)]
    mid = power[rows, j]
    right = power[rows, np.minimum(j + 1, power.shape[1] - 1)]
    share = (left + mid + right) / np.maximum(total, 1e-300)
    with np.errstate(divide="ignore", invalid="ignore"):
        la, lb, lc = np.log(left), np.log(mid), np.log(right)
        shift = 0.5 * (la - lc) / (la - 2 * lb + lc)
    shift = np.where(np.isfinite(shift), np.clip(shift, -0.5, 0.5), 0.0)
    cadence = (freq[j] + shift * (freq[1] - freq[0])) * 60.0
    return np.where(share >= MIN_PERIODIC_FRACTION, cadence, np.nan)


def cadence_per_epoch(r: FloatArray, bounds: IntArray, rate_hz: float) -> tuple[FloatArray, FloatArray]:
    """Step and stroke cadence [1/min] per epoch of the magnitude ``r`` [g] (NaN where none)."""
    k = max(1, round(rate_hz / _DECIMATED_HZ))
    fs = rate_hz / k
    lengths = np.diff(bounds)
    n_max = int(lengths.max()) // k
    nfft = fft.next_fast_len(max(n_max, math.ceil(60.0 * fs)), real=True)
    rows = np.zeros((lengths.shape[0], nfft))
    mad = np.empty(lengths.shape[0])
    _blocks(r, bounds, k, rows, mad)
    power = np.abs(fft.rfft(rows, axis=1)) ** 2
    freq = np.arange(power.shape[1]) * (fs / nfft)
    band = (freq >= _TOTAL_BAND_HZ[0]) & (freq <= _TOTAL_BAND_HZ[1])
    total = power[:, band].sum(axis=1)
    ok = (mad * 1000.0 >= MIN_ACTIVITY_MAD_MG) & (lengths / rate_hz >= _MIN_SECONDS)
    steps = np.where(ok, _peak(power, freq, STEP_BAND_HZ, total), np.nan)
    strokes = np.where(ok, _peak(power, freq, STROKE_BAND_HZ, total), np.nan)
    return steps, strokes


def cadence_spm(
    acc_mps2: npt.ArrayLike, rate_hz: float, *, epoch_s: float = 60.0
) -> tuple[FloatArray, FloatArray]:
    """Step and stroke cadence per epoch of a recording (see the module notes for the definition).

    Parameters
    ----------
    acc_mps2 : array_like, shape (N, 3)
        Specific force in the sensor frame [m/s²], gravity included; ‖a‖ divided by g = 9.80665 m/s².
    rate_hz : float
        Sampling rate [Hz].
    epoch_s : float, default 60.0
        Epoch length [s]; epochs start at the first sample, the last may be partial.

    Returns
    -------
    steps : numpy.ndarray, shape (E,)
        Step cadence [steps/min] (dominant frequency in 1–4 Hz), NaN where the epoch is not active and
        periodic.
    strokes : numpy.ndarray, shape (E,)
        Stroke cadence [strokes/min] (dominant frequency in 0.25–1 Hz), NaN likewise.

    Examples
    --------
    ‖a‖ bouncing 2.5 times a second (150 steps/min):

    >>> import numpy as np
    >>> t = np.arange(6000) / 100.0
    >>> acc = np.zeros((6000, 3)); acc[:, 1] = 9.80665 * (1.0 + 0.5 * np.sin(2 * np.pi * 2.5 * t))
    >>> steps, strokes = cadence_spm(acc, 100.0)
    >>> steps.round(1).tolist(), strokes.tolist()
    ([150.0], [nan])
    """
    acc = check_acc(acc_mps2)
    rate = check_rate(rate_hz)
    check_epoch(epoch_s)
    r = np.empty(acc.shape[0])
    magnitude_g(acc, r)
    return cadence_per_epoch(r, sample_bounds(acc.shape[0], rate, epoch_s), rate)
