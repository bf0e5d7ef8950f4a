"""Live streaming from several OSP sensors at once, with exact gap accounting and automatic reconnect.

Per sensor: connect, CLOCK_SYNC burst, START_LOG if asked (``log=True``), START_STREAM with the device's
own configuration (so the stream carries what is logged, and a later sync can fill its gaps), then every
DATA notification is enqueued by the bleak callback and handled by the consumer task: checked (CRC-32),
appended as received to ``<out>/_journal/<serial>/stream-…/frames.bin``, counted by a
:class:`~imurehab.ble.gaps.GapTracker` and handed to ``on_samples`` in SI units with an estimated UTC
time. A dropped (or silent) link is reconnected and the stream restarted; stopping (``seconds`` elapsed,
``stop_event`` set, or the task cancelled, e.g. by Ctrl-C) sends STOP_STREAM, flushes the journal and
writes every sample received to the dataset (merged with log syncs of the same study session).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from bleak.backends.client import BaseBleakClient

from imurehab.ble.clock import ClockLog, ClockModel, host_time_us
from imurehab.ble.connection import Link, RetryPolicy
from imurehab.ble.control import OspDevice
from imurehab.ble.dataset import write_study
from imurehab.ble.files import safe_name
from imurehab.ble.gaps import GapTracker
from imurehab.ble.layout import JournalRoot, StreamJournal, default_session_id
from imurehab.ble.report import StreamReport, StreamSensorReport
from imurehab.errors import BleError, ImurehabError, ProtocolError, StoreError
from imurehab.protocols.osp import (
    StartLogCommand,
    StartStreamCommand,
    Status,
    StopLogCommand,
    StopStreamCommand,
    decode_data_frame,
    sample_times_ns,
)

__all__ = ["LiveSamples", "SamplesCallback", "stream"]

logger = logging.getLogger(__name__)

_STOP_TIMEOUT_S: Final = 2.0
_STOPPED: Final = (Status.OK, Status.INVALID_STATE)  # INVALID_STATE: it had stopped already
_RETRYABLE: Final = ("disconnected", "timeout")


@dataclass(frozen=True)
class LiveSamples:
    """Samples of one received DATA frame, for real-time feedback.

    Attributes
    ----------
    sensor_id : str
        The sensor (its serial as a safe identifier).
    sample_index : ndarray of int64
        Device sample indices (per boot).
    device_time_us : ndarray of int64
        Device clock [µs since boot].
    time_us : ndarray of int64
        UTC estimate [µs since the Unix epoch] from the clock measured at connect (the dataset gets the
        final fit).
    acc : ndarray, shape (n, 3), or None
        Specific force [m/s²].
    gyr : ndarray, shape (n, 3), or None
        Angular rate [rad/s].
    mag : ndarray, shape (n, 3), or None
        Magnetic flux density [µT].
    address : str
        The address the sensor was streamed from (as given to :func:`stream`).
    """

    sensor_id: str
    sample_index: npt.NDArray[np.int64]
    device_time_us: npt.NDArray[np.int64]
    time_us: npt.NDArray[np.int64]
    acc: npt.NDArray[np.float64] | None
    gyr: npt.NDArray[np.float64] | None
    mag: npt.NDArray[np.float64] | None
    address: str = ""


SamplesCallback = Callable[[LiveSamples], None]
"""Called in the consumer task with every frame's samples (keep it quick)."""


class _DeviceStream:
    """One sensor's stream: runs over reconnects, its journal, tracker and report."""

    def __init__(
        self,
        root: JournalRoot,
        address: str,
        study: tuple[str, str],
        *,
        policy: RetryPolicy,
        backend: type[BaseBleakClient] | None,
        on_samples: SamplesCallback | None,
        stopping: asyncio.Event,
        log: bool,
    ) -> None:
        self.root, self.study, self.policy, self.log = root, study, policy, log
        self.on_samples, self.stopping = on_samples, stopping
        self.report = StreamSensorReport(address)
        self.tracker = GapTracker()
        self.osp = OspDevice(Link(address, backend=backend, policy=policy), policy)
        self.osp.on_frame = self._on_frame
        self._journal: StreamJournal | None = None
        self._clock: ClockModel | None = None
        self._streaming = False
        self._logging = False  # a log this run started (stopped at the end)

    async def run(self) -> None:
        """Stream until told to stop; every failure ends up in :attr:`report`."""
        try:
            while not self.stopping.is_set():
                try:
                    await self._run_once()
                except BleError as err:
                    if err.reason not in _RETRYABLE or self.report.reconnects >= self.policy.max_reconnects:
                        raise
                    self.report.reconnects += 1
                    logger.info("%s: %s; reconnecting", self.report.address, err)
                    self._close_journal()
                    await self.osp.link.disconnect()
        except ImurehabError as err:
            self.report.error = err
        finally:
            await self._finish()

    async def _run_once(self) -> None:
        desc = await self.osp.connect(stream=True)
        self.report.serial, self.report.sensor_id = desc.serial, safe_name(desc.serial)
        await self._measure_clock(desc.boot_id)
        self._journal = self.root.stream_journal(desc.serial, desc.boot_id, host_time_us(), self.study)
        self._journal.append(self.osp.descriptor_bytes)
        self.tracker.start_run(desc.boot_id)
        if self.log and desc.session_id == 0:
            await self.osp.command(StartLogCommand(rate_mhz=0, channel_mask=desc.channel_mask))
            self._logging = True
        self._streaming = True
        # Rate 0 keeps the device's configuration, so the stream carries what is logged (spec §10).
        await self.osp.command(StartStreamCommand(rate_mhz=0, channel_mask=desc.channel_mask))
        waits = [self.stopping.wait(), self.osp.link.lost.wait(), self.osp.failed.wait(), self._quiet()]
        tasks = [asyncio.ensure_future(w) for w in waits]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
        self.osp.raise_failure()
        if self.stopping.is_set():
            return
        if self.osp.link.is_connected:
            raise BleError(
                f"no live data for {self.policy.idle_timeout_s:g} s",
                address=self.report.address,
                reason="timeout",
            )
        raise BleError("the link dropped while streaming", address=self.report.address, reason="disconnected")

    async def _quiet(self) -> None:
        """Return once nothing has arrived for ``policy.idle_timeout_s`` (a silent link: reconnect)."""
        while time.monotonic() - self.osp.last_activity < self.policy.idle_timeout_s:
            await asyncio.sleep(self.policy.idle_timeout_s / 4)

    async def _measure_clock(self, boot_id: int) -> None:
        assert self.report.serial is not None
        log = ClockLog(self.root.device_dir(self.report.serial) / "clock.jsonl")
        boot, samples = await self.osp.clock_sync(self.policy.clock_round_trips)
        log.append(boot, samples)
        self._clock = log.models().get(boot_id)

    async def _finish(self) -> None:
        """STOP_STREAM if streaming (its LAST frame arrives first), a last clock burst, then close."""
        if (self._streaming or self._logging) and self.osp.link.is_connected:
            with contextlib.suppress(ImurehabError, TimeoutError):
                async with asyncio.timeout(_STOP_TIMEOUT_S):
                    if self._streaming:
                        await self.osp.command(StopStreamCommand(), accept=_STOPPED)
                        self.report.tail_lost = not self.tracker.last_flag
                    if self._logging:
                        await self.osp.command(StopLogCommand(), accept=_STOPPED)
                    if self.report.serial is not None and self._clock is not None:
                        await self._measure_clock(self._clock.boot_id)
        self._streaming = self._logging = False
        self._close_journal()
        await self.osp.close()
        self.report.frames, self.report.samples = self.tracker.frames, self.tracker.samples
        self.report.gaps = list(self.tracker.gaps)

    def _close_journal(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    def _on_frame(self, _host_ns: int, raw: bytes) -> None:
        desc, journal = self.osp.descriptor, self._journal
        if desc is None or journal is None:
            return
        try:
            frame = decode_data_frame(raw)
        except ProtocolError:
            self.report.rejected_frames += 1
            return
        n = len(frame.samples)
        if frame.stream_id != desc.stream_id or not self.tracker.frame(
            frame.seq, frame.first_index, n, frame.flags
        ):
            return
        journal.append(raw)
        self.report.received_bytes += len(raw)
        if self.on_samples is not None:
            self._deliver(frame.samples, frame.first_index, frame.first_time_us, frame.channel_mask)

    def _deliver(self, raw: npt.NDArray[np.int16], first_index: int, first_time_us: int, mask: int) -> None:
        desc = self.osp.descriptor
        assert desc is not None and self.on_samples is not None
        n = len(raw)
        device_us = sample_times_ns(first_time_us, n, desc.rate_mhz) // 1000
        utc = self._clock.to_utc_us(device_us) if self._clock is not None else np.full(n, np.nan)
        groups: dict[str, Any] = {}
        col = 0
        for bit, name, scale in (
            (1, "acc", desc.acc_scale),
            (2, "gyr", desc.gyr_scale),
            (4, "mag", desc.mag_scale),
        ):
            groups[name] = raw[:, col : col + 3] * scale if mask & bit else None
            col += 3 if mask & bit else 0
        live = LiveSamples(
            sensor_id=self.report.sensor_id or "",
            sample_index=first_index + np.arange(n, dtype=np.int64),
            device_time_us=device_us,
            time_us=np.rint(utc).astype(np.int64) if self._clock is not None else np.zeros(n, np.int64),
            address=self.report.address,
            **groups,
        )
        try:
            self.on_samples(live)
        except Exception:
            logger.exception("on_samples callback failed")


async def stream(
    addresses: Sequence[str],
    out: str | Path,
    *,
    seconds: float | None = None,
    client_backend: type[BaseBleakClient] | None = None,
    on_samples: SamplesCallback | None = None,
    stop_event: asyncio.Event | None = None,
    subject: str | None = None,
    session: str | None = None,
    policy: RetryPolicy | None = None,
    log: bool = False,
) -> StreamReport:
    """Stream live from several OSP sensors at once into a dataset, counting every gap exactly.

    Parameters
    ----------
    addresses : sequence of str
        Sensor addresses.
    out : str or Path
        Dataset root (journal under ``<out>/_journal/``, samples in the ``samples`` table).
    seconds : float, optional
        Stream this long [s]; None streams until ``stop_event`` is set or the task is cancelled.
    client_backend : type or None
        bleak client backend class (None: the platform's).
    on_samples : callable, optional
        Called with :class:`LiveSamples` for every frame received (real-time feedback).
    stop_event : asyncio.Event, optional
        Set it to stop gracefully (e.g. from a SIGINT handler): the report is returned.
    subject, session : str, optional
        Study ids (defaults as for :func:`~imurehab.ble.sync`). Give a later sync the same ids to fill the
        stream's gaps from the sensors' logs in the same dataset partition.
    policy : RetryPolicy, optional
        Retry limits and timeouts.
    log : bool
        Also log on each sensor not logging yet (START_LOG at connect, STOP_LOG at the end), so that a
        later :func:`~imurehab.ble.sync` with the same study ids fills every live gap from the log.

    Returns
    -------
    StreamReport
        Per sensor: frames, samples, gaps (air, device, link), reconnects, clock uncertainty, errors.

    Raises
    ------
    asyncio.CancelledError
        When cancelled (Ctrl-C under ``asyncio.run``): streams are stopped, journals flushed and the
        samples written first, so everything received is kept.
    JournalError
        ``busy`` when another process is writing to ``out``.
    """
    policy = policy or RetryPolicy()
    out, started = Path(out), time.monotonic()
    wanted = list(dict.fromkeys(addresses))
    root = JournalRoot(out)
    with root.locked():
        study = root.begin_run("stream", subject, session, default_session_id())
        stopping = asyncio.Event()
        streams = [
            _DeviceStream(
                root,
                address,
                study,
                policy=policy,
                backend=client_backend,
                on_samples=on_samples,
                stopping=stopping,
                log=log,
            )
            for address in wanted
        ]
        report = StreamReport(out, study[0], study[1], [s.report for s in streams])
        tasks = [asyncio.ensure_future(s.run()) for s in streams]
        watcher = asyncio.ensure_future(_stop_when(stopping, stop_event, seconds))
        try:
            await asyncio.gather(*tasks)
        except asyncio.CancelledError:
            report.interrupted = True
            stopping.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            watcher.cancel()
            report.elapsed_s = time.monotonic() - started
            _write(root, study, report)
    return report


async def _stop_when(
    stopping: asyncio.Event, stop_event: asyncio.Event | None, seconds: float | None
) -> None:
    waiter = asyncio.ensure_future((stop_event or asyncio.Event()).wait())
    try:
        await asyncio.wait([waiter], timeout=seconds)
    finally:
        waiter.cancel()
        stopping.set()


def _write(root: JournalRoot, study: tuple[str, str], report: StreamReport) -> None:
    try:
        written = write_study(root, study)
    except (ImurehabError, OSError) as err:
        report.write_error = err if isinstance(err, ImurehabError) else StoreError(str(err), path=root.out)
        return
    report.paths = written.paths
    for sensor in report.sensors:
        summary = written.sensors.get(sensor.serial or "")
        if summary is not None:
            sensor.clock_uncertainty_us = summary.clock_uncertainty_us
    root.finish_run()
