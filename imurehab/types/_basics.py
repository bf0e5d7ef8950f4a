"""Units, identifiers, time conversion and segment names shared by the core containers."""

from __future__ import annotations

import enum
import re
from datetime import UTC, datetime, timedelta
from typing import Final

import numpy as np

from imurehab.errors import DataValidationError, IdentifierError

__all__ = [
    "ACC_UNITS",
    "GYR_UNITS",
    "MAG_UNITS",
    "SEGMENTS",
    "STANDARD_GRAVITY",
    "SampleFlags",
    "check_identifier",
    "datetime_to_us",
    "us_to_datetime",
]

STANDARD_GRAVITY: Final[float] = 9.80665
"""Standard acceleration of gravity [m/s²] (CGPM 1901), used to convert g to m/s²."""

ACC_UNITS: Final[dict[str, float]] = {"m/s^2": 1.0, "g": STANDARD_GRAVITY, "mg": STANDARD_GRAVITY / 1000}
GYR_UNITS: Final[dict[str, float]] = {"rad/s": 1.0, "deg/s": np.pi / 180.0}
MAG_UNITS: Final[dict[str, float]] = {"uT": 1.0, "nT": 1e-3, "gauss": 100.0, "mgauss": 0.1}


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_ID_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

_PAIRED = ("thigh", "shank", "foot", "upper_arm", "forearm", "hand")
SEGMENTS: Final[frozenset[str]] = frozenset(
    ["pelvis", "trunk", "head"] + [f"{s}_{side}" for s in _PAIRED for side in ("left", "right")]
)
"""Body segment names a sensor can be placed on (``thigh_right``, ``pelvis``, ...)."""


class SampleFlags(enum.IntFlag):
    """Per-sample bit flags stored in the ``flags`` column (uint16)."""

    NONE = 0
    ACC_SATURATED = 1
    """At least one accelerometer axis is at its full-scale range."""
    GYR_SATURATED = 2
    """At least one gyroscope axis is at its full-scale range."""
    MAG_SATURATED = 4
    """At least one magnetometer axis is at its full-scale range."""
    HOST_TIME = 8
    """The time comes from the host's receive clock, not from the device (e.g. WitMotion)."""
    INTERPOLATED = 16
    """The sample was filled in, not measured."""


def check_identifier(value: str, what: str) -> str:
    """Return ``value`` if it is a safe identifier, else raise :class:`IdentifierError`.

    Identifiers become folder names (``subject=<id>``), so they are 1–64 characters of letters, digits,
    ``.``, ``_`` and ``-``, starting with a letter or digit.

    Parameters
    ----------
    value : str
        The identifier.
    what : str
        What it identifies (``"subject"``, ``"session"``, ``"sensor"``), for the message.
    """
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise IdentifierError(
            f"{what} id {value!r} is not allowed: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit",
            column=what,
        )
    return value


def datetime_to_us(when: datetime) -> int:
    """Microseconds since the Unix epoch of a timezone-aware datetime.

    Parameters
    ----------
    when : datetime
        A timezone-aware time.

    Returns
    -------
    int
        Microseconds since 1970-01-01T00:00:00Z.

    Raises
    ------
    DataValidationError
        If ``when`` has no timezone: a naive time is ambiguous.
    """
    if when.tzinfo is None:
        raise DataValidationError("datetime has no timezone; pass an aware datetime (e.g. UTC)")
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def us_to_datetime(us: int) -> datetime:
    """The UTC datetime of a count of microseconds since the Unix epoch.

    Parameters
    ----------
    us : int
        Microseconds since 1970-01-01T00:00:00Z.
    """
    return _EPOCH + timedelta(microseconds=int(us))
