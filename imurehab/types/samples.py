"""One sensor's description and samples, validated on construction (SI units, UTC microseconds)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from imurehab.errors import DataValidationError, NonFiniteError, ShapeError, TimeOrderError, UnitsError
from imurehab.types._basics import ACC_UNITS, GYR_UNITS, MAG_UNITS, check_identifier
from imurehab.types.clock import ClockModel

__all__ = ["SensorInfo", "SensorSamples"]

# Magnitude checks that catch data given in g or deg/s but declared SI. A body-worn accelerometer's median
# |specific force| over a recording is close to 9.81 m/s²; below 3 it was almost surely in g. No consumer
# IMU gyro measures beyond ±4000 deg/s (69.8 rad/s); larger values were almost surely in deg/s.
_MIN_MEDIAN_ACC_NORM_MPS2: Final[float] = 3.0
_MAX_ABS_GYR_RADS: Final[float] = 70.0


@dataclass(frozen=True)
class SensorInfo:
    """What is known about one sensor and how it was set up.

    Parameters
    ----------
    sensor_id : str
        Unique id of the sensor within a recording (a serial number, or a label like ``"S1"``).
    family : str
        Sensor family / protocol (``"osp"``, ``"polar-pmd"``, ``"movesense-gsp"``, ``"movella-dot"``,
        ``"witmotion"``, ``"sim"`` for the simulator, ``"generic"`` for imported files).
    rate_hz : float
        Nominal output data rate [Hz].
    model : str, optional
        Device model.
    firmware : str, optional
        Firmware version string.
    acc_range_mps2 : float, optional
        Accelerometer full-scale range [m/s²] (e.g. 16 g = 156.9).
    gyr_range_rads : float, optional
        Gyroscope full-scale range [rad/s] (e.g. 2000 deg/s = 34.9).
    mag_range_ut : float, optional
        Magnetometer full-scale range [µT].
    device_clock_hz : float, optional
        Tick rate of the raw ``device_time`` values [Hz] (1e6 for a µs clock).
    serial : str, optional
        The device's serial number as it reported it (``sensor_id`` may be it made a safe identifier).
    clocks : tuple of ClockModel
        How the device clock was mapped to UTC: one fitted model per device boot (empty when the times
        did not come from a fitted device clock, e.g. imported or simulated data).
    clock_uncertainty_us : float, optional
        Largest bound on the UTC error of one of the sample times [µs] (``inf`` when a boot could only
        be placed against another one).
    log_verified : bool, optional
        True when every device log behind the samples was downloaded whole and its length and CRC
        checked; False when one was not; None when the samples did not come from a device log.
    """

    sensor_id: str
    family: str
    rate_hz: float
    model: str | None = None
    firmware: str | None = None
    acc_range_mps2: float | None = None
    gyr_range_rads: float | None = None
    mag_range_ut: float | None = None
    device_clock_hz: float | None = None
    serial: str | None = None
    clocks: tuple[ClockModel, ...] = ()
    clock_uncertainty_us: float | None = None
    log_verified: bool | None = None

    def __post_init__(self) -> None:
        check_identifier(self.sensor_id, "sensor")
        clocks = tuple(self.clocks)
        if not all(isinstance(c, ClockModel) for c in clocks):
            raise DataValidationError(
                "clocks must be ClockModel instances", sensor_id=self.sensor_id, column="clocks"
            )
        object.__setattr__(self, "clocks", clocks)
        if self.serial is not None and not (isinstance(self.serial, str) and self.serial):
            raise DataValidationError(
                f"serial must be a non-empty string, got {self.serial!r}",
                sensor_id=self.sensor_id,
                column="serial",
            )
        u = self.clock_uncertainty_us
        if u is not None and not (u >= 0):  # inf allowed: a boot placed against another
            raise DataValidationError(
                f"clock_uncertainty_us must be >= 0, got {u!r}",
                sensor_id=self.sensor_id,
                column="clock_uncertainty_us",
            )
        if not (np.isfinite(self.rate_hz) and self.rate_hz > 0):
            raise DataValidationError(
                f"rate_hz must be a positive finite number, got {self.rate_hz!r}",
                sensor_id=self.sensor_id,
                column="rate_hz",
            )
        for name in ("acc_range_mps2", "gyr_range_rads", "mag_range_ut", "device_clock_hz"):
            v = getattr(self, name)
            if v is not None and not (np.isfinite(v) and v > 0):
                raise DataValidationError(
                    f"{name} must be positive and finite, got {v!r}", sensor_id=self.sensor_id, column=name
                )


def _as_int64(a: npt.ArrayLike, name: str, n: int | None, sid: str) -> npt.NDArray[np.int64]:
    arr = np.asarray(a)
    if arr.ndim != 1:
        raise ShapeError(f"must be one-dimensional, got shape {arr.shape}", sensor_id=sid, column=name)
    if n is not None and arr.shape[0] != n:
        raise ShapeError(f"has {arr.shape[0]} values, expected {n}", sensor_id=sid, column=name)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            bad = int(np.flatnonzero(~np.isfinite(arr))[0])
            raise NonFiniteError("must be finite", sensor_id=sid, column=name, index=bad)
        if np.any(arr != np.round(arr)):
            bad = int(np.flatnonzero(arr != np.round(arr))[0])
            raise DataValidationError("must hold whole numbers", sensor_id=sid, column=name, index=bad)
    elif arr.dtype.kind not in "iu" and arr.size:
        raise DataValidationError(f"must be integers, got dtype {arr.dtype}", sensor_id=sid, column=name)
    return np.ascontiguousarray(arr, dtype=np.int64)


def _as_vec3(a: npt.ArrayLike, name: str, n: int, sid: str) -> npt.NDArray[np.float64]:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 3 or arr.shape[0] != n:
        raise ShapeError(f"must have shape ({n}, 3), got {arr.shape}", sensor_id=sid, column=name)
    finite = np.isfinite(arr).all(axis=1)
    if not finite.all():
        raise NonFiniteError(
            "holds NaN or inf", sensor_id=sid, column=name, index=int(np.flatnonzero(~finite)[0])
        )
    return np.ascontiguousarray(arr)


def _strictly_increasing(a: npt.NDArray[np.int64], name: str, sid: str) -> None:
    if a.size > 1:
        bad = np.flatnonzero(np.diff(a) <= 0)
        if bad.size:
            i = int(bad[0]) + 1
            raise TimeOrderError(
                f"must be strictly increasing: value {int(a[i])} follows {int(a[i - 1])}",
                sensor_id=sid,
                column=name,
                index=i,
            )


@dataclass(frozen=True, eq=False)
class SensorSamples:
    """The samples of one sensor, in SI units, on the common UTC timeline.

    Parameters
    ----------
    info : SensorInfo
        The sensor and its settings.
    time_us : array_like of int, shape (N,)
        Sample times, microseconds since the Unix epoch (UTC); strictly increasing.
    acc : array_like of float, shape (N, 3)
        Specific force in the sensor frame [m/s²], gravity included (at rest: +9.81 along up).
    gyr : array_like of float, shape (N, 3)
        Angular rate in the sensor frame [rad/s].
    mag : array_like of float, shape (N, 3), optional
        Magnetic flux density in the sensor frame [µT]; None where the sensor has no magnetometer.
    sample_index : array_like of int, shape (N,), optional
        The device's sample counter; strictly increasing, gaps are lost samples. Default ``0..N-1``.
    device_time : array_like of int, shape (N,), optional
        Raw device clock value per sample, in ticks of ``info.device_clock_hz``; None if the device has
        no clock (the time then comes from the host and ``flags`` carries ``HOST_TIME``).
    flags : array_like of int, shape (N,), optional
        :class:`SampleFlags` per sample (uint16). Default all zero.
    units : str, optional
        Must be ``"si"``. Data in other units goes through :meth:`from_units`.

    Raises
    ------
    ShapeError, NonFiniteError, TimeOrderError, UnitsError, IdentifierError
        On data that breaks the rules above. Magnitudes are also checked: a median |acc| below 3 m/s² or
        any |gyr| above 70 rad/s means the data was given in g or deg/s, and raises :class:`UnitsError`.
    """

    info: SensorInfo
    time_us: npt.NDArray[np.int64]
    acc: npt.NDArray[np.float64]
    gyr: npt.NDArray[np.float64]
    mag: npt.NDArray[np.float64] | None = None
    sample_index: npt.NDArray[np.int64] = field(default=None)  # type: ignore[assignment]
    device_time: npt.NDArray[np.int64] | None = None
    flags: npt.NDArray[np.uint16] = field(default=None)  # type: ignore[assignment]
    units: str = "si"

    def __post_init__(self) -> None:
        sid = self.info.sensor_id
        if self.units != "si":
            raise UnitsError(
                f"units must be 'si' (m/s^2, rad/s, uT), got {self.units!r}; "
                "use SensorSamples.from_units to convert",
                sensor_id=sid,
                column="units",
            )
        t = _as_int64(self.time_us, "time_us", None, sid)
        n = t.shape[0]
        _strictly_increasing(t, "time_us", sid)
        acc = _as_vec3(self.acc, "acc", n, sid)
        gyr = _as_vec3(self.gyr, "gyr", n, sid)
        mag = None if self.mag is None else _as_vec3(self.mag, "mag", n, sid)
        idx = np.arange(n, dtype=np.int64) if self.sample_index is None else self.sample_index
        idx = _as_int64(idx, "sample_index", n, sid)
        _strictly_increasing(idx, "sample_index", sid)
        dev = None if self.device_time is None else _as_int64(self.device_time, "device_time", n, sid)
        flags = np.zeros(n, np.uint16) if self.flags is None else np.asarray(self.flags)
        if flags.shape != (n,):
            raise ShapeError(f"must have shape ({n},), got {flags.shape}", sensor_id=sid, column="flags")
        if flags.size and (flags.dtype.kind not in "iu" or flags.min() < 0 or flags.max() > 0xFFFF):
            raise DataValidationError("must be integers in 0..65535", sensor_id=sid, column="flags")
        if n:
            med = float(np.median(np.linalg.norm(acc, axis=1)))
            if med < _MIN_MEDIAN_ACC_NORM_MPS2:
                raise UnitsError(
                    f"median |acc| is {med:.3g}, far below gravity (9.81 m/s^2): was it given in g? "
                    "Use SensorSamples.from_units(..., acc_unit='g')",
                    sensor_id=sid,
                    column="acc",
                )
            big = np.abs(gyr).max(axis=1) > _MAX_ABS_GYR_RADS
            if big.any():
                raise UnitsError(
                    f"|gyr| exceeds {_MAX_ABS_GYR_RADS} rad/s (4000 deg/s): was it given in deg/s? "
                    "Use SensorSamples.from_units(..., gyr_unit='deg/s')",
                    sensor_id=sid,
                    column="gyr",
                    index=int(np.flatnonzero(big)[0]),
                )
        for name, value in (
            ("time_us", t),
            ("acc", acc),
            ("gyr", gyr),
            ("mag", mag),
            ("sample_index", idx),
            ("device_time", dev),
            ("flags", flags.astype(np.uint16)),
        ):
            if value is not None:
                value.flags.writeable = False
            object.__setattr__(self, name, value)

    @classmethod
    def from_units(
        cls,
        info: SensorInfo,
        time_us: npt.ArrayLike,
        acc: npt.ArrayLike,
        gyr: npt.ArrayLike,
        mag: npt.ArrayLike | None = None,
        *,
        acc_unit: str = "m/s^2",
        gyr_unit: str = "rad/s",
        mag_unit: str = "uT",
        **kwargs: npt.ArrayLike | None,
    ) -> SensorSamples:
        """Build samples from data in other units, converting to SI.

        Parameters
        ----------
        info, time_us, acc, gyr, mag
            As for the class; ``acc``, ``gyr``, ``mag`` in the units named below.
        acc_unit : {"m/s^2", "g", "mg"}
            Unit of ``acc`` (1 g = 9.80665 m/s²).
        gyr_unit : {"rad/s", "deg/s"}
            Unit of ``gyr``.
        mag_unit : {"uT", "nT", "gauss", "mgauss"}
            Unit of ``mag``.
        **kwargs
            ``sample_index``, ``device_time``, ``flags`` as for the class.
        """
        scales = []
        wanted = ((acc_unit, ACC_UNITS, "acc"), (gyr_unit, GYR_UNITS, "gyr"), (mag_unit, MAG_UNITS, "mag"))
        for unit, table, col in wanted:
            if unit not in table:
                raise UnitsError(
                    f"unknown unit {unit!r}; expected one of {sorted(table)}",
                    sensor_id=info.sensor_id,
                    column=col,
                )
            scales.append(table[unit])
        return cls(
            info=info,
            time_us=np.asarray(time_us),
            acc=np.asarray(acc, dtype=np.float64) * scales[0],
            gyr=np.asarray(gyr, dtype=np.float64) * scales[1],
            mag=None if mag is None else np.asarray(mag, dtype=np.float64) * scales[2],
            **kwargs,  # type: ignore[arg-type]
        )

    def __len__(self) -> int:
        return int(self.time_us.shape[0])

    @property
    def sensor_id(self) -> str:
        """The sensor's id."""
        return self.info.sensor_id

    @property
    def duration_s(self) -> float:
        """Time from the first to the last sample [s] (0 for fewer than two samples)."""
        return float(self.time_us[-1] - self.time_us[0]) / 1e6 if len(self) > 1 else 0.0

    def time_s(self, origin_us: int | None = None) -> npt.NDArray[np.float64]:
        """Sample times in seconds since ``origin_us`` (default: the first sample)."""
        if origin_us is None:
            origin_us = int(self.time_us[0]) if len(self) else 0
        return (self.time_us - origin_us).astype(np.float64) / 1e6

    def lost_samples(self) -> int:
        """How many samples the device counter says were lost (sum of gaps in ``sample_index``)."""
        if len(self) < 2:
            return 0
        return int((self.sample_index[-1] - self.sample_index[0] + 1) - len(self))

    def equals(self, other: SensorSamples) -> bool:
        """True if ``other`` has the same info and bit-identical arrays."""
        if self.info != other.info:
            return False
        for name in ("time_us", "acc", "gyr", "mag", "sample_index", "device_time", "flags"):
            a, b = getattr(self, name), getattr(other, name)
            if (a is None) != (b is None):
                return False
            if a is not None and not np.array_equal(a, b):
                return False
        return True
