"""A full HYROX race: 8 × (1 km run, Roxzone, station, Roxzone) for one athlete, as a movement program.

Race format (HYROX rulebook; the order is fixed): eight 1 km runs, each followed by a station —
1 SkiErg 1000 m, 2 sled push 50 m, 3 sled pull 50 m, 4 burpee broad jumps 80 m, 5 rowing 1000 m,
6 farmers carry 200 m, 7 sandbag lunges 100 m, 8 wall balls (100 reps; 75 in some divisions, an option
here). Between the run track and a station the athlete crosses the "Roxzone" (walking or jogging, tens of
seconds; about 6.5 % of the race time, HyroxDataLab 2025, "RoxZone efficiency analysis", 825 results).

Athletes are drawn per seed (:meth:`HyroxAthlete.draw`) from one "level" (elite … recreational) plus
independent variation: first-run pace 3:40–6:30 min/km fading 2–18 % by run 8, running cadence,
stroke rates (SkiErg 34–48, rowing 24–32 per minute), distance per stroke, jump and lunge length, sled
speeds, Roxzone times, rests inside stations and the wall-ball sets and no-rep rate (module
:mod:`imurehab.simulate.hyrox_athlete`). Races last 69–112 min over seeds 0–11; median station times of
the 2022/23 season are of that order (SkiErg ≈ 4:30, rowing ≈ 4:45; roxlyfe.com "Are HYROX venues truly
consistent"); elite men finish in 53–60 min (roxlyfe.com "How fast and strong are the HYROX elite 15"),
faster than the simulator's fastest athletes. The structure and the truth (:func:`race_truth`) live in
:mod:`imurehab.simulate.hyrox_truth` and are re-exported here.

``HyroxRaceOptions.scale`` shrinks every distance, rep count and Roxzone time (0.1: a race of ≈ 10 min
for unit tests); the athlete and the order stay the same.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from imurehab.errors import SimulationError
from imurehab.simulate.body import Skeleton
from imurehab.simulate.gait import RUNNING, WALKING, GaitActivity, GaitStyle, gait_activity
from imurehab.simulate.hyrox import RepPlan, lunges, rowing, sequence_weights, wall_balls
from imurehab.simulate.hyrox_athlete import HyroxAthlete
from imurehab.simulate.hyrox_stations import (
    FARMERS_CARRY,
    SLED_PUSH,
    burpee_broad_jumps,
    gait_style,
    skierg,
    sled_pull,
)
from imurehab.simulate.hyrox_truth import (
    ROXZONE,
    RUN,
    STATION_COUNTS,
    STATIONS,
    RacePhase,
    RaceTruth,
    StationTruth,
    race_truth,
)
from imurehab.simulate.program import Activity, Program, RepWindow
from imurehab.simulate.reps import MovementRequest
from imurehab.simulate.truth import PhaseTruth

__all__ = [
    "ROXZONE",
    "RUN",
    "STATIONS",
    "STATION_COUNTS",
    "HyroxAthlete",
    "HyroxRaceOptions",
    "RacePhase",
    "RaceTruth",
    "StationTruth",
    "hyrox_race_program",
    "race_truth",
]

_BLEND_S = 1.5
_LEAD_S = 2.0
_TAIL_S = 2.0
_RAMP_S = 2.0
_ROX_MIN_S = 12.0  # a Roxzone is a walk of its own also in scaled races


@dataclass(frozen=True)
class HyroxRaceOptions:
    """Options of the ``"hyrox-race"`` movement (``simulate_session(..., options=HyroxRaceOptions())``).

    Attributes
    ----------
    scale : float
        Fraction of every distance, rep count and Roxzone time (1: the real race; 0.1: ≈ 10 min).
    wall_balls : {100, 75}
        Valid wall balls of the division (at ``scale`` 1).
    skip_stations : frozenset of int
        Stations (1–8) the athlete leaves out: the Roxzone before and after merge into one.
    athlete : HyroxAthlete, optional
        The athlete; None: drawn from the session seed.
    """

    scale: float = 1.0
    wall_balls: int = 100
    skip_stations: frozenset[int] = frozenset()
    athlete: HyroxAthlete | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.scale, int | float) or not 0.02 <= self.scale <= 1.0:
            raise SimulationError(f"scale must be within 0.02..1, got {self.scale!r}")
        if self.wall_balls not in (75, 100):
            raise SimulationError(f"wall_balls must be 75 or 100, got {self.wall_balls!r}")
        if not set(self.skip_stations) <= set(range(1, 9)):
            raise SimulationError(f"skip_stations must be station numbers 1..8, got {self.skip_stations!r}")


class _Chain:
    """Activities laid end to end with a blend between each, and the phase each belongs to."""

    def __init__(self) -> None:
        self.t = _LEAD_S
        self.pos = 0.0
        self.activities: list[Activity] = []
        self.spans: list[tuple[float, float]] = []
        self.windows: list[RepWindow] = []
        self.phase_starts: list[tuple[str, int]] = []

    def phase(self, label: str) -> None:
        self.phase_starts.append((label, len(self.spans)))

    def add(
        self, activity: Activity, end_s: float, end_pos: float, windows: Sequence[RepWindow] = ()
    ) -> None:
        self.activities.append(activity)
        self.spans.append((self.t, end_s))
        self.windows.extend(windows)
        self.t = end_s + _BLEND_S
        self.pos = end_pos

    def gait(
        self,
        rng: np.random.Generator,
        skeleton: Skeleton,
        style: GaitStyle,
        moving_s: float,
        *,
        hold_s: float = 0.0,
        keep_windows: bool = False,
    ) -> None:
        """A gait bout of ``moving_s`` [s] from rest to rest, then ``hold_s`` [s] standing."""
        activity, _, end, end_pos = gait_activity(
            style,
            rng,
            skeleton,
            t_start=self.t,
            steady_s=max(moving_s - _RAMP_S, 3.0),
            station=self.pos,
            ramp_s=_RAMP_S / 2,
        )
        windows = _step_windows(activity, self.t, end) if keep_windows else []
        self.add(activity, end + hold_s, end_pos, windows)

    def reps(self, blend: Activity, windows: list[RepWindow], end_pos: float | None = None) -> None:
        """A rep station that started at ``self.t``; it ends 0.3 s after its last rep."""
        self.add(
            blend, max(w.end_s for w in windows) + 0.3, self.pos if end_pos is None else end_pos, windows
        )

    def program(self) -> Program:
        duration = self.spans[-1][1] + _TAIL_S
        phases = []
        for j, (label, first) in enumerate(self.phase_starts):
            start = 0.0 if first == 0 else 0.5 * (self.spans[first - 1][1] + self.spans[first][0])
            nxt = self.phase_starts[j + 1][1] if j + 1 < len(self.phase_starts) else None
            end = duration if nxt is None else 0.5 * (self.spans[nxt - 1][1] + self.spans[nxt][0])
            phases.append(PhaseTruth(label, start, end))
        return Program(
            "hyrox-race",
            duration,
            tuple(self.activities),
            tuple(sequence_weights(self.spans)),
            tuple(self.windows),
            tuple(phases),
            shoulder_sequence="ZXY",
        )


def _step_windows(activity: GaitActivity, t0: float, t1: float) -> list[RepWindow]:
    """One window per step over the whole bout, start and stop ramps included.

    A step runs from one foot's initial contact to the other's: the gait phase crossing an integer
    (right) or an integer + ½ (left). The window carries the side of the foot that landed first.
    """
    t = np.arange(t0, t1, 0.005)
    phase = 2.0 * activity.cadence.phase(t)
    k = np.floor(phase)
    idx = np.flatnonzero(np.diff(k) > 0) + 1
    sides = ["right" if int(v) % 2 == 0 else "left" for v in k[idx]]
    return [
        RepWindow(activity.label, "knee", side, float(t[a]), float(t[b]))
        for side, (a, b) in zip(sides, itertools.pairwise(idx), strict=False)
    ]


def _rests(rng: np.random.Generator, reps: int, count: int, rest_s: tuple[float, float]) -> dict[int, float]:
    """``count`` rests before randomly chosen reps (never the first)."""
    if reps < 3 or count <= 0:
        return {}
    idx = rng.choice(np.arange(1, reps), size=min(count, reps - 1), replace=False)
    return {int(i): float(rng.uniform(*rest_s)) for i in idx}


def _station(
    chain: _Chain, k: int, rng: np.random.Generator, sk: Skeleton, a: HyroxAthlete, o: HyroxRaceOptions
) -> None:
    s = o.scale
    label = STATIONS[k - 1]
    few = int(rng.integers(0, 3))
    if label == "skierg":
        n = max(round(1000.0 * s / a.ski_m_per_stroke), 3)
        plan = RepPlan(n, 60.0 / (a.ski_spm * 1.45), _rests(rng, n, few, a.rest_s))
        chain.reps(*skierg(rng, sk, chain.t, chain.pos, plan))
    elif label == "sled-push":
        style = gait_style(SLED_PUSH, label, stride_hz=0.55 + 0.3 * (a.push_speed_mps - 0.22) / 0.2)
        for lane in range(2):
            chain.gait(
                rng,
                sk,
                style,
                25.0 * s / a.push_speed_mps,
                hold_s=float(rng.uniform(2.0, 6.0)) * (lane == 0),
                keep_windows=True,
            )
    elif label == "sled-pull":
        n = max(round(25.0 * s / a.rope_per_pull_m), 2)
        chain.reps(
            *sled_pull(rng, sk, chain.t, chain.pos, RepPlan(n, a.tempo, _rests(rng, n, few, a.rest_s)))
        )
        chain.gait(rng, sk, WALKING, max(25.0 * s / 1.2, 4.0))
        chain.reps(
            *sled_pull(rng, sk, chain.t, chain.pos, RepPlan(n, a.tempo, _rests(rng, n, few, a.rest_s)))
        )
    elif label == "burpee-broad-jumps":
        n = max(math.ceil(80.0 * s / a.jump_m), 2)
        plan = RepPlan(n, a.tempo, _rests(rng, n, few, a.rest_s))
        blend, windows, end_pos = burpee_broad_jumps(rng, sk, chain.t, chain.pos, plan, a.jump_m)
        chain.reps(blend, windows, end_pos)
    elif label == "rowing":
        n = max(round(1000.0 * s / a.row_m_per_stroke), 3)
        plan = RepPlan(n, 60.0 / (a.row_spm * 2.17), _rests(rng, n, few, a.rest_s))
        blend, windows = rowing(rng, sk, chain.t + 0.5, None, chain.pos + 1.0, plan)
        chain.reps(blend, [w for w in windows if w.side == "right"])
    elif label == "farmers-carry":
        style = gait_style(FARMERS_CARRY, label, stride_hz=a.carry_stride_hz)
        bouts = 1 + few
        for b in range(bouts):
            hold = float(rng.uniform(*a.rest_s)) if b < bouts - 1 else 0.0
            chain.gait(
                rng, sk, style, 200.0 * s / (1.3 * a.carry_stride_hz) / bouts, hold_s=hold, keep_windows=True
            )
    elif label == "sandbag-lunges":
        n = max(round(100.0 * s / (a.lunge_step_per_height * sk.height_m)), 2)
        plan = RepPlan(n, a.tempo, _rests(rng, n, few, a.rest_s))
        sandbag = {
            f"{j}_{side}": v
            for side in ("right", "left")
            for j, v in (("shoulder", (25.0, 60.0, 0.0)), ("elbow", (130.0, 0.0, 0.0)))
        }
        blend, windows, end_pos = lunges(
            rng,
            sk,
            chain.t,
            None,
            chain.pos,
            plan,
            step_per_height=a.lunge_step_per_height,
            arms=sandbag,
            label=label,
        )
        chain.reps(blend, windows, end_pos)
    else:
        chain.reps(*_wall_balls(chain, rng, sk, a, max(round(o.wall_balls * s), 3)))


def _wall_balls(
    chain: _Chain, rng: np.random.Generator, sk: Skeleton, a: HyroxAthlete, valid: int
) -> tuple[Activity, list[RepWindow]]:
    no_reps: set[int] = set()
    i = 0
    while i - len(no_reps) < valid:
        if rng.uniform() < a.no_rep_rate:
            no_reps.add(i)
        i += 1
    rests: dict[int, float] = {}
    j = int(rng.integers(a.wall_ball_set[0], a.wall_ball_set[1] + 1))
    while j < i:
        rests[j] = float(rng.uniform(*a.rest_s))
        j += int(rng.integers(a.wall_ball_set[0], a.wall_ball_set[1] + 1))
    plan = RepPlan(i, a.tempo, rests, frozenset(no_reps))
    blend, windows = wall_balls(rng, sk, chain.t, None, chain.pos, plan)
    return blend, [w for w in windows if w.side == "right"]


def hyrox_race_program(request: MovementRequest, options: HyroxRaceOptions | None = None) -> Program:
    """Build a full (or scaled) HYROX race for one athlete.

    Parameters
    ----------
    request : MovementRequest
        Its ``rng`` draws the athlete (unless given) and every rep; ``reps`` and ``duration_s`` must be
        None (the race sets its own length).
    options : HyroxRaceOptions, optional
        Scale, division, skipped stations, athlete.

    Returns
    -------
    Program
        Phases ``run``, ``roxzone`` and the station labels of :data:`STATIONS` in race order (a skipped
        station leaves one Roxzone between two runs); one rep window per counted rep, stroke or step
        (:data:`STATION_COUNTS`), wall-ball no-reps flagged ``incomplete``.
    """
    if request.reps is not None or request.duration_s is not None:
        raise SimulationError(
            "hyrox-race sets its own length: pass options=HyroxRaceOptions(scale=...), not reps or duration_s"
        )
    o = HyroxRaceOptions() if options is None else options
    rng, sk = request.rng, request.skeleton
    a = HyroxAthlete.draw(rng) if o.athlete is None else o.athlete
    chain = _Chain()
    for k in range(1, 9):
        speed = (
            a.run_speed_mps / (1.0 + a.run_fade * (k - 1) / 7.0) * (1.0 + 0.02 * float(rng.standard_normal()))
        )
        style = gait_style(
            RUNNING, RUN, stride_hz=a.cadence_spm / 120.0, speed_mps=speed, height_m=sk.height_m
        )
        chain.phase(RUN)
        chain.gait(rng, sk, style, 1000.0 * o.scale / speed)
        chain.phase(ROXZONE)
        rox = [max(float(rng.uniform(*a.roxzone_s)) * o.scale, _ROX_MIN_S) for _ in range(2)]
        chain.gait(rng, sk, WALKING, rox[0], hold_s=float(rng.uniform(0.5, 3.0)))
        if k in o.skip_stations:
            chain.gait(rng, sk, WALKING, rox[1])
            continue
        chain.phase(STATIONS[k - 1])
        _station(chain, k, rng, sk, a, o)
        if k < 8:
            chain.phase(ROXZONE)
            chain.gait(rng, sk, WALKING, rox[1])
    return chain.program()
