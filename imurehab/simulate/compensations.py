"""Compensations a rep exercise can be simulated with: joint-angle patterns added to chosen reps.

A compensation is a pose per degree (joint key → clinical angle change); the session scales it by
``compensation_deg`` and adds it along a path that follows the rep's progress, so the change peaks at the
rep's turning point. Names follow the checks of the built-in exercise templates
(``imurehab/exercises/templates``); signs follow :mod:`imurehab.simulate.joints`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from imurehab.simulate.program import Pose

__all__ = ["COMPENSATIONS", "Compensation"]


def _lat(side: str) -> float:
    return 1.0 if side == "right" else -1.0


@dataclass(frozen=True)
class Compensation:
    """A compensation an exercise can show.

    Attributes
    ----------
    name : str
        ``"trunk-lean"``, ``"hip-hike"``, ``"knee-bend"``, ...
    description : str
        What the body does, for people.
    pose : callable
        ``pose(side) -> Pose``: the clinical angle change per degree of compensation (joint key →
        (flexion, abduction, rotation)); scaled by ``compensation_deg``.
    """

    name: str
    description: str
    pose: Callable[[str], Pose]


def _lumbar(name: str, description: str, flexion: float, bend: float, twist: float) -> Compensation:
    """A lumbar compensation; ``bend`` and ``twist`` are toward the exercising side when positive."""
    return Compensation(name, description, lambda s: {"lumbar": (flexion, bend * _lat(s), twist * _lat(s))})


def _limb(name: str, description: str, joint: str, angles: tuple[float, float, float]) -> Compensation:
    return Compensation(name, description, lambda s: {f"{joint}_{s}": angles})


_LEAN_BACK = _lumbar("trunk-lean", "the trunk leans back (lumbar extension)", -1.0, 0.0, 0.0)

COMPENSATIONS: Mapping[str, Mapping[str, Compensation]] = {
    "seated-knee-extension": {"trunk-lean": _LEAN_BACK},
    "squat": {
        "trunk-lean": _lumbar(
            "trunk-lean", "the trunk bends further forward (lumbar flexion)", 1.0, 0.0, 0.0
        ),
        "trunk-shift": _lumbar("trunk-shift", "the trunk bends sideways toward the side", 0.0, 1.0, 0.0),
        "knee-valgus": _limb(
            "knee-valgus", "the side's knee caves in (knee abduction)", "knee", (0.0, 1.0, 0.0)
        ),
    },
    "elbow-flexion": {
        "trunk-sway": _lumbar("trunk-sway", "the trunk swings back (lumbar extension)", -1.0, 0.0, 0.0),
        "shoulder-swing": _limb(
            "shoulder-swing", "the upper arm swings forward (shoulder flexion)", "shoulder", (1.0, 0.0, 0.0)
        ),
    },
    "shoulder-abduction": {
        "trunk-lean": _lumbar(
            "trunk-lean",
            "the trunk bends sideways away from the raised arm (lumbar lateral bend)",
            0.0,
            -1.0,
            0.0,
        )
    },
    "shoulder-flexion": {"trunk-lean": _LEAN_BACK},
    "straight-leg-raise": {
        "hip-hike": Compensation(
            "hip-hike",
            "the pelvis tilts in the frontal plane, lifting the exercising side's iliac crest toward the "
            "head; the trunk stays put (lumbar lateral bend the other way)",
            lambda s: {"pelvis": (0.0, -_lat(s), 0.0), "lumbar": (0.0, _lat(s), 0.0)},
        ),
        "knee-bend": _limb("knee-bend", "the raised leg's knee bends", "knee", (1.0, 0.0, 0.0)),
    },
    "ankle-pumps": {
        "foot-turn-in": Compensation(
            "foot-turn-in",
            "the foot turns in (ankle inversion)",
            lambda s: {f"ankle_{s}": (0.0, _lat(s), 0.0)},
        )
    },
    "heel-slide": {
        "leg-roll": _limb("leg-roll", "the leg rolls out (hip external rotation)", "hip", (0.0, 0.0, -1.0))
    },
    "lumbar-flexion": {
        "side-bend": _lumbar("side-bend", "the trunk bends sideways toward the side", 0.0, 1.0, 0.0),
        "trunk-twist": _lumbar("trunk-twist", "the trunk turns toward the side", 0.0, 0.0, -1.0),
    },
}
"""Movement name → the compensations it can be simulated with."""
