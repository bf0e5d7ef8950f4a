"""A session of a dataset processed and its results written beside it, with what they were made from.

The results of a session (``orientation``, ``joint_angles``, ``reps``) depend only on the session's
own inputs and the settings (see :mod:`imurehab.pipeline.provenance`). The comparison of each set with
the subject's previous session (:func:`summaries_with_previous`) reads other sessions' ``reps``; it
changes only the summaries returned, never a table written.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol

import polars as pl

from imurehab.analysis.quality import RepQuality
from imurehab.analysis.summary import SessionSummary, summarize_session
from imurehab.errors import DatasetNotFoundError
from imurehab.exercises import ExerciseTemplate, list_templates, load_template
from imurehab.pipeline.joints import ROM_UNCERTAINTY_DEG
from imurehab.pipeline.provenance import (
    CALIBRATION_METADATA_KEY,
    NOTES_METADATA_KEY,
    SOURCE_KEY,
    InputFile,
    ResultsSource,
    input_files,
    results_settings,
)
from imurehab.pipeline.recording import ProcessedSession, process_recording
from imurehab.store import read_recording, read_table
from imurehab.store import schema as col
from imurehab.store.staged import StagedTables
from imurehab.types import Recording

__all__ = ["process_session", "quality_from_reps_rows", "summaries_with_previous", "write_results"]


class JointSet(Protocol):
    """A joint's set of repetitions as the comparison with the previous session needs it."""

    @property
    def joint(self) -> str:
        """Joint name."""
        ...

    @property
    def side(self) -> str | None:
        """Side, or None for a midline joint."""
        ...

    @property
    def quality(self) -> Sequence[RepQuality]:
        """The repetitions."""
        ...

    @property
    def summary(self) -> SessionSummary | None:
        """The set's own summary."""
        ...

    @property
    def start_us(self) -> int | None:
        """Time of its first angle sample [µs since the Unix epoch, UTC]."""
        ...


def _template_named(exercise: str | None) -> ExerciseTemplate | None:
    return load_template(exercise) if exercise in list_templates() else None


def quality_from_reps_rows(rows: pl.DataFrame, template: ExerciseTemplate | None) -> list[RepQuality]:
    """Repetitions of a session rebuilt from its ``reps`` rows (what summaries need).

    Parameters
    ----------
    rows : polars.DataFrame
        One session's ``reps`` rows (angles in degrees, times UTC).
    template : ExerciseTemplate or None
        Its exercise (the direction of movement decides the peak angle); None: increasing.

    Returns
    -------
    list of RepQuality
        One per row, in rep order; what the rows do not store (sample positions, velocities) is 0 or NaN.
    """
    out = []
    increase = template is None or template.direction == "increase"
    for r in rows.sort(col.REP).iter_rows(named=True):
        out.append(
            RepQuality(
                rep=r[col.REP],
                start=0,
                peak=0,
                end=0,
                start_s=r[col.START].timestamp(),
                end_s=r[col.END].timestamp(),
                min_deg=r[col.MIN_DEG],
                max_deg=r[col.MAX_DEG],
                rom_deg=r[col.ROM_DEG],
                peak_deg=r[col.MAX_DEG] if increase else r[col.MIN_DEG],
                duration_s=r[col.DURATION_S],
                time_to_peak_s=math.nan,
                time_to_return_s=math.nan,
                peak_velocity_deg_s=math.nan,
                sparc=None,
                ldlj=None,
                flags=tuple(r[col.FLAGS] or ()),
            )
        )
    return out


def summaries_with_previous(
    root: str | os.PathLike[str], subject: str, session: str, joints: Sequence[JointSet]
) -> list[SessionSummary | None]:
    """Each set's summary compared with the subject's latest earlier session of the same exercise.

    Same exercise, joint and side, among the sessions that have ``reps`` rows and started earlier: the
    summary gains the change of mean ROM and whether it exceeds the minimal detectable change
    (:func:`imurehab.analysis.compare_sessions`). Sets without a summary or an earlier session keep
    theirs.

    Parameters
    ----------
    root : str or os.PathLike
        Dataset folder.
    subject, session : str
        The session the sets belong to (its own ``reps`` rows are not compared with).
    joints : sequence of JointSet
        The session's sets (:class:`~imurehab.pipeline.JointResult` or
        :class:`~imurehab.batch.JointOutcome`).

    Returns
    -------
    list of SessionSummary or None
        One per set, in order.
    """
    out = [j.summary for j in joints]
    if not any(s is not None and s.exercise for s in out):
        return out
    try:
        earlier = read_table(root, col.REPS, subject=subject).collect()
    except DatasetNotFoundError:
        return out
    earlier = earlier.filter(pl.col(col.SESSION) != session)
    for i, j in enumerate(joints):
        summary = j.summary
        if summary is None or not summary.exercise or j.start_us is None:
            continue
        side = pl.col(col.SIDE).is_null() if j.side is None else pl.col(col.SIDE) == j.side
        mine = earlier.filter(
            (pl.col(col.EXERCISE) == summary.exercise) & (pl.col(col.JOINT) == j.joint) & side
        )
        starts = mine.group_by(col.SESSION).agg(pl.col(col.START).min()).sort(col.START)
        before = starts.filter(pl.col(col.START).dt.epoch("us") < j.start_us)
        if before.height:
            prev_id = before.get_column(col.SESSION)[-1]
            template = _template_named(summary.exercise)
            quality = quality_from_reps_rows(mine.filter(pl.col(col.SESSION) == prev_id), template)
            u = ROM_UNCERTAINTY_DEG.get(j.joint, 1.0)
            previous = summarize_session(quality, rom_uncertainty_deg=u, template=template, side=j.side)
            out[i] = summarize_session(
                j.quality, rom_uncertainty_deg=u, template=template, side=j.side, previous=previous
            )
    return out


def write_results(
    root: str | os.PathLike[str],
    rec: Recording,
    inputs: tuple[InputFile, ...],
    *,
    exercise: str | None = None,
    template: ExerciseTemplate | None = None,
    overwrite: bool = False,
) -> ProcessedSession:
    """Process a recording read from a dataset and write its results tables there, with their source.

    The ``orientation`` table is written (in a worker thread) while the joints are computed; the three
    tables become visible at the end, one atomic rename each, or not at all if something fails.

    Parameters
    ----------
    root : str or os.PathLike
        Dataset folder the recording was read from.
    rec : Recording
        The session (:func:`imurehab.store.read_recording`).
    inputs : tuple of InputFile
        Its input files, hashed before ``rec`` was read (:func:`~imurehab.pipeline.provenance.input_files`).
    exercise, template : optional
        As for :func:`process_session`.
    overwrite : bool
        Replace results already written for this session.

    Returns
    -------
    ProcessedSession
        What was written (summaries not yet compared with earlier sessions).
    """
    if template is None:
        exercise = exercise if exercise is not None else rec.session.exercise
        template = _template_named(exercise)
    else:
        exercise = template.name
    source = ResultsSource(inputs, results_settings(exercise, template))
    meta = {SOURCE_KEY: source.to_dict()}
    subject, session = rec.session.subject_id, rec.session.session_id
    with StagedTables(root, subject=subject, session=session, overwrite=overwrite) as out:
        result = process_recording(
            rec,
            exercise=exercise,
            template=template,
            on_orientation=lambda frame: out.stage(col.ORIENTATION, frame, metadata=meta),
        )
        # How each joint was calibrated travels with its angles (the physio report shows it).
        calibration = [{"joint": j.joint, "side": j.side, **j.calibration()} for j in result.joints]
        extra = {CALIBRATION_METADATA_KEY: calibration, NOTES_METADATA_KEY: result.notes}
        out.stage(col.JOINT_ANGLES, result.joint_angles, metadata={**meta, **extra})
        out.stage(col.REPS, result.reps, metadata=meta)
    return result


def process_session(
    root: str | Path,
    *,
    subject: str,
    session: str,
    exercise: str | None = None,
    template: ExerciseTemplate | None = None,
    overwrite: bool = False,
) -> ProcessedSession:
    """Read a session's samples from a dataset, process them and write the results tables.

    Each results part records what it was made from (:mod:`imurehab.pipeline.provenance`), so a batch
    (:mod:`imurehab.batch`) can tell finished sessions from stale or incomplete ones.

    Parameters
    ----------
    root : str or Path
        Dataset root folder.
    subject, session : str
        Which session.
    exercise : str, optional
        Exercise name, overriding the session's (see :func:`process_recording`).
    template : ExerciseTemplate, optional
        An exercise template to use (see :func:`process_recording`).
    overwrite : bool
        Replace results already written for this session.

    Returns
    -------
    ProcessedSession
        What was written; each set's summary compared with the subject's previous session
        (:func:`summaries_with_previous`).
    """
    inputs = input_files(root, subject, session)
    rec = read_recording(root, subject=subject, session=session)
    result = write_results(root, rec, inputs, exercise=exercise, template=template, overwrite=overwrite)
    summaries = summaries_with_previous(root, subject, session, result.joints)
    joints = [replace(j, summary=s) for j, s in zip(result.joints, summaries, strict=True)]
    return replace(result, joints=joints)
