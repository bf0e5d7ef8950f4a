"""Normative joint ranges of motion (AAOS) to compare a patient's repetitions with.

The values are the American Academy of Orthopaedic Surgeons' average ranges of motion for adults,
first published in *Joint Motion: Method of Measuring and Recording* (AAOS, Chicago, 1965) and
tabulated again in Greene WB, Heckman JD (eds.), *The Clinical Measurement of Joint Motion* (AAOS,
Rosemont IL, 1994). They are averages for healthy adults measured with a goniometer, not limits: age,
sex and method shift them by several degrees.

Provenance, plainly: the numbers below were transcribed from the widely reproduced AAOS table, not
re-read from a copy of either book for this release; check them against the primary source before
relying on them clinically.

Each range is stated as the angle the motion ends at, in the sign convention of the ``joint_angles``
table (flexion positive; knee, elbow and hip extension toward 0° or below; shoulder elevation in
``flexion_deg`` for both flexion and abduction, since humerothoracic elevation is the same angle in
any plane).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

__all__ = ["AAOS_SOURCE", "NORMAL_RANGES", "NormalRange", "normal_range"]

AAOS_SOURCE: Final[str] = (
    "AAOS average range of motion (American Academy of Orthopaedic Surgeons, Joint Motion: Method of "
    "Measuring and Recording, 1965; tabulated in Greene & Heckman, The Clinical Measurement of Joint "
    "Motion, AAOS, 1994)"
)
"""Citation of the normative values."""


@dataclass(frozen=True)
class NormalRange:
    """The normal end of one motion of one joint.

    Attributes
    ----------
    joint : str
        Joint name (``"knee"``, ``"shoulder"``, ...).
    motion : str
        The motion in clinical words (``"flexion"``, ``"extension"``, ``"abduction"``).
    dof : str
        The ``joint_angles`` column the motion is measured in.
    direction : str
        ``"increase"`` if the motion raises the column's value, ``"decrease"`` if it lowers it.
    normal_deg : float
        The angle the motion normally reaches, in the column's sign convention [deg].
    source : str
        Where the value comes from.
    note : str
        Caveats (what the normative measurement included), or ``""``.
    """

    joint: str
    motion: str
    dof: str
    direction: str
    normal_deg: float
    source: str = AAOS_SOURCE
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The range as a JSON-ready dict (keys as the attributes)."""
        return dict(vars(self))


def _table(*ranges: NormalRange) -> Mapping[tuple[str, str, str], NormalRange]:
    return MappingProxyType({(r.joint, r.dof, r.direction): r for r in ranges})


NORMAL_RANGES: Final[Mapping[tuple[str, str, str], NormalRange]] = _table(
    NormalRange("knee", "flexion", "flexion_deg", "increase", 135.0),
    NormalRange("knee", "extension", "flexion_deg", "decrease", 0.0),
    NormalRange("hip", "flexion", "flexion_deg", "increase", 120.0, note="measured with the knee flexed"),
    NormalRange("hip", "extension", "flexion_deg", "decrease", -30.0),
    NormalRange("hip", "abduction", "abduction_deg", "increase", 45.0),
    NormalRange("hip", "adduction", "abduction_deg", "decrease", -30.0),
    NormalRange("ankle", "dorsiflexion", "flexion_deg", "increase", 20.0),
    NormalRange("ankle", "plantarflexion", "flexion_deg", "decrease", -50.0),
    NormalRange("elbow", "flexion", "flexion_deg", "increase", 150.0),
    NormalRange("elbow", "extension", "flexion_deg", "decrease", 0.0),
    NormalRange(
        "shoulder",
        "flexion or abduction (elevation)",
        "flexion_deg",
        "increase",
        180.0,
        note="AAOS gives 180° for both flexion and abduction; both are humerothoracic elevation here",
    ),
    NormalRange(
        "lumbar",
        "flexion",
        "flexion_deg",
        "increase",
        80.0,
        note="thoracolumbar flexion: includes thoracic motion a pelvis-to-trunk sensor pair may not see",
    ),
)
"""Normal ranges keyed by ``(joint, dof, direction)``."""


def normal_range(joint: str, dof: str, direction: str) -> NormalRange | None:
    """The normal range of the motion of ``joint`` that moves ``dof`` in ``direction``.

    Parameters
    ----------
    joint : str
        Joint name.
    dof : str
        Angle column (``"flexion_deg"``, ...).
    direction : {"increase", "decrease"}
        Which way the motion moves the column's value.

    Returns
    -------
    NormalRange or None
        ``None`` when the table holds no value for that motion.

    Examples
    --------
    >>> normal_range("knee", "flexion_deg", "increase").normal_deg
    135.0
    >>> normal_range("knee", "rotation_deg", "increase") is None
    True
    """
    return NORMAL_RANGES.get((joint, dof, direction))
