"""Polyphase resampling to the rate a metric is defined at (PlayerLoad 100 Hz, counts 30 Hz)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from imurehab.analysis.load._validate import FloatArray, IntArray

_MAX_DENOMINATOR = 1000


def rate_ratio(rate_hz: float, target_hz: float) -> tuple[int, int]:
    """``(up, down)`` with ``rate_hz · up / down ≈ target_hz`` (exact for rational rates up to 1/1000)."""
    ratio = Fraction(target_hz / rate_hz).limit_denominator(_MAX_DENOMINATOR)
    return ratio.numerator, ratio.denominator


def resample(x: FloatArray, rate_hz: float, target_hz: float) -> FloatArray:
    """Resample ``x`` (N, ...) along axis 0 from ``rate_hz`` to ``target_hz``.

    :func:`scipy.signal.resample_poly` with its default anti-alias FIR (Kaiser window, β = 5, cut-off at
    the lower of the two Nyquist frequencies) and ``padtype="line"``, so the edges do not ramp from 0
    (an acceleration signal has a 1 g offset).
    """
    up, down = rate_ratio(rate_hz, target_hz)
    if up == down:
        return x
    # Imported here: scipy.signal costs ~50 MB and ~0.6 s to import, and 100 Hz sensors never need it.
    from scipy import signal

    return np.ascontiguousarray(signal.resample_poly(x, up, down, axis=0, padtype="line"))


def resampled_times(time_us: IntArray, rate_hz: float, target_hz: float, n_out: int) -> IntArray:
    """Times [µs] of the ``n_out`` resampled samples, interpolated from the original sample times."""
    up, down = rate_ratio(rate_hz, target_hz)
    if up == down:
        return time_us
    position = np.arange(n_out, dtype=np.float64) * (down / up)
    index = np.arange(time_us.shape[0], dtype=np.float64)
    times = np.interp(position, index, time_us.astype(np.float64))
    # past the last original sample: extrapolate at the nominal period
    beyond = position > index[-1]
    times[beyond] = time_us[-1] + (position[beyond] - index[-1]) * (1e6 / rate_hz)
    return np.round(times).astype(np.int64)
