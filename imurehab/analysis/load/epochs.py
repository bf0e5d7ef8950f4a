"""Epochs aligned to the UTC clock, and ENMO and MAD per epoch (GGIR definitions).

Epochs: epoch k covers ``[k·epoch_s, (k + 1)·epoch_s)`` seconds since 1970-01-01 UTC, so epochs of
different sensors and sessions line up. A sample belongs to the epoch its time falls in.

ENMO (van Hees et al. 2013, PLoS ONE 8:e61691): per sample max(‖a‖ − 1 g, 0), ‖a‖ the norm of the
specific force in g, averaged over the epoch and given in mg. MAD (Vähä-Ypyä et al. 2015, Clin Physiol
Funct Imaging 35:64–70; as GGIR computes it): mean |‖a‖ᵢ − mean ‖a‖| over the samples of a window, in mg.
Both use g = 9.80665 m/s² and the raw, uncalibrated, unfiltered norm.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

from imurehab.analysis.load._validate import FloatArray, IntArray, check_acc, check_epoch, check_rate
from imurehab.analysis.load.axes import STANDARD_GRAVITY
from imurehab.errors import DataValidationError

__all__ = ["enmo_mg", "mad_mg"]


def epoch_bounds(time_us: IntArray, epoch_us: int) -> tuple[IntArray, IntArray]:
    """Epochs holding samples: their index k (start = k·epoch_us µs) and sample bounds (E + 1).

    Epoch e holds samples ``bounds[e]:bounds[e + 1]``; epochs without samples (in gaps) are left out.
    """
    first = int(time_us[0] // epoch_us)
    last = int(time_us[-1] // epoch_us)
    if last - first < 4 * time_us.shape[0] + 16:
        index = np.arange(first, last + 1, dtype=np.int64)
        starts = np.searchsorted(time_us, index * epoch_us)
        keep = np.diff(np.append(starts, time_us.shape[0])) > 0
        index, starts = index[keep], starts[keep]
    else:  # enormous gaps: only the epochs that hold samples
        ids = time_us // epoch_us
        starts = np.concatenate(([0], np.flatnonzero(np.diff(ids)) + 1))
        index = ids[starts]
    return index, np.append(starts, time_us.shape[0]).astype(np.int64)


def sample_bounds(n: int, rate_hz: float, epoch_s: float) -> IntArray:
    """Sample bounds of consecutive epochs of ``epoch_s`` from the first sample (the last one partial)."""
    per_epoch = epoch_s * rate_hz
    n_epochs = max(1, math.ceil(n / per_epoch - 1e-9))
    bounds = np.ceil(np.arange(n_epochs + 1) * per_epoch - 1e-9).astype(np.int64)
    bounds[-1] = n
    return bounds


@njit(cache=True, nogil=True, fastmath=True)
def magnitude_g(acc, out):
    """‖a‖ / g per sample of ``acc`` (N, 3) [m/s²] into ``out`` (N,)."""
    k = 1.0 / STANDARD_GRAVITY
    for i in range(acc.shape[0]):
        out[i] = math.sqrt(acc[i, 0] * acc[i, 0] + acc[i, 1] * acc[i, 1] + acc[i, 2] * acc[i, 2]) * k


# Sums in any order (vectorised): the result differs from a sequential sum by a few ulp (< 1e-14 relative).
@njit(cache=True, nogil=True, fastmath={"reassoc", "nsz"})
def enmo_mad_epochs(r, bounds, wbounds, out):
    """Sums per epoch into ``out`` (E, 2): Σ max(r − 1, 0) and Σ over windows of n_w · MAD_w [g].

    ``r`` is ‖a‖ in g per sample; every epoch bound is a window bound (``wbounds`` subdivides ``bounds``).
    """
    w = 0
    for e in range(bounds.shape[0] - 1):
        enmo = 0.0
        mad = 0.0
        while w < wbounds.shape[0] - 1 and wbounds[w] < bounds[e + 1]:
            a, b = wbounds[w], wbounds[w + 1]
            total = 0.0
            above = 0.0
            for i in range(a, b):
                total += r[i]
                above += max(r[i] - 1.0, 0.0)
            mean = total / (b - a)
            deviation = 0.0
            for i in range(a, b):
                deviation += abs(r[i] - mean)
            enmo += above
            mad += deviation
            w += 1
        out[e, 0] = enmo
        out[e, 1] = mad


def enmo_mad_per_epoch(r: FloatArray, bounds: IntArray, window_bounds: IntArray) -> FloatArray:
    """ENMO and MAD [mg] (E, 2) per epoch of ``r`` = ‖a‖ [g]; MAD the sample-weighted mean of its windows."""
    out = np.empty((bounds.shape[0] - 1, 2))
    enmo_mad_epochs(r, bounds, window_bounds, out)
    return out * (1000.0 / np.diff(bounds))[:, None]


def _per_epoch(acc_mps2: npt.ArrayLike, rate_hz: float, epoch_s: float) -> FloatArray:
    acc = check_acc(acc_mps2)
    check_epoch(epoch_s)
    bounds = sample_bounds(acc.shape[0], check_rate(rate_hz), epoch_s)
    if (np.diff(bounds) <= 0).any():
        raise DataValidationError(f"epoch_s={epoch_s} holds no sample at {rate_hz} Hz", column="epoch_s")
    r = np.empty(acc.shape[0])
    magnitude_g(acc, r)
    return enmo_mad_per_epoch(r, bounds, bounds)


def enmo_mg(acc_mps2: npt.ArrayLike, rate_hz: float, *, epoch_s: float = 5.0) -> FloatArray:
    """ENMO per epoch: the mean of max(‖a‖ − 1 g, 0) [mg] (GGIR, van Hees et al. 2013).

    Parameters
    ----------
    acc_mps2 : array_like, shape (N, 3)
        Specific force in the sensor frame [m/s²], gravity included; divided by g = 9.80665 m/s².
    rate_hz : float
        Sampling rate [Hz]; the metric is defined at any rate (a mean per epoch).
    epoch_s : float, default 5.0
        Epoch length [s] (GGIR's default short epoch). Epochs start at the first sample; the last one
        may be partial (its mean is over the samples it has).

    Returns
    -------
    numpy.ndarray, shape (E,)
        ENMO per epoch [mg].

    Examples
    --------
    >>> import numpy as np
    >>> acc = np.tile([0.0, 1.5 * 9.80665, 0.0], (500, 1))  # 1.5 g steadily
    >>> enmo_mg(acc, 100.0).round(6).tolist()
    [500.0]
    """
    return _per_epoch(acc_mps2, rate_hz, epoch_s)[:, 0]


def mad_mg(acc_mps2: npt.ArrayLike, rate_hz: float, *, epoch_s: float = 5.0) -> FloatArray:
    """MAD per epoch: the mean amplitude deviation of ‖a‖, mean |‖a‖ᵢ − mean ‖a‖| [mg].

    Parameters
    ----------
    acc_mps2 : array_like, shape (N, 3)
        Specific force in the sensor frame [m/s²], gravity included; divided by g = 9.80665 m/s².
    rate_hz : float
        Sampling rate [Hz].
    epoch_s : float, default 5.0
        Epoch length [s] over which the mean ‖a‖ and the deviations are taken (Vähä-Ypyä et al. 2015
        used 6 s, GGIR 5 s). Epochs start at the first sample; the last may be partial.

    Returns
    -------
    numpy.ndarray, shape (E,)
        MAD per epoch [mg].

    Examples
    --------
    >>> import numpy as np
    >>> acc = np.zeros((500, 3)); acc[:, 1] = 9.80665 * np.where(np.arange(500) % 2, 1.1, 0.9)
    >>> mad_mg(acc, 100.0).round(6).tolist()
    [100.0]
    """
    return _per_epoch(acc_mps2, rate_hz, epoch_s)[:, 1]
