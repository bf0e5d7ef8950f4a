"""A device clock mapped to UTC: one boot's fitted offset + drift and its uncertainty.

Sensors stamp samples with their own clock, which restarts at every boot and runs a little fast or slow.
The BLE ingest measures it with round trips and fits one :class:`ClockModel` per sensor and boot
(:func:`imurehab.ble.clock.fit_clock_model`); the models are stored with the session
(``sessions.sensors.clocks``), so how a sample's UTC ``time`` was obtained, and how far it can be off,
stays with the data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

__all__ = ["MAX_DRIFT_PPM", "ClockModel"]

MAX_DRIFT_PPM: Final[float] = 500.0
"""Largest drift assumed of a device crystal when none was measured [ppm]."""


@dataclass(frozen=True)
class ClockModel:
    """One device boot's clock as a line of UTC: ``device_us = utc + offset_us + drift_ppm·1e-6·(utc − ref)``.

    Attributes
    ----------
    boot_id : int
        The boot whose clock this is (the device clock restarts at every boot).
    ref_utc_us : float
        Reference UTC time of the fit [µs since the Unix epoch]; a whole number of µs, so it is stored
        exactly as a ``timestamp[us, UTC]``.
    offset_us : float
        Device clock minus UTC at ``ref_utc_us`` [µs].
    drift_ppm : float
        How much faster the device clock runs than UTC [ppm].
    uncertainty_us : float
        Bound on the error of :meth:`to_utc_us` inside the measured span [µs]: largest residual plus half
        the round-trip delay of the round trips used (the delay's split between the two directions is
        unknown). Outside the span it grows; see :meth:`uncertainty_at`. ``inf`` for a boot that was
        never measured and was placed against another boot.
    drift_sigma_ppm : float
        Standard error of the fitted drift [ppm] (from the scatter of the round trips about the line);
        :data:`MAX_DRIFT_PPM` when no drift was fitted.
    first_utc_us, last_utc_us : float
        UTC span of the round trips used [µs since the Unix epoch, whole µs].
    n_samples : int
        Round trips used.
    n_windows : int
        Time windows they came from (see :func:`imurehab.ble.clock.fit_clock_model`).

    Examples
    --------
    >>> m = ClockModel(0, 1_000_000.0, 5_000.0, 100.0, 80.0, 1.0, 0.0, 2_000_000.0, 12, 4)
    >>> float(m.to_utc_us(m.to_device_us(1_500_000.0)))
    1500000.0
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
