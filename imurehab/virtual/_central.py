"""The central of the virtual air: one Bumble device in the central role, shared by all bleak backends.

Scanners register listeners and the central scans while at least one is registered. Connections are
made one at a time (a controller accepts a single pending LE connection), in the order asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from bleak.exc import BleakError
from bumble import core, hci
from bumble.device import Advertisement, Connection, Device

from imurehab.virtual._tasks import consume_outcome

logger = logging.getLogger(__name__)

AdvertisementListener = Callable[[Advertisement], None]

_ABANDON_TIMEOUT_S = 5.0


class Central:
    """The host side of the laptop's (virtual) Bluetooth adapter.

    Parameters
    ----------
    device : bumble.device.Device
        A Bumble device wired to a controller on the air's link, not yet powered on.
    """

    def __init__(self, device: Device) -> None:
        self.device = device
        self._listeners: list[AdvertisementListener] = []
        self._scan_lock = asyncio.Lock()
        self._connect_lock = asyncio.Lock()
        device.on(device.EVENT_ADVERTISEMENT, self._on_advertisement)

    async def power_on(self) -> None:
        """Reset and configure the controller."""
        await self.device.power_on()

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        for listener in list(self._listeners):
            try:
                listener(advertisement)
            except Exception:
                logger.exception("advertisement listener failed")

    async def add_scan_listener(self, listener: AdvertisementListener) -> None:
        """Deliver advertisements to ``listener``; scanning starts with the first listener.

        Parameters
        ----------
        listener : callable
            Called with each Bumble :class:`~bumble.device.Advertisement` received.
        """
        async with self._scan_lock:
            self._listeners.append(listener)
            if not self.device.is_scanning:
                await self.device.start_scanning(filter_duplicates=False)

    async def remove_scan_listener(self, listener: AdvertisementListener) -> None:
        """Stop delivering advertisements to ``listener``; scanning stops with the last listener.

        Parameters
        ----------
        listener : callable
            A listener given to :meth:`add_scan_listener`.
        """
        async with self._scan_lock:
            if listener in self._listeners:
                self._listeners.remove(listener)
            if not self._listeners and self.device.is_scanning and self.device.powered_on:
                await self.device.stop_scanning()

    def connection_to(self, address: str) -> Connection | None:
        """The live connection to the peripheral at ``address``, if any.

        Parameters
        ----------
        address : str
            The peripheral's address, ``"AA:BB:CC:DD:EE:FF"``.

        Returns
        -------
        bumble.device.Connection or None
            The connection.
        """
        for connection in self.device.connections.values():
            if connection.peer_address.to_string(with_type_qualifier=False) == address.upper():
                return connection
        return None

    async def connect(self, address: str, timeout: float) -> Connection:
        """Connect to the peripheral advertising at ``address``, one connection attempt at a time.

        Parameters
        ----------
        address : str
            The peripheral's (random static) address.
        timeout : float
            Seconds to wait for the peripheral's next connectable advertisement, not counting the
            wait for other connection attempts to finish.

        Returns
        -------
        bumble.device.Connection
            The new connection.

        Raises
        ------
        TimeoutError
            If the peripheral did not advertise within ``timeout`` (as bleak's own backends raise).
        bleak.exc.BleakError
            If the central is already connected to it, or the controller refused the connection.
        """
        async with self._connect_lock:
            if self.connection_to(address) is not None:
                raise BleakError(f"{address} is already connected to the virtual central")
            peer = hci.Address(address, hci.Address.RANDOM_DEVICE_ADDRESS)
            attempt = asyncio.ensure_future(self.device.connect(peer, timeout=timeout))
            try:
                return await asyncio.shield(attempt)
            except asyncio.CancelledError:
                await self._abandon(attempt)
                raise
            except core.TimeoutError as error:
                raise TimeoutError(f"{address} was not connectable within {timeout:g} s") from error
            except core.BaseBumbleError as error:
                raise BleakError(f"connecting to {address} failed: {error}") from error

    async def _abandon(self, attempt: asyncio.Future[Connection]) -> None:
        """Wind down a connection attempt whose caller was cancelled, leaving the controller idle.

        Bumble does not cancel the controller's pending connection when its connect is cancelled, and
        the controller refuses every later connect while one is pending.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _ABANDON_TIMEOUT_S
        cancel_sent = False
        while not attempt.done() and loop.time() < deadline:
            if self.device.is_le_connecting and not cancel_sent:
                cancel_sent = True
                with contextlib.suppress(core.BaseBumbleError):  # it may have completed meanwhile
                    await self.device.cancel_connection()
            await asyncio.wait((attempt,), timeout=0.05)
        if not attempt.done():
            attempt.cancel()
        elif not attempt.cancelled() and attempt.exception() is None:
            connection = attempt.result()
            if self.device.connections.get(connection.handle) is connection:
                closing = asyncio.ensure_future(connection.disconnect())
                closing.add_done_callback(consume_outcome)
                await asyncio.wait((closing,), timeout=_ABANDON_TIMEOUT_S)

    async def power_off(self) -> None:
        """Stop scanning and flush the host."""
        self._listeners.clear()
        await self.device.power_off()
