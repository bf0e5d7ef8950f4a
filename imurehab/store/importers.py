"""Read and write a researcher's own per-sensor files in the generic import format (CSV or Parquet).

The format, one file per sensor, is documented in ``docs/import-format.md``:

- ``time``: seconds, strictly increasing; relative to the session start, or absolute Unix seconds (UTC)
  when the first value is at least 1e9 (2001-09-09).
- ``acc_x, acc_y, acc_z`` [m/s² unless told otherwise], ``gyr_x, gyr_y, gyr_z`` [rad/s unless told
  otherwise]; optional ``mag_x, mag_y, mag_z`` [µT unless told otherwise], all three or none.
- optional ``sample_index`` (integer device counter) and ``device_time`` (integer raw clock ticks).

Column names are case-insensitive and surrounding whitespace is ignored; other columns are ignored and
listed in the :class:`ImportReport`. CSV files have a header row; the delimiter (``,`` ``;`` or tab) is
sniffed from it. Every problem is raised as :class:`~imurehab.errors.ImportFormatError` naming the file,
the 1-based data row (header excluded) and the column.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from imurehab.errors import DataValidationError, ImportFormatError, UnitsError
from imurehab.store.columns import ACC, DEVICE_TIME, GYR, MAG, SAMPLE_INDEX, TIME
from imurehab.types import (
    ACC_UNITS,
    GYR_UNITS,
    MAG_UNITS,
    SensorInfo,
    SensorSamples,
    check_identifier,
    datetime_to_us,
)

__all__ = [
    "ImportReport",
    "parse_units_option",
    "read_generic_sensor_file",
    "read_generic_sensor_file_with_report",
    "write_generic_sensor_file",
]

# The file's columns share their names with the samples table (``time`` there is a timestamp, here seconds).
VECTOR_COLUMNS: Final[dict[str, tuple[str, str, str]]] = {"acc": ACC, "gyr": GYR, "mag": MAG}
REQUIRED_COLUMNS: Final = (TIME, *ACC, *GYR)
OPTIONAL_COLUMNS: Final = (*MAG, SAMPLE_INDEX, DEVICE_TIME)
CSV_SUFFIXES: Final = frozenset({".csv", ".tsv", ".txt"})
PARQUET_SUFFIXES: Final = frozenset({".parquet", ".pq"})
ABSOLUTE_TIME_MIN_S: Final = 1e9
"""A first ``time`` value at or above this [s] means absolute Unix seconds (2001-09-09T01:46:40Z)."""

# Beyond year 9999 a time in seconds is a unit mistake (ms or µs), and int64 µs would be at risk.
_MAX_ABS_TIME_S: Final = 253_402_300_799.0
_DELIMITERS: Final = (",", ";", "\t")
_UNIT_TABLES: Final = {"acc": ACC_UNITS, "gyr": GYR_UNITS, "mag": MAG_UNITS}
_UNIT_ALIASES: Final = {
    "m/s2": "m/s^2",
    "m/s²": "m/s^2",
    "dps": "deg/s",
    "°/s": "deg/s",
    "µt": "uT",
    "μt": "uT",
}
_DECIMAL_COMMA: Final = re.compile(r"^[+-]?\d*,\d+$")


@dataclass(frozen=True)
class ImportReport:
    """What :func:`read_generic_sensor_file_with_report` found in a file, besides the samples.

    Attributes
    ----------
    file : pathlib.Path
        The file read.
    file_format : {"csv", "parquet"}
        How it was read.
    delimiter : str or None
        The CSV delimiter sniffed from the header (None for Parquet).
    rows : int
        Number of data rows read.
    time_reference : {"absolute", "relative"}
        Whether ``time`` held Unix seconds or seconds since ``start_time``.
    rate_hz_estimated : bool
        True if the rate was estimated from the time column rather than given.
    ignored_columns : tuple of str
        Columns that are not part of the format, as spelled in the file.
    notes : tuple of str
        One line per thing a person should know (ignored columns, ignored ``start_time``, empty mag).
    """

    file: Path
    file_format: str
    delimiter: str | None
    rows: int
    time_reference: str
    rate_hz_estimated: bool
    ignored_columns: tuple[str, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class _CellProblem:
    row: int | None
    column: str
    message: str


def _canonical_unit(kind: str, text: str) -> str | None:
    key = text.strip().lower()
    key = _UNIT_ALIASES.get(key, key).lower()
    return next((unit for unit in _UNIT_TABLES[kind] if unit.lower() == key), None)


def _unit_choices(kind: str) -> str:
    return ", ".join(repr(unit) for unit in _UNIT_TABLES[kind])


def parse_units_option(text: str) -> dict[str, str]:
    """Parse the command-line option ``--units`` into keyword arguments of the readers.

    Parameters
    ----------
    text : str
        Comma-separated ``TYPE=UNIT`` entries with TYPE one of ``acc``, ``gyr``, ``mag`` (e.g.
        ``"acc=g,gyr=deg/s"``), or bare units that name their sensor type (``"g,deg/s"``). Units are
        case-insensitive: acc ``m/s^2``, ``g``, ``mg``; gyr ``rad/s``, ``deg/s``; mag ``uT``, ``nT``,
        ``gauss``, ``mgauss`` (``m/s2``, ``dps`` and ``µT`` are accepted too).

    Returns
    -------
    dict of str to str
        ``{"acc_unit": ..., "gyr_unit": ..., "mag_unit": ...}`` for the types given, in canonical spelling,
        ready for ``read_generic_sensor_file(path, sensor_id=..., **units)``.

    Raises
    ------
    UnitsError
        On an empty entry, an unknown type or unit, or a type given twice.

    Examples
    --------
    >>> parse_units_option("acc=g, gyr=deg/s")
    {'acc_unit': 'g', 'gyr_unit': 'deg/s'}
    >>> parse_units_option("G,dps")
    {'acc_unit': 'g', 'gyr_unit': 'deg/s'}
    """
    units: dict[str, str] = {}
    for entry in text.split(","):
        entry = entry.strip()
        if not entry:
            raise UnitsError(f"--units {text!r} has an empty entry; expected e.g. 'acc=g,gyr=deg/s'")
        if "=" in entry:
            kind, _, unit_text = (part.strip() for part in entry.partition("="))
            kind = kind.lower()
            if kind not in _UNIT_TABLES:
                raise UnitsError(
                    f"--units: unknown sensor type {kind!r} in {entry!r}; expected acc, gyr or mag"
                )
            unit = _canonical_unit(kind, unit_text)
            if unit is None:
                raise UnitsError(
                    f"--units: unknown {kind} unit {unit_text!r}; expected one of {_unit_choices(kind)}"
                )
        else:
            found = [(k, u) for k in _UNIT_TABLES if (u := _canonical_unit(k, entry)) is not None]
            if not found:
                raise UnitsError(
                    f"--units: unknown unit {entry!r}; expected TYPE=UNIT or one of "
                    + ", ".join(_unit_choices(k) for k in _UNIT_TABLES)
                )
            kind, unit = found[0]
        if f"{kind}_unit" in units:
            raise UnitsError(f"--units {text!r} gives the {kind} unit twice")
        units[f"{kind}_unit"] = unit
    return units


def _file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    known = ", ".join(sorted(CSV_SUFFIXES | PARQUET_SUFFIXES))
    raise ImportFormatError(
        f"unknown file extension {suffix or '(none)'!r}; expected one of {known}", file=path
    )


def _first_csv_problem(text: str, delimiter: str, path: Path, detail: str) -> ImportFormatError:
    # polars says a CSV is malformed but not where: re-scan with the csv module to name the row.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        width = len(next(reader))
        for row, fields in enumerate(reader, start=1):
            if len(fields) > width:
                return ImportFormatError(
                    f"has {len(fields)} fields, the header has {width}", file=path, row=row
                )
    except csv.Error as err:
        return ImportFormatError(f"malformed CSV ({err})", file=path, row=max(reader.line_num - 1, 0) or None)
    return ImportFormatError(f"malformed CSV: {detail.splitlines()[0]}", file=path)


def _read_csv(path: Path) -> tuple[list[str], pl.DataFrame, str]:
    """Header names, the data rows as strings, and the delimiter."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ImportFormatError(f"cannot read the file: {err.strerror or err}", file=path) from err
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        row = data.count(b"\n", 0, err.start)
        raise ImportFormatError(
            f"is not UTF-8 text (byte 0x{data[err.start]:02x})", file=path, row=row or None
        ) from err
    if not text.strip():
        raise ImportFormatError("is empty; expected a header row and data rows", file=path)
    header_line = text.split("\n", 1)[0]
    delimiter = max(_DELIMITERS, key=header_line.count)
    try:
        frame = pl.read_csv(
            io.BytesIO(data), has_header=False, infer_schema=False, separator=delimiter, quote_char='"'
        )
    except pl.exceptions.PolarsError as err:
        raise _first_csv_problem(text, delimiter, path, str(err)) from err
    names = [name or "" for name in frame.row(0)]
    rows = frame.slice(1)
    # Blank lines at the end of a file are common and harmless; a blank line inside the data is not.
    filled = rows.select(pl.any_horizontal(pl.all().is_not_null())).to_series()
    last = filled.arg_true()
    return names, rows.head(int(last[-1]) + 1 if last.len() else 0), delimiter


_PARQUET_ERRORS: Final = (OSError, pa.ArrowException, UnicodeDecodeError)


def _parquet_names(path: Path) -> list[str]:
    try:
        return list(pq.read_schema(path).names)
    except _PARQUET_ERRORS as err:
        raise ImportFormatError(f"cannot read the file as Parquet: {err}", file=path) from err


def _read_parquet(path: Path, columns: list[str]) -> pl.DataFrame:
    try:
        table = pq.read_table(path, columns=columns)
        table.validate(full=True)
    except _PARQUET_ERRORS as err:
        raise ImportFormatError(f"cannot read the file as Parquet: {err}", file=path) from err
    # Rebuilt without the file's schema metadata: polars panics on metadata that is not valid UTF-8.
    return pl.DataFrame(pa.Table.from_arrays(table.columns, names=columns))


def _match_columns(names: list[str], path: Path) -> tuple[dict[str, int], list[str]]:
    """Position of each format column in ``names``, and the names of the other columns."""
    normalised = [name.strip().lower() for name in names]
    known = set(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
    positions: dict[str, int] = {}
    for column in REQUIRED_COLUMNS + OPTIONAL_COLUMNS:
        found = [i for i, name in enumerate(normalised) if name == column]
        if len(found) > 1:
            spelled = ", ".join(repr(names[i]) for i in found)
            raise ImportFormatError(
                f"appears {len(found)} times in the header ({spelled}); names are case-insensitive",
                file=path,
                column=column,
            )
        if found:
            positions[column] = found[0]
    present = ", ".join(repr(name) for name in names)
    missing = [column for column in REQUIRED_COLUMNS if column not in positions]
    if missing:
        raise ImportFormatError(
            f"required column(s) {', '.join(missing)} missing; the file has columns {present}",
            file=path,
            column=missing[0],
        )
    mag = [column for column in MAG if column in positions]
    if mag and len(mag) < 3:
        absent = [column for column in MAG if column not in positions]
        raise ImportFormatError(
            f"{', '.join(MAG)} come all three or not at all; {', '.join(absent)} missing "
            f"(the file has columns {present})",
            file=path,
            column=absent[0],
        )
    ignored = [name for name, norm in zip(names, normalised, strict=True) if norm not in known]
    return positions, ignored


def _is_blank(series: pl.Series) -> bool:
    if series.dtype == pl.String:
        return bool((series.is_null() | (series.str.strip_chars() == "")).all())
    return bool(series.is_null().all())


def _parse_column(series: pl.Series, column: str, integer: bool) -> npt.NDArray[np.generic] | _CellProblem:
    """The values of one column as float64 (int64 if ``integer``), or its first bad cell."""
    target = pl.Int64 if integer else pl.Float64
    kind = "an integer" if integer else "a number"
    if series.dtype == pl.String:
        text = series.str.strip_chars()
        empty = text.is_null() | (text == "")
        values = text.cast(target, strict=False)
    elif series.dtype.is_numeric():
        text = series
        empty = series.is_null()
        if integer and series.dtype.is_float():
            whole = series.is_finite() & (series.round(0) == series) & (series.abs() <= 2.0**53)
            values = series.cast(pl.Int64, strict=False).set(~whole.fill_null(True), None)
        else:
            values = series.cast(target, strict=False)
    else:
        return _CellProblem(
            None, column, f"has type {series.dtype}; expected {'integers' if integer else 'numbers'}"
        )
    first_empty = empty.arg_true()
    first_bad = (~empty & values.is_null()).arg_true()
    candidates = []
    if first_empty.len():
        candidates.append(_CellProblem(int(first_empty[0]) + 1, column, "is empty"))
    if first_bad.len():
        cell = text[int(first_bad[0])]
        comma = isinstance(cell, str) and _DECIMAL_COMMA.match(cell)
        hint = " (decimal comma? write numbers with '.')" if comma else ""
        candidates.append(_CellProblem(int(first_bad[0]) + 1, column, f"{cell!r} is not {kind}{hint}"))
    if candidates:
        return min(candidates, key=lambda problem: problem.row or 0)
    return values.to_numpy()


def _seconds_to_us(seconds: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    # Whole seconds and the fraction separately: t - floor(t) is exact, so this rounds the float itself
    # to the nearest µs instead of the product t * 1e6, which loses bits for Unix times.
    whole = np.floor(seconds)
    return whole.astype(np.int64) * 1_000_000 + np.rint((seconds - whole) * 1e6).astype(np.int64)


def _time_us(
    seconds: npt.NDArray[np.float64], start_us: int | None, path: Path
) -> tuple[npt.NDArray[np.int64], str]:
    bad = np.flatnonzero(~(np.abs(seconds) <= _MAX_ABS_TIME_S))
    if bad.size:
        value = float(seconds[bad[0]])
        why = "is not finite" if not np.isfinite(value) else "is beyond year 9999: time must be in seconds"
        raise ImportFormatError(f"{value!r} {why}", file=path, row=int(bad[0]) + 1, column=TIME)
    if seconds[0] >= ABSOLUTE_TIME_MIN_S:
        time_us, reference = _seconds_to_us(seconds), "absolute"
    elif start_us is None:
        raise ImportFormatError(
            f"time is relative to the session start (first value {float(seconds[0])!r} s is below 1e9, so "
            "not Unix seconds); pass start_time (a timezone-aware datetime), or write absolute Unix seconds",
            file=path,
            row=1,
            column=TIME,
        )
    else:
        time_us, reference = start_us + _seconds_to_us(seconds), "relative"
    back = np.flatnonzero(np.diff(time_us) <= 0)
    if back.size:
        i = int(back[0]) + 1
        later, earlier = float(seconds[i]), float(seconds[i - 1])
        closer = " (less than 1 µs later)" if later > earlier else ""
        raise ImportFormatError(
            f"time must be strictly increasing: {later!r} s follows {earlier!r} s{closer}",
            file=path,
            row=i + 1,
            column=TIME,
        )
    return time_us, reference


def _estimate_rate_hz(time_us: npt.NDArray[np.int64]) -> float:
    """1 / median sample interval [Hz], rounded to a whole number within 1 %, else to 3 significant digits."""
    rate = 1e6 / float(np.median(np.diff(time_us)))
    nearest = round(rate)
    if nearest >= 1 and abs(rate - nearest) <= 0.01 * rate:
        return float(nearest)
    return float(f"{rate:.3g}")


def _located(
    err: DataValidationError, path: Path, raw: dict[str, npt.NDArray[np.float64]]
) -> ImportFormatError:
    """Re-state an error of the SensorSamples constructor in terms of the file's rows and columns."""
    message = str(err)
    if err.sensor_id is not None or err.column is not None or err.index is not None:
        # The constructor prefixes "sensor 'S1', column 'acc', sample 2: "; ids and column names hold no
        # ": ", so the first one ends the prefix. The row and column are re-stated in file terms.
        message = message.split(": ", 1)[1]
    row = None if err.index is None else err.index + 1
    column = {"time_us": TIME}.get(err.column or "", err.column)
    if err.column in raw:
        axes = VECTOR_COLUMNS[err.column]
        if err.index is None:
            column = ", ".join(axes)
        else:
            values = raw[err.column][err.index]
            nonfinite = np.flatnonzero(~np.isfinite(values))
            column = axes[int(nonfinite[0]) if nonfinite.size else int(np.argmax(np.abs(values)))]
    if isinstance(err, UnitsError) and err.column in ("acc", "gyr"):
        unit = "g" if err.column == "acc" else "deg/s"
        message += f" (for a file in {unit}: {err.column}_unit={unit!r}, on the command line --units {unit})"
    return ImportFormatError(message, file=path, row=row, column=column)


def read_generic_sensor_file_with_report(
    path: str | Path,
    *,
    sensor_id: str,
    start_time: datetime | None = None,
    acc_unit: str = "m/s^2",
    gyr_unit: str = "rad/s",
    mag_unit: str = "uT",
    rate_hz: float | None = None,
    family: str = "generic",
) -> tuple[SensorSamples, ImportReport]:
    """Read one sensor's file in the generic format, and report what was found besides the samples.

    Parameters are those of :func:`read_generic_sensor_file`.

    Returns
    -------
    samples : SensorSamples
        The samples in SI units on the UTC timeline.
    report : ImportReport
        Format, delimiter, row count, time reference, ignored columns and notes for a person.
    """
    path = Path(path)
    check_identifier(sensor_id, "sensor")
    start_us = None if start_time is None else datetime_to_us(start_time)
    units = {"acc": acc_unit, "gyr": gyr_unit, "mag": mag_unit}
    for kind, unit in units.items():
        if _canonical_unit(kind, unit) is None:
            raise ImportFormatError(
                f"unknown {kind} unit {unit!r}; expected one of {_unit_choices(kind)}",
                file=path,
                column=", ".join(VECTOR_COLUMNS[kind]),
            )
    file_format = _file_format(path)
    delimiter = None
    if file_format == "csv":
        names, frame, delimiter = _read_csv(path)
        positions, ignored = _match_columns(names, path)
        series = {column: frame.to_series(i) for column, i in positions.items()}
    else:
        names = _parquet_names(path)
        positions, ignored = _match_columns(names, path)
        frame = _read_parquet(path, [names[i] for i in positions.values()])
        series = {column: frame.get_column(names[i]) for column, i in positions.items()}
    rows = frame.height
    if rows < 2:
        raise ImportFormatError(f"has {rows} data row(s); at least 2 are needed", file=path)

    notes = [f"ignored columns not in the format: {', '.join(map(repr, ignored))}"] if ignored else []
    if MAG[0] in series and all(_is_blank(series[column]) for column in MAG):
        notes.append(f"{', '.join(MAG)} are empty: read as a sensor without magnetometer")
        for column in MAG:
            del series[column]
    parsed = {
        column: _parse_column(values, column, integer=column in (SAMPLE_INDEX, DEVICE_TIME))
        for column, values in series.items()
    }
    problems = [problem for problem in parsed.values() if isinstance(problem, _CellProblem)]
    if problems:
        first = min(problems, key=lambda problem: problem.row or 0)
        raise ImportFormatError(first.message, file=path, row=first.row, column=first.column)
    arrays: dict[str, npt.NDArray[np.generic]] = {
        k: v for k, v in parsed.items() if not isinstance(v, _CellProblem)
    }

    time_us, reference = _time_us(arrays[TIME].astype(np.float64), start_us, path)
    if reference == "absolute" and start_us is not None:
        notes.append("start_time is ignored: the time column holds absolute Unix seconds")
    info = SensorInfo(
        sensor_id=sensor_id, family=family, rate_hz=_estimate_rate_hz(time_us) if rate_hz is None else rate_hz
    )
    raw = {
        group: np.column_stack([arrays[c] for c in axes])
        for group, axes in VECTOR_COLUMNS.items()
        if axes[0] in arrays
    }
    try:
        # A huge value times a unit factor overflows to inf, which the constructor reports as non-finite.
        with np.errstate(over="ignore"):
            samples = SensorSamples.from_units(
                info,
                time_us,
                raw["acc"],
                raw["gyr"],
                raw.get("mag"),
                acc_unit=_canonical_unit("acc", acc_unit) or acc_unit,
                gyr_unit=_canonical_unit("gyr", gyr_unit) or gyr_unit,
                mag_unit=_canonical_unit("mag", mag_unit) or mag_unit,
                sample_index=arrays.get(SAMPLE_INDEX),
                device_time=arrays.get(DEVICE_TIME),
            )
    except DataValidationError as err:
        raise _located(err, path, raw) from err
    report = ImportReport(
        file=path,
        file_format=file_format,
        delimiter=delimiter,
        rows=rows,
        time_reference=reference,
        rate_hz_estimated=rate_hz is None,
        ignored_columns=tuple(ignored),
        notes=tuple(notes),
    )
    return samples, report


def read_generic_sensor_file(
    path: str | Path,
    *,
    sensor_id: str,
    start_time: datetime | None = None,
    acc_unit: str = "m/s^2",
    gyr_unit: str = "rad/s",
    mag_unit: str = "uT",
    rate_hz: float | None = None,
    family: str = "generic",
) -> SensorSamples:
    """Read one sensor's file in the generic import format (CSV or Parquet) into SI samples.

    Parameters
    ----------
    path : str or Path
        A ``.csv``, ``.tsv`` or ``.txt`` file (header row; ``,`` ``;`` or tab delimiter) or a ``.parquet``
        / ``.pq`` file, with the columns of ``docs/import-format.md``.
    sensor_id : str
        Id given to the sensor (letters, digits, ``._-``).
    start_time : datetime, optional
        Session start, timezone-aware. Required when ``time`` is relative (first value below 1e9 s);
        ignored (and noted in the report) when it holds absolute Unix seconds.
    acc_unit : {"m/s^2", "g", "mg"}
        Unit of the ``acc_*`` columns (case-insensitive; 1 g = 9.80665 m/s²).
    gyr_unit : {"rad/s", "deg/s"}
        Unit of the ``gyr_*`` columns.
    mag_unit : {"uT", "nT", "gauss", "mgauss"}
        Unit of the ``mag_*`` columns.
    rate_hz : float, optional
        Nominal output data rate [Hz]. Default: 1 / median sample interval, rounded to a whole number when
        within 1 % of one (99.97 → 100), else to 3 significant digits (12.5).
    family : str
        Sensor family recorded in :class:`~imurehab.types.SensorInfo`.

    Returns
    -------
    SensorSamples
        ``time_us`` in µs since the Unix epoch (UTC; rounded to the nearest µs), ``acc`` [m/s²], ``gyr``
        [rad/s], ``mag`` [µT] or None, ``sample_index`` (default 0..N-1), ``device_time`` or None.

    Raises
    ------
    ImportFormatError
        For any problem with the file, naming the file, the 1-based data row (header excluded) and the
        column where one applies: unreadable or missing file, unknown extension, not UTF-8, malformed
        CSV, missing or duplicate column, empty or non-numeric cell, fewer than 2 rows, relative time
        without ``start_time``, time not strictly increasing, unknown unit, and any rule of
        :class:`~imurehab.types.SensorSamples` (NaN, values that look like g or deg/s), chained from the
        original error.
    IdentifierError
        If ``sensor_id`` is not a valid identifier.
    DataValidationError
        If ``start_time`` has no timezone or ``rate_hz`` is not positive.

    See Also
    --------
    read_generic_sensor_file_with_report : the same, also returning an :class:`ImportReport`.
    write_generic_sensor_file : write samples in this format.

    Examples
    --------
    >>> samples = read_generic_sensor_file("shank_right.csv", sensor_id="S1")  # doctest: +SKIP
    """
    samples, _ = read_generic_sensor_file_with_report(
        path,
        sensor_id=sensor_id,
        start_time=start_time,
        acc_unit=acc_unit,
        gyr_unit=gyr_unit,
        mag_unit=mag_unit,
        rate_hz=rate_hz,
        family=family,
    )
    return samples


def _exact_seconds(time_us: pl.Expr) -> pl.Expr:
    """Decimal text of µs values as seconds with 6 decimals, exact (no float rounding)."""
    magnitude = time_us.abs()
    return pl.concat_str(
        pl.when(time_us < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        (magnitude // 1_000_000).cast(pl.String),
        pl.lit("."),
        (magnitude % 1_000_000).cast(pl.String).str.zfill(6),
    )


def write_generic_sensor_file(
    samples: SensorSamples, path: str | Path, *, start_time: datetime | None = None
) -> Path:
    """Write one sensor's samples as a file in the generic import format.

    Parameters
    ----------
    samples : SensorSamples
        The samples; written in SI units (m/s², rad/s, µT).
    path : str or Path
        Target file; ``.csv`` / ``.txt`` (comma), ``.tsv`` (tab), or ``.parquet`` / ``.pq`` (zstd).
    start_time : datetime, optional
        If given (timezone-aware), ``time`` is written in seconds since it; otherwise as absolute Unix
        seconds.

    Returns
    -------
    Path
        The file written (atomically: a temporary file renamed into place).

    Raises
    ------
    ImportFormatError
        If the extension is not one of the format's.
    DataValidationError
        If the time cannot be read back as intended: absolute times before 2001-09-09 (1e9 s), or
        relative times starting 1e9 s or more after ``start_time``.

    Notes
    -----
    CSV times are the exact µs as decimal text (``1700000000.123456``) and other floats the shortest
    text that reads back to the same float, so :func:`read_generic_sensor_file` gives back the same
    arrays. Parquet times are float64 seconds, exact to the µs for times before the year 2242. Not part of
    the format, so not written: ``flags`` and the :class:`~imurehab.types.SensorInfo` fields other than the
    rate, which the reader estimates unless given.
    """
    path = Path(path)
    file_format = _file_format(path)
    origin_us = 0 if start_time is None else datetime_to_us(start_time)
    time_us = samples.time_us - origin_us
    first = int(time_us[0]) if len(samples) else 0
    if start_time is None and first < ABSOLUTE_TIME_MIN_S * 1e6:
        raise DataValidationError(
            "starts before 2001-09-09, so it would be read back as relative time; pass start_time",
            sensor_id=samples.sensor_id,
            column="time_us",
        )
    if start_time is not None and first >= ABSOLUTE_TIME_MIN_S * 1e6:
        raise DataValidationError(
            "starts 1e9 s or more after start_time, so it would be read back as absolute time",
            sensor_id=samples.sensor_id,
            column="time_us",
        )
    columns: dict[str, npt.NDArray[np.generic]] = {}
    for group, axes in VECTOR_COLUMNS.items():
        values = getattr(samples, group)
        if values is not None:
            columns.update({axis: values[:, i] for i, axis in enumerate(axes)})
    columns[SAMPLE_INDEX] = samples.sample_index
    if samples.device_time is not None:
        columns[DEVICE_TIME] = samples.device_time
    frame = pl.DataFrame({TIME: time_us, **columns})
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if file_format == "parquet":
            frame.with_columns(pl.col(TIME).cast(pl.Float64) / 1e6).write_parquet(tmp, compression="zstd")
        else:
            separator = "\t" if path.suffix.lower() == ".tsv" else ","
            frame.with_columns(_exact_seconds(pl.col(TIME)).alias(TIME)).write_csv(tmp, separator=separator)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
