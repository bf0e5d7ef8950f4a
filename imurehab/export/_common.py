"""What every export shares: the sessions chosen, the output folder, the loop and its result."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from imurehab.errors import DatasetNotFoundError, StoreError
from imurehab.store import columns as cols
from imurehab.store import read_table
from imurehab.store.layout import existing_tables
from imurehab.store.schema import SORT_KEYS
from imurehab.types import datetime_to_us

__all__ = ["ExportResult", "ExportSession", "OnSession", "read_session_table", "run_export", "seconds_since"]

OnSession = Callable[[int, int], object]
"""Progress callback: called with (sessions done, sessions in all) after each session."""


@dataclass(frozen=True)
class ExportSession:
    """The ``sessions`` row of one session to export.

    Parameters
    ----------
    subject, session : str
        The session's ids in the dataset.
    start_us, end_us : int
        Session start and end [µs since the Unix epoch, UTC].
    exercise : str or None
        The session's exercise.
    placements : dict of str to str
        Sensor id → body segment.
    sensors : tuple of dict
        The sensors as the ``sessions`` table lists them (``sensor``, ``family``, ``model``, ``rate_hz``
        [Hz], ranges in SI units, ...), in recorded order.
    """

    subject: str
    session: str
    start_us: int
    end_us: int
    exercise: str | None
    placements: dict[str, str]
    sensors: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote.

    Parameters
    ----------
    format : str
        ``"bids"``, ``"opensense"`` or ``"csv"``.
    out : Path
        The output folder.
    sessions : tuple of (str, str)
        The (subject, session) pairs exported, in order.
    files : tuple of Path
        Every file written, in the order written.
    """

    format: str
    out: Path
    sessions: tuple[tuple[str, str], ...]
    files: tuple[Path, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able summary; file paths relative to ``out``, with ``/`` separators."""
        return {
            "format": self.format,
            "out": str(self.out),
            "sessions": [{"subject": s, "session": x} for s, x in self.sessions],
            "files": [f.relative_to(self.out).as_posix() for f in self.files],
        }


def _select_sessions(dataset: Path, subject: str | None, session: str | None) -> list[ExportSession]:
    rows = read_table(dataset, cols.SESSIONS, subject=subject, session=session).collect()
    if rows.height == 0:
        wanted = ", ".join(f"{k} {v!r}" for k, v in (("subject", subject), ("session", session)) if v)
        raise DatasetNotFoundError(
            f"no session to export{f' matching {wanted}' if wanted else ' (the dataset is empty)'}",
            path=dataset,
        )
    out = []
    for row in rows.sort(cols.SUBJECT, cols.SESSION).iter_rows(named=True):
        out.append(
            ExportSession(
                subject=row[cols.SUBJECT],
                session=row[cols.SESSION],
                start_us=datetime_to_us(row[cols.START_TIME]),
                end_us=datetime_to_us(row[cols.END_TIME]),
                exercise=row[cols.EXERCISE],
                placements={p[cols.SENSOR]: p[cols.SEGMENT] for p in row[cols.PLACEMENTS]},
                sensors=tuple(row[cols.SENSORS]),
            )
        )
    return out


def _prepare_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise StoreError("the output is a file, not a folder", path=out)
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise StoreError("the output folder is not empty (pass overwrite to write into it)", path=out)
    out.mkdir(parents=True, exist_ok=True)


def read_session_table(dataset: Path, table: str, s: ExportSession) -> pl.DataFrame:
    """One session's rows of a table, without the partition keys; empty where the table is absent.

    Parameters
    ----------
    dataset : Path
        Dataset folder.
    table : str
        Table name.
    s : ExportSession
        Which session.

    Returns
    -------
    polars.DataFrame
        The rows in the table's sort order (:data:`~imurehab.store.schema.SORT_KEYS`, e.g. sensor then
        time).
    """
    if table not in existing_tables(dataset):
        return pl.DataFrame()
    frame = read_table(dataset, table, subject=s.subject, session=s.session).drop(cols.SUBJECT, cols.SESSION)
    return frame.sort(list(SORT_KEYS[table]), nulls_last=False, maintain_order=True).collect()


def seconds_since(time: pl.Series | npt.NDArray[np.int64], start_us: int) -> npt.NDArray[np.float64]:
    """Seconds from ``start_us`` of times (a ``Datetime`` series or int64 µs since the epoch).

    Parameters
    ----------
    time : polars.Series or ndarray of int64
        Times, UTC.
    start_us : int
        The origin [µs since the Unix epoch].

    Returns
    -------
    ndarray of float64
        ``(time − start) / 10⁶`` [s]; the µs difference is taken in integers, then divided once.
    """
    us = time.dt.epoch("us").to_numpy() if isinstance(time, pl.Series) else np.asarray(time, np.int64)
    return (us - start_us) / 1e6


def run_export(
    fmt: str,
    dataset: str | os.PathLike[str],
    out: str | os.PathLike[str],
    write_session: Callable[[Path, Path, ExportSession], Sequence[Path]],
    *,
    subject: str | None,
    session: str | None,
    overwrite: bool,
    on_session: OnSession | None,
    write_dataset: Callable[[Path, list[ExportSession]], Sequence[Path]] | None = None,
) -> ExportResult:
    """Choose the sessions, check the output folder, write each session, then the dataset-level files.

    Parameters
    ----------
    fmt : str
        Format name, for the result.
    dataset, out : str or os.PathLike
        Dataset folder; output folder (created; must be empty unless ``overwrite``).
    write_session : callable
        ``write_session(dataset, out, session)`` writes one session and returns the files written.
    subject, session : str, optional
        Only this subject's / session's sessions.
    overwrite : bool
        Write into a non-empty output folder (files of the same names are replaced, others kept).
    on_session : callable, optional
        Progress: called with (sessions done, sessions in all) after each session.
    write_dataset : callable, optional
        ``write_dataset(out, sessions)`` writes files about all the sessions, after them.

    Returns
    -------
    ExportResult
    """
    dataset, out = Path(dataset), Path(out)
    sessions = _select_sessions(dataset, subject, session)
    _prepare_out(out, overwrite)
    files: list[Path] = []
    for done, s in enumerate(sessions, start=1):
        files.extend(write_session(dataset, out, s))
        if on_session is not None:
            on_session(done, len(sessions))
    if write_dataset is not None:
        files.extend(write_dataset(out, sessions))
    return ExportResult(fmt, out, tuple((s.subject, s.session) for s in sessions), tuple(files))
