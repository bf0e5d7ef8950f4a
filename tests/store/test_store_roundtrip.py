"""Round trips through the store: recordings and every table, lossless, plus filters and partitions."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from imurehab.errors import SchemaError
from imurehab.store import (
    TABLES,
    append_table,
    dataset_summary,
    list_sessions,
    polars_schema,
    read_recording,
    read_table,
    write_recording,
    write_table,
)
from imurehab.store import columns as cols
from imurehab.store import schema as sc
from imurehab.store.reader import _split_by_sensor
from imurehab.store.schema import conform_frame
from imurehab.store.writer import _sorted
from imurehab.types import us_to_datetime
from tests.strategies import DETERMINISTIC, recordings, synthetic_recording, table_frames

KEYS = [cols.SUBJECT, cols.SESSION]


def _expected(df: pl.DataFrame, table: str) -> pl.DataFrame:
    """What reading back ``df`` must give: canonical columns, nulls filled in, rows in sort-key order."""
    return conform_frame(df, table).sort(list(sc.SORT_KEYS[table]), nulls_last=True, maintain_order=True)


@DETERMINISTIC
@given(rec=recordings())
def test_recording_round_trip_is_lossless(rec):
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_recording(rec, tmp)
        back = read_recording(tmp, subject=rec.session.subject_id, session=rec.session.session_id)
    assert [p.name for p in paths] == ["part-0.parquet", "part-0.parquet"]
    assert back.equals(rec)
    assert back.sensor_ids == rec.sensor_ids
    assert back.session == rec.session
    assert list(back.session.placements) == list(rec.session.placements)
    for ours, theirs in zip(back.sensors, rec.sensors, strict=True):
        assert (ours.mag is None) == (theirs.mag is None)
        assert (ours.device_time is None) == (theirs.device_time is None)
        # equals() compares values; bit-identical also keeps -0.0 apart from 0.0.
        assert ours.acc.tobytes() == theirs.acc.tobytes()
        assert ours.gyr.tobytes() == theirs.gyr.tobytes()


@pytest.mark.parametrize("table", TABLES)
@DETERMINISTIC
@given(data=st.data())
def test_table_round_trip_is_lossless(table, data):
    df = data.draw(table_frames(table), label="df")
    older = data.draw(table_frames(table, omit_nullable=True), label="older")
    for frame in (df, older):
        with tempfile.TemporaryDirectory() as tmp:
            write_table(frame, tmp, table, subject="001", session="s1")
            back = read_table(tmp, table).collect()
        assert back.select(KEYS).unique().rows() == ([("001", "s1")] if frame.height else [])
        assert_frame_equal(back.drop(KEYS), _expected(frame, table), check_exact=True)


def test_ids_like_001_stay_strings(tmp_path):
    write_recording(synthetic_recording(10, subject="001", session="0002"), tmp_path)
    lf = read_table(tmp_path, cols.SAMPLES)
    assert lf.collect_schema() == polars_schema(cols.SAMPLES, with_keys=True)
    assert lf.select(KEYS).unique().collect().rows() == [("001", "0002")]


def test_filters_are_half_open_and_empty_keeps_schema(tmp_path):
    rec = synthetic_recording(100, n_sensors=2)
    write_recording(rec, tmp_path)
    t = [us_to_datetime(us) for us in rec["S1"].time_us]
    got = read_table(tmp_path, cols.SAMPLES, sensor="S1", start=t[10], end=t[20]).collect()
    assert got.get_column(cols.SAMPLE_INDEX).to_list() == list(range(10, 20))
    # S2's samples are 1 µs after S1's: an end 1 µs after S1's first sample excludes S2's first.
    both = read_table(tmp_path, cols.SAMPLES, sensor=["S1", "S2"], end=t[0] + timedelta(microseconds=1))
    assert both.collect().get_column(cols.SENSOR).to_list() == ["S1"]
    empty = read_table(tmp_path, cols.SAMPLES, subject="nobody").collect()
    assert empty.height == 0
    assert empty.schema == polars_schema(cols.SAMPLES, with_keys=True)
    late = read_table(tmp_path, cols.SAMPLES, start=t[-1] + timedelta(seconds=1)).collect()
    assert late.height == 0


def test_older_files_without_nullable_columns_read_as_null(tmp_path):
    df = pl.DataFrame(
        {
            cols.SENSOR: ["A"],
            cols.SAMPLE_INDEX: [0],
            cols.TIME: [datetime(2025, 1, 1, tzinfo=UTC)],
            **{c: [1.0] for c in (*cols.ACC, *cols.GYR)},
            cols.FLAGS: pl.Series([0], dtype=pl.UInt16),
        },
        schema_overrides={cols.TIME: pl.Datetime("us", "UTC")},
    )
    directory = tmp_path / cols.SAMPLES / "subject=a" / "session=b"
    directory.mkdir(parents=True)
    df.write_parquet(directory / "part-0.parquet")  # polars' own writer, no mag/device_time columns
    back = read_table(tmp_path, cols.SAMPLES).collect()
    assert back.select(*cols.MAG, cols.DEVICE_TIME).null_count().row(0) == (1, 1, 1, 1)
    assert back.get_column(cols.ACC_X).to_list() == [1.0]


def _drop_struct_fields(typ: pa.DataType, names: set[str]) -> pa.DataType:
    if pa.types.is_list(typ):
        return pa.list_(_drop_struct_fields(typ.value_type, names))
    if pa.types.is_struct(typ):
        kept = [f.with_type(_drop_struct_fields(f.type, names)) for f in typ if f.name not in names]
        return pa.struct(kept)
    return typ


V2_SENSOR_FIELDS = {cols.SERIAL, cols.CLOCK_UNCERTAINTY_US, cols.LOG_VERIFIED, cols.CLOCKS}


def test_schema_v1_sessions_files_read_with_the_v2_fields_null(tmp_path):
    """A sessions file of schema version 1 (before the clock fields) still reads, in every reader."""
    rec = synthetic_recording(n_sensors=2, n_samples=50, seed=3)
    write_recording(rec, tmp_path)
    (part,) = (tmp_path / cols.SESSIONS).rglob("*.parquet")
    table = pq.read_table(part)
    i = table.schema.get_field_index(cols.SENSORS)
    old_type = _drop_struct_fields(table.schema.field(i).type, V2_SENSOR_FIELDS)
    rows = table.column(i).to_pylist()
    old_rows = [[{k: v for k, v in s.items() if k not in V2_SENSOR_FIELDS} for s in r] for r in rows]
    table = table.set_column(i, cols.SENSORS, pa.array(old_rows, old_type))
    pq.write_table(table, part)
    assert cols.CLOCKS not in str(pq.read_schema(part))

    back = read_recording(tmp_path, subject=rec.session.subject_id, session=rec.session.session_id)
    assert back.equals(rec)
    assert all(s.info.clocks == () and s.info.serial is None for s in back)
    sensors = read_table(tmp_path, cols.SESSIONS).collect().get_column(cols.SENSORS).explode()
    assert sensors.struct.field(cols.CLOCKS).null_count() == 2
    assert sensors.struct.field(cols.SERIAL).null_count() == 2


def test_a_struct_field_no_version_knows_is_a_schema_error(tmp_path):
    rec = synthetic_recording(n_sensors=1, n_samples=10, seed=4)
    write_recording(rec, tmp_path)
    (part,) = (tmp_path / cols.SESSIONS).rglob("*.parquet")
    table = pq.read_table(part)
    i = table.schema.get_field_index(cols.SENSORS)
    rows = [[{**s, "from_the_future": 1} for s in r] for r in table.column(i).to_pylist()]
    table = table.set_column(i, cols.SENSORS, pa.array(rows))
    pq.write_table(table, part)
    with pytest.raises(SchemaError, match=cols.SENSORS):
        read_table(tmp_path, cols.SESSIONS)


def test_append_adds_parts_and_overwrite_replaces_them(tmp_path):
    frames = [
        pl.DataFrame(
            {
                cols.SENSOR: ["A"],
                cols.EPOCH_START: [datetime(2025, 1, 1, i, tzinfo=UTC)],
                cols.EPOCH_S: [60.0],
            },
            schema_overrides={cols.EPOCH_START: pl.Datetime("us", "UTC")},
        )
        for i in range(3)
    ]
    first = write_table(frames[0], tmp_path, cols.LOAD, subject="a", session="b")
    second = append_table(frames[1], tmp_path, cols.LOAD, subject="a", session="b")
    assert (first.name, second.name) == ("part-0.parquet", "part-1.parquet")
    assert read_table(tmp_path, cols.LOAD).collect().height == 2
    final = write_table(frames[2], tmp_path, cols.LOAD, subject="a", session="b", overwrite=True)
    assert sorted(p.name for p in final.parent.iterdir()) == ["part-0.parquet"]
    assert read_table(tmp_path, cols.LOAD).collect().get_column(cols.EPOCH_START).dt.hour().to_list() == [2]


def test_overwrite_recording_and_listing(tmp_path):
    write_recording(synthetic_recording(50, n_sensors=3, subject="p1", session="a"), tmp_path)
    write_recording(synthetic_recording(20, n_sensors=1, subject="p2", session="a"), tmp_path)
    new = synthetic_recording(30, n_sensors=2, seed=7, subject="p1", session="a")
    write_recording(new, tmp_path, overwrite=True)
    assert read_recording(tmp_path, subject="p1", session="a").equals(new)

    sessions = list_sessions(tmp_path)
    assert sessions.columns == ["subject", "session", "start_time", "end_time", "n_sensors", "exercise"]
    assert sessions.select("subject", "n_sensors").rows() == [("p1", 2), ("p2", 1)]
    assert sessions.get_column("end_time").to_list() == [
        datetime(2025, 1, 1, 0, 0, 0, 290_001, tzinfo=UTC),
        datetime(2025, 1, 1, 0, 0, 0, 190_000, tzinfo=UTC),
    ]

    summary = dataset_summary(tmp_path)
    assert summary["subjects"] == 2
    assert summary["sessions"] == 2
    assert summary["sensors"] == 2  # S1 and S2
    assert summary["tables"] == {cols.SESSIONS: 2, cols.SAMPLES: 2 * 30 + 20}
    assert summary["duration_s"] == pytest.approx(0.290001 + 0.19)
    assert summary["schema_version"] == sc.SCHEMA_VERSION


def test_hidden_files_and_odd_roots_are_ignored(tmp_path):
    root = tmp_path / "year=2025" / "data"  # a hive-looking folder above the dataset must not matter
    rec = synthetic_recording(10)
    [samples_part, _] = write_recording(rec, root)
    (samples_part.parent / ".part-1.parquet.0123.tmp").write_bytes(b"half a file")
    (samples_part.parent / "_SUCCESS").write_bytes(b"")
    assert read_table(root, cols.SAMPLES).collect().height == 30
    assert read_recording(root, subject="001", session="s1").equals(rec)


def test_empty_recording_sensor_round_trips(tmp_path):
    rec = synthetic_recording(0, n_sensors=2)
    write_recording(rec, tmp_path)
    back = read_recording(tmp_path, subject="001", session="s1")
    assert back.equals(rec)
    assert back["S1"].mag is not None
    assert back["S1"].mag.shape == (0, 3)
    assert back["S2"].device_time is None


def test_written_root_may_be_a_str_or_path(tmp_path):
    write_recording(synthetic_recording(5), str(tmp_path))
    assert isinstance(read_recording(Path(tmp_path), subject="001", session="s1").sensors, tuple)


@pytest.mark.parametrize("table", [cols.SAMPLES, cols.JOINT_ANGLES, cols.REPS])
@DETERMINISTIC
@given(data=st.data())
def test_rows_are_sorted_by_the_table_keys_whether_or_not_sorted_before(table, data):
    df = conform_frame(data.draw(table_frames(table, max_rows=30)), table)
    keys = list(sc.SORT_KEYS[table])
    expected = df.sort(keys, nulls_last=True, maintain_order=True)
    assert_frame_equal(_sorted(df, keys), expected, check_exact=True)
    assert_frame_equal(_sorted(expected, keys), expected, check_exact=True)


def test_samples_out_of_order_are_regrouped_per_sensor(tmp_path):
    [samples_path, _] = write_recording(synthetic_recording(40), tmp_path)
    written = pl.read_parquet(samples_path)
    frames = _split_by_sensor(written.sample(fraction=1.0, shuffle=True, seed=3))
    assert list(frames) == ["S1", "S2", "S3"]
    for sensor, frame in frames.items():
        assert_frame_equal(frame, written.filter(pl.col(cols.SENSOR) == sensor), check_exact=True)
