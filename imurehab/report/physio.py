"""The physiotherapist's report of one session: summary, charts, data quality and progress, as one HTML page.

The page supports a clinician's judgement; it does not replace it. Every ROM comes with its
uncertainty, every flag with the rule that raised it, every change between sessions with the minimal
detectable change (MDC95) it was compared with and where that MDC comes from, and the data quality
(samples lost, clock uncertainty, how well the motion fitted the joint model) sits beside the numbers it
qualifies. The page is self-contained (inline SVG charts, no scripts, fonts or images by URL): it opens
offline, with JavaScript disabled, and can be mailed as one file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import polars as pl

from imurehab._version import __version__
from imurehab.report.html import Section, html_page
from imurehab.report.physio_data import RepSet, SessionRef, find_session, rep_sets, set_angles
from imurehab.report.physio_figures import angle_figure, progress_figure, rom_figure
from imurehab.report.physio_quality import calibration_quality, sensor_quality
from imurehab.report.physio_tables import (
    calibration_table,
    flag_table,
    key_figures,
    progress_table,
    rep_table,
    sensor_table,
    session_date,
)

__all__ = ["CONVENTIONS", "PhysioReport", "physio_page", "physio_report"]

CONVENTIONS: Final[str] = (
    "Units and conventions: angles in degrees [deg] as in the joint_angles table (flexion positive; for "
    "the knee, elbow and hip 0° is the straight joint of the calibration pose), ROM = largest minus "
    "smallest angle of a repetition, times in seconds [s] from the session start, dates and times in "
    "UTC. '±' is a standard uncertainty (one standard deviation); the MDC95 is the change that exceeds "
    "measurement error with 95% confidence. A repetition number with '*' on a chart is flagged."
)
"""The page's statement of units and conventions (shown at its top)."""

_PURPOSE: Final[str] = (
    "Measurements from body-worn inertial sensors, to support the clinician's judgement, not to replace "
    "it: each figure is shown with its uncertainty, each flag with the rule that raised it, and each "
    "change between sessions with the minimal detectable change it was compared with and its source."
)


@dataclass(frozen=True, eq=False)
class PhysioReport:
    """A session's report: the numbers shown and the page.

    Attributes
    ----------
    session : SessionRef
        The session reported on.
    sets : tuple of RepSet
        Its sets of repetitions (one per exercise, joint and side).
    history : tuple of RepSet
        Every set of the same exercises, joints and sides up to this session, oldest first (progress).
    sensors : polars.DataFrame
        Data quality per sensor (:func:`~imurehab.report.physio_quality.sensor_quality`).
    calibration : polars.DataFrame
        Calibration quality per joint (:func:`~imurehab.report.physio_quality.calibration_quality`).
    notes : tuple of str
        What processing could not do, where the results record it.
    html : str
        The page (UTF-8 text).
    path : Path or None
        Where the page was written, if it was.
    """

    session: SessionRef
    sets: tuple[RepSet, ...]
    history: tuple[RepSet, ...]
    sensors: pl.DataFrame
    calibration: pl.DataFrame
    notes: tuple[str, ...]
    html: str
    path: Path | None = None

    def trend(self, rep_set: RepSet) -> list[RepSet]:
        """The sessions of ``rep_set``'s exercise, joint and side up to this one, oldest first.

        Parameters
        ----------
        rep_set : RepSet
            One of :attr:`sets`.
        """
        key = (rep_set.exercise, rep_set.joint, rep_set.side)
        return [s for s in self.history if (s.exercise, s.joint, s.side) == key]

    def to_dict(self) -> dict[str, Any]:
        """The report's figures as a JSON-ready dict (what ``imurehab report --json`` prints).

        Returns
        -------
        dict
            ``subject``, ``session``, ``start_time`` (ISO 8601), ``out`` (path or None), ``sets`` (each
            with ``exercise``, ``joint``, ``side`` and ``summary``, :meth:`SessionSummary.to_dict`),
            ``progress`` (per set, per session: ``session``, ``start_time``, ``n_reps``,
            ``rom_mean_deg``, ``rom_mean_uncertainty_deg``, ``change``), ``sensors``, ``calibration``
            and ``notes``.
        """
        return {
            "subject": self.session.subject,
            "session": self.session.session,
            "start_time": self.session.start_time.isoformat(),
            "out": None if self.path is None else str(self.path),
            "sets": [
                {"exercise": s.exercise, "joint": s.joint, "side": s.side, "summary": s.summary.to_dict()}
                for s in self.sets
            ],
            "progress": [
                [
                    {
                        "session": h.session,
                        "start_time": h.start_time.isoformat(),
                        "n_reps": h.summary.n_reps,
                        "rom_mean_deg": h.summary.rom_mean_deg,
                        "rom_mean_uncertainty_deg": h.summary.rom_mean_uncertainty_deg,
                        "change": None if h.summary.change is None else h.summary.change.to_dict(),
                    }
                    for h in self.trend(s)
                ]
                for s in self.sets
            ],
            "sensors": self.sensors.to_dicts(),
            "calibration": self.calibration.to_dicts(),
            "notes": list(self.notes),
        }


def _anchor(*parts: str | None) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", "-".join(p for p in parts if p)).strip("-")


def _title(rep_set: RepSet) -> str:
    exercise = rep_set.template.title if rep_set.template is not None else rep_set.exercise or "repetitions"
    return f"{exercise}, {rep_set.label}"


def _set_sections(root: str | os.PathLike[str], rep_set: RepSet, trend: Sequence[RepSet]) -> list[Section]:
    key = _anchor(rep_set.joint, rep_set.side)
    flags = flag_table(rep_set)
    summary = Section(
        f"Session summary: {_title(rep_set)}",
        tables=(key_figures(rep_set), rep_table(rep_set), *((flags,) if flags.height else ())),
        table_captions=(
            "Key figures",
            "Repetitions (ROM ± its standard uncertainty; short of target: how far the end angle stayed "
            "from the target angle, negative when beyond it)",
            "Flags and the rules that raised them",
        ),
        note=None if flags.height else "No repetition was flagged.",
        anchor=f"summary-{key}",
    )
    time_s, angle_deg = set_angles(root, rep_set)
    angles = Section(
        f"Joint angle over time: {rep_set.label}",
        figures=(angle_figure(rep_set, time_s, angle_deg),),
        figure_labels=(f"{rep_set.label} {rep_set.dof} over time with the repetitions shaded",),
        note=f"The angle repetitions were counted in ({rep_set.dof}, degrees) against the time from the "
        "session start (seconds); shaded: repetitions (orange: flagged); dashed: the template's target "
        "angle, grey band: its tolerance.",
        anchor=f"angles-{key}",
        svg=True,
    )
    rom = Section(
        f"ROM per repetition: {rep_set.label}",
        figures=(rom_figure(rep_set),),
        figure_labels=(f"ROM per repetition of the {rep_set.label} with error bars",),
        note="Error bars: ± the standard uncertainty of each repetition's ROM (one standard deviation); "
        "hollow orange markers: flagged repetitions; dotted: the set's mean ROM.",
        anchor=f"rom-{key}",
        svg=True,
    )
    sources = sorted({s.summary.change.mdc_source for s in trend if s.summary.change is not None})
    progress = Section(
        f"Progress across sessions: {_title(rep_set)}",
        paragraphs=()
        if len(trend) > 1
        else ("No earlier session of this exercise, joint and side: nothing to compare with yet.",),
        tables=(progress_table(trend),),
        table_captions=(
            "Mean ROM per session (± its standard uncertainty) and the change since the one before",
        ),
        figures=(progress_figure(trend),) if len(trend) > 1 else (),
        figure_labels=("mean ROM per session with the MDC95 band around the previous session",),
        note="Grey bars: the previous session's mean ROM ± the MDC95 used; a mean outside its bar changed "
        "by more than the MDC. MDC used: " + " | ".join(sources)
        if sources
        else None,
        anchor=f"progress-{key}",
        svg=True,
    )
    return [summary, angles, rom, progress]


def _quality_section(sensors: pl.DataFrame, calibration: pl.DataFrame, notes: Sequence[str]) -> Section:
    stored = calibration.get_column("method").is_not_null().any()
    return Section(
        "Data quality",
        paragraphs=(
            "Samples: lost = missing by the sensor's sample counter, in that many gaps (longest gap: "
            "seconds between the samples either side); filled in = samples interpolated, not measured; "
            "saturated = an axis at its full-scale range; host-timed = timed by the receiving computer, "
            "not the sensor. Clock ±: bound of the sample times' error against UTC [ms], from the clock "
            "synchronisation ('not recorded' when the times were not synchronised, e.g. imported or "
            "simulated data). Log: whether a sensor's stored log was downloaded whole and checked.",
            "Calibration: off-axis RMS is the RMS of the joint's abduction and rotation about their means "
            "[deg], how far the motion departed from the joint model (a pure hinge for the knee and "
            "elbow); a few degrees is normal, more means the sensors moved on the skin or the axes were "
            "found poorly, and the ROM is less certain than its ± says.",
            *notes,
        ),
        tables=(sensor_table(sensors), calibration_table(calibration)),
        table_captions=("Sensors", "Joint calibration"),
        note=None
        if stored
        else "The calibration method, heading and static pose are not stored with these results "
        "(`imurehab process --json` prints them when processing).",
        anchor="quality",
    )


def physio_page(report: PhysioReport, root: str | os.PathLike[str]) -> str:
    """The report's HTML page.

    Parameters
    ----------
    report : PhysioReport
        The figures (its :attr:`~PhysioReport.html` is not used).
    root : str or os.PathLike
        The dataset folder (the angle traces are read from it).

    Returns
    -------
    str
        A self-contained HTML document.
    """
    ref = report.session
    about = Section(
        "About this report",
        paragraphs=(
            _PURPOSE,
            f"Subject {ref.subject}, session {ref.session}, started {session_date(ref.start_time)}; "
            f"exercise {ref.exercise or 'not recorded'}.",
            CONVENTIONS,
        ),
        anchor="about",
    )
    sections = [about]
    for rep_set in report.sets:
        sections += _set_sections(root, rep_set, report.trend(rep_set))
    if not report.sets:
        sections.append(
            Section(
                "Session summary",
                paragraphs=("No repetitions were found in this session.",),
                anchor="summary",
            )
        )
    sections.append(_quality_section(report.sensors, report.calibration, report.notes))
    footer = (
        f"Made by imurehab {__version__} from dataset results written by imurehab {ref.software_version}. "
        "The sensors table names each device (family and model; family 'sim' is simulated data)."
    )
    return html_page(f"Rehabilitation report: {ref.subject}, session {ref.session}", sections, footer=footer)


def physio_report(
    dataset: str | os.PathLike[str],
    subject: str,
    session: str | None = None,
    out: str | os.PathLike[str] | None = None,
    *,
    mdc_deg: float | None = None,
    mdc_source: str | None = None,
) -> PhysioReport:
    """Build the physiotherapist's report of one session, and write it as an HTML page if asked.

    Parameters
    ----------
    dataset : str or os.PathLike
        Dataset folder, processed (``imurehab process``).
    subject : str
        Subject id.
    session : str, optional
        Session id; default the subject's latest session with results.
    out : str or os.PathLike, optional
        Write the page here (``.html``); None only builds it.
    mdc_deg, mdc_source : float and str, optional
        A published minimal detectable change (MDC95) [deg] for this measurement and its citation; by
        default the MDC comes from the measurement's own uncertainty, a lower bound (see
        :func:`imurehab.analysis.compare_sessions`).

    Returns
    -------
    PhysioReport
        The figures shown and the page.

    Raises
    ------
    DatasetNotFoundError
        No dataset at ``dataset``, an unknown subject or session, or a session without results (the
        message says to run ``imurehab process``).
    DataValidationError
        ``mdc_deg`` without ``mdc_source``, negative or not finite (checked where a session has a
        previous one to compare with).
    ValueError
        ``out`` does not end in ``.html`` or ``.htm``.
    """
    if out is not None and Path(out).suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"{out}: the report is an .html page")
    ref = find_session(dataset, subject, session)
    every = rep_sets(dataset, subject, mdc_deg=mdc_deg, mdc_source=mdc_source)
    sets = tuple(s for s in every if s.session == ref.session)
    keys = {(s.exercise, s.joint, s.side) for s in sets}
    history = tuple(
        s for s in every if (s.exercise, s.joint, s.side) in keys and s.start_time <= ref.start_time
    )
    calibration, notes = calibration_quality(dataset, ref)
    report = PhysioReport(ref, sets, history, sensor_quality(dataset, ref), calibration, tuple(notes), "")
    page = physio_page(report, dataset)
    path = None
    if out is not None:
        path = Path(out)
        path.write_text(page, encoding="utf-8")
    return PhysioReport(**{**report.__dict__, "html": page, "path": path})
