"""The control point of a virtual OSP sensor: commands answered in order, READ jobs, fault triggers.

:class:`OspControl` takes every write to the control point (stamping ``t2`` for CLOCK_SYNC on arrival),
queues it, and answers each command in order with one RESPONSE indication. LIST, READ, ABORT, COMMIT and
CLOCK_SYNC are handled here; START/STOP_STREAM and START/STOP_LOG go to the sensor's current
:class:`~imurehab.virtual.osp_recorder.Recorder`. A READ runs as its own task: CHUNKs on the log-data
characteristic as fast as the link takes them, then END. It also fires the sensor's event faults (see
:mod:`imurehab.virtual.osp_faults`): at a log position during a READ, at an air time while streaming.

Semantics the spec leaves open, as this emulator implements them:

- Commands are queued and answered in order; every RESPONSE comes as an indication after the write.
  While a READ runs every command but ABORT is answered BUSY. ABORT with no READ running answers OK;
  with one, END (status ABORTED, bytes sent so far) comes before ABORT's RESPONSE.
- A link drop (or reboot) ends a READ without END and ends the live stream (logging goes on): after
  reconnecting, a host sends START_STREAM again; ``seq`` restarts at 0, ``first_index`` continues.
- STOP_STREAM answers after its LAST frame was handed to the link, so every live frame not lost on the air
  arrives before the RESPONSE; likewise every CHUNK not lost arrives before END.
- START_STREAM while streaming, START_LOG while logging, STOP_* when not running: INVALID_STATE. START_*
  with settings other than those of the running acquisition (the other of stream/log runs): BUSY.
- A RESPONSE that would not fit ``ATT_MTU − 3`` (e.g. CLOCK_SYNC's 33 bytes at MTU 23) is answered
  MTU_TOO_SMALL instead.
- Log frames hold at most as many samples as a 244-byte frame (17 for acc+gyr, 11 with mag); CHUNKs carry
  ``ATT_MTU − 19`` bytes (228 at MTU 247). LIST with ``first`` ≥ total answers OK with no entries.
- Rates: the device keeps its own rate whatever is asked (the nearest supported); ranges: the smallest of
  ±2/4/8/16 g and ±125/250/500/1000/2000 °/s at least as large as asked; channel masks: any non-empty
  subset of the device's channels.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from imurehab.errors import ProtocolError, SimulationError
from imurehab.protocols.osp import (
    CONTROL_POINT_UUID,
    LOG_DATA_UUID,
    AbortCommand,
    Chunk,
    ClockSyncCommand,
    ClockSyncReply,
    CommitCommand,
    End,
    ListCommand,
    ReadAccepted,
    ReadCommand,
    Response,
    SessionList,
    StartLogCommand,
    StartStreamCommand,
    Status,
    StopLogCommand,
    StopStreamCommand,
    crc32,
    decode_command,
    encode_chunk,
    encode_end,
    encode_response,
    list_entries_per_response,
    max_chunk_data,
)
from imurehab.protocols.osp.constants import MIN_ATT_MTU
from imurehab.virtual.air import VirtualAir
from imurehab.virtual.osp_faults import Fault
from imurehab.virtual.osp_flash import FlashSession, OspFlash
from imurehab.virtual.osp_recorder import Recorder
from imurehab.virtual.osp_stats import OspDeviceStats

if TYPE_CHECKING:
    from imurehab.virtual.osp_sensor import OspSensor

__all__ = ["OspControl"]

logger = logging.getLogger(__name__)


@dataclass
class _ReadJob:
    session: FlashSession
    offset: int
    length: int
    tag: int
    epoch: int
    recorder: Recorder
    marks: dict[int, int]  # fault index → log offset that fires it
    abort: bool = False
    cut: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)


class OspControl:
    """Commands, READs and fault triggers of one virtual OSP sensor.

    Parameters
    ----------
    sensor : OspSensor
        The sensor (its notify/indicate, MTU, clock, boot id, link and reboot).
    flash : OspFlash
        Its flash.
    stats : OspDeviceStats
        Its counters.
    faults : sequence of Fault
        Its event faults, each fired once.
    recorder : callable
        ``recorder() -> Recorder``: the current boot's recorder.
    air : callable
        ``air() -> VirtualAir``: the air the sensor is on.
    drain : callable
        ``await drain()``: wait until every notification queued on the link went on the air.
    changed : callable
        ``changed(event)``: persist-worthy change (``"commit"``, ``"fault"``), called before acting on it.
    """

    def __init__(
        self,
        sensor: OspSensor,
        *,
        flash: OspFlash,
        stats: OspDeviceStats,
        faults: Sequence[Fault],
        recorder: Callable[[], Recorder],
        air: Callable[[], VirtualAir],
        drain: Callable[[], Awaitable[None]],
        changed: Callable[[str], None],
    ) -> None:
        self.faults = tuple(faults)
        self.fired: set[int] = set()
        self._sensor, self._flash, self._stats = sensor, flash, stats
        self._recorder, self._air, self._drain, self._changed = recorder, air, drain, changed
        self._epoch = 0
        self._read: _ReadJob | None = None
        self._inbox: asyncio.Queue[tuple[bytes, int, int]] | None = None
        self._server: asyncio.Task[None] | None = None

    def link_changed(self) -> None:
        """The link came up or went down (or the device rebooted): queued commands and a READ are void."""
        self._epoch += 1
        self._read = None

    def on_write(self, data: bytes) -> None:
        """A write to the control point: stamp its arrival on the device clock and queue it.

        Parameters
        ----------
        data : bytes
            The written value.
        """
        received_us = self._sensor.device_time_us()
        loop = asyncio.get_running_loop()
        if self._server is None or self._server.done() or self._server.get_loop() is not loop:
            self._inbox = asyncio.Queue()
            name = f"OSP commands {self._sensor.address}"
            self._server = self._air().spawn(self._serve(self._inbox), name=name)
        assert self._inbox is not None
        self._inbox.put_nowait((bytes(data), received_us, self._epoch))

    def stream_tick(self) -> None:
        """Fire the faults whose air time has come (called while streaming)."""
        now = self._air().time
        for i, fault in enumerate(self.faults):
            if i not in self.fired and fault.value <= now:
                self._fire(i)

    # --- commands ----------------------------------------------------------------------------------

    async def _serve(self, inbox: asyncio.Queue[tuple[bytes, int, int]]) -> None:
        while True:
            data, received_us, epoch = await inbox.get()
            if epoch != self._epoch:
                continue  # written on a link that is gone
            self._stats.commands += 1
            try:
                await self._handle(data, received_us)
            except Exception:
                logger.exception("%s: command %s failed", self._sensor.name, data.hex())
                await self._respond(data[1] if len(data) > 1 else 0, Status.INTERNAL_ERROR, data[2:3])

    async def _respond(self, opcode: int, status: int, tag: int | bytes, body: Any = None) -> None:
        tag = tag if isinstance(tag, int) else (tag[0] if tag else 0)
        message = encode_response(Response(opcode, status, tag, body))
        if len(message) > (self._sensor.mtu or 0) - 3:
            message = encode_response(Response(opcode, Status.MTU_TOO_SMALL, tag))
        await self._sensor.indicate(CONTROL_POINT_UUID, message)

    async def _handle(self, data: bytes, received_us: int) -> None:
        try:
            cmd = decode_command(data)
        except ProtocolError as err:
            status = Status.INVALID_LENGTH
            if err.reason == "type":
                status = Status.UNSUPPORTED_VERSION if err.offset == 0 else Status.UNKNOWN_OPCODE
            await self._respond(data[1] if len(data) > 1 else 0, status, data[2:3])
            return
        if self._read is not None and not isinstance(cmd, AbortCommand):
            await self._respond(cmd.OPCODE, Status.BUSY, cmd.tag)
            return
        status, body = Status.OK, None
        recorder = self._recorder()
        match cmd:
            case ListCommand():
                status, body = self._list(cmd)
            case ReadCommand():
                await self._start_read(cmd)
                return
            case AbortCommand():
                if (job := self._read) is not None:
                    job.abort = True
                    await job.done.wait()
            case CommitCommand():
                status = self._flash.commit(cmd.session_id, cmd.length, cmd.log_crc)
                if status == Status.OK:
                    self._stats.commits += 1
                    self._changed("commit")
            case StartStreamCommand():
                status, body = recorder.start_stream(cmd)
            case StopStreamCommand():
                status = await recorder.stop_stream()
            case StartLogCommand():
                status, body = recorder.start_log(cmd)
            case StopLogCommand():
                status, body = await recorder.stop_log()
            case ClockSyncCommand():
                sensor = self._sensor
                body = ClockSyncReply(cmd.t1_us, received_us, sensor.device_time_us(), sensor.boot_id)
        await self._respond(cmd.OPCODE, status, cmd.tag, body if status == Status.OK else None)

    def _list(self, cmd: ListCommand) -> tuple[Status, SessionList | None]:
        mtu = self._sensor.mtu or 0
        if mtu < MIN_ATT_MTU:
            return Status.MTU_TOO_SMALL, None
        entries = tuple(s.entry() for s in self._flash.sessions())
        return Status.OK, SessionList(
            len(entries), cmd.first, entries[cmd.first : cmd.first + list_entries_per_response(mtu)]
        )

    # --- READ --------------------------------------------------------------------------------------

    async def _start_read(self, cmd: ReadCommand) -> None:
        session = self._flash.get(cmd.session_id)
        status = Status.OK
        if (self._sensor.mtu or 0) < MIN_ATT_MTU:
            status = Status.MTU_TOO_SMALL
        elif session is None:
            status = Status.UNKNOWN_SESSION
        elif cmd.offset > session.length:
            status = Status.OUT_OF_RANGE
        if session is None or status != Status.OK:
            await self._respond(cmd.OPCODE, status, cmd.tag)
            return
        length = min(cmd.length, session.length - cmd.offset)
        marks = {
            i: mark
            for i, f in enumerate(self.faults)
            if i not in self.fired
            and f.kind != "overflow"
            and (mark := session.mark_offset(f.value)) is not None
        }
        job = _ReadJob(session, cmd.offset, length, cmd.tag, self._epoch, self._recorder(), marks)
        self._read = job
        self._stats.reads_started += 1
        accepted = ReadAccepted(session.session_id, cmd.offset, length)
        await self._respond(cmd.OPCODE, Status.OK, cmd.tag, accepted)
        self._air().spawn(self._run_read(job), name=f"OSP read {self._sensor.address}")

    def _alive(self, job: _ReadJob) -> bool:
        return (
            not job.cut
            and self._read is job
            and job.epoch == self._epoch
            and job.recorder is self._recorder()
            and self._sensor.mtu is not None
        )

    async def _run_read(self, job: _ReadJob) -> None:
        sent = crc = 0
        session, sensor = job.session, self._sensor
        try:
            while sent < job.length and not job.abort and self._alive(job):
                start = job.offset + sent
                data = session.read(start, min(max_chunk_data(sensor.mtu or 0), job.length - sent))
                await sensor.notify(LOG_DATA_UUID, encode_chunk(Chunk(session.session_id, start, data)))
                sent, crc = sent + len(data), crc32(data, crc)
                self._stats.chunks_sent += 1
                self._stats.chunk_bytes_sent += len(data)
                for i, mark in job.marks.items():
                    if start <= mark < start + len(data) and i not in self.fired:
                        if self.faults[i].kind != "silent":
                            job.cut = True
                            await self._drain()  # the fault comes after this CHUNK is on the air
                        self._fire(i)
            if not self._alive(job):
                self._stats.reads_cut += 1
                return
            status = Status.ABORTED if job.abort and sent < job.length else Status.OK
            s = session
            end = End(status, s.session_id, job.offset, sent, crc, s.length, s.crc, s.state, job.tag)
            self._read = None  # the READ ends with its END: the host may write as soon as END arrives
            await sensor.indicate(CONTROL_POINT_UUID, encode_end(end))
            if status == Status.OK:
                self._stats.reads_completed += 1
            else:
                self._stats.reads_aborted += 1
        finally:
            if self._read is job:
                self._read = None
            job.done.set()

    # --- faults ------------------------------------------------------------------------------------

    def _fire(self, index: int) -> None:
        fault = self.faults[index]
        self.fired.add(index)
        self._stats.faults_fired.append(str(fault))
        self._changed("fault")
        air = self._air()
        if fault.kind == "link-drop":
            self._sensor.drop_link()
        elif fault.kind == "silent":
            air.start_silent_loss(self._sensor.address)
        elif fault.kind == "reboot":
            air.spawn(self._reboot(), name=f"reboot {self._sensor.address}")
        else:
            self._recorder().stall_to_overflow()

    async def _reboot(self) -> None:
        try:
            await self._sensor.reboot()
        except SimulationError:
            pass  # already rebooting
