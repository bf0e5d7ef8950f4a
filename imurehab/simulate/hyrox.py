"""A short HYROX-like sequence: running, wall balls, walking lunges and rowing.

HYROX races alternate 1 km runs with functional stations (among them a rowing ergometer, sandbag lunges
and wall balls). This module builds a compressed version for testing station detection and load metrics:
each phase lasts a few tens of seconds, consecutive phases are blended over a 3 s transition during
which the subject stands (or sits down on the rower), and every station is counted in reps on the knees.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from imurehab.errors import SimulationError
from imurehab.simulate.body import Skeleton
from imurehab.simulate.gait import RUNNING, gait_activity
from imurehab.simulate.program import Activity, Pose, PoseBlend, Program, RepWindow, RootSpec
from imurehab.simulate.reps import RepDraft, plan_reps
from imurehab.simulate.trajectory import MinJerkPath
from imurehab.simulate.truth import PhaseTruth

__all__ = [
    "HYROX_PHASES",
    "MIN_HYROX_DURATION_S",
    "RepPlan",
    "hyrox_program",
    "lunges",
    "rowing",
    "sequence_weights",
    "wall_balls",
]

HYROX_PHASES = ("running", "wall-balls", "lunges", "rowing")
"""Phase labels, in order."""

_SHARES = (0.30, 0.25, 0.20, 0.25)
_TRANSITION_S = 3.0
_EDGE_S = 1.0
MIN_HYROX_DURATION_S = 60.0
"""Shortest sequence [s] that leaves room for a few reps at every station."""

_BOTH = ("right", "left")


@dataclass(frozen=True)
class RepPlan:
    """How a station's reps are laid out: how many, how fast, where the athlete rests, which do not count.

    The defaults (as many reps as fit, nominal tempo, no rests, every rep valid) draw exactly the random
    numbers the short HYROX sequence always drew.

    Attributes
    ----------
    reps : int, optional
        Exactly this many reps (None: as many as fit before ``until_s``).
    tempo : float
        Duration factor of every rep phase (0.8: 25 % faster strokes than nominal).
    rests_s : mapping
        Rep index (0-based) → rest [s] taken before that rep (sets broken up, a pause for breath).
    no_reps : frozenset of int
        Rep indices performed short of the standard (a wall ball squat not deep enough); their windows are
        flagged ``incomplete`` and they do not count toward the station's total.
    """

    reps: int | None = None
    tempo: float = 1.0
    rests_s: Mapping[int, float] = field(default_factory=dict)
    no_reps: frozenset[int] = frozenset()

    def start(self, t0: float, index: int) -> float:
        """Start of rep ``index`` [s] when the previous one allows it at ``t0``."""
        return t0 + self.rests_s.get(index, 0.0)

    def pace(self, rng: np.random.Generator, spread: float) -> float:
        """Duration factor of one rep: the tempo times ``1 + spread·z`` (z standard normal, clipped ±2.5)."""
        return self.tempo * (1.0 + spread * float(np.clip(rng.standard_normal(), -2.5, 2.5)))

    def lay_out(
        self,
        rng: np.random.Generator,
        make: Callable[[np.random.Generator, float, int], RepDraft],
        initial: Sequence[float],
        t_start: float,
        pause_s: tuple[float, float],
        what: str,
        until_s: float | None = None,
    ) -> tuple[list[MinJerkPath], list[RepWindow]]:
        """:func:`~imurehab.simulate.reps.plan_reps` with this plan's rep count; paths and windows."""
        paths, windows, _ = plan_reps(
            rng,
            make,
            initial=initial,
            t_start=t_start,
            pause_s=pause_s,
            reps=self.reps,
            until_s=until_s,
            what=what,
        )
        return paths, windows


def sequence_weights(spans: Sequence[tuple[float, float]]) -> list[MinJerkPath]:
    """Blending weights of activities that follow one another.

    Parameters
    ----------
    spans : sequence of (start, end)
        Where each activity is alone [s]; activity ``i + 1`` starts after activity ``i`` ends, and the
        weights cross over (minimum-jerk) between ``end[i]`` and ``start[i + 1]``.

    Returns
    -------
    list of MinJerkPath
        One weight per activity, 1 on its span, 0 away from it; they sum to one at every time.
    """
    weights = []
    for i, (start, end) in enumerate(spans):
        times, values = [], []
        if i > 0:
            times += [spans[i - 1][1], start]
            values += [0.0, 1.0]
        if i < len(spans) - 1:
            times += [end, spans[i + 1][0]]
            values += [1.0, 0.0]
        weights.append(MinJerkPath(np.array(times or [start]), np.array(values or [1.0])))
    return weights


def _knees(
    label: str, t0: float, t1: float, sides: tuple[str, ...] = _BOTH, *, incomplete: bool = False
) -> list[RepWindow]:
    return [RepWindow(label, "knee", s, t0, t1, incomplete=incomplete) for s in sides]


def wall_balls(
    rng: np.random.Generator,
    skeleton: Skeleton,
    t_start: float,
    until_s: float | None,
    station: float,
    plan: RepPlan | None = None,
) -> tuple[PoseBlend, list[RepWindow]]:
    """Squat with a medicine ball at the chest, drive up and throw it overhead, catch, repeat.

    A no-rep (``plan.no_reps``) squats to only 45–65 % of the depth (hips above the knees).

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of each rep's tempo, depth and the pauses.
    skeleton : Skeleton
        Body geometry.
    t_start : float
        Start of the first rep [s].
    until_s : float or None
        Latest end of a rep [s] (None: ``plan.reps`` decides).
    station : float
        Forward position of the athlete [m, body frame].
    plan : RepPlan, optional
        Count, tempo, rests and no-reps (default: as many nominal reps as fit).

    Returns
    -------
    activity, windows
        The activity and one window per rep on each knee.
    """
    del skeleton
    plan = RepPlan() if plan is None else plan
    base: Pose = {
        f"{j}_{s}": v
        for s in _BOTH
        for j, v in (("shoulder", (45.0, 10.0, 0.0)), ("elbow", (120.0, 0.0, 0.0)))
    }
    squat: Pose = {"pelvis": (18.0, 0.0, 0.0), "lumbar": (12.0, 0.0, 0.0)}
    throw: Pose = {}
    for s in _BOTH:
        squat |= {
            f"hip_{s}": (95.0, 0.0, 0.0),
            f"knee_{s}": (105.0, 0.0, 0.0),
            f"ankle_{s}": (28.0, 0.0, 0.0),
        }
        throw |= {
            f"shoulder_{s}": (110.0, 0.0, 0.0),
            f"elbow_{s}": (-100.0, 0.0, 0.0),
            f"ankle_{s}": (-15.0, 0.0, 0.0),
        }

    def make(rng: np.random.Generator, t0: float, i: int) -> RepDraft:
        t0 = plan.start(t0, i)
        f = plan.pace(rng, 0.08)
        a = float(rng.uniform(0.9, 1.0))
        short = i in plan.no_reps
        if short:
            a *= float(rng.uniform(0.45, 0.65))
        t1 = t0 + 0.9 * f  # bottom of the squat
        t2 = t1 + 0.6 * f  # standing, ball released
        release = t2 + 0.15
        caught = release + float(rng.uniform(0.8, 1.1))
        end = caught + 0.5 * f
        legs = [(t0, 0.0), (t1, a), (t2, 0.0)]
        arms = [(t1 + 0.35 * f, 0.0), (release, 1.0), (caught, 1.0), (end, 0.0)]
        return RepDraft(t0, end, [legs, arms], _knees("wall-balls", t0, end, incomplete=short))

    paths, windows = plan.lay_out(
        rng, make, [0.0, 0.0], t_start, (0.2, 0.8), "hyrox wall balls", until_s=until_s
    )
    root = RootSpec(station=(station, 0.0))
    return PoseBlend("wall-balls", base, ((paths[0], squat), (paths[1], throw)), root), windows


def lunges(
    rng: np.random.Generator,
    skeleton: Skeleton,
    t_start: float,
    until_s: float | None,
    station: float,
    plan: RepPlan | None = None,
    *,
    step_per_height: float = 0.4,
    arms: Pose | None = None,
    label: str = "lunges",
) -> tuple[PoseBlend, list[RepWindow], float]:
    """Walking lunges, legs alternating, one step forward per rep; returns the end position too.

    Parameters
    ----------
    rng, skeleton, t_start, until_s, station, plan
        As for :func:`wall_balls`.
    step_per_height : float
        Step length as a fraction of body height.
    arms : Pose, optional
        A pose held throughout (a sandbag on the shoulders).
    label : str
        Names the reps and the activity.
    """
    plan = RepPlan() if plan is None else plan
    step_m = step_per_height * skeleton.height_m
    terms: list[Pose] = []
    for front, back in (("right", "left"), ("left", "right")):
        terms.append(
            {
                f"hip_{front}": (30.0, 0.0, 0.0),
                f"knee_{front}": (5.0, 0.0, 0.0),
                f"hip_{back}": (-15.0, 0.0, 0.0),
                f"ankle_{back}": (-10.0, 0.0, 0.0),
            }
        )
        terms.append(
            {
                f"hip_{front}": (60.0, 0.0, 0.0),
                f"knee_{front}": (85.0, 0.0, 0.0),
                f"ankle_{front}": (5.0, 0.0, 0.0),
                f"hip_{back}": (5.0, 0.0, 0.0),
                f"knee_{back}": (90.0, 0.0, 0.0),
                f"ankle_{back}": (-15.0, 0.0, 0.0),
                "pelvis": (5.0, 0.0, 0.0),
                "lumbar": (5.0, 0.0, 0.0),
            }
        )

    def make(rng: np.random.Generator, t0: float, i: int) -> RepDraft:
        t0 = plan.start(t0, i)
        f = plan.pace(rng, 0.1)
        a = float(rng.uniform(0.85, 1.0))
        t1 = t0 + 0.6 * f
        t2 = t1 + 0.8 * f
        t3 = t2 + 0.1 + 0.8 * f
        t4 = t3 + 0.6 * f
        step = [(t0, 0.0), (t1, 1.0), (t3, 1.0), (t4, 0.0)]
        drop = [(t1, 0.0), (t2, a), (t2 + 0.1, a), (t3, 0.0)]
        idle: list[tuple[float, float]] = []
        side = i % 2
        knots = [step, drop, idle, idle] if side == 0 else [idle, idle, step, drop]
        forward = [(t0, station + i * step_m), (t4, station + (i + 1) * step_m)]
        return RepDraft(t0, t4, [*knots, forward], _knees(label, t0, t4, (_BOTH[side],)))

    paths, windows = plan.lay_out(
        rng, make, [0.0, 0.0, 0.0, 0.0, station], t_start, (0.3, 0.7), "hyrox lunges", until_s=until_s
    )
    forward = paths[4]
    root = RootSpec(forward=forward, up="ground", right=0.0)
    blend = PoseBlend(label, arms or {}, tuple(zip(paths[:4], terms, strict=True)), root)
    return blend, windows, float(forward.values[-1])


def rowing(
    rng: np.random.Generator,
    skeleton: Skeleton,
    t_start: float,
    until_s: float | None,
    station: float,
    plan: RepPlan | None = None,
) -> tuple[PoseBlend, list[RepWindow]]:
    """Rowing ergometer strokes: legs, trunk, arms on the drive; reverse on recovery.

    About 28 strokes per minute at ``plan.tempo`` 1 (the factor scales every stroke's duration).

    Parameters
    ----------
    rng, skeleton, t_start, until_s, station, plan
        As for :func:`wall_balls` (``station``: where the rower's seat is).
    """
    plan = RepPlan() if plan is None else plan
    catch: Pose = {"pelvis": (15.0, 0.0, 0.0), "lumbar": (10.0, 0.0, 0.0)}
    legs: Pose = {}
    trunk: Pose = {"pelvis": (-30.0, 0.0, 0.0), "lumbar": (-15.0, 0.0, 0.0)}
    arms: Pose = {}
    for s in _BOTH:
        catch |= {
            f"hip_{s}": (120.0, 0.0, 0.0),
            f"knee_{s}": (110.0, 0.0, 0.0),
            f"ankle_{s}": (20.0, 0.0, 0.0),
            f"shoulder_{s}": (80.0, 0.0, 0.0),
            f"elbow_{s}": (0.0, 0.0, 0.0),
        }
        legs |= {
            f"hip_{s}": (-25.0, 0.0, 0.0),
            f"knee_{s}": (-105.0, 0.0, 0.0),
            f"ankle_{s}": (-30.0, 0.0, 0.0),
        }
        trunk |= {f"hip_{s}": (-30.0, 0.0, 0.0)}
        arms |= {f"shoulder_{s}": (-100.0, 0.0, 0.0), f"elbow_{s}": (100.0, 0.0, 0.0)}

    def make(rng: np.random.Generator, t0: float, i: int) -> RepDraft:
        t0 = plan.start(t0, i)
        f = plan.pace(rng, 0.06)
        a = float(rng.uniform(0.9, 1.0))
        d = 0.8 * f
        fin = t0 + d + 0.1
        r = 1.2 * f
        leg = [(t0, 0.0), (t0 + 0.5 * d, a), (fin + 0.5 * r, a), (fin + r, 0.0)]
        trk = [(t0 + 0.25 * d, 0.0), (t0 + 0.8 * d, 1.0), (fin + 0.2 * r, 1.0), (fin + 0.55 * r, 0.0)]
        arm = [(t0 + 0.5 * d, 0.0), (t0 + d, 1.0), (fin, 1.0), (fin + 0.3 * r, 0.0)]
        return RepDraft(t0, fin + r, [leg, trk, arm], _knees("rowing", t0, fin + r))

    paths, windows = plan.lay_out(
        rng, make, [0.0, 0.0, 0.0], t_start, (0.0, 0.15), "hyrox rowing", until_s=until_s
    )
    seat = 0.26 * skeleton.height_m
    root = RootSpec(forward="anchor", up=seat, right="anchor", station=(station, 0.0))
    terms = tuple(zip(paths, (legs, trunk, arms), strict=True))
    return PoseBlend("rowing", catch, terms, root), windows


def hyrox_program(rng: np.random.Generator, skeleton: Skeleton, duration_s: float) -> Program:
    """Build the HYROX-like sequence: running, wall balls, lunges and rowing.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the natural variation.
    skeleton : Skeleton
        Body geometry.
    duration_s : float
        Total duration [s], at least :data:`MIN_HYROX_DURATION_S`; the phases share it 30/25/20/25 %
        after 1 s edges and three 3 s transitions.
    """
    if duration_s < MIN_HYROX_DURATION_S:
        raise SimulationError(f"hyrox needs duration_s >= {MIN_HYROX_DURATION_S:g} s, got {duration_s:g}")
    half = _TRANSITION_S / 2.0
    usable = duration_s - 2 * _EDGE_S - 3 * _TRANSITION_S
    bounds = [_EDGE_S - half]
    for share in _SHARES:
        bounds.append(bounds[-1] + share * usable + _TRANSITION_S)
    # phase i is pure on [bounds[i] + half, bounds[i + 1] - half]; the last ends at duration - edge
    starts = [b + half for b in bounds[:4]]
    stops = [b - half for b in bounds[1:]]
    stops[-1] = duration_s - _EDGE_S

    ramp = 1.5
    run, run_windows, _, run_end = gait_activity(
        RUNNING, rng, skeleton, t_start=starts[0], steady_s=stops[0] - starts[0] - 2 * ramp, ramp_s=ramp
    )
    wb, wb_windows = wall_balls(rng, skeleton, starts[1] + 0.3, stops[1] - 0.3, run_end)
    lg, lg_windows, lunge_end = lunges(rng, skeleton, starts[2] + 0.3, stops[2] - 0.3, run_end)
    row, row_windows = rowing(rng, skeleton, starts[3] + 0.5, stops[3], lunge_end + 1.0)

    activities: tuple[Activity, ...] = (run, wb, lg, row)
    weights = sequence_weights([(b + half, e - half) for b, e in itertools.pairwise(bounds)])

    phases = []
    for i, label in enumerate(HYROX_PHASES):
        start = 0.0 if i == 0 else bounds[i] + half
        end = duration_s if i == 3 else bounds[i + 1] - half
        phases.append(PhaseTruth(label, start, end))
        if i < 3:
            phases.append(PhaseTruth("transition", end, bounds[i + 1] + half))
    windows = tuple(run_windows + wb_windows + lg_windows + row_windows)
    # arm swing and throws are sagittal and pass through elevation 0: commanded as Z-X-Y flexion
    return Program(
        "hyrox", duration_s, activities, tuple(weights), windows, tuple(phases), shoulder_sequence="ZXY"
    )
