"""Polar PMD behind the live-stream seam: settings negotiation, start/stop, frames, loss from timestamps.

Per connection (``firmware_protocols/polar-pmd/spec.md``): subscribe to the control point (indications)
and the data characteristic (notifications) before any command (§1); read the feature mask (§3), the
serial (Device Information 0x2A25, else the name) and the ATT MTU; then per measurement wanted *get
settings* and pick the offered value closest to each request (ties: the larger, so a range never clips
sooner than asked); when the rate or range asked is not offered and the sensor has SDK mode, enter SDK
mode and ask again (§3, §7); *start measurement* with the chosen values and keep the FACTOR of the
response (§4). Frames are decoded with :func:`imurehab.protocols.polar_pmd.decode_frames`; loss and
sample times come from :class:`~imurehab.ble.polar_gaps.PmdLossTracker`; the clock → UTC estimate is
fitted to the frames' arrival times (:func:`~imurehab.ble.clock.fit_arrival_clock`). Stopping sends
*stop measurement* per stream. The sensor keeps no log that a later sync could fill gaps from (offline
recording over PFTP is not implemented).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from imurehab.ble.clock import fit_arrival_clock
from imurehab.ble.connection import Link, RetryPolicy
from imurehab.ble.family import DeviceIdentity, LiveFrame, Sink
from imurehab.ble.polar_gaps import PmdLossTracker
from imurehab.ble.polar_journal import RECORD_FRAME, RECORD_SETTINGS, record
from imurehab.ble.report import Gap
from imurehab.errors import BleError, ImurehabError, ProtocolError
from imurehab.protocols.polar_pmd import (
    PmdResponse,
    build_command,
    decode_frames,
    parse_features,
    parse_response,
    pmd_profile,
)
from imurehab.types.clock import ClockModel

__all__ = ["PolarPmdDriver", "PolarRequest", "closest"]

logger = logging.getLogger(__name__)

_GATT: Final = pmd_profile().raw["gatt"]
_SERIAL_UUID: Final = "00002a25-0000-1000-8000-00805f9b34fb"
_RESPONSE: Final = pmd_profile().raw["control"]["response_code"]
_SI_NAME: Final = {"acc": "acc", "gyro": "gyr", "mag": "mag"}
_CLOCK_FRAMES: Final = 400  # arrivals kept for the live clock estimate (the dataset fits all of them)


@dataclass(frozen=True)
class PolarRequest:
    """What to ask a Polar sensor for: per measurement, a sample rate [Hz] and a range.

    Attributes
    ----------
    measurements : mapping of str to (float, float)
        ``"acc"``, ``"gyro"``, ``"mag"`` → (rate [Hz], range [g, deg/s or gauss]); the closest offered
        values are used.
    """

    measurements: Mapping[str, tuple[float, float]]

    @classmethod
    def default(cls) -> PolarRequest:
        """ACC at 52 Hz ±8 g and GYRO at 52 Hz ±2000 deg/s: what a Verity Sense offers outside SDK mode."""
        return cls({"acc": (52.0, 8.0), "gyro": (52.0, 2000.0)})


def closest(offered: Sequence[float], wanted: float) -> float:
    """The offered value nearest ``wanted``; of two as near, the larger.

    Parameters
    ----------
    offered : sequence of float
        Values the sensor lists.
    wanted : float
        The value asked for.

    Examples
    --------
    >>> closest([26, 52, 104, 208], 100), closest([2, 4, 8], 6), closest([52], 400)
    (104, 8, 52)
    """
    return min(offered, key=lambda v: (abs(v - wanted), -v))


@dataclass
class _Stream:
    """One started measurement: its settings, factor and loss tracker."""

    measurement: str
    settings: dict[str, float]
    factor: float
    tracker: PmdLossTracker
    announced: bool = False


class PolarPmdDriver:
    """One Polar PMD sensor streaming live (see :class:`~imurehab.ble.family.LiveDriver`).

    Parameters
    ----------
    link : Link
        The sensor's link.
    policy : RetryPolicy
        Timeouts.
    request : PolarRequest, optional
        Rates and ranges wanted (default :meth:`PolarRequest.default`).

    Attributes
    ----------
    features : list of str
        Measurements the sensor offers (its control point read).
    chosen : dict
        Per started measurement, the settings sent (``sample_rate_hz``, ``range``, ``resolution_bits``,
        ``channels``) and the ``factor`` answered.
    sdk_mode : bool
        Whether this driver put the sensor in SDK mode.
    """

    family = "polar-pmd"

    def __init__(self, link: Link, policy: RetryPolicy, request: PolarRequest | None = None) -> None:
        self.link, self.policy = link, policy
        self.request = request or PolarRequest.default()
        link.on_lost = self._on_lost
        self.on_frame: Sink | None = None
        self.failed = asyncio.Event()
        self.last_activity = time.monotonic()
        self.clock: ClockModel | None = None
        self.tail_lost = False
        self.features: list[str] = []
        self.chosen: dict[str, dict[str, float]] = {}
        self.sdk_mode = False
        self._streams: dict[str, _Stream] = {}
        self._trackers: dict[str, PmdLossTracker] = {}
        self._started: set[str] = set()
        self._inbox: asyncio.Queue[tuple[str, int, bytes]] = asyncio.Queue()
        self._responses: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._consumer: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None
        self._arrivals: list[tuple[int, int]] = []

    # --- what the stream reads ---------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """A measurement this driver started is running."""
        return bool(self._started)

    @property
    def gaps(self) -> list[Gap]:
        """Gaps of every measurement stream, ACC first."""
        return [g for t in self._trackers.values() for g in t.gaps]

    @property
    def arrivals(self) -> list[tuple[int, int]]:
        """Recent frame arrivals: (host time [µs, UTC], the frame's last sample on the sensor clock [µs])."""
        return list(self._arrivals)

    @property
    def frames(self) -> int:
        """Data frames accepted, all measurements."""
        return sum(t.frames for t in self._trackers.values())

    @property
    def samples(self) -> int:
        """Samples accepted, all measurements."""
        return sum(t.samples for t in self._trackers.values())

    def raise_failure(self) -> None:
        """Raise the error that stopped the consumer, if one did."""
        if self._failure is not None:
            raise self._failure

    # --- connection --------------------------------------------------------------------------------

    async def connect(self) -> DeviceIdentity:
        """Connect (retrying), subscribe to both PMD characteristics, read features and serial.

        Raises
        ------
        BleError
            ``unsupported`` (no PMD service, no ACC/GYRO/MAG wanted offered), ``protocol``, ``disconnected``.
        """
        self.raise_failure()
        await self.link.subscribe(_GATT["control_point"], self._enqueue("cp"))
        await self.link.subscribe(_GATT["data"], self._enqueue("data"))
        await self.link.connect()
        await self.link.request_mtu()
        if self._consumer is None or self._consumer.done():
            self._consumer = asyncio.get_running_loop().create_task(
                self._consume(), name=f"pmd {self.link.address}"
            )
        try:
            self.features = parse_features(await self.link.read(_GATT["control_point"]))
        except ProtocolError as err:
            raise BleError(
                f"malformed PMD feature read: {err}", address=self.link.address, reason="protocol"
            ) from None
        missing = sorted(set(self.request.measurements) - set(self.features))
        if missing:
            raise BleError(
                f"the sensor offers no {', '.join(missing)} stream (it offers {', '.join(self.features)})",
                address=self.link.address,
                reason="unsupported",
            )
        return DeviceIdentity(await self._serial(), 0)

    async def _serial(self) -> str:
        try:
            serial = (await self.link.read(_SERIAL_UUID)).decode(errors="replace").strip("\0 ")
        except BleError as err:
            if err.reason != "unsupported":
                raise
            serial = ""
        return f"POLAR-{serial}" if serial else f"POLAR-{self.link.address.replace(':', '')}"

    async def measure_clock(self, clock_log: Path) -> None:
        """Nothing to do: PMD has no clock round trip; the clock is fitted to the frames' arrivals.

        Parameters
        ----------
        clock_log : Path
            Unused.
        """
        del clock_log

    def journal_header(self) -> bytes:
        """No header: each measurement's settings are journaled before its first frame of the run."""
        return b""

    def _enqueue(self, source: str) -> Callable[[bytes], None]:
        inbox = self._inbox

        def callback(value: bytes) -> None:
            inbox.put_nowait((source, time.time_ns(), value))

        return callback

    def _on_lost(self) -> None:
        self._responses.put_nowait(None)
        self._started.clear()  # the sensor stops its streams when the link goes

    async def _consume(self) -> None:
        while True:
            source, host_ns, value = await self._inbox.get()
            self.last_activity = time.monotonic()
            if source == "cp":
                if value[:1] == bytes([_RESPONSE]):
                    self._responses.put_nowait(value)
                continue
            try:
                if self.on_frame is not None:
                    self.on_frame(host_ns, value)
            except ImurehabError as err:
                self._failure = err
                self.failed.set()
                self._responses.put_nowait(None)
                return

    async def close(self) -> None:
        """Disconnect and stop the consumer."""
        await self.link.disconnect()
        if self._consumer is not None:
            self._consumer.cancel()
            await asyncio.gather(self._consumer, return_exceptions=True)
            self._consumer = None

    # --- commands ----------------------------------------------------------------------------------

    async def command(
        self,
        command: str,
        measurement: str | None,
        settings: Mapping[str, float] | None = None,
        *,
        offline: bool = False,
    ) -> PmdResponse:
        """Write one control point command and return its response (continuation packets joined).

        Parameters
        ----------
        command : str
            Op code name (``"start_measurement"``, ``"get_measurement_status"``, ...).
        measurement : str or None
            ``"acc"``, ``"gyro"``, ``"mag"``, ``"sdk_mode"``; None for commands without one.
        settings : Mapping, optional
            Settings of a start (``sample_rate_hz`` [Hz], ``range``, ...).
        offline : bool
            Address offline recording (spec.md §10).

        Raises
        ------
        BleError
            ``disconnected``, ``timeout``, ``protocol`` (a malformed response).
        """
        self.raise_failure()
        while not self._responses.empty():
            self._responses.get_nowait()
        packet = build_command(command, measurement, settings, offline=offline)
        await self.link.write(_GATT["control_point"], packet)
        packets: list[bytes] = []
        try:
            async with asyncio.timeout(self.policy.response_timeout_s):
                while True:
                    packet = await self._responses.get()
                    if packet is None:
                        self.raise_failure()
                        raise BleError(
                            f"{command}: the link dropped", address=self.link.address, reason="disconnected"
                        )
                    packets.append(packet)
                    if len(packet) < 5 or packet[3] != 0 or packet[4] == 0:
                        break
        except TimeoutError:
            raise BleError(
                f"{command}: no response in time", address=self.link.address, reason="timeout"
            ) from None
        try:
            return parse_response(packets)
        except ProtocolError as err:
            raise BleError(
                f"{command}: malformed response ({err})", address=self.link.address, reason="protocol"
            ) from None

    async def _offered(self, measurement: str, offline: bool) -> dict[str, list[float]]:
        resp = await self.command("get_settings", measurement, offline=offline)
        if not resp.ok or resp.settings is None:
            raise BleError(
                f"get settings of {measurement} answered {resp.error}",
                address=self.link.address,
                reason="device",
            )
        return {k: [float(v) for v in vs] for k, vs in resp.settings.items()}

    async def negotiate(self, measurement: str, *, offline: bool = False) -> dict[str, float]:
        """The settings to start ``measurement`` with: the offered values closest to the request.

        Parameters
        ----------
        measurement : str
            A measurement of :attr:`request`.
        offline : bool
            Ask what offline recording offers (spec.md §10).
        """
        rate, range_ = self.request.measurements[measurement]
        offered = await self._offered(measurement, offline)
        exact = rate in offered.get("sample_rate_hz", []) and range_ in offered.get("range", [range_])
        if not exact and not self.sdk_mode and "sdk_mode" in self.features:
            resp = await self.command("start_measurement", "sdk_mode")
            if resp.ok or resp.error == "ERROR_ALREADY_IN_STATE":
                self.sdk_mode = True
                offered = await self._offered(measurement, offline)
        chosen = {"sample_rate_hz": closest(offered["sample_rate_hz"], rate)}
        if offered.get("range"):
            chosen["range"] = closest(offered["range"], range_)
        for key in ("resolution_bits", "channels"):
            if offered.get(key):
                chosen[key] = max(offered[key]) if key == "resolution_bits" else offered[key][0]
        return chosen

    async def start(self, *, log: bool) -> None:
        """Negotiate and start every measurement asked for.

        Parameters
        ----------
        log : bool
            Ignored: a live PMD stream keeps no log (offline recording is started separately, with
            :func:`imurehab.ble.polar_offline.start_offline_recording`).
        """
        del log
        self.sdk_mode = False  # a new link: the sensor left SDK mode when the last one went down
        for measurement in self.request.measurements:
            settings = await self.negotiate(measurement)
            resp = await self.command("start_measurement", measurement, settings)
            if not resp.ok and resp.error != "ERROR_ALREADY_IN_STATE":
                raise BleError(
                    f"start {measurement} at {settings} answered {resp.error}",
                    address=self.link.address,
                    reason="device",
                )
            factor = float((resp.settings or {}).get("factor", [1.0])[0])
            tracker = self._trackers.get(measurement) or PmdLossTracker(
                measurement, settings["sample_rate_hz"]
            )
            tracker.start_run(settings["sample_rate_hz"])
            self._trackers[measurement] = tracker
            self._streams[measurement] = _Stream(measurement, settings, factor, tracker)
            self.chosen[measurement] = {**settings, "factor": factor}
            self._started.add(measurement)

    async def stop(self) -> None:
        """Stop every measurement started (frames lost at the very end cannot be seen: no counter)."""
        try:
            for measurement in sorted(self._started):
                await self.command("stop_measurement", measurement)
            if self.sdk_mode:
                await self.command("stop_measurement", "sdk_mode")
        finally:
            self._started.clear()
            self.sdk_mode = False

    # --- frames ------------------------------------------------------------------------------------

    def decode(self, host_ns: int, value: bytes) -> LiveFrame | None:
        """Decode one data frame, find the loss before it and place its samples.

        Parameters
        ----------
        host_ns : int
            When it arrived [ns since the Unix epoch].
        value : bytes
            The notification.
        """
        measurement = pmd_profile().measurement_name(value[0]) if value else None
        stream = self._streams.get(measurement or "")
        if stream is None:
            return None
        samples = decode_frames(
            [value], sample_rate_hz=stream.settings["sample_rate_hz"], factor=stream.factor
        )
        placed = stream.tracker.frame(int(samples.frame_timestamps_ns[0]), len(samples))
        if placed is None:
            return None
        device_us = placed.time_ns // 1000
        self._arrival(host_ns // 1000, int(device_us[-1]))
        journal = record(RECORD_FRAME, host_ns, value)
        if not stream.announced:
            settings = {"measurement": stream.measurement, **stream.settings, "factor": stream.factor}
            journal = record(RECORD_SETTINGS, host_ns, json.dumps(settings).encode()) + journal
            stream.announced = True
        groups: dict[str, np.ndarray | None] = {"acc": None, "gyr": None, "mag": None}
        groups[_SI_NAME[stream.measurement]] = samples.si()
        return LiveFrame(
            record=journal,
            sample_index=placed.first_index + np.arange(len(samples), dtype=np.int64),
            device_time_us=device_us,
            **groups,
        )

    def _arrival(self, host_us: int, device_us: int) -> None:
        self._arrivals.append((host_us, device_us))
        if len(self._arrivals) > 2 * _CLOCK_FRAMES:
            del self._arrivals[:_CLOCK_FRAMES]
        h, d = np.array(self._arrivals[-_CLOCK_FRAMES:]).T
        self.clock = fit_arrival_clock(h, d)
