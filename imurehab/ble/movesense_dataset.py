"""From verified Movesense log files to ``samples`` rows: decode, index, place in UTC.

A verified entry (``<out>/_journal/<serial>/movesense-log-<id>/log.sbem``) is decoded with
:func:`~imurehab.protocols.movesense.decode_log`; its IMU messages go through the same
:class:`~imurehab.ble.movesense_gaps.MeasLossTracker` as a live stream (so a sample the sensor itself
did not log is a jump of ``sample_index``, and the time between two entries is one). The samples are
stamped in ms since boot; they are placed in UTC with a clock fitted to the arrivals of a short live
subscription made by the sync (``movesense-clock/probe-*.json``): a probe of the same boot (its first
device time after the entry's last sample) — a sensor that rebooted since it logged has restarted that
clock, and its entries cannot be placed.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np

from imurehab.ble.clock import fit_arrival_clock
from imurehab.ble.files import safe_name
from imurehab.ble.layout import JournalRoot
from imurehab.ble.movesense_gaps import MeasLossTracker
from imurehab.errors import ImurehabError
from imurehab.protocols.movesense import decode_log, meas_resource
from imurehab.store import write_recording
from imurehab.types import Recording, SensorInfo, SensorSamples, SessionInfo, us_to_datetime
from imurehab.types.clock import ClockModel

__all__ = ["LOG_PREFIX", "PROBE_DIR", "MovesenseWrite", "movesense_log_samples", "write_movesense"]

FAMILY: Final = "movesense-gsp"
LOG_PREFIX: Final = "movesense-log-"
"""Folder prefix of a Logbook entry's journal under the device folder."""
PROBE_DIR: Final = "movesense-clock"
"""Folder of the clock probes (arrivals of a short subscription) under the device folder."""


@dataclass
class MovesenseWrite:
    """One sensor's rows and figures, or why it has none."""

    samples: SensorSamples | None = None
    gaps: int = 0
    lost_samples: int = 0
    clocks: dict[int, ClockModel] = field(default_factory=dict)
    clock_uncertainty_us: float = math.nan
    error: str | None = None


def _probe_clocks(device_dir: Path) -> list[tuple[float, ClockModel]]:
    """(first device time [µs], clock) of every probe, newest last."""
    out = []
    for path in sorted((device_dir / PROBE_DIR).glob("probe-*.json")):
        arrivals = np.array(json.loads(path.read_text())["arrivals"], dtype=np.int64)
        if len(arrivals):
            out.append((float(arrivals[:, 1].min()), fit_arrival_clock(arrivals[:, 0], arrivals[:, 1])))
    return out


def movesense_log_samples(device_dir: Path, serial: str, folders: list[Path]) -> MovesenseWrite:
    """The ``samples`` rows of a sensor's verified log entries, oldest entry first.

    Parameters
    ----------
    device_dir : Path
        ``<out>/_journal/<serial>``.
    serial : str
        The sensor's serial.
    folders : list of Path
        Its verified ``movesense-log-<id>`` folders.

    Returns
    -------
    MovesenseWrite
        Rows (acc [m/s²], gyr [rad/s], mag [µT], UTC µs) and figures, or the ``error`` that left them out.
    """
    parts = []
    for folder in sorted(folders, key=lambda f: int(f.name.removeprefix(LOG_PREFIX))):
        for path, s in decode_log((folder / "log.sbem").read_bytes()).items():
            if s.acc is not None and s.gyr is not None and len(s.time_ns):
                parts.append((path, s))
                break
    if not parts:
        return MovesenseWrite(error=f"{serial}: no log entry holds accelerometer and gyroscope samples")
    path = parts[0][0]
    rate = float(meas_resource(path)[1] or 0.0)
    tracker = MeasLossTracker(rate, meas_resource(path)[0])
    index, device_us, acc, gyr, mags = [], [], [], [], []
    for _, s in parts:
        tracker.start_run()
        n = s.samples_per_message
        for m, stamp in enumerate(s.timestamp_ms.tolist()):
            placed = tracker.message(int(stamp) % (1 << 32), n)
            if placed is None:
                continue
            rows = slice(m * n, (m + 1) * n)
            index.append(placed.first_index + np.arange(n, dtype=np.int64))
            device_us.append((placed.timestamp_ms * 1_000_000 + s.time_ns[rows] - s.time_ns[m * n]) // 1000)
            acc.append(s.acc[rows])  # type: ignore[index]
            gyr.append(s.gyr[rows])  # type: ignore[index]
            mags.append(None if s.mag is None else s.mag[rows])
    dev = np.concatenate(device_us)
    probes = [(start, c) for start, c in _probe_clocks(device_dir) if start >= dev[-1]]
    if not probes:
        return MovesenseWrite(
            error=f"{serial}: no clock probe of the boot that logged (the sensor rebooted, or no probe "
            "was made): its ms-since-boot stamps cannot be placed in UTC"
        )
    clock = probes[-1][1]
    utc = clock.to_utc_us(dev.astype(np.float64))
    bound = float(np.max(clock.uncertainty_at(utc[[0, -1]])))
    info = SensorInfo(
        sensor_id=safe_name(serial),
        family=FAMILY,
        rate_hz=rate,
        device_clock_hz=1e3,
        serial=serial,
        clocks=(clock,),
        clock_uncertainty_us=bound,
        log_verified=True,
    )
    mag = None if any(m is None for m in mags) else np.concatenate(mags)  # type: ignore[arg-type]
    idx = np.concatenate(index)
    samples = SensorSamples(
        info=info,
        time_us=np.rint(utc).astype(np.int64),
        acc=np.concatenate(acc),
        gyr=np.concatenate(gyr),
        mag=mag,
        sample_index=idx,
        device_time=dev,
        flags=np.zeros(len(idx), np.uint16),
    )
    jumps = np.diff(idx)
    return MovesenseWrite(
        samples=samples,
        gaps=int((jumps > 1).sum()),
        lost_samples=int((jumps[jumps > 1] - 1).sum()),
        clocks={0: clock},
        clock_uncertainty_us=bound,
    )


def write_movesense(
    root: JournalRoot, study: tuple[str, str]
) -> tuple[list[Path], dict[str, MovesenseWrite]]:
    """Decode every verified Movesense log of a study session and write its partitions.

    Parameters
    ----------
    root : JournalRoot
        The dataset's journal.
    study : (subject, session)
        The study session.

    Returns
    -------
    (list of Path, dict of str to MovesenseWrite)
        Files written, and per serial what was written or why not.

    Notes
    -----
    The partitions are rewritten with the Movesense sensors only (``imurehab.ble.dataset.write_study``
    does not read Movesense journals yet).
    """
    folders: dict[str, list[Path]] = {}
    for device in sorted(p for p in root.path.glob("*") if p.is_dir()):
        for folder in sorted(device.glob(f"{LOG_PREFIX}*")):
            meta = json.loads((folder / "meta.json").read_text()) if (folder / "meta.json").exists() else {}
            if (folder / "verified.json").exists() and (meta.get("subject"), meta.get("session")) == study:
                folders.setdefault(str(meta["serial"]), []).append(folder)
    written = {s: movesense_log_samples(root.device_dir(s), s, f) for s, f in folders.items()}
    sensors = [w.samples for w in written.values() if w.samples is not None and len(w.samples)]
    if not sensors:
        return [], written
    start = min(int(s.time_us[0]) for s in sensors)
    info = SessionInfo(session_id=study[1], subject_id=study[0], start_time=us_to_datetime(start))
    try:
        paths = write_recording(Recording(info, tuple(sensors)), root.out, overwrite=True)
    except ImurehabError as err:
        for w in written.values():
            w.error = w.error or str(err)
        return [], written
    return paths, written
