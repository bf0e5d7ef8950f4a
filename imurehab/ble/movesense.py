"""Movesense GSP behind the live-stream seam: subscribe an IMU resource, reassemble, loss from timestamps.

Per connection (``firmware_protocols/movesense-gsp/spec.md``): enable notifications on the GSP notify
characteristic, HELLO (the serial), GET ``/Time`` (how far the sensor's UTC clock is off the host's: it
stamps Logbook entries, not samples), then SUBSCRIBE ``/Meas/<IMU6|IMU9>/<rate>`` with a fresh reference
(so late data of an earlier subscription is told apart). With ``log=True`` the DataLogger is configured
with the same path and started, unless it is logging already, and stopped at the end. DATA that needs a
DATA_PART2 (its samples are not whole) waits for it; a DATA_PART2 without its DATA, or a DATA whose
DATA_PART2 never came, is a lost message, counted from the timestamps by
:class:`~imurehab.ble.movesense_gaps.MeasLossTracker`. The clock (ms since boot) → UTC estimate is fitted
to the messages' arrival times (:func:`~imurehab.ble.clock.fit_arrival_clock`), as for Polar.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from imurehab.ble.clock import fit_arrival_clock, host_time_us
from imurehab.ble.connection import Link, RetryPolicy
from imurehab.ble.family import DeviceIdentity, LiveFrame, Sink
from imurehab.ble.movesense_client import GspClient
from imurehab.ble.movesense_gaps import MeasLossTracker
from imurehab.ble.polar_journal import RECORD_FRAME, RECORD_SETTINGS, record
from imurehab.ble.report import Gap
from imurehab.protocols.movesense import BLOCKS, RATES_HZ, decode_meas
from imurehab.types.clock import ClockModel

__all__ = ["MovesenseDriver", "MovesenseRequest"]

_DATA, _PART2 = 2, 3
_STRIDE: Final = 12  # float32 x, y, z of one block [bytes]
_CLOCK_MESSAGES: Final = 400  # arrivals kept for the live clock estimate


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
        self.tracker = MeasLossTracker(float(self.request.rate_hz), self.request.resource)
        self._subscription: int | None = None
        self._logging = False
        self._announced = False
        self._pending: bytes | None = None
        self._arrivals: list[tuple[int, int]] = []
        self._blocks = len(BLOCKS[self.request.resource])

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
            state = await self.gsp.checked("GET", path="/Mem/DataLogger/State")
            if state.get("state") != 3:
                await self.gsp.checked("PUT_DATALOGGER_CONFIG", paths=[path])
                await self.gsp.checked("PUT_DATALOGGER_STATE", state=3)
                self._logging = True
        ref = self.gsp.reference()
        self._pending, self._announced = None, False
        self.tracker.start_run()
        await self.gsp.checked("SUBSCRIBE", reference=ref, path=path)
        self._subscription = ref

    async def stop(self) -> None:
        """Unsubscribe, and stop the DataLogger if this driver started it."""
        try:
            if self._subscription is not None:
                await self.gsp.command("UNSUBSCRIBE", reference=self._subscription)
            if self._logging:
                await self.gsp.checked("PUT_DATALOGGER_STATE", state=2)
        finally:
            self._subscription, self._logging = None, False

    # --- data --------------------------------------------------------------------------------------

    def _on_data(self, host_ns: int, value: bytes) -> None:
        if self.on_frame is not None:
            self.on_frame(host_ns, value)

    def _whole(self, value: bytes) -> bytes | None:
        """The payload of the message a notification completes, if it does."""
        if len(value) < 2 or value[1] != self._subscription:
            return None
        stride = _STRIDE * self._blocks
        if value[0] == _DATA:
            whole = (len(value) - 2 - 4) % stride == 0
            self._pending = None if whole else value
            return value[2:] if whole else None
        if value[0] == _PART2 and self._pending is not None:
            head, self._pending = self._pending, None
            return head[2:] + value[2:]
        return None

    def decode(self, host_ns: int, value: bytes) -> LiveFrame | None:
        """Reassemble, decode and place one notification's message; None until a message is whole.

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
        head = self._pending
        payload = self._whole(value)
        if payload is None:
            return None
        s = decode_meas([payload], self.request.path)
        placed = self.tracker.message(int(s.timestamp_ms[0]), len(s.time_ns))
        if placed is None:
            return None
        device_us = (placed.timestamp_ms * 1_000_000 + (s.time_ns - s.time_ns[0])) // 1000
        self._arrival(host_ns // 1000, int(device_us[-1]))
        packets = [value] if head is None or value[0] == _DATA else [head, value]
        journal = b"".join(record(RECORD_FRAME, host_ns, p) for p in packets)
        if not self._announced:
            settings = {"path": self.request.path, "reference": self._subscription}
            journal = record(RECORD_SETTINGS, host_ns, json.dumps(settings).encode()) + journal
            self._announced = True
        return LiveFrame(
            record=journal,
            sample_index=placed.first_index + np.arange(len(s.time_ns), dtype=np.int64),
            device_time_us=device_us,
            acc=s.acc,
            gyr=s.gyr,
            mag=s.mag,
        )

    def _arrival(self, host_us: int, device_us: int) -> None:
        self._arrivals.append((host_us, device_us))
        if len(self._arrivals) > 2 * _CLOCK_MESSAGES:
            del self._arrivals[:_CLOCK_MESSAGES]
        h, d = np.array(self._arrivals[-_CLOCK_MESSAGES:]).T
        self.clock = fit_arrival_clock(h, d)
