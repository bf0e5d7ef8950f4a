"""The Parquet dataset layer: canonical table schemas, atomic writers and lazy readers.

A dataset is a folder ``<root>/<table>/subject=<id>/session=<id>/part-<n>.parquet`` (hive layout: the
subject and session ids are in the folder names only), readable by polars, DuckDB and Spark. Tables and
their columns are defined in :mod:`imurehab.store.schema`; column names are constants there.

Examples
--------
>>> from imurehab.store import read_recording, read_table, write_recording  # doctest: +SKIP
>>> write_recording(rec, "data")  # doctest: +SKIP
>>> read_table("data", "samples", subject="001").collect()  # doctest: +SKIP
"""

from imurehab.store.reader import (
    dataset_summary,
    list_sessions,
    read_file_metadata,
    read_recording,
    read_table,
)
from imurehab.store.schema import SCHEMA_VERSION, TABLES, arrow_schema, polars_schema
from imurehab.store.writer import ROW_GROUP_ROWS, append_table, delete_partition, write_recording, write_table

__all__ = [
    "ROW_GROUP_ROWS",
    "SCHEMA_VERSION",
    "TABLES",
    "append_table",
    "arrow_schema",
    "dataset_summary",
    "delete_partition",
    "list_sessions",
    "polars_schema",
    "read_file_metadata",
    "read_recording",
    "read_table",
    "write_recording",
    "write_table",
]
