"""From the raw journal to the dataset: decode every journal of a study session into ``samples`` rows.

The journal is the source of truth and the Parquet partition is derived from it: every sync or stream
rewrites the ``samples`` and ``sessions`` partitions of its study session from all journals tagged with
it (log sessions and live streams of every sensor), so a resumed or repeated run converges on the same
files. Per sensor and boot, samples are merged by device sample index (the log wins over the stream, so
a following sync fills the live gaps), mapped to UTC with the boot's fitted clock
(:class:`~imurehab.ble.clock.ClockModel`), and boots are put in time order. The device's sample index
restarts at a reboot; a later boot's indices are shifted so that ``sample_index`` keeps increasing and
the jump equals the samples the nominal rate would have produced while the device was down.

Other families' journals are read by their own modules, registered in :data:`FAMILY_READERS`: each
finds its journals of a study session (serial → folders) and turns one sensor's folders into rows. Polar
PMD stream journals (``family`` ``"polar-pmd"`` in their ``meta.json``) are replayed by
:mod:`imurehab.ble.polar_dataset`: one row per ACC sample, GYRO paired onto it by sample time.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from imurehab.align import Alignment, SensorAlignment, align_on_shakes
from imurehab.ble.clock import ClockLog, ClockModel
from imurehab.ble.files import safe_name, write_json_atomic
from imurehab.ble.layout import JournalRoot
from imurehab.errors import ImurehabError
from imurehab.protocols.base import DecodeResult
from imurehab.protocols.osp import Descriptor, LogDecoder
from imurehab.store import write_recording
from imurehab.types import (
    STANDARD_GRAVITY,
    Recording,
    SampleFlags,
    SensorInfo,
    SensorSamples,
    SessionInfo,
    us_to_datetime,
)

__all__ = [
    "FAMILY_READERS",
    "SensorSummary",
    "StudyWrite",
    "decode_frames",
    "whole_frames",
    "write_study",
]


def whole_frames(data: bytes) -> int:
    """Length of the longest prefix of ``data`` made of whole frames (by their ``frame_len``) [bytes].

    Parameters
    ----------
    data : bytes
        A log prefix (frames cut anywhere at the end).

    Examples
    --------
    >>> whole_frames(bytes([1, 1, 0, 0, 10, 0, 0, 0, 0, 0, 1, 1, 0]))
    10
    """
    pos, n = 0, len(data)
    while pos + 6 <= n:
        frame_len = data[pos + 4] | data[pos + 5] << 8
        if frame_len < 10 or pos + frame_len > n:
            break
        pos += frame_len
    return pos


def decode_frames(data: bytes) -> tuple[DecodeResult, Descriptor | None]:
    """Decode concatenated OSP frames, skipping damaged ones (counted in ``info["rejected"]``).

    Parameters
    ----------
    data : bytes
        Frames starting with a DESCRIPTOR frame (a journaled log or stream).

    Returns
    -------
    (DecodeResult, Descriptor or None)
        Samples on the device clock and the last descriptor met.
    """
    decoder = LogDecoder(on_error="skip")
    decoder.feed(data)
    return decoder.result(), decoder.descriptor


@dataclass
class _Piece:
    boot_id: int
    priority: int  # 0 for a log, 1 for a stream: the log wins on equal indices
    result: DecodeResult
    descriptor: Descriptor
    order: int  # smallest device session id of the boot (boots are numbered in time order on the device)
    verified: bool | None  # a log downloaded whole with its length and CRC checked; None for a stream


@dataclass
class SensorSummary:
    """What was written for one sensor.

    Attributes
    ----------
    sensor_id : str
        The ``sensor`` column value (the serial, made a safe identifier).
    samples : int
        Rows written.
    gaps : int
        Jumps of the device sample index within a boot (each one or more samples missing).
    lost_samples : int
        Samples missing inside those jumps.
    boots : list of int
        Boot ids, in time order.
    clocks : dict of int to ClockModel
        The clock used for each boot.
    clock_uncertainty_us : float
        Largest bound on the UTC error of a sample [µs] (inf when a boot had no clock measurement).
    rejected_frames : int
        Damaged frames skipped while decoding.
    error : str or None
        Why the sensor could not be written, if it could not.
    alignment : SensorAlignment or None
        How a shake shared with the session's reference sensor moved its times (or why it did not);
        None for the reference and when no shake was found (:func:`imurehab.align.align_on_shakes`).
    """

    sensor_id: str
    samples: int = 0
    gaps: int = 0
    lost_samples: int = 0
    boots: list[int] = field(default_factory=list)
    clocks: dict[int, ClockModel] = field(default_factory=dict)
    clock_uncertainty_us: float = math.nan
    rejected_frames: int = 0
    error: str | None = None
    alignment: SensorAlignment | None = None


@dataclass
class StudyWrite:
    """Result of :func:`write_study`: the files written and a summary per sensor serial."""

    paths: list[Path]
    sensors: dict[str, SensorSummary]


def _pieces(root: JournalRoot, study: tuple[str, str]) -> dict[str, list[_Piece]]:
    by_serial: dict[str, list[_Piece]] = {}
    order: dict[tuple[str, int], int] = {}
    found = []
    for kind, folder, meta in root.iter_journals():
        if (meta.get("subject"), meta.get("session")) != study or meta.get("family", "osp") != "osp":
            continue
        name = "log.bin" if kind == "log" else "frames.bin"
        path = folder / name
        data = path.read_bytes() if path.exists() else b""
        if kind == "log":
            data = data[: whole_frames(data)]
            key = (str(meta["serial"]), int(meta["boot_id"]))
            order[key] = min(order.get(key, 1 << 40), int(meta["session_id"]))
        if data:
            verified = (folder / "verified.json").exists() if kind == "log" else None
            found.append((kind, meta, data, verified))
    for kind, meta, data, verified in found:
        result, descriptor = decode_frames(data)
        if descriptor is None or not len(result):
            continue
        serial, boot = str(meta["serial"]), int(meta["boot_id"])
        piece = _Piece(
            boot, 0 if kind == "log" else 1, result, descriptor, order.get((serial, boot), 1 << 40), verified
        )
        by_serial.setdefault(serial, []).append(piece)
    return by_serial


def _merge_boot(pieces: list[_Piece]) -> dict[str, Any]:
    """One boot's samples by device index, the log's copy first."""
    pieces = sorted(pieces, key=lambda p: p.priority)
    index = np.concatenate([p.result.sample_index for p in pieces])
    _, first = np.unique(index, return_index=True)
    has_mag = all(p.result.mag is not None for p in pieces)
    out: dict[str, Any] = {"index": index[first]}
    out["time_ns"] = np.concatenate([p.result.time_ns for p in pieces])[first]
    for name in ("acc", "gyr", "mag"):
        if name == "mag" and not has_mag:
            out[name] = None
            continue
        arrays = [getattr(p.result, name) for p in pieces]
        out[name] = None if any(a is None for a in arrays) else np.concatenate(arrays)[first]
    out["rejected"] = sum(sum(p.result.info.get("rejected", {}).values()) for p in pieces)
    return out


def _saturation(values: npt.NDArray[np.float64] | None, scale: float, flag: SampleFlags) -> Any:
    if values is None or scale <= 0:
        return 0
    raw = np.rint(values / scale)
    return np.where(((raw <= -32768) | (raw >= 32767)).any(axis=1), int(flag), 0)


def _fallback_clock(
    boot: int, boots: list[int], models: dict[int, ClockModel], times_us: dict[int, Any], period_us: float
) -> ClockModel:
    """A clock for a boot never measured, placed against the nearest measured boot with its drift.

    The device clock restarts at boot, so the next boot's UTC at device time 0 bounds this boot's end
    (its last sample goes one period before it), or the previous boot's last sample bounds its start.
    How long the device was down in between is unknown, hence an infinite uncertainty.
    """
    later = [b for b in boots[boots.index(boot) + 1 :] if b in models]
    earlier = [b for b in boots[: boots.index(boot)] if b in models]
    if later:
        ref = models[later[0]]
        anchor_utc = float(ref.to_utc_us(0.0)) - period_us
        offset = float(times_us[boot][-1]) - anchor_utc
    else:
        ref = models[earlier[-1]]
        anchor_utc = float(ref.to_utc_us(times_us[earlier[-1]][-1])) + period_us
        offset = float(times_us[boot][0]) - anchor_utc
    anchor = float(round(anchor_utc))  # the same line about a whole-µs reference, as fitted models are
    offset += ref.drift_ppm * 1e-6 * (anchor - anchor_utc)
    return ClockModel(
        boot, anchor, offset, ref.drift_ppm, math.inf, ref.drift_sigma_ppm, anchor, anchor, 0, 0
    )


def _placed(
    boots: list[int],
    merged: dict[int, Any],
    clocks: dict[int, ClockModel],
    rate_hz: float,
    summary: SensorSummary,
) -> list[tuple[Any, Any, dict[str, Any]]]:
    """Each boot's (sample index, UTC µs, samples), boots in time order, the index kept increasing."""
    boots.sort(key=lambda b: float(clocks[b].to_utc_us(merged[b]["time_ns"][0] / 1000)))
    parts, index_base, previous = [], 0, None
    for b in boots:
        m = merged[b]
        utc = clocks[b].to_utc_us(m["time_ns"] / 1000.0)
        index = m["index"].astype(np.int64)
        jumps = np.diff(index)
        summary.gaps += int((jumps > 1).sum())
        summary.lost_samples += int((jumps[jumps > 1] - 1).sum())
        if previous is not None:  # a reboot: the index restarted; the jump spans the downtime
            downtime = max(1, round((utc[0] - previous[1]) * rate_hz / 1e6))
            index_base = previous[0] + downtime - int(index[0])
        mapped = index + index_base
        previous = (int(mapped[-1]), float(utc[-1]))
        parts.append((mapped, np.rint(utc).astype(np.int64), m))
        bound = np.max(clocks[b].uncertainty_at(utc[[0, -1]]))
        previous_bound = 0.0 if math.isnan(summary.clock_uncertainty_us) else summary.clock_uncertainty_us
        summary.clock_uncertainty_us = max(previous_bound, float(bound))
        summary.rejected_frames += m["rejected"]
    return parts


def _log_verified(pieces: list[_Piece]) -> bool | None:
    """Whether every device log behind a sensor's samples checked out (None: streamed samples only)."""
    logs = [p.verified for p in pieces if p.verified is not None]
    return all(logs) if logs else None


def _sensor(
    serial: str, pieces: list[_Piece], models: dict[int, ClockModel]
) -> tuple[SensorSamples, SensorSummary]:
    summary = SensorSummary(safe_name(serial))
    boots = sorted({p.boot_id for p in pieces}, key=lambda b: min(p.order for p in pieces if p.boot_id == b))
    merged = {b: _merge_boot([p for p in pieces if p.boot_id == b]) for b in boots}
    if not any(b in models for b in boots):
        raise ImurehabError(f"{serial}: no clock measurement for any boot; cannot place samples in UTC")
    desc = next(p.descriptor for p in reversed(pieces))
    times_us = {b: m["time_ns"] / 1000.0 for b, m in merged.items()}
    clocks = {
        b: models.get(b) or _fallback_clock(b, boots, models, times_us, 1e6 / desc.rate_hz) for b in boots
    }
    parts = _placed(boots, merged, clocks, desc.rate_hz, summary)
    summary.boots, summary.clocks = boots, clocks
    if any(m["acc"] is None or m["gyr"] is None for _, _, m in parts):
        raise ImurehabError(f"{serial}: the samples table needs accelerometer and gyroscope channels")
    has_mag = all(m["mag"] is not None for _, _, m in parts)

    def column(name: str) -> Any:
        return np.concatenate([m[name] for _, _, m in parts])

    flags = (
        _saturation(column("acc"), desc.acc_scale, SampleFlags.ACC_SATURATED)
        | _saturation(column("gyr"), desc.gyr_scale, SampleFlags.GYR_SATURATED)
        | (_saturation(column("mag"), desc.mag_scale, SampleFlags.MAG_SATURATED) if has_mag else 0)
    )
    info = SensorInfo(
        sensor_id=summary.sensor_id,
        family="osp",
        rate_hz=desc.rate_hz,
        model=desc.imu_model or None,
        firmware=desc.firmware or None,
        acc_range_mps2=desc.acc_range_g * STANDARD_GRAVITY if desc.acc_range_g else None,
        gyr_range_rads=math.radians(desc.gyr_range_dps) if desc.gyr_range_dps else None,
        device_clock_hz=1e6,
        serial=serial,
        clocks=tuple(clocks[b] for b in boots),
        clock_uncertainty_us=summary.clock_uncertainty_us,
        log_verified=_log_verified(pieces),
    )
    samples = SensorSamples(
        info=info,
        time_us=np.concatenate([utc for _, utc, _ in parts]),
        acc=column("acc"),
        gyr=column("gyr"),
        mag=column("mag") if has_mag else None,
        sample_index=np.concatenate([index for index, _, _ in parts]),
        device_time=column("time_ns") // 1000,
        flags=np.broadcast_to(flags, (sum(len(i) for i, _, _ in parts),)).astype(np.uint16),
    )
    summary.samples = len(samples)
    return samples, summary


FolderFinder = Callable[[JournalRoot, tuple[str, str]], dict[str, list[Path]]]
"""``(root, study) → {serial: folders}``: a family's journals of a study session."""
SensorReader = Callable[[JournalRoot, str, list[Path]], tuple[SensorSamples, SensorSummary]]
"""``(root, serial, folders) → (rows, summary)``: one sensor's journals as rows; raises ImurehabError."""

FAMILY_READERS: dict[str, tuple[str, str]] = {
    "polar-pmd": ("imurehab.ble.polar_reader:polar_folders", "imurehab.ble.polar_reader:polar_sensor"),
    "movella-dot": ("imurehab.ble.dot_dataset:dot_folders", "imurehab.ble.dot_dataset:dot_sensor"),
    "movesense-gsp": (
        "imurehab.ble.movesense_dataset:movesense_folders",
        "imurehab.ble.movesense_dataset:movesense_sensor",
    ),
}
"""Families other than OSP whose journals :func:`write_study` reads: family → (finder, reader), each
``module:function`` (a :data:`FolderFinder` and a :data:`SensorReader`), imported when first used."""


def _family_reader(family: str) -> tuple[FolderFinder, SensorReader]:
    def load(spec: str) -> Any:
        module, _, name = spec.partition(":")
        return getattr(importlib.import_module(module), name)

    find, read = FAMILY_READERS[family]
    return load(find), load(read)


def write_study(
    root: JournalRoot, study: tuple[str, str], *, exercise: str | None = None, align: bool = True
) -> StudyWrite:
    """Decode every journal of a study session and (re)write its ``samples`` and ``sessions`` partitions.

    Parameters
    ----------
    root : JournalRoot
        The dataset's journal.
    study : (subject, session)
        The study session.
    exercise : str, optional
        Written to ``sessions``.
    align : bool
        Put the sensors on one timeline by a shake they shared, where they did
        (:func:`imurehab.align.align_on_shakes`); False: each sensor on its own clock only.

    Returns
    -------
    StudyWrite
        Files written (none when there was nothing to decode) and a summary per serial; a sensor that
        could not be written carries its ``error`` and is left out of the partition.
    """
    sensors, summaries = [], {}
    # Each sensor: its clock measurements (OSP) and how its rows are made.
    work: list[tuple[str, dict[int, ClockModel], Callable[[], tuple[SensorSamples, SensorSummary]]]] = []
    for serial, pieces in sorted(_pieces(root, study).items()):
        models = ClockLog(root.device_dir(serial) / "clock.jsonl").models()
        work.append((serial, models, lambda s=serial, p=pieces, m=models: _sensor(s, p, m)))
    for family in FAMILY_READERS:
        find, read = _family_reader(family)
        for serial, folders in sorted(find(root, study).items()):
            work.append((serial, {}, lambda s=serial, f=folders, r=read: r(root, s, f)))  # type: ignore[misc]
    made: list[tuple[str, dict[int, ClockModel], SensorSamples]] = []
    for serial, models, make in work:
        try:
            samples, summary = make()
        except ImurehabError as err:
            summaries[serial] = SensorSummary(safe_name(serial), error=str(err))
            continue
        summaries[serial] = summary
        made.append((serial, models, samples))
    present = [s for _, _, s in made if len(s)]
    moved, alignment = align_on_shakes(present) if align else (present, Alignment(None, {}))
    by_id = {s.info.sensor_id: s for s in moved}
    for serial, models, samples in made:
        summary = summaries[serial]
        if samples.info.sensor_id in alignment.applied:
            samples = by_id[samples.info.sensor_id]
            summary.clocks = {c.boot_id: c for c in samples.info.clocks} or summary.clocks
            bound = samples.info.clock_uncertainty_us
            summary.clock_uncertainty_us = math.inf if bound is None else float(bound)
        summary.alignment = alignment.sensors.get(samples.info.sensor_id)
        clocks = {str(boot): model.to_json() for boot, model in {**models, **summary.clocks}.items()}
        record = {"serial": serial, "boots": clocks}
        write_json_atomic(root.device_dir(serial) / "clock.json", record)
        if len(samples):
            sensors.append(samples)
    if not sensors:
        return StudyWrite([], summaries)
    start = min(int(s.time_us[0]) for s in sensors)
    info = SessionInfo(
        session_id=study[1], subject_id=study[0], start_time=us_to_datetime(start), exercise=exercise
    )
    paths = write_recording(Recording(info, tuple(sensors)), root.out, overwrite=True)
    return StudyWrite(paths, summaries)
