"""Finding a shake that two sensors shared, and how far apart their clocks put it.

Sensors held together and shaken as one rigid bundle measure the same angular velocity, each in its own
frame: ``ω_b(t) = R ω_a(t − τ)`` on their stamped timelines, with ``R`` fixed (how they sat in the hand)
and ``τ`` the difference of their clock errors (``b``'s minus ``a``'s). The gyroscope is used, not the
accelerometer, because a rigid body's angular velocity is the same at every point of it; specific force
differs with the lever arm between the sensors.

:func:`shake_windows` finds bursts of fast rotation on the reference sensor (any vigorous movement
qualifies; only a motion the two sensors shared passes :func:`match_shake`'s fit) and
:func:`shared_windows` stretches where two sensors rotate alike as stamped (a shake that runs into
movements they did not share). :func:`match_shake`
finds ``τ`` in two steps: the rate magnitudes (orientation-free) cross-correlated on a 1 kHz grid over the
search range the clocks allow, then, within ±2 ms of that, the lag whose best rotation (Kabsch, means
removed so gyroscope biases drop out) leaves the least squared residual between ``b``'s samples and
``a``'s cubic-spline interpolated at the shifted instants. Its precision comes from linearising that
fit: ``σ_τ² = s² / Σ|R ω̇_a|²`` with ``s²`` the residual variance. Between the rough and the final fit
the window is trimmed to the longest stretch where the rough fit holds locally (the shake itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import optimize, signal
from scipy.interpolate import CubicSpline

from imurehab.types import SensorSamples

__all__ = ["MIN_FIT", "MIN_RATE_RADS", "ShakeMatch", "match_shake", "shake_windows", "shared_windows"]

FloatArray = npt.NDArray[np.float64]

MIN_RATE_RADS: Final = 1.5
"""A shake: the angular rate magnitude, averaged over 0.5 s, at least this [rad/s] ..."""
MIN_SHAKE_S: Final = 1.5
"""... for at least this long [s]."""
MIN_FIT: Final = 0.99
"""Share of the angular-rate variance one rotation and one lag must explain (R²) for a shared shake."""
MAX_SHAKE_S: Final = 30.0
"""A burst of fast rotation longer than this [s] is movement, not a shake, and is not searched."""
_MERGE_S: Final = 0.5
_GRID_HZ: Final = 1000.0
_REFINE_US: Final = 2000.0
_EDGE_S: Final = 0.1


@dataclass(frozen=True)
class ShakeMatch:
    """A shake seen by two sensors: where, how far apart their clocks put it, and how well it fits.

    Attributes
    ----------
    at_us : float
        Middle of the shake on the reference sensor's timeline [µs since the Unix epoch].
    lag_us : float
        The other sensor's stamped time minus the reference's for one instant of the shake [µs]:
        subtract it from the other's times to put them on the reference's.
    sigma_us : float
        Standard error of ``lag_us`` from the fit's residual [µs].
    fit : float
        R² of the fit (share of the other sensor's angular-rate variance explained).
    n_samples : int
        The other sensor's samples in the fit.
    start_us, end_us : float
        The stretch fitted (the shake without its ramps), on the reference's timeline [µs since the Unix
        epoch]; ``at_us`` is its middle.
    """

    at_us: float
    lag_us: float
    sigma_us: float
    fit: float
    n_samples: int
    start_us: float = float("nan")
    end_us: float = float("nan")


def _runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """``(start, stop)`` of each run of True in ``mask`` (stop exclusive)."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _smoothed_rate(s: SensorSamples) -> FloatArray:
    n = max(round(0.5 * s.info.rate_hz), 1)
    return np.convolve(np.linalg.norm(s.gyr, axis=1), np.ones(n) / n, mode="same")


def shake_windows(reference: SensorSamples, *, min_rate_rads: float = MIN_RATE_RADS) -> list[tuple[int, int]]:
    """Bursts of fast rotation in a sensor's samples, longest first.

    Parameters
    ----------
    reference : SensorSamples
        The sensor to search (needs its gyroscope).
    min_rate_rads : float
        Threshold on the angular rate magnitude averaged over 0.5 s [rad/s].

    Returns
    -------
    list of (int, int)
        ``(start, end)`` of each burst at least :data:`MIN_SHAKE_S` long [µs since the Unix epoch, its
        stamped timeline], the longest first.
    """
    t = reference.time_us
    spans: list[tuple[int, int]] = []
    for a, b in _runs(_smoothed_rate(reference) >= min_rate_rads):
        if spans and t[a] - spans[-1][1] < _MERGE_S * 1e6:  # a short lull inside one shake
            spans[-1] = (spans[-1][0], int(t[b - 1]))
        else:
            spans.append((int(t[a]), int(t[b - 1])))
    spans = [w for w in spans if MIN_SHAKE_S * 1e6 <= w[1] - w[0] <= MAX_SHAKE_S * 1e6]
    return sorted(spans, key=lambda w: w[0] - w[1])


def shared_windows(
    reference: SensorSamples, other: SensorSamples, *, min_rate_rads: float = MIN_RATE_RADS
) -> list[tuple[int, int]]:
    """Stretches where two sensors rotate fast and alike, as stamped (no lag searched).

    The rate magnitudes (orientation-free) on a 50 Hz grid must correlate ≥ 0.9 over 1 s while both
    average ``min_rate_rads``. This finds a shake inside a burst of movements the sensors did not share
    (strapped on different segments), as long as the clocks already agree to a small part of the
    shake's period (tens of ms).

    Parameters
    ----------
    reference, other : SensorSamples
        The two sensors.
    min_rate_rads : float
        Threshold on each sensor's mean angular rate magnitude over the second [rad/s].

    Returns
    -------
    list of (int, int)
        ``(start, end)`` [µs since the Unix epoch] of each stretch at least :data:`MIN_SHAKE_S` long.
    """
    lo = max(reference.time_us[0], other.time_us[0])
    hi = min(reference.time_us[-1], other.time_us[-1])
    grid = np.arange(lo, hi, 20_000, dtype=np.float64)  # 50 Hz: a 2–6 Hz shake's magnitude is slower
    n = 50
    if grid.size < 2 * n:
        return []
    x = np.interp(grid, reference.time_us, np.linalg.norm(reference.gyr, axis=1))
    y = np.interp(grid, other.time_us, np.linalg.norm(other.gyr, axis=1))

    def mean(v: FloatArray) -> FloatArray:
        c = np.concatenate([[0.0], np.cumsum(v)])
        return (c[n:] - c[:-n]) / n

    mx, my = mean(x), mean(y)
    cov = mean(x * y) - mx * my
    var = np.maximum(mean(x * x) - mx * mx, 1e-12) * np.maximum(mean(y * y) - my * my, 1e-12)
    ok = (cov / np.sqrt(var) >= 0.9) & (mx >= min_rate_rads) & (my >= min_rate_rads)
    out = []
    for a, b in _runs(ok):
        start, end = int(grid[a]), int(grid[b - 1 + n - 1])
        if end - start >= MIN_SHAKE_S * 1e6:
            out.append((start, end))
    return out


def _coarse_lag(
    a: SensorSamples, b: SensorSamples, window: tuple[int, int], search_us: float
) -> float | None:
    """Lag [µs] maximising the normalised correlation of the rate magnitudes, on a 1 kHz grid."""
    step = 1e6 / _GRID_HZ
    lo, hi = window
    grid = np.arange(lo, hi, step)
    wide = np.arange(lo - search_us, hi + search_us, step)
    if b.time_us[0] > wide[0] or b.time_us[-1] < wide[-1]:
        wide = wide[(wide >= b.time_us[0]) & (wide <= b.time_us[-1])]
        if wide.size < grid.size + 2:
            return None
    x = np.interp(grid, a.time_us, np.linalg.norm(a.gyr, axis=1))
    y = np.interp(wide, b.time_us, np.linalg.norm(b.gyr, axis=1))
    x = x - x.mean()
    num = signal.correlate(y, x, mode="valid", method="fft")
    sums = np.concatenate([[0.0], np.cumsum(y)])
    sq = np.concatenate([[0.0], np.cumsum(y * y)])
    n = grid.size
    local = (sq[n:] - sq[:-n]) - (sums[n:] - sums[:-n]) ** 2 / n
    r = num / np.sqrt(np.maximum(local, 1e-12) * float(x @ x))
    return float(wide[int(np.argmax(r))] - lo)


def _kabsch_cost(x: FloatArray, y: FloatArray) -> tuple[float, FloatArray]:
    """Least ``Σ|y − R x|²`` over rotations R (rows of x, y are vectors, means removed) and that R."""
    u, s, vt = np.linalg.svd(x.T @ y)
    d = np.sign(np.linalg.det(vt.T @ u.T)) or 1.0
    rotation = vt.T @ np.diag([1.0, 1.0, d]) @ u.T
    cost = float(np.sum(x * x) + np.sum(y * y) - 2.0 * (s[0] + s[1] + d * s[2]))
    return max(cost, 0.0), rotation


def match_shake(
    reference: SensorSamples, other: SensorSamples, window: tuple[int, int], search_us: float
) -> ShakeMatch | None:
    """How far apart two sensors' clocks put a shake they both measured.

    Parameters
    ----------
    reference, other : SensorSamples
        The two sensors (gyroscopes needed).
    window : (int, int)
        The shake on the reference's timeline [µs since the Unix epoch] (from :func:`shake_windows`).
    search_us : float
        Largest lag to consider either way [µs] (what the two clocks' bounds allow).

    Returns
    -------
    ShakeMatch or None
        None when the other sensor does not cover the shake, a sample of either is missing inside it,
        or no lag and rotation explain :data:`MIN_FIT` of its angular-rate variance (not a shared motion).
    """
    lag0 = _coarse_lag(reference, other, window, search_us)
    if lag0 is None:
        return None
    lo, hi = window[0] + _EDGE_S * 1e6, window[1] - _EDGE_S * 1e6
    rough = _refine(reference, other, (lo, hi), lag0)
    core = None if rough is None else _shared_core(rough, other.info.rate_hz)
    fit = None if core is None else _refine(reference, other, core, rough.lag_us)  # type: ignore[union-attr]
    if fit is None or fit.fit < MIN_FIT:
        return None
    lo, hi = core  # type: ignore[misc]
    return ShakeMatch(0.5 * (lo + hi), fit.lag_us, fit.sigma_us, fit.fit, fit.n, lo, hi)


@dataclass(frozen=True)
class _Fit:
    lag_us: float
    sigma_us: float
    fit: float
    n: int
    times_us: FloatArray  # the other's samples fitted, on the reference's timeline
    residual: FloatArray  # per sample, squared [rad²/s²]
    energy: FloatArray  # per sample, squared angular rate about the mean [rad²/s²]
    speed: FloatArray  # per sample, angular rate magnitude [rad/s]


def _refine(
    reference: SensorSamples, other: SensorSamples, span: tuple[float, float], lag0: float
) -> _Fit | None:
    """The lag within ±2 ms of ``lag0`` and the rotation that best map the reference onto the other."""
    lo, hi = span
    ra = (reference.time_us >= lo - 0.5e6) & (reference.time_us <= hi + 0.5e6)
    rb = (other.time_us >= lo + lag0 + _REFINE_US) & (other.time_us <= hi + lag0 - _REFINE_US)
    if ra.sum() < 8 or rb.sum() < 8 or not (_whole(reference, ra) and _whole(other, rb)):
        return None
    t0 = float(reference.time_us[ra][0])
    spline = CubicSpline((reference.time_us[ra] - t0) * 1e-6, reference.gyr[ra])
    tb = (other.time_us[rb] - t0) * 1e-6
    y = other.gyr[rb] - other.gyr[rb].mean(axis=0)

    def cost(lag_us: float) -> float:
        x = spline(tb - lag_us * 1e-6)
        return _kabsch_cost(x - x.mean(axis=0), y)[0]

    best = optimize.minimize_scalar(
        cost, bounds=(lag0 - _REFINE_US, lag0 + _REFINE_US), method="bounded", options={"xatol": 0.2}
    )
    lag = float(best.x)
    x = spline(tb - lag * 1e-6)
    x = x - x.mean(axis=0)
    residual, rotation = _kabsch_cost(x, y)
    n = int(rb.sum())
    slope = spline(tb - lag * 1e-6, 1) @ rotation.T  # rad/s² per sample, in the other's frame
    variance = residual / max(3 * n - 4, 1)
    sigma_s = np.sqrt(variance / max(float(np.sum(slope * slope)), 1e-12))
    per_sample = np.sum((y - x @ rotation.T) ** 2, axis=1)
    return _Fit(
        lag,
        float(sigma_s * 1e6),
        1.0 - residual / max(float(np.sum(y * y)), 1e-12),
        n,
        other.time_us[rb] - lag,
        per_sample,
        np.sum(y * y, axis=1),
        np.linalg.norm(other.gyr[rb], axis=1),
    )


def _shared_core(rough: _Fit, rate_hz: float) -> tuple[float, float] | None:
    """The shake itself: the longest stretch where the rough fit holds locally and the sensor turns.

    Locally: R² ≥ 0.95 over 0.3 s, with the angular rate at least :data:`MIN_RATE_RADS` there.

    A burst of fast rotation may run into movements the sensors did not share (strapped on different
    segments); those samples would spoil the fit, so the final fit keeps only this stretch.
    """
    n = max(round(0.3 * rate_hz), 1)
    kernel = np.ones(n) / n
    residual = np.convolve(rough.residual, kernel, mode="same")
    local = residual <= 0.05 * np.convolve(rough.energy, kernel, mode="same")
    local &= np.convolve(rough.speed, kernel, mode="same") >= MIN_RATE_RADS  # moving, not at rest
    runs = _runs(local)
    if not runs:
        return None
    a, b = max(runs, key=lambda r: r[1] - r[0])
    lo, hi = float(rough.times_us[a]), float(rough.times_us[b - 1])
    return (lo, hi) if hi - lo >= MIN_SHAKE_S * 1e6 else None


def _whole(s: SensorSamples, mask: npt.NDArray[np.bool_]) -> bool:
    """No sample missing inside the masked run (sample_index contiguous)."""
    index = s.sample_index[mask]
    return bool(np.all(np.diff(index) == 1))
