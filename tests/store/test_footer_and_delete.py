"""Extra footer metadata written with a partition, and partitions deleted safely."""

from __future__ import annotations

import math
import os

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imurehab.errors import IdentifierError, StoreError
from imurehab.store import columns as cols
from imurehab.store import delete_partition, read_file_metadata, read_table, write_table
from imurehab.store.layout import find_parts
from imurehab.store.staged import StagedTables

KEYS = dict(subject="001", session="s1")

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
extra_metadata = st.dictionaries(
    st.text(min_size=1, max_size=12).filter(
        lambda k: k not in {"schema_version", "software_version", "table", "subject", "session"}
    ),
    json_values,
    max_size=5,
)


def load_rows(n: int = 3) -> pl.DataFrame:
    return pl.DataFrame(
        {
            cols.SENSOR: ["S1"] * n,
            cols.EPOCH_START: pl.Series([i * 60_000_000 for i in range(n)]).cast(pl.Datetime("us", "UTC")),
            cols.EPOCH_S: [60.0] * n,
        }
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(extra=extra_metadata)
def test_extra_metadata_reads_back_beside_the_store_keys(tmp_path, extra):
    path = write_table(load_rows(), tmp_path, cols.LOAD, **KEYS, overwrite=True, metadata=extra)
    meta = read_file_metadata(path)
    assert {k: meta[k] for k in extra} == extra
    assert meta["table"] == cols.LOAD and meta["subject"] == "001" and meta["session"] == "s1"


def test_staged_tables_take_extra_metadata(tmp_path):
    with StagedTables(tmp_path, **KEYS) as out:
        out.stage(cols.LOAD, load_rows(), metadata={"source": {"epoch_s": 60.0}})
    assert read_file_metadata(out.written[0])["source"] == {"epoch_s": 60.0}


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"table": "other"}, ValueError),
        ({"x": math.nan}, ValueError),
        ({"x": object()}, TypeError),
        ({1: "one"}, TypeError),
    ],
)
def test_bad_metadata_is_refused_before_anything_is_written(tmp_path, extra, error):
    with pytest.raises(error):
        write_table(load_rows(), tmp_path, cols.LOAD, **KEYS, metadata=extra)
    with pytest.raises(error), StagedTables(tmp_path, **KEYS) as out:
        out.stage(cols.LOAD, load_rows(), metadata=extra)
    assert not (tmp_path / cols.LOAD).exists() or not find_parts(tmp_path, cols.LOAD)


def test_delete_partition_removes_one_session_only(tmp_path):
    write_table(load_rows(), tmp_path, cols.LOAD, subject="001", session="s1")
    write_table(load_rows(), tmp_path, cols.LOAD, subject="001", session="s2")
    (tmp_path / cols.LOAD / "subject=001" / "session=s1" / "_legacy_sidecar.json").write_text("{}")
    assert delete_partition(tmp_path, cols.LOAD, subject="001", session="s1") == 1
    assert not (tmp_path / cols.LOAD / "subject=001" / "session=s1").exists()
    assert read_table(tmp_path, cols.LOAD).collect().get_column(cols.SESSION).unique().to_list() == ["s2"]
    assert delete_partition(tmp_path, cols.LOAD, subject="001", session="s2") == 1
    assert not (tmp_path / cols.LOAD / "subject=001").exists()  # the empty subject folder goes too
    assert delete_partition(tmp_path, cols.LOAD, subject="001", session="s2") == 0
    assert not list((tmp_path / cols.LOAD).iterdir())


def test_a_crashed_deletion_is_hidden_and_swept_by_the_next(tmp_path):
    write_table(load_rows(), tmp_path, cols.LOAD, subject="001", session="s1")
    write_table(load_rows(), tmp_path, cols.LOAD, subject="001", session="s2")
    subject_dir = tmp_path / cols.LOAD / "subject=001"
    os.rename(subject_dir / "session=s1", tmp_path / ".deleting-0123456789abcdef")  # killed here
    assert read_table(tmp_path, cols.LOAD).collect().get_column(cols.SESSION).unique().to_list() == ["s2"]
    delete_partition(tmp_path, cols.LOAD, subject="001", session="s2")
    assert not subject_dir.exists()
    assert [p.name for p in tmp_path.iterdir()] == [cols.LOAD]


def test_delete_partition_refuses_links_and_unsafe_ids(tmp_path):
    outside = tmp_path / "outside"
    write_table(load_rows(), outside, cols.LOAD, subject="001", session="s1")
    ds = tmp_path / "ds"
    (ds / cols.LOAD / "subject=001").mkdir(parents=True)
    os.symlink(
        outside / cols.LOAD / "subject=001" / "session=s1", ds / cols.LOAD / "subject=001" / "session=s1"
    )
    with pytest.raises(StoreError):
        delete_partition(ds, cols.LOAD, subject="001", session="s1")
    os.symlink(outside / cols.LOAD / "subject=001", ds / cols.LOAD / "subject=002")
    with pytest.raises(StoreError):
        delete_partition(ds, cols.LOAD, subject="002", session="s1")
    with pytest.raises(IdentifierError):
        delete_partition(ds, cols.LOAD, subject="..", session="s1")
    assert find_parts(outside, cols.LOAD) == [
        outside / cols.LOAD / "subject=001" / "session=s1" / "part-0.parquet"
    ]
