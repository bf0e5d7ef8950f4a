"""HYROX stations the short sequence lacks: SkiErg, sled pull, burpee broad jumps, and loaded gaits.

Each pose station is a :class:`~imurehab.simulate.program.PoseBlend` of rep progress paths laid out by
:func:`~imurehab.simulate.reps.plan_reps` under a :class:`~imurehab.simulate.hyrox.RepPlan` (count, tempo,
rests), like the wall balls, lunges and rowing of :mod:`imurehab.simulate.hyrox`. The carried and pushed
stations are gaits (:func:`~imurehab.simulate.gait.gait_activity`) with their own joint patterns:
:func:`gait_style` derives them from walking and running.

Movement descriptions follow the HYROX rulebook's station standards (SkiErg: standing double-pole pull;
sled pull: hand-over-hand rope pull, athlete behind the line; burpee broad jump: chest and thighs to the
floor, two-footed jump forward; sled push and farmers carry: walking with the implement) and coaching
descriptions of technique; the angles are rounded estimates, not measurements.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from imurehab.simulate.body import Skeleton
from imurehab.simulate.gait import WALKING, GaitStyle
from imurehab.simulate.hyrox import RepPlan
from imurehab.simulate.program import Feet, Pose, PoseBlend, RepWindow, RootSpec
from imurehab.simulate.reps import RepDraft
from imurehab.simulate.trajectory import MinJerkPath, PeriodicPattern

__all__ = [
    "FARMERS_CARRY",
    "SLED_PUSH",
    "burpee_broad_jumps",
    "gait_style",
    "skierg",
    "sled_pull",
]

FloatArray = npt.NDArray[np.float64]
_BOTH = ("right", "left")


def _sides(**joints: tuple[float, float, float]) -> Pose:
    """The same angles on both sides: ``_sides(knee=(40, 0, 0))`` → knee_right and knee_left."""
    return {f"{j}_{s}": v for j, v in joints.items() for s in _BOTH}


def _shifted(pattern: PeriodicPattern, gain: float = 1.0, offset: float = 0.0) -> PeriodicPattern:
    return PeriodicPattern(pattern.phase_pct, tuple(offset + gain * v for v in pattern.values))


def gait_style(
    base: GaitStyle,
    name: str,
    *,
    stride_hz: float,
    speed_mps: float | None = None,
    height_m: float = 1.75,
    changes: Mapping[tuple[str, str], PeriodicPattern] | None = None,
) -> GaitStyle:
    """A variant of walking or running: another label, stride frequency, speed and some joint patterns.

    Parameters
    ----------
    base : GaitStyle
        :data:`~imurehab.simulate.gait.WALKING` or :data:`~imurehab.simulate.gait.RUNNING`.
    name : str
        Label of the variant (the exercise of its stride windows).
    stride_hz : float
        Stride (two steps) frequency [Hz].
    speed_mps : float, optional
        Running only: the speed [m/s]; the stride length follows as ``speed / stride_hz``. Walking speed
        always follows from the joint angles.
    height_m : float
        Body height [m] (for the stride length as a fraction of it).
    changes : mapping, optional
        ``(joint, dof)`` → pattern replacing or adding a channel.
    """
    channels = {**base.channels, **(changes or {})}
    per_height = base.stride_per_height
    if speed_mps is not None and per_height is not None:
        per_height = speed_mps / (stride_hz * height_m)
    return dataclasses.replace(
        base, name=name, channels=channels, stride_hz=stride_hz, stride_per_height=per_height
    )


_W = WALKING.channels
_H = PeriodicPattern.harmonic
_LEAN_DEG = 35.0

SLED_PUSH = gait_style(
    WALKING,
    "sled-push",
    stride_hz=0.7,
    changes={
        # trunk leaning ≈ 35° into the poles; the hips flex as much so the thighs keep their walking swing
        ("pelvis", "flexion_deg"): _H(_LEAN_DEG, 2.0, 10.0, order=2),
        ("lumbar", "flexion_deg"): _H(10.0, 1.0, 10.0, order=2),
        ("hip", "flexion_deg"): _shifted(_W[("hip", "flexion_deg")], 0.8, _LEAN_DEG + 5.0),
        ("knee", "flexion_deg"): _shifted(_W[("knee", "flexion_deg")], 0.9, 15.0),
        ("shoulder", "flexion_deg"): _H(75.0, 3.0, 50.0),
        ("elbow", "flexion_deg"): _H(30.0, 4.0, 50.0),
    },
)
"""Pushing the sled: short strides at ≈ 84 steps/min, trunk leaning forward, arms locked on the poles."""

FARMERS_CARRY = gait_style(
    WALKING,
    "farmers-carry",
    stride_hz=1.05,
    changes={
        # arms hang with the kettlebells: no swing
        ("shoulder", "flexion_deg"): _H(2.0, 2.0, 50.0),
        ("elbow", "flexion_deg"): _H(6.0, 1.5, 50.0),
        ("lumbar", "flexion_deg"): _H(0.0, 1.0, 10.0, order=2),
        # a braced trunk: less pelvis and trunk rotation and obliquity, shorter strides (the direction of
        # the changes load carriage brings, LaFiandra et al. 2003, J Biomech 36:87-95; sizes estimated)
        ("pelvis", "rotation_deg"): _H(0.0, 1.5, 0.0),
        ("pelvis", "abduction_deg"): _H(0.0, 2.0, 70.0),
        ("hip", "abduction_deg"): _H(0.0, 2.0, 70.0),
        ("lumbar", "rotation_deg"): _H(0.0, -1.0, 0.0),
        ("hip", "flexion_deg"): _shifted(_W[("hip", "flexion_deg")], 0.8, 2.0),
        ("knee", "flexion_deg"): _shifted(_W[("knee", "flexion_deg")], 0.85, 3.0),
    },
)
"""Walking fast with a kettlebell in each hand (≈ 126 steps/min), arms hanging still, trunk braced."""


def skierg(
    rng: np.random.Generator,
    skeleton: Skeleton,
    t_start: float,
    station: float,
    plan: RepPlan,
) -> tuple[PoseBlend, list[RepWindow]]:
    """SkiErg strokes: both arms pulled from overhead to the hips with a hip and knee crunch.

    About 43 strokes per minute at ``plan.tempo`` 1; one window per stroke on the right shoulder.

    Parameters
    ----------
    rng, skeleton, t_start, station, plan
        As for :func:`imurehab.simulate.hyrox.wall_balls` (``plan.reps`` strokes, required).
    """
    del skeleton
    base = _sides(shoulder=(150.0, 0.0, 0.0), elbow=(15.0, 0.0, 0.0))
    pull = _sides(shoulder=(-165.0, 0.0, 0.0), elbow=(20.0, 0.0, 0.0))
    crunch: Pose = {"pelvis": (30.0, 0.0, 0.0), "lumbar": (20.0, 0.0, 0.0)} | _sides(
        hip=(60.0, 0.0, 0.0), knee=(35.0, 0.0, 0.0), ankle=(15.0, 0.0, 0.0)
    )

    def make(rng: np.random.Generator, t0: float, i: int) -> RepDraft:
        t0 = plan.start(t0, i)
        f = plan.pace(rng, 0.06)
        a = float(rng.uniform(0.8, 1.0))
        end = t0 + 1.4 * f
        arms = [(t0, 0.0), (t0 + 0.55 * f, 1.0), (t0 + 0.65 * f, 1.0), (end, 0.0)]
        legs = [(t0 + 0.15 * f, 0.0), (t0 + 0.6 * f, a), (t0 + 1.2 * f, 0.0)]
        return RepDraft(t0, end, [arms, legs], [RepWindow("skierg", "shoulder", "right", t0, end)])

    paths, windows = plan.lay_out(rng, make, [0.0, 0.0], t_start, (0.0, 0.1), "hyrox skierg")
    root = RootSpec(station=(station, 0.0))
    return PoseBlend("skierg", base, ((paths[0], pull), (paths[1], crunch)), root), windows


def sled_pull(
    rng: np.random.Generator,
    skeleton: Skeleton,
    t_start: float,
    station: float,
    plan: RepPlan,
) -> tuple[PoseBlend, list[RepWindow]]:
    """Hand-over-hand rope pulls from a half squat, leaning back; arms alternate, one window per pull.

    Parameters
    ----------
    rng, skeleton, t_start, station, plan
        As for :func:`imurehab.simulate.hyrox.wall_balls` (``plan.reps`` pulls, required).
    """
    del skeleton
    base: Pose = {"pelvis": (10.0, 0.0, 0.0), "lumbar": (-10.0, 0.0, 0.0)} | _sides(
        hip=(45.0, 0.0, 0.0), knee=(40.0, 0.0, 0.0), ankle=(18.0, 0.0, 0.0), shoulder=(80.0, 0.0, 0.0)
    )
    heave: Pose = {"pelvis": (-12.0, 0.0, 0.0), "lumbar": (-8.0, 0.0, 0.0)} | _sides(hip=(-12.0, 0.0, 0.0))
    arm = {s: {f"shoulder_{s}": (-75.0, 0.0, 0.0), f"elbow_{s}": (95.0, 0.0, 0.0)} for s in _BOTH}

    def make(rng: np.random.Generator, t0: float, i: int) -> RepDraft:
        t0 = plan.start(t0, i)
        f = plan.pace(rng, 0.08)
        a = float(rng.uniform(0.85, 1.0))
        t1 = t0 + 0.55 * f
        end = t1 + 0.75 * f
        pull = [(t0, 0.0), (t1, a), (t1 + 0.1 * f, a), (end, 0.0)]
        body = [(t0, 0.0), (t1, a), (end, 0.0)]
        idle: list[tuple[float, float]] = []
        side = _BOTH[i % 2]
        knots = [pull, idle, body] if side == "right" else [idle, pull, body]
        return RepDraft(t0, end, knots, [RepWindow("sled-pull", "elbow", side, t0, end)])

    paths, windows = plan.lay_out(rng, make, [0.0, 0.0, 0.0], t_start, (0.05, 0.35), "hyrox sled pull")
    terms = ((paths[0], arm["right"]), (paths[1], arm["left"]), (paths[2], heave))
    return PoseBlend("sled-pull", base, terms, RootSpec(station=(station, 0.0))), windows


@dataclasses.dataclass(frozen=True)
class _JumpingRoot(RootSpec):
    """Feet on the floor (``up="ground"``) plus a lift [m] while airborne."""

    lift: MinJerkPath | None = None

    def position(self, t: FloatArray, feet: Feet, skeleton: Skeleton) -> FloatArray:
        """Pelvis origin in the body reference frame [m], shape (M, 3)."""
        out = super().position(t, feet, skeleton)
        if self.lift is not None:
            out[:, 1] += self.lift(t)
        return out


def burpee_broad_jumps(
    rng: np.random.Generator,
    skeleton: Skeleton,
    t_start: float,
    station: float,
    plan: RepPlan,
    jump_m: float,
) -> tuple[PoseBlend, list[RepWindow], float]:
    """Burpee (hands down, feet back, chest to the floor, feet in) then a two-footed broad jump.

    Parameters
    ----------
    rng, skeleton, t_start, station, plan
        As for :func:`imurehab.simulate.hyrox.wall_balls` (``plan.reps`` reps, required).
    jump_m : float
        Mean jump length [m]; each jump varies by ±8 % (1 sd).

    Returns
    -------
    activity, windows, end_position
        The activity, one window per rep on the right knee, the forward position after the last landing
        [m].
    """
    del skeleton
    crouch: Pose = {"pelvis": (45.0, 0.0, 0.0), "lumbar": (20.0, 0.0, 0.0)} | _sides(
        hip=(125.0, 0.0, 0.0), knee=(120.0, 0.0, 0.0), ankle=(30.0, 0.0, 0.0), shoulder=(70.0, 0.0, 0.0)
    )
    plank: Pose = {"pelvis": (40.0, 0.0, 0.0), "lumbar": (-20.0, 0.0, 0.0)} | _sides(
        hip=(-125.0, 0.0, 0.0), knee=(-120.0, 0.0, 0.0), ankle=(-10.0, 0.0, 0.0), shoulder=(15.0, 0.0, 0.0)
    )
    chest: Pose = {"pelvis": (6.0, 0.0, 0.0)} | _sides(elbow=(85.0, 0.0, 0.0), shoulder=(-25.0, 0.0, 0.0))
    swing = _sides(shoulder=(120.0, 0.0, 0.0), elbow=(10.0, 0.0, 0.0))
    lift_knots: list[tuple[float, float]] = [(0.0, 0.0)]

    def make(rng: np.random.Generator, t0: float, i: int) -> RepDraft:
        t0 = plan.start(t0, i)
        f = plan.pace(rng, 0.08)
        x0 = forward_at[-1]
        jump = jump_m * (1.0 + 0.08 * float(np.clip(rng.standard_normal(), -2.5, 2.5)))
        t_in, t_down, t_up = t0 + 0.6 * f, t0 + 1.1 * f, t0 + 1.5 * f
        t_feet, t_set = t0 + 2.6 * f, t0 + 3.0 * f
        take = t_set + 0.2
        land = take + 0.45
        end = land + 0.6 * f
        c = [
            (t0, 0.0),
            (t_in, 1.0),
            (t_feet + 0.1 * f, 1.0),
            (t_set, 0.55),
            (take, 0.0),
            (land, 0.0),
            (land + 0.25, 0.4),
            (end, 0.0),
        ]
        p = [(t_in, 0.0), (t_down, 1.0), (t_up + 0.6 * f, 1.0), (t_feet, 0.0)]
        d = [(t_down, 0.0), (t_up, 1.0), (t_up + 0.5 * f, 0.0)]
        s = [(t_feet, 0.0), (t_set, -0.35), (take, 1.0), (land, 0.6), (end, 0.0)]
        x = [(t_set, x0), (land + 0.15, x0 + jump)]
        forward_at.append(x0 + jump)
        lift_knots.extend([(take, 0.0), (0.5 * (take + land), 0.22), (land, 0.0)])
        return RepDraft(t0, end, [c, p, d, s, x], [RepWindow("burpee-broad-jumps", "knee", "right", t0, end)])

    forward_at: list[float] = [station]
    paths, windows = plan.lay_out(
        rng, make, [0.0, 0.0, 0.0, 0.0, station], t_start, (0.2, 0.9), "hyrox burpee broad jumps"
    )
    lift = MinJerkPath(np.array([k[0] for k in lift_knots]), np.array([k[1] for k in lift_knots]))
    root = _JumpingRoot(forward=paths[4], up="ground", right=0.0, lift=lift)
    terms = ((paths[0], crouch), (paths[1], plank), (paths[2], chest), (paths[3], swing))
    return PoseBlend("burpee-broad-jumps", {}, terms, root), windows, forward_at[-1]
