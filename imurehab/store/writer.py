"""Writing a dataset: canonical tables as atomic, zstd-compressed Parquet parts with footer metadata.

A write never leaves a partial ``*.parquet`` file behind: each part is written to a hidden temporary
file in the partition folder (``.part-<n>.parquet.<random>.tmp``, which no ``*.parquet`` glob matches),
flushed to disk, then renamed into place with :func:`os.replace`, and the folder is flushed too. A
writer killed mid-write leaves only such a hidden file, which the next overwrite of the partition
removes. One writer per (table, subject, session) partition at a time is assumed.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import shutil
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from imurehab.errors import PartitionExistsError, StoreError
from imurehab.store import columns as cols
from imurehab.store import schema as sc
from imurehab.store.layout import next_part_number, part_files, part_name, partition_dir
from imurehab.types import ClockModel, Recording, SensorSamples

__all__ = [
    "COMPRESSION",
    "METADATA_KEY",
    "ROW_GROUP_ROWS",
    "append_table",
    "delete_partition",
    "write_recording",
    "write_table",
]

ROW_GROUP_ROWS: Final[int] = 131_072
"""Rows per Parquet row group (128 Ki): large enough for fast scans, small enough to skip by time."""
COMPRESSION: Final = "zstd"
"""Parquet compression codec of every file."""
METADATA_KEY: Final = "imurehab"
"""Footer key-value metadata key; its value is JSON (see :func:`imurehab.store.read_file_metadata`)."""

_Mode = Literal["create", "overwrite", "append"]
_ArrowParts = tuple[pa.Schema, Iterable[pa.Table]]  # a table's schema and its rows in consecutive parts
_TMP_SUFFIX: Final = ".tmp"


def _software_version() -> str:
    # Imported lazily: the version is read from installed metadata, which the store only needs when writing.
    from imurehab._version import __version__

    return __version__


def _fsync(path: Path) -> None:
    """Flush a file, or a folder's entries, to disk (folders only where the OS allows opening them)."""
    if path.is_dir() and os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_dirs(path: Path) -> None:
    """Create ``path`` and its missing parents, flushing each new entry to disk."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    path.mkdir(parents=True, exist_ok=True)
    for created in reversed(missing):
        _fsync(created.parent)


_DICTIONARY_PROBE: Final = 4096
"""Values of a float column looked at to decide whether it is quantised (see :func:`_encodings`)."""


def _quantised(column: pa.ChunkedArray | pa.Array) -> bool:
    """Whether a float column's first values lie on one grid of at most 2¹⁶ steps (a sensor's counts).

    The grid step is the smallest gap between distinct values; every gap must be a whole number of
    steps. A coarse test on purpose: a miss only leaves the column PLAIN.
    """
    probe = column.slice(0, _DICTIONARY_PROBE).to_numpy(zero_copy_only=False)
    levels = np.unique(probe[np.isfinite(probe)])
    if len(levels) < 2:
        return len(levels) == 1
    gaps = np.diff(levels)
    step = float(gaps.min())
    with np.errstate(over="ignore", invalid="ignore"):  # a subnormal step: far too many levels anyway
        span = (levels[-1] - levels[0]) / step
        if not span <= 2**16:
            return False
        steps = gaps / step
    return bool(np.all(np.abs(steps - np.rint(steps)) <= 1e-6 * np.maximum(steps, 1.0)))


def _encodings(schema: pa.Schema, first: pa.Table | None) -> tuple[list[str], dict[str, str]]:
    """Columns to dictionary-encode and columns with an explicit encoding, for a file's rows.

    Strings are dictionary-encoded. Integers and timestamps use DELTA_BINARY_PACKED (times and
    indices step by near-constant amounts: ~2.5x smaller and ~3x faster to decode than PLAIN). Floats
    are dictionary-encoded only when the first rows show them quantised, as every sensor's samples are
    (16-bit counts times a scale): ~2x faster to decode and ~40% smaller; floats that are not (fusion
    output, imported floats) stay PLAIN, where a dictionary would overflow and cost ~4x the write time.
    All three are standard Parquet encodings that pyarrow, polars, DuckDB and Spark (3.3+ vectorised,
    older through parquet-mr) decode.
    """
    dictionary = [f.name for f in schema if pa.types.is_string(f.type)]
    explicit = {
        f.name: "DELTA_BINARY_PACKED"
        for f in schema
        if (pa.types.is_integer(f.type) and f.type.bit_width >= 32) or pa.types.is_timestamp(f.type)
    }
    if first is not None and first.num_rows:
        dictionary += [
            f.name for f in schema if pa.types.is_floating(f.type) and _quantised(first.column(f.name))
        ]
    return dictionary, explicit


def _write_hidden(
    schema: pa.Schema, parts: Iterable[pa.Table], final: Path, sort_keys: Iterable[str]
) -> Path:
    """Write the rows of ``parts`` (in order) to a hidden temporary file beside ``final`` and flush it.

    Returns the temporary file's path. Row groups hold :data:`ROW_GROUP_ROWS` rows whatever the parts'
    lengths, as long as every part but the last has a multiple of that many rows. Column encodings:
    :func:`_encodings`, decided from the first part.
    """
    tmp = final.with_name(f".{final.name}.{secrets.token_hex(8)}{_TMP_SUFFIX}")
    sorting = pq.SortingColumn.from_ordering(schema, [(k, "ascending") for k in sort_keys])
    rows = iter(parts)
    first = next(rows, None)
    dictionary, explicit = _encodings(schema, first)
    try:
        with pq.ParquetWriter(
            tmp,
            schema,
            compression=COMPRESSION,
            use_dictionary=dictionary,
            column_encoding=explicit,
            sorting_columns=sorting,
            store_schema=True,
        ) as writer:
            for part in itertools.chain([] if first is None else [first], rows):
                writer.write_table(part, row_group_size=ROW_GROUP_ROWS)
        _fsync(tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _publish(tmp: Path, final: Path) -> None:
    """Rename a flushed temporary file into place, then flush the folder entry."""
    try:
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync(final.parent)


def _check_free(directory: Path) -> None:
    if existing := part_files(directory):
        raise PartitionExistsError(
            f"partition already holds {len(existing)} file(s); pass overwrite=True to replace it",
            path=directory,
        )


@dataclass(frozen=True)
class _HiddenPart:
    """A part written and flushed under a hidden name, not yet visible to readers."""

    tmp: Path
    final: Path
    existing: tuple[Path, ...]
    mode: _Mode


def _footer_metadata(name: str, subject: str, session: str, extra: Mapping[str, Any] | None) -> str:
    """The ``imurehab`` footer JSON: the store's own keys, then the caller's ``extra`` keys."""
    metadata: dict[str, Any] = {
        "schema_version": sc.SCHEMA_VERSION,
        "software_version": _software_version(),
        "table": name,
        "subject": subject,
        "session": session,
    }
    if extra:
        if clash := sorted(set(extra) & set(metadata)):
            raise ValueError(f"metadata keys {clash} are the store's own; choose other names")
        if not all(isinstance(k, str) for k in extra):
            raise TypeError("metadata keys must be strings")
        metadata.update(extra)
    try:
        return json.dumps(metadata, allow_nan=False)
    except ValueError as err:  # NaN or infinity: not JSON
        raise ValueError(f"metadata is not JSON: {err}") from err


def _stage_part(
    rows: pa.Table | _ArrowParts,
    root: Path,
    name: str,
    subject: str,
    session: str,
    mode: _Mode,
    extra: Mapping[str, Any] | None = None,
) -> _HiddenPart:
    """Write one part of a partition under a hidden name; ``rows`` have the canonical schema and order."""
    directory = partition_dir(root, name, subject, session)
    existing = part_files(directory)
    if mode == "create":
        _check_free(directory)
    final = directory / part_name(next_part_number(existing) if mode == "append" else 0)
    footer = _footer_metadata(name, subject, session, extra)
    schema, parts = (rows.schema, [rows]) if isinstance(rows, pa.Table) else rows
    schema = schema.with_metadata({METADATA_KEY: footer})
    _make_dirs(directory)
    tmp = _write_hidden(schema, parts, final, sc.SORT_KEYS[name])
    return _HiddenPart(tmp, final, tuple(existing), mode)


def _commit_part(part: _HiddenPart) -> Path:
    """Make a staged part visible (atomic rename); when overwriting, remove the partition's old parts."""
    directory = part.final.parent
    if part.mode == "create":
        try:
            _check_free(directory)
        except PartitionExistsError:
            part.tmp.unlink(missing_ok=True)
            raise
    _publish(part.tmp, part.final)
    if part.mode == "overwrite":
        # Also sweep temporary files of killed writers: with one writer per partition, none is live.
        stale = [p for p in part.existing if p != part.final] + list(directory.glob(f".part-*{_TMP_SUFFIX}"))
        for p in stale:
            p.unlink(missing_ok=True)
        if stale:
            _fsync(directory)
    return part.final


def _write_part(
    rows: pa.Table | _ArrowParts,
    root: Path,
    name: str,
    subject: str,
    session: str,
    mode: _Mode,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write one part of a partition; ``rows`` already have the canonical schema and order."""
    return _commit_part(_stage_part(rows, root, name, subject, session, mode, extra))


def _sorted(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """``frame`` sorted by ``keys`` (nulls last, stable); a cheap check first skips sorted input."""
    # The check is exact only without nulls in the keys, so keys with nulls are always sorted.
    if frame.height < 2 or (
        not any(frame.get_column(k).null_count() for k in keys) and _is_sorted(frame, keys)
    ):
        return frame
    return frame.sort(keys, nulls_last=True, maintain_order=True)


def _is_sorted(frame: pl.DataFrame, keys: list[str]) -> bool:
    """Whether consecutive rows never decrease in ``keys`` order (lexicographic; keys without nulls).

    The first key must be sorted (polars knows it without a scan when the column was built sorted); a
    later key may decrease only between rows that differ in an earlier key. Such places are few in
    sorted data (one per sensor for ``(sensor, time)``), so only they are compared on the earlier keys.
    """
    if not frame.get_column(keys[0]).is_sorted():
        return False
    for k, key in enumerate(keys[1:], start=1):
        down = frame.select((pl.col(key) > pl.col(key).shift(-1)).arg_true()).to_series()
        if down.len() == 0:
            continue
        after = down + 1
        changed = pl.Series([False] * down.len())
        for earlier in keys[:k]:
            column = frame.get_column(earlier)
            changed = changed | (column.gather(down) != column.gather(after))
        if not changed.all():
            return False
    return True


_SLICE_ROWS: Final[int] = 4 * ROW_GROUP_ROWS


def _to_arrow(frame: pl.DataFrame, table: str) -> _ArrowParts:
    """Rows already conformed to ``table``'s schema, sorted, as arrow tables of the canonical types.

    Converted slice by slice (whole row groups each): while the Parquet writer encodes one slice
    (without holding Python's lock), a helper thread converts the next, and no full-size copy of a
    large table is made at once.
    """
    frame = _sorted(frame, list(sc.SORT_KEYS[table]))
    schema = sc.arrow_schema(table)

    def convert(start: int) -> pa.Table:
        return frame.slice(start, _SLICE_ROWS).to_arrow().cast(schema)

    def parts() -> Iterator[pa.Table]:
        if frame.height <= _SLICE_ROWS:
            yield convert(0)
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="imurehab-arrow") as pool:
            ahead = pool.submit(convert, 0)
            for start in range(_SLICE_ROWS, frame.height, _SLICE_ROWS):
                current, ahead = ahead.result(), pool.submit(convert, start)
                yield current
            yield ahead.result()

    return schema, parts()


def _frame_to_arrow(df: pl.DataFrame, table: str, directory: Path) -> _ArrowParts:
    return _to_arrow(sc.conform_frame(df, table, directory), table)


def write_table(
    df: pl.DataFrame,
    root: str | os.PathLike[str],
    table: str,
    *,
    subject: str,
    session: str,
    overwrite: bool = False,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write the rows of one (subject, session) partition of a canonical table.

    Parameters
    ----------
    df : polars.DataFrame
        The rows, with the canonical columns of ``table`` (see :mod:`imurehab.store.schema`; units as
        there: SI, degrees in ``*_deg`` columns, times ``Datetime("us", "UTC")``). Nullable columns may be
        left out (they are written as nulls); ``subject``/``session`` are not columns.
    root : str or os.PathLike
        Dataset folder; created if missing.
    table : str
        One of :data:`~imurehab.store.schema.TABLES`.
    subject, session : str
        Partition ids (letters, digits, ``._-``; 1–64 characters).
    overwrite : bool, default False
        Replace the partition if it exists: the new part is written (atomically) first, then the old
        parts are removed.
    metadata : mapping of str to JSON-able values, optional
        Extra keys for the file's ``imurehab`` footer metadata, beside the store's own
        (``schema_version``, ``software_version``, ``table``, ``subject``, ``session``, which cannot be
        replaced); read back with :func:`~imurehab.store.read_file_metadata`. Written in the same file
        as the rows, so they are published together, atomically.

    Returns
    -------
    Path
        The part file written, ``<root>/<table>/subject=<id>/session=<id>/part-0.parquet``.

    Raises
    ------
    SchemaError
        If ``table`` is unknown, or a column is unknown, missing while required, of another type (no
        implicit casts, not even int to float), or holds nulls while required.
    PartitionExistsError
        If the partition exists and ``overwrite`` is False.
    IdentifierError
        If ``subject`` or ``session`` is not a safe identifier.
    ValueError
        If ``metadata`` uses one of the store's own keys or holds NaN or infinity.
    TypeError
        If ``metadata`` has a key that is not a string or a value JSON cannot hold.

    See Also
    --------
    append_table : add another part to a partition.
    read_table : read a table back as a LazyFrame.
    delete_partition : remove a partition.
    """
    root = Path(root)
    directory = partition_dir(root, table, subject, session)
    _footer_metadata(table, subject, session, metadata)  # bad metadata fails before any work
    arrow = _frame_to_arrow(df, table, directory)
    mode: _Mode = "overwrite" if overwrite else "create"
    return _write_part(arrow, root, table, subject, session, mode, metadata)


def append_table(
    df: pl.DataFrame, root: str | os.PathLike[str], table: str, *, subject: str, session: str
) -> Path:
    """Add the rows of ``df`` as a new part ``part-<n+1>`` of a (subject, session) partition.

    For streaming: each call writes one more file; readers see the concatenation. Each part is sorted on
    its own, the partition as a whole is not. Parameters, checks and errors as for :func:`write_table`
    (but an existing partition is no error).

    Returns
    -------
    Path
        The part file written.
    """
    root = Path(root)
    directory = partition_dir(root, table, subject, session)
    arrow = _frame_to_arrow(df, table, directory)
    return _write_part(arrow, root, table, subject, session, "append")


_DELETING: Final = ".deleting-"


def delete_partition(root: str | os.PathLike[str], table: str, *, subject: str, session: str) -> int:
    """Remove one (subject, session) partition of a table: its folder and everything in it.

    The folder is first moved out of the table, to a hidden folder ``<root>/.deleting-<random>`` (one
    atomic rename on the dataset's file system: a reader sees the whole partition or none of it; a
    hidden folder *inside* the table would still be scanned by polars), the rename is flushed to disk,
    then that folder is removed, and the subject's folder too if that leaves it empty. A crash midway
    leaves only a hidden ``<root>/.deleting-*`` folder, which no reader scans and the next deletion
    removes.

    Parameters
    ----------
    root : str or os.PathLike
        Dataset folder.
    table : str
        One of :data:`~imurehab.store.schema.TABLES`.
    subject, session : str
        Partition ids (letters, digits, ``._-``; 1–64 characters).

    Returns
    -------
    int
        Part files (``*.parquet``) the partition held; 0 if it did not exist.

    Raises
    ------
    StoreError
        If the partition's folder is a symbolic link, is not a folder, or lies outside ``root`` (a
        linked ``<table>`` or subject folder): nothing is removed.
    IdentifierError
        If ``subject`` or ``session`` is not a safe identifier.
    SchemaError
        If ``table`` is not a canonical table.

    See Also
    --------
    write_table : write a partition (``overwrite=True`` replaces one).
    """
    root = Path(root)
    directory = partition_dir(root, table, subject, session)
    if not directory.exists() and not directory.is_symlink():
        return 0
    if directory.is_symlink() or not directory.is_dir():
        raise StoreError("is not a partition folder (a link or a file); not removed", path=directory)
    real_root = root.resolve()
    if not directory.resolve().is_relative_to(real_root) or any(
        p.is_symlink() for p in (root / table, directory.parent)
    ):
        raise StoreError(f"lies outside the dataset {root}; not removed", path=directory)
    parent = directory.parent
    doomed = root / f"{_DELETING}{secrets.token_hex(8)}"
    os.rename(directory, doomed)
    _fsync(parent)
    _fsync(root)
    removed = len(part_files(doomed))
    shutil.rmtree(doomed)
    for stale in root.glob(f"{_DELETING}*"):  # left by a deletion that crashed
        shutil.rmtree(stale, ignore_errors=True)
    try:
        parent.rmdir()
    except OSError:
        pass  # other sessions (or files we do not own) are still there
    else:
        _fsync(parent.parent)
    return removed


def _clock_row(c: ClockModel) -> dict[str, Any]:
    return {
        cols.BOOT_ID: c.boot_id,
        cols.REF_TIME: round(c.ref_utc_us),
        cols.OFFSET_US: c.offset_us,
        cols.DRIFT_PPM: c.drift_ppm,
        cols.UNCERTAINTY_US: c.uncertainty_us,
        cols.DRIFT_SIGMA_PPM: c.drift_sigma_ppm,
        cols.FIRST_TIME: round(c.first_utc_us),
        cols.LAST_TIME: round(c.last_utc_us),
        cols.N_ROUND_TRIPS: c.n_samples,
        cols.N_WINDOWS: c.n_windows,
    }


def _sessions_table(rec: Recording) -> pa.Table:
    info = rec.session
    last_times = [int(s.time_us[-1]) for s in rec.sensors if len(s)]
    row = {
        cols.START_TIME: info.start_us,
        cols.END_TIME: max([info.start_us, *last_times]),
        cols.EXERCISE: info.exercise,
        cols.SOFTWARE_VERSION: _software_version(),
        cols.PLACEMENTS: [{cols.SENSOR: k, cols.SEGMENT: v} for k, v in info.placements.items()],
        cols.SENSORS: [
            {
                cols.SENSOR: s.info.sensor_id,
                cols.FAMILY: s.info.family,
                cols.MODEL: s.info.model,
                cols.FIRMWARE: s.info.firmware,
                cols.RATE_HZ: s.info.rate_hz,
                cols.ACC_RANGE_MPS2: s.info.acc_range_mps2,
                cols.GYR_RANGE_RADS: s.info.gyr_range_rads,
                cols.MAG_RANGE_UT: s.info.mag_range_ut,
                cols.DEVICE_CLOCK_HZ: s.info.device_clock_hz,
                cols.HAS_MAG: s.mag is not None,
                cols.HAS_DEVICE_TIME: s.device_time is not None,
                cols.N_SAMPLES: len(s),
                cols.SERIAL: s.info.serial,
                cols.CLOCK_UNCERTAINTY_US: s.info.clock_uncertainty_us,
                cols.LOG_VERIFIED: s.info.log_verified,
                cols.CLOCKS: [_clock_row(c) for c in s.info.clocks],
            }
            for s in rec.sensors
        ],
    }
    return pa.Table.from_pylist([row], schema=sc.arrow_schema(cols.SESSIONS))


def _sensor_batch(s: SensorSamples, schema: pa.Schema) -> pa.RecordBatch:
    n = len(s)
    f64 = pa.float64()
    columns: dict[str, pa.Array] = {
        cols.SENSOR: pa.repeat(pa.scalar(s.sensor_id, pa.string()), n),
        cols.SAMPLE_INDEX: pa.array(s.sample_index, pa.int64()),
        cols.TIME: pa.array(s.time_us, schema.field(cols.TIME).type),
        cols.DEVICE_TIME: pa.nulls(n, pa.int64())
        if s.device_time is None
        else pa.array(s.device_time, pa.int64()),
        cols.FLAGS: pa.array(s.flags, pa.uint16()),
    }
    for names, values in ((cols.ACC, s.acc), (cols.GYR, s.gyr), (cols.MAG, s.mag)):
        for axis, name in enumerate(names):
            columns[name] = (
                pa.nulls(n, f64) if values is None else pa.array(np.ascontiguousarray(values[:, axis]), f64)
            )
    return pa.RecordBatch.from_arrays([columns[name] for name in schema.names], schema=schema)


def _samples_table(rec: Recording) -> pa.Table:
    schema = sc.arrow_schema(cols.SAMPLES)
    # Sensors in id order and each sensor's times strictly increasing: rows come out sorted by (sensor,
    # time) without a sort.
    ordered = sorted(rec.sensors, key=lambda s: s.sensor_id)
    return pa.Table.from_batches([_sensor_batch(s, schema) for s in ordered], schema=schema)


def write_recording(rec: Recording, root: str | os.PathLike[str], *, overwrite: bool = False) -> list[Path]:
    """Write a recording as its ``samples`` and ``sessions`` partitions.

    ``samples`` gets one row per sample (SI units: m/s², rad/s, µT; ``time`` as ``timestamp[us, UTC]``),
    with null ``mag_*`` for sensors without a magnetometer and null ``device_time`` for sensors without a
    device clock. ``sessions`` gets one row: start and end time, exercise, software version, placements,
    and each sensor's settings in recording order. ``sessions`` is written last, so a session listed
    there has its samples on disk.

    Parameters
    ----------
    rec : Recording
        The recording; its session's subject and session ids name the partitions.
    root : str or os.PathLike
        Dataset folder; created if missing.
    overwrite : bool, default False
        Replace existing partitions of this subject and session.

    Returns
    -------
    list of Path
        The part files written: ``samples`` first, then ``sessions``.

    Raises
    ------
    PartitionExistsError
        If either partition exists and ``overwrite`` is False (nothing is written then).

    See Also
    --------
    read_recording : the inverse.
    """
    root = Path(root)
    subject, session = rec.session.subject_id, rec.session.session_id
    if not overwrite:
        for table in (cols.SAMPLES, cols.SESSIONS):
            _check_free(partition_dir(root, table, subject, session))
    mode: _Mode = "overwrite" if overwrite else "create"
    return [
        _write_part(_samples_table(rec), root, cols.SAMPLES, subject, session, mode),
        _write_part(_sessions_table(rec), root, cols.SESSIONS, subject, session, mode),
    ]
