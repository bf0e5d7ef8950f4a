"""CSV export for spreadsheets: one file per table per session, units in the column names.

Layout: ``<out>/<subject>/<session>/<table>.csv`` for each table of the dataset that holds rows of the
session. Values are the stored ones (SI units, degrees in ``*_deg`` columns; no conversion), written with
the shortest decimal text that reads back to the same float. Column names:

- a column whose name has no unit gets one: ``acc_x`` → ``acc_x_mps2`` (m/s²), ``gyr_x`` → ``gyr_x_rads``
  (rad/s), ``mag_x`` → ``mag_x_ut`` (µT), ``bias_x`` → ``bias_x_rads``, ``device_time`` →
  ``device_time_ticks`` (raw device clock), PlayerLoad columns → ``*_au`` (arbitrary units); see
  :data:`CSV_UNITS`. Names that carry their unit already (``flexion_deg``, ``duration_s``, ``enmo_mg``)
  and unitless ones (``q_w``, ``flags``, counts) are kept.
- a time column ``t`` becomes two: ``t_utc``, ISO 8601 UTC text to the µs (``2026-05-04T08:30:00.000000Z``),
  and ``t_s``, seconds since the session start (for plotting).
- a list (the flags of a rep) is one text field, the items joined by ``;``.
- a missing value (null) is an empty field; NaN is ``NaN``.

``sessions.csv`` is the session's ``sessions`` row as one row per sensor: subject, session, start and
end, exercise, then the sensor's settings and placement (``segment``); the fitted device clocks are left
out.
:func:`read_csv_table` reads a table file back into the canonical columns.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Final

import polars as pl

from imurehab.errors import SchemaError
from imurehab.export._common import ExportResult, ExportSession, OnSession, read_session_table, run_export
from imurehab.store import columns as cols
from imurehab.store.schema import TABLES, polars_schema

__all__ = ["CSV_UNITS", "TIME_FORMAT", "csv_frame", "export_csv", "read_csv_table", "write_csv_table"]

CSV_UNITS: Final[Mapping[str, str]] = MappingProxyType(
    {
        **dict.fromkeys(cols.ACC, "mps2"),
        **dict.fromkeys(cols.GYR, "rads"),
        **dict.fromkeys(cols.MAG, "ut"),
        **dict.fromkeys(cols.BIAS, "rads"),
        cols.DEVICE_TIME: "ticks",
        **dict.fromkeys(cols.PLAYERLOADS, "au"),
    }
)
"""Canonical column → unit suffix of its CSV header (``acc_x`` → ``acc_x_mps2``)."""

TIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%S%.6fZ"
"""strftime format of the ``*_utc`` columns: ISO 8601, UTC, µs."""

_LIST_SEPARATOR: Final = ";"
_SENSOR_FIELDS_LEFT_OUT: Final = (cols.CLOCKS,)


def csv_frame(frame: pl.DataFrame, *, start_us: int) -> pl.DataFrame:
    """A table's rows as they are written to CSV: unit-named columns, times as text and seconds.

    Parameters
    ----------
    frame : polars.DataFrame
        Rows with canonical columns of a table other than ``sessions`` (any subset), SI units.
    start_us : int
        The session start [µs since the Unix epoch, UTC], origin of the ``*_s`` columns.

    Returns
    -------
    polars.DataFrame
        One column per canonical column (two per time column), named as the module describes.
    """
    out: list[pl.Expr] = []
    for name, dtype in frame.schema.items():
        column = pl.col(name)
        if isinstance(dtype, pl.Datetime):
            us = column.dt.epoch("us")
            out.append(column.dt.strftime(TIME_FORMAT).alias(f"{name}_utc"))
            out.append(((us - start_us) / 1e6).alias(f"{name}_s"))
        elif isinstance(dtype, pl.List):
            out.append(column.list.join(_LIST_SEPARATOR).alias(name))
        elif name in CSV_UNITS:
            out.append(column.alias(f"{name}_{CSV_UNITS[name]}"))
        else:
            out.append(column)
    return frame.select(out)


def write_csv_table(frame: pl.DataFrame, path: str | os.PathLike[str], *, start_us: int) -> Path:
    """Write a table's rows to one CSV file (see the module for the columns).

    Parameters
    ----------
    frame : polars.DataFrame
        Rows with canonical columns of a table other than ``sessions``, SI units.
    path : str or os.PathLike
        The file; its folder is created.
    start_us : int
        Session start [µs since the Unix epoch, UTC], origin of the ``*_s`` columns.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    csv_frame(frame, start_us=start_us).write_csv(path)
    return path


def read_csv_table(path: str | os.PathLike[str], table: str) -> pl.DataFrame:
    """Read a table file written by :func:`write_csv_table` back into canonical columns.

    The ``*_s`` columns are derived and not read; the values are those written, exactly.

    Parameters
    ----------
    path : str or os.PathLike
        A ``<table>.csv`` file.
    table : str
        The table it holds (not ``sessions``).

    Returns
    -------
    polars.DataFrame
        The canonical columns of ``table`` present in the file, in canonical order and types.

    Raises
    ------
    SchemaError
        If ``table`` is ``sessions`` or unknown.
    """
    if table == cols.SESSIONS or table not in TABLES:
        raise SchemaError(f"cannot read table {table!r} back from CSV", path=path)
    schema = polars_schema(table)
    raw = pl.read_csv(path, infer_schema=False)  # all text: "001" stays "001"; each column is cast below
    header = raw.columns
    out: list[pl.Expr] = []
    for name, dtype in schema.items():
        if isinstance(dtype, pl.Datetime):
            if f"{name}_utc" in header:
                utc = pl.col(f"{name}_utc").str.to_datetime(TIME_FORMAT, time_unit="us", time_zone="UTC")
                out.append(utc.alias(name))
        elif isinstance(dtype, pl.List):
            if name in header:
                items = pl.col(name).fill_null("").str.split(_LIST_SEPARATOR)
                out.append(pl.when(pl.col(name).fill_null("") == "").then([]).otherwise(items).alias(name))
        elif (source := f"{name}_{CSV_UNITS[name]}" if name in CSV_UNITS else name) in header:
            text = pl.col(source)
            out.append((text == "true" if dtype == pl.Boolean else text.cast(dtype)).alias(name))
    return raw.select(out)


def _sessions_rows(s: ExportSession) -> pl.DataFrame:
    """The session's row, one per sensor, with each sensor's segment."""
    sensors = [
        {k: v for k, v in meta.items() if k not in _SENSOR_FIELDS_LEFT_OUT}
        | {cols.SEGMENT: s.placements.get(meta[cols.SENSOR])}
        for meta in s.sensors
    ]
    session = {
        cols.SUBJECT: s.subject,
        cols.SESSION: s.session,
        f"{cols.START_TIME}_utc": s.start_us,
        f"{cols.END_TIME}_utc": s.end_us,
        cols.EXERCISE: s.exercise,
    }
    frame = pl.DataFrame([session | sensor for sensor in sensors], infer_schema_length=None)
    as_text = pl.col(f"{cols.START_TIME}_utc", f"{cols.END_TIME}_utc").cast(pl.Datetime("us", "UTC"))
    return frame.with_columns(as_text.dt.strftime(TIME_FORMAT))


def _write_session(dataset: Path, out: Path, s: ExportSession) -> list[Path]:
    folder = out / s.subject / s.session
    folder.mkdir(parents=True, exist_ok=True)
    sessions_csv = folder / f"{cols.SESSIONS}.csv"
    _sessions_rows(s).write_csv(sessions_csv)
    written = [sessions_csv]
    for table in TABLES:
        if table == cols.SESSIONS:
            continue
        frame = read_session_table(dataset, table, s)
        if frame.height:
            written.append(write_csv_table(frame, folder / f"{table}.csv", start_us=s.start_us))
    return written


def export_csv(
    dataset: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    subject: str | None = None,
    session: str | None = None,
    overwrite: bool = False,
    on_session: OnSession | None = None,
) -> ExportResult:
    """Export sessions of a dataset as CSV files for spreadsheets (layout and columns: see the module).

    Parameters
    ----------
    dataset : str or os.PathLike
        Dataset folder.
    out : str or os.PathLike
        Output folder; created, and it must be empty unless ``overwrite``.
    subject, session : str, optional
        Only this subject's / session's sessions.
    overwrite : bool, default False
        Write into a non-empty folder: files of the same names are replaced, other files kept.
    on_session : callable, optional
        Progress: called with (sessions done, sessions in all) after each session.

    Returns
    -------
    ExportResult
        The sessions exported and the files written.

    Raises
    ------
    DatasetNotFoundError
        If there is no dataset, it has no sessions, or none matches ``subject``/``session``.
    StoreError
        If ``out`` is a file, or a non-empty folder without ``overwrite``.

    Examples
    --------
    >>> result = export_csv("data", "data-csv", subject="001")  # doctest: +SKIP
    >>> [f.name for f in result.files]  # doctest: +SKIP
    ['sessions.csv', 'samples.csv', 'orientation.csv', 'joint_angles.csv', 'reps.csv']
    """
    return run_export(
        "csv",
        dataset,
        out,
        _write_session,
        subject=subject,
        session=session,
        overwrite=overwrite,
        on_session=on_session,
    )
