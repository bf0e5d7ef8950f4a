"""Reading a dataset: lazy, schema-checked table scans, whole recordings, and dataset overviews."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from imurehab.errors import DatasetNotFoundError, SchemaError, StoreError
from imurehab.store import columns as cols
from imurehab.store import schema as sc
from imurehab.store.layout import (
    HIDDEN_PREFIXES,
    existing_tables,
    find_parts,
    partition_dir,
    require_table_dir,
)
from imurehab.store.writer import METADATA_KEY
from imurehab.types import ClockModel, Recording, SensorInfo, SensorSamples, SessionInfo, datetime_to_us

__all__ = [
    "N_SENSORS",
    "dataset_summary",
    "list_sessions",
    "read_file_metadata",
    "read_recording",
    "read_table",
]

N_SENSORS: Final = "n_sensors"
"""Column of :func:`list_sessions`: how many sensors a session recorded."""


def _footer(path: Path) -> pq.FileMetaData:
    try:
        return pq.read_metadata(path)
    except (pa.ArrowException, OSError) as err:
        raise StoreError(f"not a readable Parquet file: {err}", path=path) from err


def read_file_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The imurehab footer metadata of one Parquet file.

    Parameters
    ----------
    path : str or os.PathLike
        A part file of a dataset.

    Returns
    -------
    dict
        ``schema_version`` (int), ``software_version`` (str), ``table``, ``subject``, ``session`` (str),
        plus whatever the writer was given as extra ``metadata`` (e.g. the load table's provenance).

    Raises
    ------
    DatasetNotFoundError
        If the file does not exist.
    StoreError
        If it is not a readable Parquet file or has no ``imurehab`` footer metadata.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError("no such file", path=path)
    raw = (_footer(path).metadata or {}).get(METADATA_KEY.encode())
    if raw is None:
        raise StoreError(f"has no {METADATA_KEY!r} footer metadata (not written by imurehab?)", path=path)
    metadata: dict[str, Any] = json.loads(raw)
    return metadata


def _utc(when: datetime) -> pl.Expr:
    return pl.lit(datetime_to_us(when), dtype=pl.Int64).cast(pl.Datetime("us", "UTC"))


def read_table(
    root: str | os.PathLike[str],
    table: str,
    *,
    subject: str | None = None,
    session: str | None = None,
    sensor: str | Iterable[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pl.LazyFrame:
    """Scan a table of a dataset lazily, with the canonical schema and optional filters.

    Every file's schema is checked up front (footers only); nullable columns missing from files written
    by older schema versions read as nulls. The columns are ``subject`` and ``session`` (strings, from the
    folder names) followed by the table's canonical columns.

    Parameters
    ----------
    root : str or os.PathLike
        Dataset folder.
    table : str
        One of :data:`~imurehab.store.schema.TABLES`.
    subject, session : str, optional
        Only this subject's / session's partitions.
    sensor : str or iterable of str, optional
        Only rows of these sensor ids (tables with a ``sensor`` column).
    start, end : datetime, optional
        Timezone-aware bounds of the half-open interval ``[start, end)`` on the table's time column
        (``time``; ``start_time`` for sessions, ``start`` for reps, ``epoch_start`` for load).

    Returns
    -------
    polars.LazyFrame
        The matching rows; empty, with the full schema, when nothing matches. Each file's rows are sorted
        by the table's sort keys (:data:`~imurehab.store.schema.SORT_KEYS`), but files follow one
        another in no promised order: sort if you need a global order.

    Raises
    ------
    DatasetNotFoundError
        If ``root`` is not a dataset folder or has no such table (the message lists the tables present).
    SchemaError
        If ``table`` is unknown, ``sensor`` is given for a table without sensors, or a file's column has
        another type than the canonical one (naming the column and file).
    StoreError
        If a file is not readable Parquet.
    IdentifierError
        If ``subject`` or ``session`` is not a safe identifier.
    DataValidationError
        If ``start`` or ``end`` is a naive datetime.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> lf = read_table("data", "samples", subject="001", sensor="S1",
    ...                 start=datetime(2025, 3, 1, 10, 0, tzinfo=UTC))  # doctest: +SKIP
    >>> lf.select("time", "acc_x").collect()  # doctest: +SKIP
    """
    root = Path(root)
    out_schema = sc.polars_schema(table, with_keys=True)
    if sensor is not None and cols.SENSOR not in out_schema:
        raise SchemaError(f"table {table!r} has no sensor column to filter on", column=cols.SENSOR)
    bounds = [_utc(when) if when is not None else None for when in (start, end)]
    files = find_parts(root, table, subject, session)
    if files:
        for f in files:
            try:
                file_schema = pq.read_schema(f)
            except (pa.ArrowException, OSError) as err:
                raise StoreError(f"not a readable Parquet file: {err}", path=f) from err
            sc.check_file_schema(file_schema, table, f)
        # Scan the table folder, not the file list: polars then parses hive keys below it only, so a root
        # like /data/year=2025/ds works. Writers' temporary files are hidden (leading "."), as are "_" files.
        lf = pl.scan_parquet(
            require_table_dir(root, table),
            schema=sc.polars_schema(table),
            hive_partitioning=True,
            hive_schema=dict(sc.HIVE_SCHEMA),
            hidden_file_prefix=list(HIDDEN_PREFIXES),
            missing_columns="insert",
            cast_options=pl.ScanCastOptions(missing_struct_fields="insert"),
            glob=False,
        ).select(list(out_schema))
        for key, value in ((cols.SUBJECT, subject), (cols.SESSION, session)):
            if value is not None:
                lf = lf.filter(pl.col(key) == value)
    else:
        lf = pl.LazyFrame(schema=out_schema)
    if sensor is not None:
        lf = lf.filter(pl.col(cols.SENSOR).is_in([sensor] if isinstance(sensor, str) else list(sensor)))
    time_column = pl.col(sc.TIME_COLUMNS[table])
    if bounds[0] is not None:
        lf = lf.filter(time_column >= bounds[0])
    if bounds[1] is not None:
        lf = lf.filter(time_column < bounds[1])
    return lf


def _flag(meta: dict[str, Any], key: str, frame: pl.DataFrame, column: str) -> bool:
    """A sensor's ``has_*`` flag from ``sessions``, or, where null, whether ``column`` is filled in."""
    value = meta[key]
    if value is None:
        return frame.height > 0 and frame.get_column(column).null_count() == 0
    return bool(value)


def _split_by_sensor(samples: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Each sensor's rows, in time order; zero-copy slices when rows are sorted by (sensor, time)."""
    runs = samples.get_column(cols.SENSOR).rle().struct.unnest()
    if runs.get_column("value").n_unique() != runs.height:  # not grouped by sensor, e.g. appended parts
        samples = samples.sort(cols.SENSOR, cols.TIME)
        runs = samples.get_column(cols.SENSOR).rle().struct.unnest()
    frames = {}
    offset = 0
    for length, sensor in runs.select("len", "value").iter_rows():
        frame = samples.slice(offset, length)
        offset += length
        frames[sensor] = frame if frame.get_column(cols.TIME).is_sorted() else frame.sort(cols.TIME)
    return frames


def _us(value: Any) -> float:
    """A timestamp read back from ``sessions`` as float µs since the Unix epoch."""
    return float(datetime_to_us(value))


def _clock_model(row: dict[str, Any]) -> ClockModel:
    return ClockModel(
        boot_id=row[cols.BOOT_ID],
        ref_utc_us=_us(row[cols.REF_TIME]),
        offset_us=row[cols.OFFSET_US],
        drift_ppm=row[cols.DRIFT_PPM],
        uncertainty_us=row[cols.UNCERTAINTY_US],
        drift_sigma_ppm=row[cols.DRIFT_SIGMA_PPM],
        first_utc_us=_us(row[cols.FIRST_TIME]),
        last_utc_us=_us(row[cols.LAST_TIME]),
        n_samples=row[cols.N_ROUND_TRIPS],
        n_windows=row[cols.N_WINDOWS],
    )


def _sensor_samples(meta: dict[str, Any], frame: pl.DataFrame, directory: Path) -> SensorSamples:
    sensor_id = meta[cols.SENSOR]
    if frame.height != meta[cols.N_SAMPLES]:
        raise StoreError(
            f"sensor {sensor_id!r}: sessions lists {meta[cols.N_SAMPLES]} samples but samples holds "
            f"{frame.height}; the partition is incomplete or was appended to",
            path=directory,
        )
    info = SensorInfo(
        sensor_id=sensor_id,
        family=meta[cols.FAMILY],
        rate_hz=meta[cols.RATE_HZ],
        model=meta[cols.MODEL],
        firmware=meta[cols.FIRMWARE],
        acc_range_mps2=meta[cols.ACC_RANGE_MPS2],
        gyr_range_rads=meta[cols.GYR_RANGE_RADS],
        mag_range_ut=meta[cols.MAG_RANGE_UT],
        device_clock_hz=meta[cols.DEVICE_CLOCK_HZ],
        serial=meta.get(cols.SERIAL),
        clocks=tuple(_clock_model(c) for c in meta.get(cols.CLOCKS) or ()),
        clock_uncertainty_us=meta.get(cols.CLOCK_UNCERTAINTY_US),
        log_verified=meta.get(cols.LOG_VERIFIED),
    )
    has_mag = _flag(meta, cols.HAS_MAG, frame, cols.MAG_X)
    has_device_time = _flag(meta, cols.HAS_DEVICE_TIME, frame, cols.DEVICE_TIME)
    return SensorSamples(
        info=info,
        time_us=frame.get_column(cols.TIME).dt.epoch("us").to_numpy(),
        acc=frame.select(cols.ACC).to_numpy(),
        gyr=frame.select(cols.GYR).to_numpy(),
        mag=frame.select(cols.MAG).to_numpy() if has_mag else None,
        sample_index=frame.get_column(cols.SAMPLE_INDEX).to_numpy(),
        device_time=frame.get_column(cols.DEVICE_TIME).to_numpy() if has_device_time else None,
        flags=frame.get_column(cols.FLAGS).to_numpy(),
    )


def read_recording(root: str | os.PathLike[str], *, subject: str, session: str) -> Recording:
    """Read back a recording written by :func:`write_recording`.

    The result equals the recording written: bit-identical arrays (SI units), the same sensor settings,
    the same session metadata (placements, exercise, start time at µs resolution), sensors in the
    original order.

    Parameters
    ----------
    root : str or os.PathLike
        Dataset folder.
    subject, session : str
        The ids of the session to read.

    Returns
    -------
    Recording

    Raises
    ------
    DatasetNotFoundError
        If the dataset, its ``sessions``/``samples`` tables, or this subject's session does not exist.
    StoreError
        If the stored samples disagree with the ``sessions`` row (an incomplete partition).
    IdentifierError
        If ``subject`` or ``session`` is not a safe identifier.
    """
    root = Path(root)
    directory = partition_dir(root, cols.SESSIONS, subject, session)
    rows = read_table(root, cols.SESSIONS, subject=subject, session=session).collect()
    if rows.height == 0:
        raise DatasetNotFoundError(f"no session {session!r} of subject {subject!r}", path=directory)
    if rows.height > 1:
        raise StoreError(f"holds {rows.height} rows; expected one per session", path=directory)
    row = rows.row(0, named=True)
    samples = read_table(root, cols.SAMPLES, subject=subject, session=session).drop(
        cols.SUBJECT, cols.SESSION
    )
    frames = _split_by_sensor(samples.collect())
    listed = [meta[cols.SENSOR] for meta in row[cols.SENSORS]]
    if unlisted := sorted(set(frames) - set(listed)):
        raise StoreError(f"samples of sensors {unlisted} not listed in sessions", path=directory)
    empty = pl.DataFrame(schema=sc.polars_schema(cols.SAMPLES))
    sensors = [
        _sensor_samples(meta, frames.get(meta[cols.SENSOR], empty), directory) for meta in row[cols.SENSORS]
    ]
    info = SessionInfo(
        session_id=session,
        subject_id=subject,
        start_time=row[cols.START_TIME],
        placements={p[cols.SENSOR]: p[cols.SEGMENT] for p in row[cols.PLACEMENTS]},
        exercise=row[cols.EXERCISE],
    )
    return Recording(session=info, sensors=tuple(sensors))


def list_sessions(root: str | os.PathLike[str]) -> pl.DataFrame:
    """One row per session of a dataset, sorted by subject and session.

    Parameters
    ----------
    root : str or os.PathLike
        Dataset folder.

    Returns
    -------
    polars.DataFrame
        Columns ``subject``, ``session`` (str), ``start_time``, ``end_time`` (``Datetime("us", "UTC")``),
        ``n_sensors`` (int64) and ``exercise`` (str, nullable).

    Raises
    ------
    DatasetNotFoundError
        If there is no dataset or no ``sessions`` table at ``root``.
    """
    return (
        read_table(root, cols.SESSIONS)
        .select(
            cols.SUBJECT,
            cols.SESSION,
            cols.START_TIME,
            cols.END_TIME,
            pl.col(cols.SENSORS).list.len().cast(pl.Int64).alias(N_SENSORS),
            cols.EXERCISE,
        )
        .sort(cols.SUBJECT, cols.SESSION)
        .collect()
    )


def dataset_summary(root: str | os.PathLike[str]) -> dict[str, Any]:
    """An overview of a dataset, for ``imurehab info``.

    Parameters
    ----------
    root : str or os.PathLike
        Dataset folder.

    Returns
    -------
    dict
        ``root`` (str), ``schema_version`` (int, of this reader), ``subjects``, ``sessions`` (counts from
        the ``sessions`` table), ``sensors`` (number of distinct sensor ids), ``duration_s`` (sum of
        session durations [s]), ``max_clock_uncertainty_us`` (largest UTC error bound of a sensor's
        sample times [µs], None when no sensor has one), ``unverified_logs`` (sensors whose device log
        was not downloaded whole and CRC-verified), and ``tables``: table name → row count (from file
        footers), for the tables present.

    Raises
    ------
    DatasetNotFoundError
        If ``root`` is not a folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetNotFoundError("no dataset here (not a folder)", path=root)
    tables = {t: sum(_footer(f).num_rows for f in find_parts(root, t)) for t in existing_tables(root)}
    summary: dict[str, Any] = {
        "root": str(root),
        "schema_version": sc.SCHEMA_VERSION,
        "subjects": 0,
        "sessions": 0,
        "sensors": 0,
        "duration_s": 0.0,
        "max_clock_uncertainty_us": None,
        "unverified_logs": 0,
        "tables": tables,
    }
    if cols.SESSIONS in tables:
        sessions = read_table(root, cols.SESSIONS).collect()
        sensors = sessions.get_column(cols.SENSORS).explode()
        sensor_ids = sensors.struct.field(cols.SENSOR).drop_nulls()
        uncertainty = sensors.struct.field(cols.CLOCK_UNCERTAINTY_US).drop_nulls()
        duration_us = (
            sessions.get_column(cols.END_TIME) - sessions.get_column(cols.START_TIME)
        ).dt.total_microseconds()
        summary.update(
            subjects=sessions.get_column(cols.SUBJECT).n_unique(),
            sessions=sessions.select(cols.SUBJECT, cols.SESSION).n_unique(),
            sensors=sensor_ids.n_unique(),
            duration_s=float(duration_us.sum()) / 1e6,
            max_clock_uncertainty_us=float(uncertainty.max()) if len(uncertainty) else None,  # type: ignore[arg-type]
            unverified_logs=int((sensors.struct.field(cols.LOG_VERIFIED) == False).sum()),  # noqa: E712
        )
    return summary
