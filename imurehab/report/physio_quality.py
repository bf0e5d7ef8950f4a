"""A session's data quality for the physio's report: samples lost and flagged, clocks, calibration fit.

Read from the dataset as stored: ``samples`` (sample counters and flags), ``sessions`` (placements, the
sensors' clock uncertainty and log verification) and ``joint_angles`` (the angles, and the calibration
figures where the results' footer metadata carries them).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Final

import polars as pl

from imurehab.pipeline.provenance import CALIBRATION_METADATA_KEY, NOTES_METADATA_KEY
from imurehab.report.physio_data import SessionRef
from imurehab.store import read_file_metadata, read_table
from imurehab.store import schema as col
from imurehab.store.layout import find_parts
from imurehab.types import SampleFlags

__all__ = ["CALIBRATION_METADATA_KEY", "NOTES_METADATA_KEY", "calibration_quality", "sensor_quality"]

_SATURATED: Final[int] = int(
    SampleFlags.ACC_SATURATED | SampleFlags.GYR_SATURATED | SampleFlags.MAG_SATURATED
)


def sensor_quality(root: str | os.PathLike[str], ref: SessionRef) -> pl.DataFrame:
    """Per sensor of a session: placement, device, samples lost, flags, clock uncertainty.

    Parameters
    ----------
    root : str or os.PathLike
        Dataset folder.
    ref : SessionRef
        The session.

    Returns
    -------
    polars.DataFrame
        One row per sensor: ``sensor``, ``segment``, ``family``, ``model``, ``rate_hz`` [Hz],
        ``samples`` (rows stored), ``lost`` (samples missing by ``sample_index``), ``gaps`` (runs of
        them), ``longest_gap_s`` (time between the samples either side of the longest gap [s], null
        without gaps), ``filled_in`` (samples flagged interpolated), ``saturated`` (samples with an
        axis at full scale), ``host_time`` (samples timed by the receiving computer, not the device),
        ``clock_uncertainty_us`` (bound of the sample times' UTC error [µs], null when not recorded)
        and ``log_verified`` (the device log was downloaded whole and CRC-checked; null for streams).
    """
    step = pl.col(col.SAMPLE_INDEX).diff().over(col.SENSOR)
    dt_s = pl.col(col.TIME).diff().over(col.SENSOR).dt.total_microseconds() / 1e6
    counts = (
        read_table(root, col.SAMPLES, subject=ref.subject, session=ref.session)
        .select(col.SENSOR, col.SAMPLE_INDEX, col.TIME, col.FLAGS)
        .sort(col.SENSOR, col.TIME)
        .with_columns(step.alias("step"), dt_s.alias("dt_s"))
        .group_by(col.SENSOR)
        .agg(
            pl.len().cast(pl.Int64).alias("samples"),
            (pl.col("step") - 1).clip(lower_bound=0).sum().cast(pl.Int64).alias("lost"),
            (pl.col("step") > 1).sum().cast(pl.Int64).alias("gaps"),
            pl.col("dt_s").filter(pl.col("step") > 1).max().alias("longest_gap_s"),
            *(
                ((pl.col(col.FLAGS) & bits) != 0).sum().cast(pl.Int64).alias(name)
                for name, bits in (
                    ("filled_in", int(SampleFlags.INTERPOLATED)),
                    ("saturated", _SATURATED),
                    ("host_time", int(SampleFlags.HOST_TIME)),
                )
            ),
        )
    )
    session = read_table(root, col.SESSIONS, subject=ref.subject, session=ref.session)
    placements = session.select(pl.col(col.PLACEMENTS).explode().struct.unnest()).select(
        col.SENSOR, col.SEGMENT
    )
    devices = session.select(pl.col(col.SENSORS).explode().struct.unnest()).select(
        col.SENSOR, col.FAMILY, col.MODEL, col.RATE_HZ, col.CLOCK_UNCERTAINTY_US, col.LOG_VERIFIED
    )
    return (
        devices.join(placements, on=col.SENSOR, how="left")
        .join(counts, on=col.SENSOR, how="left")
        .select(
            col.SENSOR,
            col.SEGMENT,
            col.FAMILY,
            col.MODEL,
            col.RATE_HZ,
            "samples",
            "lost",
            "gaps",
            "longest_gap_s",
            "filled_in",
            "saturated",
            "host_time",
            col.CLOCK_UNCERTAINTY_US,
            col.LOG_VERIFIED,
        )
        .sort(col.SENSOR)
        .collect()
    )


def calibration_quality(root: str | os.PathLike[str], ref: SessionRef) -> tuple[pl.DataFrame, list[str]]:
    """Per joint of a session: how well the motion fits the joint model, and the processing notes.

    Parameters
    ----------
    root : str or os.PathLike
        Dataset folder.
    ref : SessionRef
        The session.

    Returns
    -------
    (table, notes) : polars.DataFrame and list of str
        ``table``: one row per joint and side, ``joint``, ``side``, ``off_axis_rms_deg`` (RMS of
        abduction and rotation about their means [deg], from the stored angles: how far the motion
        departs from a pure hinge, as :attr:`imurehab.body.HingeJointAngles.off_axis_rms_deg`),
        ``duration_s`` [s], and, where the ``joint_angles`` files carry them
        (:data:`CALIBRATION_METADATA_KEY`), ``method``, ``heading`` and ``static_s`` [s] (else null).
        ``notes``: what processing could not do (:data:`NOTES_METADATA_KEY`), where stored.
    """
    deviation = [(pl.col(c) - pl.col(c).mean()).pow(2) for c in (col.ABDUCTION_DEG, col.ROTATION_DEG)]
    table = (
        read_table(root, col.JOINT_ANGLES, subject=ref.subject, session=ref.session)
        .group_by(col.JOINT, col.SIDE)
        .agg(
            ((deviation[0].sum() + deviation[1].sum()) / (2 * pl.len())).sqrt().alias("off_axis_rms_deg"),
            ((pl.col(col.TIME).max() - pl.col(col.TIME).min()).dt.total_microseconds() / 1e6).alias(
                "duration_s"
            ),
        )
        .sort(col.JOINT, col.SIDE)
        .collect()
    )
    stored: list[dict[str, Any]] = []
    notes: list[str] = []
    for path in find_parts(Path(root), col.JOINT_ANGLES, ref.subject, ref.session):
        meta = read_file_metadata(path)
        stored += meta.get(CALIBRATION_METADATA_KEY, [])
        notes += meta.get(NOTES_METADATA_KEY, [])
    extra = pl.DataFrame(
        [{k: c.get(k) for k in (col.JOINT, col.SIDE, "method", "heading", "static_s")} for c in stored],
        schema={
            col.JOINT: pl.String,
            col.SIDE: pl.String,
            "method": pl.String,
            "heading": pl.String,
            "static_s": pl.Float64,
        },
    )
    return table.join(extra, on=[col.JOINT, col.SIDE], how="left", nulls_equal=True), notes
