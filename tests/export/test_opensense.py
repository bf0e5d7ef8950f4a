"""OpenSense export: OpenSim's own reader loads the .sto, with the right labels, times and quaternions."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from imurehab.errors import DatasetNotFoundError, DataValidationError
from imurehab.export import ExportSession, export_opensense
from imurehab.export.opensense import orientation_table
from imurehab.quaternion import quat_rotate
from imurehab.store import columns as cols
from imurehab.types import datetime_to_us
from tests.export.export_dataset import GAP, T0, N, make_dataset, spin
from tests.strategies import DETERMINISTIC


@pytest.fixture(scope="module")
def osim():
    """OpenSim's Python package (PyPI ``opensim``, in the test extra)."""
    return pytest.importorskip(
        "opensim", reason="OpenSim's reader (PyPI `opensim`, the test extra) is not installed"
    )


def _read(osim, path: Path) -> tuple[list[str], np.ndarray, np.ndarray, str]:
    """Column labels, times [s], quaternions (rows, columns, 4) and DataRate, as OpenSim reads them."""
    table = osim.TimeSeriesTableQuaternion(str(path))
    labels = list(table.getColumnLabels())
    times = np.array(table.getIndependentColumn())
    quats = np.empty((table.getNumRows(), len(labels), 4))
    for i in range(table.getNumRows()):
        row = table.getRowAtIndex(i)
        for j in range(len(labels)):
            q = row.getElt(0, j)
            quats[i, j] = [q.get(k) for k in range(4)]
    return labels, times, quats, table.getTableMetaDataAsString("DataRate")


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("opensense")
    export_opensense(make_dataset(root / "ds"), root / "out")
    return root / "out"


def test_same_sample_times_are_the_rows_as_they_are(osim, exported):
    labels, times, quats, rate = _read(osim, exported / "001" / "s-2" / "orientations.sto")
    assert labels == ["femur_r_imu", "tibia_r_imu"]
    assert float(rate) == 100.0
    start_us = datetime_to_us(T0.replace(day=5))
    time_us = start_us + np.arange(N) * 10_000
    assert np.array_equal(times, (time_us - start_us) / 1e6)
    # SimTK normalises each quaternion it reads: equal to the written values within an ulp or so.
    assert np.allclose(quats[:, 0], spin(time_us, start_us), rtol=0, atol=1e-15)
    assert np.array_equal(quats[:, 1], quats[:, 0])


def test_different_sample_times_are_resampled_onto_one_grid_without_the_gap(osim, exported):
    """T1 starts at 0 ms and lost 4 samples; S1 starts 3 ms later: a 100 Hz grid from 3 ms, gap left out."""
    labels, times, quats, _ = _read(osim, exported / "001" / "s1" / "orientations.sto")
    assert labels == ["femur_r_imu", "tibia_r_imu"]
    grid = 0.003 + 0.01 * np.arange(N - 1)  # up to T1's last sample at 2.99 s
    in_gap = (grid > (GAP[0] - 1) / 100) & (grid < GAP[1] / 100)
    assert in_gap.sum() == 5
    assert np.allclose(times, grid[~in_gap], rtol=0, atol=1e-12)
    start_us = datetime_to_us(T0)
    expected = spin(np.round(times * 1e6).astype(np.int64) + start_us, start_us)
    assert np.allclose(quats[:, 0], expected, rtol=0, atol=1e-12)  # slerp of a steady spin is exact
    assert np.allclose(quats[:, 1], expected, rtol=0, atol=1e-12)


def test_the_documented_placer_rotation_puts_enu_up_on_opensim_y(osim, exported):
    """``sensor_to_opensim_rotations = -pi/2 0 0``: a sensor lying flat points its z axis along ground y."""
    table = osim.TimeSeriesTableQuaternion(str(exported / "001" / "s-2" / "orientations.sto"))
    x, y, z = (osim.CoordinateAxis(k) for k in range(3))
    placer = osim.Rotation(osim.SpaceRotationSequence, -math.pi / 2, x, 0.0, y, 0.0, z)
    osim.OpenSenseUtilities.rotateOrientationTable(table, placer)
    q = table.getRowAtIndex(0).getElt(0, 0)  # t = 0: the identity in ENU
    up = quat_rotate([q.get(k) for k in range(4)], [0.0, 0.0, 1.0])
    assert np.allclose(up, [0.0, 1.0, 0.0], atol=1e-12)


def test_a_session_without_orientations_asks_for_processing(tmp_path):
    ds = make_dataset(tmp_path / "ds", orientation=False)
    with pytest.raises(DatasetNotFoundError, match="imurehab process"):
        export_opensense(ds, tmp_path / "out")


def test_two_sensors_on_one_body_are_refused(tmp_path):
    ds = make_dataset(tmp_path / "ds")
    with pytest.raises(DataValidationError, match="femur_r_imu"):
        export_opensense(
            ds, tmp_path / "out", session="s1", bodies={"thigh_right": "femur_r", "shank_right": "femur_r"}
        )


@st.composite
def sensor_times(draw: st.DrawFn) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Two sensors at 50 or 100 Hz, starting up to 20 ms apart, each with some samples lost."""
    rates, times = {}, {}
    for sensor in ("A", "B"):
        rate = draw(st.sampled_from([50.0, 100.0]))
        n = draw(st.integers(5, 60))
        kept = draw(st.lists(st.booleans(), min_size=n, max_size=n).filter(lambda k: sum(k) >= 2))
        offset = draw(st.integers(0, 20_000))
        rates[sensor] = rate
        times[sensor] = START_US + offset + np.flatnonzero(kept) * round(1e6 / rate)
    return rates, times


START_US = datetime_to_us(T0)


@DETERMINISTIC
@given(sensor_times())
def test_resampled_rows_lie_on_the_grid_inside_every_recording_and_outside_gaps(rates_and_times):
    rates, times = rates_and_times
    rows = [
        pl.DataFrame(
            {
                cols.SENSOR: sensor,
                cols.TIME: pl.Series(t).cast(pl.Datetime("us", "UTC")),
                **dict(zip(cols.QUAT, spin(t, START_US).T, strict=True)),
            }
        )
        for sensor, t in times.items()
    ]
    placements = {"A": "thigh_right", "B": "shank_right"}
    sensors = tuple({cols.SENSOR: x, cols.RATE_HZ: r} for x, r in rates.items())
    s = ExportSession("001", "s1", START_US, START_US + 10**7, None, placements, sensors)
    try:
        rate_hz, table = orientation_table(pl.concat(rows), s)
    except DataValidationError as err:
        assert "do not overlap" in str(err)
        assert max(t[0] for t in times.values()) > min(t[-1] for t in times.values())
        return
    assert rate_hz == max(rates.values())
    t_us = START_US + np.round(table.get_column("time").to_numpy() * 1e6).astype(np.int64)
    start = max(t[0] for t in times.values())
    steps = (t_us - start) * rate_hz / 1e6
    assert np.allclose(steps, np.round(steps), atol=1e-6)  # on the grid
    for sensor, t in times.items():
        assert np.all((t[0] <= t_us) & (t_us <= t[-1]))
        after = np.searchsorted(t, t_us)
        on_sample = t[np.minimum(after, len(t) - 1)] == t_us
        span = t[np.minimum(after, len(t) - 1)] - t[np.maximum(after - 1, 0)]
        assert np.all(on_sample | (span <= 1.5e6 / rates[sensor]))  # never across a lost sample
    expected = spin(t_us, START_US)
    for column in ("femur_r_imu", "tibia_r_imu"):
        got = np.stack(table.get_column(column).to_list()) if table.height else np.empty((0, 4))
        assert np.allclose(got, expected, rtol=0, atol=1e-9)
