"""ActiGraph-compatible activity counts, per sensor axis and as vector magnitude.

Implemented from the published description of the ActiGraph counts algorithm (Neishabouri et al. 2022,
"Quantification of acceleration as activity counts in ActiGraph wearable", Sci Rep 12:11958), whose
reference implementation ActiGraph released as ``agcounts``; that package is our test oracle, not our
code. Per axis, with acceleration in g (÷ 9.80665 m/s²):

1. **To 30 Hz.** Rates of 30–100 Hz in steps of 10 Hz are resampled by the ActiGraph method: upsample by
   L (zero insertion), then, unless the rate is a multiple of 30 Hz, the first-order IIR low-pass
   ``y[j] = a·L·(u[j] + u[j−1]) − b·y[j−1]`` with ``a = π/(π + 2L)``, ``b = (π − 2L)/(π + 2L)`` (zero
   initial state), and keep every M-th sample, where 30 = rate·L/M in lowest terms (L = 3 for 40, 50,
   70, 80, 100 Hz; L = 1 for 30, 60, 90 Hz). Other rates are first resampled to 30 Hz by
   :func:`scipy.signal.resample_poly` (an extension: not ActiGraph-identical, see docs/load-metrics.md).
2. Round to 3 decimals (round half to even).
3. **Band-pass**: the 7th-order IIR filter below, started in its steady state for the first sample.
4. Multiply by (3/4096)/(2.6/256)·237.5 ≈ 17.127 (ActiLife's constant).
5. **Trim**: |·|; below 4 → 0; above 128 → 128; floor.
6. **10 Hz**: floor of the mean of each 3 consecutive 30 Hz values (an incomplete last triple is dropped).
7. **Epoch**: the sum of the 10 Hz values whose first raw sample falls in the epoch.

The vector magnitude of an epoch is √(x² + y² + z²) of its axis counts (ActiLife's convention). The
filter runs over the samples in order; gaps in the times are not bridged or reset.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt
from numba import njit

from imurehab.analysis.load._resample import resample, resampled_times
from imurehab.analysis.load._scratch import scratch
from imurehab.analysis.load._validate import FloatArray, IntArray, check_acc, check_epoch, check_rate
from imurehab.analysis.load.axes import STANDARD_GRAVITY
from imurehab.analysis.load.epochs import sample_bounds

__all__ = ["ACTIGRAPH_RATES_HZ", "COUNTS_RATE_HZ", "actigraph_counts"]

COUNTS_RATE_HZ: Final[float] = 30.0
"""The rate the counts filter runs at [Hz]."""

ACTIGRAPH_RATES_HZ: Final[tuple[int, ...]] = (30, 40, 50, 60, 70, 80, 90, 100)
"""Rates resampled to 30 Hz by ActiGraph's own method (counts identical to ActiLife's); other rates use a
polyphase FIR."""

# Band-pass filter of the published algorithm (numerator, denominator; a[0] = 1), at 30 Hz.
_BPF_B: Final = np.array(
    [
        -0.009341062898525,
        -0.025470289659360,
        -0.004235264826105,
        0.044152415456420,
        0.036493718347760,
        -0.011893961934740,
        -0.022917390623150,
        -0.006788163862310,
    ]
)
_BPF_A: Final = np.array(
    [
        1.0,
        -3.63367395910957,
        5.03689812757486,
        -3.09612247819666,
        0.50620507633883,
        0.32421701566682,
        -0.15685485875559,
        0.01949130205890,
    ]
)
_GAIN: Final = (3.0 / 4096.0) / (2.6 / 256.0) * 237.5
_MIN_COUNT: Final = 4.0
_MAX_COUNT: Final = 128.0


def _factors(rate: int) -> tuple[int, int]:
    """(L, M) with rate·L/M = 30 in lowest terms."""
    common = math.gcd(rate, 30)
    return 30 // common, rate // common


@njit(cache=True, nogil=True)
def _actigraph_to_30hz(acc, up, down, out):
    """ActiGraph's resampling of ``acc`` [m/s²] (N, 3) to 30 Hz in g, rounded to 3 decimals, into ``out``.

    ``up`` is 1 (no low-pass) or 3; ``out`` holds ceil(N·up/down) rows, the upsampled indices 0, down,
    2·down, ... The three axes run side by side (independent recursions overlap in the CPU). With
    ``up`` = 3 the zero-inserted samples are written out: per input x the filter steps are
    ``g·x − b·y``, ``g·x − b·y`` and ``−b·y`` (the same floating-point operations as the general form).
    """
    a = math.pi / (math.pi + 2 * up)
    nb = -(math.pi - 2 * up) / (math.pi + 2 * up)
    g = a * up
    y0 = 0.0
    y1 = 0.0
    y2 = 0.0
    m = 0
    for i in range(acc.shape[0]):
        x0 = acc[i, 0] / STANDARD_GRAVITY
        x1 = acc[i, 1] / STANDARD_GRAVITY
        x2 = acc[i, 2] / STANDARD_GRAVITY
        j = i * up
        if up == 1:
            if j == m * down:
                out[m, 0] = np.rint(x0 * 1000.0) / 1000.0
                out[m, 1] = np.rint(x1 * 1000.0) / 1000.0
                out[m, 2] = np.rint(x2 * 1000.0) / 1000.0
                m += 1
            continue
        for p in range(3):
            if p < 2:
                y0 = g * x0 + nb * y0
                y1 = g * x1 + nb * y1
                y2 = g * x2 + nb * y2
            else:
                y0 = nb * y0
                y1 = nb * y1
                y2 = nb * y2
            if j + p == m * down:
                out[m, 0] = np.rint(y0 * 1000.0) / 1000.0
                out[m, 1] = np.rint(y1 * 1000.0) / 1000.0
                out[m, 2] = np.rint(y2 * 1000.0) / 1000.0
                m += 1


@njit(cache=True, nogil=True, fastmath={"contract"})
def _counts_10hz(x30, out):
    """Band-pass, scale, trim and reduce ``x30`` (K, 3) [g] to 10 Hz counts ``out`` (K // 3, 3).

    Direct form I, started in the steady state of the first sample, the history in registers; the
    newest output enters the sum last, so the recursion's critical path is one multiply-subtract.
    """
    b0, b1, b2, b3, b4, b5, b6, b7 = _BPF_B
    a1, a2, a3, a4, a5, a6, a7 = _BPF_A[1:]
    dc = _BPF_B.sum() / _BPF_A.sum()
    for c in range(3):
        x1 = x2 = x3 = x4 = x5 = x6 = x7 = x30[0, c]
        y1 = y2 = y3 = y4 = y5 = y6 = y7 = x30[0, c] * dc  # steady state of a constant input
        total = 0.0
        phase = 0
        for n in range(3 * out.shape[0]):
            x0 = x30[n, c]
            fir = ((b0 * x0 + b1 * x1) + (b2 * x2 + b3 * x3)) + ((b4 * x4 + b5 * x5) + (b6 * x6 + b7 * x7))
            older = (a2 * y2 + a3 * y3) + ((a4 * y4 + a5 * y5) + (a6 * y6 + a7 * y7))
            y0 = (fir - older) - a1 * y1
            x7, x6, x5, x4, x3, x2, x1 = x6, x5, x4, x3, x2, x1, x0
            y7, y6, y5, y4, y3, y2, y1 = y6, y5, y4, y3, y2, y1, y0
            v = min(abs(y0 * _GAIN), _MAX_COUNT)
            total += math.floor(v) if v >= _MIN_COUNT else 0.0  # a select, not a mispredicted branch
            phase += 1
            if phase == 3:
                out[n // 3, c] = math.floor(total / 3.0)
                total = 0.0
                phase = 0


def counts_10hz(acc: FloatArray, rate_hz: float, time_us: IntArray) -> tuple[FloatArray, IntArray]:
    """10 Hz counts (K, 3) of checked ``acc`` [m/s²] and the time [µs] of each value's first raw sample."""
    rate_int = round(rate_hz)
    if rate_int in ACTIGRAPH_RATES_HZ and abs(rate_hz - rate_int) < 1e-9:
        up, down = _factors(rate_int)
        x30 = scratch("counts_30hz", 3 * ((acc.shape[0] * up + down - 1) // down)).reshape(-1, 3)
        _actigraph_to_30hz(acc, up, down, x30)
        first_raw = None
    else:
        x30 = np.ascontiguousarray(
            np.rint(resample(acc / STANDARD_GRAVITY, rate_hz, COUNTS_RATE_HZ) * 1000) / 1000
        )
        first_raw = resampled_times(time_us, rate_hz, COUNTS_RATE_HZ, x30.shape[0])
    out = np.empty((x30.shape[0] // 3, 3))
    _counts_10hz(x30, out)
    if first_raw is None:
        index = np.minimum(np.arange(out.shape[0]) * round(rate_hz / 10.0), acc.shape[0] - 1)
        return out, time_us[index]
    return out, first_raw[0 : 3 * out.shape[0] : 3]


def counts_per_epoch(values_10hz: FloatArray, times_us: IntArray, edges_us: IntArray) -> IntArray:
    """Sum of the 10 Hz counts per epoch ``[edges_us[e], edges_us[e + 1])`` (E, 3) int64."""
    position = np.searchsorted(times_us, edges_us)
    sums = np.add.reduceat(
        np.vstack([values_10hz, np.zeros((1, 3))]), np.minimum(position[:-1], values_10hz.shape[0]), axis=0
    )
    sums[position[:-1] == position[1:]] = 0.0
    return sums.astype(np.int64)


def actigraph_counts(acc_mps2: npt.ArrayLike, rate_hz: float, *, epoch_s: float = 60.0) -> IntArray:
    """ActiGraph-compatible activity counts per epoch and sensor axis.

    Parameters
    ----------
    acc_mps2 : array_like, shape (N, 3)
        Specific force in the sensor frame [m/s²], gravity included, uniformly sampled; divided by
        g = 9.80665 m/s² (ActiGraph works in g).
    rate_hz : float
        Sampling rate [Hz]. 30, 40, ..., 100 Hz follow ActiGraph's resampling exactly; other rates are
        resampled to 30 Hz by a polyphase FIR first (close to, not identical with, ActiLife).
    epoch_s : float, default 60.0
        Epoch length [s], a multiple of 0.1 s. Epochs start at the first sample; a last, partial epoch is
        kept if it holds a complete 10 Hz value.

    Returns
    -------
    numpy.ndarray, shape (E, 3), int64
        Counts per epoch for the sensor's x, y and z axes. The vector magnitude is
        ``np.linalg.norm(counts, axis=1)``.

    Notes
    -----
    Neishabouri et al. (2022), Sci Rep 12:11958; steps in the module docstring. On the rates ActiGraph
    supports the counts equal ``agcounts.extract.get_counts`` exactly on random and simulated signals
    (tests/analysis/test_load_counts.py).

    Examples
    --------
    A resting sensor counts nothing:

    >>> import numpy as np
    >>> actigraph_counts(np.tile([0.0, 9.80665, 0.0], (3000, 1)), 50.0).tolist()
    [[0, 0, 0]]
    """
    acc = check_acc(acc_mps2)
    rate = check_rate(rate_hz)
    epoch_us = check_epoch(epoch_s)
    time_us = np.round(np.arange(acc.shape[0]) * (1e6 / rate)).astype(np.int64)
    values, _ = counts_10hz(acc, rate, time_us)
    bounds = sample_bounds(values.shape[0], 10.0, epoch_us / 1e6)
    sums = np.add.reduceat(values, bounds[:-1], axis=0) if values.shape[0] else np.zeros((0, 3))
    return sums.astype(np.int64)
