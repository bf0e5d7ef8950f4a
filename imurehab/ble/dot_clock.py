"""A DOT's clock → UTC for exported recordings: measured at sync time, recordings placed by their start.

A DOT has no clock round trip and its SampleTimeFine wraps every 2³² µs (≈ 71.6 min). At each sync the
host streams for ``policy.clock_span_s`` (payload mode 21) and keeps every sample's timestamp with its
arrival time (``dot-clock-<host µs>.json`` in the sensor's journal folder); the clock is fitted to them
(:func:`~imurehab.ble.clock.fit_arrival_clock`, timestamps unwrapped within the measurement).

A one-way fit leaves the least notification latency in the offset (it is not observable one-way). The
probe then times :data:`~imurehab.ble.clock.READS` GATT reads of the measurement control characteristic
(:func:`~imurehab.ble.clock.read_round_trips`) and moves the offset by half the least round trip
(:func:`~imurehab.ble.clock.with_read_latency`: the uncertainty grows by it). On the virtual air the
least read round trip was 0.26–0.46 ms, which took 0.13–0.23 ms off an exported recording's placement
error; what remains, 0.2–1.2 ms, is the notifications' own latency floor (the event loop waking the twin,
which notifies each sample at its instant, and the air's delivery path), which no exchange observes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import numpy as np

from imurehab.ble.clock import fit_arrival_clock, host_time_us, read_round_trips, with_read_latency
from imurehab.ble.connection import Link, RetryPolicy
from imurehab.ble.dot import DOT_CHARACTERISTICS
from imurehab.ble.files import make_dirs, write_json_atomic
from imurehab.errors import BleError, ProtocolError
from imurehab.protocols.movella_dot import decode_measurements, measurement_control, unwrap_counter
from imurehab.types.clock import MAX_DRIFT_PPM, ClockModel

__all__ = [
    "EPOCH_TOLERANCE_S",
    "ClockProbe",
    "clocks_for_export",
    "measured_clocks",
    "place_recording",
]

EPOCH_TOLERANCE_S: Final = 5.0
"""A recording's first sample placed further than this from its start second is of another clock epoch [s]."""
_MODE: Final = 21
_WRAP: Final = 1 << 32


class ClockProbe:
    """Measures a DOT's clock by streaming briefly: each sample's timestamp against its arrival.

    Parameters
    ----------
    link : Link
        The sensor's link; the probe subscribes to the medium payload characteristic (before the first
        connect, so reconnects re-enable it).
    """

    def __init__(self, link: Link) -> None:
        self.link = link
        self._arrivals: list[tuple[int, bytes]] | None = None

    async def subscribe(self) -> None:
        """Subscribe to the payload notifications (call once, before connecting)."""
        await self.link.subscribe(DOT_CHARACTERISTICS["medium_payload"], self._on_value)

    def _on_value(self, value: bytes) -> None:
        if self._arrivals is not None:
            self._arrivals.append((host_time_us(), value))

    async def measure(self, folder: Path, policy: RetryPolicy) -> ClockModel:
        """Stream for ``policy.clock_span_s``, time GATT reads, keep both on disk, fit the clock.

        Parameters
        ----------
        folder : Path
            The sensor's journal folder.
        policy : RetryPolicy
            ``clock_span_s`` [s] and timeouts.

        Raises
        ------
        BleError
            ``timeout`` when no sample arrived; link errors.
        """
        arrivals: list[tuple[int, bytes]] = []
        self._arrivals = arrivals
        control = DOT_CHARACTERISTICS["measurement_control"]
        try:
            await self.link.write(control, measurement_control(True, _MODE))
            await asyncio.sleep(policy.clock_span_s)
            await self.link.write(control, measurement_control(False, _MODE))
        finally:
            self._arrivals = None
        if not arrivals:
            raise BleError(
                "no sample arrived to measure the clock", address=self.link.address, reason="timeout"
            )
        round_trips = await read_round_trips(lambda: self.link.read(control))
        raw = [int(decode_measurements([v], _MODE).time_us[0]) for _, v in arrivals]  # type: ignore[index]
        host = [h for h, _ in arrivals]
        make_dirs(folder)
        obj = {"host_us": host, "device_us": raw, "read_round_trip_us": round_trips}
        write_json_atomic(folder / f"dot-clock-{host[0]}.json", obj)
        return _fit(host, raw, round_trips)


def _fit(host: list[int], raw: list[int], round_trips: list[int]) -> ClockModel:
    """The arrival fit, its offset moved by half the least read round trip (none: left as fitted)."""
    device, _ = unwrap_counter(raw, bits=32)
    return with_read_latency(fit_arrival_clock(np.asarray(host, dtype=np.int64), device), round_trips)


def measured_clocks(folder: Path) -> list[tuple[int, ClockModel]]:
    """Every clock measurement kept for a sensor, oldest first: (host time it began [µs], fitted clock).

    Parameters
    ----------
    folder : Path
        The sensor's journal folder (``dot-clock-<host µs>.json`` files; unreadable ones are skipped).
    """
    out = []
    for path in folder.glob("dot-clock-*.json"):
        try:
            obj = json.loads(path.read_text())
            clock = _fit(
                [int(h) for h in obj["host_us"]],
                [int(d) for d in obj["device_us"]],
                [int(r) for r in obj.get("read_round_trip_us", [])],
            )
            out.append((int(path.stem.rsplit("-", 1)[-1]), clock))
        except (OSError, ValueError, KeyError, ProtocolError):
            continue
    return sorted(out, key=lambda m: m[0])


def clocks_for_export(
    measured: list[tuple[int, ClockModel]], start_utc_s: int, downloaded_us: int | None
) -> list[ClockModel]:
    """The clock measurements that may place one exported recording, the likeliest first.

    A sync measures the clock before it exports, so the likeliest is the last measurement before the
    export was verified (``downloaded_us``; unknown for journals older than that record: the latest).
    Then the others taken after the recording started, nearest first: the sensor's clock restarts when
    it powers off, so a measurement of another power cycle places it inconsistently
    (:func:`place_recording` tries them in this order).

    Parameters
    ----------
    measured : list of (int, ClockModel)
        From :func:`measured_clocks`.
    start_utc_s : int
        The recording's start second [s since the Unix epoch].
    downloaded_us : int or None
        Host time its export was verified [µs since the Unix epoch].
    """
    after = [(h, c) for h, c in measured if h >= start_utc_s * 1e6] or measured
    if downloaded_us is None:
        return [c for _, c in reversed(after)]
    before = [m for m in after if m[0] <= downloaded_us]
    first = before[-1:] if before else []
    rest = sorted((m for m in after if m not in first), key=lambda m: abs(m[0] - downloaded_us))
    return [c for _, c in first + rest]


def place_recording(
    first_raw_us: int,
    start_utc_s: int,
    clock: ClockModel | Sequence[ClockModel] | None,
    *,
    epoch: int = 1,
) -> ClockModel:
    """The clock → UTC of a recording whose timestamps are unwrapped from its first one as exported.

    Parameters
    ----------
    first_raw_us : int
        Its first sample's timestamp as exported [µs, modulo 2³²]; its device times are this plus the
        unwrapped steps.
    start_utc_s : int
        The UTC second the host gave at StartRecording [s since the Unix epoch].
    clock : ClockModel, sequence of ClockModel, or None
        The sensor's measured clock (device µs, unwrapped from its measurement's first sample); of
        several, the first that places the recording within :data:`EPOCH_TOLERANCE_S` of its start.
    epoch : int
        ``boot_id`` of the returned model.

    Returns
    -------
    ClockModel
        The measured clock moved into the recording's frame by the rollovers between them; or, for a
        recording of another clock epoch (or none measured), one that puts its first sample half a
        second after ``start_utc_s`` (offset only, uncertainty 1 s: the second was truncated).

    Examples
    --------
    >>> c = place_recording(5_000_000, 1_700_000_000, None)
    >>> float(c.to_utc_us(5_000_000)) / 1e6, c.uncertainty_us
    (1700000000.5, 1000000.0)
    """
    start_us = start_utc_s * 1e6
    clocks = [] if clock is None else [clock] if isinstance(clock, ClockModel) else list(clock)
    for c in clocks:
        wraps = round((float(c.to_device_us(start_us)) - first_raw_us) / _WRAP)
        first = first_raw_us + wraps * _WRAP
        if abs(float(c.to_utc_us(first)) - start_us) <= EPOCH_TOLERANCE_S * 1e6:
            return dataclasses.replace(c, boot_id=epoch, offset_us=c.offset_us - wraps * _WRAP)
    ref = float(round(start_us + 5e5))
    return ClockModel(
        boot_id=epoch,
        ref_utc_us=ref,
        offset_us=first_raw_us - ref,
        drift_ppm=0.0,
        uncertainty_us=1e6,
        drift_sigma_ppm=MAX_DRIFT_PPM,
        first_utc_us=ref,
        last_utc_us=ref,
        n_samples=0,
        n_windows=0,
    )
