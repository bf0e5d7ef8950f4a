"""A HYROX athlete: how fast they run and fade, stroke rates, lengths, rests, no-reps; drawn per seed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["HyroxAthlete"]


@dataclass(frozen=True)
class HyroxAthlete:
    """How one athlete races (speeds, rates, lengths, rests). Draw one with :meth:`draw`.

    Attributes
    ----------
    level : float
        0 = elite … 1 = recreational; the other attributes are drawn around it.
    run_speed_mps : float
        Speed of the first run [m/s].
    run_fade : float
        Fraction by which run 8 is slower than run 1 (linear across the runs, ±2 % noise per run).
    cadence_spm : float
        Running cadence [steps/min].
    ski_spm, row_spm : float
        Stroke rates [strokes/min].
    ski_m_per_stroke, row_m_per_stroke : float
        Erg distance per stroke [m].
    tempo : float
        Duration factor of station reps (wall balls, lunges, burpees, pulls; 1 = nominal).
    push_speed_mps : float
        Sled push speed while moving [m/s].
    rope_per_pull_m : float
        Rope gained per arm pull on the sled pull [m].
    jump_m : float
        Broad jump length [m].
    carry_stride_hz : float
        Farmers carry stride frequency [Hz].
    lunge_step_per_height : float
        Lunge step length / body height.
    wall_ball_set : tuple of int
        Range of the wall-ball set size [reps].
    rest_s : tuple of float
        Range of a rest inside a station [s].
    no_rep_rate : float
        Probability that a wall ball is a no-rep.
    roxzone_s : tuple of float
        Range of one Roxzone transition [s].
    """

    level: float
    run_speed_mps: float
    run_fade: float
    cadence_spm: float
    ski_spm: float
    row_spm: float
    ski_m_per_stroke: float
    row_m_per_stroke: float
    tempo: float
    push_speed_mps: float
    rope_per_pull_m: float
    jump_m: float
    carry_stride_hz: float
    lunge_step_per_height: float
    wall_ball_set: tuple[int, int]
    rest_s: tuple[float, float]
    no_rep_rate: float
    roxzone_s: tuple[float, float]

    @classmethod
    def draw(cls, rng: np.random.Generator) -> HyroxAthlete:
        """A random athlete: one level in [0, 1] plus independent variation of every attribute."""
        lv = float(rng.uniform(0.0, 1.0))

        def around(elite: float, recreational: float, spread: float = 0.05) -> float:
            return (elite + (recreational - elite) * lv) * (1.0 + spread * float(rng.standard_normal()))

        set_lo = round(around(25.0, 8.0, 0.15))
        return cls(
            level=lv,
            run_speed_mps=1000.0 / around(220.0, 390.0),
            run_fade=float(np.clip(around(0.04, 0.14, 0.4), 0.02, 0.18)),
            cadence_spm=around(182.0, 162.0, 0.03),
            ski_spm=float(np.clip(around(46.0, 36.0), 34.0, 48.0)),
            row_spm=float(np.clip(around(31.0, 25.0), 24.0, 32.0)),
            ski_m_per_stroke=around(6.2, 5.3),
            row_m_per_stroke=around(9.4, 7.6),
            tempo=around(0.8, 1.15),
            push_speed_mps=around(0.42, 0.22, 0.1),
            rope_per_pull_m=around(0.6, 0.4, 0.1),
            jump_m=around(2.1, 1.5),
            carry_stride_hz=around(1.15, 0.95, 0.03),
            lunge_step_per_height=around(0.52, 0.42),
            wall_ball_set=(max(set_lo, 5), max(set_lo, 5) + int(rng.integers(3, 15))),
            rest_s=(3.0, around(8.0, 20.0, 0.2)),
            no_rep_rate=float(rng.uniform(0.0, 0.05)),
            roxzone_s=(around(12.0, 20.0), around(25.0, 45.0)),
        )
