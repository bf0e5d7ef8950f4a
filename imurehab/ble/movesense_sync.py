"""Log sync from Movesense sensors: list the Logbook, FETCH_LOG each entry whole, verify, retry, report.

FETCH_LOG takes only an entry id: the sensor always sends the file from offset 0, so a transfer cut by a
link drop cannot be resumed where it stopped (spec.md). Per sensor (all at once):

1. connect, HELLO (serial), GET ``/Mem/DataLogger/State`` and ``/Mem/Logbook/Entries``;
2. per entry not verified yet (a verified journal from an earlier run is kept): FETCH_LOG it; every DATA
   notification of the transfer is appended, with its arrival time, to ``attempt-<n>.bin`` in
   ``<out>/_journal/<serial>/movesense-log-<id>/`` before it is used; chunks are placed by their offset,
   and chunks of earlier attempts stay (the file of a closed entry does not change, so one attempt's
   holes are filled by another's bytes; bytes that differ throw the older ones away);
3. verify: the end marker arrived, the bytes cover ``[0, size)`` of the listed size with no hole, the
   SBEM chunks end exactly at the end of the file, and each IMU resource's message timestamps are
   contiguous at its rate. Not verifiable: the bytes themselves (GSP has no checksum; BLE's link-layer
   CRC is all there is). A failed check or a link drop retries the **whole entry**, up to
   :data:`MAX_ATTEMPTS` attempts; then the entry is reported not recovered, with each attempt's reason;
4. the entry being logged is not fetched (``OPEN``); with ``erase=True`` and every entry verified and
   none open, CLEAR_LOGBOOK (GSP erases the whole Logbook, never one entry);
5. a clock probe: a short IMU6 subscription whose arrivals (each message's last-sample device time,
   through the live stream's :class:`~imurehab.ble.movesense_stream.MeasStream`) place the entries'
   ms-since-boot stamps in UTC (:mod:`imurehab.ble.movesense_dataset`); then every study session touched
   is rewritten with :func:`imurehab.ble.dataset.write_study`, so other families' sensors and Movesense
   live streams of the same study session are kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner

from imurehab.ble.clock import host_time_us
from imurehab.ble.connection import Link, RetryPolicy
from imurehab.ble.discovery import find_devices
from imurehab.ble.download import ProgressCallback
from imurehab.ble.files import make_dirs, read_json, write_json_atomic
from imurehab.ble.layout import JournalRoot, default_session_id
from imurehab.ble.movesense import MovesenseRequest
from imurehab.ble.movesense_client import GspClient
from imurehab.ble.movesense_dataset import LOG_PREFIX, PROBE_DIR
from imurehab.ble.movesense_entries import EntryJournal, verify_log
from imurehab.ble.movesense_stream import MeasStream
from imurehab.ble.polar_journal import RECORD_FRAME, record
from imurehab.ble.report import SensorReport, SessionResult, SyncProgress, SyncReport
from imurehab.ble.sync import finish_sync
from imurehab.errors import BleError, ImurehabError, ProtocolError
from imurehab.protocols.movesense import (
    ENTRIES_PATH,
    LogEntry,
    parse_entries,
)

__all__ = ["MAX_ATTEMPTS", "sync_movesense"]

MAX_ATTEMPTS: Final = 4
"""Whole-entry FETCH_LOG attempts per entry and run before it is reported not recovered."""
_RETRYABLE: Final = ("disconnected", "timeout")
_PROBE: Final = MovesenseRequest("IMU6", 104)


class _SensorSync:
    """One sensor's sync over reconnects."""

    def __init__(
        self,
        root: JournalRoot,
        address: str,
        study: tuple[str, str],
        *,
        erase: bool,
        policy: RetryPolicy,
        progress: ProgressCallback | None,
        backend: type[BaseBleakClient] | None,
        device: object,
    ) -> None:
        self.root, self.study, self.erase, self.policy, self.progress = root, study, erase, policy, progress
        self.report = SensorReport(address)
        self.link = Link(device or address, backend=backend, policy=policy)  # type: ignore[arg-type]
        self.gsp = GspClient(self.link, policy)
        self.entries: dict[int, EntryJournal] = {}
        self.results: dict[int, SessionResult] = {}
        self.serial = ""

    def study_of(self, journal: EntryJournal) -> tuple[str, str]:
        """The study session an entry's journal belongs to (set when it was first fetched).

        Parameters
        ----------
        journal : EntryJournal
            One of :attr:`entries`.
        """
        meta = read_json(journal.folder / "meta.json") or {}
        return str(meta.get("subject", self.study[0])), str(meta.get("session", self.study[1]))

    def emit(self, phase: str, session_id: int | None = None, message: str = "") -> None:
        """Send a progress event (a failing callback is ignored)."""
        if self.progress is None:
            return
        done = sum(r.journal_bytes for r in self.results.values())
        total = sum(r.length for r in self.results.values())
        event = SyncProgress(self.report.address, phase, done, total, self.report.serial, session_id, message)
        try:
            self.progress(event)
        except Exception:
            pass

    async def run(self) -> None:
        """Sync until done or out of retries; every failure ends up in :attr:`report`."""
        try:
            while True:
                try:
                    self.emit("connecting")
                    await self._pass()
                    break
                except BleError as err:
                    if err.reason not in _RETRYABLE or self.report.reconnects >= self.policy.max_reconnects:
                        raise
                    self.report.reconnects += 1
                    self.emit("reconnecting", message=str(err))
                    await self.link.disconnect()
        except ImurehabError as err:
            self.report.error = err
            self.emit("failed", message=str(err))
        finally:
            await self.gsp.close()
            self.report.sessions = [self.results[k] for k in sorted(self.results)]
            unrecovered = [
                f"entry {k}: " + "; ".join(j.reasons) for k, j in self.entries.items() if not j.verified
            ]
            if unrecovered and self.report.error is None:
                what = "not recovered after every attempt — " + " | ".join(unrecovered)
                self.report.error = BleError(what, address=self.report.address, reason="incomplete")

    async def _pass(self) -> None:
        await self.gsp.open()
        self.serial = f"MOVESENSE-{await self.gsp.hello()}"
        self.report.serial = self.report.sensor_id = self.serial
        state = await self.gsp.checked("GET", path="/Mem/DataLogger/State")
        listing = await self.gsp.checked("GET", path=ENTRIES_PATH)
        listed = parse_entries(bytes(listing["data"]))
        logging = state.get("state") == 3
        for n, entry in enumerate(listed):
            open_ = logging and n == len(listed) - 1
            await self._entry(entry, open_)
        if self.erase and listed and all(r.verified for r in self.results.values()) and not logging:
            await self.gsp.checked("CLEAR_LOGBOOK")
            for r in self.results.values():
                r.committed = True
            self.emit("committed")
        if any(j.verified for j in self.entries.values()):
            self.emit("clock")
            await self._probe()
        self.emit("downloaded")

    async def _entry(self, entry: LogEntry, open_: bool) -> None:
        folder = self.root.device_dir(self.serial) / f"{LOG_PREFIX}{entry.log_id}"
        meta = {
            "serial": self.serial,
            "log_id": entry.log_id,
            "subject": self.study[0],
            "session": self.study[1],
        }
        journal = self.entries.setdefault(entry.log_id, EntryJournal(folder, meta))
        result = self.results.setdefault(
            entry.log_id, SessionResult(entry.log_id, 0, "OPEN" if open_ else "CLOSED", entry.size)
        )
        result.verified = journal.verified
        if journal.verified:
            result.journal_bytes = entry.size
            return
        if open_:
            return
        while len(journal.reasons) < MAX_ATTEMPTS:
            reason = await self._attempt(entry, journal, result)
            if reason is None:
                result.verified, result.journal_bytes = True, entry.size
                self.emit("verified", entry.log_id)
                return
            journal.reasons.append(f"attempt {len(journal.reasons) + 1}: {reason}")

    async def _attempt(self, entry: LogEntry, journal: EntryJournal, result: SessionResult) -> str | None:
        """One FETCH_LOG of the whole entry; why it failed (None when the entry verified)."""
        ref = self.gsp.reference()
        chunks: dict[int, bytes] = {}
        done = asyncio.Event()
        fd = os.open(journal.attempt_file(), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

        def on_data(host_ns: int, value: bytes) -> None:
            if len(value) < 6 or value[1] != ref:
                return
            os.write(fd, record(RECORD_FRAME, host_ns, value))  # journaled before it is used
            offset = int.from_bytes(value[2:6], "little")
            if len(value) == 6:
                done.set()
            else:
                chunks[offset] = value[6:]
            self.report.received_bytes += len(value) - 6

        self.gsp.on_data = on_data
        lost: BleError | None = None
        try:
            await self.gsp.checked("FETCH_LOG", reference=ref, log_id=entry.log_id)
            while not done.is_set():
                if not self.link.is_connected:
                    raise BleError("the link dropped", address=self.report.address, reason="disconnected")
                idle = time.monotonic() - self.gsp.last_activity
                if idle > self.policy.idle_timeout_s:
                    break
                await asyncio.sleep(0.02)
        except BleError as err:
            lost = err
        finally:
            self.gsp.on_data = None
            os.fsync(fd)
            os.close(fd)
        data, info = journal.merge(chunks, done.is_set())
        result.journal_bytes = len(data) - sum(b - a for a, b in info["holes"])  # type: ignore[misc]
        got = sum(len(b) for b in chunks.values())
        if lost is not None:
            journal.reasons.append(
                f"attempt {len(journal.reasons) + 1}: {lost} after {got} of {entry.size} bytes"
            )
            raise lost
        reason = verify_log(data, info, entry.size)
        if reason is None:
            journal.accept(data)
        elif not done.is_set():
            reason = f"no data for {self.policy.idle_timeout_s:g} s; {reason}"
        return reason

    async def _probe(self) -> None:
        """Arrivals of a short IMU6 subscription: the boot clock's link to UTC (see the dataset)."""
        arrivals: list[tuple[int, int]] = []
        ref = self.gsp.reference()
        stream = MeasStream(_PROBE.path)
        stream.start_run(ref)

        def on_data(host_ns: int, value: bytes) -> None:
            with contextlib.suppress(ProtocolError):
                for m in stream.feed(host_ns, value):
                    arrivals.append((m.host_ns // 1000, int(m.device_us[-1])))

        self.gsp.on_data = on_data
        try:
            await self.gsp.checked("SUBSCRIBE", reference=ref, path=_PROBE.path)
            await asyncio.sleep(self.policy.clock_span_s)
            await self.gsp.command("UNSUBSCRIBE", reference=ref)
        finally:
            self.gsp.on_data = None
        path = self.root.device_dir(self.serial) / PROBE_DIR / f"probe-{host_time_us()}.json"
        make_dirs(path.parent)
        write_json_atomic(path, {"path": _PROBE.path, "arrivals": arrivals})


async def sync_movesense(
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
    """Download every Logbook entry of Movesense sensors, verified, into a dataset.

    Parameters
    ----------
    addresses : sequence of str
        Sensor addresses.
    out : str or Path
        Dataset root (journal under ``<out>/_journal/``; samples in ``samples`` and ``sessions``).
    client_backend, scanner_backend : type or None
        bleak backend classes (None: the platform's).
    erase : bool
        Clear the sensor's Logbook once every entry is verified and none is being logged.
    progress : callable, optional
        Called with :class:`~imurehab.ble.report.SyncProgress` events.
    subject, session : str, optional
        Study ids (as for :func:`~imurehab.ble.sync`).
    policy : RetryPolicy, optional
        Retry limits and timeouts (``clock_span_s``: the clock probe's length [s]).

    Returns
    -------
    SyncReport
        Per sensor: one :class:`~imurehab.ble.report.SessionResult` per entry (``session_id`` is the
        log id), samples and gaps written, clock, reconnects, and an ``error`` naming each entry not
        recovered with every attempt's reason.

    Raises
    ------
    JournalError
        ``busy`` when another process is writing to ``out``.
    """
    policy = policy or RetryPolicy()
    out, started = Path(out), time.monotonic()
    wanted = list(dict.fromkeys(addresses))
    root = JournalRoot(out)
    with root.locked():
        study = root.begin_run("sync", subject, session, default_session_id())
        devices = await find_devices(wanted, scanner_backend=scanner_backend, timeout=policy.scan_timeout_s)
        syncs = [
            _SensorSync(
                root,
                a,
                study,
                erase=erase,
                policy=policy,
                progress=progress,
                backend=client_backend,
                device=devices.get(a),
            )
            for a in wanted
        ]
        await asyncio.gather(*(s.run() for s in syncs))
        touched = {s.study_of(j) for s in syncs for j in s.entries.values()}
        return finish_sync(root, study, syncs, touched, started)
