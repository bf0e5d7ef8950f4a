"""The files on disk: readable alike by polars and DuckDB, zstd, µs UTC timestamps, footer metadata."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal

from imurehab._version import __version__
from imurehab.store import (
    ROW_GROUP_ROWS,
    SCHEMA_VERSION,
    TABLES,
    read_file_metadata,
    write_recording,
    write_table,
)
from imurehab.store import columns as cols
from imurehab.store import schema as sc
from tests.strategies import synthetic_recording

HIVE = {cols.SUBJECT: pl.String, cols.SESSION: pl.String}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("dataset")
    for subject, session, n, seed in [("001", "01", 500, 1), ("001", "02", 300, 2), ("017", "01", 200, 3)]:
        write_recording(synthetic_recording(n, seed=seed, subject=subject, session=session), root)
    return root


def _polars(root, table):
    return pl.scan_parquet(f"{root}/{table}/**/*.parquet", hive_partitioning=True, hive_schema=HIVE).collect()


def _duckdb(root, table):
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        query = (
            f"select * from read_parquet('{root}/{table}/**/*.parquet', hive_partitioning = true, "
            "hive_types = {'subject': VARCHAR, 'session': VARCHAR})"
        )
        return pl.from_arrow(con.sql(query).to_arrow_table())
    finally:
        con.close()


@pytest.mark.parametrize(
    ("table", "keys"),
    [
        (cols.SAMPLES, [cols.SUBJECT, cols.SESSION, cols.SENSOR, cols.TIME]),
        (cols.SESSIONS, [cols.SUBJECT, cols.SESSION]),
    ],
)
def test_polars_and_duckdb_read_the_same(dataset, table, keys):
    ours = _polars(dataset, table)
    theirs = _duckdb(dataset, table).select(ours.columns)
    assert ours.height > 0
    assert theirs.schema == ours.schema
    assert_frame_equal(ours.sort(keys), theirs.sort(keys), check_exact=True)


def test_timestamps_are_microsecond_utc(tmp_path):
    for table in TABLES:
        frame = pl.DataFrame(schema=sc.polars_schema(table))
        path = write_table(frame, tmp_path, table, subject="a", session="b")
        file_schema = pq.read_schema(path)
        timestamps = [f for f in file_schema if pa.types.is_timestamp(f.type)]
        assert timestamps, table
        for field in timestamps:
            assert field.type == pa.timestamp("us", tz="UTC"), (table, field.name)
        stored = pq.ParquetFile(path).schema.column(file_schema.get_field_index(timestamps[0].name))
        logical = json.loads(stored.logical_type.to_json())
        assert (logical["timeUnit"], logical["isAdjustedToUTC"]) == ("microseconds", True)


def test_footer_compression_row_groups_and_order(tmp_path):
    n = ROW_GROUP_ROWS + 1000
    rec = synthetic_recording(n, n_sensors=2)
    samples_path, sessions_path = write_recording(rec, tmp_path)

    meta = read_file_metadata(samples_path)
    assert meta == {
        "schema_version": SCHEMA_VERSION,
        "software_version": __version__,
        "table": cols.SAMPLES,
        "subject": "001",
        "session": "s1",
    }
    assert read_file_metadata(sessions_path)["table"] == cols.SESSIONS

    file = pq.ParquetFile(samples_path)
    md = file.metadata
    assert [md.row_group(i).num_rows for i in range(md.num_row_groups)] == [
        ROW_GROUP_ROWS,
        ROW_GROUP_ROWS,
        2000,
    ]
    codecs = {
        md.row_group(i).column(j).compression for i in range(md.num_row_groups) for j in range(md.num_columns)
    }
    assert codecs == {"ZSTD"}
    assert cols.SUBJECT not in file.schema_arrow.names
    assert cols.SESSION not in file.schema_arrow.names

    table = file.read()
    sensors = table.column(cols.SENSOR).to_pylist()
    times = table.column(cols.TIME).cast(pa.int64()).to_numpy()
    assert sensors == sorted(sensors)
    for sensor in ("S1", "S2"):
        assert np.all(np.diff(times[np.asarray(sensors) == sensor]) > 0)


def test_no_mag_and_no_device_time_are_null_in_the_file(tmp_path):
    samples_path, _ = write_recording(synthetic_recording(10, n_sensors=2), tmp_path)
    df = pl.read_parquet(samples_path)
    per_sensor = (
        df.group_by(cols.SENSOR).agg(pl.col(cols.MAG_X, cols.DEVICE_TIME).null_count()).sort(cols.SENSOR)
    )
    assert per_sensor.rows() == [("S1", 0, 0), ("S2", 10, 10)]
