"""Movella DOT behind the live-stream seam: payload modes, start/stop, loss from µs timestamps.

Per connection (``firmware_protocols/movella-dot/spec.md``): subscribe to the payload characteristic of
the requested mode (long/medium/short, D1 Table 13) and to the message notifications, then write
``type, action, mode`` to the measurement control characteristic to start and stop (D1 Table 13). Each
notification carries one sample; it is decoded with
:func:`imurehab.protocols.movella_dot.decode_measurements`, its uint32 µs timestamp unwrapped across the
2³² µs rollover (≈ 71.6 min) from the previous sample's. The payload modes a host can stream into the
``samples`` table (acc and gyr) carry no counter, so loss comes from the timestamps alone, through the
same :class:`~imurehab.ble.polar_gaps.PmdLossTracker` as Polar (one sample per "frame": a jump of more
than 1.5 sample periods is loss, ``round(gap / period) − 1`` samples). A clock that goes back by less
than half its range is a sensor that restarted (its clock restarts at 0): a new clock epoch. The
device clock → UTC estimate is fitted to the arrival times
(:func:`~imurehab.ble.clock.fit_arrival_clock`). Every notification is journaled (settings record,
then frames, :mod:`imurehab.ble.polar_journal`) before it is handed on.

The output rate is set by the host before each start: the device control characteristic (0x1002, D1
§2.2 Table 7) is read, written with the output-rate visit bit and the requested rate when it differs,
and read back; a sensor that keeps another rate (D1: the rate cannot be changed once a measurement or
the sensors' own sync started) is a clear error, never a stream at an assumed rate.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from imurehab.ble.clock import fit_arrival_clock
from imurehab.ble.connection import Link, RetryPolicy
from imurehab.ble.dot_timeline import DotTimeline
from imurehab.ble.family import DeviceIdentity, LiveFrame, Sink
from imurehab.ble.polar_gaps import PmdLossTracker
from imurehab.ble.polar_journal import RECORD_FRAME, RECORD_SETTINGS, record
from imurehab.ble.report import Gap
from imurehab.errors import BleError, DataValidationError, ImurehabError, ProtocolError
from imurehab.protocols import load_profile
from imurehab.protocols.movella_dot import (
    device_control,
    measurement_control,
    parse_device_control,
    payload_mode,
    uuid,
)
from imurehab.types.clock import ClockModel

__all__ = ["DOT_CHARACTERISTICS", "DotDriver", "DotRequest", "dot_serial"]

_PROFILE: Final = load_profile("movella-dot")
DOT_CHARACTERISTICS: Final[dict[str, str]] = {
    name: uuid(short) for name, short in _PROFILE["uuid"]["characteristics"].items()
}
"""Characteristic name (as in the profile) → 128-bit UUID."""
_PAYLOAD: Final = {"long": "long_payload", "medium": "medium_payload", "short": "short_payload"}
_CLOCK_FRAMES: Final = 2000  # arrivals kept for the live clock estimate


def dot_serial(address: str) -> str:
    """The serial imurehab gives a DOT: its BLE address (a DOT's public MAC), without colons.

    Parameters
    ----------
    address : str
        The address bleak reports.

    Examples
    --------
    >>> dot_serial("d4:22:cd:00:00:01")
    'DOT-D422CD000001'
    """
    return "DOT-" + address.replace(":", "").replace("-", "").upper()


@dataclass(frozen=True)
class DotRequest:
    """What to stream from a DOT.

    Attributes
    ----------
    payload_mode : int
        A documented payload mode carrying acceleration and angular velocity: 20 (rate quantities
        with mag), 21 (rate quantities) or 26 (custom mode 5: quaternion, acc, gyr).
    rate_hz : float
        The output rate to set on the sensor before streaming [Hz] (1, 4, 10, 12, 15, 20, 30 or 60).

    Raises
    ------
    DataValidationError
        For a mode without acc and gyr or a rate a DOT does not stream at.
    """

    payload_mode: int = 21
    rate_hz: float = 60.0

    def __post_init__(self) -> None:
        try:
            fields = payload_mode(self.payload_mode).fields
        except ProtocolError as err:
            raise DataValidationError(str(err)) from None
        if "acc" not in fields or "gyr" not in fields:
            raise DataValidationError(
                f"payload mode {self.payload_mode} carries no acceleration and angular velocity; "
                "use 20, 21 or 26"
            )
        rates = _PROFILE["rates"]["streaming_hz"]
        if self.rate_hz not in rates:
            raise DataValidationError(f"a DOT streams at {rates} Hz, not {self.rate_hz!r}")


class DotDriver:
    """One Movella DOT streaming live (see :class:`~imurehab.ble.family.LiveDriver`).

    Parameters
    ----------
    link : Link
        The sensor's link.
    policy : RetryPolicy
        Timeouts.
    request : DotRequest, optional
        Payload mode and output rate (default :class:`DotRequest` ()).

    Attributes
    ----------
    timeline : DotTimeline
        Its samples' indices, clock epochs and gaps so far.
    """

    family = "movella-dot"

    def __init__(self, link: Link, policy: RetryPolicy, request: DotRequest | None = None) -> None:
        self.link, self.policy = link, policy
        self.request = request or DotRequest()
        self.mode = payload_mode(self.request.payload_mode)
        link.on_lost = self._on_lost
        self.on_frame: Sink | None = None
        self.failed = asyncio.Event()
        self.last_activity = time.monotonic()
        self.clock: ClockModel | None = None
        self.tail_lost = False
        self.timeline = DotTimeline(self.request.rate_hz)
        self._started = False
        self._announced = False
        self._inbox: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()
        self._consumer: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None
        self._arrivals: list[tuple[int, int]] = []

    # --- what the stream reads ---------------------------------------------------------------------

    @property
    def tracker(self) -> PmdLossTracker:
        """The loss tracker of its samples."""
        return self.timeline.tracker

    @property
    def rollovers(self) -> int:
        """2³² µs rollovers of its clock unwrapped so far."""
        return self.timeline.rollovers

    @property
    def active(self) -> bool:
        """A measurement this driver started is running."""
        return self._started

    @property
    def gaps(self) -> list[Gap]:
        """Every gap found, in order."""
        return list(self.tracker.gaps)

    @property
    def frames(self) -> int:
        """Notifications accepted."""
        return self.tracker.frames

    @property
    def samples(self) -> int:
        """Samples accepted (one per notification)."""
        return self.tracker.samples

    def raise_failure(self) -> None:
        """Raise the error that stopped the consumer, if one did."""
        if self._failure is not None:
            raise self._failure

    # --- connection --------------------------------------------------------------------------------

    async def connect(self) -> DeviceIdentity:
        """Connect (retrying), subscribe to the mode's payload characteristic, identify the sensor.

        Raises
        ------
        BleError
            ``unsupported`` (no DOT measurement service), ``disconnected``, ``unreachable``.
        """
        self.raise_failure()
        await self.link.subscribe(DOT_CHARACTERISTICS[_PAYLOAD[self.mode.characteristic]], self._enqueue)
        await self.link.connect()
        await self.link.request_mtu()
        if self._consumer is None or self._consumer.done():
            self._consumer = asyncio.get_running_loop().create_task(
                self._consume(), name=f"dot {self.link.address}"
            )
        return DeviceIdentity(dot_serial(self.link.address), 0)

    async def measure_clock(self, clock_log: Path) -> None:
        """Nothing to do: the clock is fitted to the notifications' arrivals.

        Parameters
        ----------
        clock_log : Path
            Unused.
        """
        del clock_log

    def journal_header(self) -> bytes:
        """No header: the settings are journaled before the first frame of each run."""
        return b""

    def _enqueue(self, value: bytes) -> None:
        self._inbox.put_nowait((time.time_ns(), value))

    def _on_lost(self) -> None:
        self._started = False  # the sensor stops measuring when the link goes

    async def _consume(self) -> None:
        while True:
            host_ns, value = await self._inbox.get()
            self.last_activity = time.monotonic()
            try:
                if self.on_frame is not None:
                    self.on_frame(host_ns, value)
            except ImurehabError as err:
                self._failure = err
                self.failed.set()
                return

    async def close(self) -> None:
        """Disconnect and stop the consumer."""
        await self.link.disconnect()
        if self._consumer is not None:
            self._consumer.cancel()
            await asyncio.gather(self._consumer, return_exceptions=True)
            self._consumer = None

    # --- start and stop ----------------------------------------------------------------------------

    async def start(self, *, log: bool) -> None:
        """Start the measurement in the requested payload mode.

        Parameters
        ----------
        log : bool
            Ignored: a DOT records onboard only when asked through the message service
            (:func:`imurehab.ble.dot_sync.start_recording`).
        """
        del log
        await self._set_rate()
        # The run starts before the write: the first notification may be decoded before it returns.
        self.timeline.tracker.start_run(self.request.rate_hz)
        self._announced = False
        await self.link.write(
            DOT_CHARACTERISTICS["measurement_control"], measurement_control(True, self.mode.number)
        )
        self._started = True

    async def _set_rate(self) -> None:
        """Set the requested output rate on the device control characteristic and read it back.

        Raises
        ------
        BleError
            ``device`` when the sensor keeps another rate (D1: it cannot be changed once a measurement
            or the sensors' own sync started).
        """
        char, rate = DOT_CHARACTERISTICS["device_control"], round(self.request.rate_hz)
        value = await self.link.read(char)
        if parse_device_control(value)["output_rate_hz"] == rate:
            return
        await self.link.write(char, device_control(output_rate_hz=rate, base=value))
        now = parse_device_control(await self.link.read(char))["output_rate_hz"]
        if now != rate:
            raise BleError(
                f"the sensor streams at {now} Hz and did not take {rate} Hz (a DOT's output rate cannot be "
                "changed once a measurement or the sensors' own sync started: stop the sync, or ask for "
                f"DotRequest(rate_hz={now}))",
                address=self.link.address,
                reason="device",
            )

    async def stop(self) -> None:
        """Stop the measurement (samples lost at the very end cannot be seen: no counter)."""
        try:
            await self.link.write(
                DOT_CHARACTERISTICS["measurement_control"], measurement_control(False, self.mode.number)
            )
        finally:
            self._started = False

    # --- notifications -----------------------------------------------------------------------------

    def decode(self, host_ns: int, value: bytes) -> LiveFrame | None:
        """Decode one payload notification, unwrap its timestamp, find the loss before it.

        Parameters
        ----------
        host_ns : int
            When it arrived [ns since the Unix epoch].
        value : bytes
            The notification.

        Raises
        ------
        ProtocolError
            For a notification that is not one sample of the mode.
        """
        placed = self.timeline.place(value, self.mode.number)
        if placed is None:
            return None
        samples, index, epoch = placed
        assert samples.time_us is not None
        self._arrival(host_ns // 1000, int(samples.time_us[0]), epoch)
        journal = record(RECORD_FRAME, host_ns, value)
        if not self._announced:
            settings = {"payload_mode": self.mode.number, "rate_hz": self.request.rate_hz}
            journal = record(RECORD_SETTINGS, host_ns, json.dumps(settings).encode()) + journal
            self._announced = True
        q = samples.quantities
        return LiveFrame(
            record=journal,
            sample_index=np.array([index], dtype=np.int64),
            device_time_us=samples.time_us,
            acc=q["acc"],
            gyr=q["gyr"],
            mag=q.get("mag"),
        )

    def _arrival(self, host_us: int, device_us: int, epoch: int) -> None:
        if self.clock is not None and self.clock.boot_id != epoch:
            self._arrivals.clear()
        self._arrivals.append((host_us, device_us))
        del self._arrivals[:-_CLOCK_FRAMES]
        h, d = np.array(self._arrivals).T
        self.clock = fit_arrival_clock(h, d, boot_id=epoch)
