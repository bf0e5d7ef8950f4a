"""From DOT export journals to ``samples`` rows: decode, place in UTC, one row per exported sample.

Each exported file's journal (:mod:`imurehab.ble.dot_export`) is decoded with
:func:`~imurehab.protocols.movella_dot.decode_export` (packets ordered by DataNumber, repeats dropped),
its µs timestamps unwrapped across rollovers and placed in UTC by
:func:`~imurehab.ble.dot_clock.place_recording`.
``sample_index`` is the DataNumber, so a sample that could not be recovered is a missing row (the index
jumps over it); files follow each other in UTC order, a later file's indices shifted to go on from the
earlier one's by the samples its rate would have produced in between. ``device_time`` is the file's timestamps
unwrapped from its first one as exported [µs], so a recording across the 2³² µs rollover goes past 2³².
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from imurehab.ble.dataset import SensorSummary, StudyWrite
from imurehab.ble.dot_clock import latest_clock, place_recording
from imurehab.ble.dot_export import export_folders, messages
from imurehab.ble.files import read_json, safe_name
from imurehab.ble.layout import JournalRoot
from imurehab.errors import ImurehabError, ProtocolError
from imurehab.protocols.movella_dot import decode_export, is_export_data, parse_frame
from imurehab.store import write_recording
from imurehab.types import Recording, SensorInfo, SensorSamples, SessionInfo, us_to_datetime

__all__ = ["dot_sensor", "write_dot_study"]


def _file(folder: Path) -> tuple[dict[str, Any], Any] | None:
    """A journal's meta and its decoded samples (None when it holds no sample)."""
    meta = read_json(folder / "meta.json") or {}
    path = folder / "frames.bin"
    packets = []
    for m in messages(path.read_bytes() if path.exists() else b""):
        try:
            parse_frame(m)
        except ProtocolError:
            continue
        if is_export_data(m):
            packets.append(m)
    if not packets:
        return None
    samples, _ = decode_export(packets, tuple(meta["selection"]))
    return meta, samples


def dot_sensor(root: JournalRoot, serial: str, folders: list[Path]) -> tuple[SensorSamples, SensorSummary]:
    """One DOT's exported recordings as ``samples`` rows.

    Parameters
    ----------
    root : JournalRoot
        The dataset's journal (the sensor's clock measurements are in its folder).
    serial : str
        The sensor's serial.
    folders : list of Path
        Its export journals.

    Returns
    -------
    (SensorSamples, SensorSummary)

    Raises
    ------
    ImurehabError
        When no journal holds a sample, or a file has no timestamps.
    """
    clock = latest_clock(root.device_dir(serial))
    files = [f for f in (_file(folder) for folder in folders) if f is not None]
    if not files:
        raise ImurehabError(f"{serial}: no exported sample to write")
    parts = []
    for epoch, (meta, s) in enumerate(files, start=1):
        if s.time_us is None or s.quantities.get("acc") is None or s.quantities.get("gyr") is None:
            raise ImurehabError(f"{serial}: the export has no timestamp, acceleration or angular velocity")
        model = place_recording(int(s.time_us[0]), int(meta["start_utc_s"]), clock, epoch=epoch)
        parts.append((model.to_utc_us(s.time_us), s.time_us, s, model, meta))
    parts.sort(key=lambda p: float(p[0][0]))
    longest = max(parts, key=lambda p: len(p[1]))[1]
    rate = 1e6 / float(np.median(np.diff(longest))) if len(longest) > 1 else 0.0
    summary = SensorSummary(safe_name(serial))
    index, base, previous = [], 0, None
    for utc, _, s, _, _ in parts:
        assert s.data_number is not None
        if previous is not None:
            base = previous[0] + max(1, round((utc[0] - previous[1]) * rate / 1e6)) - int(s.data_number[0])
        index.append(s.data_number + base)
        previous = (int(index[-1][-1]), float(utc[-1]))
        jumps = np.diff(s.data_number)
        summary.gaps += int((jumps > 1).sum())
        summary.lost_samples += int((jumps[jumps > 1] - 1).sum())
    clocks = {p[3].boot_id: p[3] for p in parts}
    bound = max(float(np.max(p[3].uncertainty_at(p[0][[0, -1]]))) for p in parts)
    summary.boots, summary.clocks, summary.clock_uncertainty_us = sorted(clocks), clocks, bound
    verified = [(read_json(Path(f) / "verified.json") or {}) for f in folders]
    info = SensorInfo(
        sensor_id=summary.sensor_id,
        family="movella-dot",
        rate_hz=rate,
        device_clock_hz=1e6,
        serial=serial,
        clocks=tuple(clocks[b] for b in sorted(clocks)),
        clock_uncertainty_us=bound,
        log_verified=all(v.get("data_numbers") is not None and not v.get("invalid") for v in verified),
    )
    samples = SensorSamples(
        info=info,
        time_us=np.rint(np.concatenate([p[0] for p in parts])).astype(np.int64),
        acc=np.concatenate([p[2].quantities["acc"] for p in parts]),
        gyr=np.concatenate([p[2].quantities["gyr"] for p in parts]),
        mag=None,
        sample_index=np.concatenate(index),
        device_time=np.concatenate([p[1] for p in parts]).astype(np.int64),
        flags=np.zeros(sum(len(p[1]) for p in parts), dtype=np.uint16),
    )
    summary.samples = len(samples)
    return samples, summary


def write_dot_study(root: JournalRoot, study: tuple[str, str]) -> StudyWrite:
    """Decode every DOT export journal of a study session and (re)write its ``samples`` and ``sessions``.

    Parameters
    ----------
    root : JournalRoot
        The dataset's journal.
    study : (subject, session)
        The study session.

    Returns
    -------
    StudyWrite
        Files written and a summary per serial (a sensor that could not be written carries its error).
    """
    sensors, summaries = [], {}
    for serial, folders in sorted(export_folders(root, study).items()):
        try:
            samples, summary = dot_sensor(root, serial, folders)
        except ImurehabError as err:
            summaries[serial] = SensorSummary(safe_name(serial), error=str(err))
            continue
        summaries[serial] = summary
        sensors.append(samples)
    if not sensors:
        return StudyWrite([], summaries)
    start = min(int(s.time_us[0]) for s in sensors)
    info = SessionInfo(session_id=study[1], subject_id=study[0], start_time=us_to_datetime(start))
    paths = write_recording(Recording(info, tuple(sensors)), root.out, overwrite=True)
    return StudyWrite(paths, summaries)
