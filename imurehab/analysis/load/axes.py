"""Body directions of the sensor axes, the standard gravity used to convert to g, the definitions' version.

Every load metric takes specific force in m/s² in the sensor frame (as in the ``samples`` table: gravity
included, ≈ +9.81 m/s² on the up axis at rest) and converts it to g with :data:`STANDARD_GRAVITY`.
The metrics that care which axis points where (PlayerLoad 2D and per axis, acceleration events) read it
from an :class:`AxisMap`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from imurehab.errors import DataValidationError

__all__ = ["ISB_AXES", "LOAD_METRICS_VERSION", "STANDARD_GRAVITY", "AxisMap"]

STANDARD_GRAVITY: Final[float] = 9.80665
"""Standard gravity g_n [m/s²] (CGPM 1901): the factor between m/s² and g in every load metric."""

LOAD_METRICS_VERSION: Final[str] = "1"
"""Version of the definitions of every metric in :mod:`imurehab.analysis.load` (docs/load-metrics.md).

Grows when any definition, default threshold or resampling method changes, so stored ``load`` rows
computed with another version can be recomputed (``load_version`` column)."""

SignedAxis = Literal["+x", "-x", "+y", "-y", "+z", "-z"]
_AXES: Final = ("x", "y", "z")


def _parse(name: str, value: str) -> tuple[int, float]:
    if len(value) != 2 or value[0] not in "+-" or value[1] not in _AXES:
        raise DataValidationError(f"axis map: {name}={value!r} is not one of +x, -x, +y, -y, +z, -z")
    return _AXES.index(value[1]), (1.0 if value[0] == "+" else -1.0)


@dataclass(frozen=True)
class AxisMap:
    """Which signed sensor axis points forward, sideways and up on the body.

    Parameters
    ----------
    fwd, side, up : str
        A signed sensor axis each (``"+x"``, ``"-z"``, ...), all three different axes. ``fwd`` points
        anteriorly (the direction of running), ``side`` to the athlete's right, ``up`` superiorly.
        The default is the ISB segment convention that :mod:`imurehab.simulate` also uses for a sensor
        aligned with its segment: x anterior, y superior, z right.

    Notes
    -----
    PlayerLoad 3D, ENMO, MAD, impacts and counts do not depend on the map (norms, or per sensor axis);
    PlayerLoad 2D / fwd / side / up depend on which axis is which but not on the signs; acceleration
    events depend on the sign of ``fwd`` too.

    Examples
    --------
    >>> AxisMap(fwd="-z", side="+y", up="+x").indices
    (2, 1, 0)
    """

    fwd: SignedAxis = "+x"
    side: SignedAxis = "+z"
    up: SignedAxis = "+y"

    def __post_init__(self) -> None:
        parsed = [_parse(n, v) for n, v in (("fwd", self.fwd), ("side", self.side), ("up", self.up))]
        if len({i for i, _ in parsed}) != 3:
            raise DataValidationError(
                f"axis map: fwd={self.fwd}, side={self.side}, up={self.up} must name three different axes"
            )

    @property
    def indices(self) -> tuple[int, int, int]:
        """Sensor column index (0 = x, 1 = y, 2 = z) of the forward, side and up axes."""
        f, s, u = (_parse(n, v)[0] for n, v in (("fwd", self.fwd), ("side", self.side), ("up", self.up)))
        return f, s, u

    @property
    def fwd_sign(self) -> float:
        """+1.0 if the forward direction is the positive sensor axis, else -1.0."""
        return _parse("fwd", self.fwd)[1]


ISB_AXES: Final[AxisMap] = AxisMap()
"""The default map: x anterior (forward), z right (side), y superior (up), as in ISB segment frames."""
