"""Movesense GSP behind the live-stream seam: subscribe an IMU resource, reassemble, loss from timestamps.

Per connection (``firmware_protocols/movesense-gsp/spec.md``): enable notifications on the GSP notify
characteristic, HELLO (the serial), GET ``/Time`` (how far the sensor's UTC clock is off the host's: it
stamps Logbook entries, not samples), then SUBSCRIBE ``/Meas/<IMU6|IMU9>/<rate>`` with a fresh reference
(so late data of an earlier subscription is told apart). With ``log=True`` the DataLogger is configured
with the same path and started, unless it is logging already, and stopped at the end. Notifications go
through :class:`~imurehab.ble.movesense_stream.MeasStream`: DATA + DATA_PART2 joined, a joined message held
until the next one shows no message was lost in between (else dropped: DATA_PART2 has no sequence
number), lost messages counted from the timestamps. Every notification of the subscription is journaled
(with the first samples it lets through), so the dataset replays the same state machine. Stopping waits
(at most :data:`TAIL_WAIT_S`) for the message that decides the one held at that moment. The clock (ms
since boot) → UTC estimate is fitted to the messages' arrival times
(:func:`~imurehab.ble.clock.fit_arrival_clock`), as for Polar.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from imurehab.ble.clock import fit_arrival_clock, host_time_us
from imurehab.ble.connection import Link, RetryPolicy
from imurehab.ble.family import DeviceIdentity, LiveFrame, Sink
from imurehab.ble.movesense_client import GspClient
from imurehab.ble.movesense_gaps import MeasLossTracker
from imurehab.ble.movesense_stream import MeasStream
from imurehab.ble.polar_journal import RECORD_FRAME, RECORD_SETTINGS, record
from imurehab.ble.report import Gap
from imurehab.protocols.movesense import RATES_HZ
from imurehab.types.clock import ClockModel

__all__ = ["TAIL_WAIT_S", "MovesenseDriver", "MovesenseRequest"]

_CLOCK_MESSAGES: Final = 400  # arrivals kept for the live clock estimate
TAIL_WAIT_S: Final = 1.0
"""Longest wait at stop for the message that decides the joined message held then [s]."""


@dataclass(frozen=True)
class MovesenseRequest:
    """What to subscribe to on a Movesense sensor.

    Attributes
    ----------
    resource : str
        ``"IMU6"`` (acc, gyro) or ``"IMU9"`` (acc, gyro, magn).
    rate_hz : int
        Sample rate [Hz], one of the profile's rates (13 … 1666).
    """

    resource: str = "IMU6"
    rate_hz: int = 104

    def __post_init__(self) -> None:
        if self.resource not in ("IMU6", "IMU9") or self.rate_hz not in RATES_HZ:
            raise ValueError(f"Movesense streams IMU6 or IMU9 at {RATES_HZ} Hz, got {self}")

    @property
    def path(self) -> str:
        """The subscription path, ``/Meas/<resource>/<rate>``."""
        return f"/Meas/{self.resource}/{self.rate_hz}"


class MovesenseDriver:
    """One Movesense sensor streaming live (see :class:`~imurehab.ble.family.LiveDriver`).

    Parameters
    ----------
    link : Link
        The sensor's link.
    policy : RetryPolicy
        Timeouts.
    request : MovesenseRequest, optional
        Resource and rate (default IMU6 at 104 Hz).

    Attributes
    ----------
    utc_offset_us : float or None
        The sensor's UTC clock (``/Time``) minus the host's at connect [µs], None if unanswered.
    """

    family = "movesense-gsp"

    def __init__(self, link: Link, policy: RetryPolicy, request: MovesenseRequest | None = None) -> None:
        self.link, self.policy = link, policy
        self.request = request or MovesenseRequest()
        self.gsp = GspClient(link, policy)
        self.gsp.on_data = self._on_data
        self.on_frame: Sink | None = None
        self.clock: ClockModel | None = None
        self.tail_lost = False
        self.utc_offset_us: float | None = None
        self.stream = MeasStream(self.request.path)
        self._subscription: int | None = None
        self._logging = False
        self._announced = False
        self._unjournaled: list[bytes] = []
        self._arrivals: list[tuple[int, int]] = []

    @property
    def tracker(self) -> MeasLossTracker:
        """The loss tracker of the subscription."""
        return self.stream.tracker

    # --- what the stream reads ---------------------------------------------------------------------

    @property
    def failed(self) -> asyncio.Event:
        """Set when the consumer stopped on an error."""
        return self.gsp.failed

    @property
    def last_activity(self) -> float:
        """``time.monotonic()`` of the last notification."""
        return self.gsp.last_activity

    @property
    def active(self) -> bool:
        """A subscription (or a log this driver started) is running."""
        return self._subscription is not None or self._logging

    @property
    def gaps(self) -> list[Gap]:
        """Gaps found so far."""
        return list(self.tracker.gaps)

    @property
    def frames(self) -> int:
        """Messages accepted."""
        return self.tracker.frames

    @property
    def samples(self) -> int:
        """Samples accepted."""
        return self.tracker.samples

    def raise_failure(self) -> None:
        """Raise the error that stopped the consumer, if one did."""
        if self.gsp.failure is not None:
            raise self.gsp.failure

    # --- connection --------------------------------------------------------------------------------

    async def connect(self) -> DeviceIdentity:
        """Connect (retrying), HELLO for the serial, GET ``/Time`` for the UTC clock's offset.

        Raises
        ------
        BleError
            ``unsupported`` (no GSP service), ``timeout``, ``disconnected``, ``protocol``.
        """
        self.raise_failure()
        self._subscription = None  # a new link: the sensor dropped its subscriptions with the old one
        await self.gsp.open()
        serial = await self.gsp.hello()
        sent = host_time_us()
        now = await self.gsp.command("GET", path="/Time")
        if now.get("status") == 200 and "utc_us" in now:
            self.utc_offset_us = float(now["utc_us"]) - (sent + host_time_us()) / 2
        return DeviceIdentity(f"MOVESENSE-{serial}", self.tracker.boot_id)

    async def measure_clock(self, clock_log: Path) -> None:
        """Nothing to do: GSP has no clock round trip; the clock is fitted to message arrivals.

        Parameters
        ----------
        clock_log : Path
            Unused.
        """
        del clock_log

    def journal_header(self) -> bytes:
        """No header: the subscription's settings are journaled before its first message."""
        return b""

    async def close(self) -> None:
        """Disconnect and stop the consumer."""
        await self.gsp.close()

    # --- start / stop ------------------------------------------------------------------------------

    async def start(self, *, log: bool) -> None:
        """Subscribe (and start the DataLogger with the same path when ``log``).

        Parameters
        ----------
        log : bool
            Also log on the sensor, unless it is logging already.
        """
        path = self.request.path
        if log:
            self._logging = await self.gsp.start_logging([path])
        ref = self.gsp.reference()
        self._announced, self._unjournaled = False, []
        self.stream.start_run(ref)
        await self.gsp.checked("SUBSCRIBE", reference=ref, path=path)
        self._subscription = ref

    async def stop(self) -> None:
        """Wait until the held message is decided, unsubscribe, stop the DataLogger if this driver started it.

        A joined message still held (or dropped) after :data:`TAIL_WAIT_S` sets :attr:`tail_lost`: samples
        received at the very end were not delivered.
        """
        held, deadline = self.stream.held_ms, time.monotonic() + TAIL_WAIT_S
        while held is not None and self.stream.held_ms == held and time.monotonic() < deadline:
            if not self.link.is_connected:
                break
            await asyncio.sleep(0.01)
        self.tail_lost = held is not None and self.stream.last_placed_ms != held
        try:
            if self._subscription is not None:
                await self.gsp.command("UNSUBSCRIBE", reference=self._subscription)
            if self._logging:
                await self.gsp.stop_logging()
        finally:
            self._subscription, self._logging = None, False

    # --- data --------------------------------------------------------------------------------------

    def _on_data(self, host_ns: int, value: bytes) -> None:
        if self.on_frame is not None:
            self.on_frame(host_ns, value)

    def decode(self, host_ns: int, value: bytes) -> LiveFrame | None:
        """Take one notification; the messages it lets through (None until one is whole and checked).

        Parameters
        ----------
        host_ns : int
            When it arrived [ns since the Unix epoch].
        value : bytes
            The notification.

        Raises
        ------
        ProtocolError
            For a message that is no whole samples or holds non-finite values.
        """
        if len(value) < 2 or value[1] != self.stream.reference:
            return None
        self._unjournaled.append(record(RECORD_FRAME, host_ns, value))
        messages = self.stream.feed(host_ns, value)
        if not messages:
            return None
        journal = b"".join(self._unjournaled)
        self._unjournaled = []
        if not self._announced:
            settings = {"path": self.request.path, "reference": self.stream.reference}
            journal = record(RECORD_SETTINGS, host_ns, json.dumps(settings).encode()) + journal
            self._announced = True
        for m in messages:
            self._arrival(m.host_ns // 1000, int(m.device_us[-1]))
        mags = [m.mag for m in messages]
        return LiveFrame(
            record=journal,
            sample_index=np.concatenate([m.first_index + np.arange(len(m.device_us)) for m in messages]),
            device_time_us=np.concatenate([m.device_us for m in messages]),
            acc=np.concatenate([m.acc for m in messages]),  # type: ignore[misc]
            gyr=np.concatenate([m.gyr for m in messages]),  # type: ignore[misc]
            mag=None if any(g is None for g in mags) else np.concatenate(mags),  # type: ignore[arg-type]
        )

    def _arrival(self, host_us: int, device_us: int) -> None:
        self._arrivals.append((host_us, device_us))
        if len(self._arrivals) > 2 * _CLOCK_MESSAGES:
            del self._arrivals[:_CLOCK_MESSAGES]
        h, d = np.array(self._arrivals[-_CLOCK_MESSAGES:]).T
        self.clock = fit_arrival_clock(h, d)
