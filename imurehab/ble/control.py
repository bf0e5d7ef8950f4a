"""The OSP protocol over one link: descriptor, tagged commands, and one consumer for everything received.

Every value the device sends — control-point indications (RESPONSE, END), log-data CHUNKs and live DATA
frames — goes through one bleak callback per characteristic that only enqueues ``(source, host time
[ns], bytes)`` on one queue. One consumer task takes them in arrival order (ATT keeps the device's order,
so every CHUNK not lost is handled before the END that follows it), resolves the pending command by its
tag, queues ENDs, and hands CHUNKs and DATA frames to the sink the caller set. A failure inside a sink
(e.g. a full disk while journaling) stops the consumer and is raised by the next wait.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, Final

from imurehab.ble.clock import host_time_us
from imurehab.ble.connection import Link, RetryPolicy, connect_gate
from imurehab.errors import BleError, ImurehabError, ProtocolError
from imurehab.protocols.osp import (
    CONTROL_POINT_UUID,
    DATA_UUID,
    DESCRIPTOR_UUID,
    LOG_DATA_UUID,
    VERSION,
    ClockSample,
    ClockSyncCommand,
    CommitCommand,
    Descriptor,
    End,
    ListCommand,
    MessageType,
    ReadAccepted,
    ReadCommand,
    Response,
    SessionEntry,
    SessionList,
    Status,
    decode_descriptor,
    decode_end,
    decode_response,
    encode_command,
)
from imurehab.protocols.osp.commands import Command
from imurehab.protocols.osp.constants import MIN_ATT_MTU

__all__ = ["OspDevice", "Sink"]

logger = logging.getLogger(__name__)

Sink = Callable[[int, bytes], None]
"""Receives ``(host time [ns since the Unix epoch], value)`` of a CHUNK or DATA notification."""

_READ_TO_END: Final = 0xFFFF_FFFF


def _status_name(status: int) -> str:
    return Status(status).name if status in Status._value2member_map_ else f"status {status}"


class OspDevice:
    """One OSP sensor over a :class:`~imurehab.ble.connection.Link`.

    Parameters
    ----------
    link : Link
        The device's link (its ``on_lost`` is taken over).
    policy : RetryPolicy
        Timeouts.

    Attributes
    ----------
    descriptor : Descriptor or None
        The descriptor read at the last connect.
    on_chunk, on_frame : callable or None
        Sinks for log-data CHUNKs and live DATA frames (run in the consumer task).
    rejected : collections.Counter
        Control-point messages that could not be parsed, by ProtocolError reason.
    failed : asyncio.Event
        Set when a sink raised: the consumer stopped; :meth:`raise_failure` raises the error.
    """

    def __init__(self, link: Link, policy: RetryPolicy) -> None:
        self.link = link
        self.policy = policy
        link.on_lost = self._on_lost
        self.descriptor: Descriptor | None = None
        self.descriptor_bytes = b""
        self.on_chunk: Sink | None = None
        self.on_frame: Sink | None = None
        self.rejected: Counter[str] = Counter()
        self.last_activity = time.monotonic()
        self._inbox: asyncio.Queue[tuple[str, int, bytes]] = asyncio.Queue()
        self._pending: dict[int, tuple[int, asyncio.Future[tuple[Response, int]]]] = {}
        self._ends: asyncio.Queue[End | None] = asyncio.Queue()
        self._tag = 0
        self._consumer: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None
        self.failed = asyncio.Event()
        self._last_error: ProtocolError | None = None

    @property
    def address(self) -> str:
        """The device's address."""
        return self.link.address

    # --- connection --------------------------------------------------------------------------------

    async def connect(self, *, stream: bool = False) -> Descriptor:
        """Connect (retrying), enable indications and notifications, read the descriptor.

        Parameters
        ----------
        stream : bool
            Also subscribe to live DATA frames.

        Returns
        -------
        Descriptor
            The device's current descriptor (``boot_id``, ``serial``, scales, rate).

        Raises
        ------
        BleError
            ``not-found``, ``unreachable``, ``unsupported`` (no OSP service, MTU < 64), ``protocol``
            (malformed descriptor), ``disconnected``.
        """
        self.raise_failure()
        await self.link.subscribe(CONTROL_POINT_UUID, self._enqueue("cp"))
        await self.link.subscribe(LOG_DATA_UUID, self._enqueue("log"))
        if stream:
            await self.link.subscribe(DATA_UUID, self._enqueue("data"))
        await self.link.connect()
        if self._consumer is None or self._consumer.done():
            self._consumer = asyncio.get_running_loop().create_task(
                self._consume(), name=f"osp {self.address}"
            )
        if self.link.mtu < MIN_ATT_MTU:
            raise BleError(
                f"ATT MTU {self.link.mtu} is below OSP's minimum of {MIN_ATT_MTU}",
                address=self.address,
                reason="unsupported",
            )
        raw = await self.link.read(DESCRIPTOR_UUID)
        try:
            self.descriptor = decode_descriptor(raw)
        except ProtocolError as err:
            raise BleError(f"malformed descriptor: {err}", address=self.address, reason="protocol") from None
        self.descriptor_bytes = raw
        while not self._ends.empty():
            self._ends.get_nowait()
        return self.descriptor

    async def close(self) -> None:
        """Disconnect and stop the consumer (what it already took is handled first)."""
        await self.link.disconnect()
        if self._consumer is not None:
            self._consumer.cancel()
            await asyncio.gather(self._consumer, return_exceptions=True)
            self._consumer = None

    def _enqueue(self, source: str) -> Callable[[bytes], None]:
        inbox = self._inbox

        def callback(value: bytes) -> None:
            inbox.put_nowait((source, time.time_ns(), value))

        return callback

    def _on_lost(self) -> None:
        error = BleError("the link dropped", address=self.address, reason="disconnected")
        for _, future in self._pending.values():
            if not future.done():
                future.set_exception(error)
        self._ends.put_nowait(None)

    # --- the consumer ------------------------------------------------------------------------------

    async def _consume(self) -> None:
        while True:
            source, host_ns, value = await self._inbox.get()
            try:
                if source == "cp":
                    self._control(host_ns, value)
                else:
                    self.last_activity = time.monotonic()
                    sink = self.on_chunk if source == "log" else self.on_frame
                    if sink is not None:
                        sink(host_ns, value)
            except ImurehabError as err:
                self._fail(err)
                return

    def _fail(self, err: BaseException) -> None:
        self._failure = err
        self.failed.set()
        for _, future in self._pending.values():
            if not future.done():
                future.set_exception(err)
        self._ends.put_nowait(None)

    def raise_failure(self) -> None:
        """Raise the error that stopped the consumer (a sink failed), if one did."""
        if self._failure is not None:
            raise self._failure

    def _control(self, host_ns: int, value: bytes) -> None:
        self.last_activity = time.monotonic()
        try:
            if len(value) < 2 or value[0] != VERSION:
                raise ProtocolError("not an OSP v1 message", family="osp", reason="type", offset=0)
            if value[1] == MessageType.RESPONSE:
                resp = decode_response(value)
                opcode, future = self._pending.get(resp.tag, (None, None))
                if future is not None and opcode == resp.opcode and not future.done():
                    future.set_result((resp, host_ns))
            elif value[1] == MessageType.END:
                self._ends.put_nowait(decode_end(value))
            else:
                raise ProtocolError(f"unexpected message type 0x{value[1]:02x}", family="osp", reason="type")
        except ProtocolError as err:
            self.rejected[err.reason] += 1
            self._last_error = err
            logger.warning("%s: malformed control-point message: %s", self.address, err)

    # --- commands ----------------------------------------------------------------------------------

    async def command(self, cmd: Command, *, accept: tuple[int, ...] = (Status.OK,)) -> tuple[Response, int]:
        """Write one command and wait for its RESPONSE.

        Parameters
        ----------
        cmd : command dataclass
            Any OSP command (its tag is replaced by the next free one).
        accept : tuple of int
            Statuses that are not an error.

        Returns
        -------
        (Response, int)
            The response and the host time it arrived [ns since the Unix epoch].

        Raises
        ------
        BleError
            ``device`` for another status, ``timeout``, ``disconnected``, or ``protocol`` when only
            malformed answers came.
        """
        self.raise_failure()
        self._tag = self._tag % 255 + 1
        cmd = dataclasses.replace(cmd, tag=self._tag)
        future: asyncio.Future[tuple[Response, int]] = asyncio.get_running_loop().create_future()
        self._pending[cmd.tag] = (int(cmd.OPCODE), future)
        name = MessageType(cmd.OPCODE).name.removeprefix("CMD_")
        try:
            await self.link.write(CONTROL_POINT_UUID, encode_command(cmd))
            resp, host_ns = await asyncio.wait_for(future, self.policy.response_timeout_s)
        except TimeoutError:
            if self._last_error is not None:
                raise BleError(
                    f"{name}: no valid response, only malformed ones ({self._last_error})",
                    address=self.address,
                    reason="protocol",
                ) from None
            raise BleError(f"{name}: no response in time", address=self.address, reason="timeout") from None
        finally:
            self._pending.pop(cmd.tag, None)
        if resp.status not in accept:
            raise BleError(
                f"{name} answered {_status_name(resp.status)}", address=self.address, reason="device"
            )
        return resp, host_ns

    async def clock_sync(self, count: int) -> tuple[int, list[ClockSample]]:
        """Run ``count`` CLOCK_SYNC round trips (host times UTC µs), back to back.

        The burst holds the adapter's connect gate, so the round trips of several devices, and connects,
        never interleave: each is timed with as little else going on as possible.

        Parameters
        ----------
        count : int
            Round trips.

        Returns
        -------
        (int, list of ClockSample)
            The boot id the device reported and the round trips.
        """
        samples, boot_id = [], self.descriptor.boot_id if self.descriptor else 0
        async with connect_gate(self.link.backend):
            for _ in range(count):
                t1 = host_time_us()
                resp, host_ns = await self.command(ClockSyncCommand(t1_us=t1))
                body: Any = resp.body
                if body.t1_us != t1:
                    continue
                boot_id = body.boot_id
                samples.append(ClockSample(t1, body.t2_us, body.t3_us, host_ns // 1000))
        return boot_id, samples

    async def list_sessions(self) -> list[SessionEntry]:
        """Every session log on the device (LIST, paged), by session id."""
        entries: list[SessionEntry] = []
        while True:
            resp, _ = await self.command(ListCommand(first=len(entries)))
            body = resp.body
            assert isinstance(body, SessionList)
            entries += body.entries
            if len(entries) >= body.total or not body.entries:
                return sorted(entries, key=lambda e: e.session_id)

    async def read(self, session_id: int, offset: int, length: int | None = None) -> tuple[int, ReadAccepted]:
        """Start a READ; CHUNKs then go to :attr:`on_chunk` and its END to :meth:`wait_end`.

        Parameters
        ----------
        session_id : int
            The session.
        offset : int
            First byte [bytes].
        length : int or None
            Bytes wanted; None to the end of the durable log.

        Returns
        -------
        (int, ReadAccepted)
            The READ's tag (its END echoes it) and the range the device will send.
        """
        cmd = ReadCommand(session_id, offset, _READ_TO_END if length is None else length)
        resp, _ = await self.command(cmd)
        assert isinstance(resp.body, ReadAccepted)
        return resp.tag, resp.body

    async def wait_end(self, tag: int) -> End | None:
        """The END of the READ with ``tag``, or None if the link dropped or went idle.

        Idle: neither a CHUNK nor a control message for ``policy.idle_timeout_s``.

        Parameters
        ----------
        tag : int
            The READ's tag.
        """
        while True:
            self.raise_failure()
            idle = self.policy.idle_timeout_s - (time.monotonic() - self.last_activity)
            if idle <= 0:
                return None
            try:
                end = await asyncio.wait_for(self._ends.get(), idle)
            except TimeoutError:
                continue
            if end is None:
                self.raise_failure()
                return None
            if end.tag == tag:
                return end

    async def commit(self, session_id: int, length: int, crc: int) -> bool:
        """Erase a verified session on the device (COMMIT; UNKNOWN_SESSION = already erased).

        Parameters
        ----------
        session_id : int
            The session.
        length, crc : int
            The verified length [bytes] and CRC-32.

        Returns
        -------
        bool
            True when erased now, False when it was already gone.
        """
        resp, _ = await self.command(
            CommitCommand(session_id, length, crc), accept=(Status.OK, Status.UNKNOWN_SESSION)
        )
        return bool(resp.status == Status.OK)
