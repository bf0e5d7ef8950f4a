"""Polar offline recordings: start/stop on the sensor, then a verified sync over PFTP into the dataset.

``firmware_protocols/polar-pmd/spec.md`` §10 (control point) and §11 (PFTP). Per sensor, :func:`sync_polar`:

1. connects (PMD and PSFTP subscribed), asks *get measurement status*: a sensor still recording offline
   is reported (``recording``), not read — whether a running file may be read is not documented;
2. lists ``/U/0/`` recursively (``<yyyymmdd>/R/<hhmmss>/<TYPE>[n].REC``, zero-size files skipped);
3. GETs every file of a recording not yet verified in the journal: a frame lost on the air is seen by
   its sequence number (the host cancels the response), a short file by its size against the listing;
   either way the **whole file** is fetched again (a GET cannot resume), up to :data:`GET_ATTEMPTS`
   times; a dropped link reconnects (up to ``policy.max_reconnects``). Files are journaled
   (``<out>/_journal/<serial>/stream-offline-<yyyymmddhhmmss>/``) only whole;
4. verifies the recording (each measurement's parts decode as .REC and follow each other in time) and
   only then, with ``erase=True``, REMOVEs it on the sensor (and the emptied date directory);
5. measures the sensor clock: a short online ACC stream, each frame's arrival against its timestamp,
   then :data:`~imurehab.ble.clock.READS` timed reads of the PMD control point (:func:`probe_clock`);
6. rewrites the study session's ``samples``/``sessions`` partitions (:func:`imurehab.ble.dataset.write_study`
   replays offline journals with :mod:`imurehab.ble.polar_dataset`).

Clock: frame timestamps count the sensor clock, which the phone set to *local* time (spec.md §6, §8.3);
the .REC start time is not used for UTC. UTC comes from the probe at sync time: its offset is known to
the probe's latency scatter plus half the least read round trip (taken as the notifications' least
latency, it moves the offset: :func:`~imurehab.ble.clock.with_read_latency`); its drift is not measured
in seconds of probing, so it is bounded by
:data:`~imurehab.ble.clock.MAX_DRIFT_PPM`, and a sample recorded D seconds before the sync carries
``D × 500 ppm`` more uncertainty (reported per sensor). Whatever cannot be recovered — files that never
arrived whole, recordings still running, samples the sensor itself did not store — is in the
:class:`~imurehab.ble.report.SensorReport`, never silently dropped.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Final, TypeVar

from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import BaseBleakScanner

from imurehab.ble.clock import read_round_trips
from imurehab.ble.connection import Link, RetryPolicy
from imurehab.ble.discovery import find_devices
from imurehab.ble.download import ProgressCallback
from imurehab.ble.files import make_dirs, read_json, write_json_atomic
from imurehab.ble.layout import JournalRoot, default_session_id
from imurehab.ble.polar import PolarPmdDriver, PolarRequest
from imurehab.ble.polar_dataset import FAMILY
from imurehab.ble.polar_pftp import LOST_FRAME, NO_SUCH_FILE, PftpClient, PftpError
from imurehab.ble.polar_recordings import verify_recording
from imurehab.ble.report import SensorReport, SessionResult, SyncProgress, SyncReport
from imurehab.ble.sync import write_into_report
from imurehab.errors import BleError, ImurehabError
from imurehab.protocols.polar_pmd import decode_directory, pmd_profile

__all__ = ["GET_ATTEMPTS", "start_offline_recording", "stop_offline_recording", "sync_polar"]

GET_ATTEMPTS: Final = 5
"""Times one file is requested before it is reported as not recovered."""
_ROOT: Final = "/U/0/"
_STEP: Final = re.compile(r"\d{8}/|R/|\d{6}/|.*\.REC")
_RETRYABLE: Final = ("disconnected", "timeout")
_PROBE_FRAMES: Final = 12  # ACC frames the clock probe waits for: 52 Hz, 33 samples each, ~7.6 s
_PROBE_TIMEOUT_S: Final = 15.0  # the probe ends with the frames received by then (a link that drops often)
_T = TypeVar("_T")
_CONTROL_POINT: Final[str] = pmd_profile().raw["gatt"]["control_point"]  # read: the feature mask
_OFFLINE_STATE: Final = 0x80  # get measurement status: bit 7 = offline recording active (spec.md §10)


async def _session(
    address: str, backend: type[BaseBleakClient] | None, policy: RetryPolicy, device: BLEDevice | None = None
) -> tuple[PolarPmdDriver, PftpClient, str]:
    link = Link(device or address, backend=backend, policy=policy)
    driver = PolarPmdDriver(link, policy, PolarRequest({"acc": (52.0, 8.0)}))
    pftp = PftpClient(link, policy)
    await pftp.attach()
    identity = await driver.connect()
    return driver, pftp, identity.serial


async def start_offline_recording(
    address: str,
    measurements: PolarRequest,
    *,
    client_backend: type[BaseBleakClient] | None = None,
    policy: RetryPolicy | None = None,
) -> dict[str, dict[str, float]]:
    """Start offline recording of each measurement (closest offered rate and range), then disconnect.

    Parameters
    ----------
    address : str
        The sensor.
    measurements : PolarRequest
        ``"acc"``/``"gyro"``/``"mag"`` → (rate [Hz], range [g, deg/s, gauss]).
    client_backend : type, optional
        bleak client backend class.
    policy : RetryPolicy, optional
        Timeouts.

    Returns
    -------
    dict
        Per measurement, the settings sent.

    Raises
    ------
    BleError
        ``device`` when the sensor refuses (``ERROR_ALREADY_IN_STATE`` is accepted), link errors.
    """
    policy = policy or RetryPolicy()
    driver, _, _ = await _session(address, client_backend, policy)
    driver.request = measurements
    chosen = {}
    try:
        for m in measurements.measurements:
            settings = await driver.negotiate(m, offline=True)
            resp = await driver.command("start_measurement", m, settings, offline=True)
            if not resp.ok and resp.error != "ERROR_ALREADY_IN_STATE":
                raise BleError(f"start offline {m} answered {resp.error}", address=address, reason="device")
            chosen[m] = settings
    finally:
        await driver.close()
    return chosen


async def stop_offline_recording(
    address: str,
    measurements: Sequence[str],
    *,
    client_backend: type[BaseBleakClient] | None = None,
    policy: RetryPolicy | None = None,
) -> None:
    """Stop the offline recording of each measurement (the sensor then stores its files).

    Parameters
    ----------
    address : str
        The sensor.
    measurements : sequence of str
        ``"acc"``, ``"gyro"``, ``"mag"``.
    client_backend : type, optional
        bleak client backend class.
    policy : RetryPolicy, optional
        Timeouts.
    """
    policy = policy or RetryPolicy()
    driver, _, _ = await _session(address, client_backend, policy)
    try:
        for m in measurements:
            await driver.command("stop_measurement", m)  # the plain type, as the SDK sends it (§10)
    finally:
        await driver.close()


class _Sync:
    """One sensor's offline sync (see the module docstring)."""

    def __init__(
        self,
        root: JournalRoot,
        address: str,
        device: BLEDevice | None,
        study: tuple[str, str],
        erase: bool,
        policy: RetryPolicy,
        progress: ProgressCallback | None,
        backend: type[BaseBleakClient] | None,
    ) -> None:
        self.root, self.address, self.device, self.study = root, address, device, study
        self.erase, self.policy, self.progress, self.backend = erase, policy, progress, backend
        self.report = SensorReport(address)
        self.arrivals: list[tuple[int, int]] = []
        self.read_round_trips: list[int] = []

    def emit(self, phase: str, message: str = "") -> None:
        if self.progress is not None:
            self.progress(
                SyncProgress(
                    self.address, phase, self.report.received_bytes, 0, self.report.serial, None, message
                )
            )

    async def run(self) -> None:
        if self.device is None:
            self.report.error = BleError(
                "no such device is advertising", address=self.address, reason="not-found"
            )
            return
        self.emit("connecting")
        try:
            driver, pftp, serial = await _session(self.address, self.backend, self.policy, self.device)
        except ImurehabError as err:
            self.report.error = err
            self.emit("failed", str(err))
            return
        self.report.serial = serial
        try:
            await self._sync(driver, pftp, serial)
        except ImurehabError as err:
            self.report.error = err
            self.emit("failed", str(err))
        finally:
            await driver.close()
        self.report.reconnects = max(0, driver.link.connects - 1)

    async def _retry(
        self, driver: PolarPmdDriver, what: Callable[..., Awaitable[_T]], *args: Any, **kw: Any
    ) -> _T:
        """Run ``what`` on a connected link, again after a drop or a timeout (``max_reconnects`` at most)."""
        for attempt in range(self.policy.max_reconnects + 1):
            try:
                await driver.link.connect()
                return await what(*args, **kw)
            except BleError as err:
                if err.reason not in _RETRYABLE or attempt == self.policy.max_reconnects:
                    raise
                await asyncio.sleep(self.policy.backoff_s(0))
        raise AssertionError("unreachable")

    async def _sync(self, driver: PolarPmdDriver, pftp: PftpClient, serial: str) -> None:
        status = await self._retry(driver, driver.command, "get_measurement_status", None)
        if any(b & _OFFLINE_STATE for b in status.parameters):
            raise BleError(
                "an offline recording is still running: stop it before syncing",
                address=self.address,
                reason="recording",
            )
        self.emit("clock")
        await self._probe(driver)
        files = await self._retry(driver, self._list, pftp, _ROOT)
        by_dir: dict[str, dict[str, int]] = {}
        for path, size in files:
            folder, _, name = path.rpartition("/")
            by_dir.setdefault(folder + "/", {})[name] = size
        self.emit("reading")
        for directory, names in sorted(by_dir.items()):
            await self._recording(driver, pftp, serial, directory, names)
        self.emit("downloaded")

    async def _list(self, pftp: PftpClient, directory: str) -> list[tuple[str, int]]:
        try:
            entries = decode_directory(await pftp.request("GET", directory))
        except PftpError as err:
            if err.code == NO_SUCH_FILE:
                return []
            raise
        found = []
        for e in entries:
            if not _STEP.fullmatch(e.name):
                continue
            if e.name.endswith("/"):
                found += await self._list(pftp, directory + e.name)
            elif e.size > 0:
                found.append((directory + e.name, e.size))
        return found

    async def _recording(
        self, driver: PolarPmdDriver, pftp: PftpClient, serial: str, directory: str, names: dict[str, int]
    ) -> None:
        stamp = "".join(p for p in directory.split("/") if p.isdigit() and len(p) in (6, 8))
        folder = self.root.device_dir(serial) / f"stream-offline-{stamp}"
        meta = {
            "serial": serial,
            "boot_id": 0,
            "subject": self.study[0],
            "session": self.study[1],
            "family": FAMILY,
            "source": "offline",
            "path": directory,
            "files": names,
        }
        old = read_json(folder / "meta.json")
        if old is not None and (old.get("subject"), old.get("session")) != self.study:
            meta["subject"], meta["session"] = old["subject"], old["session"]
        make_dirs(folder / "files")
        write_json_atomic(folder / "meta.json", meta)
        if read_json(folder / "probe.json") is None:  # an earlier probe lies nearer the recording
            probe = {"arrivals": self.arrivals, "read_round_trip_us": self.read_round_trips}
            write_json_atomic(folder / "probe.json", probe)
        result = SessionResult(int(stamp or 0), 0, "CLOSED", sum(names.values()))
        self.report.sessions.append(result)
        for name, size in sorted(names.items()):
            target = folder / "files" / name
            if target.exists() and target.stat().st_size == size:
                continue
            data = await self._fetch(driver, pftp, directory + name, size)
            _write_atomic(target, data)
            result.received_bytes += len(data)
            self.report.received_bytes += len(data)
        result.journal_bytes = sum((folder / "files" / n).stat().st_size for n in names)
        try:
            verify_recording(folder)
        except ImurehabError as err:
            raise BleError(
                f"recording {directory} does not verify: {err}", address=self.address, reason="protocol"
            ) from None
        result.verified = True
        write_json_atomic(folder / "verified.json", {"files": names})
        self.emit("verified")
        if self.erase:
            try:
                await self._retry(driver, pftp.request, "REMOVE", directory)
            except PftpError as err:
                if err.code != NO_SUCH_FILE:  # gone: a REMOVE whose answer was lost and was sent again
                    raise
            await self._remove_emptied(driver, pftp, directory)
            result.committed = True
            self.emit("committed")

    async def _remove_emptied(self, driver: PolarPmdDriver, pftp: PftpClient, directory: str) -> None:
        """REMOVE the parents of a removed recording up to ``/U/0/`` that hold nothing else (§11.5)."""
        parent = directory.rstrip("/").rpartition("/")[0] + "/"
        while parent != _ROOT:
            try:
                if decode_directory(await self._retry(driver, pftp.request, "GET", parent)):
                    return
                await self._retry(driver, pftp.request, "REMOVE", parent)
            except PftpError as err:
                if err.code != NO_SUCH_FILE:  # gone already: go on upwards
                    raise
            parent = parent.rstrip("/").rpartition("/")[0] + "/"

    async def _fetch(self, driver: PolarPmdDriver, pftp: PftpClient, path: str, size: int) -> bytes:
        why = ""
        for _ in range(GET_ATTEMPTS):
            try:
                await self._retry(driver, driver.link.connect)
                data = await pftp.request("GET", path)
            except BleError as err:  # a lost frame, a lost last frame (timeout), a drop: fetch again
                if (
                    not (isinstance(err, PftpError) and err.code == LOST_FRAME)
                    and err.reason not in _RETRYABLE
                ):
                    raise
                self.report.rejected_chunks += 1
                why = str(err)
                continue
            if len(data) == size:
                return data
            self.report.rejected_chunks += 1
            why = f"{len(data)} bytes arrived of the {size} listed"
        raise BleError(
            f"{path} did not arrive whole in {GET_ATTEMPTS} attempts (last: {why})",
            address=self.address,
            reason="stalled",
        )

    async def _probe(self, driver: PolarPmdDriver) -> None:
        """A short ACC stream (restarted after a drop), then timed reads of the PMD control point.

        Keeps each frame's arrival against its timestamp and each read's round trip [µs].
        """
        driver.on_frame = driver.decode
        deadline = time.monotonic() + _PROBE_TIMEOUT_S
        while len(driver.arrivals) < _PROBE_FRAMES and time.monotonic() < deadline:
            if not driver.active:  # not started yet, or the link dropped and the sensor stopped it
                await self._retry(driver, driver.start, log=False)
            await asyncio.sleep(0.05)
        self.arrivals = driver.arrivals
        if not self.arrivals:
            raise BleError("the clock probe received no frame", address=self.address, reason="timeout")
        await self._retry(driver, driver.stop)
        self.read_round_trips = await self._retry(
            driver, read_round_trips, lambda: driver.link.read(_CONTROL_POINT)
        )


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(".part")
    tmp.write_bytes(data)
    tmp.replace(path)


async def sync_polar(
    addresses: Sequence[str],
    out: str | Path,
    *,
    client_backend: type[BaseBleakClient] | None = None,
    scanner_backend: type[BaseBleakScanner] | None = None,
    erase: bool = False,
    progress: ProgressCallback | None = None,
    subject: str | None = None,
    session: str | None = None,
    policy: RetryPolicy | None = None,
) -> SyncReport:
    """Download every offline recording of Polar sensors over PFTP, verified, into a dataset.

    Parameters
    ----------
    addresses : sequence of str
        Sensor addresses.
    out : str or Path
        Dataset root; .REC files are journaled under ``<out>/_journal/``.
    client_backend, scanner_backend : type or None
        bleak backend classes (None: the platform's).
    erase : bool
        REMOVE each recording on its sensor once it is journaled and verified.
    progress : callable, optional
        Called with :class:`~imurehab.ble.report.SyncProgress` events.
    subject, session : str, optional
        Study ids (as for :func:`imurehab.ble.sync`).
    policy : RetryPolicy, optional
        Retry limits and timeouts.

    Returns
    -------
    SyncReport
        Per sensor: one :class:`~imurehab.ble.report.SessionResult` per recording (``session_id`` is
        its ``yyyymmddhhmmss``), bytes, samples and gaps written, clock uncertainty, the error that
        left it incomplete.
    """
    policy = policy or RetryPolicy()
    out, started = Path(out), time.monotonic()
    wanted = list(dict.fromkeys(addresses))
    root = JournalRoot(out)
    with root.locked():
        study = root.begin_run("sync", subject, session, default_session_id())
        devices = await find_devices(wanted, scanner_backend=scanner_backend, timeout=policy.scan_timeout_s)
        syncs = [_Sync(root, a, devices[a], study, erase, policy, progress, client_backend) for a in wanted]
        await asyncio.gather(*(s.run() for s in syncs))
        report = SyncReport(out, study[0], study[1], [s.report for s in syncs])
        for s in syncs:
            s.emit("writing")
        write_into_report(root, study, report)
        report.elapsed_s = time.monotonic() - started
        for s, sensor in zip(syncs, report.sensors, strict=True):
            s.emit("done" if sensor.complete and report.write_error is None else "incomplete")
        if report.complete:
            root.finish_run()
    return report
