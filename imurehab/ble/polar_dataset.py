"""From Polar PMD stream journals to ``samples`` rows: replay the journal, pair ACC and GYRO, place in UTC.

A Polar sensor's stream journals (:mod:`imurehab.ble.polar_journal`, one per connection) are replayed in
time order through the same :class:`~imurehab.ble.polar_gaps.PmdLossTracker` the live driver used, one
per measurement, so the sample indices, sample times and gaps are exactly those the stream reported. The
sensor clock is fitted to every frame's arrival (:func:`~imurehab.ble.clock.fit_arrival_clock`, per
clock boot), not only the last ones the live estimate kept.

Rows: one per **ACC** sample (``sample_index`` and ``device_time`` are ACC's). Lost ACC samples are
missing rows: ``sample_index`` jumps over them, as for OSP. GYRO (and MAG, when streamed) is put on
ACC's sample times: where a GYRO sample has the same device time (within 1 % of a period: equal rates,
aligned streams) its value is taken as is; otherwise (streams not aligned, or rates that differ) it is
linearly interpolated between the GYRO samples either side. A row whose GYRO value spans a GYRO gap
(its neighbours more than 1.5 GYRO periods apart) or lies outside GYRO's received span (the nearest
value is held) was filled in, not measured: it carries :attr:`~imurehab.SampleFlags.INTERPOLATED`.
So every reported ACC gap is missing rows and every reported GYRO gap is flagged rows.

Offline recordings (journal folders with ``source: "offline"``, :mod:`imurehab.ble.polar_recordings`)
are replayed the same way from their .REC frames, one stream run per recording; a gap inside a
recording is samples the sensor did not store (cause ``"device"``). Their clock is the sync's probe
(:func:`~imurehab.ble.polar_recordings.probe_clock`), not frame arrivals. A sensor's study session holds
either live streams or offline recordings, not both.

A sample whose count is at the limit of its resolution (−2^(b−1) or 2^(b−1) − 1 for ``resolution_bits``
b, 16 when not stored) on any axis is flagged ``ACC_SATURATED``, ``GYR_SATURATED`` or ``MAG_SATURATED``:
the true value may lie beyond the configured range.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from imurehab.ble.clock import fit_arrival_clock
from imurehab.ble.polar_gaps import PmdLossTracker
from imurehab.ble.polar_journal import RECORD_FRAME, RECORD_SETTINGS, records
from imurehab.ble.polar_recordings import is_offline, probe_clock, read_recording
from imurehab.ble.report import Gap
from imurehab.errors import ImurehabError, ProtocolError
from imurehab.protocols.polar_pmd import decode_frames, pmd_profile
from imurehab.types import STANDARD_GRAVITY, SampleFlags
from imurehab.types.clock import ClockModel

__all__ = ["PolarChannel", "PolarReplay", "PolarSensorData", "pair_onto", "polar_rows", "replay_journals"]

FAMILY: Final = "polar-pmd"
_SI_NAME: Final = {"acc": "acc", "gyro": "gyr", "mag": "mag"}
_MATCH: Final = 0.01  # a GYRO sample this close to an ACC time (in the shorter period) is that time's sample
_LOSS_PERIODS: Final = 1.5  # as in polar_gaps: a spacing above this many periods is a gap
_GAUSS_UT: Final = 100.0


@dataclass
class PolarChannel:
    """One measurement stream of a sensor, replayed.

    Attributes
    ----------
    measurement : str
        ``"acc"``, ``"gyro"`` or ``"mag"``.
    index : ndarray of int64
        Host-counted sample indices (lost samples skipped).
    device_ns : ndarray of int64
        Sample times on the sensor clock [ns since 2000-01-01].
    boot : ndarray of int64
        Clock resets seen before each sample.
    values : ndarray, shape (n, 3)
        SI values (m/s², rad/s, µT).
    settings : dict
        The last settings journaled (``sample_rate_hz``, ``range``, ``factor``, ...).
    gaps : list of Gap
        As the live stream reported them.
    """

    measurement: str
    index: npt.NDArray[np.int64]
    device_ns: npt.NDArray[np.int64]
    boot: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    settings: dict[str, float]
    gaps: list[Gap]


@dataclass
class PolarReplay:
    """A Polar sensor's stream journals, replayed: its channels and the arrivals its clock is fitted to."""

    channels: dict[str, PolarChannel] = field(default_factory=dict)
    arrivals: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # boot → (host µs, device µs)
    rejected_frames: int = 0
    clocks: dict[int, ClockModel] = field(default_factory=dict)  # measured otherwise (offline: the probe)


def _journal_start(folder: Path) -> int:
    try:
        return int(folder.name.rsplit("-", 1)[-1])
    except ValueError:
        return 0


def replay_journals(folders: list[Path]) -> PolarReplay:
    """Replay a sensor's Polar stream journals (``frames.bin``) in the order they were started.

    Parameters
    ----------
    folders : list of Path
        Its ``stream-…`` journal folders (any order: sorted by their start time).

    Returns
    -------
    PolarReplay
        Channels with indices, times and gaps equal to what the live driver found.
    """
    replay = PolarReplay()
    trackers: dict[str, PmdLossTracker] = {}
    settings: dict[str, dict[str, Any]] = {}
    parts: dict[str, list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], int, npt.NDArray[np.float64]]]]
    parts = {}
    ordered = sorted(folders, key=lambda f: (_journal_start(f), f.name))
    offline = [f for f in ordered if is_offline(f)]
    if offline:
        if len(offline) != len(ordered):
            raise ImurehabError(
                f"{ordered[0].parent.name}: live streams and offline recordings in one session"
            )
        return _replay_offline(offline)
    for folder in ordered:
        path = folder / "frames.bin"
        data = path.read_bytes() if path.exists() else b""
        for kind, host_ns, payload in records(data):
            if kind == RECORD_SETTINGS:
                s = json.loads(payload)
                m = str(s.pop("measurement"))
                settings[m] = s
                rate = float(s["sample_rate_hz"])
                tracker = trackers.get(m) or PmdLossTracker(m, rate)
                tracker.start_run(rate)
                trackers[m] = tracker
                continue
            if kind != RECORD_FRAME or not payload:
                continue
            m = pmd_profile().measurement_name(payload[0]) or ""
            if m not in trackers or m not in _SI_NAME:
                continue
            s = settings[m]
            try:
                samples = decode_frames(
                    [payload], sample_rate_hz=float(s["sample_rate_hz"]), factor=float(s.get("factor", 1.0))
                )
            except ProtocolError:
                replay.rejected_frames += 1
                continue
            placed = trackers[m].frame(int(samples.frame_timestamps_ns[0]), len(samples))
            values = samples.si()
            if placed is None or values is None:
                continue
            index = placed.first_index + np.arange(len(samples), dtype=np.int64)
            parts.setdefault(m, []).append((index, placed.time_ns.astype(np.int64), placed.boot_id, values))
            replay.arrivals.setdefault(placed.boot_id, []).append(
                (host_ns // 1000, int(placed.time_ns[-1]) // 1000)
            )
    for m, ps in parts.items():
        s = {k: float(v) for k, v in settings[m].items()}
        replay.channels[m] = _channel(m, ps, s, list(trackers[m].gaps))
    return replay


def _replay_offline(folders: list[Path]) -> PolarReplay:
    """Replay journaled offline recordings: each one a stream run, clock from the sync's probe."""
    replay = PolarReplay()
    trackers: dict[str, PmdLossTracker] = {}
    chunks: dict[str, list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], int, npt.NDArray[np.float64]]]]
    chunks = {}
    settings: dict[str, dict[str, float]] = {}
    arrivals: list[tuple[int, int]] = []
    round_trips: list[int] = []
    for folder in folders:
        probe = json.loads((folder / "probe.json").read_text()) if (folder / "probe.json").exists() else {}
        arrivals += [(int(h), int(d)) for h, d in probe.get("arrivals", [])]
        round_trips += [int(r) for r in probe.get("read_round_trip_us", [])]
        for m, rec in read_recording(folder).items():
            s = {k: float(v[0]) for k, v in rec.settings.items() if len(v) == 1}
            settings[m] = s
            tracker = trackers.setdefault(m, PmdLossTracker(m, s["sample_rate_hz"]))
            tracker.start_run(s["sample_rate_hz"])
            values, stamps = rec.samples.si(), rec.samples.frame_timestamps_ns
            assert values is not None
            ends = np.cumsum(rec.samples.samples_per_frame)
            for stamp, end, n in zip(stamps, ends, rec.samples.samples_per_frame, strict=True):
                placed = tracker.frame(int(stamp), int(n))
                if placed is None:
                    continue
                index = placed.first_index + np.arange(n, dtype=np.int64)
                chunks.setdefault(m, []).append(
                    (index, placed.time_ns, placed.boot_id, values[end - n : end])
                )
    for m, ps in chunks.items():
        gaps = [replace(g, cause="device") if g.cause == "air" else g for g in trackers[m].gaps]
        replay.channels[m] = _channel(m, ps, settings[m], gaps)
    if arrivals:
        clock = probe_clock(arrivals, round_trips)
        replay.clocks = {b: replace(clock, boot_id=b) for b in {0, *_boots(replay)}}
    return replay


def _boots(replay: PolarReplay) -> set[int]:
    return {int(b) for ch in replay.channels.values() for b in np.unique(ch.boot)}


def _channel(
    m: str,
    ps: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], int, npt.NDArray[np.float64]]],
    settings: dict[str, float],
    gaps: list[Gap],
) -> PolarChannel:
    return PolarChannel(
        measurement=m,
        index=np.concatenate([p[0] for p in ps]),
        device_ns=np.concatenate([p[1] for p in ps]).astype(np.int64),
        boot=np.concatenate([np.full(len(p[0]), p[2], np.int64) for p in ps]),
        values=np.concatenate([p[3] for p in ps]),
        settings=settings,
        gaps=gaps,
    )


def pair_onto(
    times: npt.NDArray[np.float64], source_times: npt.NDArray[np.float64], values: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Put a channel sampled at ``source_times`` on ``times``: same-time samples as is, else linear.

    Parameters
    ----------
    times : ndarray, shape (n,)
        Target times (ACC's) [any unit, increasing].
    source_times : ndarray, shape (m,)
        The channel's sample times [same unit, increasing], m ≥ 1.
    values : ndarray, shape (m, 3)
        The channel's values.

    Returns
    -------
    (ndarray of shape (n, 3), ndarray of bool)
        Values on ``times`` (a source sample within 1 % of the shorter period of a time is taken as is),
        and which of them were filled in: across a gap in the channel (neighbours
        more than 1.5 of its median periods apart) or outside its span (the nearest value held).

    Examples
    --------
    >>> v, filled = pair_onto(np.array([0.0, 1, 2, 3, 4]), np.array([0.0, 1, 3, 4]), np.eye(4, 3))
    >>> filled.tolist(), v[2].tolist()
    ([False, False, True, False, False], [0.0, 0.5, 0.5])
    """
    n = len(times)
    if len(source_times) == 1:
        out = np.repeat(values, n, axis=0)
        return out, np.abs(times - source_times[0]) > 0
    period = float(np.median(np.diff(source_times)))
    tol = _MATCH * min(period, float(np.median(np.diff(times))) if n > 1 else period)
    right = np.clip(np.searchsorted(source_times, times), 1, len(source_times) - 1)
    left = right - 1
    t0, t1 = source_times[left], source_times[right]
    w = np.clip((times - t0) / (t1 - t0), 0.0, 1.0)
    near = np.where(np.abs(times - t0) <= np.abs(t1 - times), left, right)
    exact = np.abs(times - source_times[near]) <= tol
    out = np.where(exact[:, None], values[near], values[left] * (1 - w)[:, None] + values[right] * w[:, None])
    outside = (times < source_times[0] - tol) | (times > source_times[-1] + tol)
    across = (t1 - t0) > _LOSS_PERIODS * period
    filled = ~exact & (outside | across)
    return out, filled


def saturated(
    values: npt.NDArray[np.float64], channel: PolarChannel, flag: SampleFlags
) -> npt.NDArray[np.uint16]:
    """``flag`` where a sample's count is at its resolution's limit on any axis (see the module docstring).

    Parameters
    ----------
    values : ndarray, shape (n, 3)
        SI values of ``channel`` (m/s², rad/s, µT), as decoded or paired.
    channel : PolarChannel
        Its settings give ``factor`` (base unit per count) and ``resolution_bits``.
    flag : SampleFlags
        The bit to set.

    Examples
    --------
    >>> ch = PolarChannel("gyro", *(np.zeros(0, np.int64),) * 3, np.zeros((0, 3)), {"factor": 1.0}, [])
    >>> scale = pmd_profile().si_per_base("gyro")
    >>> saturated(np.array([[32767.0, 0, 0], [100.0, 0, 0]]) * scale, ch, SampleFlags.GYR_SATURATED).tolist()
    [2, 0]
    """
    step = channel.settings.get("factor", 1.0) * pmd_profile().si_per_base(channel.measurement)
    limit = 2 ** (int(channel.settings.get("resolution_bits", 16)) - 1)
    counts = np.rint(values / step)
    at_limit = ((counts >= limit - 1) | (counts <= -limit)).any(axis=1)
    return np.where(at_limit, int(flag), 0).astype(np.uint16)


@dataclass
class PolarSensorData:
    """One Polar sensor's rows, ready for :class:`~imurehab.SensorSamples`."""

    time_us: npt.NDArray[np.int64]
    acc: npt.NDArray[np.float64]
    gyr: npt.NDArray[np.float64]
    mag: npt.NDArray[np.float64] | None
    sample_index: npt.NDArray[np.int64]
    device_time_us: npt.NDArray[np.int64]
    flags: npt.NDArray[np.uint16]
    clocks: dict[int, ClockModel]
    clock_uncertainty_us: float
    rate_hz: float
    acc_range_mps2: float | None
    gyr_range_rads: float | None
    mag_range_ut: float | None
    gaps: int
    lost_samples: int


def polar_rows(replay: PolarReplay, serial: str) -> PolarSensorData:
    """The ``samples`` rows of a replayed Polar sensor (see the module docstring for the pairing).

    Parameters
    ----------
    replay : PolarReplay
        The sensor's journal replayed through the loss tracker.
    serial : str
        The sensor's serial, named in error messages.

    Returns
    -------
    PolarSensorData
        One row per ACC sample (UTC µs, m/s², rad/s), GYRO paired by sample time, plus the flags.

    Raises
    ------
    ImurehabError
        Without both ACC and GYRO samples.
    """
    acc, gyro = replay.channels.get("acc"), replay.channels.get("gyro")
    if acc is None or gyro is None:
        raise ImurehabError(f"{serial}: the samples table needs accelerometer and gyroscope channels")
    clocks = replay.clocks or {
        b: fit_arrival_clock(*np.array(a, dtype=np.int64).T, boot_id=b) for b, a in replay.arrivals.items()
    }
    if not clocks:
        raise ImurehabError(f"{serial}: no clock measurement to place the samples in UTC")
    device_us = acc.device_ns // 1000
    utc = np.empty(len(device_us), dtype=np.float64)
    for b in np.unique(acc.boot):
        sel = acc.boot == b
        utc[sel] = clocks[int(b)].to_utc_us(device_us[sel])

    # Across a clock reset the device times restart: pair on UTC, which increases across boots.
    def on_utc(ch: PolarChannel) -> npt.NDArray[np.float64]:
        t = np.empty(len(ch.index), dtype=np.float64)
        for b in np.unique(ch.boot):
            sel = ch.boot == b
            t[sel] = clocks[int(b)].to_utc_us(ch.device_ns[sel] / 1000.0)
        return t

    single_boot = len(clocks) == 1
    acc_t = acc.device_ns.astype(np.float64) if single_boot else utc
    gyr, filled = pair_onto(
        acc_t, gyro.device_ns.astype(np.float64) if single_boot else on_utc(gyro), gyro.values
    )
    mag_ch, mag = replay.channels.get("mag"), None
    if mag_ch is not None:
        mag, mag_filled = pair_onto(
            acc_t, mag_ch.device_ns.astype(np.float64) if single_boot else on_utc(mag_ch), mag_ch.values
        )
        filled |= mag_filled
    flags = np.where(filled, int(SampleFlags.INTERPOLATED), 0).astype(np.uint16)
    flags |= saturated(acc.values, acc, SampleFlags.ACC_SATURATED) | saturated(
        gyr, gyro, SampleFlags.GYR_SATURATED
    )
    if mag is not None and mag_ch is not None:
        flags |= saturated(mag, mag_ch, SampleFlags.MAG_SATURATED)
    bounds = [
        float(np.max(clocks[int(b)].uncertainty_at(utc[acc.boot == b][[0, -1]]))) for b in np.unique(acc.boot)
    ]

    def rng(ch: PolarChannel | None, scale: float) -> float | None:
        r = ch.settings.get("range") if ch is not None else None
        return float(r) * scale if r else None

    jumps = np.diff(acc.index)
    return PolarSensorData(
        time_us=np.rint(utc).astype(np.int64),
        acc=acc.values,
        gyr=gyr,
        mag=mag,
        sample_index=acc.index,
        device_time_us=device_us,
        flags=flags,
        clocks=clocks,
        clock_uncertainty_us=max(bounds) if bounds else math.nan,
        rate_hz=float(acc.settings["sample_rate_hz"]),
        acc_range_mps2=rng(acc, STANDARD_GRAVITY),
        gyr_range_rads=rng(gyro, math.pi / 180.0),
        mag_range_ut=rng(mag_ch, _GAUSS_UT),
        gaps=int((jumps > 1).sum()),
        lost_samples=int((jumps[jumps > 1] - 1).sum()),
    )
