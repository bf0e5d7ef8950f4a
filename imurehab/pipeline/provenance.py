"""What a session's results were made from, so a batch redoes exactly the sessions that changed.

The *source* of a session's results: every part file of its ``samples`` and ``sessions`` partitions
(name, size, modification time and SHA-256 of the bytes), the exercise and the exercise template's
digest, and the versions of the software, of the table schemas and of the results
(:data:`RESULTS_VERSION`). It travels in each results part itself, under the :data:`SOURCE_KEY` key of
the file's ``imurehab`` footer metadata, so rows and source are published by the same atomic rename.

A session's results are *complete and current* when each of :data:`RESULT_TABLES` holds exactly one part
and the three carry the same source, equal to the session's source now. Inputs are compared by content
(name and SHA-256): a dataset copied elsewhere, with new modification times, is not redone. Hashing reads
every input byte, so a planner first compares names, sizes and modification times
(:func:`unchanged_by_stat`), as ``make`` and git's index do, and leaves hashing to whoever processes the
session. A run killed between the renames of the three tables leaves them with different sources (or
one missing): never taken as finished.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from imurehab._version import __version__
from imurehab.errors import DatasetNotFoundError, StoreError
from imurehab.exercises import ExerciseTemplate
from imurehab.store import SCHEMA_VERSION, read_file_metadata
from imurehab.store import schema as col
from imurehab.store.layout import find_parts

__all__ = [
    "CALIBRATION_METADATA_KEY",
    "NOTES_METADATA_KEY",
    "RESULTS_VERSION",
    "RESULT_TABLES",
    "SOURCE_KEY",
    "InputFile",
    "ResultsSettings",
    "ResultsSource",
    "changed_reason",
    "input_files",
    "read_results_source",
    "results_settings",
    "settings_changed",
    "unchanged_by_stat",
]

RESULT_TABLES: Final[tuple[str, ...]] = (col.ORIENTATION, col.JOINT_ANGLES, col.REPS)
"""The tables :func:`~imurehab.pipeline.process_session` writes, in the order they are published."""
SOURCE_KEY: Final = "results_source"
CALIBRATION_METADATA_KEY: Final[str] = "calibration"
"""Footer metadata key of ``joint_angles`` files: a list of each joint's calibration figures (dicts with
``joint``, ``side`` and :meth:`imurehab.pipeline.JointResult.calibration`)."""
NOTES_METADATA_KEY: Final[str] = "notes"
"""Footer metadata key of ``joint_angles`` files: the processing notes (list of str)."""
"""Key of the :class:`ResultsSource` in a results part's ``imurehab`` footer metadata."""
RESULTS_VERSION: Final[int] = 1
"""Grows whenever the results of the same inputs change (an algorithm fix between releases)."""

_INPUT_TABLES: Final[tuple[str, ...]] = (col.SAMPLES, col.SESSIONS)
_FORMAT: Final = 1


@dataclass(frozen=True)
class InputFile:
    """One input part file of a session.

    Attributes
    ----------
    table, name : str
        Its table (``samples`` or ``sessions``) and file name (``part-0.parquet``).
    size : int
        Size [bytes].
    mtime_ns : int
        Modification time [ns since the Unix epoch].
    sha256 : str
        SHA-256 of its bytes, hexadecimal.
    """

    table: str
    name: str
    size: int
    mtime_ns: int
    sha256: str

    @property
    def content(self) -> tuple[str, str, str]:
        """What identifies the file's content: (table, name, sha256)."""
        return (self.table, self.name, self.sha256)


@dataclass(frozen=True)
class ResultsSettings:
    """Everything besides the inputs that decides a session's results.

    Attributes
    ----------
    exercise : str or None
        The exercise processed (the session's own or the one asked for).
    template_sha256 : str or None
        SHA-256 of the exercise template's definition (:meth:`ExerciseTemplate.to_dict` as sorted
        JSON); None without a template.
    software_version : str
        Version of imurehab.
    schema_version : int
        :data:`imurehab.store.SCHEMA_VERSION`.
    results_version : int
        :data:`RESULTS_VERSION`.
    """

    exercise: str | None
    template_sha256: str | None
    software_version: str
    schema_version: int
    results_version: int


@dataclass(frozen=True)
class ResultsSource:
    """What a session's results are made from: its input files and the settings.

    Attributes
    ----------
    inputs : tuple of InputFile
        The session's ``samples`` then ``sessions`` part files, each in part order.
    settings : ResultsSettings
        Exercise, template and versions.
    """

    inputs: tuple[InputFile, ...]
    settings: ResultsSettings

    def to_dict(self) -> dict[str, Any]:
        """The source as a JSON-ready dict (with a format number)."""
        return {"format": _FORMAT, **asdict(self)}

    @classmethod
    def from_dict(cls, raw: Any) -> ResultsSource | None:
        """Parse :meth:`to_dict` output; None if it is damaged or of another format.

        Parameters
        ----------
        raw : Any
            The decoded JSON value.
        """
        try:
            if not isinstance(raw, dict) or raw.get("format") != _FORMAT:
                return None
            return cls(
                inputs=tuple(InputFile(**f) for f in raw["inputs"]),
                settings=ResultsSettings(**raw["settings"]),
            )
        except (KeyError, TypeError):
            return None


def results_settings(exercise: str | None, template: ExerciseTemplate | None) -> ResultsSettings:
    """The settings results made now with this exercise and template would record.

    Parameters
    ----------
    exercise : str or None
        The exercise processed (a template's name when there is a template).
    template : ExerciseTemplate or None
        The exercise template used, if any.
    """
    digest = None
    if template is not None:
        text = json.dumps(template.to_dict(), sort_keys=True, default=str)
        digest = hashlib.sha256(text.encode()).hexdigest()
    return ResultsSettings(exercise, digest, __version__, SCHEMA_VERSION, RESULTS_VERSION)


def _stat_inputs(root: Path, subject: str, session: str) -> list[tuple[str, Path, os.stat_result]]:
    return [
        (table, path, path.stat())
        for table in _INPUT_TABLES
        for path in find_parts(root, table, subject, session)
    ]


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def input_files(
    root: str | os.PathLike[str], subject: str, session: str, *, known: ResultsSource | None = None
) -> tuple[InputFile, ...]:
    """The session's input files now, with the SHA-256 of each.

    Parameters
    ----------
    root : str or os.PathLike
        Dataset folder.
    subject, session : str
        The session.
    known : ResultsSource, optional
        A stored source: a file whose name, size and modification time are those recorded there keeps
        the recorded hash instead of being read again.

    Raises
    ------
    DatasetNotFoundError
        If the dataset has no ``samples`` or ``sessions`` table.
    """
    recorded = {(f.table, f.name, f.size, f.mtime_ns): f.sha256 for f in known.inputs} if known else {}
    out = []
    for table, path, st in _stat_inputs(Path(root), subject, session):
        digest = recorded.get((table, path.name, st.st_size, st.st_mtime_ns)) or _sha256(path)
        out.append(InputFile(table, path.name, st.st_size, st.st_mtime_ns, digest))
    return tuple(out)


def unchanged_by_stat(
    stored: ResultsSource, root: str | os.PathLike[str], subject: str, session: str
) -> bool:
    """Whether the session's input files have the names, sizes and times ``stored`` records.

    Parameters
    ----------
    stored : ResultsSource
        The source read from the session's results.
    root : str or os.PathLike
        Dataset folder.
    subject, session : str
        The session.
    """
    try:
        now = _stat_inputs(Path(root), subject, session)
    except DatasetNotFoundError:
        return False
    return [(t, p.name, st.st_size, st.st_mtime_ns) for t, p, st in now] == [
        (f.table, f.name, f.size, f.mtime_ns) for f in stored.inputs
    ]


def read_results_source(root: str | os.PathLike[str], subject: str, session: str) -> ResultsSource | None:
    """The source of a session's results, if they are complete (see the module's description).

    Parameters
    ----------
    root : str or os.PathLike
        Dataset folder.
    subject, session : str
        The session.

    Returns
    -------
    ResultsSource or None
        None when a results table is missing, has several parts, or the parts do not carry one
        readable source in common.
    """
    sources = []
    for table in RESULT_TABLES:
        try:
            parts = find_parts(Path(root), table, subject, session)
            if len(parts) != 1:
                return None
            source = ResultsSource.from_dict(read_file_metadata(parts[0]).get(SOURCE_KEY))
        except (DatasetNotFoundError, StoreError, ValueError, OSError):
            return None
        if source is None or (sources and source != sources[0]):
            return None
        sources.append(source)
    return sources[0]


def settings_changed(stored: ResultsSettings, current: ResultsSettings) -> str | None:
    """Why results made with ``stored`` settings are out of date now, or None if they are not.

    Parameters
    ----------
    stored, current : ResultsSettings
        The settings recorded with the results, and those results made now would record.

    Returns
    -------
    str or None
        ``"exercise changed"`` (the exercise or its template) or ``"software changed"`` (any version).
    """
    if (stored.exercise, stored.template_sha256) != (current.exercise, current.template_sha256):
        return "exercise changed"
    if stored != current:
        return "software changed"
    return None


def changed_reason(stored: ResultsSource | None, current: ResultsSource) -> str | None:
    """Why a session must be (re)processed, or None when its results are current.

    Parameters
    ----------
    stored : ResultsSource or None
        The source of its complete results (:func:`read_results_source`).
    current : ResultsSource
        Its source now.

    Returns
    -------
    str or None
        ``"no complete results"``, ``"inputs changed"`` (by content), or as :func:`settings_changed`;
        None when nothing changed.
    """
    if stored is None:
        return "no complete results"
    if [f.content for f in stored.inputs] != [f.content for f in current.inputs]:
        return "inputs changed"
    return settings_changed(stored.settings, current.settings)
