"""Tests of the generic per-sensor file import (CSV / Parquet) and its writer."""

from __future__ import annotations

import re
import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imurehab.errors import (
    DataValidationError,
    IdentifierError,
    ImportFormatError,
    NonFiniteError,
    TimeOrderError,
    UnitsError,
)
from imurehab.store.importers import (
    parse_units_option,
    read_generic_sensor_file,
    read_generic_sensor_file_with_report,
    write_generic_sensor_file,
)
from imurehab.types import STANDARD_GRAVITY, SensorInfo, SensorSamples, datetime_to_us

DOC = Path(__file__).resolve().parents[2] / "docs" / "import-format.md"
START = datetime(2024, 5, 17, 9, 30, tzinfo=UTC)
HEADER = ["time", "acc_x", "acc_y", "acc_z", "gyr_x", "gyr_y", "gyr_z"]
COLUMN = {name: i for i, name in enumerate(HEADER)}
SUFFIXES = [".csv", ".tsv", ".txt", ".parquet", ".pq"]

deterministic = settings(derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def base_rows(n: int = 10) -> list[list[str]]:
    """n valid rows at 100 Hz, relative time, SI units."""
    return [[f"{i / 100:.2f}", "0.1", "-0.2", "9.8", "0.01", "0.02", "-0.03"] for i in range(n)]


def write_csv(
    folder: Path,
    rows: list[list[str]],
    header: list[str] = HEADER,
    *,
    delimiter: str = ",",
    name: str = "sensor.csv",
) -> Path:
    path = folder / name
    lines = [delimiter.join(header), *(delimiter.join(row) for row in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def import_error(path: Path, **kwargs: object) -> ImportFormatError:
    kwargs.setdefault("start_time", START)
    with pytest.raises(ImportFormatError) as info:
        read_generic_sensor_file(path, sensor_id="S1", **kwargs)  # type: ignore[arg-type]
    err = info.value
    assert err.file == path
    assert str(path) in str(err)
    return err


# --- round trip ------------------------------------------------------------------------------------


@st.composite
def sensor_samples(draw: st.DrawFn, absolute: bool) -> tuple[SensorSamples, datetime | None]:
    n = draw(st.integers(2, 30))
    steps = np.array(draw(st.lists(st.integers(1, 10**7), min_size=n - 1, max_size=n - 1)), dtype=np.int64)
    if absolute:
        start, first = None, draw(st.integers(10**15, 4_102_444_800 * 10**6))  # 2001 .. 2100
    else:
        start = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(microseconds=draw(st.integers(0, 10**15)))
        first = datetime_to_us(start) + draw(st.integers(-(10**7), 10**12))
    time_us = first + np.concatenate([[0], np.cumsum(steps)])

    def vectors(low: float, high: float, z_low: float | None = None) -> np.ndarray:
        axis = st.floats(low, high, allow_nan=False, allow_infinity=False)
        z = axis if z_low is None else st.floats(z_low, high, allow_nan=False, allow_infinity=False)
        return np.array(draw(st.lists(st.tuples(axis, axis, z), min_size=n, max_size=n)), dtype=np.float64)

    index_steps = draw(st.lists(st.integers(1, 1000), min_size=n - 1, max_size=n - 1))
    sample_index = draw(st.integers(-(2**40), 2**40)) + np.concatenate([[0], np.cumsum(index_steps)])
    samples = SensorSamples(
        info=SensorInfo("S1", "generic", draw(st.floats(0.01, 5000.0))),
        time_us=time_us,
        acc=vectors(-160.0, 160.0, z_low=5.0),
        gyr=vectors(-69.9, 69.9),
        mag=draw(st.none() | st.just(None).map(lambda _: vectors(-2000.0, 2000.0))),
        sample_index=sample_index,
        device_time=draw(st.none() | st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n)),
    )
    return samples, start


@deterministic
@given(case=sensor_samples(absolute=True), suffix=st.sampled_from(SUFFIXES))
def test_round_trip_absolute_time_is_lossless(case: tuple[SensorSamples, None], suffix: str) -> None:
    samples, _ = case
    with tempfile.TemporaryDirectory() as folder:
        path = write_generic_sensor_file(samples, Path(folder) / f"s1{suffix}")
        again = read_generic_sensor_file(path, sensor_id="S1", rate_hz=samples.info.rate_hz)
    assert again.equals(samples)


@deterministic
@given(case=sensor_samples(absolute=False), suffix=st.sampled_from(SUFFIXES))
def test_round_trip_relative_time_is_lossless(case: tuple[SensorSamples, datetime], suffix: str) -> None:
    samples, start = case
    with tempfile.TemporaryDirectory() as folder:
        path = write_generic_sensor_file(samples, Path(folder) / f"s1{suffix}", start_time=start)
        again, report = read_generic_sensor_file_with_report(
            path, sensor_id="S1", start_time=start, rate_hz=samples.info.rate_hz
        )
    assert again.equals(samples)
    assert report.time_reference == "relative"


def test_absolute_time_is_rounded_to_the_exact_microsecond(tmp_path: Path) -> None:
    rows = base_rows(3)
    for i, t in enumerate(["1700000000.123456", "1700000000.1334564", "1700000000.1434566"]):
        rows[i][0] = t
    samples, report = read_generic_sensor_file_with_report(write_csv(tmp_path, rows), sensor_id="S1")
    assert samples.time_us.tolist() == [1_700_000_000_123_456, 1_700_000_000_133_456, 1_700_000_000_143_457]
    assert report.time_reference == "absolute"


def test_written_csv_time_is_exact_decimal_text(tmp_path: Path) -> None:
    info = SensorInfo("S1", "generic", 100.0)
    samples = SensorSamples(
        info, [1_700_000_000_000_001, 1_700_000_000_010_001], np.full((2, 3), 9.8 / 3**0.5), np.zeros((2, 3))
    )
    text = write_generic_sensor_file(samples, tmp_path / "s.csv").read_text()
    assert text.splitlines()[1].startswith("1700000000.000001,")
    relative = write_generic_sensor_file(
        samples, tmp_path / "r.csv", start_time=us_datetime(1_700_000_000_000_501)
    )
    assert relative.read_text().splitlines()[1].startswith("-0.000500,")


def us_datetime(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


def test_writer_refuses_times_that_would_read_back_differently(tmp_path: Path) -> None:
    info = SensorInfo("S1", "generic", 100.0)
    early = SensorSamples(info, [0, 10_000], np.full((2, 3), 6.0), np.zeros((2, 3)))
    with pytest.raises(DataValidationError, match="start_time"):
        write_generic_sensor_file(early, tmp_path / "s.csv")
    late = SensorSamples(info, [2 * 10**15, 2 * 10**15 + 1], np.full((2, 3), 6.0), np.zeros((2, 3)))
    with pytest.raises(DataValidationError, match="absolute"):
        write_generic_sensor_file(late, tmp_path / "s.csv", start_time=us_datetime(0))
    with pytest.raises(ImportFormatError, match="extension"):
        write_generic_sensor_file(late, tmp_path / "s.xlsx")
    assert list(tmp_path.iterdir()) == []


# --- units, rate, layout ---------------------------------------------------------------------------


def test_units_g_and_deg_per_s_are_converted(tmp_path: Path) -> None:
    rows = [[f"{i / 50:.2f}", "0", "0.5", "1", "180", "-90", "0"] for i in range(4)]
    path = write_csv(tmp_path, rows)
    samples = read_generic_sensor_file(
        path, sensor_id="S1", start_time=START, **parse_units_option("g,deg/s")
    )
    np.testing.assert_array_equal(samples.acc[0], [0.0, 0.5 * STANDARD_GRAVITY, STANDARD_GRAVITY])
    np.testing.assert_allclose(samples.gyr[0], [np.pi, -np.pi / 2, 0.0], rtol=1e-15)
    assert samples.info.rate_hz == 50.0
    assert samples.time_us[0] == datetime_to_us(START)


def test_mag_units_and_aliases(tmp_path: Path) -> None:
    header = [*HEADER, "mag_x", "mag_y", "mag_z"]
    rows = [[*row, "0.25", "-0.5", "1"] for row in base_rows(3)]
    samples = read_generic_sensor_file(
        write_csv(tmp_path, rows, header), sensor_id="S1", start_time=START, mag_unit="Gauss", acc_unit="m/s2"
    )
    np.testing.assert_array_equal(samples.mag[0], [25.0, -50.0, 100.0])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("acc=g,gyr=deg/s", {"acc_unit": "g", "gyr_unit": "deg/s"}),
        ("g,deg/s", {"acc_unit": "g", "gyr_unit": "deg/s"}),
        (" ACC = mg , mag=nT ", {"acc_unit": "mg", "mag_unit": "nT"}),
        ("dps,µT,m/s2", {"gyr_unit": "deg/s", "mag_unit": "uT", "acc_unit": "m/s^2"}),
        ("gauss", {"mag_unit": "gauss"}),
    ],
)
def test_parse_units_option(text: str, expected: dict[str, str]) -> None:
    assert parse_units_option(text) == expected


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty entry"),
        ("g,,deg/s", "empty entry"),
        ("acc=furlong", "unknown acc unit 'furlong'"),
        ("accel=g", "unknown sensor type 'accel'"),
        ("parsec", "unknown unit 'parsec'"),
        ("g,acc=mg", "acc unit twice"),
        ("gyr=g", "unknown gyr unit"),
    ],
)
def test_parse_units_option_rejects_bad_text(text: str, match: str) -> None:
    with pytest.raises(UnitsError, match=match):
        parse_units_option(text)


@pytest.mark.parametrize(
    ("step_s", "expected"), [(0.01, 100.0), (0.0192, 52.0), (0.08, 12.5), (0.0012, 833.0), (2.0, 0.5)]
)
def test_rate_is_estimated_from_the_median_interval(tmp_path: Path, step_s: float, expected: float) -> None:
    rows = base_rows(9)
    for i, row in enumerate(rows):
        row[0] = repr(i * step_s + (0.0003 * step_s if i == 4 else 0.0))  # a jittered sample
    samples, report = read_generic_sensor_file_with_report(
        write_csv(tmp_path, rows), sensor_id="S1", start_time=START
    )
    assert samples.info.rate_hz == expected
    assert report.rate_hz_estimated


@pytest.mark.parametrize(
    ("delimiter", "name"), [(",", "a.csv"), (";", "b.csv"), ("\t", "c.tsv"), (";", "d.TXT")]
)
def test_delimiter_is_sniffed_from_the_header(tmp_path: Path, delimiter: str, name: str) -> None:
    path = write_csv(tmp_path, base_rows(), delimiter=delimiter, name=name)
    samples, report = read_generic_sensor_file_with_report(path, sensor_id="S1", start_time=START)
    assert report.delimiter == delimiter
    assert len(samples) == 10
    assert samples.acc[0].tolist() == [0.1, -0.2, 9.8]


def test_headers_are_case_and_whitespace_insensitive_and_extras_are_reported(tmp_path: Path) -> None:
    header = [" Time ", "ACC_X", "Acc_Y", "acc_z ", "GYR_x", "gyr_Y", "Gyr_Z", "Temperature", ""]
    rows = [[*row, "31.5", ""] for row in base_rows()]
    path = write_csv(tmp_path, rows, header)
    samples, report = read_generic_sensor_file_with_report(path, sensor_id="S1", start_time=START)
    assert samples.gyr[0].tolist() == [0.01, 0.02, -0.03]
    assert report.ignored_columns == ("Temperature", "")
    assert any("Temperature" in note for note in report.notes)


def test_columns_in_any_order_with_quotes_bom_crlf_and_trailing_blank_lines(tmp_path: Path) -> None:
    order = [6, 0, 3, 1, 5, 2, 4]
    lines = [",".join(f'"{HEADER[i]}"' for i in order)]
    lines += [",".join(f" {row[i]} " for i in order) for row in base_rows()]
    path = tmp_path / "s.csv"
    path.write_bytes(b"\xef\xbb\xbf" + ("\r\n".join(lines) + "\r\n\r\n\r\n").encode())
    samples = read_generic_sensor_file(path, sensor_id="S1", start_time=START)
    assert len(samples) == 10
    assert samples.acc[9].tolist() == [0.1, -0.2, 9.8]
    assert samples.time_us[9] - samples.time_us[0] == 90_000


def test_optional_integer_columns_and_empty_mag(tmp_path: Path) -> None:
    header = [*HEADER, "mag_x", "mag_y", "mag_z", "sample_index", "device_time"]
    rows = [[*row, "", " ", "", str(100 + 2 * i), str(2**62 + i)] for i, row in enumerate(base_rows())]
    samples, report = read_generic_sensor_file_with_report(
        write_csv(tmp_path, rows, header), sensor_id="S1", start_time=START
    )
    assert samples.mag is None
    assert samples.sample_index.tolist() == list(range(100, 120, 2))
    assert samples.device_time[-1] == 2**62 + 9
    assert any("magnetometer" in note for note in report.notes)


def test_start_time_is_noted_as_ignored_for_absolute_time(tmp_path: Path) -> None:
    rows = base_rows()
    for i, row in enumerate(rows):
        row[0] = f"{1_715_938_200 + i / 100:.2f}"
    samples, report = read_generic_sensor_file_with_report(
        write_csv(tmp_path, rows),
        sensor_id="S1",
        start_time=datetime(2000, 1, 1, tzinfo=timezone(timedelta(hours=2))),
    )
    assert samples.time_us[0] == 1_715_938_200_000_000
    assert any("start_time is ignored" in note for note in report.notes)


# --- errors: file, row, column ---------------------------------------------------------------------


def test_non_numeric_cell_names_row_and_column(tmp_path: Path) -> None:
    rows = base_rows()
    rows[6][COLUMN["gyr_y"]] = "abc"
    rows[8][COLUMN["acc_x"]] = "xyz"
    err = import_error(write_csv(tmp_path, rows))
    assert (err.row, err.column) == (7, "gyr_y")
    assert "'abc' is not a number" in str(err)
    assert "row 7, column 'gyr_y'" in str(err)


def test_first_bad_cell_in_file_order_wins_across_columns(tmp_path: Path) -> None:
    rows = base_rows()
    rows[5][COLUMN["time"]] = "soon"
    rows[3][COLUMN["gyr_z"]] = ""
    err = import_error(write_csv(tmp_path, rows))
    assert (err.row, err.column) == (4, "gyr_z")
    assert "empty" in str(err)


def test_decimal_comma_gets_a_hint(tmp_path: Path) -> None:
    rows = base_rows()
    rows[1][COLUMN["acc_z"]] = '"9,81"'
    err = import_error(write_csv(tmp_path, rows, delimiter=","))
    assert (err.row, err.column) == (2, "acc_z")
    assert "decimal comma" in str(err)


def test_nan_names_the_axis_and_row_and_chains_the_cause(tmp_path: Path) -> None:
    rows = base_rows()
    rows[2][COLUMN["acc_y"]] = "nan"
    err = import_error(write_csv(tmp_path, rows))
    assert (err.row, err.column) == (3, "acc_y")
    assert isinstance(err.__cause__, NonFiniteError)
    assert "NaN" in str(err)


def test_time_going_backwards(tmp_path: Path) -> None:
    rows = base_rows()
    rows[4][COLUMN["time"]] = "0.025"
    err = import_error(write_csv(tmp_path, rows))
    assert (err.row, err.column) == (5, "time")
    assert "strictly increasing" in str(err)


def test_time_less_than_a_microsecond_apart(tmp_path: Path) -> None:
    rows = base_rows()
    rows[5][COLUMN["time"]] = "0.0400001"
    err = import_error(write_csv(tmp_path, rows))
    assert (err.row, err.column) == (6, "time")
    assert "1 µs" in str(err)


def test_time_not_finite_or_in_the_wrong_unit(tmp_path: Path) -> None:
    rows = base_rows()
    rows[2][COLUMN["time"]] = "inf"
    assert (import_error(write_csv(tmp_path, rows)).row, "time") == (3, "time")
    rows = base_rows()
    rows[0][COLUMN["time"]] = "1715938200000000"  # µs written as seconds
    err = import_error(write_csv(tmp_path, rows))
    assert (err.row, err.column) == (1, "time")
    assert "seconds" in str(err)


def test_relative_time_needs_start_time(tmp_path: Path) -> None:
    err = import_error(write_csv(tmp_path, base_rows()), start_time=None)
    assert err.column == "time"
    assert "start_time" in str(err)


def test_naive_start_time_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="timezone"):
        read_generic_sensor_file(
            write_csv(tmp_path, base_rows()), sensor_id="S1", start_time=datetime(2024, 1, 1)
        )


def test_bad_sensor_id_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IdentifierError):
        read_generic_sensor_file(write_csv(tmp_path, base_rows()), sensor_id="../x", start_time=START)


def test_data_in_g_declared_si(tmp_path: Path) -> None:
    rows = [[f"{i / 100:.2f}", "0.01", "-0.02", "1.0", "0", "0", "0"] for i in range(10)]
    err = import_error(write_csv(tmp_path, rows))
    assert err.row is None
    assert err.column == "acc_x, acc_y, acc_z"
    assert isinstance(err.__cause__, UnitsError)
    assert "acc_unit='g'" in str(err)


def test_value_overflowing_in_unit_conversion_is_not_finite(tmp_path: Path) -> None:
    rows = base_rows()
    rows[2][COLUMN["acc_y"]] = "1e308"
    err = import_error(write_csv(tmp_path, rows), acc_unit="g")
    assert (err.row, err.column) == (3, "acc_y")
    assert isinstance(err.__cause__, NonFiniteError)


def test_gyr_in_deg_per_s_declared_si(tmp_path: Path) -> None:
    rows = base_rows()
    rows[5][COLUMN["gyr_z"]] = "250"
    err = import_error(write_csv(tmp_path, rows))
    assert (err.row, err.column) == (6, "gyr_z")
    assert isinstance(err.__cause__, UnitsError)
    assert "deg/s" in str(err)


def test_sample_index_going_backwards(tmp_path: Path) -> None:
    rows = [[*row, str(i if i != 3 else 1)] for i, row in enumerate(base_rows())]
    err = import_error(write_csv(tmp_path, rows, [*HEADER, "sample_index"]))
    assert (err.row, err.column) == (4, "sample_index")
    assert isinstance(err.__cause__, TimeOrderError)


def test_sample_index_must_be_integer(tmp_path: Path) -> None:
    rows = [[*row, str(i) if i != 6 else "6.5"] for i, row in enumerate(base_rows())]
    err = import_error(write_csv(tmp_path, rows, [*HEADER, "sample_index"]))
    assert (err.row, err.column) == (7, "sample_index")
    assert "integer" in str(err)


def test_missing_required_column_lists_what_is_present(tmp_path: Path) -> None:
    header = [name for name in HEADER if name != "acc_z"] + ["acc_zz"]
    err = import_error(write_csv(tmp_path, base_rows(), header))
    assert err.column == "acc_z"
    assert err.row is None
    assert "'acc_zz'" in str(err) and "'time'" in str(err)


def test_incomplete_mag_columns(tmp_path: Path) -> None:
    rows = [[*row, "1", "2"] for row in base_rows()]
    err = import_error(write_csv(tmp_path, rows, [*HEADER, "mag_x", "mag_y"]))
    assert err.column == "mag_z"


def test_duplicate_column_names(tmp_path: Path) -> None:
    rows = [[*row, "0.3"] for row in base_rows()]
    err = import_error(write_csv(tmp_path, rows, [*HEADER, "ACC_X"]))
    assert err.column == "acc_x"
    assert "'acc_x', 'ACC_X'" in str(err)


def test_empty_cell_in_a_required_column(tmp_path: Path) -> None:
    rows = base_rows()
    rows[3][COLUMN["acc_z"]] = "  "
    err = import_error(write_csv(tmp_path, rows))
    assert (err.row, err.column) == (4, "acc_z")


def test_blank_line_between_rows(tmp_path: Path) -> None:
    path = write_csv(tmp_path, base_rows())
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines[:3], "", *lines[3:]]) + "\n")
    err = import_error(path)
    assert (err.row, err.column) == (3, "time")


def test_row_with_too_many_fields(tmp_path: Path) -> None:
    rows = base_rows()
    rows[4].append("7")
    err = import_error(write_csv(tmp_path, rows))
    assert err.row == 5
    assert "8 fields" in str(err)


def test_broken_quote(tmp_path: Path) -> None:
    rows = base_rows()
    rows[2][1] = '"0.1'
    assert isinstance(import_error(write_csv(tmp_path, rows)), ImportFormatError)


def test_not_utf8_names_the_row(tmp_path: Path) -> None:
    path = write_csv(tmp_path, base_rows())
    lines = path.read_bytes().split(b"\n")
    lines[3] = lines[3].replace(b"0.1", b"0\xff1")
    path.write_bytes(b"\n".join(lines))
    err = import_error(path)
    assert err.row == 3
    assert "UTF-8" in str(err)


@pytest.mark.parametrize("n", [0, 1])
def test_fewer_than_two_rows(tmp_path: Path, n: int) -> None:
    err = import_error(write_csv(tmp_path, base_rows(n)))
    assert "at least 2" in str(err)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_bytes(b"\n \n")
    assert "empty" in str(import_error(path))


def test_missing_file_directory_and_unknown_extension(tmp_path: Path) -> None:
    assert "cannot read" in str(import_error(tmp_path / "absent.csv"))
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    assert "cannot read" in str(import_error(folder))
    assert "Parquet" in str(import_error(tmp_path / "absent.parquet"))
    path = tmp_path / "s.xlsx"
    path.write_bytes(b"PK")
    assert "extension '.xlsx'" in str(import_error(path))


def test_unknown_unit(tmp_path: Path) -> None:
    err = import_error(write_csv(tmp_path, base_rows()), gyr_unit="rpm")
    assert "unknown gyr unit 'rpm'" in str(err)
    assert err.column == "gyr_x, gyr_y, gyr_z"


def parquet_table(n: int = 10) -> dict[str, pa.Array]:
    columns: dict[str, pa.Array] = {"time": pa.array([i / 100 for i in range(n)])}
    for name, value in zip(HEADER[1:], [0.1, -0.2, 9.8, 0.01, 0.02, -0.03], strict=True):
        columns[name] = pa.array([value] * n)
    return columns


def write_parquet(folder: Path, columns: dict[str, pa.Array], name: str = "s.parquet") -> Path:
    path = folder / name
    pq.write_table(pa.table(columns), path)
    return path


def test_parquet_null_nan_and_string_cells(tmp_path: Path) -> None:
    columns = parquet_table()
    columns["acc_x"] = pa.array([0.1, None] + [0.1] * 8)
    err = import_error(write_parquet(tmp_path, columns))
    assert (err.row, err.column) == (2, "acc_x")
    columns = parquet_table()
    columns["gyr_x"] = pa.array([0.0, 0.0, float("nan")] + [0.0] * 7)
    err = import_error(write_parquet(tmp_path, columns))
    assert (err.row, err.column) == (3, "gyr_x")
    columns = parquet_table()
    columns["acc_y"] = pa.array(["0.5"] * 6 + ["x"] + ["0.5"] * 3)
    err = import_error(write_parquet(tmp_path, columns))
    assert (err.row, err.column) == (7, "acc_y")


def test_parquet_types(tmp_path: Path) -> None:
    columns = parquet_table()
    columns["ACC_Z"] = columns.pop("acc_z").cast(pa.float32())
    columns["sample_index"] = pa.array([float(i) for i in range(10)])
    columns["device_time"] = pa.array(range(10), pa.uint32())
    columns["note"] = pa.array(["x"] * 10)
    samples, report = read_generic_sensor_file_with_report(
        write_parquet(tmp_path, columns, "s.pq"), sensor_id="S1", start_time=START
    )
    assert samples.sample_index.tolist() == list(range(10))
    assert samples.device_time.tolist() == list(range(10))
    assert report.ignored_columns == ("note",)
    columns["sample_index"] = pa.array([float(i) for i in range(9)] + [9.5])
    err = import_error(write_parquet(tmp_path, columns))
    assert (err.row, err.column) == (10, "sample_index")
    assert "9.5 is not an integer" in str(err)
    columns["gyr_z"] = pa.array([True] * 10)
    err = import_error(write_parquet(tmp_path, columns))
    assert err.column == "gyr_z" and "type" in str(err)


def test_parquet_duplicate_columns(tmp_path: Path) -> None:
    columns = parquet_table()
    table = pa.table(columns).append_column("Time", pa.array([0.0] * 10))
    path = tmp_path / "s.parquet"
    pq.write_table(table, path)
    assert import_error(path).column == "time"


# --- garbage never escapes as anything but ImportFormatError ---------------------------------------


def read_garbage(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"g{suffix}"
        path.write_bytes(data)
        try:
            read_generic_sensor_file(path, sensor_id="S1", start_time=START)
        except ImportFormatError as err:
            assert err.file == path


@deterministic
@given(data=st.binary(max_size=2000), suffix=st.sampled_from(SUFFIXES))
def test_random_bytes_raise_only_import_format_error(data: bytes, suffix: str) -> None:
    read_garbage(data, suffix)


@deterministic
@given(
    header=st.lists(
        st.sampled_from([*HEADER, "mag_x", "mag_y", "mag_z", "sample_index", "x", ""]), max_size=12
    ),
    body=st.text(alphabet=st.sampled_from(list('0123456789.,;\t-+eE \n"naif\r')), max_size=400),
    delimiter=st.sampled_from([",", ";", "\t"]),
)
def test_near_miss_csv_raises_only_import_format_error(header: list[str], body: str, delimiter: str) -> None:
    read_garbage((delimiter.join(header) + "\n" + body).encode(), ".csv")


@pytest.fixture(scope="module")
def parquet_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return write_parquet(tmp_path_factory.mktemp("pq"), parquet_table()).read_bytes()


@deterministic
@given(data=st.binary(min_size=1, max_size=200), cut=st.integers(0, 5000))
def test_damaged_parquet_raises_only_import_format_error(parquet_bytes: bytes, data: bytes, cut: int) -> None:
    raw = parquet_bytes
    cut %= len(raw)
    read_garbage(raw[:cut] + data + raw[cut + len(data) :], ".parquet")


# --- the documentation's example runs --------------------------------------------------------------


def test_documentation_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert blocks
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), {})
