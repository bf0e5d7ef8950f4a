"""The work of a batch: which sessions to process, and processing one of them, purely, anywhere.

:func:`plan_batch` lists a dataset's sessions and sets aside those whose results are complete and were
made from their current inputs and settings (by file names, sizes and times: nothing is read).
:func:`process_task` processes one session: it hashes the inputs (a session whose files were only
touched or copied, same content, is skipped then), reads the samples, writes the results atomically
with their source (:mod:`imurehab.pipeline.provenance`) and returns a small :class:`SessionResult`.
Tasks and results are plain frozen dataclasses, so any executor can ship them: a process pool, a Dask
cluster.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from imurehab.analysis.quality import RepQuality
from imurehab.analysis.summary import SessionSummary
from imurehab.errors import ImurehabError
from imurehab.exercises import ExerciseTemplate, list_templates, load_template
from imurehab.pipeline.joints import JointResult
from imurehab.pipeline.provenance import (
    ResultsSource,
    changed_reason,
    input_files,
    read_results_source,
    results_settings,
    settings_changed,
    unchanged_by_stat,
)
from imurehab.pipeline.session import write_results
from imurehab.store import list_sessions, read_recording
from imurehab.store import schema as col

__all__ = [
    "BatchOptions",
    "BatchPlan",
    "JointOutcome",
    "SessionResult",
    "SessionTask",
    "plan_batch",
    "process_task",
]

Status = Literal["processed", "skipped", "failed"]


@dataclass(frozen=True)
class BatchOptions:
    """How a batch processes its sessions.

    Attributes
    ----------
    exercise : str or None
        A built-in exercise template's name overriding each session's exercise.
    template_file : Path or None
        An exercise template file (``.toml``) to use instead (wins over ``exercise``).
    overwrite : bool
        Process again sessions whose results are current.
    """

    exercise: str | None = None
    template_file: Path | None = None
    overwrite: bool = False

    def template(self, session_exercise: str | None) -> tuple[str | None, ExerciseTemplate | None]:
        """The exercise and template a session is processed with.

        Parameters
        ----------
        session_exercise : str or None
            The exercise the session's row names.

        Raises
        ------
        TemplateError
            If the template file cannot be read or breaks the format.
        """
        if self.template_file is not None:
            template = load_template(self.template_file)
            return template.name, template
        exercise = self.exercise if self.exercise is not None else session_exercise
        return exercise, load_template(exercise) if exercise in list_templates() else None


@dataclass(frozen=True)
class SessionTask:
    """One session to process.

    Attributes
    ----------
    root : Path
        Dataset folder.
    subject, session : str
        The session.
    exercise : str or None
        The session's own exercise (from its ``sessions`` row).
    reason : str
        Why it is processed (``"new"``, ``"inputs changed"``, ``"overwrite"``, ...; see
        :func:`~imurehab.pipeline.provenance.changed_reason`).
    options : BatchOptions
        The batch's options.
    """

    root: Path
    subject: str
    session: str
    exercise: str | None
    reason: str
    options: BatchOptions = field(default_factory=BatchOptions)


@dataclass(frozen=True)
class JointOutcome:
    """One joint's set in a processed session: what summaries and reports need, small and picklable.

    Attributes
    ----------
    joint, side : str
        The joint and its side (None for a midline joint).
    start_us : int or None
        Time of its first angle sample [µs since the Unix epoch, UTC].
    quality : tuple of RepQuality
        The repetitions.
    summary : SessionSummary or None
        The set's summary.
    calibration : dict
        :meth:`~imurehab.pipeline.JointResult.calibration`.
    """

    joint: str
    side: str | None
    start_us: int | None
    quality: tuple[RepQuality, ...]
    summary: SessionSummary | None
    calibration: dict[str, Any]

    @classmethod
    def of(cls, j: JointResult) -> JointOutcome:
        """The outcome of a processed joint.

        Parameters
        ----------
        j : JointResult
            The joint.
        """
        return cls(j.joint, j.side, j.start_us, tuple(j.quality), j.summary, j.calibration())

    @property
    def label(self) -> str:
        """``"knee right"``, or the joint alone for a midline joint."""
        return self.joint if self.side is None else f"{self.joint} {self.side}"


@dataclass(frozen=True)
class SessionResult:
    """What a batch did with one session.

    Attributes
    ----------
    subject, session : str
        The session.
    status : {"processed", "skipped", "failed"}
        Skipped: its results are current.
    reason : str
        Why it was processed, or ``"unchanged"``.
    joints : tuple of JointOutcome
        The joints processed.
    reps : int
        Repetitions found, all joints.
    notes : tuple of str
        What could not be computed and why.
    error : str or None
        The one-line error of a failed session.
    """

    subject: str
    session: str
    status: Status
    reason: str
    joints: tuple[JointOutcome, ...] = ()
    reps: int = 0
    notes: tuple[str, ...] = ()
    error: str | None = None

    @classmethod
    def from_error(cls, task: SessionTask, err: BaseException) -> SessionResult:
        """The ``failed`` result of a task, with the error on one line.

        The error's type is named unless it is one of the library's own.

        Parameters
        ----------
        task : SessionTask
            The session.
        err : BaseException
            What went wrong.
        """
        text = " ".join(str(err).split())
        if not isinstance(err, ImurehabError):
            text = f"{type(err).__name__}: {text}"
        return cls(task.subject, task.session, "failed", task.reason, error=text)

    def to_dict(self) -> dict[str, Any]:
        """The result as a JSON-ready dict (summaries and calibration of each joint included)."""
        out: dict[str, Any] = {
            "subject": self.subject,
            "session": self.session,
            "status": self.status,
            "reason": self.reason,
        }
        if self.status == "failed":
            out["error"] = self.error
        if self.status == "processed":
            out.update(
                joints=[j.label for j in self.joints],
                reps=self.reps,
                notes=list(self.notes),
                summaries=[j.summary.to_dict() for j in self.joints if j.summary is not None],
                calibration=[{"joint": j.joint, "side": j.side, **j.calibration} for j in self.joints],
            )
        return out


@dataclass(frozen=True)
class BatchPlan:
    """The sessions a batch will process, and those it skips.

    Attributes
    ----------
    root : Path
        Dataset folder.
    tasks : tuple of SessionTask
        To process, oldest session first.
    skipped : tuple of SessionResult
        Sessions whose results are current.
    order : tuple of (str, str)
        Every session's (subject, session), oldest first.
    """

    root: Path
    tasks: tuple[SessionTask, ...]
    skipped: tuple[SessionResult, ...]
    order: tuple[tuple[str, str], ...]


def _planned_reason(
    root: Path, subject: str, session: str, exercise: str | None, options: BatchOptions
) -> str | None:
    """Why a session needs processing, judged without reading any input file; None if it does not."""
    if options.overwrite:
        return "overwrite"
    stored = read_results_source(root, subject, session)
    if stored is None:
        return "no complete results"
    reason = settings_changed(stored.settings, results_settings(*options.template(exercise)))
    if reason is None and not unchanged_by_stat(stored, root, subject, session):
        reason = "input files touched"
    return reason


def plan_batch(
    root: str | os.PathLike[str],
    *,
    subject: str | None = None,
    session: str | None = None,
    options: BatchOptions | None = None,
) -> BatchPlan:
    """List a dataset's sessions to process and those whose results are current.

    Parameters
    ----------
    root : str or os.PathLike
        Dataset folder.
    subject, session : str, optional
        Only this subject's / session's.
    options : BatchOptions, optional
        Exercise, template and overwrite (default: each session's exercise, skip current results).

    Returns
    -------
    BatchPlan
        Sessions in order of start time (then subject and session).

    Raises
    ------
    DatasetNotFoundError
        If there is no dataset or no ``sessions`` table at ``root``.
    TemplateError
        If ``options.template_file`` cannot be loaded.
    """
    root = Path(root)
    options = options or BatchOptions()
    if options.template_file is not None:
        options.template(None)  # a bad template file fails here, once, not in every session
    rows = list_sessions(root)
    if subject is not None:
        rows = rows.filter(rows[col.SUBJECT] == subject)
    if session is not None:
        rows = rows.filter(rows[col.SESSION] == session)
    rows = rows.sort(col.START_TIME, col.SUBJECT, col.SESSION)
    tasks, skipped = [], []
    for subj, sess, exercise in rows.select(col.SUBJECT, col.SESSION, col.EXERCISE).iter_rows():
        reason = _planned_reason(root, subj, sess, exercise, options)
        if reason is None:
            skipped.append(SessionResult(subj, sess, "skipped", "unchanged"))
        else:
            tasks.append(SessionTask(root, subj, sess, exercise, reason, options))
    order = tuple(rows.select(col.SUBJECT, col.SESSION).iter_rows())
    return BatchPlan(root, tuple(tasks), tuple(skipped), order)


def process_task(task: SessionTask) -> SessionResult:
    """Process one session and write its results, unless its inputs' content shows they are current.

    Pure in the sense a batch needs: the tables written depend only on the session's input files, the
    options and the software; the result describes them. Errors of the session (bad data, unreadable
    files, a failed calibration) become a ``failed`` result, never an exception.

    Parameters
    ----------
    task : SessionTask
        The session (from :func:`plan_batch`).

    Returns
    -------
    SessionResult
        ``processed`` (with its joints, reps and notes), ``skipped`` (inputs only touched: same
        content) or ``failed`` (with the error).
    """
    root, subject, session = task.root, task.subject, task.session
    try:
        stored = read_results_source(root, subject, session)
        inputs = input_files(root, subject, session, known=stored)
        exercise, template = task.options.template(task.exercise)
        current = ResultsSource(inputs, results_settings(exercise, template))
        reason = "overwrite" if task.options.overwrite else changed_reason(stored, current)
        if reason is None:
            return SessionResult(subject, session, "skipped", "unchanged")
        rec = read_recording(root, subject=subject, session=session)
        result = write_results(root, rec, inputs, exercise=exercise, template=template, overwrite=True)
    except Exception as err:  # one bad session must not stop a batch of thousands
        return SessionResult.from_error(task, err)
    return SessionResult(
        subject,
        session,
        "processed",
        reason,
        joints=tuple(JointOutcome.of(j) for j in result.joints),
        reps=result.reps.height,
        notes=tuple(result.notes),
    )
