"""What a session's ``load`` partition was computed from, so an update redoes only what changed.

The *source* of a session's load is: the name, size and modification time (ns) of each of its
``samples`` and ``sessions`` part files, the epoch length, the version of the load metric definitions
and the version of the station labelling. A re-synced, re-imported or touched session changes its
files' sizes or times; a new metrics version changes the definitions; either makes the stored source
differ from the current one, and the session is recomputed.

The stored source travels in the load part itself: the ``load_source`` key of the file's ``imurehab``
footer metadata (:func:`imurehab.store.write_table` with ``metadata=``). Rows and source are therefore
published together by one atomic rename; there is nothing to keep in step. A load partition without a
readable source (a damaged file, several parts, or one written by an older imurehab, which kept the
source in a hidden ``_load_source.json`` beside the part: :data:`LEGACY_SOURCE_FILE`) differs from every
current source, so it is recomputed once, never wrongly skipped; the legacy file is removed then.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from imurehab.errors import DatasetNotFoundError, StoreError
from imurehab.store import columns as cols
from imurehab.store import delete_partition, read_file_metadata
from imurehab.store.layout import find_parts, partition_dir

__all__ = [
    "LEGACY_SOURCE_FILE",
    "SOURCE_KEY",
    "LoadSource",
    "changed_reason",
    "current_source",
    "read_stored_source",
    "remove_legacy_source",
    "remove_load_partition",
]

SOURCE_KEY: Final = "load_source"
"""Key of the :class:`LoadSource` in a load part's ``imurehab`` footer metadata."""
LEGACY_SOURCE_FILE: Final = "_load_source.json"
"""Where imurehab up to this version kept the source: a hidden file beside the load part."""

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

    def to_dict(self) -> dict[str, Any]:
        """The source as a JSON-ready dict (with a format number)."""
        return {"format": _FORMAT, **asdict(self)}

    def to_json(self) -> str:
        """The source as one JSON document (:meth:`to_dict`)."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, raw: Any) -> LoadSource | None:
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
                samples=tuple((str(n), int(s), int(t)) for n, s, t in raw["samples"]),
                sessions=tuple((str(n), int(s), int(t)) for n, s, t in raw["sessions"]),
                epoch_s=float(raw["epoch_s"]),
                metrics_version=str(raw["metrics_version"]),
                stations_version=None if raw["stations_version"] is None else str(raw["stations_version"]),
            )
        except (ValueError, KeyError, TypeError):
            return None

    @classmethod
    def from_json(cls, text: str) -> LoadSource | None:
        """Parse :meth:`to_json` output; None if it is damaged or of another format.

        Parameters
        ----------
        text : str
            The JSON document.
        """
        try:
            return cls.from_dict(json.loads(text))
        except ValueError:
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


def read_stored_source(root: str | os.PathLike[str], *, subject: str, session: str) -> LoadSource | None:
    """The source stored in a session's load part; None if there is no load or no readable source.

    Parameters
    ----------
    root : str or os.PathLike
        Dataset folder.
    subject, session : str
        The session.
    """
    root = Path(root)
    if not (root / cols.LOAD).is_dir():
        return None
    parts = find_parts(root, cols.LOAD, subject, session)
    if len(parts) != 1:  # none, or parts this module did not write together
        return None
    try:
        metadata = read_file_metadata(parts[0])
    except (StoreError, DatasetNotFoundError, ValueError, OSError):
        return None
    return LoadSource.from_dict(metadata.get(SOURCE_KEY))


def remove_legacy_source(root: str | os.PathLike[str], *, subject: str, session: str) -> bool:
    """Remove the hidden source file an older imurehab kept beside a session's load part.

    Parameters
    ----------
    root : str or os.PathLike
        Dataset folder.
    subject, session : str
        The session.

    Returns
    -------
    bool
        Whether there was one.
    """
    path = partition_dir(Path(root), cols.LOAD, subject, session) / LEGACY_SOURCE_FILE
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


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
    """Remove a session's load partition (:func:`imurehab.store.delete_partition`).

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
        Load part files removed.
    """
    return delete_partition(root, cols.LOAD, subject=subject, session=session)
