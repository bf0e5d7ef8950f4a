"""OpenSense export: OpenSim's own reader loads the .sto, with the right labels, times and quaternions."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from imurehab.errors import DatasetNotFoundError, DataValidationError
from imurehab.export import export_opensense
from imurehab.quaternion import quat_rotate
from imurehab.types import datetime_to_us
from tests.export.export_dataset import GAP, T0, N, make_dataset, spin

osim = pytest.importorskip(
    "opensim", reason="OpenSim's reader (PyPI `opensim`, the test extra) is not installed"
)


def _read(path: Path) -> tuple[list[str], np.ndarray, np.ndarray, str]:
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


def test_same_sample_times_are_the_rows_as_they_are(exported):
    labels, times, quats, rate = _read(exported / "001" / "s-2" / "orientations.sto")
    assert labels == ["femur_r_imu", "tibia_r_imu"]
    assert float(rate) == 100.0
    start_us = datetime_to_us(T0.replace(day=5))
    time_us = start_us + np.arange(N) * 10_000
    assert np.array_equal(times, (time_us - start_us) / 1e6)
    # SimTK normalises each quaternion it reads: equal to the written values within an ulp or so.
    assert np.allclose(quats[:, 0], spin(time_us, start_us), rtol=0, atol=1e-15)
    assert np.array_equal(quats[:, 1], quats[:, 0])


def test_different_sample_times_are_resampled_onto_one_grid_without_the_gap(exported):
    """T1 starts at 0 ms and lost 4 samples; S1 starts 3 ms later: a 100 Hz grid from 3 ms, gap left out."""
    labels, times, quats, _ = _read(exported / "001" / "s1" / "orientations.sto")
    assert labels == ["femur_r_imu", "tibia_r_imu"]
    grid = 0.003 + 0.01 * np.arange(N - 1)  # up to T1's last sample at 2.99 s
    in_gap = (grid > (GAP[0] - 1) / 100) & (grid < GAP[1] / 100)
    assert in_gap.sum() == 5
    assert np.allclose(times, grid[~in_gap], rtol=0, atol=1e-12)
    start_us = datetime_to_us(T0)
    expected = spin(np.round(times * 1e6).astype(np.int64) + start_us, start_us)
    assert np.allclose(quats[:, 0], expected, rtol=0, atol=1e-12)  # slerp of a steady spin is exact
    assert np.allclose(quats[:, 1], expected, rtol=0, atol=1e-12)


def test_the_documented_placer_rotation_puts_enu_up_on_opensim_y(exported):
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
