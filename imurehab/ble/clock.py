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

import json
import math
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from imurehab.errors import ProtocolError
from imurehab.protocols.osp import ClockSample, best_sample, fit_clock

__all__ = [
    "MAX_DRIFT_PPM",
    "MIN_DRIFT_SPAN_US",
    "WINDOW_US",
    "ClockLog",
    "ClockModel",
    "fit_clock_model",
    "host_time_us",
]

WINDOW_US: Final[int] = 500_000
"""Round trips are grouped in windows of this much host time [µs]; the best of each window are fitted."""
MIN_DRIFT_SPAN_US: Final[int] = 1_000_000
"""Least host-time span of the round trips kept for a drift to be fitted [µs]."""
MAX_DRIFT_PPM: Final[float] = 500.0
"""Largest drift assumed of a device crystal when none was measured [ppm]."""


def host_time_us() -> int:
    """The host clock the ingest stamps everything with: UTC, µs since the Unix epoch."""
    return time.time_ns() // 1000


@dataclass(frozen=True)
class ClockModel:
    """One device boot's clock as a line of UTC: ``device_us = utc + offset_us + drift_ppm·1e-6·(utc − ref)``.

    Attributes
    ----------
    boot_id : int
        The boot whose clock this is (the device clock restarts at every boot).
    ref_utc_us : float
        Reference UTC time of the fit [µs since the Unix epoch].
    offset_us : float
        Device clock minus UTC at ``ref_utc_us`` [µs].
    drift_ppm : float
        How much faster the device clock runs than UTC [ppm].
    uncertainty_us : float
        Bound on the error of :meth:`to_utc_us` inside the measured span [µs]: largest residual plus half
        the round-trip delay of the round trips used (the delay's split between the two directions is
        unknown). Outside the span it grows; see :meth:`uncertainty_at`.
    drift_sigma_ppm : float
        Standard error of the fitted drift [ppm] (from the scatter of the round trips about the line);
        :data:`MAX_DRIFT_PPM` when no drift was fitted.
    first_utc_us, last_utc_us : float
        UTC span of the round trips used [µs].
    n_samples : int
        Round trips used.
    n_windows : int
        Time windows they came from (see :func:`fit_clock_model`).
    """

    boot_id: int
    ref_utc_us: float
    offset_us: float
    drift_ppm: float
    uncertainty_us: float
    drift_sigma_ppm: float
    first_utc_us: float
    last_utc_us: float
    n_samples: int
    n_windows: int

    def to_utc_us(self, device_us: npt.ArrayLike) -> Any:
        """UTC of device clock values.

        Parameters
        ----------
        device_us : float or array_like
            Device times [µs since boot ``boot_id``].

        Returns
        -------
        float or ndarray
            UTC [µs since the Unix epoch, float].
        """
        device_at_ref = self.ref_utc_us + self.offset_us
        k = 1.0 + self.drift_ppm * 1e-6
        return self.ref_utc_us + (np.asarray(device_us, dtype=np.float64) - device_at_ref) / k

    def to_device_us(self, utc_us: npt.ArrayLike) -> Any:
        """Device clock values at UTC times (the inverse of :meth:`to_utc_us`).

        Parameters
        ----------
        utc_us : float or array_like
            UTC [µs since the Unix epoch].

        Returns
        -------
        float or ndarray
            Device times [µs since boot].
        """
        u = np.asarray(utc_us, dtype=np.float64)
        return u + self.offset_us + self.drift_ppm * 1e-6 * (u - self.ref_utc_us)

    def uncertainty_at(self, utc_us: npt.ArrayLike) -> Any:
        """Error of :meth:`to_utc_us` at UTC times, extrapolation outside the measured span included.

        ``uncertainty_us`` plus, outside ``[first_utc_us, last_utc_us]``, three standard errors of the drift
        times the distance to the span (without a fitted drift: :data:`MAX_DRIFT_PPM` times it).

        Parameters
        ----------
        utc_us : float or array_like
            UTC [µs since the Unix epoch].

        Returns
        -------
        float or ndarray
            Bound [µs].
        """
        u = np.asarray(utc_us, dtype=np.float64)
        outside = np.maximum(self.first_utc_us - u, 0.0) + np.maximum(u - self.last_utc_us, 0.0)
        drift = min(MAX_DRIFT_PPM, 3.0 * self.drift_sigma_ppm)
        return self.uncertainty_us + drift * 1e-6 * outside

    def to_json(self) -> dict[str, Any]:
        """The model as a JSON-ready dict (the fields above)."""
        return asdict(self)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> ClockModel:
        """Inverse of :meth:`to_json`.

        Parameters
        ----------
        obj : dict
            As written by :meth:`to_json`.
        """
        return cls(**{k: obj[k] for k in cls.__dataclass_fields__})


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
    return ClockModel(
        boot_id=boot_id,
        ref_utc_us=fit.ref_host_us,
        offset_us=fit.offset_us,
        drift_ppm=fit.drift_ppm,
        uncertainty_us=uncertainty,
        drift_sigma_ppm=sigma,
        first_utc_us=float(mids.min()),
        last_utc_us=float(mids.max()),
        n_samples=len(used),
        n_windows=len(windows),
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
