"""One sensor's times and specific force from a session's ``samples`` part files, straight into numpy.

The load needs four columns (``time``, ``acc_x..z``) of one sensor at a time. They are read with
pyarrow row group by row group, on the calling thread (the caller runs sessions side by side), and
copied once into the arrays the metrics take: times as int64 µs and specific force as a
Fortran-ordered (n, 3) float64 array (its columns contiguous, so each column is one plain copy). The
``sensor`` column is read only for row groups whose statistics say they hold more than one sensor
(files are sorted by sensor and time, so that is at most one row group per sensor boundary), and then
as dictionary indices, never as strings; the sensor's rows there are copied as slices (one range in a
sorted file).

Inside :func:`reuse_buffers` (each of the load's worker threads runs there) a thread's reads fill the
same two arrays again instead of allocating new ones, as long as nothing else still holds the previous
ones: an allocator hands large freed arrays back to the operating system, and faulting their pages in
again cost ≈ 4 ms of CPU per sensor-hour. Arrays an epoch function keeps are never overwritten (their
reference count shows it, and the next read allocates afresh).
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from imurehab.analysis.load import _scratch as load_scratch
from imurehab.errors import StoreError
from imurehab.store import columns as cols
from imurehab.store import schema as sc

_DATA_COLUMNS = (cols.TIME, *cols.ACC)
# Row ranges (start, stop) of a row group, shape (k, 2): a sensor's rows are one range in sorted files.
_Rows = npt.NDArray[np.intp]
_local = threading.local()


def _empty(n: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Uninitialised times (n,) and specific force (n, 3), Fortran-ordered."""
    return np.empty(n, dtype=np.int64), np.empty((n, 3), order="F")


class _Buffers:
    """A thread's reusable output arrays: times and the three specific-force columns, one after another."""

    def __init__(self) -> None:
        self.time = np.empty(0, dtype=np.int64)
        self.acc = np.empty(0)

    def take(self, n: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        # 2 references each = this attribute + getrefcount's argument: no view handed out earlier is alive
        free = sys.getrefcount(self.time) == 2 and sys.getrefcount(self.acc) == 2
        if not free or self.time.shape[0] < n:
            self.time, self.acc = np.empty(n, dtype=np.int64), np.empty(3 * n)
        # the first 3n values as three columns of n: a Fortran-ordered (n, 3) view
        return self.time[:n], self.acc[: 3 * n].reshape(3, n).T


def start_reusing_buffers() -> None:
    """From now on, reads and load metrics on this thread reuse their arrays (a worker's initializer)."""
    _local.buffers = _Buffers()
    load_scratch.start_reusing()


@contextlib.contextmanager
def reuse_buffers() -> Iterator[None]:
    """Reads and load metrics on this thread inside the block reuse their arrays when nothing holds them."""
    with load_scratch.reusing():
        _local.buffers = _Buffers()
        try:
            yield
        finally:
            del _local.buffers


@dataclass(frozen=True)
class _Part:
    """An open part file, and which of its row groups may hold which sensor."""

    path: Path
    file: pq.ParquetFile
    ranges: tuple[tuple[str | None, str | None], ...]  # (min, max) sensor per row group; None: unknown


def _sensor_ranges(meta: pq.FileMetaData, index: int) -> tuple[tuple[str | None, str | None], ...]:
    out = []
    for g in range(meta.num_row_groups):
        stats = meta.row_group(g).column(index).statistics
        if stats is not None and stats.has_min_max and stats.null_count == 0:
            out.append((str(stats.min), str(stats.max)))
        else:
            out.append((None, None))
    return tuple(out)


def session_row(files: Sequence[Path]) -> dict[str, Any] | None:
    """The ``sensors`` and ``exercise`` of a session's ``sessions`` row (first row of its parts), or None.

    Parameters
    ----------
    files : sequence of Path
        The session's ``sessions`` part files.

    Raises
    ------
    StoreError
        If a file is not readable Parquet.
    SchemaError
        If a file's schema is not the ``sessions`` table's.
    """
    for path in files:
        try:
            file = pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as err:
            raise StoreError(f"not a readable Parquet file: {err}", path=path) from err
        with file:
            sc.check_file_schema(file.schema_arrow, cols.SESSIONS, path)
            present = [c for c in (cols.SENSORS, cols.EXERCISE) if c in file.schema_arrow.names]
            rows = file.read(columns=present, use_threads=False).slice(0, 1).to_pylist()
        if rows:
            return {cols.SENSORS: None, cols.EXERCISE: None, **rows[0]}
    return None


class SessionSamples:
    """The ``samples`` part files of one session, opened once and read one sensor at a time.

    Parameters
    ----------
    files : sequence of Path
        The partition's part files in part order (:func:`imurehab.store.layout.find_parts`).

    Raises
    ------
    StoreError
        If a file is not readable Parquet.
    SchemaError
        If a file's schema is not the ``samples`` table's.
    """

    def __init__(self, files: Sequence[Path]) -> None:
        parts = []
        for path in files:
            try:
                file = pq.ParquetFile(path, read_dictionary=[cols.SENSOR])
            except (pa.ArrowException, OSError) as err:
                raise StoreError(f"not a readable Parquet file: {err}", path=path) from err
            sc.check_file_schema(pq.read_schema(path), cols.SAMPLES, path)
            sensor_index = file.schema.names.index(cols.SENSOR)
            parts.append(_Part(path, file, _sensor_ranges(file.metadata, sensor_index)))
        self._parts = tuple(parts)
        # The last row group shared by two sensors, decoded once for both (files are sorted by sensor).
        self._shared: tuple[Path, int, pa.Table] | None = None

    def close(self) -> None:
        """Close the files."""
        self._shared = None
        for part in self._parts:
            part.file.close()

    def __enter__(self) -> SessionSamples:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _selection(self, sensor: str) -> list[tuple[_Part, int, _Rows | None]]:
        """(part, row group, its row ranges holding ``sensor`` or None for all) of the groups holding it."""
        chosen: list[tuple[_Part, int, _Rows | None]] = []
        for part in self._parts:
            for g, (low, high) in enumerate(part.ranges):
                if low is not None and high is not None and not (low <= sensor <= high):
                    continue
                if low == high == sensor:
                    chosen.append((part, g, None))
                    continue
                column = part.file.read_row_group(g, columns=[cols.SENSOR], use_threads=False).column(0)
                mask = np.concatenate([_is(chunk, sensor) for chunk in column.chunks] or [np.zeros(0, bool)])
                if mask.any():
                    chosen.append((part, g, _ranges(mask)))
        return chosen

    def _row_groups(self, part: _Part, groups: list[int], *, shared: bool) -> pa.Table:
        """The data columns of ``groups``; a row group holding several sensors is decoded only once."""
        if shared and self._shared is not None and self._shared[:2] == (part.path, groups[0]):
            return self._shared[2]
        table = part.file.read_row_groups(groups, columns=list(_DATA_COLUMNS), use_threads=False)
        if shared:
            self._shared = (part.path, groups[0], table)
        return table

    def read(self, sensor: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Times and specific force of one sensor, in part order (sorted by time if the parts were not).

        Parameters
        ----------
        sensor : str
            Sensor id.

        Returns
        -------
        time_us : numpy.ndarray of int64, shape (N,)
            Sample times [µs since 1970-01-01 UTC].
        acc_mps2 : numpy.ndarray of float64, shape (N, 3), Fortran-ordered
            Specific force ``acc_x, acc_y, acc_z`` [m/s²].
        """
        selection = self._selection(sensor)
        n = sum(
            part.file.metadata.row_group(g).num_rows if rows is None else int((rows[:, 1] - rows[:, 0]).sum())
            for part, g, rows in selection
        )
        buffers: _Buffers | None = getattr(_local, "buffers", None)
        if buffers is None:
            time_us, acc = _empty(n)
        else:
            time_us, acc = buffers.take(n)
        at = 0
        for part, groups, rows in _runs(selection):
            table = self._row_groups(part, groups, shared=rows is not None)
            for k, name in enumerate(_DATA_COLUMNS):
                target = time_us if k == 0 else acc[:, k - 1]
                pos = at
                for values in _pieces(_chunks(table.column(name), part.path, name), rows):
                    target[pos : pos + values.shape[0]] = values
                    pos += values.shape[0]
            at = pos
            del table
        if n > 1 and not (time_us[1:] >= time_us[:-1]).all():
            order = np.argsort(time_us, kind="stable")  # a partition appended to in several parts
            time_us, acc = time_us[order], np.asfortranarray(acc[order])
        return time_us, acc


def _runs(
    selection: list[tuple[_Part, int, _Rows | None]],
) -> list[tuple[_Part, list[int], _Rows | None]]:
    """Consecutive whole row groups of one part merged into one read; a partly selected row group alone."""
    runs: list[tuple[_Part, list[int], _Rows | None]] = []
    for part, g, rows in selection:
        if rows is None and runs and runs[-1][0] is part and runs[-1][2] is None:
            runs[-1][1].append(g)
        else:
            runs.append((part, [g], rows))
    return runs


def _ranges(mask: npt.NDArray[np.bool_]) -> _Rows:
    """The runs of True in ``mask`` as (start, stop) row pairs, shape (k, 2)."""
    edges = np.flatnonzero(np.diff(mask, prepend=False, append=False))
    return edges.reshape(-1, 2)


def _pieces(chunks: list[np.ndarray], rows: _Rows | None) -> Iterator[np.ndarray]:
    """The chunks' values in order, or only the row ranges ``rows`` of their concatenation (as slices)."""
    if rows is None:
        yield from chunks
        return
    values = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
    for start, stop in rows:
        yield values[start:stop]


def _is(chunk: pa.Array, sensor: str) -> npt.NDArray[np.bool_]:
    """Which values of a ``sensor`` column chunk are ``sensor``, compared as dictionary indices."""
    encoded = chunk if isinstance(chunk, pa.DictionaryArray) else chunk.dictionary_encode()
    found = encoded.dictionary.index(sensor).as_py()
    if found is None or found < 0:
        return np.zeros(len(encoded), dtype=bool)
    return encoded.indices.to_numpy(zero_copy_only=False) == found


def _chunks(column: pa.ChunkedArray, path: Path, name: str) -> list[np.ndarray]:
    """A required column's chunks as numpy views (timestamps as int64 µs), without copying."""
    if column.null_count:
        raise StoreError(f"column {name!r} holds nulls", path=path)
    if pa.types.is_timestamp(column.type):
        column = column.cast(pa.int64())
    return [c.to_numpy(zero_copy_only=True) for c in column.chunks]
