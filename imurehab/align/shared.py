"""Putting the sensors of one session on one timeline by a shake they shared.

The sensors' clocks are aligned to UTC at sync (round trips, or notification arrivals where a family has
no round trip), each within its own bound. When the sensors were also shaken together once while they
logged (held as one bundle in the hand before they were strapped on), :func:`align_on_shakes` measures
how far apart each sensor's clock put that shake from the reference sensor's (the one with the smallest
clock bound; :mod:`imurehab.align.match`) and moves the sensor's times by that much. Two shakes at least
:data:`MIN_SPAN_S` apart (one before strapping on, one after taking off) also measure the drift between
the two clocks; with one, the times are shifted by a constant and the bound grows away from the shake
by the drift the sensor's own clock model allows (three standard errors of its fitted drift, or
:data:`~imurehab.types.clock.MAX_DRIFT_PPM` where none was fitted).

A sensor is moved only when the shake agrees with the clocks: the lag must lie within the sum of the
two clock bounds (plus the lag's own bound). A lag outside says the motion was not one shared shake (or
a bound was wrong): the sensor keeps its times and the reason is reported. A sensor whose samples come
from several device boots is not moved (one shake cannot place every boot).

Bounds: the lag's own bound is ``6 σ + 10 µs`` (σ from the fit; on simulated shakes with gyroscope noise
10× a MEMS gyroscope's, sampled at 60–200 Hz, the error stayed within 4.1 σ); the aligned sensor's
bound is the reference's plus that, growing outside the shakes' span as said above, and never more than
its own clock's bound. Note what this aligns: the signals as each sensor reports them, so a difference
in the sensors' internal filter delays is aligned away too (what combining their signals needs), and
the shared timeline is the reference's UTC.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from imurehab.align.match import ShakeMatch, match_shake, shake_windows, shared_windows
from imurehab.types import ClockModel, SensorSamples
from imurehab.types.clock import MAX_DRIFT_PPM

__all__ = ["MIN_SPAN_S", "Alignment", "SensorAlignment", "align_on_shakes"]

MIN_SPAN_S: Final = 10.0
"""Two shakes at least this far apart [s] also measure the drift between two clocks."""
MAX_SEARCH_S: Final = 10.0
"""Largest lag searched [s] whatever the clock bounds."""
_MAX_WINDOWS: Final = 6


def _distinct(matches: list[ShakeMatch]) -> list[ShakeMatch]:
    """One match per shake (matches whose middles are within 2 s): the most precise."""
    kept: list[ShakeMatch] = []
    for m in sorted(matches, key=lambda m: m.sigma_us):
        if all(abs(m.at_us - k.at_us) > 2e6 for k in kept):
            kept.append(m)
    return kept


@dataclass(frozen=True)
class SensorAlignment:
    """How one sensor was put on the reference sensor's timeline.

    Attributes
    ----------
    sensor_id : str
        The sensor.
    applied : bool
        Whether its times were moved.
    reason : str or None
        Why not, when they were not.
    matches : tuple of ShakeMatch
        The shakes it shared with the reference, in time order.
    shift_us : float
        Its time minus the reference's at the first shake [µs] (subtracted from its times).
    drift_ppm : float
        How much faster its clock ran than the reference's between the shakes [ppm] (0 with one shake).
    bound_us : float
        Its new clock bound [µs]: the reference's, plus the lag's, growing away from the shakes.
    """

    sensor_id: str
    applied: bool
    reason: str | None = None
    matches: tuple[ShakeMatch, ...] = ()
    shift_us: float = 0.0
    drift_ppm: float = 0.0
    bound_us: float = math.nan

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (matches as dicts)."""
        out = dataclasses.asdict(self)
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in out.items()}


@dataclass(frozen=True)
class Alignment:
    """The result of :func:`align_on_shakes`: the reference and what was done to every other sensor."""

    reference: str | None
    sensors: dict[str, SensorAlignment]

    @property
    def applied(self) -> list[str]:
        """Sensors whose times were moved."""
        return [s for s, a in self.sensors.items() if a.applied]


def _bound(s: SensorSamples) -> float:
    u = s.info.clock_uncertainty_us
    return math.inf if u is None else float(u)


def _drift_sigma(s: SensorSamples) -> float:
    """Three standard errors of the clock's drift [ppm], capped by the largest drift assumed."""
    if not s.info.clocks:
        return MAX_DRIFT_PPM
    return max(min(MAX_DRIFT_PPM, 3.0 * c.drift_sigma_ppm) for c in s.info.clocks)


def _lag_bound(m: ShakeMatch) -> float:
    return 6.0 * m.sigma_us + 10.0


def align_on_shakes(sensors: Sequence[SensorSamples]) -> tuple[list[SensorSamples], Alignment]:
    """Move every sensor's times onto the reference sensor's by the shakes they shared.

    Parameters
    ----------
    sensors : sequence of SensorSamples
        The sensors of one session, on UTC from their clocks (``info.clock_uncertainty_us`` their
        bounds; None counts as unbounded).

    Returns
    -------
    sensors : list of SensorSamples
        In the same order; the aligned ones with new ``time_us``, ``clocks`` and ``clock_uncertainty_us``.
    alignment : Alignment
        The reference (None with fewer than two sensors or when no sensor shared a shake with it) and,
        per other sensor, whether and how it was moved.
    """
    out = list(sensors)
    if len(out) < 2:
        return out, Alignment(None, {})
    ref = min(range(len(out)), key=lambda i: _bound(out[i]))
    reference = out[ref]
    windows = shake_windows(reference)[:_MAX_WINDOWS]
    result = {}
    for i, other in enumerate(out):
        if i == ref:
            continue
        sid = other.info.sensor_id
        allowed = _bound(reference) + _bound(other)
        search = min(allowed + 5000.0, MAX_SEARCH_S * 1e6)
        pair = shared_windows(reference, other)  # finds nothing when the clocks are far apart
        found = _distinct(
            [m for w in pair + windows if (m := match_shake(reference, other, w, search)) is not None]
        )
        found.sort(key=lambda m: m.at_us)
        agree = [m for m in found if abs(m.lag_us) <= allowed + _lag_bound(m)]
        if len(other.info.clocks) > 1:
            why = "its samples come from several device boots"
            result[sid] = SensorAlignment(sid, False, why, tuple(found))
        elif not agree:
            why = (
                f"no shake shared with {reference.info.sensor_id}"
                if not found
                else f"the shake puts it {found[0].lag_us / 1e3:+.2f} ms from {reference.info.sensor_id}, "
                f"outside the clocks' ±{allowed / 1e3:.2f} ms"
            )
            result[sid] = SensorAlignment(sid, False, why, tuple(found))
        else:
            out[i], result[sid] = _apply(reference, other, agree)
    if not any(a.matches for a in result.values()):
        return list(sensors), Alignment(None, {})  # no shake anywhere: nothing to say
    return out, Alignment(reference.info.sensor_id, result)


def _apply(
    reference: SensorSamples, other: SensorSamples, matches: list[ShakeMatch]
) -> tuple[SensorSamples, SensorAlignment]:
    first, last = matches[0], matches[-1]
    t = other.time_us.astype(np.float64)
    if (last.at_us - first.at_us) >= MIN_SPAN_S * 1e6:
        slope = (last.lag_us - first.lag_us) / (last.at_us - first.at_us)
        lag_bound = max(_lag_bound(first), _lag_bound(last))
        growth_ppm = 3.0 * math.hypot(first.sigma_us, last.sigma_us) / (last.at_us - first.at_us) * 1e6
        used = (first, last)
    else:
        best = min(matches, key=lambda m: m.sigma_us)
        first = last = best
        slope, lag_bound = 0.0, _lag_bound(best)
        growth_ppm = _drift_sigma(other)  # its error moves away from the one at the shake by its drift
        used = (best,)
    lag = first.lag_us + slope * (t - first.at_us)
    moved = np.round(t - lag).astype(np.int64)
    inside = _bound(reference) + lag_bound
    outside = np.maximum(first.at_us - moved, 0.0) + np.maximum(moved - last.at_us, 0.0)
    bound = float(min(_bound(other), inside + growth_ppm * 1e-6 * float(outside.max(initial=0.0))))
    clocks = tuple(
        _moved_clock(c, first.lag_us, slope, first.at_us, last.at_us, inside, growth_ppm / 3.0)
        for c in other.info.clocks
    )
    info = dataclasses.replace(other.info, clocks=clocks, clock_uncertainty_us=bound)
    samples = dataclasses.replace(other, info=info, time_us=moved)
    return samples, SensorAlignment(other.info.sensor_id, True, None, used, first.lag_us, slope * 1e6, bound)


def _moved_clock(
    c: ClockModel, lag_us: float, slope: float, at_us: float, last_us: float, bound: float, sigma_ppm: float
) -> ClockModel:
    """``c`` with every UTC moved by ``−(lag + slope·(utc − at))``: the same device times, new UTC."""
    u1, u2 = c.first_utc_us, max(c.last_utc_us, c.first_utc_us + 1e6)
    d1, d2 = float(c.to_device_us(u1)), float(c.to_device_us(u2))
    v1, v2 = (u - lag_us - slope * (u - at_us) for u in (u1, u2))
    k = (d2 - d1) / (v2 - v1)
    drift = (k - 1.0) * 1e6
    offset = d1 - v1 - drift * 1e-6 * (v1 - c.ref_utc_us)
    return dataclasses.replace(
        c,
        offset_us=offset,
        drift_ppm=drift,
        uncertainty_us=bound,
        drift_sigma_ppm=sigma_ppm,
        first_utc_us=float(round(at_us)),
        last_utc_us=float(round(last_us)),
    )
