"""From DOT journals to ``samples`` rows: live streams and exported recordings, placed in UTC and merged.

A DOT's journals of a study session (:func:`dot_folders`) are of two kinds, each turned into *parts*
(runs of samples on one clock):

- **Live stream** journals (``stream-…``, meta ``family`` ``"movella-dot"``: records of settings and
  payload notifications with their arrival times, :mod:`imurehab.ble.polar_journal`) are replayed in the
  order they were started through the same :class:`~imurehab.ble.dot_timeline.DotTimeline` as the live driver,
  so the sample indices, unwrapped device times and gaps are exactly those the stream reported: a lost
  sample is a missing row (``sample_index`` jumps over it, on the sensor's sample grid). Each clock epoch
  is one part, its clock fitted to every sample's arrival (:func:`~imurehab.ble.clock.fit_arrival_clock`).
- **Export** journals (``export-…``, :mod:`imurehab.ble.dot_export`) are decoded with
  :func:`~imurehab.protocols.movella_dot.decode_export` (packets by DataNumber, repeats dropped), their
  µs timestamps unwrapped from the first one and placed in UTC by
  :func:`~imurehab.ble.dot_clock.place_recording`; ``sample_index`` is the DataNumber, so a sample that
  could not be recovered is a missing row.

**Both kinds in one study session** (:func:`merge_parts`): the recording wins. A DOT stamps streamed and
recorded samples with the same SampleTimeFine clock, so a streamed sample is the same instant as a
recorded one when their timestamps are equal (modulo 2³²) and their UTC placements agree within
:data:`SAME_INSTANT_S`; those stream samples are dropped, and so is every other stream sample placed
inside the recording's span (between its first and last sample, half a period either side): the
recording's rows stand there whole and unmixed, rather than stream rows interleaved on another index.
The stream's samples before and after a recording are kept as parts of their own. Nothing is lost by
this: the journals keep every byte. Parts then follow each other in UTC order, a later part's indices
shifted to go on from the earlier one's by the samples the rate would have produced in between (as for
reboots of OSP sensors); gaps are counted within parts only. ``device_time`` is each part's timestamps
unwrapped [µs] (a recording or stream across the 2³² µs rollover goes past 2³²). Clock epochs are
numbered from 0 in UTC order.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from imurehab.ble.clock import fit_arrival_clock
from imurehab.ble.dataset import SensorSummary
from imurehab.ble.dot_clock import clocks_for_export, measured_clocks, place_recording
from imurehab.ble.dot_export import export_folders, messages
from imurehab.ble.dot_timeline import DotTimeline
from imurehab.ble.files import read_json, safe_name
from imurehab.ble.layout import JournalRoot
from imurehab.ble.polar_journal import RECORD_FRAME, RECORD_SETTINGS, records
from imurehab.errors import ImurehabError, ProtocolError
from imurehab.protocols.movella_dot import decode_export, is_export_data, parse_frame
from imurehab.types import SensorInfo, SensorSamples, us_to_datetime
from imurehab.types.clock import ClockModel

__all__ = ["SAME_INSTANT_S", "DotPart", "dot_folders", "dot_sensor", "merge_parts"]

FAMILY: Final = "movella-dot"
SAME_INSTANT_S: Final = 1.0
"""Equal timestamps placed this close in UTC are one instant [s] (the clock wraps every 71.6 min)."""
_WRAP: Final = 1 << 32


@dataclass
class DotPart:
    """A run of one DOT's samples on one clock: a stream epoch or an exported file.

    Attributes
    ----------
    key : str
        Which clock it is on (parts split from one stream epoch share it).
    recorded : bool
        An exported recording (True) or a live stream (False).
    utc : ndarray of float64
        Sample times [µs since the Unix epoch].
    device : ndarray of int64
        Sample times on the sensor clock, unwrapped [µs].
    index : ndarray of int64
        DataNumber (recording) or host-counted index (stream); lost samples skipped.
    acc, gyr : ndarray, shape (n, 3)
        [m/s²], [rad/s].
    mag : ndarray, shape (n, 3), or None
        [µT].
    clock : ClockModel
        Device time → UTC.
    """

    key: str
    recorded: bool
    utc: npt.NDArray[np.float64]
    device: npt.NDArray[np.int64]
    index: npt.NDArray[np.int64]
    acc: npt.NDArray[np.float64]
    gyr: npt.NDArray[np.float64]
    mag: npt.NDArray[np.float64] | None
    clock: ClockModel

    def take(self, keep: npt.NDArray[np.bool_]) -> DotPart:
        """The samples where ``keep`` is True.

        Parameters
        ----------
        keep : ndarray of bool
            One flag per sample.
        """
        mag = None if self.mag is None else self.mag[keep]
        arrays = (self.utc[keep], self.device[keep], self.index[keep], self.acc[keep], self.gyr[keep])
        return replace(
            self, utc=arrays[0], device=arrays[1], index=arrays[2], acc=arrays[3], gyr=arrays[4], mag=mag
        )


def dot_folders(root: JournalRoot, study: tuple[str, str]) -> dict[str, list[Path]]:
    """A study session's DOT journals, by serial: live streams and exported recordings.

    Parameters
    ----------
    root : JournalRoot
        The dataset's journal.
    study : (subject, session)
        The study session.
    """
    found = export_folders(root, study)
    for serial, folders in root.stream_folders(study, FAMILY).items():
        found.setdefault(serial, []).extend(folders)
    return found


def _journal_start(folder: Path) -> int:
    try:
        return int(folder.name.rsplit("-", 1)[-1])
    except ValueError:
        return 0


def _stream_parts(folders: list[Path]) -> tuple[list[DotPart], int]:
    """Replay a sensor's live journals in start order: one part per clock epoch, and frames rejected."""
    timeline: DotTimeline | None = None
    mode, rejected = 0, 0
    epochs: dict[int, list[tuple[int, int, int, Any]]] = {}  # epoch → (host µs, device µs, index, quantities)
    for folder in sorted(folders, key=lambda f: (_journal_start(f), f.name)):
        path = folder / "frames.bin"
        for kind, host_ns, payload in records(path.read_bytes() if path.exists() else b""):
            if kind == RECORD_SETTINGS:
                settings = json.loads(payload)
                mode, rate = int(settings["payload_mode"]), float(settings["rate_hz"])
                timeline = timeline or DotTimeline(rate)
                timeline.tracker.start_run(rate)
                continue
            if kind != RECORD_FRAME or timeline is None:
                continue
            try:
                placed = timeline.place(payload, mode)
            except ProtocolError:
                rejected += 1
                continue
            if placed is not None:
                samples, index, epoch = placed
                assert samples.time_us is not None
                row = (host_ns // 1000, int(samples.time_us[0]), index, samples.quantities)
                epochs.setdefault(epoch, []).append(row)
    parts = []
    for epoch, rows in sorted(epochs.items()):
        host = np.array([r[0] for r in rows], dtype=np.int64)
        device = np.array([r[1] for r in rows], dtype=np.int64)
        clock = fit_arrival_clock(host, device, boot_id=epoch)
        mags = [r[3].get("mag") for r in rows]
        parts.append(
            DotPart(
                key=f"stream-{epoch}",
                recorded=False,
                utc=np.asarray(clock.to_utc_us(device), dtype=np.float64),
                device=device,
                index=np.array([r[2] for r in rows], dtype=np.int64),
                acc=np.concatenate([r[3]["acc"] for r in rows]),
                gyr=np.concatenate([r[3]["gyr"] for r in rows]),
                mag=None if any(m is None for m in mags) else np.concatenate(mags),
                clock=clock,
            )
        )
    return parts, rejected


def _export_part(
    folder: Path, serial: str, measured: list[tuple[int, ClockModel]], epoch: int
) -> DotPart | None:
    """One exported file as a part (None when its journal holds no sample).

    Placed by the clock measured at its sync (:func:`~imurehab.ble.dot_clock.clocks_for_export`).
    """
    meta = read_json(folder / "meta.json") or {}
    downloaded = (read_json(folder / "verified.json") or {}).get("host_us")
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
    s, _ = decode_export(packets, tuple(meta["selection"]))
    acc, gyr = s.quantities.get("acc"), s.quantities.get("gyr")
    if s.time_us is None or acc is None or gyr is None:
        raise ImurehabError(f"{serial}: the export has no timestamp, acceleration or angular velocity")
    assert s.data_number is not None
    start = int(meta["start_utc_s"])
    clocks = clocks_for_export(measured, start, None if downloaded is None else int(downloaded))
    model = place_recording(int(s.time_us[0]), start, clocks, epoch=epoch)
    utc = np.asarray(model.to_utc_us(s.time_us), dtype=np.float64)
    device = s.time_us.astype(np.int64)
    return DotPart(
        f"export-{epoch}", True, utc, device, s.data_number.astype(np.int64), acc, gyr, None, model
    )


def _span(part: DotPart) -> str:
    first, last = (us_to_datetime(round(float(part.utc[i]))) for i in (0, -1))
    return f"{first:%Y-%m-%d %H:%M:%S.%f} to {last:%H:%M:%S.%f} UTC"


def merge_parts(parts: list[DotPart], rate_hz: float) -> list[DotPart]:
    """Drop stream samples a recording holds (see the module notes) and order the parts in UTC.

    Parameters
    ----------
    parts : list of DotPart
        A sensor's stream epochs and exported files.
    rate_hz : float
        Output rate [Hz] (half a period either side of a recording counts as its span).

    Returns
    -------
    list of DotPart
        Non-empty parts in UTC order; a stream part cut by a recording becomes the pieces around it.
    """
    half = 0.5e6 / rate_hz
    recorded = [p for p in parts if p.recorded]
    out = list(recorded)
    for p in (p for p in parts if not p.recorded):
        drop = np.zeros(len(p.utc), dtype=bool)
        for r in recorded:
            drop |= (p.utc >= r.utc[0] - half) & (p.utc <= r.utc[-1] + half)
            near = np.abs(p.utc - np.clip(p.utc, r.utc[0], r.utc[-1])) <= SAME_INSTANT_S * 1e6
            drop |= near & np.isin(p.device % _WRAP, r.device % _WRAP)
        kept = np.flatnonzero(~drop)
        runs = np.split(kept, np.flatnonzero(np.diff(kept) > 1) + 1) if len(kept) else []
        for run in runs:
            keep = np.zeros(len(p.utc), dtype=bool)
            keep[run] = True
            out.append(p.take(keep))
    return sorted(out, key=lambda q: float(q.utc[0]))


def dot_sensor(root: JournalRoot, serial: str, folders: list[Path]) -> tuple[SensorSamples, SensorSummary]:
    """One DOT's journals (live streams, exported recordings) as ``samples`` rows.

    Parameters
    ----------
    root : JournalRoot
        The dataset's journal (the clock measurements of exports are in the sensor's folder).
    serial : str
        The sensor's serial.
    folders : list of Path
        Its journals of the study session (``stream-…`` and ``export-…``).

    Returns
    -------
    (SensorSamples, SensorSummary)

    Raises
    ------
    ImurehabError
        When no journal holds a sample, or a file has no timestamps, acceleration or angular velocity.
    """
    streams, rejected = _stream_parts([f for f in folders if f.name.startswith("stream-")])
    exports = [f for f in folders if f.name.startswith("export-")]
    measured = measured_clocks(root.device_dir(serial)) if exports else []
    files = [_export_part(f, serial, measured, epoch) for epoch, f in enumerate(exports, start=1)]
    parts = streams + [p for p in files if p is not None]
    if not parts:
        raise ImurehabError(f"{serial}: no streamed or exported sample to write")
    longest = max(parts, key=lambda p: len(p.device)).device
    rate = 1e6 / float(np.median(np.diff(longest))) if len(longest) > 1 else 0.0
    parts = merge_parts(parts, rate) if rate > 0 else parts
    for a, b in itertools.pairwise(parts):
        if b.utc[0] <= a.utc[-1]:
            raise ImurehabError(
                f"{serial}: {a.key} ({_span(a)}) and {b.key} ({_span(b)}) overlap in time, which one "
                "sensor cannot record: a clock of another power cycle placed one of them; both stay in "
                "the journal, neither is written"
            )
    summary = SensorSummary(safe_name(serial), rejected_frames=rejected)
    boots = {key: b for b, key in enumerate(dict.fromkeys(p.key for p in parts))}
    index, previous = [], None
    for p in parts:
        base = 0
        if previous is not None:
            base = previous[0] + max(1, round((p.utc[0] - previous[1]) * rate / 1e6)) - int(p.index[0])
        index.append(p.index + base)
        previous = (int(index[-1][-1]), float(p.utc[-1]))
        jumps = np.diff(p.index)
        summary.gaps += int((jumps > 1).sum())
        summary.lost_samples += int((jumps[jumps > 1] - 1).sum())
    clocks = {boots[p.key]: replace(p.clock, boot_id=boots[p.key]) for p in parts}
    bound = max(float(np.max(p.clock.uncertainty_at(p.utc[[0, -1]]))) for p in parts)
    summary.boots, summary.clocks, summary.clock_uncertainty_us = sorted(clocks), clocks, bound
    verified = [read_json(f / "verified.json") or {} for f in exports]
    info = SensorInfo(
        sensor_id=summary.sensor_id,
        family=FAMILY,
        rate_hz=rate,
        device_clock_hz=1e6,
        serial=serial,
        clocks=tuple(clocks[b] for b in sorted(clocks)),
        clock_uncertainty_us=bound,
        log_verified=all(v.get("data_numbers") is not None and not v.get("invalid") for v in verified)
        if exports
        else None,
    )
    mags = [p.mag for p in parts]
    samples = SensorSamples(
        info=info,
        time_us=np.rint(np.concatenate([p.utc for p in parts])).astype(np.int64),
        acc=np.concatenate([p.acc for p in parts]),
        gyr=np.concatenate([p.gyr for p in parts]),
        mag=None if any(m is None for m in mags) else np.concatenate(mags),  # type: ignore[arg-type]
        sample_index=np.concatenate(index),
        device_time=np.concatenate([p.device for p in parts]),
        flags=np.zeros(sum(len(p.index) for p in parts), dtype=np.uint16),
    )
    summary.samples = len(samples)
    return samples, summary
