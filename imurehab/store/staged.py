"""Several tables of one session written side by side in worker threads, made visible together at the end.

Writing a large table (a one-hour ``orientation`` table has millions of rows) is mostly Parquet
encoding and zstd compression, which pyarrow does without holding Python's lock: it can run on another
core while the caller goes on computing the next table. :class:`StagedTables` does that and keeps the
guarantees of :func:`~imurehab.store.write_table`: each part is written under a hidden temporary name
and flushed to disk first; only when every staged table has been written without error are they renamed
into place (atomically, one by one, in the order they were staged). If anything fails, in a worker or
in the caller's block, no staged table becomes visible and the temporary files are removed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any

import polars as pl

from imurehab.store import schema as sc
from imurehab.store.layout import partition_dir
from imurehab.store.writer import (
    _check_free,
    _commit_part,
    _footer_metadata,
    _HiddenPart,
    _Mode,
    _stage_part,
    _to_arrow,
)

__all__ = ["StagedTables"]


class StagedTables:
    """Write tables of one (subject, session) in worker threads; publish them when the block ends.

    Parameters
    ----------
    root : str or os.PathLike
        Dataset folder; created if missing.
    subject, session : str
        Partition ids (letters, digits, ``._-``; 1–64 characters).
    overwrite : bool, default False
        Replace partitions that exist (as :func:`~imurehab.store.write_table`); otherwise staging a
        table whose partition exists raises :class:`~imurehab.errors.PartitionExistsError` at once.
    workers : int, default 2
        Tables written at the same time.

    Examples
    --------
    >>> with StagedTables("data", subject="001", session="s1") as out:  # doctest: +SKIP
    ...     out.stage("orientation", orientation)  # written while the next lines run
    ...     out.stage("joint_angles", joint_angles(...))
    >>> out.written  # doctest: +SKIP
    [PosixPath('data/orientation/subject=001/session=s1/part-0.parquet'), ...]
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        subject: str,
        session: str,
        overwrite: bool = False,
        workers: int = 2,
    ) -> None:
        self._root = Path(root)
        self._subject, self._session = subject, session
        self._mode: _Mode = "overwrite" if overwrite else "create"
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="imurehab-write")
        self._staged: dict[str, Future[_HiddenPart]] = {}
        self.written: list[Path] = []
        """The part files made visible, in staging order (filled when the block ends without error)."""

    def stage(self, table: str, df: pl.DataFrame, *, metadata: Mapping[str, Any] | None = None) -> None:
        """Start writing the rows of ``table`` (in a worker thread; visible only when the block ends).

        Parameters
        ----------
        table : str
            One of :data:`~imurehab.store.schema.TABLES`, at most once per block.
        df : polars.DataFrame
            The rows, as for :func:`~imurehab.store.write_table`; not to be modified until the block ends.
        metadata : mapping of str to JSON-able values, optional
            Extra footer metadata keys, as for :func:`~imurehab.store.write_table`.

        Raises
        ------
        SchemaError
            If the rows do not fit the table's schema (checked here, before the write starts).
        PartitionExistsError
            If the partition exists and ``overwrite`` was not given.
        ValueError
            If ``table`` was staged already in this block, or ``metadata`` uses one of the store's own
            keys or holds NaN or infinity.
        TypeError
            If ``metadata`` has a key that is not a string or a value JSON cannot hold.
        """
        if table in self._staged:
            raise ValueError(f"table {table!r} is staged already")
        directory = partition_dir(self._root, table, self._subject, self._session)
        _footer_metadata(table, self._subject, self._session, metadata)
        frame = sc.conform_frame(df, table, directory)
        if self._mode == "create":
            _check_free(directory)
        extra = dict(metadata) if metadata else None  # the caller may change theirs meanwhile
        self._staged[table] = self._pool.submit(self._write, frame, table, extra)

    def _write(self, frame: pl.DataFrame, table: str, extra: dict[str, Any] | None) -> _HiddenPart:
        arrow = _to_arrow(frame, table)
        return _stage_part(arrow, self._root, table, self._subject, self._session, self._mode, extra)

    def __enter__(self) -> StagedTables:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            for f in self._staged.values():
                f.cancel()
        self._pool.shutdown(wait=True)
        parts: list[_HiddenPart] = []
        failure: BaseException | None = None
        for f in self._staged.values():
            if f.cancelled():
                continue
            if (err := f.exception()) is not None:
                failure = failure or err
            else:
                parts.append(f.result())
        if exc_type is not None or failure is not None:
            for part in parts:
                part.tmp.unlink(missing_ok=True)
            if exc_type is None and failure is not None:
                raise failure
            return
        for i, part in enumerate(parts):
            try:
                self.written.append(_commit_part(part))
            except BaseException:
                for later in parts[i + 1 :]:
                    later.tmp.unlink(missing_ok=True)
                raise
