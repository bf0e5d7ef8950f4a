"""Canonical table schemas of an imurehab dataset: column names, types, nullability, sort keys.

This module is the one place the schemas are written down. Each table has a pyarrow schema (the types
written to Parquet, nullability included); the polars schemas are derived from them. Column names are
constants in :mod:`imurehab.store.columns`.

Versioning: :data:`SCHEMA_VERSION` grows when a table changes. Changes are additive and nullable, so a
reader fills columns missing from an older file with nulls; a column whose type differs is an error.

Conventions (see DESIGN.md): SI units in ``samples`` (m/s², rad/s, µT), degrees in ``*_deg`` columns,
quaternions scalar first (``q_w, q_x, q_y, q_z``) rotating sensor-frame vectors into the ENU earth
frame, times ``timestamp[us, UTC]`` (never nanoseconds: Spark rejects them). The partition keys
``subject`` and ``session`` are in the folder names only, never columns in a file.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Final

import polars as pl
import pyarrow as pa

from imurehab.errors import SchemaError
from imurehab.store import columns as cols

# Column names are re-exported, so ``schema.ACC_X`` is ``columns.ACC_X``.
from imurehab.store.columns import *  # noqa: F403

__all__ = [
    "ARROW_SCHEMAS",
    "HIVE_SCHEMA",
    "POLARS_SCHEMAS",
    "SCHEMA_VERSION",
    "SORT_KEYS",
    "TIME_COLUMNS",
    "arrow_schema",
    "check_file_schema",
    "check_table",
    "conform_frame",
    "polars_schema",
]
__all__ += cols.__all__

SCHEMA_VERSION: Final[int] = 3
"""Version of the canonical schemas below; written into every file's footer metadata.

History: 1, the first version; 2, ``sessions.sensors`` gained ``serial``, ``clock_uncertainty_us``,
``log_verified`` and ``clocks`` (the fitted device clock of each boot); 3, ``load`` gained the open load
metrics (``load_version``, ``covered_s``, PlayerLoad 2D and per axis, impacts per g-zone, activity
counts, acceleration/deceleration events, step and stroke cadence), all nullable."""

# --- types ----------------------------------------------------------------------------------------
_TS: Final = pa.timestamp("us", tz="UTC")
_F64: Final = pa.float64()
_STR: Final = pa.string()


def _req(name: str, typ: pa.DataType) -> pa.Field:
    return pa.field(name, typ, nullable=False)


def _opt(name: str, typ: pa.DataType) -> pa.Field:
    return pa.field(name, typ, nullable=True)


_PLACEMENT: Final = pa.struct([_opt(cols.SENSOR, _STR), _opt(cols.SEGMENT, _STR)])
_CLOCK: Final = pa.struct(
    [
        _opt(cols.BOOT_ID, pa.int64()),
        _opt(cols.REF_TIME, _TS),
        _opt(cols.OFFSET_US, _F64),
        _opt(cols.DRIFT_PPM, _F64),
        _opt(cols.UNCERTAINTY_US, _F64),
        _opt(cols.DRIFT_SIGMA_PPM, _F64),
        _opt(cols.FIRST_TIME, _TS),
        _opt(cols.LAST_TIME, _TS),
        _opt(cols.N_ROUND_TRIPS, pa.int64()),
        _opt(cols.N_WINDOWS, pa.int64()),
    ]
)
_SENSOR_INFO: Final = pa.struct(
    [
        _opt(cols.SENSOR, _STR),
        _opt(cols.FAMILY, _STR),
        _opt(cols.MODEL, _STR),
        _opt(cols.FIRMWARE, _STR),
        _opt(cols.RATE_HZ, _F64),
        _opt(cols.ACC_RANGE_MPS2, _F64),
        _opt(cols.GYR_RANGE_RADS, _F64),
        _opt(cols.MAG_RANGE_UT, _F64),
        _opt(cols.DEVICE_CLOCK_HZ, _F64),
        _opt(cols.HAS_MAG, pa.bool_()),
        _opt(cols.HAS_DEVICE_TIME, pa.bool_()),
        _opt(cols.N_SAMPLES, pa.int64()),
        # schema version 2: provenance of the UTC timeline and of the download
        _opt(cols.SERIAL, _STR),
        _opt(cols.CLOCK_UNCERTAINTY_US, _F64),
        _opt(cols.LOG_VERIFIED, pa.bool_()),
        _opt(cols.CLOCKS, pa.list_(_CLOCK)),
    ]
)

ARROW_SCHEMAS: Final[Mapping[str, pa.Schema]] = MappingProxyType(
    {
        cols.SESSIONS: pa.schema(
            [
                _req(cols.START_TIME, _TS),
                _req(cols.END_TIME, _TS),
                _opt(cols.EXERCISE, _STR),
                _req(cols.SOFTWARE_VERSION, _STR),
                _req(cols.PLACEMENTS, pa.list_(_PLACEMENT)),
                _req(cols.SENSORS, pa.list_(_SENSOR_INFO)),
            ]
        ),
        cols.SAMPLES: pa.schema(
            [
                _req(cols.SENSOR, _STR),
                _req(cols.SAMPLE_INDEX, pa.int64()),
                _req(cols.TIME, _TS),
                _opt(cols.DEVICE_TIME, pa.int64()),
                *(_req(c, _F64) for c in (*cols.ACC, *cols.GYR)),
                *(_opt(c, _F64) for c in cols.MAG),
                _req(cols.FLAGS, pa.uint16()),
            ]
        ),
        cols.ORIENTATION: pa.schema(
            [
                _req(cols.SENSOR, _STR),
                _opt(cols.SEGMENT, _STR),
                _req(cols.TIME, _TS),
                *(_req(c, _F64) for c in cols.QUAT),
                _req(cols.REST, pa.bool_()),
                _opt(cols.MAG_DISTURBED, pa.bool_()),
                *(_opt(c, _F64) for c in cols.BIAS),
            ]
        ),
        cols.JOINT_ANGLES: pa.schema(
            [
                _req(cols.JOINT, _STR),
                _opt(cols.SIDE, _STR),
                _req(cols.TIME, _TS),
                *(_opt(c, _F64) for c in (cols.FLEXION_DEG, cols.ABDUCTION_DEG, cols.ROTATION_DEG)),
            ]
        ),
        cols.REPS: pa.schema(
            [
                _opt(cols.EXERCISE, _STR),
                _req(cols.JOINT, _STR),
                _opt(cols.SIDE, _STR),
                _req(cols.REP, pa.int32()),
                _req(cols.START, _TS),
                _req(cols.END, _TS),
                *(_req(c, _F64) for c in (cols.ROM_DEG, cols.MIN_DEG, cols.MAX_DEG, cols.DURATION_S)),
                _req(cols.FLAGS, pa.list_(_STR)),
            ]
        ),
        cols.LOAD: pa.schema(
            [
                _req(cols.SENSOR, _STR),
                _req(cols.EPOCH_START, _TS),
                _req(cols.EPOCH_S, _F64),
                *(_opt(c, _F64) for c in (cols.PLAYERLOAD, cols.ENMO_MG, cols.MAD_MG)),
                _opt(cols.STATION, _STR),
                # schema version 3: the open load metrics (imurehab.analysis.load)
                _opt(cols.LOAD_VERSION, _STR),
                _opt(cols.COVERED_S, _F64),
                *(_opt(c, _F64) for c in cols.PLAYERLOADS[1:]),
                *(_opt(c, pa.int64()) for c in cols.IMPACTS),
                *(_opt(c, pa.int64()) for c in cols.COUNTS),
                _opt(cols.COUNTS_VM, _F64),
                _opt(cols.ACCEL_EVENTS, pa.int64()),
                _opt(cols.DECEL_EVENTS, pa.int64()),
                _opt(cols.STEP_CADENCE_SPM, _F64),
                _opt(cols.STROKE_CADENCE_SPM, _F64),
            ]
        ),
    }
)
"""Table name → pyarrow schema written to Parquet (without the partition keys)."""

POLARS_SCHEMAS: Final[Mapping[str, pl.Schema]] = MappingProxyType(
    {name: pl.DataFrame(schema.empty_table()).schema for name, schema in ARROW_SCHEMAS.items()}
)
"""Table name → polars schema, derived from :data:`ARROW_SCHEMAS` (nullability is not expressed)."""

HIVE_SCHEMA: Final[Mapping[str, pl.DataType]] = MappingProxyType(
    {cols.SUBJECT: pl.String(), cols.SESSION: pl.String()}
)
"""Types of the partition keys: strings, so an id like ``"001"`` keeps its leading zeros."""

SORT_KEYS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        cols.SESSIONS: (cols.START_TIME,),
        cols.SAMPLES: (cols.SENSOR, cols.TIME),
        cols.ORIENTATION: (cols.SENSOR, cols.TIME),
        cols.JOINT_ANGLES: (cols.JOINT, cols.SIDE, cols.TIME),
        cols.REPS: (cols.JOINT, cols.SIDE, cols.START),
        cols.LOAD: (cols.SENSOR, cols.EPOCH_START),
    }
)
"""Columns each table's rows are sorted by in a file (ascending, nulls last)."""

TIME_COLUMNS: Final[Mapping[str, str]] = MappingProxyType(
    {
        cols.SESSIONS: cols.START_TIME,
        cols.SAMPLES: cols.TIME,
        cols.ORIENTATION: cols.TIME,
        cols.JOINT_ANGLES: cols.TIME,
        cols.REPS: cols.START,
        cols.LOAD: cols.EPOCH_START,
    }
)
"""The column a time-range filter applies to, per table."""


def check_table(table: str, path: str | Path | None = None) -> str:
    """Return ``table`` if it is a canonical table name, else raise :class:`SchemaError`.

    Parameters
    ----------
    table : str
        Table name, one of :data:`TABLES`.
    path : str or Path, optional
        Where the table would live, for the error.
    """
    if table not in ARROW_SCHEMAS:
        raise SchemaError(f"unknown table {table!r}; the tables are {', '.join(cols.TABLES)}", path=path)
    return table


def arrow_schema(table: str) -> pa.Schema:
    """The pyarrow schema of ``table`` as written to Parquet (no partition keys).

    Parameters
    ----------
    table : str
        One of :data:`TABLES`.

    Raises
    ------
    SchemaError
        If ``table`` is not one of :data:`TABLES`.
    """
    return ARROW_SCHEMAS[check_table(table)]


def polars_schema(table: str, *, with_keys: bool = False) -> pl.Schema:
    """The polars schema of ``table``.

    Parameters
    ----------
    table : str
        One of :data:`TABLES`.
    with_keys : bool, default False
        Put the partition keys ``subject`` and ``session`` (strings) first, as :func:`read_table` does.

    Raises
    ------
    SchemaError
        If ``table`` is not one of :data:`TABLES`.
    """
    schema = POLARS_SCHEMAS[check_table(table)]
    return pl.Schema({**HIVE_SCHEMA, **schema}) if with_keys else pl.Schema(schema)


def _canonical_type(typ: pa.DataType) -> pa.DataType:
    """``typ`` with string/list layout variants and nested field names and nullability unified."""
    if pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_string_view(typ):
        return pa.string()
    if pa.types.is_list(typ) or pa.types.is_large_list(typ) or pa.types.is_list_view(typ):
        return pa.list_(_canonical_type(typ.value_type))
    if pa.types.is_struct(typ):
        return pa.struct([pa.field(f.name, _canonical_type(f.type)) for f in typ.fields])
    return typ


def _is_older_form(got: pa.DataType, expected: pa.DataType) -> bool:
    """Whether ``got`` is ``expected`` or ``expected`` less some struct fields (an older schema version).

    Both types are canonical (:func:`_canonical_type`); every struct field of the canonical schemas is
    nullable, so a field missing from a file is read as nulls.
    """
    if pa.types.is_struct(got) and pa.types.is_struct(expected):
        names = [f.name for f in expected]
        if any(f.name not in names for f in got):
            return False
        return all(_is_older_form(f.type, expected.field(f.name).type) for f in got)
    if pa.types.is_list(got) and pa.types.is_list(expected):
        return _is_older_form(got.value_type, expected.value_type)
    return got == expected


def check_file_schema(file_schema: pa.Schema, table: str, path: str | Path) -> None:
    """Check that a Parquet file's schema is compatible with the canonical schema of ``table``.

    Compatible means: every column of the file is a canonical column of the same type (string and list
    layout variants such as ``large_string`` count as the same), and every required column is present.
    Nullable columns and struct fields missing from the file (written by an older schema version) are
    fine: readers fill them with nulls.

    Parameters
    ----------
    file_schema : pyarrow.Schema
        The file's schema (``pyarrow.parquet.read_schema``).
    table : str
        One of :data:`TABLES`.
    path : str or Path
        The file, for the error.

    Raises
    ------
    SchemaError
        Naming the column and the file, if a column is unknown, a partition key, of another type, or a
        required column is missing.
    """
    canonical = arrow_schema(table)
    for field in file_schema:
        if field.name in HIVE_SCHEMA:
            raise SchemaError(
                "is a partition key, stored in the folder name, but the file holds it as a column",
                path=path,
                column=field.name,
            )
        if field.name not in canonical.names:
            raise SchemaError(
                f"is not a column of table {table!r} in schema version {SCHEMA_VERSION} "
                "(written by a newer imurehab?)",
                path=path,
                column=field.name,
            )
        expected = canonical.field(field.name).type
        if not _is_older_form(_canonical_type(field.type), _canonical_type(expected)):
            raise SchemaError(
                f"has type {field.type} in the file, expected {expected}", path=path, column=field.name
            )
    for field in canonical:
        if not field.nullable and field.name not in file_schema.names:
            raise SchemaError("is required but missing from the file", path=path, column=field.name)


def conform_frame(df: pl.DataFrame, table: str, path: str | Path | None = None) -> pl.DataFrame:
    """Check ``df`` against the canonical schema of ``table`` and return it in canonical column order.

    Missing nullable columns are added as nulls, and a column of polars type ``Null`` (all values
    missing, no type given) takes the canonical type if the column is nullable. Nothing else is cast:
    an integer column where float64 is expected is an error, not a silent conversion.

    Parameters
    ----------
    df : polars.DataFrame
        The rows to write, without ``subject``/``session`` columns (those go in the path).
    table : str
        One of :data:`TABLES`.
    path : str or Path, optional
        Where the rows would be written, for the error.

    Returns
    -------
    polars.DataFrame
        The same rows with exactly the canonical columns, in canonical order.

    Raises
    ------
    SchemaError
        Naming the column: an unknown column, a partition key column, a missing required column, a
        column of another type, or nulls in a required column.
    """
    schema = polars_schema(table)
    fields = arrow_schema(table)
    for name in df.columns:
        if name in HIVE_SCHEMA:
            raise SchemaError(
                f"is a partition key: pass {name}=... instead of a column", path=path, column=name
            )
        if name not in schema:
            raise SchemaError(
                f"is not a column of table {table!r}; its columns are {', '.join(schema)}",
                path=path,
                column=name,
            )
    columns = []
    for name, dtype in schema.items():
        nullable = fields.field(name).nullable
        if name not in df.columns:
            if not nullable:
                raise SchemaError(f"is required in table {table!r} but missing", path=path, column=name)
            columns.append(pl.lit(None, dtype=dtype).alias(name))
            continue
        got = df.schema[name]
        if got == pl.Null() and nullable:
            columns.append(pl.col(name).cast(dtype))
            continue
        if got != dtype:
            raise SchemaError(f"has type {got}, expected {dtype} (no implicit casts)", path=path, column=name)
        if not nullable and (nulls := df.get_column(name).null_count()):
            raise SchemaError(f"is required but holds {nulls} null(s)", path=path, column=name)
        columns.append(pl.col(name))
    return df.select(columns)
