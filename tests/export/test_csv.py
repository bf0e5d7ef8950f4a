"""CSV export: unit-named columns, times as ISO text and seconds, exact round trips, one file per table."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from imurehab.errors import SchemaError
from imurehab.export import export_csv
from imurehab.export.csv import read_csv_table, write_csv_table
from imurehab.store import columns as cols
from imurehab.store import read_table
from tests.export.export_dataset import make_dataset
from tests.strategies import DETERMINISTIC, table_frames

EXPORTED = (cols.SAMPLES, cols.ORIENTATION, cols.JOINT_ANGLES, cols.REPS, cols.LOAD)
# Quality flags are names like "rom_short" or "compensation:trunk-lean": never empty, never ";".
flag_lists = st.lists(st.from_regex(r"[a-z][a-z_:-]{0,15}", fullmatch=True), max_size=3)


@st.composite
def tables(draw: st.DrawFn) -> tuple[str, pl.DataFrame]:
    table = draw(st.sampled_from(EXPORTED))
    frame = draw(table_frames(table, omit_nullable=True))
    if table == cols.REPS:
        flags = draw(st.lists(flag_lists, min_size=frame.height, max_size=frame.height))
        frame = frame.with_columns(pl.Series(cols.FLAGS, flags, dtype=pl.List(pl.String)))
    return table, frame


@DETERMINISTIC
@given(tables(), st.integers(946_684_800_000_000, 4_102_444_800_000_000))
def test_a_table_reads_back_exactly(tmp_path_factory, table_and_frame, start_us):
    """Any values (NaN, ±inf, −0.0, nulls, quotes, commas, line breaks in text) survive the CSV."""
    table, frame = table_and_frame
    path = write_csv_table(frame, tmp_path_factory.mktemp("csv") / f"{table}.csv", start_us=start_us)
    assert_frame_equal(read_csv_table(path, table), frame, check_exact=True)


def test_the_samples_header_has_units_and_two_time_columns(tmp_path):
    make_dataset(tmp_path / "ds")
    export_csv(tmp_path / "ds", tmp_path / "out")
    samples = tmp_path / "out" / "001" / "s1" / "samples.csv"
    header = samples.read_text().splitlines()[0].split(",")
    assert header == [
        "sensor", "sample_index", "time_utc", "time_s", "device_time_ticks",
        "acc_x_mps2", "acc_y_mps2", "acc_z_mps2", "gyr_x_rads", "gyr_y_rads", "gyr_z_rads",
        "mag_x_ut", "mag_y_ut", "mag_z_ut", "flags",
    ]  # fmt: skip
    frame = pl.read_csv(samples, infer_schema=False)
    first_s1 = frame.filter(pl.col("sensor") == "S1").row(0, named=True)
    assert first_s1["time_utc"] == "2026-05-04T08:30:00.003000Z"  # S1 starts 3 ms after the session
    assert float(first_s1["time_s"]) == 0.003
    assert first_s1["mag_x_ut"] is None  # no magnetometer: empty fields


def test_export_writes_each_table_of_each_session(tmp_path):
    ds = make_dataset(tmp_path / "ds")
    result = export_csv(ds, tmp_path / "out")
    assert result.sessions == (("001", "s-2"), ("001", "s1"), ("p_1", "s1"))
    names = {f.relative_to(tmp_path / "out").as_posix() for f in result.files}
    assert names == {
        f"{x}/{n}.csv"
        for x in ("001/s-2", "001/s1", "p_1/s1")
        for n in ("sessions", "samples", "orientation")
    }
    stored = read_table(ds, cols.SAMPLES, subject="001", session="s1").drop(cols.SUBJECT, cols.SESSION)
    back = read_csv_table(tmp_path / "out" / "001" / "s1" / "samples.csv", cols.SAMPLES)
    assert_frame_equal(back, stored.sort(cols.SENSOR, cols.TIME).collect(), check_exact=True)
    sessions = pl.read_csv(
        tmp_path / "out" / "001" / "s1" / "sessions.csv", schema_overrides={"subject": pl.String}
    )
    assert sessions.select("subject", "session", "sensor", "segment", "rate_hz", "n_samples").rows() == [
        ("001", "s1", "T1", "thigh_right", 100.0, 296),
        ("001", "s1", "S1", "shank_right", 100.0, 300),
    ]
    assert sessions.get_column("start_time_utc").to_list() == ["2026-05-04T08:30:00.000000Z"] * 2


def test_sessions_cannot_be_read_back_as_a_table(tmp_path):
    with pytest.raises(SchemaError, match="sessions"):
        read_csv_table(Path(tmp_path) / "sessions.csv", cols.SESSIONS)
