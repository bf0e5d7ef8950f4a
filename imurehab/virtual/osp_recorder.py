"""The streaming and logging engine of a virtual OSP sensor during one boot.

A :class:`Recorder` owns the acquisition configuration, the acquisition run (sampling on the device clock
while streaming or logging), the live stream (DATA frames into a bounded TX queue that a sender task
notifies as fast as the link takes them) and the open log session (DATA frames appended to flash as they
fill). It follows the spec's rules:

- live ``seq`` counts frames put in the TX queue from 0 at START_STREAM; a frame that does not fit the full
  queue is dropped *before* it gets a ``seq`` and the next queued frame carries GAP_BEFORE, so a host tells
  device drops (index jump with GAP_BEFORE) from air losses (``seq`` gaps);
- the log gets the same samples in its own frames (``seq`` from 0 per session) and never drops any;
- STOP_STREAM / STOP_LOG end with a frame flagged LAST (waiting for one more sample if none is pending);
- a log that would leave less than one frame of storage free ends with that frame flagged LAST and
  becomes CLOSED (storage full); live frames then carry session 0.

A reboot discards the recorder (its tasks stop at their next step) and the sensor makes a new one.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from imurehab.protocols.osp import (
    LogStarted,
    LogStopped,
    SessionState,
    Status,
    StreamConfig,
    encode_descriptor,
    max_samples_per_frame,
)
from imurehab.protocols.osp.constants import CRC_BYTES, DATA_HEADER_BYTES, MIN_ATT_MTU
from imurehab.protocols.osp.frames import channel_count
from imurehab.virtual.osp_acquisition import Acquisition, Block, FrameCutter, SampleSource, Settings
from imurehab.virtual.osp_flash import FlashSession, OspFlash
from imurehab.virtual.osp_stats import OspDeviceStats

__all__ = ["TX_QUEUE_FRAMES", "Recorder"]

TX_QUEUE_FRAMES = 8
"""Live DATA frames the device's TX queue holds; more are dropped (GAP_BEFORE on the next one)."""
_LOG_ATT_MTU = 247  # log frames are sized as live frames at the preferred MTU (≤ 244 bytes)
_TICK_MIN_S, _TICK_MAX_S = 0.002, 0.1


def _frame_bytes(n_samples: int, channel_mask: int) -> int:
    return DATA_HEADER_BYTES + 2 * n_samples * channel_count(channel_mask) + CRC_BYTES


class Recorder:
    """Acquisition, live stream and open log of one boot.

    Parameters
    ----------
    settings : Settings
        Power-on acquisition settings.
    device_mask : int
        Channels the hardware has.
    source : SampleSource
        What the IMU measures (replayed cyclically).
    flash : OspFlash
        Storage for logs.
    stats : OspDeviceStats
        Counters to update.
    first_index : int
        Sample index of the next sample of this boot.
    clock : callable
        ``clock() -> int``: the device time now [µs since boot].
    clock_rate : float
        Device µs per µs of air time (``(1 + drift) × time_scale``).
    boot_id : int
        The boot (descriptor field).
    serial, firmware : str
        Descriptor strings.
    spawn : callable
        ``spawn(coroutine, name)``: runs a task the air owns.
    send_live : callable
        ``await send_live(frame)``: notify one DATA frame (waits while the link is busy).
    mtu : callable
        ``mtu() -> int | None``: the connection's ATT MTU.
    on_stream_tick : callable
        Called at every acquisition step while streaming (time-triggered faults).
    """

    def __init__(
        self,
        *,
        settings: Settings,
        device_mask: int,
        source: SampleSource,
        flash: OspFlash,
        stats: OspDeviceStats,
        first_index: int,
        clock: Callable[[], int],
        clock_rate: float,
        boot_id: int,
        serial: str,
        firmware: str,
        spawn: Callable[[Coroutine[Any, Any, None], str], asyncio.Task[None]],
        send_live: Callable[[bytes], Awaitable[int]],
        mtu: Callable[[], int | None],
        on_stream_tick: Callable[[], None],
    ) -> None:
        self.settings = settings
        self.device_mask = device_mask
        self.source = source
        self.alive = True
        self._flash, self._stats, self._next_index = flash, stats, first_index
        self._clock, self._clock_rate = clock, clock_rate
        self._boot_id, self._serial, self._firmware = boot_id, serial, firmware
        self._spawn, self._send_live, self._mtu, self._on_stream_tick = spawn, send_live, mtu, on_stream_tick
        self._acq: Acquisition | None = None
        self._acq_task: asyncio.Task[None] | None = None
        self._live: FrameCutter | None = None
        self._live_max = 0
        self._live_n = max_samples_per_frame(_LOG_ATT_MTU, settings.channel_mask)
        self._tx: collections.deque[bytes] = collections.deque()
        self._tx_gap = False
        self._tx_sending = False
        self._tx_wake: asyncio.Event | None = None
        self._stall_until_us = 0
        self._log: FrameCutter | None = None
        self._session: FlashSession | None = None
        self._log_n = 1

    # --- state -------------------------------------------------------------------------------------

    @property
    def streaming(self) -> bool:
        """Whether a live stream runs."""
        return self._live is not None

    @property
    def logging_session(self) -> FlashSession | None:
        """The OPEN session being logged, or None."""
        return self._session

    @property
    def next_index(self) -> int:
        """Sample index the next sample will get."""
        return self._acq.next_index if self._acq is not None else self._next_index

    def descriptor_frame(self, session_id: int | None = None) -> bytes:
        """The DESCRIPTOR frame of the current settings.

        Parameters
        ----------
        session_id : int or None
            Session field; None: the session being logged, or 0.
        """
        sid = (self._session.session_id if self._session else 0) if session_id is None else session_id
        return encode_descriptor(
            self.settings.descriptor(
                boot_id=self._boot_id,
                session_id=sid,
                serial=self._serial,
                firmware=self._firmware,
                device_mask=self.device_mask,
            )
        )

    def set_source(self, source: SampleSource) -> None:
        """Measure from ``source`` from now on.

        Parameters
        ----------
        source : SampleSource
            The new source.
        """
        self.source = source
        if self._acq is not None:
            self._acq.set_source(source.raw(self.settings))

    # --- commands ----------------------------------------------------------------------------------

    def _applied(self, request: StreamConfig) -> tuple[Status, Settings | None]:
        new = self.settings.apply(request, self.device_mask)
        if new is None:
            return Status.INVALID_PARAMETER, None
        if self._acq is not None and new != self.settings:
            return Status.BUSY, None  # one acquisition configuration for stream and log
        return Status.OK, new

    def start_stream(self, request: StreamConfig) -> tuple[Status, StreamConfig | None]:
        """START_STREAM.

        Parameters
        ----------
        request : StreamConfig
            The command's CONFIG.
        """
        if self._live is not None:
            return Status.INVALID_STATE, None
        if (self._mtu() or 0) < MIN_ATT_MTU:
            return Status.MTU_TOO_SMALL, None
        status, new = self._applied(request)
        if new is None:
            return status, None
        self._catch_up()
        self.settings = new
        self._live, self._live_max = FrameCutter(new), request.max_samples
        self._tx.clear()
        self._tx_gap = False
        self._tx_wake = asyncio.Event()
        self._start_acquisition()
        self._spawn(self._sender(self._live), "OSP live sender")
        s = self.settings
        return Status.OK, StreamConfig(
            s.rate_mhz, s.channel_mask, s.acc_range_g, s.gyr_range_dps, self._live_size()
        )

    async def stop_stream(self) -> Status:
        """STOP_STREAM: the last frame (LAST) is queued, and sent before this returns."""
        cutter = self._live
        if cutter is None:
            return Status.INVALID_STATE
        block = await self._final_block(cutter)
        if self._live is not cutter:
            return Status.OK  # the link dropped meanwhile
        self._tx.append(
            cutter.encode(block, session_id=self._session_id(), gap_before=self._tx_gap, last=True)
        )
        self._stats.frames_streamed += 1
        self._wake()
        while self._live is cutter and (self._tx or self._tx_sending):
            await asyncio.sleep(0.001)
        self.end_stream()
        return Status.OK

    def end_stream(self) -> None:
        """Stop the live stream at once (link lost): queued frames are discarded."""
        self._live = None
        self._tx.clear()
        self._wake()
        self._maybe_stop_acquisition()

    def start_log(self, request: StreamConfig) -> tuple[Status, LogStarted | None]:
        """START_LOG: open a new session.

        Parameters
        ----------
        request : StreamConfig
            The command's CONFIG.
        """
        if self._session is not None:
            return Status.INVALID_STATE, None
        if self._live is not None and (self._mtu() or 0) < MIN_ATT_MTU:
            return Status.MTU_TOO_SMALL, None
        status, new = self._applied(request)
        if new is None:
            return status, None
        n = min(request.max_samples or 255, max_samples_per_frame(_LOG_ATT_MTU, new.channel_mask))
        descriptor_len = len(self.descriptor_frame(self._flash.next_session_id))
        if not self._flash.fits(descriptor_len + _frame_bytes(n, new.channel_mask)):
            return Status.STORAGE_FULL, None
        self._catch_up()
        self.settings = new
        acq = self._start_acquisition()
        descriptor = self.descriptor_frame(self._flash.next_session_id)
        self._session = self._flash.open(
            boot_id=self._boot_id,
            rate_mhz=new.rate_mhz,
            first_index=acq.next_index,
            first_time_us=acq.next_time_us,
            descriptor=descriptor,
        )
        self._log, self._log_n = FrameCutter(new), n
        s = self.settings
        return Status.OK, LogStarted(
            self._session.session_id, s.rate_mhz, s.channel_mask, s.acc_range_g, s.gyr_range_dps, n
        )

    async def stop_log(self) -> tuple[Status, LogStopped | None]:
        """STOP_LOG: the last frame (LAST) is written and the session CLOSED."""
        cutter, session = self._log, self._session
        if cutter is None or session is None:
            return Status.INVALID_STATE, None
        block = await self._final_block(cutter)
        if self._log is not cutter:
            return Status.INVALID_STATE, None  # closed meanwhile (storage full or reboot)
        self._write_log(block, last=True)
        return Status.OK, LogStopped(session.session_id, session.length, session.crc, session.n_samples)

    def stall_to_overflow(self) -> None:
        """Stall the live sender (radio busy) long enough for the TX queue to overflow by about 4 frames."""
        frames = TX_QUEUE_FRAMES + 4
        self._stall_until_us = self._clock() + frames * self._live_size() * 10**9 // self.settings.rate_mhz

    def halt(self) -> None:
        """Stop everything at once (reboot): RAM buffers are lost, tasks end at their next step."""
        self.alive = False
        self._live = self._log = self._session = None
        self._tx.clear()
        self._wake()
        self._acq = None

    # --- acquisition -------------------------------------------------------------------------------

    def _session_id(self) -> int:
        return self._session.session_id if self._session is not None else 0

    def _live_size(self) -> int:
        mtu = self._mtu()
        if mtu is not None:
            n = max_samples_per_frame(mtu, self.settings.channel_mask)
            self._live_n = min(n, self._live_max) if self._live_max else n
        return self._live_n

    def _start_acquisition(self) -> Acquisition:
        if self._acq is None:
            self._acq = Acquisition(
                self.settings,
                self.source.raw(self.settings),
                first_index=self._next_index,
                start_us=self._clock(),
            )
        if self._acq_task is None or self._acq_task.done():  # also after the air it ran on closed
            self._acq_task = self._spawn(self._acquire(self._acq), "OSP acquisition")
        return self._acq

    def _maybe_stop_acquisition(self) -> None:
        if self._acq is not None and self._live is None and self._log is None:
            self._next_index = self._acq.next_index
            self._acq = None

    async def _acquire(self, acq: Acquisition) -> None:
        while self.alive and self._acq is acq:
            self._catch_up()
            if self._live is not None:
                self._on_stream_tick()
            sizes = [n for n, on in ((self._live_n, self._live), (self._log_n, self._log)) if on is not None]
            period_s = min(sizes, default=1) * 1000.0 / acq.settings.rate_mhz / self._clock_rate
            await asyncio.sleep(min(max(period_s, _TICK_MIN_S), _TICK_MAX_S))

    def _catch_up(self, at_least: int = 0) -> None:
        if self._acq is None:
            return
        block = self._acq.produce(self._clock(), at_least)
        if not len(block):
            return
        if self._live is not None:
            self._live.feed(block)
            while (frame := self._live.take(self._live_size())) is not None:
                self._queue_live(frame)
        if self._log is not None:
            self._log.feed(block)
            while self._log is not None and (frame := self._log.take(self._log_n)) is not None:
                self._write_log(frame, last=False)

    async def _final_block(self, cutter: FrameCutter) -> Block:
        """Samples for a LAST frame: what is pending, else the next sample when it is due."""
        self._catch_up()
        while (
            cutter.pending == 0 and self.alive and cutter in (self._live, self._log) and self._acq is not None
        ):
            wait_us = self._acq.next_time_us - self._clock()
            if wait_us > 0:
                await asyncio.sleep(wait_us / 1e6 / self._clock_rate)
            self._catch_up(at_least=0 if wait_us > 0 else 1)
        return cutter.take_rest()

    def _queue_live(self, block: Block) -> None:
        assert self._live is not None
        if len(self._tx) >= TX_QUEUE_FRAMES:
            self._stats.stream_frames_dropped += 1
            self._stats.stream_samples_dropped += len(block)
            self._tx_gap = True
            return
        self._tx.append(self._live.encode(block, session_id=self._session_id(), gap_before=self._tx_gap))
        self._tx_gap = False
        self._stats.frames_streamed += 1
        self._wake()

    def _write_log(self, block: Block, *, last: bool) -> None:
        assert self._log is not None and self._session is not None
        mask = self.settings.channel_mask
        size = _frame_bytes(len(block), mask)
        full = not last and not self._flash.fits(size + _frame_bytes(self._log_n, mask))
        frame = self._log.encode(block, session_id=self._session.session_id, last=last or full)
        self._session.append(frame, len(block))
        self._stats.log_frames_written += 1
        if last or full:
            self._session.close(SessionState.CLOSED)
            self._stats.storage_full += int(full)
            self._log = self._session = None
            self._maybe_stop_acquisition()

    # --- live sender -------------------------------------------------------------------------------

    def _wake(self) -> None:
        if self._tx_wake is not None:
            self._tx_wake.set()

    async def _sender(self, cutter: FrameCutter) -> None:
        wake = self._tx_wake
        assert wake is not None
        while self.alive and self._live is cutter:
            stall_us = self._stall_until_us - self._clock()
            if stall_us > 0:
                await asyncio.sleep(stall_us / 1e6 / self._clock_rate)
                continue
            if not self._tx:
                wake.clear()
                await wake.wait()
                continue
            self._tx_sending = True
            try:
                await self._send_live(self._tx.popleft())
            finally:
                self._tx_sending = False
