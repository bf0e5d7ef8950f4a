"""Live streaming from several sensors at once, with exact gap accounting and automatic reconnect.

Per sensor, a family driver (:mod:`imurehab.ble.family`: OSP or Polar PMD, given or recognised from the
device's GATT services) connects, measures the clock where the family can, and starts the stream; every
data notification is enqueued by the bleak callback and handled by the driver's consumer task: checked,
counted (gaps found exactly: from frame counters and sample indices for OSP, from frame timestamps for
Polar), appended as received to ``<out>/_journal/<serial>/stream-…/frames.bin`` and handed to
``on_samples`` in SI units with an estimated UTC time. A dropped (or silent) link is reconnected and the
stream restarted; stopping (``seconds`` elapsed, ``stop_event`` set, or the task cancelled, e.g. by
Ctrl-C) stops the stream on the device, flushes the journal and writes every sample received to the
dataset (merged with log syncs of the same study session).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
from bleak.backends.client import BaseBleakClient

from imurehab.ble.clock import ClockModel, host_time_us
from imurehab.ble.connection import Link, RetryPolicy
from imurehab.ble.dataset import write_study
from imurehab.ble.family import LIVE_FAMILIES, LiveDriver, LiveFrame, family_from_services, make_driver
from imurehab.ble.files import safe_name
from imurehab.ble.layout import JournalRoot, StreamJournal, default_session_id
from imurehab.ble.polar import PolarRequest
from imurehab.ble.report import StreamReport, StreamSensorReport
from imurehab.errors import BleError, ImurehabError, ProtocolError, StoreError

__all__ = ["LiveSamples", "SamplesCallback", "stream"]

logger = logging.getLogger(__name__)

_STOP_TIMEOUT_S: Final = 2.0
_RETRYABLE: Final = ("disconnected", "timeout")


@dataclass(frozen=True)
class LiveSamples:
    """Samples of one received data frame, for real-time feedback.

    A Polar PMD frame carries one measurement: its ``acc``, ``gyr`` or ``mag``, the others None.

    Attributes
    ----------
    sensor_id : str
        The sensor (its serial as a safe identifier).
    sample_index : ndarray of int64
        Sample indices: the device's (per boot) for OSP; for Polar, counted by the host from the frame
        times (lost samples skip indices).
    device_time_us : ndarray of int64
        Device clock [µs since boot for OSP, since 2000-01-01 for Polar].
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
    """One sensor's stream over reconnects: its journal and report; the family's driver does the rest."""

    def __init__(
        self,
        root: JournalRoot,
        address: str,
        study: tuple[str, str],
        *,
        family: str | None,
        polar: PolarRequest | None,
        requests: Mapping[str, object],
        policy: RetryPolicy,
        backend: type[BaseBleakClient] | None,
        on_samples: SamplesCallback | None,
        stopping: asyncio.Event,
        log: bool,
    ) -> None:
        self.root, self.study, self.policy, self.log = root, study, policy, log
        self.on_samples, self.stopping, self.polar = on_samples, stopping, polar
        self.requests = requests
        self.report = StreamSensorReport(address, family=family)
        self.link = Link(address, backend=backend, policy=policy)
        self.driver: LiveDriver | None = None if family is None else self._new_driver(family)
        self._journal: StreamJournal | None = None

    def _new_driver(self, family: str) -> LiveDriver:
        request = self.requests.get(family)
        driver = make_driver(family, self.link, self.policy, request=request, polar=self.polar)
        driver.on_frame = self._on_frame
        return driver

    async def _identified(self) -> LiveDriver:
        """The driver, after telling the family from the GATT services when it was not given."""
        if self.driver is None:
            await self.link.connect()
            family = family_from_services(self.link.service_uuids)
            if family is None:
                raise BleError(
                    f"no service of a family imurehab streams from ({', '.join(LIVE_FAMILIES)})",
                    address=self.report.address,
                    reason="unsupported",
                )
            self.report.family = family
            self.driver = self._new_driver(family)
        return self.driver

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
                    await self.link.disconnect()
        except ImurehabError as err:
            self.report.error = err
        finally:
            await self._finish()

    async def _run_once(self) -> None:
        driver = await self._identified()
        ident = await driver.connect()
        self.report.serial, self.report.sensor_id = ident.serial, safe_name(ident.serial)
        await driver.measure_clock(self.root.device_dir(ident.serial) / "clock.jsonl")
        self._journal = self.root.stream_journal(
            ident.serial, ident.boot_id, host_time_us(), self.study, family=driver.family
        )
        self._journal.append(driver.journal_header())
        await driver.start(log=self.log)
        waits = [self.stopping.wait(), self.link.lost.wait(), driver.failed.wait(), self._quiet(driver)]
        tasks = [asyncio.ensure_future(w) for w in waits]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
        driver.raise_failure()
        if self.stopping.is_set():
            return
        if self.link.is_connected:
            raise BleError(
                f"no live data for {self.policy.idle_timeout_s:g} s",
                address=self.report.address,
                reason="timeout",
            )
        raise BleError("the link dropped while streaming", address=self.report.address, reason="disconnected")

    async def _quiet(self, driver: LiveDriver) -> None:
        """Return once nothing has arrived for ``policy.idle_timeout_s`` (a silent link: reconnect)."""
        while time.monotonic() - driver.last_activity < self.policy.idle_timeout_s:
            await asyncio.sleep(self.policy.idle_timeout_s / 4)

    async def _finish(self) -> None:
        """Stop what the driver started (a last clock burst where the family has one), then close."""
        driver = self.driver
        if driver is not None and driver.active and self.link.is_connected:
            with contextlib.suppress(ImurehabError, TimeoutError):
                async with asyncio.timeout(_STOP_TIMEOUT_S):
                    await driver.stop()
        self._close_journal()
        if driver is None:
            await self.link.disconnect()
            return
        await driver.close()
        self.report.frames, self.report.samples = driver.frames, driver.samples
        self.report.gaps = list(driver.gaps)
        self.report.tail_lost = driver.tail_lost

    def _close_journal(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    def _on_frame(self, host_ns: int, raw: bytes) -> None:
        driver, journal = self.driver, self._journal
        if driver is None or journal is None:
            return
        try:
            frame = driver.decode(host_ns, raw)
        except ProtocolError:
            self.report.rejected_frames += 1
            return
        if frame is None:
            return
        journal.append(frame.record)
        self.report.received_bytes += len(raw)
        if self.on_samples is not None:
            self._deliver(frame, driver.clock)

    def _deliver(self, frame: LiveFrame, clock: ClockModel | None) -> None:
        assert self.on_samples is not None
        n = len(frame.sample_index)
        device_us = frame.device_time_us
        live = LiveSamples(
            sensor_id=self.report.sensor_id or "",
            sample_index=frame.sample_index,
            device_time_us=device_us,
            time_us=np.rint(clock.to_utc_us(device_us)).astype(np.int64)
            if clock is not None
            else np.zeros(n, np.int64),
            acc=frame.acc,
            gyr=frame.gyr,
            mag=frame.mag,
            address=self.report.address,
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
    families: Mapping[str, str] | None = None,
    polar: PolarRequest | None = None,
    requests: Mapping[str, object] | None = None,
) -> StreamReport:
    """Stream live from several sensors of any live family at once into a dataset, counting every gap exactly.

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
        later :func:`~imurehab.ble.sync` with the same study ids fills every live gap from the log
        (OSP only; Polar sensors keep no log this way).
    families : mapping of str to str, optional
        Address → family (one of :data:`~imurehab.ble.family.LIVE_FAMILIES`); a sensor not listed is
        recognised from its GATT services at its first connect.
    polar : PolarRequest, optional
        Rates and ranges asked of Polar sensors (the closest offered are used; default ACC and GYRO at
        52 Hz, ±8 g and ±2000 deg/s).
    requests : mapping of str to object, optional
        Family → that family's request (e.g. ``{"movesense-gsp": MovesenseRequest("IMU6", 104),
        "movella-dot": DotRequest(payload_mode=21, rate_hz=60)}``); a family not listed gets its default.

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
                family=_family_of(address, families),
                polar=polar,
                requests=dict(requests or {}),
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


def _family_of(address: str, families: Mapping[str, str] | None) -> str | None:
    upper = {a.upper(): f for a, f in (families or {}).items()}
    return upper.get(address.upper())


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
