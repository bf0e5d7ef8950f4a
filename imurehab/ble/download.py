"""One sensor's log download: the OSP host state machine (spec §7) over reconnects, into its journals.

See :func:`imurehab.ble.sync` for the whole run. A :class:`LogDownload` connects, measures the clock,
LISTs, and for each session READs from its journal's verified length; CHUNKs go through a
:class:`~imurehab.protocols.osp.LogAssembler` into the journal in the consumer task; at END it verifies,
reads missing ranges again, restarts a session whose CRC-32 does not match, and COMMITs when asked. A
dropped link or a silent device is retried (backoff, reconnect) as long as attempts bring new bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Final

from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice

from imurehab.ble.clock import ClockLog
from imurehab.ble.connection import Link, RetryPolicy
from imurehab.ble.control import OspDevice
from imurehab.ble.files import safe_name
from imurehab.ble.journal import LogJournal, SessionKey
from imurehab.ble.layout import JournalRoot
from imurehab.ble.rendezvous import Rendezvous
from imurehab.ble.report import SensorReport, SessionResult, SyncProgress
from imurehab.errors import BleError, ImurehabError, ProtocolError
from imurehab.protocols.osp import End, LogAssembler, SessionEntry, SessionState, Status

__all__ = ["LogDownload", "ProgressCallback"]

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[SyncProgress], None]
"""Called with every :class:`~imurehab.ble.report.SyncProgress` event (keep it quick)."""

_PROGRESS_STEP: Final = 16_384  # bytes between "reading" events
_MAX_RESETS: Final = 2  # whole-log CRC mismatches tolerated per session before giving up
_RETRYABLE: Final = ("disconnected", "timeout")
_CLOCK_SPACING_S: Final = 0.25  # between the short bursts that spread the clock measurement
_CLOCK_BURST: Final = 4  # back-to-back round trips of one short burst (the least-delay one counts)


def _state_name(state: int) -> str:
    return SessionState(state).name if state in SessionState._value2member_map_ else f"STATE_{state}"


class LogDownload:
    """One sensor's log sync: passes over reconnects, its journals, assemblers and report.

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
        COMMIT each verified closed session.
    policy : RetryPolicy
        Retry limits and timeouts.
    progress : callable or None
        Receives :class:`~imurehab.ble.report.SyncProgress` events.
    backend : type or None
        bleak client backend class.
    gates : (Rendezvous, Rendezvous) or None
        Where to wait for the other sensors before the first READ and before the last clock measurement.
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
        progress: ProgressCallback | None,
        backend: type[BaseBleakClient] | None,
        gates: tuple[Rendezvous, Rendezvous] | None = None,
    ) -> None:
        self.root, self.address, self.device, self.study = root, address, device, study
        self.gates = gates or (Rendezvous(0), Rendezvous(0))
        self.erase, self.policy, self.progress, self.backend = erase, policy, progress, backend
        self.report = SensorReport(address)
        self.journals: dict[int, LogJournal] = {}
        self.assemblers: dict[int, LogAssembler] = {}
        self.results: dict[int, SessionResult] = {}
        self.listed: dict[int, SessionEntry] = {}
        self.no_progress = 0  # READ rounds in a row without a new verified byte
        self._progress_at = time.monotonic()
        self._current: tuple[LogAssembler, LogJournal, SessionResult] | None = None
        self._clock_log: ClockLog | None = None
        self._clock_first: dict[int, float] = {}  # boot → monotonic time of its first round trip
        self._clock_span: dict[int, float] = {}  # boot → how long to measure its clock [s]
        self._retired_rejects = 0
        self._last_event = 0

    # --- progress ----------------------------------------------------------------------------------

    def emit(self, phase: str, session_id: int | None = None, message: str = "") -> None:
        """Send a progress event (a failing callback is logged, never raised).

        Parameters
        ----------
        phase : str
            See :class:`~imurehab.ble.report.SyncProgress`.
        session_id : int, optional
            The device session concerned.
        message : str
            A short line for a person.
        """
        if self.progress is None:
            return
        done = sum(j.length for sid, j in self.journals.items() if sid in self.listed)
        event = SyncProgress(
            self.address,
            phase,
            bytes_done=done,
            bytes_total=sum(e.length for e in self.listed.values()),
            serial=self.report.serial,
            session_id=session_id,
            message=message,
        )
        self._last_event = done
        try:
            self.progress(event)
        except Exception:
            logger.exception("sync progress callback failed")

    # --- the run -----------------------------------------------------------------------------------

    async def run(self) -> None:
        """Sync this sensor; every failure ends up in :attr:`report`."""
        if self.device is None:
            self.report.error = BleError(
                "no such device is advertising", address=self.address, reason="not-found"
            )
            self.emit("failed", message=str(self.report.error))
            for gate in self.gates:
                gate.arrive(self)
            return
        osp = OspDevice(Link(self.device, backend=self.backend, policy=self.policy), self.policy)
        osp.on_chunk = self._on_chunk
        try:
            await self._passes(osp)
        except ImurehabError as err:
            self.report.error = err
            self.emit("failed", message=str(err))
        finally:
            for gate in self.gates:
                gate.arrive(self)
            self._current = None
            for journal in self.journals.values():
                journal.close()
            await osp.close()
            self.report.rejected_chunks = self._retired_rejects + sum(
                _rejects(a) for a in self.assemblers.values()
            )
            self._vanished()

    async def _passes(self, osp: OspDevice) -> None:
        while True:
            try:
                await self._pass(osp)
                return
            except BleError as err:
                if err.reason not in _RETRYABLE:
                    raise
                for journal in self.journals.values():
                    journal.flush()
                self._check_stall(str(err))
                if self.report.reconnects >= self.policy.max_reconnects:
                    raise
                self.report.reconnects += 1
                self.emit("reconnecting", message=str(err))
                await osp.link.disconnect()

    def _check_stall(self, last: str) -> None:
        """Give up on a device that brought no new byte for ``policy.stall_timeout_s``."""
        quiet = time.monotonic() - self._progress_at
        if quiet > self.policy.stall_timeout_s:
            raise BleError(
                f"no new log byte for {quiet:.0f} s, giving up (last: {last})",
                address=self.address,
                reason="stalled",
            )

    async def _pass(self, osp: OspDevice) -> None:
        self.emit("connecting")
        desc = await osp.connect()
        if self.report.serial not in (None, desc.serial):
            raise BleError(
                f"serial changed from {self.report.serial!r} to {desc.serial!r}",
                address=self.address,
                reason="protocol",
            )
        self.report.serial, self.report.sensor_id = desc.serial, safe_name(desc.serial)
        self._clock_log = ClockLog(self.root.device_dir(desc.serial) / "clock.jsonl")
        boot_id, device_now_us = await self._clock(osp, spread=False)
        self.gates[0].arrive(self)
        await self.gates[0].wait()
        self._progress_at = time.monotonic()
        entries = await osp.list_sessions()
        self.listed = {e.session_id: e for e in entries}
        reach_s = max(
            [(device_now_us - e.first_time_us) / 1e6 for e in entries if e.boot_id == boot_id], default=0.0
        )
        self._clock_span[boot_id] = self.policy.clock_span_for(reach_s)
        for entry in entries:
            await self._session(osp, desc.serial, entry)
        self.emit("downloaded")
        self.gates[1].arrive(self)
        await self.gates[1].wait()
        self._progress_at = time.monotonic()
        await self._clock(osp, spread=True)

    async def _clock(self, osp: OspDevice, *, spread: bool) -> tuple[int, int]:
        """A burst of round trips; with ``spread``, then short bursts until the boot's span is long enough.

        Returns the boot id and the device clock at the last round trip [µs].
        """
        boot_id, samples = await osp.clock_sync(self.policy.clock_round_trips)
        first = self._clock_first.setdefault(boot_id, time.monotonic())
        span = self._clock_span.get(boot_id, self.policy.clock_span_s)
        if spread and time.monotonic() - first < span:
            self.emit("clock")
            while time.monotonic() - first < span:
                await asyncio.sleep(_CLOCK_SPACING_S)
                boot, more = await osp.clock_sync(_CLOCK_BURST)
                if boot != boot_id:
                    break
                samples += more
        assert self._clock_log is not None
        self._clock_log.append(boot_id, samples)
        return boot_id, samples[-1].t3_us if samples else 0

    # --- one device session ------------------------------------------------------------------------

    def _result(self, entry: SessionEntry) -> SessionResult:
        result = self.results.get(entry.session_id)
        if result is None:
            result = SessionResult(entry.session_id, entry.boot_id, _state_name(entry.state), entry.length)
            self.results[entry.session_id] = result
            self.report.sessions.append(result)
        result.state, result.length = _state_name(entry.state), entry.length
        return result

    def _journal(self, serial: str, entry: SessionEntry) -> LogJournal:
        journal = self.journals.get(entry.session_id)
        if journal is None:
            key = SessionKey(serial, entry.session_id, entry.boot_id, entry.first_time_us)
            journal = self.root.log_journal(key, self.study)
            self.journals[entry.session_id] = journal
        return journal

    def _assembler(self, journal: LogJournal) -> LogAssembler:
        sid = journal.key.session_id
        asm = self.assemblers.get(sid)
        if asm is None or asm.length != journal.length:
            if asm is not None:
                self._retired_rejects += _rejects(asm)
            asm = LogAssembler(sid, journal.length, journal.crc)
            self.assemblers[sid] = asm
        return asm

    async def _session(self, osp: OspDevice, serial: str, entry: SessionEntry) -> None:
        journal = self._journal(serial, entry)
        result = self._result(entry)
        result.journal_bytes = journal.length
        done = journal.verified
        if (
            done
            and (done["length"], done["crc"]) == (entry.length, entry.log_crc)
            and entry.state != SessionState.OPEN
        ):
            result.verified, result.committed = True, bool(done.get("committed"))
            await self._maybe_commit(osp, journal, result, entry.state)
            return
        asm = self._assembler(journal)
        reference: SessionEntry | End = entry
        resets = 0
        while True:
            total = reference.log_length if isinstance(reference, End) else reference.length
            state = reference.state
            if asm.length > total:
                raise BleError(
                    f"session {entry.session_id}: the device log ({total} B) is shorter than the journal "
                    f"({asm.length} B): its storage was reset?",
                    address=self.address,
                    reason="protocol",
                )
            if asm.length == total and (state != SessionState.OPEN or isinstance(reference, End)):
                try:
                    verification = asm.verify(reference)
                except ProtocolError as err:
                    if err.reason != "crc" or resets >= _MAX_RESETS:
                        raise BleError(
                            f"session {entry.session_id}: {err}", address=self.address, reason="protocol"
                        ) from None
                    resets += 1
                    logger.warning(
                        "%s: session %d CRC mismatch; reading it again", self.address, entry.session_id
                    )
                    journal.reset()
                    asm = self._assembler(journal)
                    reference = entry
                    continue
                if verification.complete:
                    self._verified(journal, result, state)
                    await self._maybe_commit(osp, journal, result, state)
                    return
            reference = await self._read_round(osp, asm, journal, result, total)

    async def _read_round(
        self, osp: OspDevice, asm: LogAssembler, journal: LogJournal, result: SessionResult, total: int
    ) -> SessionEntry | End:
        """One READ from the verified length: the first gap when later bytes are held, else to the end."""
        sid = journal.key.session_id
        gaps = asm.missing(total)
        length = gaps[0][1] if asm.held_bytes and gaps else None
        before = asm.length
        self._current = (asm, journal, result)
        try:
            tag, _ = await osp.read(sid, asm.length, length)
            self.emit("reading", sid)
            end = await osp.wait_end(tag)
        finally:
            self._current = None
            journal.flush()
            if asm.length > before:
                self.no_progress, self._progress_at = 0, time.monotonic()
            else:
                self.no_progress += 1
        if end is None:
            if not osp.link.is_connected:
                raise BleError("the link dropped during READ", address=self.address, reason="disconnected")
            raise BleError(
                f"session {sid}: no log data for {self.policy.idle_timeout_s:g} s",
                address=self.address,
                reason="timeout",
            )
        if self.no_progress:
            self._check_stall(f"session {sid}: {self.no_progress} READs in a row brought no new byte")
            with contextlib.suppress(TimeoutError):  # a drop ends the wait: reconnecting is the cure
                await asyncio.wait_for(osp.link.lost.wait(), self.policy.backoff_s(self.no_progress - 1))
        result.length, result.state = end.log_length, _state_name(end.state)
        if end.status != Status.OK:
            logger.info("%s: READ of session %d ended with status %d", self.address, sid, end.status)
            return self.listed[sid]
        return end

    def _verified(self, journal: LogJournal, result: SessionResult, state: int) -> None:
        result.journal_bytes, result.state = journal.length, _state_name(state)
        if state == SessionState.OPEN:
            journal.flush()  # whole so far; the device is still logging
            return
        journal.mark_verified(state)
        result.verified = True
        self.emit("verified", journal.key.session_id)

    async def _maybe_commit(
        self, osp: OspDevice, journal: LogJournal, result: SessionResult, state: int
    ) -> None:
        if not self.erase or result.committed or state == SessionState.OPEN or not result.verified:
            return
        await osp.commit(journal.key.session_id, journal.length, journal.crc)
        journal.mark_verified(state, committed=True)
        result.committed = True
        self.emit("committed", journal.key.session_id)

    def _on_chunk(self, _host_ns: int, raw: bytes) -> None:
        current = self._current
        if current is None:
            return  # a late CHUNK of an abandoned READ: it will be read again
        asm, journal, result = current
        grown = asm.add(raw)
        if grown:
            journal.append(asm.take())
            result.received_bytes += grown
            result.journal_bytes = journal.length
            self.report.received_bytes += grown
            if journal.length - self._last_event >= _PROGRESS_STEP:
                self.emit("reading", journal.key.session_id)

    def _vanished(self) -> None:
        """Journals of this sensor no longer listed by the device and not verified: reported incomplete."""
        if self.report.serial is None or self.report.error is not None:
            return
        for kind, folder, meta in self.root.iter_journals():
            sid = int(meta.get("session_id", 0))
            if kind != "log" or meta.get("serial") != self.report.serial or sid in self.listed:
                continue
            verified = (folder / "verified.json").exists()
            if not verified:
                size = (folder / "log.bin").stat().st_size if (folder / "log.bin").exists() else 0
                result = SessionResult(sid, int(meta["boot_id"]), "VANISHED", size, journal_bytes=size)
                self.report.sessions.append(result)


def _rejects(asm: LogAssembler) -> int:
    return sum(v for k, v in asm.stats.items() if k.startswith("rejected_") or k == "wrong_session")
