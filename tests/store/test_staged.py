"""Tables staged in worker threads: the same files as write_table, visible only when the block ends."""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from polars.testing import assert_frame_equal

from imurehab.errors import PartitionExistsError, SchemaError
from imurehab.store import read_file_metadata, read_table, write_table
from imurehab.store import schema as sc
from imurehab.store import writer as writer_module
from imurehab.store.staged import StagedTables
from tests.strategies import table_frames

KEYS = dict(subject="001", session="s1")


@pytest.fixture
def tables():
    """One frame per results table (a fixed hypothesis example each)."""
    found = {}

    @settings(max_examples=1, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(
        o=table_frames(sc.ORIENTATION, min_rows=30, max_rows=30),
        j=table_frames(sc.JOINT_ANGLES, min_rows=20, max_rows=20),
        r=table_frames(sc.REPS, min_rows=5, max_rows=5),
    )
    def draw(o, j, r):
        found.update({sc.ORIENTATION: o, sc.JOINT_ANGLES: j, sc.REPS: r})

    draw()
    return found


def visible(root):
    return sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*.parquet") if not p.name.startswith(".")
    )


def hidden(root):
    return sorted(p.name for p in root.rglob(".*") if p.is_file())


def test_staged_tables_are_the_files_write_table_writes(tmp_path, tables):
    with StagedTables(tmp_path / "staged", **KEYS) as out:
        for table, frame in tables.items():
            out.stage(table, frame)
    for table, frame in tables.items():
        write_table(frame, tmp_path / "direct", table, **KEYS)
    assert [p.relative_to(tmp_path / "staged").parts[0] for p in out.written] == list(tables)
    assert sorted(p.relative_to(tmp_path / "staged").as_posix() for p in out.written) == visible(
        tmp_path / "direct"
    )
    for path in out.written:
        direct = tmp_path / "direct" / path.relative_to(tmp_path / "staged")
        assert pq.read_table(path).equals(pq.read_table(direct))
        assert pq.read_schema(path).equals(pq.read_schema(direct), check_metadata=True)
        ours, theirs = pq.read_metadata(path), pq.read_metadata(direct)
        assert ours.num_row_groups == theirs.num_row_groups
        assert ours.row_group(0).sorting_columns == theirs.row_group(0).sorting_columns
        assert read_file_metadata(path) == read_file_metadata(direct)
    for table in tables:
        assert_frame_equal(
            read_table(tmp_path / "staged", table).collect(), read_table(tmp_path / "direct", table).collect()
        )
    assert hidden(tmp_path) == []


def test_nothing_is_visible_until_the_block_ends(tmp_path, tables):
    with StagedTables(tmp_path, **KEYS) as out:
        out.stage(sc.ORIENTATION, tables[sc.ORIENTATION])
        out.stage(sc.REPS, tables[sc.REPS])
        out._pool.shutdown(wait=True)  # the writes are done, but not published
        assert visible(tmp_path) == []
        assert len(hidden(tmp_path)) == 2
    assert len(visible(tmp_path)) == 2
    assert hidden(tmp_path) == []


def test_an_error_in_the_block_publishes_nothing_and_leaves_no_temporary_file(tmp_path, tables):
    with pytest.raises(RuntimeError, match="joints failed"), StagedTables(tmp_path, **KEYS) as out:
        out.stage(sc.ORIENTATION, tables[sc.ORIENTATION])
        raise RuntimeError("joints failed")
    assert visible(tmp_path) == []
    assert hidden(tmp_path) == []


def test_a_failed_write_is_raised_at_the_end_and_publishes_nothing(tmp_path, tables, monkeypatch):
    real = writer_module._write_hidden

    def fail_on_reps(schema, parts, final, sort_keys):
        if sc.REPS in final.parts:
            raise OSError("disk full")
        return real(schema, parts, final, sort_keys)

    monkeypatch.setattr(writer_module, "_write_hidden", fail_on_reps)
    with pytest.raises(OSError, match="disk full"), StagedTables(tmp_path, **KEYS) as out:
        for table, frame in tables.items():
            out.stage(table, frame)
    assert visible(tmp_path) == []
    assert hidden(tmp_path) == []


def test_existing_partitions_are_refused_at_once_or_replaced(tmp_path, tables):
    write_table(tables[sc.REPS], tmp_path, sc.REPS, **KEYS)
    with pytest.raises(PartitionExistsError), StagedTables(tmp_path, **KEYS) as out:
        out.stage(sc.ORIENTATION, tables[sc.ORIENTATION])
        out.stage(sc.REPS, tables[sc.REPS])
    assert visible(tmp_path) == [f"{sc.REPS}/subject=001/session=s1/part-0.parquet"]
    with StagedTables(tmp_path, overwrite=True, **KEYS) as out:
        out.stage(sc.REPS, tables[sc.REPS].head(2))
        out.stage(sc.ORIENTATION, tables[sc.ORIENTATION])
    assert read_table(tmp_path, sc.REPS).collect().height == 2
    assert len(visible(tmp_path)) == 2 and hidden(tmp_path) == []


def test_bad_rows_and_twice_staged_tables_are_refused_when_staged(tmp_path, tables):
    with StagedTables(tmp_path, **KEYS) as out:
        with pytest.raises(SchemaError):
            out.stage(sc.REPS, tables[sc.ORIENTATION])
        out.stage(sc.REPS, tables[sc.REPS])
        with pytest.raises(ValueError, match="staged already"):
            out.stage(sc.REPS, tables[sc.REPS])
    assert visible(tmp_path) == [f"{sc.REPS}/subject=001/session=s1/part-0.parquet"]


def test_a_table_written_in_slices_is_the_file_written_at_once(tmp_path, monkeypatch):
    monkeypatch.setattr(writer_module, "ROW_GROUP_ROWS", 1000)
    monkeypatch.setattr(writer_module, "_SLICE_ROWS", 4000)
    n = 10_500
    frame = pl.DataFrame(
        {
            sc.SENSOR: ["S1"] * 6000 + ["S2"] * (n - 6000),
            sc.SEGMENT: ["thigh_right"] * 6000 + [None] * (n - 6000),
            sc.TIME: pl.Series(np.r_[np.arange(6000), np.arange(n - 6000)], dtype=pl.Int64).cast(
                pl.Datetime("us", "UTC")
            ),
            **{c: np.random.default_rng(1).standard_normal(n) for c in sc.QUAT},
            sc.REST: np.arange(n) % 7 == 0,
        }
    )
    path = write_table(frame, tmp_path, sc.ORIENTATION, **KEYS)
    # The same rows through one call of the Parquet writer, with the file's own schema and settings.
    whole = sc.conform_frame(frame, sc.ORIENTATION).to_arrow().cast(pq.read_schema(path))
    dictionary, explicit = writer_module._encodings(whole.schema, whole)
    assert dictionary == [sc.SENSOR, sc.SEGMENT]  # the quaternions are not quantised: plain
    with pq.ParquetWriter(
        tmp_path / "whole.parquet",
        whole.schema,
        compression="zstd",
        use_dictionary=dictionary,
        column_encoding=explicit,
        sorting_columns=pq.read_metadata(path).row_group(0).sorting_columns,
        store_schema=True,
    ) as w:
        w.write_table(whole, row_group_size=1000)
    assert pq.read_metadata(path).num_row_groups == 11
    assert path.read_bytes() == (tmp_path / "whole.parquet").read_bytes()
