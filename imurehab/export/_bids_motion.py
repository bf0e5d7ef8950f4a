"""One sensor's BIDS motion files: channels, rows (lost samples as n/a), sidecars (see :mod:`.bids`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final, NamedTuple

import polars as pl

from imurehab.store import columns as cols

__all__ = ["NA", "acq_time", "write_json", "write_sensor_files", "write_text", "write_tsv"]

NA: Final = "n/a"
"""BIDS's missing value."""
_SENSOR_FRAME: Final = "sensor"
_EARTH_FRAME: Final = "ENU"
_REFERENCE_FRAMES: Final = {
    "reference_frame": {
        "Description": "The frame the channel's values are expressed in.",
        "Levels": {
            _SENSOR_FRAME: {
                "Description": "The sensor's own frame, axes as printed on the device (right-handed).",
                "RotationRule": "right-hand",
            },
            _EARTH_FRAME: {
                "Description": "Earth frame: x east, y north, z up. The quaternion (Hamilton, scalar "
                "first) rotates sensor-frame vectors into it. Without a magnetometer the heading "
                "(rotation about z) is relative, not to north.",
                "RotationRule": "right-hand",
            },
        },
    }
}


class _Channel(NamedTuple):
    name: str
    component: str
    type: str
    units: str
    reference_frame: str
    description: str
    column: str


_AXES: Final = ("x", "y", "z")
_IMU_CHANNELS: Final = (
    *(
        _Channel(f"acc_{a}", a, "ACCEL", "m/s^2", _SENSOR_FRAME, "specific force, gravity included", c)
        for a, c in zip(_AXES, cols.ACC, strict=True)
    ),
    *(
        _Channel(f"gyr_{a}", a, "GYRO", "rad/s", _SENSOR_FRAME, "angular rate", c)
        for a, c in zip(_AXES, cols.GYR, strict=True)
    ),
)
_MAG_CHANNELS: Final = tuple(
    _Channel(f"mag_{a}", a, "MAGN", "uT", _SENSOR_FRAME, "magnetic flux density", c)
    for a, c in zip(_AXES, cols.MAG, strict=True)
)
_ORIENTATION_CHANNELS: Final = tuple(
    _Channel(f"quat_{a}", f"quat_{a}", "ORNT", NA, _EARTH_FRAME, "orientation estimated by imurehab", c)
    for a, c in zip(("w", *_AXES), cols.QUAT, strict=True)
)
_LATENCY: Final = _Channel("latency", NA, "LATENCY", "s", NA, "time from the first sample", "_latency")


def write_text(path: Path, text: str) -> Path:
    """Write a UTF-8 text file with Unix line ends, creating its folder.

    Parameters
    ----------
    path : Path
        The file.
    text : str
        Its content.

    Returns
    -------
    Path
        ``path``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")
    return path


def write_tsv(path: Path, rows: list[list[str]]) -> Path:
    """Write rows of text fields as a TSV file (the first row is the header).

    Parameters
    ----------
    path : Path
        The file.
    rows : list of list of str
        Header, then rows; fields must not hold tabs or line breaks.

    Returns
    -------
    Path
        ``path``.
    """
    return write_text(path, "".join("\t".join(row) + "\n" for row in rows))


def write_json(path: Path, obj: dict[str, Any]) -> Path:
    """Write a JSON sidecar (indented, UTF-8).

    Parameters
    ----------
    path : Path
        The file.
    obj : dict
        JSON-able content.

    Returns
    -------
    Path
        ``path``.
    """
    return write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def acq_time(us: int) -> str:
    """The BIDS date-time of a UTC time: ``YYYY-MM-DDThh:mm:ss.000000``.

    Parameters
    ----------
    us : int
        µs since the Unix epoch, UTC.

    Returns
    -------
    str
        The time to the µs, without a zone (BIDS times are read as UTC here; the README says so).
    """
    return pl.Series([us]).cast(pl.Datetime("us", "UTC")).dt.strftime("%Y-%m-%dT%H:%M:%S%.6f")[0]


def _sensor_rows(samples: pl.DataFrame, orientation: pl.DataFrame) -> pl.DataFrame:
    """One row per sample index from the first to the last (lost samples: nulls), with the latency."""
    first = samples.get_column(cols.SAMPLE_INDEX)[0]
    n_rows = samples.get_column(cols.SAMPLE_INDEX)[-1] - first + 1
    t0 = samples.get_column(cols.TIME).dt.epoch("us")[0]
    since = pl.col(cols.TIME).dt.epoch("us") - t0
    # Exact decimal seconds from integer µs (s[.000000], as the LATENCY type asks).
    latency = (since // 1_000_000).cast(pl.String) + "." + (since % 1_000_000).cast(pl.String).str.zfill(6)
    measured = samples.with_columns(
        (pl.col(cols.SAMPLE_INDEX) - first).alias("_row"), latency.alias(_LATENCY.column)
    )
    if orientation.height:
        measured = measured.join(orientation.select(cols.TIME, *cols.QUAT), on=cols.TIME, how="left")
    rows = pl.DataFrame({"_row": pl.int_range(0, n_rows, dtype=pl.Int64, eager=True)})
    return rows.join(measured, on="_row", how="left", maintain_order="left")


def _motion_json(task_name: str, meta: dict[str, Any], data: pl.DataFrame, channels: list[_Channel]) -> dict:
    times = data.get_column(cols.TIME).drop_nulls().dt.epoch("us")
    span_s = (times[-1] - times[0]) / 1e6
    counts = {kind: sum(c.type == kind for c in channels) for kind in dict.fromkeys(c.type for c in channels)}
    return {
        "TaskName": task_name,
        "TrackingSystemName": f"{meta[cols.FAMILY]} sensor {meta[cols.SENSOR]}",
        "SamplingFrequency": meta[cols.RATE_HZ],
        "SamplingFrequencyEffective": (data.height - 1) / span_s if span_s > 0 else meta[cols.RATE_HZ],
        "RecordingDuration": span_s,
        "Manufacturer": meta[cols.FAMILY],
        "ManufacturersModelName": meta[cols.MODEL] or NA,
        "SoftwareVersions": meta[cols.FIRMWARE] or NA,
        "DeviceSerialNumber": meta.get(cols.SERIAL) or meta[cols.SENSOR],
        "TrackedPointsCount": 1,
        "MotionChannelCount": len(channels),
        **{f"{kind}ChannelCount": n for kind, n in counts.items()},
        "MissingValues": NA,
        "SubjectArtefactDescription": NA,
    }


def write_sensor_files(
    stem: Path,
    *,
    task_name: str,
    meta: dict[str, Any],
    segment: str | None,
    samples: pl.DataFrame,
    orientation: pl.DataFrame,
) -> list[Path]:
    """Write one sensor's ``_motion.tsv``, ``_channels.tsv``, ``_channels.json`` and ``_motion.json``.

    Parameters
    ----------
    stem : Path
        ``<folder>/sub-<s>_ses-<x>_task-<t>_tracksys-<k>``: the files' path without the suffixes.
    task_name : str
        ``TaskName``: the session's exercise.
    meta : dict
        The sensor's entry in the ``sessions`` table (id, family, model, firmware, serial, rate [Hz]).
    segment : str or None
        The body segment the sensor is on (``tracked_point`` and ``placement``).
    samples : polars.DataFrame
        The sensor's ``samples`` rows in time order, SI units.
    orientation : polars.DataFrame
        The sensor's ``orientation`` rows (at the sample times), or an empty frame.

    Returns
    -------
    list of Path
        The four files, the ``_motion.tsv`` first.
    """
    data = _sensor_rows(samples, orientation)
    has_mag = samples.get_column(cols.MAG_X).null_count() < samples.height
    channels = [
        _LATENCY,
        *_IMU_CHANNELS,
        *(_MAG_CHANNELS if has_mag else ()),
        *(_ORIENTATION_CHANNELS if orientation.height else ()),
    ]
    tracked_point, placement = segment or meta[cols.SENSOR], segment or NA
    header = ["name", "component", "type", "tracked_point", "units", "placement", "reference_frame"]
    rows = [
        [*header, "description"],
        *(
            [c.name, c.component, c.type, tracked_point, c.units, placement, c.reference_frame, c.description]
            for c in channels
        ),
    ]
    motion_tsv = stem.with_name(f"{stem.name}_motion.tsv")
    motion_tsv.parent.mkdir(parents=True, exist_ok=True)
    data.select(c.column for c in channels).write_csv(
        motion_tsv, separator="\t", include_header=False, null_value=NA, line_terminator="\n"
    )
    return [
        motion_tsv,
        write_tsv(stem.with_name(f"{stem.name}_channels.tsv"), rows),
        write_json(stem.with_name(f"{stem.name}_channels.json"), _REFERENCE_FRAMES),
        write_json(stem.with_name(f"{stem.name}_motion.json"), _motion_json(task_name, meta, data, channels)),
    ]
