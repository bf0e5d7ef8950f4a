"""BIDS motion export (BIDS 1.9+, the motion datatype of BEP029): each sensor's samples as measured.

Layout (BIDS specification, "Motion")::

    dataset_description.json  README  participants.tsv  participants.json
    sub-<s>/sub-<s>_sessions.tsv
    sub-<s>/ses-<x>/sub-<s>_ses-<x>_scans.tsv
    sub-<s>/ses-<x>/motion/sub-<s>_ses-<x>_task-<t>_tracksys-<k>_motion.tsv   (no header row)
                                                      ..._channels.tsv, _channels.json, _motion.json

**One tracking system per sensor.** The specification defines a tracking system as "a group of motion
channels that share hardware properties (the recording device) and software properties (the recording
duration and number of samples)", and requires one ``*_motion.tsv`` per tracking system. Each body-worn
sensor is its own recording device with its own clock and sample count, so each is one tracking system; the
samples are written as measured, never resampled. The sensors are synchronised as the specification
prefers, by the acquisition time of each file (``acq_time`` in ``*_scans.tsv``, UTC to the µs), and
each row's time from that onset is the ``LATENCY`` channel (the spacing is not exactly 1/rate).

**Labels.** BIDS labels are letters and digits only: a subject, session, exercise (task) or segment
(tracksys) name becomes its letters and digits (``sub-01_a`` → ``sub01a``); names that collide get a
number appended (in sorted order of the original names). The original ids are kept in the extra
columns ``imurehab_subject`` (participants.tsv), ``imurehab_session`` (sessions.tsv) and in
``TrackingSystemName`` (``"<family> sensor <id>"``). A session without an exercise has task
``unspecified``.

**Channels and units** (``*_channels.tsv``): ``LATENCY`` [s], then ``ACCEL`` x, y, z [m/s^2] (specific
force, gravity included), ``GYRO`` [rad/s] and, where the sensor has one, ``MAGN`` [uT], in the sensor
frame (reference frame ``sensor``); then, for processed sessions, the orientation estimated by imurehab
as ``ORNT`` ``quat_w, quat_x, quat_y, quat_z`` (units ``n/a``) rotating sensor-frame vectors into the
ENU earth frame (reference frame ``ENU``). The store's SI values are written unchanged: the units are SI
already, written in BIDS's unit notation (µ as ``u``, CMIXF). Lost samples (jumps in the device's sample
index) are rows of ``n/a``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final, NamedTuple

import polars as pl

from imurehab._version import __version__
from imurehab.export._common import ExportResult, ExportSession, OnSession, read_session_table, run_export
from imurehab.store import columns as cols
from imurehab.store import read_table

__all__ = ["BIDS_VERSION", "bids_labels", "export_bids"]

BIDS_VERSION: Final = "1.9.0"
"""The BIDS version written in ``dataset_description.json``: the first with the motion datatype."""

NO_TASK: Final = "unspecified"
_NA: Final = "n/a"
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
    _Channel(f"quat_{a}", f"quat_{a}", "ORNT", _NA, _EARTH_FRAME, "orientation estimated by imurehab", c)
    for a, c in zip(("w", *_AXES), cols.QUAT, strict=True)
)
_LATENCY: Final = _Channel("latency", _NA, "LATENCY", "s", _NA, "time from the first sample", "_latency")


def bids_labels(ids: Iterable[str]) -> dict[str, str]:
    """Distinct BIDS labels (letters and digits) for ids, the same for the same set of ids.

    Parameters
    ----------
    ids : iterable of str
        The names to label (repeats are fine).

    Returns
    -------
    dict of str to str
        Each id → its letters and digits (``"x"`` if it has none), with ``2``, ``3``... appended to
        names whose labels collide, ignoring case (taken in sorted order of the ids).

    Examples
    --------
    >>> bids_labels(["s-1", "s_1", "S1x", "001"])
    {'001': '001', 'S1x': 'S1x', 's-1': 's12', 's_1': 's13'}
    """
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in sorted(set(ids)):
        base = re.sub(r"[^A-Za-z0-9]", "", name) or "x"
        label, n = base, 1
        while label.lower() in used:
            n += 1
            label = f"{base}{n}"
        used.add(label.lower())
        out[name] = label
    return out


def _tsv(rows: list[list[str]]) -> str:
    return "".join("\t".join(row) + "\n" for row in rows)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")
    return path


def _write_json(path: Path, obj: dict[str, Any]) -> Path:
    return _write(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def _acq_time(us: int) -> str:
    """BIDS date-time (``YYYY-MM-DDThh:mm:ss.000000``) of µs since the epoch, UTC."""
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


def _channels(has_mag: bool, has_orientation: bool) -> list[_Channel]:
    return [
        _LATENCY,
        *_IMU_CHANNELS,
        *(_MAG_CHANNELS if has_mag else ()),
        *(_ORIENTATION_CHANNELS if has_orientation else ()),
    ]


def _motion_json(
    s: ExportSession, meta: dict[str, Any], data: pl.DataFrame, channels: list[_Channel]
) -> dict:
    times = data.get_column(cols.TIME).drop_nulls().dt.epoch("us")
    span_s = (times[-1] - times[0]) / 1e6
    counts = {kind: sum(c.type == kind for c in channels) for kind in dict.fromkeys(c.type for c in channels)}
    sidecar: dict[str, Any] = {
        "TaskName": s.exercise or NO_TASK,
        "TrackingSystemName": f"{meta[cols.FAMILY]} sensor {meta[cols.SENSOR]}",
        "SamplingFrequency": meta[cols.RATE_HZ],
        "SamplingFrequencyEffective": (data.height - 1) / span_s if span_s > 0 else meta[cols.RATE_HZ],
        "RecordingDuration": span_s,
        "Manufacturer": meta[cols.FAMILY],
        "ManufacturersModelName": meta[cols.MODEL] or _NA,
        "SoftwareVersions": meta[cols.FIRMWARE] or _NA,
        "DeviceSerialNumber": meta.get(cols.SERIAL) or meta[cols.SENSOR],
        "TrackedPointsCount": 1,
        "MotionChannelCount": len(channels),
        **{f"{kind}ChannelCount": n for kind, n in counts.items()},
        "MissingValues": _NA,
        "SubjectArtefactDescription": _NA,
    }
    return sidecar


def _write_sensor(
    folder: Path, stem: str, s: ExportSession, meta: dict[str, Any], samples: pl.DataFrame, q: pl.DataFrame
) -> list[Path]:
    data = _sensor_rows(samples, q)
    has_mag = samples.get_column(cols.MAG_X).null_count() < samples.height
    channels = _channels(has_mag, q.height > 0)
    segment = s.placements.get(meta[cols.SENSOR])
    tracked_point = segment or meta[cols.SENSOR]
    header = [
        "name",
        "component",
        "type",
        "tracked_point",
        "units",
        "placement",
        "reference_frame",
        "description",
    ]
    placement = segment or _NA
    rows = [
        header,
        *(
            [c.name, c.component, c.type, tracked_point, c.units, placement, c.reference_frame, c.description]
            for c in channels
        ),
    ]
    folder.mkdir(parents=True, exist_ok=True)
    motion_tsv = folder / f"{stem}_motion.tsv"
    data.select(c.column for c in channels).write_csv(
        motion_tsv, separator="\t", include_header=False, null_value=_NA, line_terminator="\n"
    )
    return [
        motion_tsv,
        _write(folder / f"{stem}_channels.tsv", _tsv(rows)),
        _write_json(folder / f"{stem}_channels.json", _REFERENCE_FRAMES),
        _write_json(folder / f"{stem}_motion.json", _motion_json(s, meta, data, channels)),
    ]


class _Labels(NamedTuple):
    """BIDS labels of the dataset's ids: the same whichever sessions are exported."""

    subjects: dict[str, str]
    sessions: dict[str, dict[str, str]]
    tasks: dict[str, str]

    @classmethod
    def of(cls, dataset: Path) -> _Labels:
        frame = read_table(dataset, cols.SESSIONS).select(cols.SUBJECT, cols.SESSION, cols.EXERCISE).collect()
        ids = frame.rows()
        return cls(
            subjects=bids_labels(subject for subject, _, _ in ids),
            sessions={
                subject: bids_labels(x for sub, x, _ in ids if sub == subject) for subject, _, _ in ids
            },
            tasks=bids_labels(exercise or NO_TASK for _, _, exercise in ids),
        )


def _write_session(labels: _Labels, dataset: Path, out: Path, s: ExportSession) -> list[Path]:
    sub, ses = labels.subjects[s.subject], labels.sessions[s.subject][s.session]
    task = labels.tasks[s.exercise or NO_TASK]
    session_dir = out / f"sub-{sub}" / f"ses-{ses}"
    samples = read_session_table(dataset, cols.SAMPLES, s)
    orientation = read_session_table(dataset, cols.ORIENTATION, s)
    tracksys = bids_labels(s.placements.get(m[cols.SENSOR]) or m[cols.SENSOR] for m in s.sensors)
    written: list[Path] = []
    scans = [["filename", "acq_time"]]
    for meta in s.sensors:
        sensor = meta[cols.SENSOR]
        mine = samples.filter(pl.col(cols.SENSOR) == sensor)
        if mine.height == 0:
            continue
        q = orientation.filter(pl.col(cols.SENSOR) == sensor) if orientation.height else orientation
        system = tracksys[s.placements.get(sensor) or sensor]
        stem = f"sub-{sub}_ses-{ses}_task-{task}_tracksys-{system}"
        files = _write_sensor(session_dir / "motion", stem, s, meta, mine, q)
        scans.append([files[0].relative_to(session_dir).as_posix(), _acq_time(_first_us(mine))])
        written.extend(files)
    written.append(_write(session_dir / f"sub-{sub}_ses-{ses}_scans.tsv", _tsv(scans)))
    return written


def _first_us(samples: pl.DataFrame) -> int:
    return int(samples.get_column(cols.TIME).dt.epoch("us")[0])


_README: Final = """\
BIDS motion data exported by imurehab {version} from the dataset {dataset}.

Each body-worn IMU is one tracking system (tracksys): its samples as measured, in SI units, in the
sensor's own frame, with a LATENCY channel (time of each sample from the file's first sample); lost
samples are rows of n/a. The acquisition time of each file (UTC) is in the sessions' scans.tsv. Where the
session was processed, ORNT channels hold imurehab's orientation estimate (quaternion rotating
sensor-frame vectors into the east-north-up earth frame). The original subject and session ids are in
participants.tsv and sub-*_sessions.tsv.
"""


def _write_dataset(labels: _Labels, dataset: Path, out: Path, sessions: list[ExportSession]) -> list[Path]:
    description = {
        "Name": f"imurehab export of {dataset.resolve().name}",
        "BIDSVersion": BIDS_VERSION,
        "DatasetType": "raw",
        "GeneratedBy": [{"Name": "imurehab", "Version": __version__}],
    }
    subjects = list(dict.fromkeys(s.subject for s in sessions))
    written = [
        _write_json(out / "dataset_description.json", description),
        _write(out / "README", _README.format(version=__version__, dataset=dataset.resolve().name)),
        _write(
            out / "participants.tsv",
            _tsv(
                [
                    ["participant_id", "imurehab_subject"],
                    *([f"sub-{labels.subjects[x]}", x] for x in subjects),
                ]
            ),
        ),
        _write_json(
            out / "participants.json",
            {"imurehab_subject": {"Description": "The subject's pseudonymous id in the imurehab dataset."}},
        ),
    ]
    for subject in subjects:
        sub = labels.subjects[subject]
        rows = [["session_id", "acq_time", "imurehab_session", "exercise"]]
        rows += [
            [
                f"ses-{labels.sessions[subject][s.session]}",
                _acq_time(s.start_us),
                s.session,
                s.exercise or _NA,
            ]
            for s in sessions
            if s.subject == subject
        ]
        written.append(_write(out / f"sub-{sub}" / f"sub-{sub}_sessions.tsv", _tsv(rows)))
        written.append(_write_json(out / f"sub-{sub}" / f"sub-{sub}_sessions.json", _SESSIONS_COLUMNS))
    return written


_SESSIONS_COLUMNS: Final = {
    "imurehab_session": {"Description": "The session's id in the imurehab dataset."},
    "exercise": {"Description": "The exercise or protocol of the session (the task), as imurehab names it."},
}


def export_bids(
    dataset: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    subject: str | None = None,
    session: str | None = None,
    overwrite: bool = False,
    on_session: OnSession | None = None,
) -> ExportResult:
    """Export sessions of a dataset as a BIDS motion dataset (layout, labels and channels: see the module).

    Parameters
    ----------
    dataset : str or os.PathLike
        Dataset folder.
    out : str or os.PathLike
        Output folder, the BIDS dataset's root; created, and it must be empty unless ``overwrite``.
    subject, session : str, optional
        Only this subject's / session's sessions (labels are those of the whole dataset all the same).
    overwrite : bool, default False
        Write into a non-empty folder: files of the same names are replaced, other files kept.
    on_session : callable, optional
        Progress: called with (sessions done, sessions in all) after each session.

    Returns
    -------
    ExportResult
        The sessions exported and the files written.

    Raises
    ------
    DatasetNotFoundError
        If there is no dataset, it has no sessions, or none matches ``subject``/``session``.
    StoreError
        If ``out`` is a file, or a non-empty folder without ``overwrite``.

    Examples
    --------
    >>> export_bids("data", "data-bids")  # doctest: +SKIP
    """
    dataset = Path(dataset)
    labels = _Labels.of(dataset)
    return run_export(
        "bids",
        dataset,
        out,
        lambda ds, root, s: _write_session(labels, ds, root, s),
        subject=subject,
        session=session,
        overwrite=overwrite,
        on_session=on_session,
        write_dataset=lambda root, sessions: _write_dataset(labels, dataset, root, sessions),
    )
