"""What a session's ``load`` partition was computed from, so an update redoes only what changed.

The *source* of a session's load is: the name, size and modification time (ns) of each of its
``samples`` and ``sessions`` part files, the epoch length, the version of the load metric definitions
and the version of the station labelling. A re-synced, re-imported or touched session changes its
files' sizes or times; a new metrics version changes the definitions; either makes the stored source
differ from the current one, and the session is recomputed.

The stored source is a small JSON file ``_load_source.json`` beside the load part
(``load/subject=<id>/session=<id>/``). Its leading ``_`` hides it from every reader of the dataset
(imurehab, polars with ``hidden_file_prefix``, Spark; DuckDB globs ``*.parquet`` only). It is written
atomically *after* the load part, so a crash between the two leaves the previous source on disk, which
differs from the current one: the session is recomputed next time, never wrongly skipped.
(It belongs in the load part's footer metadata once :func:`imurehab.store.write_table` accepts extra
metadata; the comparison would not change.)
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from imurehab.store import columns as cols
from imurehab.store.layout import find_parts, partition_dir

__all__ = [
    "SOURCE_FILE",
    "LoadSource",
    "changed_reason",
    "current_source",
    "read_stored_source",
    "remove_load_partition",
    "write_stored_source",
]

SOURCE_FILE: Final = "_load_source.json"
"""Name of the file holding a load partition's :class:`LoadSource` (hidden from dataset readers)."""

_FORMAT: Final = 1


@dataclass(frozen=True)
class LoadSource:
    """The inputs a session's load epochs were computed from.

    Attributes
    ----------
    samples, sessions : tuple of (str, int, int)
        Each part file of the session's ``samples`` / ``sessions`` partition: file name, size [bytes],
        modification time [ns since the epoch].
    epoch_s : float
        Epoch length [s].
    metrics_version : str
        Version of the load metric definitions (:mod:`imurehab.analysis.load`).
    stations_version : str or None
        Version of the station labelling applied, None when the session's epochs are not labelled.
    """

    samples: tuple[tuple[str, int, int], ...]
    sessions: tuple[tuple[str, int, int], ...]
    epoch_s: float
    metrics_version: str
    stations_version: str | None

    def to_json(self) -> str:
        """The source as one JSON document (with a format number)."""
        return json.dumps({"format": _FORMAT, **asdict(self)}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> LoadSource | None:
        """Parse :meth:`to_json` output; None if it is damaged or of another format.

        Parameters
        ----------
        text : str
            The JSON document.
        """
        try:
            raw: dict[str, Any] = json.loads(text)
            if raw.get("format") != _FORMAT:
                return None
            return cls(
                samples=tuple((str(n), int(s), int(t)) for n, s, t in raw["samples"]),
                sessions=tuple((str(n), int(s), int(t)) for n, s, t in raw["sessions"]),
                epoch_s=float(raw["epoch_s"]),
                metrics_version=str(raw["metrics_version"]),
                stations_version=None if raw["stations_version"] is None else str(raw["stations_version"]),
            )
        except (ValueError, KeyError, TypeError):
            return None


def _files(root: Path, table: str, subject: str, session: str) -> tuple[tuple[str, int, int], ...]:
    out = []
    for path in find_parts(root, table, subject, session):
        st = path.stat()
        out.append((path.name, st.st_size, st.st_mtime_ns))
    return tuple(out)


def current_source(
    root: str | os.PathLike[str],
    *,
    subject: str,
    session: str,
    epoch_s: float,
    metrics_version: str,
    stations_version: str | None,
) -> LoadSource:
    """The source a load computed now for this session would have.

    Parameters
    ----------
    root : str or os.PathLike
        Dataset folder.
    subject, session : str
        The session.
    epoch_s : float
        Epoch length [s].
    metrics_version, stations_version : str, str or None
        As in :class:`LoadSource`.

    Raises
    ------
    DatasetNotFoundError
        If the dataset has no ``samples`` or ``sessions`` table.
    """
    root = Path(root)
    return LoadSource(
        samples=_files(root, cols.SAMPLES, subject, session),
        sessions=_files(root, cols.SESSIONS, subject, session),
        epoch_s=float(epoch_s),
        metrics_version=metrics_version,
        stations_version=stations_version,
    )


def _source_path(root: Path, subject: str, session: str) -> Path:
    return partition_dir(root, cols.LOAD, subject, session) / SOURCE_FILE


def read_stored_source(root: str | os.PathLike[str], *, subject: str, session: str) -> LoadSource | None:
    """The source stored with a session's load partition; None if there is no load or no readable source.

    Parameters
    ----------
    root : str or os.PathLike
        Dataset folder.
    subject, session : str
        The session.
    """
    root = Path(root)
    path = _source_path(root, subject, session)
    if not (root / cols.LOAD).is_dir() or not find_parts(root, cols.LOAD, subject, session):
        return None
    try:
        return LoadSource.from_json(path.read_text(encoding="utf-8"))
    except OSError:
        return None


def write_stored_source(
    root: str | os.PathLike[str], source: LoadSource, *, subject: str, session: str
) -> Path:
    """Store ``source`` beside the session's load part, atomically (temporary file, flush, rename).

    Parameters
    ----------
    root : str or os.PathLike
        Dataset folder; the load partition must exist.
    source : LoadSource
        What the load part was computed from.
    subject, session : str
        The session.

    Returns
    -------
    Path
        The file written.
    """
    path = _source_path(Path(root), subject, session)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(source.to_json())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def changed_reason(stored: LoadSource | None, current: LoadSource) -> str | None:
    """Why a session's load must be (re)computed, or None when the stored load is up to date.

    Parameters
    ----------
    stored : LoadSource or None
        What the stored load was computed from (None: no load stored).
    current : LoadSource
        The session now.

    Returns
    -------
    str or None
        ``"new"``, ``"samples changed"``, ``"session changed"``, ``"epoch length changed"``,
        ``"metrics version changed"``, ``"station labelling changed"``; None when nothing changed.
    """
    if stored is None:
        return "new"
    for reason, field in (
        ("samples changed", "samples"),
        ("session changed", "sessions"),
        ("epoch length changed", "epoch_s"),
        ("metrics version changed", "metrics_version"),
        ("station labelling changed", "stations_version"),
    ):
        if getattr(stored, field) != getattr(current, field):
            return reason
    return None


def remove_load_partition(root: str | os.PathLike[str], *, subject: str, session: str) -> int:
    """Remove a session's load partition (its part files and stored source), and empty parent folders.

    Used when the session's samples are gone: its load would otherwise outlive the data it came from.

    Parameters
    ----------
    root : str or os.PathLike
        Dataset folder.
    subject, session : str
        The session.

    Returns
    -------
    int
        Files removed.
    """
    root = Path(root)
    directory = partition_dir(root, cols.LOAD, subject, session)
    if not directory.is_dir():
        return 0
    # The source goes first: a crash midway leaves parts without a source, which the next update
    # treats as stale and removes again (or recomputes, if the session came back).
    files = [directory / SOURCE_FILE, *find_parts(root, cols.LOAD, subject, session)]
    removed = 0
    for path in files:
        if path.exists():
            path.unlink()
            removed += 1
    for folder in (directory, directory.parent):
        try:
            folder.rmdir()
        except OSError:
            break  # not empty (another session, or files we do not own): leave it
    return removed
