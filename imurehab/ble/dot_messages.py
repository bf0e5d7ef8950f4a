"""The DOT message service over a link: commands with their acknowledge, notifications in a queue.

A control message is written to the message control characteristic and its acknowledge read back from
the acknowledge characteristic (D1 §5.1: result, then the control's identifier and data); what the
sensor sends on its own (file info, export packets, sync status) arrives as notifications, which the
bleak callback only enqueues. A link drop puts ``None`` in the queue, so a waiting reader learns of it
at once. Also here: the sensors' own sync (StartSync with a root MAC, then GetSyncStatus), which the
host runs before recording on several DOTs so their SampleTimeFine clocks agree.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Final

from imurehab.ble.connection import Link, RetryPolicy
from imurehab.ble.dot import DOT_CHARACTERISTICS
from imurehab.errors import BleError, ProtocolError
from imurehab.protocols import load_profile
from imurehab.protocols.movella_dot import describe, sync_message

__all__ = ["DotMessenger", "start_sync", "sync_status"]

_SYNCED: Final = load_profile("movella-dot")["synchronization"]["status"]["synced"]
_SYNC_POLL_S: Final = 0.25


class DotMessenger:
    """Commands and notifications of one DOT's message service.

    Parameters
    ----------
    link : Link
        The sensor's link (its ``on_lost`` is taken over).
    policy : RetryPolicy
        ``response_timeout_s`` bounds each command; ``idle_timeout_s`` each wait for a notification.

    Attributes
    ----------
    notifications : asyncio.Queue
        ``(host time [ns since the Unix epoch], value)`` of each notification; ``None`` when the link drops.
    """

    def __init__(self, link: Link, policy: RetryPolicy) -> None:
        self.link, self.policy = link, policy
        self.notifications: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue()
        link.on_lost = lambda: self.notifications.put_nowait(None)

    async def connect(self) -> None:
        """Subscribe to the message notifications and connect (retrying)."""
        queue = self.notifications
        await self.link.subscribe(
            DOT_CHARACTERISTICS["message_notification"], lambda v: queue.put_nowait((time.time_ns(), v))
        )
        await self.link.connect()
        await self.link.request_mtu()

    def drain(self) -> None:
        """Forget notifications not read yet."""
        while not self.notifications.empty():
            self.notifications.get_nowait()

    async def command(self, message: bytes, *, accept: tuple[str, ...] = ("success",)) -> dict[str, Any]:
        """Write a control message and read its acknowledge.

        Parameters
        ----------
        message : bytes
            A recording or synchronisation message.
        accept : tuple of str
            Acknowledge results that count as done.

        Returns
        -------
        dict
            The acknowledge, as :func:`~imurehab.protocols.movella_dot.describe` gives it.

        Raises
        ------
        BleError
            ``device`` for another result, ``protocol`` for a malformed or mismatched acknowledge,
            ``disconnected``/``timeout`` from the link.
        """
        sent = describe(message)
        await self.link.write(DOT_CHARACTERISTICS["message_control"], message)
        raw = await self.link.read(DOT_CHARACTERISTICS["message_acknowledge"])
        try:
            ack = describe(raw, "acknowledge")
        except ProtocolError as err:
            raise BleError(
                f"{sent['message']}: malformed acknowledge ({err})",
                address=self.link.address,
                reason="protocol",
            ) from None
        if ack.get("control_message") != sent["message"]:
            raise BleError(
                f"{sent['message']} acknowledged as {ack.get('control_message')!r}",
                address=self.link.address,
                reason="protocol",
            )
        if ack["ack_state"] not in accept:
            raise BleError(
                f"{sent['message']} answered {ack['ack_state']}", address=self.link.address, reason="device"
            )
        return ack

    async def next(self, timeout_s: float | None = None) -> tuple[int, bytes] | None:
        """The next notification, or None after ``timeout_s`` (default ``policy.idle_timeout_s``) [s].

        Parameters
        ----------
        timeout_s : float, optional
            How long to wait [s].

        Raises
        ------
        BleError
            ``disconnected`` when the link dropped.
        """
        try:
            async with asyncio.timeout(self.policy.idle_timeout_s if timeout_s is None else timeout_s):
                item = await self.notifications.get()
        except TimeoutError:
            return None
        if item is None:
            raise BleError("the link dropped", address=self.link.address, reason="disconnected")
        return item

    async def wait_for(self, names: tuple[str, ...]) -> dict[str, Any] | None:
        """Skip notifications until one of ``names`` (described), None after an idle timeout.

        Parameters
        ----------
        names : tuple of str
            Message names to wait for.
        """
        while (item := await self.next()) is not None:
            try:
                info = describe(item[1], "notification")
            except ProtocolError:
                continue
            if info.get("message") in names:
                return info
        return None


async def start_sync(messengers: list[DotMessenger], root_address: str) -> None:
    """Start the sensors' own sync: StartSync with the root's MAC to every sensor, the root first.

    Parameters
    ----------
    messengers : list of DotMessenger
        Connected sensors, the root among them.
    root_address : str
        The root sensor's address (a DOT's address is its MAC).
    """
    ordered = sorted(messengers, key=lambda m: m.link.address.upper() != root_address.upper())
    for m in ordered:
        await m.command(sync_message("StartSync", root_mac=root_address))


async def sync_status(messenger: DotMessenger, *, wait_s: float) -> bool:
    """Whether the sensor reports itself synced, asking (GetSyncStatus) until it is or ``wait_s`` passed.

    Parameters
    ----------
    messenger : DotMessenger
        A connected sensor.
    wait_s : float
        How long to keep asking [s].
    """
    deadline = time.monotonic() + wait_s
    while True:
        messenger.drain()
        await messenger.command(sync_message("GetSyncStatus"))
        info = await messenger.wait_for(("SyncStatus",))
        if info is not None and info["sync_result"] == _SYNCED:
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(_SYNC_POLL_S)
