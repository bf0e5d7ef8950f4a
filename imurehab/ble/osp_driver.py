"""OSP behind the live-stream seam: descriptor, CLOCK_SYNC, START/STOP_STREAM and _LOG, DATA frames.

Per connection: connect and read the descriptor (serial, boot id), a CLOCK_SYNC burst, START_LOG if
asked (``log=True``) and the device is not logging yet, START_STREAM with the device's own configuration
(so the stream carries what is logged, and a later sync can fill its gaps). Every DATA frame is checked
(CRC-32) and counted by a :class:`~imurehab.ble.gaps.GapTracker` from its sequence number and sample
index. Stopping sends STOP_STREAM (its LAST frame arrives first), STOP_LOG for a log this run started,
and measures the clock once more.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Final

import numpy as np

from imurehab.ble.clock import ClockLog
from imurehab.ble.connection import Link, RetryPolicy
from imurehab.ble.control import OspDevice, Sink
from imurehab.ble.family import DeviceIdentity, LiveFrame
from imurehab.ble.gaps import GapTracker
from imurehab.ble.report import Gap
from imurehab.protocols.osp import (
    StartLogCommand,
    StartStreamCommand,
    Status,
    StopLogCommand,
    StopStreamCommand,
    decode_data_frame,
    sample_times_ns,
)
from imurehab.types.clock import ClockModel

__all__ = ["OspDriver"]

_STOPPED: Final = (Status.OK, Status.INVALID_STATE)  # INVALID_STATE: it had stopped already


class OspDriver:
    """One OSP sensor streaming live (see :class:`~imurehab.ble.family.LiveDriver`).

    Parameters
    ----------
    link : Link
        The sensor's link.
    policy : RetryPolicy
        Timeouts and the clock burst size.
    """

    family = "osp"

    def __init__(self, link: Link, policy: RetryPolicy) -> None:
        self.link, self.policy = link, policy
        self.osp = OspDevice(link, policy)
        self.tracker = GapTracker()
        self.clock: ClockModel | None = None
        self.tail_lost = False
        self._streaming = False
        self._logging = False  # a log this run started (stopped at the end)
        self._clock_log: ClockLog | None = None

    # --- what the stream reads ---------------------------------------------------------------------

    @property
    def on_frame(self) -> Sink | None:
        """Where DATA notifications go (the OSP consumer calls it)."""
        return self.osp.on_frame

    @on_frame.setter
    def on_frame(self, sink: Sink | None) -> None:
        self.osp.on_frame = sink

    @property
    def failed(self) -> asyncio.Event:
        """Set when the consumer stopped on an error."""
        return self.osp.failed

    @property
    def last_activity(self) -> float:
        """``time.monotonic()`` of the last value received."""
        return self.osp.last_activity

    @property
    def active(self) -> bool:
        """A stream or a log this run started is running."""
        return self._streaming or self._logging

    @property
    def gaps(self) -> list[Gap]:
        """Gaps found so far."""
        return self.tracker.gaps

    @property
    def frames(self) -> int:
        """DATA frames accepted."""
        return self.tracker.frames

    @property
    def samples(self) -> int:
        """Samples accepted."""
        return self.tracker.samples

    def raise_failure(self) -> None:
        """Raise the error that stopped the consumer, if one did."""
        self.osp.raise_failure()

    # --- the run -----------------------------------------------------------------------------------

    async def connect(self) -> DeviceIdentity:
        """Connect, subscribe (DATA too) and read the descriptor."""
        desc = await self.osp.connect(stream=True)
        return DeviceIdentity(desc.serial, desc.boot_id)

    async def measure_clock(self, clock_log: Path) -> None:
        """A CLOCK_SYNC burst, appended to the device's clock log; :attr:`clock` refitted.

        Parameters
        ----------
        clock_log : Path
            ``<journal>/<serial>/clock.jsonl``.
        """
        self._clock_log = log = ClockLog(clock_log)
        boot, samples = await self.osp.clock_sync(self.policy.clock_round_trips)
        log.append(boot, samples)
        desc = self.osp.descriptor
        self.clock = log.models().get(desc.boot_id if desc is not None else boot)

    def journal_header(self) -> bytes:
        """The descriptor read at this connect (the journal decodes with it)."""
        return self.osp.descriptor_bytes

    async def start(self, *, log: bool) -> None:
        """START_LOG (when asked and not logging yet), then START_STREAM with the device's configuration.

        Parameters
        ----------
        log : bool
            Also log on the device.
        """
        desc = self.osp.descriptor
        assert desc is not None
        self.tracker.start_run(desc.boot_id)
        if log and desc.session_id == 0:
            await self.osp.command(StartLogCommand(rate_mhz=0, channel_mask=desc.channel_mask))
            self._logging = True
        self._streaming = True
        # Rate 0 keeps the device's configuration, so the stream carries what is logged (spec §10).
        await self.osp.command(StartStreamCommand(rate_mhz=0, channel_mask=desc.channel_mask))

    async def stop(self) -> None:
        """STOP_STREAM (the tail is lost unless its LAST frame came), STOP_LOG, a last clock burst."""
        try:
            if self._streaming:
                await self.osp.command(StopStreamCommand(), accept=_STOPPED)
                self.tail_lost = not self.tracker.last_flag
            if self._logging:
                await self.osp.command(StopLogCommand(), accept=_STOPPED)
            if self._clock_log is not None and self.clock is not None:
                await self.measure_clock(self._clock_log.path)
        finally:
            self._streaming = self._logging = False

    def decode(self, host_ns: int, value: bytes) -> LiveFrame | None:
        """Check and count one DATA frame; None when not ours (another stream) or a duplicate.

        Parameters
        ----------
        host_ns : int
            When it arrived [ns since the Unix epoch] (unused: OSP measures its clock explicitly).
        value : bytes
            The notification.
        """
        del host_ns
        desc = self.osp.descriptor
        if desc is None:
            return None
        frame = decode_data_frame(value)
        n = len(frame.samples)
        if frame.stream_id != desc.stream_id or not self.tracker.frame(
            frame.seq, frame.first_index, n, frame.flags
        ):
            return None
        raw = frame.samples
        groups: dict[str, np.ndarray | None] = {}
        col = 0
        for bit, name, scale in (
            (1, "acc", desc.acc_scale),
            (2, "gyr", desc.gyr_scale),
            (4, "mag", desc.mag_scale),
        ):
            groups[name] = raw[:, col : col + 3] * scale if frame.channel_mask & bit else None
            col += 3 if frame.channel_mask & bit else 0
        return LiveFrame(
            record=value,
            sample_index=frame.first_index + np.arange(n, dtype=np.int64),
            device_time_us=sample_times_ns(frame.first_time_us, n, desc.rate_mhz) // 1000,
            acc=groups["acc"],
            gyr=groups["gyr"],
            mag=groups["mag"],
        )

    async def close(self) -> None:
        """Disconnect and stop the consumer."""
        await self.osp.close()
