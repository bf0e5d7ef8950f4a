"""The physio report's tables, as text: each number with its unit, uncertainty and the basis it rests on.

Every table here is a polars DataFrame of strings ready for :func:`imurehab.report.html_table`, with the
unit in each column name. Angles are shown to 0.1°, times to 0.01 s; a missing value is ``–``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Final

import polars as pl

from imurehab.analysis.quality import FLAG_INCOMPLETE, FLAG_ROM_SHORT, FLAG_TOO_FAST, FLAG_TOO_SLOW
from imurehab.analysis.summary import SessionSummary
from imurehab.exercises import ExerciseTemplate
from imurehab.report.physio_data import RepSet
from imurehab.store import schema as col

__all__ = [
    "MISSING",
    "calibration_table",
    "flag_reason",
    "flag_table",
    "key_figures",
    "number",
    "progress_table",
    "rep_table",
    "sensor_table",
    "session_date",
]

MISSING: Final[str] = "–"
"""How a value that is not known is shown."""

_COMPENSATION: Final = re.compile(r"^compensation:(?P<name>.+)$")


def number(value: float | None, decimals: int = 1) -> str:
    """A number to a fixed count of decimals, or :data:`MISSING`.

    Parameters
    ----------
    value : float or None
        The number.
    decimals : int
        Digits after the point.

    Examples
    --------
    >>> number(87.9697), number(None), number(0.5, 2)
    ('88.0', '–', '0.50')
    """
    return MISSING if value is None else f"{value:.{decimals}f}"


def _reached_column(template: ExerciseTemplate | None) -> str:
    return col.MIN_DEG if template is not None and template.direction == "decrease" else col.MAX_DEG


def flag_reason(flag: str, template: ExerciseTemplate | None) -> str:
    """Why a repetition carries a flag: the rule, with the template's numbers.

    Parameters
    ----------
    flag : str
        A flag of the ``reps`` table (``"rom_short"``, ``"compensation:trunk-lean"``, ...).
    template : ExerciseTemplate or None
        The exercise's template, whose targets and limits the flags were raised against.

    Returns
    -------
    str

    Examples
    --------
    >>> from imurehab.exercises import load_template
    >>> flag_reason("too_fast", load_template("seated-knee-extension"))
    'the repetition took less than 2 s (template minimum)'
    """
    t = template
    if flag == FLAG_INCOMPLETE:
        return (
            "a partial repetition: much smaller than the set's others, or not starting from or returning "
            "to rest"
        )
    if t is None:
        return "raised against an exercise template that is not available here"
    if flag == FLAG_ROM_SHORT:
        rules = []
        if t.target_deg is not None:
            rules.append(
                f"stopped more than {t.tolerance_deg:g}° short of the target angle {t.target_deg:g}°"
            )
        if t.target_rom_deg is not None:
            rules.append(f"ROM more than {t.tolerance_deg:g}° below the target ROM {t.target_rom_deg:g}°")
        return " or ".join(rules)
    if flag == FLAG_TOO_FAST:
        return f"the repetition took less than {t.min_rep_s:g} s (template minimum)"
    if flag == FLAG_TOO_SLOW:
        return f"the repetition took more than {t.max_rep_s:g} s (template maximum)"
    if (m := _COMPENSATION.match(flag)) is not None:
        for check in t.compensations:
            if check.name == m["name"]:
                angle = f"{check.joint} {check.dof.removesuffix('_deg')}"
                return (
                    f"{angle} moved more than {check.max_change_deg:g}° from its value at the start of "
                    "the repetition"
                )
    return f"a flag the template {t.name!r} does not define"


def rep_table(rep_set: RepSet) -> pl.DataFrame:
    """One row per repetition: times, ROM ± its uncertainty, the angles, the target gap, the flags.

    Parameters
    ----------
    rep_set : RepSet
        The set.

    Returns
    -------
    polars.DataFrame
        Columns ``rep``, ``start [s]`` (from the session start), ``duration [s]``, ``ROM [deg]``,
        ``± u [deg]`` (standard uncertainty), ``min [deg]``, ``max [deg]``, ``short of target [deg]``
        (positive: short; negative: beyond; ``–`` without a target angle) and ``flags``.
    """
    t = rep_set.template
    rows = rep_set.reps
    reached = rows.get_column(_reached_column(t)).to_list()
    if t is not None and t.target_deg is not None:
        sign = 1.0 if t.direction == "increase" else -1.0
        gap = [number(sign * (t.target_deg - r)) for r in reached]
    else:
        gap = [MISSING] * rows.height
    start = rep_set.start_time
    return pl.DataFrame(
        {
            "rep": [str(r) for r in rows.get_column(col.REP)],
            "start [s]": [number((s - start).total_seconds(), 2) for s in rows.get_column(col.START)],
            "duration [s]": [number(d, 2) for d in rows.get_column(col.DURATION_S)],
            "ROM [deg]": [number(r) for r in rows.get_column(col.ROM_DEG)],
            "± u [deg]": [number(u) for u in rep_set.summary.rom_uncertainty_deg],
            "min [deg]": [number(v) for v in rows.get_column(col.MIN_DEG)],
            "max [deg]": [number(v) for v in rows.get_column(col.MAX_DEG)],
            "short of target [deg]": gap,
            "flags": [", ".join(f) or MISSING for f in rows.get_column(col.FLAGS).to_list()],
        }
    )


def flag_table(rep_set: RepSet) -> pl.DataFrame:
    """One row per flag seen in the set: which repetitions, and the rule that raised it.

    Parameters
    ----------
    rep_set : RepSet
        The set.

    Returns
    -------
    polars.DataFrame
        Columns ``flag``, ``reps``, ``reason``; no rows when nothing was flagged.
    """
    flags = rep_set.summary.flags
    return pl.DataFrame(
        {
            "flag": list(flags),
            "reps": [", ".join(map(str, reps)) for reps in flags.values()],
            "reason": [flag_reason(f, rep_set.template) for f in flags],
        },
        schema={"flag": pl.String, "reps": pl.String, "reason": pl.String},
    )


def _pm(value: float | None, u: float | None) -> str:
    return MISSING if value is None else f"{value:.1f} ± {number(u)}"


def key_figures(rep_set: RepSet) -> pl.DataFrame:
    """The set's summary as rows of what, value and basis (where the number or its yardstick comes from).

    Parameters
    ----------
    rep_set : RepSet
        The set.

    Returns
    -------
    polars.DataFrame
        Columns ``what``, ``value``, ``basis``: repetitions, mean ROM ± u (SD), best ROM ± u, the
        target, the normal range and the change since the previous session against the MDC95.
    """
    s: SessionSummary = rep_set.summary
    t = rep_set.template
    rows: list[tuple[str, str, str]] = [("repetitions", str(s.n_reps), "counted in the joint angle")]
    basis_u = "± standard uncertainty of the mean (per-repetition uncertainty and rep-to-rep scatter)"
    sd = f" (SD {number(s.rom_sd_deg)})" if s.rom_sd_deg is not None else ""
    rows.append(("mean ROM [deg]", _pm(s.rom_mean_deg, s.rom_mean_uncertainty_deg) + sd, basis_u))
    if s.rom_best_rep is not None:
        u_best = s.rom_uncertainty_deg[s.reps.index(s.rom_best_rep)]
        rows.append(
            (
                "best ROM [deg]",
                f"{_pm(s.rom_best_deg, u_best)} (rep {s.rom_best_rep})",
                "± standard uncertainty",
            )
        )
    if t is not None and t.target_deg is not None:
        rows.append(("target angle [deg]", f"{t.target_deg:g} (tolerance {t.tolerance_deg:g})", t.source))
    if t is not None and t.target_rom_deg is not None:
        rows.append(("target ROM [deg]", f"{t.target_rom_deg:g} (tolerance {t.tolerance_deg:g})", t.source))
    if (n := s.norm) is not None:
        beyond = f"{number(-n.deficit_deg)} beyond" if n.deficit_deg < 0 else f"{number(n.deficit_deg)} short"
        pct = f", {n.percent_of_normal:.0f}% of normal" if n.percent_of_normal is not None else ""
        rows.append(
            (
                f"normal {n.normal.motion} [deg]",
                f"{n.normal.normal_deg:g}; reached {number(n.reached_deg)}, {beyond}{pct}",
                n.normal.source + (f"; {n.normal.note}" if n.normal.note else ""),
            )
        )
    if (c := s.change) is not None:
        verdict = "exceeds" if c.exceeds_mdc else "does not exceed"
        rows.append(
            (
                "change of mean ROM since the previous session [deg]",
                f"{c.change_deg:+.1f}: {verdict} the MDC95 of {number(c.mdc_deg)}",
                c.mdc_source,
            )
        )
    else:
        rows.append(
            ("change since the previous session", MISSING, "no earlier session of this exercise and side")
        )
    return pl.DataFrame(rows, schema=["what", "value", "basis"], orient="row")


def progress_table(sets: Sequence[RepSet]) -> pl.DataFrame:
    """One row per session of one exercise, joint and side: mean ROM ± u, change, MDC95, verdict.

    Parameters
    ----------
    sets : sequence of RepSet
        The sessions' sets, oldest first.

    Returns
    -------
    polars.DataFrame
        Columns ``session``, ``date (UTC)``, ``reps``, ``mean ROM [deg]``, ``± u [deg]``,
        ``change [deg]``, ``MDC95 [deg]``, ``change > MDC95``.
    """
    changes = [s.summary.change for s in sets]
    return pl.DataFrame(
        {
            "session": [s.session for s in sets],
            "date (UTC)": [f"{s.start_time:%Y-%m-%d}" for s in sets],
            "reps": [str(s.summary.n_reps) for s in sets],
            "mean ROM [deg]": [number(s.summary.rom_mean_deg) for s in sets],
            "± u [deg]": [number(s.summary.rom_mean_uncertainty_deg) for s in sets],
            "change [deg]": [MISSING if c is None else f"{c.change_deg:+.1f}" for c in changes],
            "MDC95 [deg]": [MISSING if c is None else number(c.mdc_deg) for c in changes],
            "change > MDC95": [MISSING if c is None else ("yes" if c.exceeds_mdc else "no") for c in changes],
        }
    )


def _bool(value: bool | None, yes: str, no: str) -> str:
    return MISSING if value is None else (yes if value else no)


def sensor_table(sensors: pl.DataFrame) -> pl.DataFrame:
    """The sensors' data quality as text (:func:`~imurehab.report.physio_quality.sensor_quality` rows).

    Parameters
    ----------
    sensors : polars.DataFrame
        From :func:`~imurehab.report.physio_quality.sensor_quality`.

    Returns
    -------
    polars.DataFrame
        Columns ``sensor``, ``on``, ``device``, ``rate [Hz]``, ``samples``, ``lost``, ``gaps``,
        ``longest gap [s]``, ``filled in``, ``saturated``, ``host-timed``, ``clock ± [ms]``, ``log``.
    """
    out = []
    for r in sensors.iter_rows(named=True):
        clock = r[col.CLOCK_UNCERTAINTY_US]
        out.append(
            {
                "sensor": r[col.SENSOR],
                "on": r[col.SEGMENT] or MISSING,
                "device": " ".join(x for x in (r[col.FAMILY], r[col.MODEL]) if x) or MISSING,
                "rate [Hz]": number(r[col.RATE_HZ], 0),
                **{
                    k: str(r[c] or 0) for k, c in (("samples", "samples"), ("lost", "lost"), ("gaps", "gaps"))
                },
                "longest gap [s]": number(r["longest_gap_s"], 2),
                "filled in": str(r["filled_in"] or 0),
                "saturated": str(r["saturated"] or 0),
                "host-timed": str(r["host_time"] or 0),
                "clock ± [ms]": "not recorded" if clock is None else number(clock / 1000.0, 2),
                "log": _bool(r[col.LOG_VERIFIED], "verified", "not verified"),
            }
        )
    return pl.DataFrame(out)


def calibration_table(calibration: pl.DataFrame) -> pl.DataFrame:
    """Each joint's calibration quality as text (:func:`~imurehab.report.physio_quality.calibration_quality`).

    Parameters
    ----------
    calibration : polars.DataFrame
        The table from :func:`~imurehab.report.physio_quality.calibration_quality`.

    Returns
    -------
    polars.DataFrame
        Columns ``joint``, ``off-axis RMS [deg]``, ``recorded [s]``, ``method``, ``heading``,
        ``static pose [s]`` (``not stored`` where the results do not carry them).
    """
    return pl.DataFrame(
        {
            "joint": [
                " ".join(x for x in (r[col.SIDE], r[col.JOINT]) if x)
                for r in calibration.iter_rows(named=True)
            ],
            "off-axis RMS [deg]": [number(v) for v in calibration.get_column("off_axis_rms_deg")],
            "recorded [s]": [number(v, 1) for v in calibration.get_column("duration_s")],
            "method": [v or "not stored" for v in calibration.get_column("method")],
            "heading": [v or "not stored" for v in calibration.get_column("heading")],
            "static pose [s]": [
                "not stored" if v is None else number(v, 1) for v in calibration.get_column("static_s")
            ],
        },
        schema={
            k: pl.String
            for k in ("joint", "off-axis RMS [deg]", "recorded [s]", "method", "heading", "static pose [s]")
        },
    )


def session_date(when: datetime) -> str:
    """A session's start as shown: ``2025-03-17 09:00 UTC``.

    Parameters
    ----------
    when : datetime
        Timezone-aware start.
    """
    return f"{when:%Y-%m-%d %H:%M} UTC"
