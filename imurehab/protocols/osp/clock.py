"""Clock-sync math for OSP's 4-timestamp round trip (NTP-style offset and delay), and a drift fit.

The host notes ``t1`` and writes CLOCK_SYNC; the device notes ``t2`` when the write arrives and ``t3`` just
before indicating the RESPONSE; the host notes ``t4`` when the indication arrives. With device − host
clock offset θ and symmetric paths, ``θ = ((t2 − t1) + (t3 − t4)) / 2`` and the round-trip delay is
``δ = (t4 − t1) − (t3 − t2)``; whatever the asymmetry, the true offset lies within ``θ ± δ/2``. Repeated
round trips give samples; the least-delay ones are the most exact, and a line through them over time
gives the drift. All times in µs (device: since boot; host: any monotonic or UTC µs clock).

Examples
--------
>>> s = ClockSample(t1_us=1_000, t2_us=501_000, t3_us=501_100, t4_us=1_300)
>>> s.offset_us, s.delay_us
(499900.0, 200)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from imurehab.protocols.osp.constants import fail

__all__ = ["ClockFit", "ClockSample", "best_sample", "fit_clock"]


@dataclass(frozen=True)
class ClockSample:
    """One CLOCK_SYNC round trip.

    Attributes
    ----------
    t1_us : int
        Host time when the command was written [µs, host clock].
    t2_us : int
        Device time when the command arrived [µs since boot].
    t3_us : int
        Device time when the response was sent [µs since boot].
    t4_us : int
        Host time when the response arrived [µs, host clock].
    """

    t1_us: int
    t2_us: int
    t3_us: int
    t4_us: int

    @property
    def offset_us(self) -> float:
        """Device clock minus host clock [µs] (device = host + offset)."""
        return ((self.t2_us - self.t1_us) + (self.t3_us - self.t4_us)) / 2

    @property
    def delay_us(self) -> int:
        """Round-trip delay without the device's turnaround [µs]; the offset is exact to ± delay/2."""
        return (self.t4_us - self.t1_us) - (self.t3_us - self.t2_us)

    @property
    def host_mid_us(self) -> float:
        """Host time the sample refers to: the middle of the round trip [µs, host clock]."""
        return (self.t1_us + self.t4_us) / 2


def best_sample(samples: Sequence[ClockSample]) -> ClockSample:
    """The round trip with the least delay (the tightest offset bound).

    Parameters
    ----------
    samples : sequence of ClockSample
        Round trips; at least one with delay ≥ 0.

    Raises
    ------
    ProtocolError
        ``value`` when no sample is valid (negative delay means mixed-up timestamps).
    """
    valid = [s for s in samples if s.delay_us >= 0 and s.t3_us >= s.t2_us]
    if not valid:
        raise fail("no clock-sync sample with a non-negative delay", "value")
    return min(valid, key=lambda s: s.delay_us)


@dataclass(frozen=True)
class ClockFit:
    """Device clock as a line of host time: ``device = host + offset_us + drift_ppm·1e-6·(host − ref)``.

    Attributes
    ----------
    ref_host_us : float
        Host time of the reference point [µs].
    offset_us : float
        Device minus host at ``ref_host_us`` [µs].
    drift_ppm : float
        How much faster the device clock runs than the host's [ppm].
    uncertainty_us : float
        Conservative error bound: largest |residual| + delay/2 over the samples used [µs].
    n_used : int
        Samples used (the least-delay fraction).
    """

    ref_host_us: float
    offset_us: float
    drift_ppm: float
    uncertainty_us: float
    n_used: int

    def device_to_host_us(self, device_us: np.ndarray | float) -> np.ndarray | float:
        """Host time of a device time [µs] (inverts the line).

        Parameters
        ----------
        device_us : float or ndarray
            Device time [µs since boot].
        """
        k = 1.0 + self.drift_ppm * 1e-6
        return self.ref_host_us + (np.asarray(device_us) - self.ref_host_us - self.offset_us) / k


def fit_clock(samples: Sequence[ClockSample], keep_fraction: float = 0.5) -> ClockFit:
    """Fit offset and drift through the least-delay round trips.

    Parameters
    ----------
    samples : sequence of ClockSample
        Round trips of one device boot (the clock restarts at a reboot: fit each boot apart).
    keep_fraction : float, optional
        Fraction (0–1] of the samples, lowest delays first, to fit; at least 1 (2 for a drift).

    Returns
    -------
    ClockFit
        Drift is 0 when fewer than two samples are kept or they span no host time.
    """
    if not 0 < keep_fraction <= 1:
        raise fail("keep_fraction must be in (0, 1]", "value")
    best = best_sample(samples)
    valid = sorted((s for s in samples if s.delay_us >= 0 and s.t3_us >= s.t2_us), key=lambda s: s.delay_us)
    used = valid[: max(1, round(len(valid) * keep_fraction))]
    host = np.array([s.host_mid_us for s in used])
    off = np.array([s.offset_us for s in used])
    delay = np.array([s.delay_us for s in used], dtype=np.float64)
    weight = 1.0 / (1.0 + delay)  # tighter bounds count more
    ref = float(np.average(host, weights=weight))
    if len(used) >= 2 and np.ptp(host) > 0:
        slope, intercept = np.polyfit(host - ref, off, 1, w=np.sqrt(weight))
    else:
        slope, intercept = 0.0, best.offset_us
    resid = off - (intercept + slope * (host - ref))
    bound = float(np.max(np.abs(resid) + delay / 2))
    return ClockFit(ref, float(intercept), float(slope) * 1e6, bound, len(used))
