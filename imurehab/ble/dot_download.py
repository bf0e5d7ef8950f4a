"""One DOT's recordings exported into journals, over reconnects, with retransmission by DataNumber.

Per connection: read the recording state (a sensor still recording cannot export), measure its clock
once per run (a short measurement: the samples' µs timestamps against their arrival times, see
:mod:`imurehab.ble.dot_clock`), list the files (RequestFileInfo 1, 2, ... until NoRecordingFile), and
export each one into its :class:`~imurehab.ble.dot_export.ExportJournal`: SelectExportData, then
RequestFileData for a new journal or a Retransmission from the journal's first missing DataNumber. Each
round reads notifications until ExportFileDataDone or ``policy.idle_timeout_s`` of silence; packets
with a bad checksum are counted and asked again. A round that brings nothing new counts towards giving
up; a link drop reconnects and resumes from the journal.

D1 gives Retransmission as valid "in export data state" and says nothing of a new link: a sensor that
forgets the export on a link drop may refuse it. A refused Retransmission (an error acknowledge) is
answered by asking for the whole file again (RequestFileData: packets already held are repeats, not
journaled again), at most :data:`MAX_FULL_REQUESTS` times per file; later rounds on that link try
Retransmission again (the end of a file is still confirmed only by one answered with nothing but
ExportFileDataDone). A file the fallback could not complete says so in its reason.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice

from imurehab.ble.connection import Link, RetryPolicy
from imurehab.ble.dot import dot_serial
from imurehab.ble.dot_clock import ClockProbe
from imurehab.ble.dot_export import ExportJournal, FileKey
from imurehab.ble.dot_messages import DotMessenger
from imurehab.ble.files import safe_name
from imurehab.ble.layout import JournalRoot
from imurehab.ble.report import SensorReport, SessionResult, SyncProgress
from imurehab.errors import BleError, ImurehabError
from imurehab.protocols.movella_dot import FIELDS, recording_message, select_export_data

__all__ = ["EXPORT_SELECTION", "MAX_FULL_REQUESTS", "DotDownload", "DotFileResult"]

logger = logging.getLogger(__name__)

EXPORT_SELECTION: Final = (0x00, 0x07, 0x08)
"""SelectExportData codes asked for: timestamp, acceleration, angular velocity (D1 Table 25)."""
_PACKET_BYTES: Final = 8 + sum(
    FIELDS[n].size for n in ("timestamp", "acc", "gyr")
)  # MID LEN ReID number … CS
_MAX_IDLE_ROUNDS: Final = 4  # rounds in a row that bring no new DataNumber before giving up on a file
MAX_FULL_REQUESTS: Final = 3
"""Whole-file requests per file after the sensor refused a Retransmission, before giving up on it."""
_RETRYABLE: Final = ("disconnected", "timeout")


@dataclass
class DotFileResult(SessionResult):
    """One recording file on a DOT as the sync left it (``session_id`` is the file index).

    Attributes
    ----------
    start_utc_s : int
        When it was started [s since the Unix epoch].
    data_numbers : int
        Packets (samples) in the file, once its end was confirmed (0 before).
    rejected : int
        Packets received with a bad checksum (each asked again).
    unrecovered : list of int
        DataNumbers that could not be recovered (empty when complete).
    reason : str
        Why they could not, for a person ("" when complete).
    full_requests : int
        Times the whole file was asked again (RequestFileData) because the sensor refused a
        Retransmission (at most :data:`MAX_FULL_REQUESTS`).
    """

    start_utc_s: int = 0
    data_numbers: int = 0
    rejected: int = 0
    full_requests: int = 0
    unrecovered: list[int] = field(default_factory=list)
    reason: str = ""


def _ranges(numbers: list[int]) -> str:
    """``[1, 2, 3, 7]`` → ``"1–3, 7"``."""
    out, start = [], None
    for i, n in enumerate(numbers):
        start = n if start is None else start
        if i + 1 == len(numbers) or numbers[i + 1] != n + 1:
            out.append(f"{start}" if start == n else f"{start}–{n}")
            start = None
    return ", ".join(out)


class DotDownload:
    """One DOT's export: passes over reconnects, its journals and report.

    Parameters
    ----------
    root : JournalRoot
        The dataset's journal folder.
    address : str
        The sensor's address, as given.
    device : BLEDevice or None
        The sensor found by the scan (None: not found).
    study : (subject, session)
        Study ids for new journals.
    erase : bool
        Erase the sensor's flash once every file is verified whole.
    policy : RetryPolicy
        Retry limits and timeouts.
    progress : callable or None
        Receives :class:`~imurehab.ble.report.SyncProgress` events.
    backend : type or None
        bleak client backend class.
    """

    def __init__(
        self,
        root: JournalRoot,
        address: str,
        device: BLEDevice | None,
        study: tuple[str, str],
        *,
        erase: bool,
        policy: RetryPolicy,
        progress: Callable[[SyncProgress], None] | None,
        backend: type[BaseBleakClient] | None,
    ) -> None:
        self.root, self.address, self.device, self.study = root, address, device, study
        self.erase, self.policy, self.progress, self.backend = erase, policy, progress, backend
        self.report = SensorReport(address)
        self.journals: dict[int, ExportJournal] = {}
        self.results: dict[int, DotFileResult] = {}
        self._clock_measured = False

    def emit(self, phase: str, file_index: int | None = None, message: str = "") -> None:
        """Send a progress event (a failing callback is logged, never raised).

        Parameters
        ----------
        phase : str
            See :class:`~imurehab.ble.report.SyncProgress`.
        file_index : int, optional
            The file concerned.
        message : str
            A short line for a person.
        """
        if self.progress is None:
            return
        done = sum(j.length for j in self.journals.values())
        total = sum(r.length for r in self.results.values())
        event = SyncProgress(self.address, phase, done, total, self.report.serial, file_index, message)
        try:
            self.progress(event)
        except Exception:
            logger.exception("sync progress callback failed")

    async def run(self) -> None:
        """Export this sensor's files; every failure ends up in :attr:`report`."""
        if self.device is None:
            self.report.error = BleError(
                "no such device is advertising", address=self.address, reason="not-found"
            )
            self.emit("failed", message=str(self.report.error))
            return
        link = Link(self.device, backend=self.backend, policy=self.policy)
        messenger = DotMessenger(link, self.policy)
        probe = ClockProbe(link)
        try:
            await probe.subscribe()
            while True:
                try:
                    await self._pass(messenger, probe)
                    break
                except BleError as err:
                    if err.reason not in _RETRYABLE or self.report.reconnects >= self.policy.max_reconnects:
                        raise
                    self.report.reconnects += 1
                    self.emit("reconnecting", message=str(err))
                    await link.disconnect()
            self._conclude()
        except ImurehabError as err:
            self.report.error = err
            self.emit("failed", message=str(err))
        finally:
            for journal in self.journals.values():
                journal.close()
            await link.disconnect()

    async def _pass(self, m: DotMessenger, probe: ClockProbe) -> None:
        self.emit("connecting")
        await m.connect()
        serial = dot_serial(m.link.address)
        self.report.serial, self.report.sensor_id = serial, safe_name(serial)
        state = await m.command(recording_message("GetState"), accept=("idle", "success", "recording"))
        if state["ack_state"] == "recording":
            raise BleError(
                "the sensor is recording: stop the recording before exporting it",
                address=self.address,
                reason="device",
            )
        if not self._clock_measured:
            self.emit("clock")
            await probe.measure(self.root.device_dir(serial), self.policy)
            self._clock_measured = True
        index = 1
        while (key := await self._file_info(m, serial, index)) is not None:
            await self._export(m, key)
            index += 1
        self.emit("downloaded")
        if self.erase and self.results and all(r.verified for r in self.results.values()):
            await m.command(recording_message("EraseFlash", erase_utc_s=int(time.time())))
            for i, r in self.results.items():
                r.committed = True
                self.journals[i].mark_end(r.data_numbers, erased=True)
                self.emit("committed", i)

    async def _file_info(self, m: DotMessenger, serial: str, index: int) -> FileKey | None:
        for _ in range(3):
            m.drain()
            await m.command(recording_message("RequestFileInfo", file_index=index))
            info = await m.wait_for(("ExportFileInfo", "NoRecordingFile"))
            if info is not None:
                if info["message"] == "NoRecordingFile":
                    return None
                return FileKey(serial, index, info["start_utc_s"], info["total_recording_time_s"])
        raise BleError(f"no file info for file {index}", address=self.address, reason="timeout")

    async def _export(self, m: DotMessenger, key: FileKey) -> None:
        journal = self.journals.get(key.file_index)
        if journal is None or journal.key != key:
            journal = ExportJournal(self.root, key, EXPORT_SELECTION, self.study)
            self.journals[key.file_index] = journal
        result = self.results.setdefault(
            key.file_index, DotFileResult(key.file_index, 0, "CLOSED", 0, start_utc_s=key.start_utc_s)
        )
        p = journal.progress
        await m.command(select_export_data(EXPORT_SELECTION))
        idle, refused = 0, ""
        while (start := p.next_request()) is not None and idle < _MAX_IDLE_ROUNDS:
            before, top = len(p.held), p.top
            m.drain()
            if start == 0 and top < 0:
                await m.command(recording_message("RequestFileData", file_index=key.file_index))
            else:
                try:
                    await m.command(recording_message("Retransmission", retrans_data_number=start))
                except BleError as err:
                    if err.reason != "device":
                        raise
                    refused = str(err)
                    if result.full_requests >= MAX_FULL_REQUESTS:
                        break
                    result.full_requests += 1  # the sensor refused: ask for the whole file again
                    await m.command(recording_message("RequestFileData", file_index=key.file_index))
                    start = 0
            self.emit("reading", key.file_index)
            seen, done = await self._round(m, journal, result)
            if done and not seen and start == top + 1:
                p.end = start
            idle = 0 if len(p.held) > before or p.end is not None else idle + 1
        self._file_result(journal, result, idle, refused)

    async def _round(
        self, m: DotMessenger, journal: ExportJournal, result: DotFileResult
    ) -> tuple[bool, bool]:
        """Read one request's packets until ExportFileDataDone (True) or silence (False)."""
        seen = False
        while (item := await m.next()) is not None:
            before = journal.length
            kind = journal.add(item[1])
            if kind == "done":
                return seen, True
            if kind == "rejected":
                result.rejected += 1
                self.report.rejected_chunks += 1
            seen = seen or kind is not None
            self.report.received_bytes += journal.length - before
            result.received_bytes += journal.length - before
        return seen, False

    def _file_result(self, journal: ExportJournal, result: DotFileResult, idle: int, refused: str) -> None:
        p = journal.progress
        result.journal_bytes = journal.length
        result.length = (p.top + 1 if p.end is None else p.end) * _PACKET_BYTES
        missing = p.missing()
        if p.end is not None:
            journal.mark_end(p.end, erased=bool((journal.verified or {}).get("erased")))
            result.data_numbers = p.end
        result.verified = p.complete
        result.committed = bool((journal.verified or {}).get("erased"))
        reasons = []
        if p.invalid:
            reasons.append(
                f"DataNumbers {_ranges(sorted(p.invalid))} were reported invalid by the sensor "
                "(ExportFileDataInvalid: it cannot read them from its flash)"
            )
        if missing:
            reasons.append(
                f"DataNumbers {_ranges(missing)} never arrived with a good checksum in "
                f"{idle} retransmission rounds in a row"
            )
        if refused and (missing or p.end is None):
            reasons.append(
                f"the sensor refused Retransmission ({refused}); "
                f"{result.full_requests} whole-file requests did not make up for it"
            )
        if p.end is None:
            reasons.append(
                f"the end of the file was never confirmed after DataNumber {p.top} "
                "(no ExportFileDataDone answered a request past it)"
            )
        result.unrecovered = sorted(p.invalid | set(missing))
        result.reason = "; ".join(reasons)

    def _conclude(self) -> None:
        """Record the sessions and, when a file is incomplete, the error that says what and why."""
        self.report.sessions = [self.results[i] for i in sorted(self.results)]
        bad = [r for r in self.report.sessions if not r.verified]
        if bad:
            what = "; ".join(f"file {r.session_id}: {r.reason}" for r in bad if isinstance(r, DotFileResult))
            self.report.error = BleError(f"not recovered: {what}", address=self.address, reason="incomplete")
