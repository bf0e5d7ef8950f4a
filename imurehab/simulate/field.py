"""Gravity and magnetic field models in the earth frame (ENU: x east, y north, z up)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from imurehab.types import STANDARD_GRAVITY

__all__ = ["GRAVITY", "EarthField", "MagneticDipole", "field_at"]

FloatArray = npt.NDArray[np.float64]

GRAVITY: FloatArray = np.array([0.0, 0.0, -STANDARD_GRAVITY])
"""Gravity vector in the earth frame [m/s²]; a resting accelerometer reads ``-GRAVITY`` (up)."""
GRAVITY.flags.writeable = False

_MU0_OVER_4PI_UT = 0.1  # µ0/4π = 1e-7 T·m/A = 0.1 µT·m³/(A·m²)


@dataclass(frozen=True)
class EarthField:
    """The undisturbed geomagnetic field.

    The default is representative of central Europe (≈ 50° N): the World Magnetic Model WMM2020
    (Chulliat et al. 2020, NOAA NCEI / BGS, doi:10.25923/ytk1-yx35) gives a total intensity of about
    48–50 µT and an inclination (dip, positive downward) of about 64–68° there. Declination is 0 by
    default so that magnetic north is the earth frame's y axis; set it to test heading offsets.

    Parameters
    ----------
    total_ut : float
        Total intensity F [µT].
    inclination_deg : float
        Dip below the horizontal [deg], positive downward (northern hemisphere).
    declination_deg : float
        Angle of the horizontal component east of true north [deg].
    """

    total_ut: float = 49.0
    inclination_deg: float = 66.0
    declination_deg: float = 0.0

    def vector(self) -> FloatArray:
        """Field vector in ENU [µT]: north and east horizontal components, negative (downward) up."""
        inc, dec = np.deg2rad(self.inclination_deg), np.deg2rad(self.declination_deg)
        h = self.total_ut * np.cos(inc)
        return np.array([h * np.sin(dec), h * np.cos(dec), -self.total_ut * np.sin(inc)])


@dataclass(frozen=True)
class MagneticDipole:
    """A local magnetic disturbance: a point dipole (a kettlebell, a rower's flywheel, rebar).

    ``B(r) = µ0/4π · (3 r̂ (m·r̂) − m) / |r|³``. Active only within ``[start_s, end_s)`` if given (an
    object carried past, a machine switched on).

    Parameters
    ----------
    position_m : tuple of float
        Dipole position in the earth frame [m]. The subject starts standing above the earth origin.
    moment_am2 : tuple of float
        Dipole moment [A·m²] in the earth frame (≈ 1 A·m² gives ≈ 7 µT at 30 cm on its axis).
    start_s, end_s : float, optional
        Active window [s since session start]; None: always.
    """

    position_m: tuple[float, float, float]
    moment_am2: tuple[float, float, float]
    start_s: float | None = None
    end_s: float | None = None

    def field(self, points: FloatArray, t: FloatArray) -> FloatArray:
        """Flux density [µT] at ``points`` (M, 3) [m] and times ``t`` (M,) [s]."""
        r = np.asarray(points, dtype=np.float64) - np.asarray(self.position_m)
        dist = np.maximum(np.linalg.norm(r, axis=-1, keepdims=True), 0.02)  # clip inside 2 cm
        rhat = r / dist
        m = np.asarray(self.moment_am2, dtype=np.float64)
        b = _MU0_OVER_4PI_UT * (3.0 * rhat * (rhat @ m)[:, None] - m) / dist**3
        active = np.ones(t.shape, dtype=bool)
        if self.start_s is not None:
            active &= t >= self.start_s
        if self.end_s is not None:
            active &= t < self.end_s
        return b * active[:, None]


def field_at(
    earth: EarthField, disturbances: tuple[MagneticDipole, ...], points: FloatArray, t: FloatArray
) -> FloatArray:
    """Total magnetic flux density in the earth frame [µT], shape (M, 3).

    Parameters
    ----------
    earth : EarthField
        The undisturbed field.
    disturbances : tuple of MagneticDipole
        Local disturbances, added to the earth field.
    points : ndarray, shape (M, 3)
        Positions in the earth frame [m].
    t : ndarray, shape (M,)
        Times [s since session start].
    """
    out = np.broadcast_to(earth.vector(), (points.shape[0], 3)).copy()
    for d in disturbances:
        out += d.field(points, t)
    return out
