"""Scheduling repetitions with natural variation: tempo, amplitude and pauses drawn per rep."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from imurehab.errors import SimulationError
from imurehab.simulate.program import RepWindow
from imurehab.simulate.trajectory import MinJerkPath

__all__ = ["RepDraft", "Tempo", "plan_reps"]

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
