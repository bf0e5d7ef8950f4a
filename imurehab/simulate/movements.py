"""The movement registry: rehabilitation exercises, walking, a HYROX-like sequence and a full HYROX race.

Each movement builds a :class:`~imurehab.simulate.program.Program` (commanded joint angles, root motion,
rep windows, phases) from a :class:`~imurehab.simulate.reps.MovementRequest`. The rep exercises live in
:mod:`imurehab.simulate.rehab`; their names match the exercise templates of :mod:`imurehab.exercises`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from imurehab.errors import SimulationError
from imurehab.simulate.compensations import COMPENSATIONS, Compensation
from imurehab.simulate.gait import WALKING, gait_activity
from imurehab.simulate.hyrox import hyrox_program
from imurehab.simulate.hyrox_race import HyroxRaceOptions, hyrox_race_program
from imurehab.simulate.joints import JOINTS
from imurehab.simulate.program import Program
from imurehab.simulate.rehab import (
    LEAD_S,
    TAIL_S,
    ankle_pumps,
    elbow_flexion,
    heel_slide,
    lumbar_flexion,
    seated_knee_extension,
    shoulder_abduction,
    shoulder_flexion,
    single_activity,
    squat,
    straight_leg_raise,
)
from imurehab.simulate.reps import MovementRequest

__all__ = ["MOVEMENTS", "Movement", "MovementRequest", "list_movements"]


@dataclass(frozen=True)
class Movement:
    """A registered movement.

    Attributes
    ----------
    name : str
        Registry key (``"seated-knee-extension"``).
    description : str
        One line for people.
    build : callable
        ``build(request) -> Program``.
    default_sensors : callable
        ``default_sensors(side) -> {sensor id: segment}``: the segments of the joint the exercise is
        about (and of joints a template watches for its usual compensations).
    default_reps : int or None
        Reps when neither ``reps`` nor ``duration_s`` is given (None: a fixed default duration instead).
    default_duration_s : float or None
        Duration when neither is given, for movements without a rep default.
    accepts_reps : bool
        Whether ``reps`` may be given (the HYROX sequence is set by its duration).
    compensations : mapping
        Compensation name → :class:`~imurehab.simulate.compensations.Compensation` it can be simulated with.
    accepts_variation : bool
        Whether incomplete reps, compensations and tempo jitter apply (rep exercises only).
    options_type : type, optional
        Class of the movement-specific options ``simulate_session(options=...)`` accepts (None: none).
    build_with : callable, optional
        ``build_with(request, options) -> Program``, used when options are given.
    default_truth_rate_hz : float, optional
        Upper bound of the default truth grid rate [Hz] (long movements keep the truth small).
    """

    name: str
    description: str
    build: Callable[[MovementRequest], Program]
    default_sensors: Callable[[str], dict[str, str]]
    default_reps: int | None = 10
    default_duration_s: float | None = None
    accepts_reps: bool = True
    compensations: Mapping[str, Compensation] = field(default_factory=dict)
    accepts_variation: bool = True
    options_type: type | None = None
    build_with: Callable[[MovementRequest, Any], Program] | None = None
    default_truth_rate_hz: float | None = None

    def sensors_for(self, side: str, compensation: str | None = None) -> dict[str, str]:
        """Default placements, plus a sensor on each segment a ``compensation`` moves that has none.

        Parameters
        ----------
        side : str
            ``"right"`` or ``"left"``.
        compensation : str, optional
            A key of :attr:`compensations`; its joints' parent and child segments are added as
            ``S<n>`` sensors (e.g. a trunk-lean in squats adds the trunk, so the lumbar angle is seen).
        """
        sensors = self.default_sensors(side)
        if compensation is None:
            return sensors
        for key in self.compensations[compensation].pose(side):
            spec = JOINTS[key]
            for segment in (spec.parent, spec.child):
                if segment is not None and segment not in sensors.values():
                    sensors[f"S{len(sensors) + 1}"] = segment
        return sensors


def walking(req: MovementRequest) -> Program:
    """Level walking from standing, ≈ 1.3 m/s, with start and stop ramps; a rep is one stride."""
    ramp = 2.0
    steady = None
    if req.duration_s is not None:
        steady = req.duration_s - LEAD_S - TAIL_S - 2 * ramp
        if steady <= 1.0:
            raise SimulationError(f"walking needs duration_s > {LEAD_S + TAIL_S + 2 * ramp + 1.0:g} s")
    elif req.reps is None:
        steady = 60.0 - LEAD_S - TAIL_S - 2 * ramp
    activity, windows, end, _ = gait_activity(
        WALKING,
        req.rng,
        req.skeleton,
        t_start=LEAD_S,
        steady_s=steady,
        strides=req.reps if steady is None else None,
        ramp_s=ramp,
    )
    if req.reps is not None and steady is not None:
        right = [w for w in windows if w.side == "right"]
        if len(right) < req.reps:
            raise SimulationError(f"walking: {req.reps} strides do not fit in {req.duration_s:g} s")
        cutoff = right[req.reps - 1].end_s
        windows = [w for w in windows if w.end_s <= cutoff + 1e-9]
    duration = req.duration_s if req.duration_s is not None else end + TAIL_S
    # sagittal arm swing through elevation 0: commanded as Z-X-Y flexion
    return single_activity("walking", activity, windows, duration, shoulder_sequence="ZXY")


def hyrox(req: MovementRequest) -> Program:
    """A short HYROX-like sequence: running, wall balls, lunges and rowing with smooth transitions."""
    if req.reps is not None:
        raise SimulationError("hyrox is a fixed sequence of stations; pass duration_s instead of reps")
    return hyrox_program(req.rng, req.skeleton, req.duration_s if req.duration_s is not None else 120.0)


def hyrox_race(req: MovementRequest) -> Program:
    """A full HYROX race (8 runs, 8 stations, Roxzones) for an athlete drawn from the seed."""
    return hyrox_race_program(req, None)


def _legs(side: str) -> dict[str, str]:
    return {"S1": f"thigh_{side}", "S2": f"shank_{side}"}


def _exercise(
    name: str,
    description: str,
    build: Callable[[MovementRequest], Program],
    default_sensors: Callable[[str], dict[str, str]],
) -> Movement:
    return Movement(name, description, build, default_sensors, compensations=COMPENSATIONS[name])


def _arm(side: str) -> dict[str, str]:
    return {"S1": "trunk", "S2": f"upper_arm_{side}"}


def _leg_and_pelvis(side: str) -> dict[str, str]:
    return {**_legs(side), "S3": "pelvis"}


MOVEMENTS: Mapping[str, Movement] = {
    m.name: m
    for m in (
        _exercise(
            "seated-knee-extension",
            "seated knee extension from 90° to 0–15°",
            seated_knee_extension,
            _legs,
        ),
        _exercise("squat", "bodyweight squat", squat, _leg_and_pelvis),
        _exercise(
            "elbow-flexion",
            "standing elbow flexion",
            elbow_flexion,
            lambda s: {"S1": f"upper_arm_{s}", "S2": f"forearm_{s}"},
        ),
        _exercise(
            "shoulder-abduction",
            "standing lateral raise to 150–165° elevation",
            shoulder_abduction,
            _arm,
        ),
        _exercise(
            "shoulder-flexion",
            "standing forward raise to 150–165° elevation",
            shoulder_flexion,
            _arm,
        ),
        _exercise(
            "straight-leg-raise",
            "supine straight-leg raise to 44–55° hip flexion",
            straight_leg_raise,
            _leg_and_pelvis,
        ),
        _exercise(
            "heel-slide",
            "supine heel slide to 84–105° knee flexion",
            heel_slide,
            _leg_and_pelvis,
        ),
        _exercise(
            "ankle-pumps",
            "seated ankle pumps to 15–20° dorsiflexion",
            ankle_pumps,
            lambda s: {"S1": f"shank_{s}", "S2": f"foot_{s}"},
        ),
        _exercise(
            "lumbar-flexion",
            "standing forward bend, lumbar flexion to 40–50°",
            lumbar_flexion,
            lambda s: {"S1": "pelvis", "S2": "trunk"},
        ),
        Movement(
            "walking",
            "level walking, reps are strides",
            walking,
            lambda s: {**_legs(s), "S3": "pelvis", "S4": f"foot_{s}"},
            default_reps=None,
            default_duration_s=60.0,
            accepts_variation=False,
        ),
        Movement(
            "hyrox",
            "running, wall balls, lunges, rowing",
            hyrox,
            lambda s: {**_legs(s), "S3": "pelvis", "S4": f"forearm_{s}"},
            default_reps=None,
            default_duration_s=120.0,
            accepts_reps=False,
            accepts_variation=False,
        ),
        Movement(
            "hyrox-race",
            "a full HYROX race: 8 × (1 km run, station) with Roxzones; options=HyroxRaceOptions(scale=...)",
            hyrox_race,
            lambda s: {"S1": f"forearm_{s}", "S2": "pelvis", "S3": f"thigh_{s}"},
            default_reps=None,
            default_duration_s=None,
            accepts_reps=False,
            accepts_variation=False,
            options_type=HyroxRaceOptions,
            build_with=hyrox_race_program,
            default_truth_rate_hz=10.0,
        ),
    )
}
"""Every movement ``simulate_session`` accepts, by name."""


def list_movements() -> list[str]:
    """Names of the registered movements, sorted."""
    return sorted(MOVEMENTS)
