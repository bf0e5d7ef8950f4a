"""Device clocks → UTC: round-trip samples, an offset + drift fit per sensor and boot, its uncertainty.

OSP devices stamp samples with a µs clock that starts at boot and is never set (spec §9). The host
measures it with CLOCK_SYNC round trips (host send ``t1``, device ``t2``/``t3``, host receive ``t4``, all
µs; host times are UTC from :func:`host_time_us`): a burst at every connect, and spread over the whole
download or stream. :func:`fit_clock_model` keeps the least-delay round trips of each half-second window
and fits ``device = host + offset + drift·(host − ref)`` through all of one boot, so round trips minutes
(or days) apart pin the drift. :class:`ClockLog` persists every round trip next to the journal, so a
later sync still fits the clock of a boot measured while a stream was running, and a restarted sync
keeps the round trips of the killed one.

Examples
--------
>>> from imurehab.protocols.osp import ClockSample
>>> true_offset, ppm = 5_000_000.0, 120.0  # device − host at host 0 [µs]; device runs fast
>>> def device(host):
...     return host + true_offset + ppm * 1e-6 * host
>>> rts = [ClockSample(h, round(device(h + 400)), round(device(h + 450)), h + 900)
...        for h in (0, 30_000_000, 60_000_000)]
>>> model = fit_clock_model(rts, boot_id=7)
>>> round(model.drift_ppm), model.boot_id
(120, 7)
>>> bool(abs(model.to_utc_us(device(30_000_000)) - 30_000_000) < model.uncertainty_us)
True
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from imurehab.errors import ProtocolError
from imurehab.protocols.osp import ClockSample, best_sample, fit_clock
from imurehab.types.clock import MAX_DRIFT_PPM, ClockModel

__all__ = [
    "MAX_DRIFT_PPM",
    "MIN_ARRIVAL_WINDOWS",
    "MIN_DRIFT_SPAN_US",
    "READS",
    "WINDOW_US",
    "ClockLog",
    "ClockModel",
    "fit_arrival_clock",
    "fit_clock_model",
    "host_time_us",
    "read_round_trips",
    "with_read_latency",
]

WINDOW_US: Final[int] = 500_000
"""Round trips are grouped in windows of this much host time [µs]; the best of each window are fitted."""
MIN_DRIFT_SPAN_US: Final[int] = 1_000_000
"""Least host-time span of the round trips kept for a drift to be fitted [µs]."""
MIN_ARRIVAL_WINDOWS: Final[int] = 10
"""Least number of :data:`WINDOW_US` windows of one-way arrivals for a drift to be fitted to them.

One-way latencies scatter by up to a connection interval (milliseconds), so the least-latency arrivals of
a few windows (a 2 s clock probe: 4) pin no drift better than :data:`MAX_DRIFT_PPM`, and the scatter of so
few about a line says nothing of the slope's error: a DOT's 2 s probe so fitted, extrapolated 20 s back
to its recording, was measured 120 ms off with a bound of 18 ms. Fewer windows give the offset alone and
the 500 ppm bound."""
READS: Final[int] = 8
"""GATT reads timed after a one-way clock probe (:func:`read_round_trips`)."""


def host_time_us() -> int:
    """The host clock the ingest stamps everything with: UTC, µs since the Unix epoch."""
    return time.time_ns() // 1000


def _windows(samples: Sequence[ClockSample]) -> list[list[ClockSample]]:
    """Round trips grouped by :data:`WINDOW_US` of host time, in time order."""
    t0 = min(s.t1_us for s in samples)
    groups: dict[int, list[ClockSample]] = {}
    for s in samples:
        groups.setdefault((s.t1_us - t0) // WINDOW_US, []).append(s)
    return [groups[k] for k in sorted(groups)]


def fit_clock_model(
    samples: Iterable[ClockSample], *, boot_id: int, keep_per_window: float = 0.25
) -> ClockModel:
    """Fit one boot's clock through its round trips: the least-delay ones of each time window.

    Keeping the best of every window (rather than the best overall) keeps the fit spread over the whole
    measured span, which is what pins the drift. A drift is fitted only when the round trips kept span at
    least :data:`MIN_DRIFT_SPAN_US`; otherwise it is 0 and the offset is the least-delay round trip's.

    Parameters
    ----------
    samples : iterable of ClockSample
        Round trips of one boot (host times UTC µs, device times µs since boot).
    boot_id : int
        That boot.
    keep_per_window : float
        Fraction (0–1] of each window's round trips kept, lowest delay first (at least one per window).

    Returns
    -------
    ClockModel

    Raises
    ------
    ProtocolError
        ``value`` when no round trip is valid (negative delay: mixed-up timestamps).
    """
    valid = [s for s in samples if s.delay_us >= 0 and s.t3_us >= s.t2_us]
    if not valid:
        raise ProtocolError(
            "no clock-sync round trip with a non-negative delay", family="osp", reason="value"
        )
    windows = _windows(valid)
    used: list[ClockSample] = []
    for window in windows:
        window.sort(key=lambda s: s.delay_us)
        used += window[: max(1, math.ceil(len(window) * keep_per_window))]
    mids = np.array([s.host_mid_us for s in used])
    if np.ptp(mids) >= MIN_DRIFT_SPAN_US and len(used) >= 3:
        fit = fit_clock(used, keep_fraction=1.0)
        uncertainty = fit.uncertainty_us
        resid = (
            np.array([s.offset_us for s in used])
            - fit.offset_us
            - fit.drift_ppm * 1e-6 * (mids - fit.ref_host_us)
        )
        sigma = float(np.sqrt(np.sum(resid**2) / (len(used) - 2) / np.sum((mids - mids.mean()) ** 2))) * 1e6
    else:
        fit = fit_clock([best_sample(used)])
        uncertainty = max(abs(s.offset_us - fit.offset_us) + s.delay_us / 2 for s in used)
        sigma = MAX_DRIFT_PPM
    # The same line about a whole-µs reference, so the model is stored exactly as a µs timestamp.
    ref = float(round(fit.ref_host_us))
    return ClockModel(
        boot_id=boot_id,
        ref_utc_us=ref,
        offset_us=fit.offset_us + fit.drift_ppm * 1e-6 * (ref - fit.ref_host_us),
        drift_ppm=fit.drift_ppm,
        uncertainty_us=uncertainty,
        drift_sigma_ppm=sigma,
        first_utc_us=float(math.floor(mids.min())),
        last_utc_us=float(math.ceil(mids.max())),
        n_samples=len(used),
        n_windows=len(windows),
    )


def fit_arrival_clock(host_us: npt.ArrayLike, device_us: npt.ArrayLike, *, boot_id: int = 0) -> ClockModel:
    """Fit a clock from one-way observations: when a value stamped by the device arrived at the host.

    For a family without a clock round trip (Polar PMD): each data frame is stamped with its last
    sample's device time ``d`` and arrives at host time ``h`` (UTC) some latency later, so
    ``d − h`` is at most the true offset (device − UTC). The least-latency frame of each
    :data:`WINDOW_US` window of host time is kept (the largest ``d − h``). With at least
    :data:`MIN_ARRIVAL_WINDOWS` of them spanning at least :data:`MIN_DRIFT_SPAN_US`, a line ``offset +
    drift`` is fitted through those and kept when its drift is known to better than :data:`MAX_DRIFT_PPM`
    (3σ); it is then moved up onto the upper envelope (no frame above it: the offset is the least
    latency's, not the mean latency's). Otherwise the offset alone: the largest ``d − h`` of all, the
    drift bounded by :data:`MAX_DRIFT_PPM`.

    Parameters
    ----------
    host_us : array_like of int
        Arrival times [µs since the Unix epoch, UTC].
    device_us : array_like of int
        The device time each arrival carries [µs; any device epoch].
    boot_id : int
        The device clock's epoch (see :class:`~imurehab.ble.family.DeviceIdentity`).

    Returns
    -------
    ClockModel
        ``uncertainty_us`` is the largest distance of a kept frame from the line: the scatter of the
        least latencies. The smallest latency itself (a constant lag, at most one connection interval
        on a real link) is not observable one-way and is not in it.

    Raises
    ------
    ProtocolError
        ``value`` when there is no observation.

    Examples
    --------
    >>> host = np.arange(0, 10_000_000, 100_000) + 1_700_000_000_000_000
    >>> lag = 500 + (np.arange(100) % 5) * 300  # µs; the least lag, 500 µs, in every window
    >>> device = host - lag - 1_000_000_000  # device clock 1000 s behind UTC
    >>> m = fit_arrival_clock(host, device)
    >>> round(float(m.to_utc_us(device[0]) - (host[0] - lag[0])))  # late by the least lag [µs]
    500
    """
    h = np.asarray(host_us, dtype=np.int64)
    d = np.asarray(device_us, dtype=np.int64)
    if h.size == 0:
        raise ProtocolError("no frame arrivals to fit a clock to", family="polar-pmd", reason="value")
    window = (h - h.min()) // WINDOW_US
    lead = (d - h).astype(np.float64)
    order = np.lexsort((-lead, window))
    first = np.ones(len(order), dtype=bool)
    first[1:] = window[order][1:] != window[order][:-1]
    kept = order[first]
    mids, offsets = h[kept].astype(np.float64), lead[kept]
    ref = float(round(float(np.mean(mids))))
    line = None
    if np.ptp(mids) >= MIN_DRIFT_SPAN_US and len(kept) >= MIN_ARRIVAL_WINDOWS:
        slope, offset = np.polyfit(mids - ref, offsets, 1)
        resid = offsets - offset - slope * (mids - ref)
        sigma = float(np.sqrt(np.sum(resid**2) / (len(kept) - 2) / np.sum((mids - mids.mean()) ** 2))) * 1e6
        if 3.0 * sigma < MAX_DRIFT_PPM:
            line = float(slope) * 1e6, float(offset + resid.max()), resid - resid.max(), sigma
    if line is None:
        line = 0.0, float(offsets.max()), offsets - offsets.max(), MAX_DRIFT_PPM
    drift_ppm, offset, resid, sigma = line  # a fitted line is moved up onto the least-latency frame
    return ClockModel(
        boot_id=boot_id,
        ref_utc_us=ref,
        offset_us=float(offset),
        drift_ppm=drift_ppm,
        uncertainty_us=float(np.max(np.abs(resid))),
        drift_sigma_ppm=sigma,
        first_utc_us=float(h.min()),
        last_utc_us=float(h.max()),
        n_samples=len(kept),
        n_windows=len(kept),
    )


async def read_round_trips(read: Callable[[], Awaitable[object]], n: int = READS) -> list[int]:
    """Time ``n`` GATT reads one after the other: request out, response back (an NTP-style exchange).

    Parameters
    ----------
    read : callable
        Reads any readable characteristic of the sensor (awaitable; the value is ignored).
    n : int
        Reads to time.

    Returns
    -------
    list of int
        Each read's round trip [µs of host time].
    """
    round_trips = []
    for _ in range(n):
        sent = host_time_us()
        await read()
        round_trips.append(host_time_us() - sent)
    return round_trips


def with_read_latency(clock: ClockModel, round_trips_us: Sequence[int]) -> ClockModel:
    """A one-way arrival fit corrected by half the least read round trip (none: returned as is).

    :func:`fit_arrival_clock` leaves the least notification latency in the offset (one-way, it is not
    observable). Half the least round trip of a read on the same link is taken as that latency, the
    split between the two directions being unknown: the offset moves by it and the uncertainty grows by
    it. What a read does not see (a sensor's own delay between measuring and notifying) stays in.

    Parameters
    ----------
    clock : ClockModel
        The arrival fit.
    round_trips_us : sequence of int
        Read round trips on the link [µs] (:func:`read_round_trips`).

    Returns
    -------
    ClockModel

    Examples
    --------
    >>> m = fit_arrival_clock([1_000_000, 1_100_000], [5_000, 105_000])
    >>> c = with_read_latency(m, [900, 600, 700])
    >>> c.offset_us - m.offset_us, c.uncertainty_us - m.uncertainty_us
    (300.0, 300.0)
    """
    half = min(round_trips_us, default=0) / 2
    return dataclasses.replace(
        clock, offset_us=clock.offset_us + half, uncertainty_us=clock.uncertainty_us + half
    )


class ClockLog:
    """Append-only file of a device's CLOCK_SYNC round trips (JSON lines), across boots and runs.

    Parameters
    ----------
    path : Path
        The file (created on first append).
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, boot_id: int, samples: Iterable[ClockSample]) -> None:
        """Add round trips of one boot and flush them to disk.

        Parameters
        ----------
        boot_id : int
            The boot the device reported in its CLOCK_SYNC responses.
        samples : iterable of ClockSample
            The round trips.
        """
        lines = "".join(
            json.dumps({"boot_id": boot_id, "t": [s.t1_us, s.t2_us, s.t3_us, s.t4_us]}) + "\n"
            for s in samples
        )
        if not lines:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            data = lines.encode()
            while data:
                data = data[os.write(fd, data) :]
            os.fsync(fd)
        finally:
            os.close(fd)

    def samples(self) -> dict[int, list[ClockSample]]:
        """Every round trip recorded, by boot id (a torn last line of a killed writer is skipped)."""
        out: dict[int, list[ClockSample]] = {}
        if not self.path.exists():
            return out
        for line in self.path.read_text().splitlines():
            try:
                obj = json.loads(line)
                sample = ClockSample(*(int(v) for v in obj["t"]))
                boot = int(obj["boot_id"])
            except (ValueError, KeyError, TypeError):
                continue
            out.setdefault(boot, []).append(sample)
        return out

    def models(self) -> dict[int, ClockModel]:
        """The fitted clock of every boot with at least one valid round trip."""
        models = {}
        for boot, samples in self.samples().items():
            try:
                models[boot] = fit_clock_model(samples, boot_id=boot)
            except ProtocolError:
                continue
        return models
