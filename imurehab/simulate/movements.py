"""The movement registry: rehabilitation exercises, walking and a HYROX-like sequence.

Each movement builds a :class:`~imurehab.simulate.program.Program` (commanded joint angles, root motion,
rep windows, phases) from a :class:`MovementRequest`. Rep exercises start and end with 2 s of rest; each
rep draws its own tempo (±12 %), amplitude and the pause after it, so no two reps are identical but the
same seed always gives the same session.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from imurehab.errors import SimulationError
from imurehab.simulate.body import Skeleton
from imurehab.simulate.gait import WALKING, gait_activity
from imurehab.simulate.hyrox import hyrox_program
from imurehab.simulate.program import Pose, PoseBlend, Program, RepWindow, RootSpec
from imurehab.simulate.reps import RepDraft, Tempo, plan_reps
from imurehab.simulate.trajectory import MinJerkPath
from imurehab.simulate.truth import PhaseTruth

__all__ = ["MOVEMENTS", "Movement", "MovementRequest", "list_movements"]

_LEAD_S = 2.0
_TAIL_S = 2.0


@dataclass(frozen=True)
class MovementRequest:
    """What the caller asked for; ``reps`` and ``duration_s`` may both be None (defaults apply)."""

    rng: np.random.Generator
    skeleton: Skeleton
    reps: int | None
    duration_s: float | None
    side: str


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
        ``default_sensors(side) -> {sensor id: segment}``.
    default_reps : int or None
        Reps when neither ``reps`` nor ``duration_s`` is given (None: a fixed default duration instead).
    default_duration_s : float or None
        Duration when neither is given, for movements without a rep default.
    accepts_reps : bool
        Whether ``reps`` may be given (the HYROX sequence is set by its duration).
    """

    name: str
    description: str
    build: Callable[[MovementRequest], Program]
    default_sensors: Callable[[str], dict[str, str]]
    default_reps: int | None = 10
    default_duration_s: float | None = None
    accepts_reps: bool = True


def _single(name: str, activity: PoseBlend, windows: list[RepWindow], duration_s: float) -> Program:
    return Program(
        name=name,
        duration_s=duration_s,
        activities=(activity,),
        weights=(MinJerkPath(np.array([0.0]), np.array([1.0])),),
        windows=tuple(windows),
        phases=(PhaseTruth(name, 0.0, duration_s),),
    )


def _rep_program(
    req: MovementRequest,
    name: str,
    *,
    base: Pose,
    delta: Pose,
    root: RootSpec,
    tempo: Tempo,
    amplitude: tuple[float, float],
    counted: list[tuple[str, str | None, str]],
) -> Program:
    """A one-component rep exercise: ``base + p(t)·delta`` with ``p`` going 0 → a → 0 per rep."""

    def make(rng: np.random.Generator, t0: float, _: int) -> RepDraft:
        out, hold, back = tempo.draw(rng)
        a = float(rng.uniform(*amplitude))
        t1, t2 = t0 + out, t0 + out + hold
        t3 = t2 + back
        wins = [RepWindow(name, joint, side, t0, t3, dof) for joint, side, dof in counted]
        return RepDraft(t0, t3, [[(t0, 0.0), (t1, a), (t2, a), (t3, 0.0)]], wins)

    until = None if req.duration_s is None else req.duration_s - _TAIL_S
    reps = req.reps if (req.reps is not None or until is not None) else 10
    paths, windows, end = plan_reps(
        req.rng,
        make,
        initial=[0.0],
        t_start=_LEAD_S,
        pause_s=tempo.pause_s,
        reps=reps,
        until_s=until,
        what=name,
    )
    duration = req.duration_s if req.duration_s is not None else end + _TAIL_S
    return _single(name, PoseBlend(name, base, ((paths[0], delta),), root), windows, duration)


def _other(side: str) -> str:
    return "left" if side == "right" else "right"


def seated_knee_extension(req: MovementRequest) -> Program:
    """Seated knee extension: thigh horizontal, shank hanging (≈ 90° flexion), extend to 0–15°."""
    s, o = req.side, _other(req.side)
    rest_knee = float(req.rng.uniform(87.0, 93.0))
    base: Pose = {
        f"hip_{s}": (90.0, 0.0, 0.0),
        f"hip_{o}": (90.0, 0.0, 0.0),
        f"knee_{s}": (rest_knee, 0.0, 0.0),
        f"knee_{o}": (90.0, 0.0, 0.0),
        "shoulder_right": (30.0, 0.0, 0.0),
        "shoulder_left": (30.0, 0.0, 0.0),
        "elbow_right": (60.0, 0.0, 0.0),
        "elbow_left": (60.0, 0.0, 0.0),
    }
    delta: Pose = {
        f"knee_{s}": (-rest_knee, 0.0, 0.0),
        f"hip_{s}": (4.0, 0.0, 0.0),
        f"ankle_{s}": (8.0, 0.0, 0.0),
    }
    sk = req.skeleton
    root = RootSpec(forward=0.0, up=sk.ankle_height_m + sk.shank_length_m, right=0.0)
    lo = (rest_knee - 15.0) / rest_knee
    return _rep_program(
        req,
        "seated-knee-extension",
        base=base,
        delta=delta,
        root=root,
        tempo=Tempo(1.5, 1.0, 2.0, (1.0, 2.5)),
        amplitude=(lo, 1.0),
        counted=[("knee", s, "flexion_deg")],
    )


def squat(req: MovementRequest) -> Program:
    """Bodyweight squat: hips, knees and ankles flex together, pelvis and trunk lean forward, arms forward."""
    asym = 1.0 + 0.02 * req.rng.standard_normal(2)
    delta: Pose = {"pelvis": (20.0, 0.0, 0.0), "lumbar": (15.0, 0.0, 0.0)}
    for k, side in enumerate(("right", "left")):
        delta[f"hip_{side}"] = (100.0 * asym[k], 0.0, 0.0)
        delta[f"knee_{side}"] = (110.0 * asym[k], 0.0, 0.0)
        delta[f"ankle_{side}"] = (30.0 * asym[k], 0.0, 0.0)
        delta[f"shoulder_{side}"] = (70.0, 0.0, 0.0)
        delta[f"elbow_{side}"] = (10.0, 0.0, 0.0)
    return _rep_program(
        req,
        "squat",
        base={},
        delta=delta,
        root=RootSpec(),
        tempo=Tempo(1.6, 0.3, 1.3, (0.8, 2.0)),
        amplitude=(0.8, 1.0),
        counted=[("knee", "right", "flexion_deg"), ("knee", "left", "flexion_deg")],
    )


def elbow_flexion(req: MovementRequest) -> Program:
    """Standing elbow flexion (biceps curl) from ≈ 8° to 115–135°."""
    s = req.side
    base: Pose = {f"elbow_{s}": (8.0, 0.0, 0.0), f"elbow_{_other(s)}": (5.0, 0.0, 0.0)}
    delta: Pose = {
        f"elbow_{s}": (127.0, 0.0, 0.0),
        f"shoulder_{s}": (8.0, 0.0, 0.0),
        f"wrist_{s}": (10.0, 0.0, 0.0),
    }
    return _rep_program(
        req,
        "elbow-flexion",
        base=base,
        delta=delta,
        root=RootSpec(),
        tempo=Tempo(1.4, 0.4, 1.8, (0.8, 2.0)),
        amplitude=(0.85, 1.0),
        counted=[("elbow", s, "flexion_deg")],
    )


def shoulder_abduction(req: MovementRequest) -> Program:
    """Standing lateral raise to 70–85° of abduction (kept below the Z-X-Y gimbal lock at 90°)."""
    s = req.side
    lean = 3.0 if s == "left" else -3.0  # trunk leans slightly away from the raised arm
    base: Pose = {f"shoulder_{s}": (0.0, 5.0, 0.0), f"elbow_{s}": (10.0, 0.0, 0.0)}
    delta: Pose = {f"shoulder_{s}": (10.0, 80.0, 0.0), "lumbar": (0.0, lean, 0.0)}
    return _rep_program(
        req,
        "shoulder-abduction",
        base=base,
        delta=delta,
        root=RootSpec(),
        tempo=Tempo(2.0, 0.5, 2.5, (1.0, 2.0)),
        amplitude=(65.0 / 80.0, 1.0),
        counted=[("shoulder", s, "abduction_deg")],
    )


def walking(req: MovementRequest) -> Program:
    """Level walking from standing, ≈ 1.3 m/s, with start and stop ramps; a rep is one stride."""
    ramp = 2.0
    steady = None
    if req.duration_s is not None:
        steady = req.duration_s - _LEAD_S - _TAIL_S - 2 * ramp
        if steady <= 1.0:
            raise SimulationError(f"walking needs duration_s > {_LEAD_S + _TAIL_S + 2 * ramp + 1.0:g} s")
    elif req.reps is None:
        steady = 60.0 - _LEAD_S - _TAIL_S - 2 * ramp
    activity, windows, end, _ = gait_activity(
        WALKING,
        req.rng,
        req.skeleton,
        t_start=_LEAD_S,
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
    duration = req.duration_s if req.duration_s is not None else end + _TAIL_S
    return Program(
        "walking",
        duration,
        (activity,),
        (MinJerkPath(np.array([0.0]), np.array([1.0])),),
        tuple(windows),
        (PhaseTruth("walking", 0.0, duration),),
    )


def hyrox(req: MovementRequest) -> Program:
    """A short HYROX-like sequence: running, wall balls, lunges and rowing with smooth transitions."""
    if req.reps is not None:
        raise SimulationError("hyrox is a fixed sequence of stations; pass duration_s instead of reps")
    return hyrox_program(req.rng, req.skeleton, req.duration_s if req.duration_s is not None else 120.0)


def _legs(side: str) -> dict[str, str]:
    return {"S1": f"thigh_{side}", "S2": f"shank_{side}"}


MOVEMENTS: Mapping[str, Movement] = {
    m.name: m
    for m in (
        Movement(
            "seated-knee-extension", "seated knee extension from 90° to 0–15°", seated_knee_extension, _legs
        ),
        Movement("squat", "bodyweight squat", squat, lambda s: {**_legs(s), "S3": "pelvis"}),
        Movement(
            "elbow-flexion",
            "standing elbow flexion",
            elbow_flexion,
            lambda s: {"S1": f"upper_arm_{s}", "S2": f"forearm_{s}"},
        ),
        Movement(
            "shoulder-abduction",
            "standing lateral raise to 70–85°",
            shoulder_abduction,
            lambda s: {"S1": "trunk", "S2": f"upper_arm_{s}"},
        ),
        Movement(
            "walking",
            "level walking, reps are strides",
            walking,
            lambda s: {**_legs(s), "S3": "pelvis", "S4": f"foot_{s}"},
            default_reps=None,
            default_duration_s=60.0,
        ),
        Movement(
            "hyrox",
            "running, wall balls, lunges, rowing",
            hyrox,
            lambda s: {**_legs(s), "S3": "pelvis", "S4": f"forearm_{s}"},
            default_reps=None,
            default_duration_s=120.0,
            accepts_reps=False,
        ),
    )
}
"""Every movement ``simulate_session`` accepts, by name."""


def list_movements() -> list[str]:
    """Names of the registered movements, sorted."""
    return sorted(MOVEMENTS)
