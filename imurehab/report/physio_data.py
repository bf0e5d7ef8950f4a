"""What the physio's report shows, read from a dataset: the session, each set's summary and its trend.

Nothing here draws or formats; :mod:`imurehab.report.physio` turns these into a page. The data quality
of a session is read in :mod:`imurehab.report.physio_quality`. Summaries are
rebuilt from the ``reps`` table the way ``imurehab process`` built them (the same per-repetition
uncertainty, :data:`imurehab.pipeline.ROM_UNCERTAINTY_DEG`, and the same template), and each set is
compared with the subject's previous session of the same exercise, joint and side.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from imurehab.analysis.summary import SessionSummary, summarize_session
from imurehab.errors import DatasetNotFoundError
from imurehab.exercises import ExerciseTemplate, list_templates, load_template
from imurehab.pipeline import ROM_UNCERTAINTY_DEG
from imurehab.pipeline.session import quality_from_reps_rows as quality_from_rows
from imurehab.store import list_sessions, read_table
from imurehab.store import schema as col
from imurehab.store.layout import find_parts

__all__ = [
    "RepSet",
    "SessionRef",
    "find_session",
    "rep_sets",
    "set_angles",
]


@dataclass(frozen=True)
class SessionRef:
    """One session of a subject, as the report names it.

    Attributes
    ----------
    subject, session : str
        Identifiers.
    start_time : datetime
        Session start (UTC).
    exercise : str or None
        The session's exercise.
    software_version : str
        The imurehab version that wrote the session.
    """

    subject: str
    session: str
    start_time: datetime
    exercise: str | None
    software_version: str


@dataclass(frozen=True, eq=False)
class RepSet:
    """One set of repetitions: one exercise on one joint and side in one session.

    Attributes
    ----------
    subject, session : str
        Identifiers.
    start_time : datetime
        Session start (UTC).
    exercise : str or None
        Exercise (template name) of the repetitions.
    joint : str
        Joint the repetitions were counted on.
    side : str or None
        ``"left"``, ``"right"`` or ``None`` (midline joint).
    template : ExerciseTemplate or None
        The built-in template of ``exercise``, when there is one (targets, tolerance, tempo).
    reps : polars.DataFrame
        The set's rows of the ``reps`` table, by repetition number (angles [deg], times UTC).
    summary : SessionSummary
        ROM per repetition with its uncertainty, mean, best, normal range, flags, and the change since
        the previous set of the same exercise, joint and side.
    """

    session: str
    start_time: datetime
    exercise: str | None
    joint: str
    side: str | None
    template: ExerciseTemplate | None
    reps: pl.DataFrame
    summary: SessionSummary
    subject: str

    @property
    def dof(self) -> str:
        """The ``joint_angles`` column the repetitions were counted in (``flexion_deg`` without template)."""
        return self.template.dof if self.template is not None else col.FLEXION_DEG

    @property
    def label(self) -> str:
        """Side and joint in words, e.g. ``"right knee"``."""
        return " ".join(x for x in (self.side, self.joint) if x)


def _has_results(root: str | os.PathLike[str], subject: str, session: str) -> bool:
    """Whether the session has the results the report reads (``joint_angles`` and ``reps``)."""
    try:
        return all(find_parts(Path(root), t, subject, session) for t in (col.JOINT_ANGLES, col.REPS))
    except DatasetNotFoundError:  # a table no session has yet
        return False


def _listing(ids: list[str], limit: int = 12) -> str:
    shown = ", ".join(ids[:limit])
    return (shown + f", … ({len(ids)} in all)" if len(ids) > limit else shown) or "none"


def find_session(root: str | os.PathLike[str], subject: str, session: str | None = None) -> SessionRef:
    """The session to report on: the one named, or the subject's latest processed session.

    Parameters
    ----------
    root : str or os.PathLike
        Dataset folder.
    subject : str
        Subject id.
    session : str, optional
        Session id; default the subject's latest session (by start time) that has results.

    Returns
    -------
    SessionRef

    Raises
    ------
    DatasetNotFoundError
        No dataset at ``root``; an unknown subject or session (the message lists the known ones); or the
        session has no results yet (the message says to run ``imurehab process``).
    """
    sessions = list_sessions(root).filter(pl.col(col.SUBJECT) == subject).sort(col.START_TIME, col.SESSION)
    if sessions.height == 0:
        subjects = list_sessions(root).get_column(col.SUBJECT).unique(maintain_order=True).to_list()
        raise DatasetNotFoundError(f"no subject {subject!r}; subjects: {_listing(subjects)}", path=root)
    ids = sessions.get_column(col.SESSION).to_list()
    run = f"run `imurehab process {root} --subject {subject}` first"
    if session is not None:
        if session not in ids:
            raise DatasetNotFoundError(
                f"subject {subject!r} has no session {session!r}; sessions: {_listing(ids)}", path=root
            )
        if not _has_results(root, subject, session):
            raise DatasetNotFoundError(f"session {session!r} of {subject!r} has no results: {run}", path=root)
    else:
        done = [s for s in ids if _has_results(root, subject, s)]
        if not done:
            raise DatasetNotFoundError(f"no session of {subject!r} has results: {run}", path=root)
        session = done[-1]
    row = read_table(root, col.SESSIONS, subject=subject, session=session).collect().row(0, named=True)
    return SessionRef(subject, session, row[col.START_TIME], row[col.EXERCISE], row[col.SOFTWARE_VERSION])


def _template(exercise: str | None) -> ExerciseTemplate | None:
    return load_template(exercise) if exercise is not None and exercise in list_templates() else None


def rep_sets(
    root: str | os.PathLike[str],
    subject: str,
    *,
    mdc_deg: float | None = None,
    mdc_source: str | None = None,
) -> list[RepSet]:
    """Every set of the subject's processed sessions, each summarised and compared with the one before.

    Parameters
    ----------
    root : str or os.PathLike
        Dataset folder.
    subject : str
        Subject id.
    mdc_deg, mdc_source : float and str, optional
        A published minimal detectable change (MDC95) [deg] and its citation, used for every change
        (see :func:`imurehab.analysis.compare_sessions`); default: the MDC from the measurement's own
        uncertainty.

    Returns
    -------
    list of RepSet
        Ordered by exercise, joint, side, then session start time; sessions without repetitions are
        absent.

    Raises
    ------
    DatasetNotFoundError
        No ``reps`` or ``sessions`` table at ``root``.
    """
    starts = read_table(root, col.SESSIONS, subject=subject).select(col.SESSION, col.START_TIME)
    reps = (
        read_table(root, col.REPS, subject=subject)
        .join(starts, on=col.SESSION, how="left")
        .sort(col.EXERCISE, col.JOINT, col.SIDE, col.START_TIME, col.SESSION, col.REP, nulls_last=True)
        .collect()
    )
    out: list[RepSet] = []
    for (exercise, joint, side), rows in reps.group_by(
        [col.EXERCISE, col.JOINT, col.SIDE], maintain_order=True
    ):
        template = _template(exercise)
        u = ROM_UNCERTAINTY_DEG.get(str(joint), 1.0)
        previous: SessionSummary | None = None
        for (session,), mine in rows.group_by(col.SESSION, maintain_order=True):
            summary = summarize_session(
                quality_from_rows(mine, template),
                rom_uncertainty_deg=u,
                template=template,
                side=side,
                previous=previous,
                mdc_deg=mdc_deg,
                mdc_source=mdc_source,
            )
            start = mine.get_column(col.START_TIME)[0]
            out.append(
                RepSet(
                    str(session),
                    start,
                    exercise,
                    str(joint),
                    side,
                    template,
                    mine.drop(col.START_TIME, col.SUBJECT),
                    summary,
                    subject,
                )
            )
            previous = summary
    return out


def set_angles(
    root: str | os.PathLike[str], rep_set: RepSet
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The angle a set's repetitions were counted in, over the session.

    Parameters
    ----------
    root : str or os.PathLike
        Dataset folder.
    rep_set : RepSet
        The set.

    Returns
    -------
    (time_s, angle_deg) : tuple of ndarray
        Time from the session start [s] and the angle (:attr:`RepSet.dof`) [deg], in time order.
    """
    side = pl.col(col.SIDE).is_null() if rep_set.side is None else pl.col(col.SIDE) == rep_set.side
    rows = (
        read_table(root, col.JOINT_ANGLES, subject=rep_set.subject, session=rep_set.session)
        .filter((pl.col(col.JOINT) == rep_set.joint) & side)
        .sort(col.TIME)
        .select(
            ((pl.col(col.TIME) - pl.lit(rep_set.start_time)).dt.total_microseconds() / 1e6).alias("t"),
            pl.col(rep_set.dof).fill_null(np.nan).alias("a"),
        )
        .collect()
    )
    return rows.get_column("t").to_numpy(), rows.get_column("a").to_numpy()
