"""Each documented failure of the store raises its error, with the structured fields set."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from imurehab.errors import (
    DatasetNotFoundError,
    DataValidationError,
    IdentifierError,
    PartitionExistsError,
    SchemaError,
    StoreError,
)
from imurehab.store import columns as cols
from imurehab.store import (
    dataset_summary,
    list_sessions,
    read_file_metadata,
    read_recording,
    read_table,
    write_recording,
    write_table,
)
from tests.strategies import synthetic_recording

UTC_US = pl.Datetime("us", "UTC")


def _joint_angles(**overrides: pl.Series) -> pl.DataFrame:
    columns = {
        cols.JOINT: pl.Series(["knee"]),
        cols.SIDE: pl.Series(["left"]),
        cols.TIME: pl.Series([datetime(2025, 1, 1)]).dt.replace_time_zone("UTC"),
        cols.FLEXION_DEG: pl.Series([12.5]),
    }
    columns.update(overrides)
    return pl.DataFrame(columns)


def test_the_helper_frame_is_valid(tmp_path):
    assert write_table(_joint_angles(), tmp_path, cols.JOINT_ANGLES, subject="a", session="b").is_file()


def test_unknown_table(tmp_path):
    with pytest.raises(SchemaError, match="unknown table 'angles'") as err:
        write_table(_joint_angles(), tmp_path, "angles", subject="a", session="b")
    assert err.value.path == tmp_path / "angles"
    with pytest.raises(SchemaError, match="unknown table"):
        read_table(tmp_path, "angles")


@pytest.mark.parametrize(
    ("column", "series"),
    [
        (cols.FLEXION_DEG, pl.Series([12], dtype=pl.Int64)),  # int where float64 is expected: no silent cast
        (cols.FLEXION_DEG, pl.Series([12.5], dtype=pl.Float32)),
        (cols.TIME, pl.Series([datetime(2025, 1, 1)], dtype=pl.Datetime("ns", "UTC"))),
        (cols.TIME, pl.Series([datetime(2025, 1, 1)], dtype=pl.Datetime("us"))),  # naive
        (cols.SIDE, pl.Series(["left"], dtype=pl.Categorical)),
    ],
)
def test_wrong_column_type(tmp_path, column, series):
    with pytest.raises(SchemaError, match="expected") as err:
        write_table(_joint_angles(**{column: series}), tmp_path, cols.JOINT_ANGLES, subject="a", session="b")
    assert err.value.column == column
    assert not (tmp_path / cols.JOINT_ANGLES).exists()


def test_missing_required_extra_and_key_columns(tmp_path):
    write = lambda df: write_table(df, tmp_path, cols.JOINT_ANGLES, subject="a", session="b")  # noqa: E731
    with pytest.raises(SchemaError, match="required") as err:
        write(_joint_angles().drop(cols.JOINT))
    assert err.value.column == cols.JOINT
    with pytest.raises(SchemaError, match="not a column") as err:
        write(_joint_angles(knee_angle=pl.Series([1.0])))
    assert err.value.column == "knee_angle"
    with pytest.raises(SchemaError, match="partition key") as err:
        write(_joint_angles(subject=pl.Series(["a"])))
    assert err.value.column == cols.SUBJECT
    with pytest.raises(SchemaError, match="null") as err:
        write(_joint_angles(joint=pl.Series([None], dtype=pl.String)))
    assert err.value.column == cols.JOINT


def test_all_null_untyped_column_is_accepted_where_nullable(tmp_path):
    path = write_table(
        _joint_angles(side=pl.Series([None])), tmp_path, cols.JOINT_ANGLES, subject="a", session="b"
    )
    assert pl.read_parquet(path).get_column(cols.SIDE).dtype == pl.String


def test_existing_partition_without_overwrite(tmp_path):
    path = write_table(_joint_angles(), tmp_path, cols.JOINT_ANGLES, subject="a", session="b")
    with pytest.raises(PartitionExistsError, match="overwrite=True") as err:
        write_table(_joint_angles(), tmp_path, cols.JOINT_ANGLES, subject="a", session="b")
    assert err.value.path == path.parent

    samples_path, _ = write_recording(synthetic_recording(20), tmp_path)
    samples_path.unlink()
    # Only the sessions partition is in the way, yet nothing at all is written.
    with pytest.raises(PartitionExistsError) as err:
        write_recording(synthetic_recording(5, seed=9), tmp_path)
    assert err.value.path == tmp_path / cols.SESSIONS / "subject=001" / "session=s1"
    assert not samples_path.exists()


@pytest.mark.parametrize(
    ("subject", "session", "bad"), [("../x", "s1", "subject"), ("a", "two words", "session")]
)
def test_bad_ids(tmp_path, subject, session, bad):
    with pytest.raises(IdentifierError) as err:
        write_table(_joint_angles(), tmp_path, cols.JOINT_ANGLES, subject=subject, session=session)
    assert err.value.column == bad
    write_recording(synthetic_recording(5), tmp_path)
    with pytest.raises(IdentifierError) as err:
        read_table(tmp_path, cols.SAMPLES, subject=subject, session=session)
    assert err.value.column == bad
    with pytest.raises(IdentifierError) as err:
        read_recording(tmp_path, subject=subject, session=session)
    assert err.value.column == bad


def test_missing_dataset_table_session_and_file(tmp_path):
    missing = tmp_path / "nowhere"
    for call in (
        lambda: read_table(missing, cols.SAMPLES),
        lambda: list_sessions(missing),
        lambda: dataset_summary(missing),
        lambda: read_recording(missing, subject="001", session="s1"),
    ):
        with pytest.raises(DatasetNotFoundError) as err:
            call()
        assert err.value.path is not None
        assert str(missing) in str(err.value)

    write_recording(synthetic_recording(5), tmp_path)
    with pytest.raises(DatasetNotFoundError, match="tables present: sessions, samples") as err:
        read_table(tmp_path, cols.ORIENTATION)
    assert err.value.path == tmp_path / cols.ORIENTATION

    with pytest.raises(DatasetNotFoundError, match="no session 's2' of subject '001'"):
        read_recording(tmp_path, subject="001", session="s2")
    # A filter that matches nothing is no error.
    assert read_table(tmp_path, cols.SAMPLES, subject="002").collect().height == 0

    with pytest.raises(DatasetNotFoundError):
        read_file_metadata(tmp_path / "nope.parquet")


def _put_file(root, table: pa.Table, name: str = "samples"):
    directory = root / name / "subject=a" / "session=b"
    directory.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, directory / "part-0.parquet")
    return directory / "part-0.parquet"


def test_file_with_a_column_of_another_type_names_column_and_file(tmp_path):
    good = pl.read_parquet(write_recording(synthetic_recording(3), tmp_path / "src")[0]).to_arrow()
    bad = good.set_column(
        good.schema.get_field_index(cols.ACC_X), cols.ACC_X, pa.array([1, 2, 3] * 3, pa.int64())
    )
    path = _put_file(tmp_path / "ds", bad)
    with pytest.raises(SchemaError, match="int64") as err:
        read_table(tmp_path / "ds", cols.SAMPLES)
    assert err.value.column == cols.ACC_X
    assert err.value.path == path


def test_file_with_unknown_or_key_column_or_missing_required(tmp_path):
    base = pa.table({cols.JOINT: ["knee"], cols.TIME: pa.array([0], pa.timestamp("us", tz="UTC"))})
    cases = [
        (base.append_column("knee_angle", pa.array([1.0])), "knee_angle", "newer"),
        (base.append_column(cols.SESSION, pa.array(["b"])), cols.SESSION, "partition key"),
        (base.drop_columns([cols.JOINT]), cols.JOINT, "missing"),
    ]
    for i, (table, column, message) in enumerate(cases):
        root = tmp_path / str(i)
        path = _put_file(root, table, cols.JOINT_ANGLES)
        with pytest.raises(SchemaError, match=message) as err:
            read_table(root, cols.JOINT_ANGLES)
        assert (err.value.column, err.value.path) == (column, path)


def test_unreadable_file_and_missing_footer_metadata(tmp_path):
    path = _put_file(tmp_path, pa.table({cols.JOINT: ["knee"]}), cols.JOINT_ANGLES)
    with pytest.raises(StoreError, match="no 'imurehab' footer metadata"):
        read_file_metadata(path)
    path.write_bytes(b"PAR1 not really")
    with pytest.raises(StoreError, match="not a readable Parquet file") as err:
        read_table(tmp_path, cols.JOINT_ANGLES)
    assert err.value.path == path


def test_bad_filters(tmp_path):
    write_table(_joint_angles(), tmp_path, cols.JOINT_ANGLES, subject="a", session="b")
    with pytest.raises(SchemaError, match="no sensor column") as err:
        read_table(tmp_path, cols.JOINT_ANGLES, sensor="S1")
    assert err.value.column == cols.SENSOR
    with pytest.raises(DataValidationError, match="no timezone"):
        read_table(tmp_path, cols.JOINT_ANGLES, start=datetime(2025, 1, 1))


def test_incomplete_partition_is_reported(tmp_path):
    samples_path, _ = write_recording(synthetic_recording(10), tmp_path)
    short = pl.read_parquet(samples_path).head(25)
    write_table(short, tmp_path, cols.SAMPLES, subject="001", session="s1", overwrite=True)
    with pytest.raises(StoreError, match="sessions lists 10 samples but samples holds 5") as err:
        read_recording(tmp_path, subject="001", session="s1")
    assert err.value.path == tmp_path / cols.SESSIONS / "subject=001" / "session=s1"
