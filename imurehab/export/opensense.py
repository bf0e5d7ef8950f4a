"""OpenSense export: each session's sensor orientations as an OpenSim quaternion table (``.sto``).

One file per session, ``<out>/<subject>/<session>/orientations.sto``, the format OpenSense's IMU placer
and IMU inverse kinematics read (``orientations_file``): a header (``DataRate=``, ``DataType=Quaternion``,
``version=3``, ``OpenSimVersion=``, ``endheader``), then tab-separated columns ``time`` [s since the
session start] and one ``<body>_imu`` per sensor whose cells are ``w,x,y,z``.

- **Quaternions** are the ``orientation`` table's (so a session must have been processed): Hamilton,
  scalar first, rotating sensor-frame vectors into the ENU earth frame (x east, y north, z up). OpenSim's
  ground is y up: give the IMU placer and IMU IK tool ``sensor_to_opensim_rotations`` of
  ``-1.5707963267948966 0 0`` (−90° about x, the setting OpenSense uses for Xsens files, which are z up
  too), and choose the heading with ``base_imu_label``/``base_heading_axis``.
- **Names**: a sensor's column is named after the body its segment is on in OpenSim's full-body models
  (Rajagopal 2015, gait2392): :data:`OPENSIM_BODIES` (``thigh_right`` → ``femur_r_imu``), so the IMU
  placer finds the body. Segments without an entry keep their name; a sensor without a placement is
  named by its id.
- **Time base**: when every sensor has the same sample times, they are the rows as they are. Otherwise the
  orientations are resampled by slerp onto one grid at the highest sampling rate among the sensors, from
  the latest first sample to the earliest last sample; grid times that fall in a sensor's gap (its two
  neighbouring samples more than 1.5 sample periods apart) are left out, not invented, so the time
  column may skip. ``DataRate`` is the grid's rate.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from imurehab.errors import DatasetNotFoundError, DataValidationError
from imurehab.export._common import (
    ExportResult,
    ExportSession,
    OnSession,
    read_session_table,
    run_export,
    seconds_since,
)
from imurehab.quaternion import quat_interp
from imurehab.store import columns as cols

__all__ = ["OPENSIM_BODIES", "OPENSIM_VERSION", "export_opensense", "orientation_table", "write_sto"]

OPENSIM_BODIES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "pelvis": "pelvis",
        "trunk": "torso",
        **{
            f"{segment}_{side}": f"{body}_{side[0]}"
            for segment, body in (
                ("thigh", "femur"),
                ("shank", "tibia"),
                ("foot", "calcn"),
                ("upper_arm", "humerus"),
                ("forearm", "radius"),
                ("hand", "hand"),
            )
            for side in ("left", "right")
        },
    }
)
"""imurehab segment → the OpenSim body it is on in the full-body models (``thigh_right`` → ``femur_r``)."""

OPENSIM_VERSION: Final = "4.6"
"""``OpenSimVersion`` written in the header: the OpenSim whose reader the files are tested with."""

_GAP_PERIODS: Final = 1.5


def _column_names(s: ExportSession, sensors: list[str], bodies: Mapping[str, str]) -> list[str]:
    names = []
    for sensor in sensors:
        segment = s.placements.get(sensor)
        names.append(f"{bodies.get(segment, segment) if segment else sensor}_imu")
    if len(set(names)) < len(names):
        twins = sorted(n for n in set(names) if names.count(n) > 1)
        raise DataValidationError(
            f"session {s.subject}/{s.session}: several sensors would be column {twins[0]!r} "
            "(one sensor per body, please)",
            column=twins[0],
        )
    return names


def _covered(
    t_us: npt.NDArray[np.int64], grid_us: npt.NDArray[np.int64], max_gap_us: float
) -> npt.NDArray[np.bool_]:
    """Whether each grid time is on a sample or between two samples at most ``max_gap_us`` apart."""
    n = len(t_us)
    after = np.searchsorted(t_us, grid_us, side="left")  # first sample at or after the grid time
    hi, lo = np.minimum(after, n - 1), np.maximum(after - 1, 0)
    inside = (after > 0) & (after < n) & (t_us[hi] - t_us[lo] <= max_gap_us)
    return inside | (t_us[hi] == grid_us)


def orientation_table(
    orientation: pl.DataFrame, s: ExportSession, bodies: Mapping[str, str] = OPENSIM_BODIES
) -> tuple[float, pl.DataFrame]:
    """The rows of a session's ``.sto``: time and each sensor's quaternion on one time base.

    Parameters
    ----------
    orientation : polars.DataFrame
        The session's ``orientation`` rows (``sensor``, ``time``, ``q_w..q_z``), sorted by sensor and time.
    s : ExportSession
        The session (its start, placements and sensors' rates [Hz]).
    bodies : mapping of str to str, default OPENSIM_BODIES
        Segment → OpenSim body name, for the column names.

    Returns
    -------
    rate_hz : float
        The data rate [Hz]: the highest nominal rate among the sensors.
    table : polars.DataFrame
        ``time`` [s since the session start, float64], then one ``<body>_imu`` column per sensor of an
        (N, 4) ``Array(Float64, 4)`` of ``w, x, y, z`` (sensor → ENU), in the order of ``s.sensors``.

    Raises
    ------
    DataValidationError
        If there are no rows of the session's sensors, two sensors would get the same column, or the
        sensors' recordings do not overlap in time.
    """
    rates = {m[cols.SENSOR]: m[cols.RATE_HZ] for m in s.sensors}
    present = set(orientation.get_column(cols.SENSOR))
    sensors = [m[cols.SENSOR] for m in s.sensors if m[cols.SENSOR] in present]
    if not sensors:
        raise DataValidationError(f"session {s.subject}/{s.session}: no orientation rows of its sensors")
    names = _column_names(s, sensors, bodies)
    by_sensor = {key[0]: frame for key, frame in orientation.group_by(cols.SENSOR, maintain_order=True)}
    times = {x: by_sensor[x].get_column(cols.TIME).dt.epoch("us").to_numpy() for x in sensors}
    quats = {x: by_sensor[x].select(cols.QUAT).to_numpy() for x in sensors}
    rate_hz = float(max(rates[x] for x in sensors))
    grid = times[sensors[0]]
    if not all(np.array_equal(times[x], grid) for x in sensors):
        start, stop = max(int(t[0]) for t in times.values()), min(int(t[-1]) for t in times.values())
        if start > stop:
            raise DataValidationError(
                f"session {s.subject}/{s.session}: the sensors' recordings do not overlap"
            )
        step_us = 1e6 / rate_hz
        grid = start + np.round(np.arange(int((stop - start) // step_us) + 1) * step_us).astype(np.int64)
        keep = np.logical_and.reduce(
            [_covered(times[x], grid, _GAP_PERIODS * 1e6 / rates[x]) for x in sensors]
        )
        grid = grid[keep]
        quats = {x: quat_interp(times[x], quats[x], grid) for x in sensors}
    columns = {"time": seconds_since(grid, s.start_us)}
    columns |= {name: quats[x] for name, x in zip(names, sensors, strict=True)}
    return rate_hz, pl.DataFrame(
        columns, schema={"time": pl.Float64} | dict.fromkeys(names, pl.Array(pl.Float64, 4))
    )


def write_sto(path: str | os.PathLike[str], rate_hz: float, table: pl.DataFrame) -> Path:
    """Write a quaternion table as an OpenSim ``.sto`` file (format: see the module).

    Parameters
    ----------
    path : str or os.PathLike
        The file; its folder is created.
    rate_hz : float
        ``DataRate`` [Hz].
    table : polars.DataFrame
        As :func:`orientation_table` returns: ``time`` [s], then ``Array(Float64, 4)`` quaternion columns.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cells = [
        pl.concat_str([pl.col(name).arr.get(k).cast(pl.String) for k in range(4)], separator=",").alias(name)
        for name in table.columns[1:]
    ]
    header = [
        f"DataRate={rate_hz:.6f}",
        "DataType=Quaternion",
        "version=3",
        f"OpenSimVersion={OPENSIM_VERSION}",
    ]
    with path.open("w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join([*header, "endheader", ""]))
        table.select("time", *cells).write_csv(f, separator="\t", line_terminator="\n", quote_style="never")
    return path


def _write_session(bodies: Mapping[str, str], dataset: Path, out: Path, s: ExportSession) -> list[Path]:
    orientation = read_session_table(dataset, cols.ORIENTATION, s)
    if orientation.height == 0:
        raise DatasetNotFoundError(
            f"session {s.subject}/{s.session} has no orientation rows: run `imurehab process` on it first",
            path=dataset,
        )
    rate_hz, table = orientation_table(orientation, s, bodies)
    return [write_sto(out / s.subject / s.session / "orientations.sto", rate_hz, table)]


def export_opensense(
    dataset: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    subject: str | None = None,
    session: str | None = None,
    overwrite: bool = False,
    on_session: OnSession | None = None,
    bodies: Mapping[str, str] = OPENSIM_BODIES,
) -> ExportResult:
    """Export processed sessions' orientations as OpenSense ``.sto`` files (format: see the module).

    Parameters
    ----------
    dataset : str or os.PathLike
        Dataset folder; the sessions must have been processed (``orientation`` table).
    out : str or os.PathLike
        Output folder; created, and it must be empty unless ``overwrite``.
    subject, session : str, optional
        Only this subject's / session's sessions.
    overwrite : bool, default False
        Write into a non-empty folder: files of the same names are replaced, other files kept.
    on_session : callable, optional
        Progress: called with (sessions done, sessions in all) after each session.
    bodies : mapping of str to str, default OPENSIM_BODIES
        Segment → OpenSim body name of the columns (``<body>_imu``), for a model with other body names.

    Returns
    -------
    ExportResult
        The sessions exported and the files written.

    Raises
    ------
    DatasetNotFoundError
        If there is no dataset, no session matches, or a session has no orientation rows.
    DataValidationError
        If two sensors of a session would get one column name, or its sensors do not overlap in time.
    StoreError
        If ``out`` is a file, or a non-empty folder without ``overwrite``.

    Examples
    --------
    >>> export_opensense("data", "data-opensense", session="knee01")  # doctest: +SKIP
    """
    return run_export(
        "opensense",
        dataset,
        out,
        lambda ds, root, s: _write_session(bodies, ds, root, s),
        subject=subject,
        session=session,
        overwrite=overwrite,
        on_session=on_session,
    )
