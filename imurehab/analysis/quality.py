"""Per-repetition quality: range, tempo, peak velocity, smoothness and flags against a template.

Takes the angle trace a set of repetitions was found in (:func:`~imurehab.analysis.segment_reps`)
and, optionally, the exercise's template and the angles of other joints, and describes each
repetition the way a physiotherapist would: how far it went, how long it took, how smooth it was and
what was wrong with it. Flags use the vocabulary of the ``reps`` table: ``"rom_short"``,
``"too_fast"``, ``"too_slow"``, ``"incomplete"`` and ``"compensation:<check name>"``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from scipy.ndimage import uniform_filter1d
from scipy.signal import butter, sosfiltfilt

from imurehab.analysis._readonly import ReadOnlyMappings
from imurehab.analysis.reps import Rep
from imurehab.analysis.smoothness import log_dimensionless_jerk, sparc
from imurehab.errors import DataValidationError
from imurehab.exercises import CompensationCheck, ExerciseTemplate

__all__ = [
    "FLAG_INCOMPLETE",
    "FLAG_ROM_SHORT",
    "FLAG_TOO_FAST",
    "FLAG_TOO_SLOW",
    "RepQuality",
    "angle_key",
    "compensation_flag",
    "rep_quality",
    "watched_side",
]

FLAG_ROM_SHORT: Final[str] = "rom_short"
"""The repetition fell short of the template's target angle or ROM by more than its tolerance."""
FLAG_TOO_FAST: Final[str] = "too_fast"
"""The repetition took less than the template's ``min_rep_s``."""
FLAG_TOO_SLOW: Final[str] = "too_slow"
"""The repetition took more than the template's ``max_rep_s``."""
FLAG_INCOMPLETE: Final[str] = "incomplete"
"""A half repetition: much smaller than the set's others, or not returning to (starting from) rest."""

_SMOOTH_S: Final[float] = 0.1  # the same 0.1 s moving average segment_reps measures ROM on
_FILTER_ORDER: Final[int] = 2  # Butterworth order, applied forward and backward (zero phase)
_MIN_REPS_FOR_MEDIAN: Final[int] = 3  # a set's median ROM means little with fewer repetitions
_REST_SPEED_FRACTION: Final[float] = 0.05  # movement starts and ends where speed is 5% of its peak


def angle_key(joint: str, side: str | None, dof: str) -> str:
    """The key naming one angle trace in ``extra_angles``: ``"<joint>[_<side>]:<dof>"``.

    Parameters
    ----------
    joint : str
        Joint name (``"knee"``, ``"lumbar"``, ...).
    side : str or None
        ``"left"``, ``"right"``, or ``None`` for a midline joint.
    dof : str
        Angle column (``"flexion_deg"``, ``"abduction_deg"``, ``"rotation_deg"``).

    Returns
    -------
    str

    Examples
    --------
    >>> angle_key("lumbar", None, "flexion_deg"), angle_key("knee", "right", "abduction_deg")
    ('lumbar:flexion_deg', 'knee_right:abduction_deg')
    """
    return f"{joint}_{side}:{dof}" if side else f"{joint}:{dof}"


def compensation_flag(check: CompensationCheck) -> str:
    """The flag a repetition gets when ``check`` fires: ``"compensation:<name>"``.

    Parameters
    ----------
    check : CompensationCheck
        A template's compensation check.

    Returns
    -------
    str
    """
    return f"compensation:{check.name}"


@dataclass(frozen=True)
class RepQuality(ReadOnlyMappings):
    """One repetition described for a clinician.

    Attributes
    ----------
    rep : int
        1-based repetition number (as :attr:`Rep.rep`).
    start, peak, end : int
        Sample indices of onset, extreme and offset (as in :class:`Rep`).
    start_s, end_s : float
        Onset and offset times from the start of the trace [s].
    min_deg, max_deg, rom_deg : float
        Smallest and largest angle and their difference [deg] (as in :class:`Rep`).
    peak_deg : float
        The angle at the repetition's extreme [deg] (raw trace).
    duration_s : float
        Offset minus onset [s].
    time_to_peak_s, time_to_return_s : float
        Onset to extreme, and extreme to offset [s].
    peak_velocity_deg_s : float
        Largest absolute angular velocity between onset and offset [deg/s].
    sparc : float or None
        Spectral arc length of the angular speed (dimensionless, negative; closer to 0 is smoother),
        ``None`` where the repetition is too short to measure. Measured from rest to rest (where the
        speed is 5% of the repetition's peak), so a perfectly smooth out-and-back repetition — two
        bells of speed — scores about -2.3, lower than a single reach (about -1.4).
    ldlj : float or None
        Log dimensionless jerk of the angular velocity over the same window (dimensionless,
        negative; closer to 0 is smoother), ``None`` where it cannot be measured.
    compensation_deg : Mapping of str to float
        For each compensation check that could be evaluated (its watched angle was given): the
        largest departure of that angle from its value at onset during the repetition [deg].
    flags : tuple of str
        Quality flags, in the order ``rom_short``, ``too_fast``, ``too_slow``, ``incomplete``, then
        ``compensation:<name>`` in template order.
    """

    rep: int
    start: int
    peak: int
    end: int
    start_s: float
    end_s: float
    min_deg: float
    max_deg: float
    rom_deg: float
    peak_deg: float
    duration_s: float
    time_to_peak_s: float
    time_to_return_s: float
    peak_velocity_deg_s: float
    sparc: float | None
    ldlj: float | None
    compensation_deg: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    flags: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The repetition as a JSON-ready dict (keys as the attributes)."""
        return {**vars(self), "compensation_deg": dict(self.compensation_deg), "flags": list(self.flags)}


def _trace(values: npt.ArrayLike, column: str, n: int | None = None) -> npt.NDArray[np.float64]:
    a = np.asarray(values, dtype=np.float64)
    if a.ndim != 1:
        raise DataValidationError(f"must be one-dimensional, got shape {a.shape}", column=column)
    if n is not None and a.size != n:
        raise DataValidationError(f"has {a.size} samples, the angle trace {n}", column=column)
    if not np.isfinite(a).all():
        raise DataValidationError("holds NaN or inf", column=column)
    return a


def _lowpass(a: npt.NDArray[np.float64], rate_hz: float, cutoff_hz: float | None) -> npt.NDArray[np.float64]:
    if cutoff_hz is None or cutoff_hz >= 0.5 * rate_hz:
        return a
    sos = butter(_FILTER_ORDER, cutoff_hz, fs=rate_hz, output="sos")
    return np.asarray(sosfiltfilt(sos, a, padlen=min(a.size - 1, 3 * (2 * _FILTER_ORDER + 1))))


def _short_of_target(rep: Rep, template: ExerciseTemplate) -> bool:
    tol = template.tolerance_deg
    if template.target_rom_deg is not None and template.target_rom_deg - rep.rom_deg > tol:
        return True
    if template.target_deg is None:
        return False
    if template.direction == "increase":
        return template.target_deg - rep.max_deg > tol
    return rep.min_deg - template.target_deg > tol


def watched_side(check: CompensationCheck, side: str | None) -> tuple[bool, str | None]:
    """Which side's joint a compensation check watches when the exercise is done on ``side``.

    Parameters
    ----------
    check : CompensationCheck
        A template's check (``side`` None for a midline joint, ``"same"`` or ``"other"``).
    side : {"left", "right"} or None
        The side exercised.

    Returns
    -------
    (bool, str or None)
        Whether the check can be watched at all (a sided check needs the exercised side), and the
        watched side (None for a midline joint).

    Examples
    --------
    >>> from imurehab.exercises import CompensationCheck
    >>> check = CompensationCheck("leg-roll", "hip", "other", "rotation_deg", 10.0, "keep still")
    >>> watched_side(check, "right"), watched_side(check, None)
    ((True, 'left'), (False, None))
    """
    if check.side is None:
        return True, None
    if side is None:
        return False, None
    return True, side if check.side == "same" else {"left": "right", "right": "left"}[side]


def _watched_key(check: CompensationCheck, side: str | None) -> str | None:
    ok, watched = watched_side(check, side)
    return angle_key(check.joint, watched, check.dof) if ok else None


def _movement_window(speed: npt.NDArray[np.float64], rep: Rep, lo: int, hi: int) -> slice:
    """From where the speed first rises above 5% of its peak before onset to where it last falls below.

    A repetition's onset and offset sit where the angle crosses 10% of its excursion, when the joint is
    already moving fast; smoothness wants the whole movement, from rest to rest, within ``[lo, hi]``.
    """
    level = _REST_SPEED_FRACTION * float(np.max(speed[rep.start : rep.end + 1]))
    before = np.flatnonzero(speed[lo : rep.start + 1] <= level)
    after = np.flatnonzero(speed[rep.end : hi + 1] <= level)
    first = lo + int(before[-1]) if before.size else lo
    last = rep.end + int(after[0]) if after.size else hi
    return slice(first, last + 1)


def _smoothness(velocity: npt.NDArray[np.float64], rate_hz: float) -> tuple[float | None, float | None]:
    try:
        return sparc(np.abs(velocity), rate_hz), log_dimensionless_jerk(velocity, rate_hz)
    except DataValidationError:  # too short, or no movement after filtering
        return None, None


def rep_quality(
    angle_deg: npt.ArrayLike,
    rate_hz: float,
    reps: Sequence[Rep],
    template: ExerciseTemplate | None = None,
    *,
    side: str | None = None,
    extra_angles: Mapping[str, npt.ArrayLike] | None = None,
    lowpass_hz: float | None = 10.0,
    incomplete_fraction: float = 0.8,
    return_fraction: float = 0.5,
) -> list[RepQuality]:
    """Describe each repetition: range, tempo, peak velocity, smoothness and flags.

    Parameters
    ----------
    angle_deg : array_like, shape (N,)
        The angle the repetitions were found in [deg], evenly sampled.
    rate_hz : float
        Sampling rate [Hz].
    reps : sequence of Rep
        The repetitions, as :func:`~imurehab.analysis.segment_reps` returned them for ``angle_deg``.
    template : ExerciseTemplate, optional
        The exercise; without one, only ``"incomplete"`` can be flagged.
    side : {"left", "right"}, optional
        The side exercised, to find the angles that compensation checks with side ``"same"`` or
        ``"other"`` watch; without it those checks are skipped.
    extra_angles : Mapping of str to array_like, optional
        Other angle traces [deg] on the same time base as ``angle_deg``, keyed by
        :func:`angle_key` (``"lumbar:flexion_deg"``, ``"knee_right:abduction_deg"``). A check whose
        angle is missing is skipped (and absent from :attr:`RepQuality.compensation_deg`).
    lowpass_hz : float or None
        Cutoff of the zero-phase low-pass filter (2nd-order Butterworth, forward and backward)
        applied before differentiating for velocity and smoothness [Hz]; ``None`` for none.
    incomplete_fraction : float
        A repetition whose ROM is below this fraction of the set's median ROM is ``"incomplete"``
        (needs at least 3 repetitions).
    return_fraction : float
        A repetition whose outward movement (onset to extreme) or return (extreme to offset) covers
        less than this fraction of its ROM is ``"incomplete"``: it was cut off by the recording's
        ends, or did not come back toward rest before the next one.

    Returns
    -------
    list of RepQuality
        One per repetition, in the order given.

    Raises
    ------
    DataValidationError
        A trace is not 1-D, holds NaN/inf, or has another length than ``angle_deg``; a repetition's
        indices fall outside the trace; ``rate_hz`` is not positive.

    Notes
    -----
    Flags fire strictly beyond their thresholds: a repetition short of target by exactly the
    tolerance, or lasting exactly ``min_rep_s``, is not flagged. ``"rom_short"`` compares
    ``max_deg`` (direction ``"increase"``) or ``min_deg`` (``"decrease"``) with ``target_deg``, and
    ``rom_deg`` with ``target_rom_deg``. A compensation fires when its watched angle, smoothed over
    0.1 s, departs from its onset value by more than ``max_change_deg`` between onset and offset.

    Examples
    --------
    >>> import numpy as np
    >>> from imurehab.analysis import segment_reps
    >>> from imurehab.exercises import load_template
    >>> t = np.arange(0, 14, 0.01)
    >>> squat = 35 * (1 - np.cos(2 * np.pi * (t - 1) / 4)) * ((t >= 1) & (t < 13))  # 70° deep
    >>> reps = segment_reps(squat, 100.0)
    >>> [(q.rep, round(q.rom_deg), q.duration_s > 2, q.flags) for q in rep_quality(
    ...     squat, 100.0, reps, load_template("squat"))]
    [(1, 70, True, ('rom_short',)), (2, 70, True, ('rom_short',)), (3, 70, True, ('rom_short',))]
    """
    if not (rate_hz > 0 and math.isfinite(rate_hz)):
        raise DataValidationError(f"rate_hz must be positive, got {rate_hz!r}", column="rate_hz")
    a = _trace(angle_deg, "angle_deg")
    extras = {k: _trace(v, k, a.size) for k, v in (extra_angles or {}).items()}
    for r in reps:
        if not 0 <= r.start <= r.peak <= r.end < a.size:
            raise DataValidationError(
                f"rep {r.rep} (samples {r.start}–{r.end}) lies outside the trace of {a.size}",
                column="reps",
            )
    velocity = np.gradient(_lowpass(a, rate_hz, lowpass_hz)) * rate_hz if a.size > 1 else np.zeros(a.size)
    window = max(1, int(_SMOOTH_S * rate_hz))
    watched = {k: uniform_filter1d(v, window, mode="nearest") for k, v in extras.items()}
    median_rom = float(np.median([r.rom_deg for r in reps])) if len(reps) >= _MIN_REPS_FOR_MEDIAN else None

    speed = np.abs(velocity)
    ordered = sorted(reps, key=lambda r: r.start)
    neighbours = {
        id(r): (ordered[i - 1].end if i else 0, ordered[i + 1].start if i + 1 < len(ordered) else a.size - 1)
        for i, r in enumerate(ordered)
    }

    out: list[RepQuality] = []
    for r in reps:
        flags: list[str] = []
        duration = (r.end - r.start) / rate_hz
        if template is not None:
            if _short_of_target(r, template):
                flags.append(FLAG_ROM_SHORT)
            if duration < template.min_rep_s:
                flags.append(FLAG_TOO_FAST)
            if duration > template.max_rep_s:
                flags.append(FLAG_TOO_SLOW)
        outward, back = abs(a[r.peak] - a[r.start]), abs(a[r.peak] - a[r.end])
        cut_off = min(outward, back) < return_fraction * r.rom_deg
        if cut_off or (median_rom is not None and r.rom_deg < incomplete_fraction * median_rom):
            flags.append(FLAG_INCOMPLETE)
        departures: dict[str, float] = {}
        for check in template.compensations if template is not None else ():
            key = _watched_key(check, side)
            if key is None or key not in watched:
                continue
            segment = watched[key][r.start : r.end + 1]
            departures[check.name] = float(np.max(np.abs(segment - segment[0])))
            if departures[check.name] > check.max_change_deg:
                flags.append(compensation_flag(check))
        v = velocity[r.start : r.end + 1]
        sparc_value, ldlj_value = _smoothness(
            velocity[_movement_window(speed, r, *neighbours[id(r)])], rate_hz
        )
        out.append(
            RepQuality(
                rep=r.rep,
                start=r.start,
                peak=r.peak,
                end=r.end,
                start_s=r.start / rate_hz,
                end_s=r.end / rate_hz,
                min_deg=r.min_deg,
                max_deg=r.max_deg,
                rom_deg=r.rom_deg,
                peak_deg=float(a[r.peak]),
                duration_s=duration,
                time_to_peak_s=(r.peak - r.start) / rate_hz,
                time_to_return_s=(r.end - r.peak) / rate_hz,
                peak_velocity_deg_s=float(np.max(np.abs(v))),
                sparc=sparc_value,
                ldlj=ldlj_value,
                compensation_deg=MappingProxyType(departures),
                flags=tuple(flags),
            )
        )
    return out
