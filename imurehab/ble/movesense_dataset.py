"""From Movesense journals to ``samples`` rows: live streams and verified logs, placed in UTC.

Registered in :data:`imurehab.ble.dataset.FAMILY_READERS` (``"movesense-gsp"``): :func:`movesense_folders`
finds a study session's journals, :func:`movesense_sensor` makes one sensor's rows.

- **Live streams** (``stream-…`` folders whose ``meta.json`` says ``family: movesense-gsp``): the records
  (:mod:`imurehab.ble.polar_journal`: the subscription's settings, then every notification with its
  arrival time) are replayed through :class:`~imurehab.ble.movesense_stream.MeasStream`, the state
  machine the live driver ran: the same joins, the same held messages dropped, the same gaps. Each
  message's arrival is a one-way clock observation (its last sample's device time).
- **Verified logs** (``movesense-log-<id>/log.sbem``): each entry is decoded
  (:func:`~imurehab.protocols.movesense.decode_log`); its clock observations are those of the sync's clock
  probe (``movesense-clock/probe-*.json``: arrivals of a short subscription) of the same boot, the newest
  whose first device time is after the entry's last sample. A sensor rebooted since it logged has
  restarted that clock: its entries cannot be placed and are reported.

Messages are grouped by sensor boot. A log and a stream are **the same boot** when their clocks put the
device clock at the same UTC within far less than the uptime: two boots' clocks differ by at least the
earlier boot's uptime at its first sample, so ``|Δ offset| + both bounds <`` the smaller first device time
proves it. Then the log wins: stream messages overlapping a log entry's span are left out, and the
arrivals of both fit one clock (:func:`~imurehab.ble.clock.fit_arrival_clock`; a stream minutes long gives
the log a fitted drift). Otherwise they are separate boots. Per boot the messages go, in time order,
through a :class:`~imurehab.ble.movesense_gaps.MeasLossTracker` (each log entry and each stream run a new
run): ``sample_index`` is on the rate grid and a lost sample is a missing row. Boots follow each other in
UTC order, a later boot's indices shifted by the samples the rate would have produced in between (as for
OSP). ``device_time`` keeps the stamps as decoded; ``time`` is the clock at the line through each boot's
(sample index, stamp) pairs, since the whole-ms stamps scatter up to 1 ms about the grid the samples were
taken on. GSP gives no ranges, so no saturation flags are set.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np

from imurehab.ble.clock import fit_arrival_clock
from imurehab.ble.dataset import SensorSummary
from imurehab.ble.files import read_json, safe_name
from imurehab.ble.layout import JournalRoot
from imurehab.ble.movesense_gaps import MeasLossTracker
from imurehab.ble.movesense_stream import MeasMessage, MeasStream
from imurehab.ble.polar_journal import RECORD_FRAME, RECORD_SETTINGS, records
from imurehab.errors import ImurehabError, ProtocolError
from imurehab.protocols.movesense import decode_log, meas_resource
from imurehab.types import SensorInfo, SensorSamples
from imurehab.types.clock import ClockModel

__all__ = ["FAMILY", "LOG_PREFIX", "PROBE_DIR", "movesense_folders", "movesense_sensor"]

FAMILY: Final = "movesense-gsp"
LOG_PREFIX: Final = "movesense-log-"
"""Folder prefix of a Logbook entry's journal under the device folder."""
PROBE_DIR: Final = "movesense-clock"
"""Folder of the clock probes (arrivals of a short subscription) under the device folder."""
_WRAP: Final = 1 << 32


@dataclass
class _Boot:
    """One sensor boot's messages (in runs) and the (host µs, device µs) arrivals that place its clock."""

    path: str
    runs: list[list[MeasMessage]]
    arrivals: list[tuple[int, int]]
    logged: bool = False
    log_spans: list[tuple[int, int]] = field(default_factory=list)  # device µs [start, end) of log entries

    @property
    def first_device_us(self) -> int:
        return min(int(r[0].device_us[0]) for r in self.runs)

    def clock(self) -> ClockModel:
        return fit_arrival_clock(*np.array(self.arrivals, dtype=np.int64).T)


def movesense_folders(root: JournalRoot, study: tuple[str, str]) -> dict[str, list[Path]]:
    """The Movesense journals of a study session, by serial: stream runs and verified log entries.

    Parameters
    ----------
    root : JournalRoot
        The dataset's journal.
    study : (subject, session)
        The study session.
    """
    found = root.stream_folders(study, FAMILY)
    for folder in sorted(root.path.glob(f"*/{LOG_PREFIX}*")) if root.path.is_dir() else []:
        meta = read_json(folder / "meta.json") or {}
        if (folder / "verified.json").exists() and (meta.get("subject"), meta.get("session")) == study:
            found.setdefault(str(meta["serial"]), []).append(folder)
    return found


def _replay(folders: list[Path]) -> tuple[list[_Boot], int]:
    """The stream journals replayed in start order: one _Boot per boot seen, and notifications rejected."""
    stream: MeasStream | None = None
    messages: list[MeasMessage] = []
    path = ""
    rejected = 0
    for folder in sorted(folders, key=lambda f: (int(f.name.rsplit("-", 1)[-1]), f.name)):
        frames = folder / "frames.bin"
        for kind, host_ns, payload in records(frames.read_bytes() if frames.exists() else b""):
            if kind == RECORD_SETTINGS:
                settings = json.loads(payload)
                if stream is not None and settings["path"] != stream.path:
                    raise ImurehabError(
                        f"{folder.parent.name}: streams of {stream.path} and {settings['path']}"
                    )
                stream = stream or MeasStream(str(settings["path"]))
                path = stream.path
                stream.start_run(int(settings["reference"]))
            elif kind == RECORD_FRAME and stream is not None:
                try:
                    messages += stream.feed(host_ns, payload)
                except ProtocolError:
                    rejected += 1
    boots: dict[int, _Boot] = {}
    for m in messages:
        boot = boots.setdefault(m.boot_id, _Boot(path, [], []))
        if not boot.runs or boot.runs[-1][-1].run != m.run:
            boot.runs.append([])
        boot.runs[-1].append(m)
        boot.arrivals.append((m.host_ns // 1000, int(m.device_us[-1])))
    return list(boots.values()), rejected


def _entry_messages(folder: Path) -> tuple[str, list[MeasMessage]] | None:
    """A verified entry's IMU messages (the first resource holding acc and gyr), None without one."""
    for path, s in decode_log((folder / "log.sbem").read_bytes()).items():
        if s.acc is None or s.gyr is None or not len(s.time_ns):
            continue
        n = s.samples_per_message
        out = []
        for k, stamp in enumerate(s.timestamp_ms.tolist()):
            rows = slice(k * n, (k + 1) * n)
            mag = None if s.mag is None else s.mag[rows]
            out.append(
                MeasMessage(0, 0, 0, 0, int(stamp), s.time_ns[rows] // 1000, s.acc[rows], s.gyr[rows], mag)
            )
        return path, out
    return None


def _log_boot(device_dir: Path, serial: str, folders: list[Path]) -> _Boot | None:
    """The verified entries as one boot, with the arrivals of the probe that places them."""
    entries = [
        e
        for e in map(_entry_messages, sorted(folders, key=lambda f: int(f.name.removeprefix(LOG_PREFIX))))
        if e
    ]
    if not entries:
        return None
    paths = {p for p, _ in entries}
    if len(paths) > 1:
        raise ImurehabError(
            f"{serial}: log entries of different resources {sorted(paths)} in one study session"
        )
    runs = [msgs for _, msgs in entries]
    last = max(int(r[-1].device_us[-1]) for r in runs)
    probes = []
    for probe in sorted((device_dir / PROBE_DIR).glob("probe-*.json")):
        arrivals = [(int(h), int(d)) for h, d in json.loads(probe.read_text())["arrivals"]]
        if arrivals and min(d for _, d in arrivals) >= last:
            probes.append(arrivals)
    if not probes:
        raise ImurehabError(
            f"{serial}: no clock probe of the boot that logged (the sensor rebooted, or no probe was made): "
            "its ms-since-boot stamps cannot be placed in UTC"
        )
    period_us = 1e6 / float(meas_resource(entries[0][0])[1] or 1.0)
    spans = [(int(r[0].device_us[0]), int(r[-1].device_us[-1] + period_us)) for r in runs]
    return _Boot(entries[0][0], runs, probes[-1], logged=True, log_spans=spans)


def _same_boot(a: _Boot, b: _Boot) -> bool:
    """Whether two boots' clocks agree far within the uptime (see the module docstring)."""
    ca, cb = a.clock(), b.clock()
    at = (cb.first_utc_us + cb.last_utc_us) / 2
    apart = abs(float(ca.to_device_us(at)) - float(cb.to_device_us(at)))
    bound = float(ca.uncertainty_at(at)) + float(cb.uncertainty_at(at))
    return apart + bound < min(a.first_device_us, b.first_device_us)


def _merge_log(boots: list[_Boot], log: _Boot) -> list[_Boot]:
    """Put the log into the stream boot it belongs to (the log wins where both hold samples), else alone."""
    for boot in boots:
        if boot.path != log.path or not _same_boot(boot, log):
            continue
        kept: list[list[MeasMessage]] = []
        for run in boot.runs:
            kept.append([])
            for m in run:
                start, end = int(m.device_us[0]), int(m.device_us[-1])
                if any(start < e and end >= s for s, e in log.log_spans):
                    kept.append([])  # the run goes on after the log's span as a new piece
                else:
                    kept[-1].append(m)
        kept = [piece for piece in kept if piece]
        boot.runs, boot.arrivals = kept + log.runs, boot.arrivals + log.arrivals
        boot.logged, boot.log_spans = True, log.log_spans
        return boots
    if any(b.path != log.path for b in boots):
        raise ImurehabError(f"streams of {boots[0].path} and a log of {log.path} in one study session")
    return [*boots, log]


def _indexed(boot: _Boot, rate: float) -> tuple[np.ndarray, np.ndarray, list[MeasMessage]]:
    """The boot's messages in time order through one loss tracker: (sample index, device µs, messages)."""
    tracker = MeasLossTracker(rate)
    index, kept = [], []
    for run in sorted(boot.runs, key=lambda r: r[0].timestamp_ms):
        tracker.start_run()
        for m in run:
            placed = tracker.message(m.timestamp_ms % _WRAP, len(m.device_us))
            if placed is not None:
                index.append(placed.first_index + np.arange(len(m.device_us), dtype=np.int64))
                kept.append(m)
    return np.concatenate(index), np.concatenate([m.device_us for m in kept]).astype(np.int64), kept


def _on_grid(index: np.ndarray, device_us: np.ndarray) -> np.ndarray:
    """Device times of one boot's samples from the line through (sample index, stamped time) [µs].

    A Movesense stamps each message in whole ms since boot and its samples lie on one rate grid of that
    clock, so the stamps scatter up to 1 ms about a line in the sample index; the line (least squares,
    its slope the sample period on the device clock) gives each sample's device time to a few µs. Kept
    as stamped when some stamp is more than 1.5 ms off the line (not one grid).
    """
    if len(index) < 3:
        return device_us
    k = index - index[0]
    slope, intercept = np.polyfit(k.astype(np.float64), device_us.astype(np.float64), 1)
    fitted = intercept + slope * k
    if np.max(np.abs(fitted - device_us)) > 1500.0:
        return device_us
    return np.rint(fitted).astype(np.int64)


def movesense_sensor(
    root: JournalRoot, serial: str, folders: list[Path]
) -> tuple[SensorSamples, SensorSummary]:
    """One Movesense sensor's stream and log journals of a study session as ``samples`` rows.

    Parameters
    ----------
    root : JournalRoot
        The dataset's journal (the sync's clock probes are in the sensor's folder).
    serial : str
        The sensor's serial.
    folders : list of Path
        Its ``stream-…`` and ``movesense-log-…`` journals.

    Returns
    -------
    (SensorSamples, SensorSummary)
        Rows (acc [m/s²], gyr [rad/s], mag [µT], UTC µs, device time µs since boot) and figures.

    Raises
    ------
    ImurehabError
        When the journals hold no IMU message, a log has no probe of its boot, resources or rates differ,
        or two boots overlap in UTC.
    """
    boots, rejected = _replay([f for f in folders if not f.name.startswith(LOG_PREFIX)])
    log = _log_boot(root.device_dir(serial), serial, [f for f in folders if f.name.startswith(LOG_PREFIX)])
    if log is not None:
        boots = _merge_log(boots, log)
    if not boots:
        raise ImurehabError(f"{serial}: no journal holds accelerometer and gyroscope samples")
    rate = float(meas_resource(boots[0].path)[1] or 0.0)
    summary = SensorSummary(safe_name(serial), rejected_frames=rejected)
    placed: list[tuple[Any, Any, Any, list[MeasMessage], ClockModel]] = []
    for b, boot in enumerate(boots):
        index, device_us, messages = _indexed(boot, rate)
        clock = fit_arrival_clock(*np.array(boot.arrivals, dtype=np.int64).T, boot_id=b)
        placed.append((index, device_us, clock.to_utc_us(_on_grid(index, device_us)), messages, clock))
    placed.sort(key=lambda p: float(p[2][0]))
    rows: list[tuple[Any, Any, Any, list[MeasMessage]]] = []
    previous: tuple[int, float] | None = None
    for index, device_us, utc, messages, clock in placed:
        jumps = np.diff(index)
        summary.gaps += int((jumps > 1).sum())
        summary.lost_samples += int((jumps[jumps > 1] - 1).sum())
        if previous is not None:
            if utc[0] <= previous[1]:
                raise ImurehabError(f"{serial}: two boots overlap in UTC; their samples cannot be ordered")
            index = index + previous[0] + max(1, round((utc[0] - previous[1]) * rate / 1e6)) - int(index[0])
        previous = (int(index[-1]), float(utc[-1]))
        rows.append((index, device_us, utc, messages))
        bound = float(np.max(clock.uncertainty_at(utc[[0, -1]])))
        known = summary.clock_uncertainty_us
        summary.clock_uncertainty_us = bound if math.isnan(known) else max(known, bound)
        summary.clocks[clock.boot_id] = clock
    summary.boots = [p[4].boot_id for p in placed]
    messages = [m for r in rows for m in r[3]]
    mags = [m.mag for m in messages]
    info = SensorInfo(
        sensor_id=summary.sensor_id,
        family=FAMILY,
        rate_hz=rate,
        device_clock_hz=1e6,
        serial=serial,
        clocks=tuple(summary.clocks[b] for b in summary.boots),
        clock_uncertainty_us=summary.clock_uncertainty_us,
        log_verified=True if any(b.logged for b in boots) else None,
    )
    samples = SensorSamples(
        info=info,
        time_us=np.rint(np.concatenate([r[2] for r in rows])).astype(np.int64),
        acc=np.concatenate([m.acc for m in messages]),  # type: ignore[misc]
        gyr=np.concatenate([m.gyr for m in messages]),  # type: ignore[misc]
        mag=None if any(g is None for g in mags) else np.concatenate(mags),  # type: ignore[arg-type]
        sample_index=np.concatenate([r[0] for r in rows]),
        device_time=np.concatenate([r[1] for r in rows]),
        flags=np.zeros(sum(len(m.device_us) for m in messages), np.uint16),
    )
    summary.samples = len(samples)
    return samples, summary
