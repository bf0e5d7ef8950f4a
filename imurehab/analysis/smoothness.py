"""Movement smoothness: spectral arc length (SPARC) and log dimensionless jerk (LDLJ).

Both measures are dimensionless and grow toward zero as a movement gets smoother; both are
negative. They follow Balasubramanian, Melendez-Calderon, Roby-Brami & Burdet, "On the analysis of
movement smoothness", J NeuroEng Rehabil 12:112 (2015), which recommends SPARC for its robustness to
noise and LDLJ as the best of the jerk-based measures; the dimensionless jerk itself goes back to
Hogan & Sternad, "Sensitivity of smoothness measures to movement duration, amplitude, and arrests",
J Mot Behav 41(6):529–534 (2009).

For a joint angle the "speed" is the magnitude of its angular velocity [deg/s]; the units cancel.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from imurehab.errors import DataValidationError

__all__ = ["SPARC_AMPLITUDE_THRESHOLD", "SPARC_MAX_CUTOFF_HZ", "log_dimensionless_jerk", "sparc"]

SPARC_MAX_CUTOFF_HZ: Final[float] = 10.0
"""Upper bound of SPARC's adaptive cutoff frequency [Hz] (Balasubramanian et al. 2015: 10 Hz covers
voluntary human movement)."""
SPARC_AMPLITUDE_THRESHOLD: Final[float] = 0.05
"""SPARC's amplitude threshold on the normalised magnitude spectrum (Balasubramanian et al. 2015)."""
_SPARC_PAD_LEVEL: Final[int] = 4  # zero-pad to 2**(ceil(log2 N) + 4) points: a fine frequency grid


def _profile(values: npt.ArrayLike, rate_hz: float, column: str) -> npt.NDArray[np.float64]:
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1:
        raise DataValidationError(f"expected a one-dimensional profile, got shape {v.shape}", column=column)
    if v.size < 3:
        raise DataValidationError(f"expected at least 3 samples, got {v.size}", column=column)
    if not np.isfinite(v).all():
        raise DataValidationError("holds NaN or inf", column=column)
    if not (rate_hz > 0 and np.isfinite(rate_hz)):
        raise DataValidationError(f"rate_hz must be positive, got {rate_hz!r}", column="rate_hz")
    if not np.any(v):
        raise DataValidationError("is zero throughout: no movement to measure", column=column)
    return v


def sparc(
    speed: npt.ArrayLike,
    rate_hz: float,
    *,
    max_cutoff_hz: float = SPARC_MAX_CUTOFF_HZ,
    amplitude_threshold: float = SPARC_AMPLITUDE_THRESHOLD,
) -> float:
    r"""Spectral arc length (SPARC) of a speed profile.

    Parameters
    ----------
    speed : array_like, shape (N,)
        Speed profile (non-negative; e.g. ``abs`` of an angular velocity [deg/s]), evenly sampled.
        Any unit: the spectrum is normalised.
    rate_hz : float
        Sampling rate [Hz].
    max_cutoff_hz : float
        Upper bound of the adaptive cutoff frequency [Hz].
    amplitude_threshold : float
        The cutoff is the highest frequency (up to ``max_cutoff_hz``) at which the normalised magnitude
        spectrum still reaches this level.

    Returns
    -------
    float
        SPARC, dimensionless and negative; closer to zero is smoother. A single bell-shaped
        (minimum-jerk) profile scores about -1.41; tremor or extra sub-movements lower it.

    Raises
    ------
    DataValidationError
        The profile is not 1-D, is shorter than 3 samples, holds NaN/inf, or is zero throughout.

    Notes
    -----
    Balasubramanian et al. (2015), eqs. (6)–(7): with :math:`V(\omega)` the Fourier magnitude
    spectrum of the speed profile and :math:`\hat V = V / V(0)`,

    .. math::
        \mathrm{SPARC} = -\int_0^{\omega_c}
        \sqrt{\left(\frac{1}{\omega_c}\right)^2 + \left(\frac{d\hat V}{d\omega}\right)^2}\,
        d\omega,
        \qquad
        \omega_c = \min\{\omega_c^{max},
        \min\{\omega : \hat V(r) < \bar V\ \forall r > \omega\}\}

    The integral is the arc length of :math:`\hat V` against frequency normalised by
    :math:`\omega_c`, computed here on a zero-padded FFT grid as a sum of straight segments.

    Examples
    --------
    >>> import numpy as np
    >>> tau = np.linspace(0, 1, 201)
    >>> bell = 30 * tau**2 - 60 * tau**3 + 30 * tau**4  # minimum-jerk speed profile
    >>> round(sparc(bell, 200.0), 2)
    -1.41
    """
    v = _profile(speed, rate_hz, "speed")
    n_fft = 2 ** (int(np.ceil(np.log2(v.size))) + _SPARC_PAD_LEVEL)
    freq = np.fft.rfftfreq(n_fft, d=1.0 / rate_hz)
    magnitude = np.abs(np.fft.rfft(v, n_fft))
    magnitude /= magnitude[0] if magnitude[0] > 0 else magnitude.max()
    in_band = freq <= max_cutoff_hz
    freq, magnitude = freq[in_band], magnitude[in_band]
    above = np.flatnonzero(magnitude >= amplitude_threshold)
    last = int(above[-1]) if above.size else 0
    last = max(last, 1)  # at least one segment of arc, even for a spectrum below threshold at once
    freq, magnitude = freq[: last + 1], magnitude[: last + 1]
    d_freq = np.diff(freq) / freq[-1]
    d_mag = np.diff(magnitude)
    return -float(np.sum(np.hypot(d_freq, d_mag)))


def log_dimensionless_jerk(velocity: npt.ArrayLike, rate_hz: float) -> float:
    r"""Log dimensionless jerk (LDLJ) of a velocity profile.

    Parameters
    ----------
    velocity : array_like, shape (N,)
        Velocity of the movement (signed, e.g. angular velocity [deg/s]), evenly sampled from the
        movement's start to its end. Any unit: the measure is dimensionless.
    rate_hz : float
        Sampling rate [Hz].

    Returns
    -------
    float
        LDLJ, dimensionless and negative; closer to zero is smoother. Unchanged when the movement is
        scaled in amplitude or stretched in time.

    Raises
    ------
    DataValidationError
        The profile is not 1-D, is shorter than 3 samples, holds NaN/inf, or is zero throughout.

    Notes
    -----
    Balasubramanian et al. (2015), eq. (3), after Hogan & Sternad (2009): for a movement from
    :math:`t_1` to :math:`t_2` with peak speed :math:`v_{peak}`,

    .. math::
        \mathrm{LDLJ} = -\ln\left(\frac{(t_2 - t_1)^3}{v_{peak}^2}
        \int_{t_1}^{t_2} \left|\frac{d^2 v}{dt^2}\right|^2 dt\right)

    Derivatives are central differences (one-sided at the ends); the integral is a sum over samples
    times the sample interval. The signed velocity is used: for a one-dimensional movement that
    reverses (out and back), the speed's kink at the reversal is not jerk.

    Examples
    --------
    >>> import numpy as np
    >>> tau = np.linspace(0, 1, 201)
    >>> round(log_dimensionless_jerk(30 * tau**2 - 60 * tau**3 + 30 * tau**4, 200.0), 1)
    -5.3
    """
    v = _profile(velocity, rate_hz, "velocity")
    dt = 1.0 / rate_hz
    jerk = np.gradient(np.gradient(v, dt), dt)
    duration = (v.size - 1) * dt
    peak = float(np.max(np.abs(v)))
    jerk_cost = float(np.sum(jerk**2) * dt)
    if jerk_cost == 0.0:
        raise DataValidationError("has no jerk at all (a linear velocity ramp)", column="velocity")
    return -float(np.log(duration**3 / peak**2 * jerk_cost))
