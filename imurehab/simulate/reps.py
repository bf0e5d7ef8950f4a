"""Scheduling repetitions with natural variation (tempo, amplitude, pauses) and chosen deviations."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from imurehab.errors import SimulationError
from imurehab.simulate.body import Skeleton
from imurehab.simulate.program import RepWindow
from imurehab.simulate.trajectory import MinJerkPath

__all__ = ["MovementRequest", "RepDraft", "RepVariation", "Tempo", "plan_reps"]

Knots = list[tuple[float, float]]


@dataclass(frozen=True)
class Tempo:
    """Nominal phase durations of a rep [s] and how much they vary.

    Attributes
    ----------
    out_s : float
        From rest to the turning point (the concentric phase of a knee extension, the descent of a squat).
    hold_s : float
        Hold at the turning point.
    back_s : float
        From the turning point back to rest.
    pause_s : tuple of float
        Range of the rest between reps (uniform).
    spread : float
        Relative standard deviation of each rep's tempo (one factor per rep, clipped to ±2.5 sd).
    """

    out_s: float
    hold_s: float
    back_s: float
    pause_s: tuple[float, float]
    spread: float = 0.12

    def draw(self, rng: np.random.Generator) -> tuple[float, float, float]:
        """Durations (out, hold, back) [s] of one rep."""
        f = 1.0 + self.spread * float(np.clip(rng.standard_normal(), -2.5, 2.5))
        h = float(rng.uniform(0.6, 1.4))
        return self.out_s * f, self.hold_s * h, self.back_s * f


@dataclass(frozen=True)
class RepDraft:
    """One planned rep: knots to append to each path, its span, and the rep windows it yields."""

    start_s: float
    end_s: float
    knots: Sequence[Knots]
    windows: Sequence[RepWindow]


def _append(knots: Knots, t: float, v: float) -> None:
    last_t, last_v = knots[-1]
    if t <= last_t + 1e-9:
        if abs(v - last_v) > 1e-12 or t < last_t - 1e-9:
            raise ValueError(f"knot ({t}, {v}) does not follow ({last_t}, {last_v})")
        return
    knots.append((t, v))


def plan_reps(
    rng: np.random.Generator,
    make_rep: Callable[[np.random.Generator, float, int], RepDraft],
    *,
    initial: Sequence[float],
    t_start: float,
    pause_s: tuple[float, float],
    reps: int | None,
    until_s: float | None,
    what: str,
) -> tuple[list[MinJerkPath], list[RepWindow], float]:
    """Lay reps end to end with random pauses.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the variation.
    make_rep : callable
        ``make_rep(rng, t0, index)`` plans the rep starting at ``t0`` [s].
    initial : sequence of float
        Rest value of each path (the value held before the first rep).
    t_start : float
        Start of the first rep [s].
    pause_s : tuple of float
        Range of the pause between reps [s].
    reps : int, optional
        Exactly this many reps; an error if they end after ``until_s``.
    until_s : float, optional
        Latest end of a rep [s]; without ``reps``, as many reps as fit.
    what : str
        Movement name for error messages.

    Returns
    -------
    paths, windows, end_s
        One path per ``initial`` value, the rep windows, and the end of the last rep [s].
    """
    if reps is None and until_s is None:
        raise ValueError("give reps or until_s")
    knots: list[Knots] = [[(0.0, float(v))] for v in initial]
    windows: list[RepWindow] = []
    t, end, count = t_start, t_start, 0
    while reps is None or count < reps:
        draft = make_rep(rng, t, count)
        if until_s is not None and draft.end_s > until_s:
            if reps is not None:
                raise SimulationError(
                    f"{what}: {reps} reps do not fit in the requested duration; "
                    f"about {count} fit, pass a longer duration_s or fewer reps"
                )
            break
        for path, new in zip(knots, draft.knots, strict=True):
            for tk, vk in new:
                _append(path, tk, vk)
        windows.extend(draft.windows)
        end = draft.end_s
        count += 1
        t = end + float(rng.uniform(*pause_s))
    if count == 0:
        raise SimulationError(f"{what}: the requested duration is too short for a single rep")
    paths = [MinJerkPath(np.array([k[0] for k in p]), np.array([k[1] for k in p])) for p in knots]
    return paths, windows, end


@dataclass(frozen=True)
class RepVariation:
    """How some reps of a session deviate from the plain exercise.

    Attributes
    ----------
    compensation : str, optional
        Name of the compensation (``"trunk-lean"``, ``"hip-hike"``, ...); None: none.
    compensation_deg : float
        Size of the compensating angle change at the rep's turning point [deg].
    compensated_reps : int, optional
        How many reps compensate (chosen by the seed); None: every rep.
    incomplete_reps : int
        How many reps (chosen by the seed) stop at 40–70 % of the full amplitude.
    tempo_jitter : float, optional
        Relative standard deviation of each rep's out and back durations (clipped to ±2.5 sd); None:
        the movement's own (:attr:`Tempo.spread`, 0.12).
    calibration_pose_sd_deg : float, optional
        Open the session with a hold in the instructed calibration pose (see
        :data:`~imurehab.simulate.rehab.CALIBRATION_HOLD_S`), each of its joints' first angle off by a
        normal error of this standard deviation [deg]; None: no hold, the session starts at rest.
    """

    compensation: str | None = None
    compensation_deg: float = 15.0
    compensated_reps: int | None = None
    incomplete_reps: int = 0
    tempo_jitter: float | None = None
    calibration_pose_sd_deg: float | None = None

    @property
    def is_plain(self) -> bool:
        """True if nothing deviates from the plain exercise."""
        return (
            self.compensation is None
            and self.incomplete_reps == 0
            and self.tempo_jitter is None
            and self.calibration_pose_sd_deg is None
        )

    def choose(self, rng: np.random.Generator, count: int) -> tuple[dict[int, float], frozenset[int]]:
        """Pick the deviating reps among ``count`` (0-based indices).

        Returns
        -------
        incomplete : dict
            Rep index → fraction of the full amplitude it reaches (uniform in [0.4, 0.7]).
        compensated : frozenset of int
            Indices of the compensating reps.
        """
        if self.incomplete_reps > count or (self.compensated_reps or 0) > count:
            raise SimulationError(
                f"asked for {self.incomplete_reps} incomplete and {self.compensated_reps or 0} compensated "
                f"reps, but the session has only {count} reps"
            )
        picked = rng.choice(count, size=self.incomplete_reps, replace=False)
        fractions = rng.uniform(0.4, 0.7, self.incomplete_reps)
        incomplete = {int(i): float(f) for i, f in zip(picked, fractions, strict=True)}
        if self.compensation is None:
            compensated: frozenset[int] = frozenset()
        elif self.compensated_reps is None:
            compensated = frozenset(range(count))
        else:
            compensated = frozenset(
                int(i) for i in rng.choice(count, size=self.compensated_reps, replace=False)
            )
        return incomplete, compensated


@dataclass(frozen=True)
class MovementRequest:
    """What the caller asked for; ``reps`` and ``duration_s`` may both be None (defaults apply).

    Attributes
    ----------
    rng : numpy.random.Generator
        The movement's natural variation (tempo, amplitude, pauses).
    skeleton : Skeleton
        Body geometry.
    reps : int, optional
        Number of reps.
    duration_s : float, optional
        Session length [s].
    side : str
        ``"right"`` or ``"left"``.
    variation : RepVariation
        Chosen deviations (compensations, incomplete reps, tempo jitter).
    variation_rng : numpy.random.Generator, optional
        A separate stream for the deviations, so a plain session draws exactly what it always drew.
    """

    rng: np.random.Generator
    skeleton: Skeleton
    reps: int | None
    duration_s: float | None
    side: str
    variation: RepVariation = RepVariation()
    variation_rng: np.random.Generator | None = None
