"""Smooth scalar time functions that movements are built from.

Every trajectory is a frozen, vectorised callable ``f(t) -> values`` defined for all real ``t`` [s], so the
simulator can evaluate it at any instant (jittered sample times, finite-difference stencils) without a
stored dense grid. Smoothness matters: accelerometers see second derivatives of positions, so every
trajectory here is at least C² (continuous acceleration).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.interpolate import CubicSpline

__all__ = ["MinJerkPath", "PeriodicPattern", "SlowNoise", "min_jerk_step"]

FloatArray = npt.NDArray[np.float64]


def min_jerk_step(u: npt.ArrayLike) -> FloatArray:
    """Minimum-jerk step ``10u³ − 15u⁴ + 6u⁵`` from 0 to 1 on ``u ∈ [0, 1]`` (clamped outside).

    Its first and second derivatives vanish at both ends, so joining steps gives C² paths. It is the
    trajectory that minimises integrated squared jerk between rest states, which reproduces the smooth,
    bell-shaped velocity of point-to-point human movement (Flash & Hogan 1985, J Neurosci 5:1688–1703).

    Parameters
    ----------
    u : array_like
        Normalised time (0 at the start of the step, 1 at its end).
    """
    u = np.clip(np.asarray(u, dtype=np.float64), 0.0, 1.0)
    return u * u * u * (10.0 + u * (-15.0 + 6.0 * u))


def _min_jerk_step_integral(u: FloatArray) -> FloatArray:
    """∫₀ᵘ min_jerk_step = 2.5u⁴ − 3u⁵ + u⁶ for u in [0, 1] (equals 1/2 at u = 1)."""
    u2 = u * u
    return u2 * u2 * (2.5 + u * (-3.0 + u))


@dataclass(frozen=True, eq=False)
class MinJerkPath:
    """Piecewise minimum-jerk path through knots, held constant before the first and after the last.

    Between knots ``(tᵢ, vᵢ)`` and ``(tᵢ₊₁, vᵢ₊₁)`` the value follows ``vᵢ + (vᵢ₊₁ − vᵢ)·s(u)`` with
    :func:`min_jerk_step` ``s``; velocity and acceleration are zero at every knot, so the path is C² and
    stops at each knot (rep reversals, holds). Repeating a value makes a hold.

    Parameters
    ----------
    times : array_like, shape (K,)
        Knot times [s], non-decreasing; equal consecutive times are not allowed.
    values : array_like, shape (K,)
        Values at the knots (any unit).
    """

    times: FloatArray
    values: FloatArray
    _cum: FloatArray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        t = np.asarray(self.times, dtype=np.float64)
        v = np.asarray(self.values, dtype=np.float64)
        if t.ndim != 1 or t.shape != v.shape or t.size < 1:
            raise ValueError("times and values must be 1-D arrays of the same non-zero length")
        if t.size > 1 and np.any(np.diff(t) <= 0):
            raise ValueError("knot times must be strictly increasing")
        seg = np.diff(t) * 0.5 * (v[:-1] + v[1:])
        object.__setattr__(self, "times", t)
        object.__setattr__(self, "values", v)
        object.__setattr__(self, "_cum", np.concatenate([[0.0], np.cumsum(seg)]))

    def _locate(self, t: FloatArray) -> tuple[npt.NDArray[np.intp], FloatArray]:
        k = self.times.size
        i = np.clip(np.searchsorted(self.times, t, side="right") - 1, 0, max(k - 2, 0))
        if k == 1:
            return i, np.zeros_like(t)
        dt = self.times[i + 1] - self.times[i]
        return i, np.clip((t - self.times[i]) / dt, 0.0, 1.0)

    def __call__(self, t: npt.ArrayLike) -> FloatArray:
        """Values at times ``t`` [s]."""
        t = np.asarray(t, dtype=np.float64)
        if self.times.size == 1:
            return np.full_like(t, self.values[0])
        i, u = self._locate(t)
        v0 = self.values[i]
        return v0 + (self.values[i + 1] - v0) * min_jerk_step(u)

    def integral(self, t: npt.ArrayLike) -> FloatArray:
        """∫ from the first knot time to ``t`` of the path [value·s] (negative before the first knot)."""
        t = np.asarray(t, dtype=np.float64)
        t0, tn = self.times[0], self.times[-1]
        if self.times.size == 1:
            return self.values[0] * (t - t0)
        i, u = self._locate(t)
        dt = self.times[i + 1] - self.times[i]
        v0 = self.values[i]
        inside = self._cum[i] + dt * (v0 * u + (self.values[i + 1] - v0) * _min_jerk_step_integral(u))
        before = self.values[0] * (t - t0)
        after = self._cum[-1] + self.values[-1] * (t - tn)
        return np.where(t < t0, before, np.where(t > tn, after, inside))


@dataclass(frozen=True, eq=False)
class PeriodicPattern:
    """A smooth periodic curve of phase through knots, e.g. a joint angle over one gait cycle.

    A periodic cubic spline (C²) through ``(phase_pct, values)``; evaluated at phase in cycles, modulo 1.

    Parameters
    ----------
    phase_pct : array_like, shape (K,)
        Knot phases in percent of the cycle, strictly increasing in [0, 100).
    values : array_like, shape (K,)
        Values at the knots; the curve wraps from 100 % back to the first knot.
    """

    phase_pct: tuple[float, ...]
    values: tuple[float, ...]
    _spline: CubicSpline = field(init=False, repr=False)

    def __post_init__(self) -> None:
        x = np.asarray(self.phase_pct, dtype=np.float64) / 100.0
        y = np.asarray(self.values, dtype=np.float64)
        if x.ndim != 1 or x.shape != y.shape or x.size < 3 or x[0] < 0 or x[-1] >= 1:
            raise ValueError("need at least 3 knots with phases in [0, 100)")
        spline = CubicSpline(np.append(x, x[0] + 1.0), np.append(y, y[0]), bc_type="periodic")
        object.__setattr__(self, "_spline", spline)

    @classmethod
    def harmonic(cls, mean: float, amplitude: float, peak_pct: float, order: int = 1) -> PeriodicPattern:
        """A (spline-sampled) cosine: ``mean + amplitude·cos(2π·order·(φ − peak))``, φ in cycles."""
        pct = np.arange(0.0, 100.0, 100.0 / (16 * order))
        vals = mean + amplitude * np.cos(2 * np.pi * order * (pct - peak_pct) / 100.0)
        return cls(tuple(pct.tolist()), tuple(vals.tolist()))

    def __call__(self, phase: npt.ArrayLike) -> FloatArray:
        """Values at ``phase`` [cycles] (any real; only the fractional part matters)."""
        x0 = float(self._spline.x[0])
        p = np.asarray(phase, dtype=np.float64)
        return self._spline(x0 + np.mod(p - x0, 1.0))

    def extremes(self) -> tuple[float, float]:
        """Minimum and maximum over one cycle (dense evaluation)."""
        v = self(np.linspace(0.0, 1.0, 2001))
        return float(v.min()), float(v.max())


@dataclass(frozen=True, eq=False)
class SlowNoise:
    """Smooth random variation: a sum of sinusoids with random phases, zero at ``x = 0``.

    ``f(x) = Σ aᵢ (sin(2π νᵢ x + ψᵢ) − sin ψᵢ)``; used for slow drifts of cadence and amplitude.
    """

    amplitudes: FloatArray
    frequencies_hz: FloatArray
    phases: FloatArray

    @classmethod
    def random(cls, rng: np.random.Generator, rms: float, max_hz: float, n: int = 4) -> SlowNoise:
        """Draw ``n`` components with frequencies in ``[max_hz/10, max_hz]`` and total RMS ``rms``."""
        freqs = rng.uniform(max_hz / 10.0, max_hz, n)
        phases = rng.uniform(0.0, 2 * np.pi, n)
        amps = np.full(n, rms * np.sqrt(2.0 / n))
        return cls(amps, freqs, phases)

    @classmethod
    def zero(cls) -> SlowNoise:
        """No variation."""
        empty = np.zeros(0)
        return cls(empty, empty, empty)

    def __call__(self, x: npt.ArrayLike) -> FloatArray:
        """Values at ``x`` (a time [s] or any other smooth abscissa)."""
        x = np.asarray(x, dtype=np.float64)
        out = np.zeros_like(x)
        for a, f, p in zip(self.amplitudes, self.frequencies_hz, self.phases, strict=True):
            out += a * (np.sin(2 * np.pi * f * x + p) - np.sin(p))
        return out

    def derivative(self, x: npt.ArrayLike) -> FloatArray:
        """Derivative ``f'(x)``."""
        x = np.asarray(x, dtype=np.float64)
        out = np.zeros_like(x)
        for a, f, p in zip(self.amplitudes, self.frequencies_hz, self.phases, strict=True):
            out += a * 2 * np.pi * f * np.cos(2 * np.pi * f * x + p)
        return out

    def max_slope(self) -> float:
        """Upper bound of ``|f'(x)|``."""
        return float(np.sum(np.abs(self.amplitudes) * 2 * np.pi * self.frequencies_hz))
