"""A session's summary for a clinician: ROM with uncertainty, norms, and change since last time.

Turns the per-repetition descriptions of one set (:func:`~imurehab.analysis.rep_quality`) into the
numbers a physiotherapist writes down — "knee flexion ROM 112° ± 2°, 10 reps, reps 8–10 short of
target" — compares the best angle reached with the normal range (AAOS, :mod:`imurehab.analysis.norms`)
and tells whether the change since the previous session exceeds the minimal detectable change.

Minimal detectable change (MDC)
-------------------------------
``MDC95 = 1.96 · √2 · SEM`` is the smallest change that exceeds measurement error with 95% confidence
(Weir JP, J Strength Cond Res 19(1):231–240, 2005; Haley SM & Fragala-Pinkham MA, Phys Ther
86(5):735–743, 2006). A published MDC comes from a test–retest study and covers the patient's
day-to-day variation as well as the instrument; imurehab ships none, because no study measured it for
this tool. Pass one (``mdc_deg`` with ``mdc_source``) when you have it. Otherwise the MDC is computed
from this measurement's own uncertainty — ``1.96 · √(u₁² + u₂²)`` with ``u`` each session's standard
uncertainty of the mean ROM (the same formula with unequal sessions) — which covers measurement error
and rep-to-rep scatter only, so it is a lower bound for a clinical MDC, and the summary says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from types import MappingProxyType
from typing import Any, Final

import numpy as np

from imurehab.analysis._readonly import ReadOnlyMappings
from imurehab.analysis.norms import NormalRange, normal_range
from imurehab.analysis.quality import RepQuality
from imurehab.errors import DataValidationError
from imurehab.exercises import ExerciseTemplate

__all__ = [
    "MEASUREMENT_MDC_SOURCE",
    "NormComparison",
    "SessionChange",
    "SessionSummary",
    "compare_sessions",
    "summarize_session",
]

_Z95: Final[float] = 1.959963984540054  # two-sided 95% quantile of the standard normal

MEASUREMENT_MDC_SOURCE: Final[str] = (
    "MDC95 from this measurement's own uncertainty, 1.96·√(u_previous² + u_current²) with u the "
    "standard uncertainty of each session's mean ROM (per-rep uncertainty and rep-to-rep scatter); "
    "formula MDC95 = 1.96·√2·SEM (Weir 2005, J Strength Cond Res 19:231–240; Haley & Fragala-Pinkham "
    "2006, Phys Ther 86:735–743). Covers measurement error only, not the patient's day-to-day "
    "variation: a lower bound for a clinical MDC"
)
"""What the default MDC is and where its formula comes from."""


@dataclass(frozen=True)
class NormComparison:
    """The best angle of a set against the normal range of the motion.

    Attributes
    ----------
    normal : NormalRange
        The normative value and its source.
    reached_deg : float
        The furthest angle reached in the motion's direction over the set [deg].
    deficit_deg : float
        How far short of the normal angle the set stayed [deg]; negative when it went beyond.
    percent_of_normal : float or None
        ``reached_deg / normal_deg × 100`` [%], ``None`` when the normal angle is 0° (extension).
    """

    normal: NormalRange
    reached_deg: float
    deficit_deg: float
    percent_of_normal: float | None

    def to_dict(self) -> dict[str, Any]:
        """The comparison as a JSON-ready dict (``normal`` nested)."""
        return {**vars(self), "normal": self.normal.to_dict()}


@dataclass(frozen=True)
class SessionChange:
    """The change of mean ROM since a previous session, against the minimal detectable change.

    Attributes
    ----------
    previous_rom_mean_deg, current_rom_mean_deg : float
        Mean ROM per repetition of the two sessions [deg].
    change_deg : float
        Current minus previous [deg].
    mdc_deg : float
        The minimal detectable change used (MDC95) [deg].
    exceeds_mdc : bool
        ``abs(change_deg) > mdc_deg``.
    mdc_source : str
        Which MDC it is and where it comes from.
    """

    previous_rom_mean_deg: float
    current_rom_mean_deg: float
    change_deg: float
    mdc_deg: float
    exceeds_mdc: bool
    mdc_source: str

    def to_dict(self) -> dict[str, Any]:
        """The change as a JSON-ready dict (keys as the attributes)."""
        return dict(vars(self))


@dataclass(frozen=True)
class SessionSummary(ReadOnlyMappings):
    """One set of repetitions, summarised.

    Attributes
    ----------
    exercise : str or None
        Template name.
    joint : str or None
        Joint the repetitions were counted on.
    side : str or None
        ``"left"``, ``"right"`` or ``None``.
    n_reps : int
        Number of repetitions.
    reps : tuple of int
        Repetition numbers.
    rom_deg : tuple of float
        ROM of each repetition [deg].
    rom_uncertainty_deg : tuple of float
        Standard uncertainty (one standard deviation) of each repetition's ROM [deg], as given.
    rom_mean_deg, rom_sd_deg : float or None
        Mean and sample standard deviation (n − 1) of the ROMs [deg]; ``None`` without repetitions
        (the SD also with a single one).
    rom_best_deg : float or None
        Largest ROM [deg].
    rom_best_rep : int or None
        The repetition it came from.
    rom_mean_uncertainty_deg : float or None
        Standard uncertainty of the mean ROM [deg]: ``√(u_rms² + SD²/n)`` with ``u_rms`` the RMS of
        the per-repetition uncertainties, counted as shared by all repetitions (a sensor's placement
        error does not average out), and ``SD²/n`` the rep-to-rep scatter.
    flags : Mapping of str to tuple of int
        Each flag seen, with the repetitions that carry it.
    norm : NormComparison or None
        The best angle against the normal range, where one is known.
    change : SessionChange or None
        Change since the previous session, when one was given.
    """

    exercise: str | None
    joint: str | None
    side: str | None
    n_reps: int
    reps: tuple[int, ...]
    rom_deg: tuple[float, ...]
    rom_uncertainty_deg: tuple[float, ...]
    rom_mean_deg: float | None
    rom_sd_deg: float | None
    rom_best_deg: float | None
    rom_best_rep: int | None
    rom_mean_uncertainty_deg: float | None
    flags: Mapping[str, tuple[int, ...]] = field(default_factory=lambda: MappingProxyType({}))
    norm: NormComparison | None = None
    change: SessionChange | None = None

    def to_dict(self) -> dict[str, Any]:
        """The summary as a JSON-ready dict (nested objects as dicts, tuples as lists)."""
        return {
            **vars(self),
            **{k: list(getattr(self, k)) for k in ("reps", "rom_deg", "rom_uncertainty_deg")},
            "flags": {k: list(v) for k, v in self.flags.items()},
            "norm": self.norm.to_dict() if self.norm is not None else None,
            "change": self.change.to_dict() if self.change is not None else None,
        }

    def text(self) -> str:
        """The summary as short lines of text for a clinician (angles in whole degrees, small ± in tenths).

        Returns
        -------
        str
            One line per item, e.g. ``"ROM mean 108° ± 3.1° (SD 4°), best 112° ± 2.0° (rep 2)"``.
        """
        what = " ".join(x for x in (self.side, self.joint) if x)
        head = f"{self.exercise or 'repetitions'}{f' ({what})' if what else ''}: {self.n_reps} reps"
        lines = [head]
        if self.n_reps:
            per_rep = ", ".join(
                f"{r}: {_deg(rom)} ± {_pm(u)}"
                for r, rom, u in zip(self.reps, self.rom_deg, self.rom_uncertainty_deg, strict=True)
            )
            lines.append(f"ROM per rep: {per_rep}")
            assert self.rom_mean_deg is not None and self.rom_best_deg is not None
            sd = f" (SD {_deg(self.rom_sd_deg)})" if self.rom_sd_deg is not None else ""
            best_u = self.rom_uncertainty_deg[self.reps.index(self.rom_best_rep or 0)]
            lines.append(
                f"ROM mean {_deg(self.rom_mean_deg)} ± {_pm(self.rom_mean_uncertainty_deg or 0.0)}{sd}, "
                f"best {_deg(self.rom_best_deg)} ± {_pm(best_u)} (rep {self.rom_best_rep})"
            )
        lines += [f"{flag}: {_rep_ranges(reps)}" for flag, reps in self.flags.items()]
        if self.norm is not None:
            n = self.norm
            pct = f", {n.percent_of_normal:.0f}% of normal" if n.percent_of_normal is not None else ""
            short = f"{_deg(n.deficit_deg)} short" if n.deficit_deg > 0 else f"{_deg(-n.deficit_deg)} beyond"
            lines.append(
                f"normal {n.normal.joint} {n.normal.motion} {_deg(n.normal.normal_deg)}: reached "
                f"{_deg(n.reached_deg)}, {short}{pct} [{n.normal.source}]"
            )
        if self.change is not None:
            c = self.change
            verdict = "exceeds" if c.exceeds_mdc else "within"
            lines.append(
                f"mean ROM change since previous session {c.change_deg:+.0f}°, {verdict} the MDC95 of "
                f"{_deg(c.mdc_deg)} [{c.mdc_source}]"
            )
        return "\n".join(lines)


def _deg(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}°"


def _pm(value: float) -> str:
    """An uncertainty: one decimal below 10° (so 0.5° does not read as 0°), whole degrees above."""
    return f"{value:.1f}°" if value < 10 else f"{value:.0f}°"


def _rep_ranges(reps: Sequence[int]) -> str:
    """``[1, 2, 3, 5]`` → ``"reps 1–3, 5"``."""
    runs = [[r for _, r in g] for _, g in groupby(enumerate(reps), key=lambda p: p[1] - p[0])]
    parts = [f"{run[0]}–{run[-1]}" if len(run) > 2 else ", ".join(map(str, run)) for run in runs]
    return f"rep{'s' if len(reps) > 1 else ''} {', '.join(parts)}"


def _uncertainties(value: float | Sequence[float], n: int) -> tuple[float, ...]:
    u = np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)) if np.ndim(value) == 0 else None
    u = np.asarray(value, dtype=np.float64) if u is None else u
    if u.shape != (n,):
        raise DataValidationError(
            f"expected one uncertainty or one per repetition ({n}), got {u.size}",
            column="rom_uncertainty_deg",
        )
    if not (np.isfinite(u).all() and (u >= 0).all()):
        raise DataValidationError("uncertainties must be finite and ≥ 0", column="rom_uncertainty_deg")
    return tuple(float(x) for x in u)


def _norm_comparison(quality: Sequence[RepQuality], normal: NormalRange | None) -> NormComparison | None:
    if normal is None or not quality:
        return None
    if normal.direction == "increase":
        reached = max(q.max_deg for q in quality)
        deficit = normal.normal_deg - reached
    else:
        reached = min(q.min_deg for q in quality)
        deficit = reached - normal.normal_deg
    pct = reached / normal.normal_deg * 100.0 if normal.normal_deg != 0 else None
    return NormComparison(normal, reached, deficit, pct)


def compare_sessions(
    current: SessionSummary,
    previous: SessionSummary,
    *,
    mdc_deg: float | None = None,
    mdc_source: str | None = None,
) -> SessionChange | None:
    """The change of mean ROM between two sessions, and whether it exceeds the MDC.

    Parameters
    ----------
    current, previous : SessionSummary
        The two sessions (same exercise, joint and side: not checked).
    mdc_deg : float, optional
        A minimal detectable change (MDC95) to use [deg], e.g. from a published test–retest study
        of the same measurement; give its citation as ``mdc_source``. Without it the MDC is computed
        from the two sessions' uncertainties (see the module notes and
        :data:`MEASUREMENT_MDC_SOURCE`).
    mdc_source : str, optional
        Where ``mdc_deg`` comes from; required with ``mdc_deg``.

    Returns
    -------
    SessionChange or None
        ``None`` when either session has no repetitions.

    Raises
    ------
    DataValidationError
        ``mdc_deg`` is negative or not finite, or given without ``mdc_source``.

    Examples
    --------
    >>> a = summarize_session([], rom_uncertainty_deg=2.0)
    >>> compare_sessions(a, a) is None
    True
    """
    if mdc_deg is not None:
        if not (math.isfinite(mdc_deg) and mdc_deg >= 0):
            raise DataValidationError(f"mdc_deg must be finite and ≥ 0, got {mdc_deg!r}", column="mdc_deg")
        if not mdc_source:
            raise DataValidationError("give mdc_source (the study the MDC comes from)", column="mdc_source")
    if current.rom_mean_deg is None or previous.rom_mean_deg is None:
        return None
    if mdc_deg is None:
        u_now, u_before = current.rom_mean_uncertainty_deg or 0.0, previous.rom_mean_uncertainty_deg or 0.0
        mdc_deg, mdc_source = _Z95 * math.hypot(u_now, u_before), MEASUREMENT_MDC_SOURCE
    change = current.rom_mean_deg - previous.rom_mean_deg
    assert mdc_source is not None
    return SessionChange(
        previous.rom_mean_deg, current.rom_mean_deg, change, mdc_deg, abs(change) > mdc_deg, mdc_source
    )


def summarize_session(
    quality: Sequence[RepQuality],
    *,
    rom_uncertainty_deg: float | Sequence[float],
    template: ExerciseTemplate | None = None,
    side: str | None = None,
    norm: NormalRange | None = None,
    previous: SessionSummary | None = None,
    mdc_deg: float | None = None,
    mdc_source: str | None = None,
) -> SessionSummary:
    """Summarise one set of repetitions.

    Parameters
    ----------
    quality : sequence of RepQuality
        The set's repetitions (:func:`~imurehab.analysis.rep_quality`).
    rom_uncertainty_deg : float or sequence of float
        Standard uncertainty (one standard deviation) of each repetition's ROM [deg]: one value for
        all, or one per repetition.
    template : ExerciseTemplate, optional
        The exercise: names the joint and, through its joint, angle and direction, the normal range.
    side : {"left", "right"}, optional
        The side exercised.
    norm : NormalRange, optional
        The normal range to compare with; by default looked up for the template's joint, ``dof`` and
        direction in :data:`~imurehab.analysis.norms.NORMAL_RANGES`.
    previous : SessionSummary, optional
        The previous session of the same exercise, to report the change (see :func:`compare_sessions`).
    mdc_deg, mdc_source : float and str, optional
        A published MDC95 [deg] and its citation (see :func:`compare_sessions`).

    Returns
    -------
    SessionSummary

    Raises
    ------
    DataValidationError
        The uncertainties are negative, not finite, or not one per repetition; see also
        :func:`compare_sessions`.

    Examples
    --------
    >>> from imurehab.analysis import RepQuality
    >>> reps = [RepQuality(i, 0, 1, 2, 0.0, 4.0, 0.0, rom, rom, rom, 4.0, 2.0, 2.0, 60.0, None, None)
    ...         for i, rom in enumerate([108.0, 112.0, 104.0], start=1)]
    >>> s = summarize_session(reps, rom_uncertainty_deg=2.0)
    >>> s.rom_mean_deg, s.rom_sd_deg, s.rom_best_deg, s.rom_best_rep
    (108.0, 4.0, 112.0, 2)
    >>> print(s.text().splitlines()[2])
    ROM mean 108° ± 3.1° (SD 4°), best 112° ± 2.0° (rep 2)
    """
    n = len(quality)
    u = _uncertainties(rom_uncertainty_deg, n)
    roms = tuple(q.rom_deg for q in quality)
    reps = tuple(q.rep for q in quality)
    flags: dict[str, list[int]] = {}
    for q in quality:
        for flag in q.flags:
            flags.setdefault(flag, []).append(q.rep)
    if norm is None and template is not None:
        norm = normal_range(template.joint, template.dof, template.direction)
    mean = sd = best = best_rep = mean_u = None
    if n:
        arr = np.asarray(roms)
        mean = float(arr.mean())
        sd = float(arr.std(ddof=1)) if n > 1 else None
        i_best = int(np.argmax(arr))
        best, best_rep = roms[i_best], reps[i_best]
        u_rms = float(np.sqrt(np.mean(np.square(u))))
        mean_u = math.sqrt(u_rms**2 + (sd or 0.0) ** 2 / n)
    summary = SessionSummary(
        exercise=template.name if template is not None else None,
        joint=template.joint if template is not None else None,
        side=side,
        n_reps=n,
        reps=reps,
        rom_deg=roms,
        rom_uncertainty_deg=u,
        rom_mean_deg=mean,
        rom_sd_deg=sd,
        rom_best_deg=best,
        rom_best_rep=best_rep,
        rom_mean_uncertainty_deg=mean_u,
        flags=MappingProxyType({k: tuple(v) for k, v in flags.items()}),
        norm=_norm_comparison(quality, norm),
    )
    if previous is None:
        return summary
    change = compare_sessions(summary, previous, mdc_deg=mdc_deg, mdc_source=mdc_source)
    return SessionSummary(**{**summary.__dict__, "change": change})
