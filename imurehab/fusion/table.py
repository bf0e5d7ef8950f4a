"""Orientation of every sensor of a recording as rows of the ``orientation`` table."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl

from imurehab.fusion.estimate import FusionResult, Mode, estimate_orientation_detailed
from imurehab.store import schema as col
from imurehab.types import Recording, SensorSamples

__all__ = ["fuse_sensor", "orientation_rows", "orientation_table"]


def fuse_sensor(sensor: SensorSamples, *, mode: Mode = "offline", method: str | None = None) -> FusionResult:
    """Estimate one sensor's orientation from its samples, using their times and flags.

    Parameters
    ----------
    sensor : SensorSamples
        The sensor's samples (SI units); ``time_us`` gaps are bridged or restart the filter, and
        saturated or interpolated samples (``flags``) are not trusted.
    mode, method
        As for :func:`imurehab.fusion.estimate_orientation`.

    Returns
    -------
    FusionResult
        Orientation (9D where the sensor has a magnetometer) and per-sample quality information.
    """
    time_s = (sensor.time_us - sensor.time_us[0]).astype(np.float64) / 1e6 if len(sensor) else None
    return estimate_orientation_detailed(
        sensor.acc,
        sensor.gyr,
        sensor.info.rate_hz,
        sensor.mag,
        mode=mode,
        method=method,
        time_s=time_s,
        flags=sensor.flags,
    )


def orientation_rows(sensor: SensorSamples, segment: str | None, fused: FusionResult) -> pl.DataFrame:
    """Rows of the ``orientation`` table for one sensor.

    Parameters
    ----------
    sensor : SensorSamples
        The sensor whose samples were fused.
    segment : str, optional
        Body segment the sensor is placed on.
    fused : FusionResult
        The estimate for ``sensor`` (same number of samples).

    Returns
    -------
    polars.DataFrame
        Columns of :data:`imurehab.store.schema.ORIENTATION`: sensor, segment, time, ``q_w..q_z``
        (sensor → ENU), rest, mag_disturbed (null for 6D), ``bias_x..z`` [rad/s] (null where unknown).
    """
    n = len(sensor)
    quat = fused.quat
    # Contiguous column copies are made by numpy, which polars then takes without copying: numpy backs
    # large arrays with huge pages where the OS allows, so a long session costs far fewer page faults.
    columns: dict[str, pl.Series | npt.NDArray[np.generic]] = {
        col.TIME: pl.Series(sensor.time_us).cast(pl.Datetime("us", "UTC")),
        col.Q_W: np.ascontiguousarray(quat[:, 0]),
        col.Q_X: np.ascontiguousarray(quat[:, 1]),
        col.Q_Y: np.ascontiguousarray(quat[:, 2]),
        col.Q_Z: np.ascontiguousarray(quat[:, 3]),
        col.REST: fused.rest,
        col.MAG_DISTURBED: pl.Series(fused.mag_disturbed, dtype=pl.Boolean)
        if fused.mag_disturbed is not None
        else pl.repeat(None, n, dtype=pl.Boolean, eager=True),
    }
    for k, name in enumerate((col.BIAS_X, col.BIAS_Y, col.BIAS_Z)):
        if fused.gyr_bias is None:
            columns[name] = pl.repeat(None, n, dtype=pl.Float64, eager=True)
            continue
        bias = np.ascontiguousarray(fused.gyr_bias[:, k])
        # NaN (unknown) becomes null; the check spares a copy of the column when nothing is unknown.
        columns[name] = pl.Series(bias).fill_nan(None) if np.isnan(bias).any() else bias
    schema = col.polars_schema(col.ORIENTATION)
    # The sensor and segment are one value each: polars keeps such a column as that value until it is
    # needed in full, so they cost no memory here (millions of string views otherwise).
    return pl.DataFrame(columns, schema={k: schema[k] for k in columns}).select(
        pl.lit(sensor.sensor_id, dtype=pl.String).alias(col.SENSOR),
        pl.lit(segment, dtype=pl.String).alias(col.SEGMENT),
        *columns,
    )


def orientation_table(
    recording: Recording, *, mode: Mode = "offline", method: str | None = None
) -> pl.DataFrame:
    """Orientation of every sensor of a recording, as rows of the ``orientation`` table.

    Parameters
    ----------
    recording : Recording
        The session; its placements give each sensor's segment.
    mode, method
        As for :func:`imurehab.fusion.estimate_orientation`.

    Returns
    -------
    polars.DataFrame
        One row per sample and sensor, in sensor order then time (see :func:`orientation_rows`).
    """
    placements = recording.session.placements
    frames = [
        orientation_rows(s, placements.get(s.sensor_id), fuse_sensor(s, mode=mode, method=method))
        for s in recording.sensors
    ]
    return pl.concat(frames, how="vertical") if frames else col.polars_schema(col.ORIENTATION).to_frame()
