"""GSP commands over a :class:`~imurehab.ble.connection.Link`: references, results, and routed data.

Every GSP answer arrives on the one notify characteristic (spec.md, GATT layer): COMMAND_RESULTs are
matched to the command waiting for their reference; DATA and DATA_PART2 go, with their arrival time, to
:attr:`GspClient.on_data` (the live driver's decoder or a log download). The notification callback only
enqueues; one consumer task routes. Results are notifications too, so a link can lose them: a command
without its result in ``policy.response_timeout_s`` is sent again (``attempts`` times in all) before it
fails with ``timeout``; every command GSP has is safe to repeat.

Examples
--------
>>> next_reference(255), next_reference(7)
(1, 8)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

from imurehab.ble.connection import Link, RetryPolicy
from imurehab.errors import BleError, ProtocolError
from imurehab.protocols import load_profile
from imurehab.protocols.movesense import encode_command, parse_result

__all__ = ["NOTIFY_UUID", "WRITE_UUID", "DataSink", "GspClient", "next_reference"]

_UUID: Final = load_profile("movesense-gsp")["uuid"]
WRITE_UUID: Final[str] = _UUID["write"]
NOTIFY_UUID: Final[str] = _UUID["notify"]
_RESULT: Final = int(load_profile("movesense-gsp")["responses"]["COMMAND_RESULT"])
_LOGGER_STATE: Final = "/Mem/DataLogger/State"
_READY, _LOGGING = 2, 3  # DataLogger states (spec.md, PUT_DATALOGGER_STATE)

DataSink = Callable[[int, bytes], None]
"""Receives ``(host time [ns since the Unix epoch], notification)`` of every DATA / DATA_PART2."""


def next_reference(reference: int) -> int:
    """The reference after ``reference`` (1..255; 0 is reserved).

    Parameters
    ----------
    reference : int
        The last one used.
    """
    return reference % 255 + 1


class GspClient:
    """A Movesense GSP session over one link.

    Parameters
    ----------
    link : Link
        The sensor's link (the client takes over its ``on_lost``).
    policy : RetryPolicy
        Timeouts.
    attempts : int
        Sends of one command before it fails with ``timeout``.

    Attributes
    ----------
    on_data : callable or None
        Where DATA / DATA_PART2 notifications go.
    last_activity : float
        ``time.monotonic()`` of the last notification.
    failure : BaseException or None
        What stopped the consumer (an error of ``on_data``).
    """

    def __init__(self, link: Link, policy: RetryPolicy, *, attempts: int = 3) -> None:
        self.link, self.policy, self.attempts = link, policy, attempts
        link.on_lost = self._on_lost
        self.on_data: DataSink | None = None
        self.last_activity = time.monotonic()
        self.failure: BaseException | None = None
        self.failed = asyncio.Event()
        self._reference = 0
        self._inbox: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()
        self._results: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._consumer: asyncio.Task[None] | None = None

    def reference(self) -> int:
        """A fresh reference for the next command or subscription."""
        self._reference = next_reference(self._reference)
        return self._reference

    async def open(self) -> None:
        """Subscribe to the notify characteristic, connect (retrying) and start routing."""
        inbox = self._inbox
        await self.link.subscribe(NOTIFY_UUID, lambda value: inbox.put_nowait((time.time_ns(), value)))
        await self.link.connect()
        await self.link.request_mtu()
        while not self._results.empty():  # results and drops of an earlier link
            self._results.get_nowait()
        if self._consumer is None or self._consumer.done():
            self._consumer = asyncio.get_running_loop().create_task(
                self._consume(), name=f"gsp {self.link.address}"
            )

    async def close(self) -> None:
        """Disconnect and stop the consumer."""
        await self.link.disconnect()
        if self._consumer is not None:
            self._consumer.cancel()
            await asyncio.gather(self._consumer, return_exceptions=True)
            self._consumer = None

    def _on_lost(self) -> None:
        self._results.put_nowait(None)

    async def _consume(self) -> None:
        while True:
            host_ns, value = await self._inbox.get()
            self.last_activity = time.monotonic()
            if value[:1] == bytes([_RESULT]):
                self._results.put_nowait(value)
            elif self.on_data is not None:
                try:
                    self.on_data(host_ns, value)
                except Exception as err:
                    self.failure = err
                    self.failed.set()
                    self._results.put_nowait(None)
                    return

    def _lost(self, what: str) -> BaseException:
        if self.failure is not None:
            return self.failure
        return BleError(f"{what}: the link dropped", address=self.link.address, reason="disconnected")

    async def command(
        self, command: str, *, reference: int | None = None, path: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Send a command and return its parsed result (resent when the result does not come).

        Parameters
        ----------
        command : str
            GSP command name (``"HELLO"``, ``"GET"``, ...).
        reference : int, optional
            Its reference (default: a fresh one).
        path : str, optional
            The resource path of SUBSCRIBE and GET.
        **fields
            The other payload fields (``log_id``, ``state``, ``paths``, ``utc_us``, ...).

        Returns
        -------
        dict
            :func:`~imurehab.protocols.movesense.parse_result` of the result (``status``, ``data``, ...).

        Raises
        ------
        BleError
            ``disconnected`` (the link dropped), ``timeout`` (no result after every attempt),
            ``protocol`` (a malformed result).
        """
        ref = reference or self.reference()
        payload = dict(fields) | ({"path": path} if path is not None else {})
        packet = encode_command(command, ref, **payload)
        for _ in range(self.attempts):
            while not self._results.empty():
                if self._results.get_nowait() is None:
                    raise self._lost(command)
            if not self.link.is_connected:
                raise self._lost(command)
            await self.link.write(WRITE_UUID, packet)
            try:
                async with asyncio.timeout(self.policy.response_timeout_s):
                    while True:
                        value = await self._results.get()
                        if value is None:
                            raise self._lost(command)
                        if value[1] == ref:
                            break
            except TimeoutError:
                continue
            try:
                return parse_result(value, command, path if command == "GET" else None)
            except ProtocolError as err:
                raise BleError(
                    f"{command}: malformed result ({err})", address=self.link.address, reason="protocol"
                ) from None
        raise BleError(
            f"{command}: no result after {self.attempts} attempts",
            address=self.link.address,
            reason="timeout",
        )

    async def checked(self, command: str, **kwargs: Any) -> dict[str, Any]:
        """:meth:`command`, raising unless the status is 200.

        Parameters
        ----------
        command : str
            GSP command name.
        **kwargs
            As for :meth:`command`.

        Raises
        ------
        BleError
            ``device`` for another status, and as :meth:`command`.
        """
        result = await self.command(command, **kwargs)
        if result.get("status", 200) != 200:
            what = f"{command} {kwargs.get('path', '')}".strip()
            raise BleError(
                f"{what} answered status {result['status']}", address=self.link.address, reason="device"
            )
        return result

    async def hello(self) -> str:
        """The sensor's serial from HELLO (the original firmware answers only 'Hello': the address)."""
        info = await self.command("HELLO")
        return str(info.get("serial") or self.link.address.replace(":", ""))

    async def start_logging(self, paths: Sequence[str]) -> bool:
        """Configure the DataLogger with ``paths`` and start it, unless it is logging already.

        Parameters
        ----------
        paths : sequence of str
            What to log, ``/Meas/<resource>/<rate>`` paths.

        Returns
        -------
        bool
            True when this call started it; False when it was logging already (left as it is).

        Raises
        ------
        BleError
            ``device`` when the sensor refuses, and as :meth:`command`.
        """
        state = await self.checked("GET", path=_LOGGER_STATE)
        if state.get("state") == _LOGGING:
            return False
        await self.checked("PUT_DATALOGGER_CONFIG", paths=list(paths))
        await self.checked("PUT_DATALOGGER_STATE", state=_LOGGING)
        return True

    async def stop_logging(self) -> None:
        """Stop the DataLogger (it closes its Logbook entry; a DataLogger not logging is fine).

        Raises
        ------
        BleError
            ``device`` when the sensor refuses, and as :meth:`command`.
        """
        await self.checked("PUT_DATALOGGER_STATE", state=_READY)
