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

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Final, NamedTuple

import polars as pl

from imurehab._version import __version__
from imurehab.export._bids_motion import NA, acq_time, write_json, write_sensor_files, write_text, write_tsv
from imurehab.export._common import ExportResult, ExportSession, OnSession, read_session_table, run_export
from imurehab.store import columns as cols
from imurehab.store import read_table

__all__ = ["BIDS_VERSION", "bids_labels", "export_bids"]

BIDS_VERSION: Final = "1.9.0"
"""The BIDS version written in ``dataset_description.json``: the first with the motion datatype."""

NO_TASK: Final = "unspecified"
"""The task label of a session without an exercise."""


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
    >>> bids_labels(["s-1", "s_1", "S1", "001"])
    {'001': '001', 'S1': 'S1', 's-1': 's12', 's_1': 's13'}
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
        segment = s.placements.get(sensor)
        stem = (
            session_dir / "motion" / f"sub-{sub}_ses-{ses}_task-{task}_tracksys-{tracksys[segment or sensor]}"
        )
        files = write_sensor_files(
            stem, task_name=s.exercise or NO_TASK, meta=meta, segment=segment, samples=mine, orientation=q
        )
        first_us = int(mine.get_column(cols.TIME).dt.epoch("us")[0])
        scans.append([files[0].relative_to(session_dir).as_posix(), acq_time(first_us)])
        written.extend(files)
    written.append(write_tsv(session_dir / f"sub-{sub}_ses-{ses}_scans.tsv", scans))
    return written


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
        write_json(out / "dataset_description.json", description),
        write_text(out / "README", _README.format(version=__version__, dataset=dataset.resolve().name)),
        write_tsv(
            out / "participants.tsv",
            [["participant_id", "imurehab_subject"], *([f"sub-{labels.subjects[x]}", x] for x in subjects)],
        ),
        write_json(
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
                acq_time(s.start_us),
                s.session,
                s.exercise or NA,
            ]
            for s in sessions
            if s.subject == subject
        ]
        written.append(write_tsv(out / f"sub-{sub}" / f"sub-{sub}_sessions.tsv", rows))
        written.append(write_json(out / f"sub-{sub}" / f"sub-{sub}_sessions.json", _SESSIONS_COLUMNS))
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
