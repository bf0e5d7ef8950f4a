"""PFTP over a :class:`~imurehab.ble.connection.Link`: requests, responses checked frame by frame.

The host side of ``firmware_protocols/polar-pmd/spec.md`` §11: a request is cut into frames of ATT MTU − 3
bytes written to the MTU characteristic; the response comes back as its notifications, which the
callback only enqueues. :class:`~imurehab.protocols.polar_pmd.ResponseReader` checks every sequence
number; on a gap the host writes the stream cancel (when the device is still sending) and the request
fails with :class:`PftpError` code 303, as Polar's SDK does. A request cannot resume (spec.md §11.5):
callers fetch a file again from its start.
"""

from __future__ import annotations

import asyncio
from typing import Final

from imurehab.ble.connection import Link, RetryPolicy
from imurehab.errors import BleError, ProtocolError
from imurehab.protocols.polar_pmd import PFTP_GATT, ResponseReader, build_request, frame_message
from imurehab.protocols.polar_pmd.pftp import CANCEL, error_name

__all__ = ["LOST_FRAME", "NO_SUCH_FILE", "PftpClient", "PftpError"]

LOST_FRAME: Final = 303
"""The SDK's code for a response frame lost on the air."""
NO_SUCH_FILE: Final = 103
"""``NO_SUCH_FILE_OR_DIRECTORY``."""


class PftpError(BleError):
    """A PFTP request failed: the device's ``PbPFtpError`` code, or 303 for a frame lost on the air.

    Attributes
    ----------
    code : int
        The error code.
    path : str
        The request's path.
    """

    def __init__(self, message: str, *, address: str, code: int, path: str) -> None:
        self.code, self.path = code, path
        reason = "protocol" if code == LOST_FRAME else "device"
        super().__init__(f"{message}: {path}: {error_name(code)} ({code})", address=address, reason=reason)


class PftpClient:
    """PFTP requests over one sensor's link (one at a time).

    Parameters
    ----------
    link : Link
        The sensor's link (subscriptions are remembered across reconnects).
    policy : RetryPolicy
        ``response_timeout_s`` bounds the wait for each response frame [s].
    """

    def __init__(self, link: Link, policy: RetryPolicy) -> None:
        self.link, self.policy = link, policy
        self._inbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._lock = asyncio.Lock()
        chained = link.on_lost

        def lost() -> None:
            self._inbox.put_nowait(None)
            if chained is not None:
                chained()

        link.on_lost = lost

    async def attach(self) -> None:
        """Subscribe to the MTU and D2H characteristics (now, or at the next connect)."""
        await self.link.subscribe(PFTP_GATT["mtu"], self._inbox.put_nowait)
        await self.link.subscribe(PFTP_GATT["d2h"], lambda _value: None)

    async def request(self, command: str, path: str) -> bytes:
        """Send one request and return the response's content (empty for a status-only answer).

        Parameters
        ----------
        command : str
            ``"GET"`` or ``"REMOVE"``.
        path : str
            Device path (a directory ends with ``/``).

        Raises
        ------
        PftpError
            The device's error code, or 303 when a response frame was lost (the response was cancelled).
        BleError
            ``disconnected``, ``timeout`` (no frame for ``response_timeout_s``), ``protocol``.
        """
        async with self._lock:
            while not self._inbox.empty():  # late frames of a cancelled or abandoned response
                self._inbox.get_nowait()
            for frame in frame_message(build_request(command, path), self.link.mtu - 3):
                await self.link.write(PFTP_GATT["mtu"], frame)
            reader = ResponseReader()
            while True:
                try:
                    async with asyncio.timeout(self.policy.response_timeout_s):
                        packet = await self._inbox.get()
                except TimeoutError:
                    raise BleError(
                        f"{command} {path}: no answer in time", address=self.link.address, reason="timeout"
                    ) from None
                if packet is None:
                    raise BleError(
                        f"{command} {path}: the link dropped",
                        address=self.link.address,
                        reason="disconnected",
                    )
                try:
                    if reader.feed(packet):
                        break
                except ProtocolError as err:
                    if err.reason == "sequence" and reader.more_expected:
                        await self.link.write(PFTP_GATT["mtu"], CANCEL)
                    code = LOST_FRAME if err.reason == "sequence" else 0
                    if code:
                        raise PftpError(
                            f"{command} lost frame {reader.frames}",
                            address=self.link.address,
                            code=code,
                            path=path,
                        ) from None
                    raise BleError(
                        f"{command} {path}: {err}", address=self.link.address, reason="protocol"
                    ) from None
            if reader.error:
                raise PftpError(f"{command} refused", address=self.link.address, code=reader.error, path=path)
            return bytes(reader.content)
