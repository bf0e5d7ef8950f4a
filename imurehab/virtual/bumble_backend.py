"""bleak backend classes over Bumble's virtual controllers: the real bleak API against virtual peripherals.

Pass the classes (not instances, not partials: bleak reads the class ``__name__``) to bleak::

    async with VirtualAir() as air:
        await air.add(peripheral)
        device = await BleakScanner.find_device_by_name("IMU-1", backend=VirtualBleakScanner)
        async with BleakClient(device, backend=VirtualBleakClient) as client:
            ...

Each backend object binds, when constructed, to the :class:`~imurehab.virtual.VirtualAir` open in the
running context, and talks to its central: a Bumble device on the air's LocalLink. Connects are
serialised per central. On connect the client asks for the air's MTU (247) and discovers every service,
characteristic and descriptor.

Errors follow bleak's conventions: an ATT error response raises
:class:`~bleak.exc.BleakGATTProtocolError`; an operation cut short by a disconnection (Bumble cancels the
request in flight, and one queued behind it would wait 30 s) raises :class:`~bleak.exc.BleakError`
promptly; a connect to an address not on the air raises :class:`~bleak.exc.BleakDeviceNotFoundError`, and
one that times out raises :class:`TimeoutError`. The ``disconnected_callback`` runs (soon, on the event
loop) after every disconnection of an established connection, explicit or not, as on BlueZ.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from bleak.args import SizedBuffer
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bumble import att, core, hci
from bumble.device import Connection, Peer

from imurehab.virtual._bleak_gatt import service_collection
from imurehab.virtual._scanner import VirtualBleakScanner
from imurehab.virtual._tasks import LinkLost, consume_outcome, until_lost
from imurehab.virtual.air import LINK_LOST, current_air

__all__ = ["VirtualBleakClient", "VirtualBleakScanner"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")
_ATT_DEFAULT_MTU = 23
_DISCONNECT_TIMEOUT_S = 10.0


class _Link:
    """One established connection as the client sees it."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.peer = Peer(connection)
        self.lost: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.subscribers: dict[int, Callable[[bytes], None]] = {}
        self.ready = False


class VirtualBleakClient(BaseBleakClient):
    """bleak client backend connecting through the current virtual air's central.

    Parameters
    ----------
    address_or_ble_device : BLEDevice or str
        As for :class:`bleak.BleakClient`; a bare address is looked up on the air, no scan needed.
    disconnected_callback : callable or None
        Called with no argument after each disconnection of an established connection.
    timeout : float
        Seconds a connect waits for the peripheral to be connectable (default 30, as bleak).
    services : set of str or None
        Normalised service UUIDs to expose (bleak's ``services`` argument); None exposes all.
    **kwargs
        Platform arguments bleak passes (``bluez``, ``winrt``, ...), ignored.
    """

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 30.0,
        services: set[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout)
        self.address = self.address.upper()
        self._air = current_air()
        self._device_name = (
            address_or_ble_device.name if isinstance(address_or_ble_device, BLEDevice) else None
        )
        self._wanted = set(services) if services else None
        self._link: _Link | None = None
        self._mtu = _ATT_DEFAULT_MTU

    # --- state -------------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The peripheral's name (from the scan, else its advertised name, else the dashed address)."""
        if self._device_name:
            return self._device_name
        peripheral = self._air.find(self.address)
        return peripheral.name if peripheral is not None else self.address.replace(":", "-")

    @property
    def mtu_size(self) -> int:
        """The negotiated ATT MTU [bytes] (the last one known when disconnected)."""
        return self._link.connection.att_mtu if self._link is not None else self._mtu

    @property
    def is_connected(self) -> bool:
        """Whether the connection is up."""
        return self._link is not None and not self._link.lost.done()

    # --- connection --------------------------------------------------------------------------------

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        """Connect, exchange the MTU and discover the GATT database.

        Parameters
        ----------
        pair : bool
            Accepted and ignored: the virtual air does not emulate pairing.
        **kwargs
            ``timeout`` [s] overrides the constructor's; other arguments are ignored.
        """
        if self.is_connected:
            return
        if pair:
            logger.info(
                "pairing is not emulated on the virtual air; connecting to %s without it", self.address
            )
        if self._air.find(self.address) is None:
            raise BleakDeviceNotFoundError(
                self.address, f"Device with address {self.address} is not on the virtual air"
            )
        timeout = float(kwargs.get("timeout", self._timeout))
        connection = await self._air.central.connect(self.address, timeout)
        link = _Link(connection)
        connection.on(connection.EVENT_DISCONNECTION, functools.partial(self._on_disconnection, link))
        if connection.device.connections.get(connection.handle) is not connection:
            link.lost.set_result(LINK_LOST)  # it dropped before we could listen
        self._link = link
        try:
            self._mtu = await self._gatt("MTU exchange", lambda link: link.peer.request_mtu(self._air.mtu))
            await self._gatt("service discovery", lambda link: link.peer.discover_all())
        except BaseException:
            await self.disconnect()
            self._link = None
            raise
        self.services = service_collection(
            link.peer.services, self._max_write_without_response_size, self._wanted
        )
        link.ready = True

    async def disconnect(self) -> None:
        """Disconnect (no-op when not connected); returns once the link is down."""
        link = self._link
        if link is None or link.lost.done():
            return
        # Never cancelled: an HCI command cancelled in flight breaks Bumble's host. If the link dropped
        # meanwhile, the request waits for nothing until the air closes and flushes it.
        request = asyncio.ensure_future(link.connection.disconnect())
        request.add_done_callback(consume_outcome)
        await asyncio.wait_for(asyncio.shield(link.lost), _DISCONNECT_TIMEOUT_S)

    def _on_disconnection(self, link: _Link, reason: int) -> None:
        if not link.lost.done():
            link.lost.set_result(reason)
        if self._link is link and link.ready and self._disconnected_callback is not None:
            asyncio.get_running_loop().call_soon(self._disconnected_callback)

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """Not supported: the virtual air does not emulate pairing.

        Parameters
        ----------
        *args, **kwargs
            Ignored.
        """
        raise NotImplementedError("pairing is not emulated on the virtual air")

    async def unpair(self) -> None:
        """Not supported: the virtual air does not emulate pairing."""
        raise NotImplementedError("pairing is not emulated on the virtual air")

    # --- GATT --------------------------------------------------------------------------------------

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        """Read a characteristic value (long values with blob reads).

        Parameters
        ----------
        characteristic : BleakGATTCharacteristic
            The characteristic.
        use_cached : bool
            Return the last value read or notified on this connection, when there is one.
        **kwargs
            Ignored.

        Returns
        -------
        bytearray
            The value.
        """
        return await self._read(
            f"read of {characteristic.uuid}", characteristic.handle, characteristic.obj, use_cached
        )

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        """Read a descriptor value.

        Parameters
        ----------
        descriptor : BleakGATTDescriptor
            The descriptor.
        use_cached : bool
            Return the last value read on this connection, when there is one.
        **kwargs
            Ignored.

        Returns
        -------
        bytearray
            The value.
        """
        return await self._read(
            f"read of descriptor {descriptor.handle}", descriptor.handle, descriptor.obj, use_cached
        )

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        """Write a characteristic value, with response (a request) or without (a command).

        Parameters
        ----------
        characteristic : BleakGATTCharacteristic
            The characteristic.
        data : bytes-like
            The value; without response at most MTU − 3 bytes.
        response : bool
            Write with response.
        """
        value = bytes(data)
        if not response and len(value) > self.mtu_size - 3:
            raise BleakError(
                f"write without response of {len(value)} bytes to {characteristic.uuid} "
                f"exceeds MTU - 3 = {self.mtu_size - 3}"
            )
        await self._gatt(
            f"write to {characteristic.uuid}",
            lambda link: link.peer.write_value(characteristic.obj, value, with_response=response),
        )

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: SizedBuffer) -> None:
        """Write a descriptor value (with response).

        Parameters
        ----------
        descriptor : BleakGATTDescriptor
            The descriptor.
        data : bytes-like
            The value.
        """
        value = bytes(data)
        await self._gatt(
            f"write to descriptor {descriptor.handle}",
            lambda link: link.peer.write_value(descriptor.obj, value, with_response=True),
        )

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        """Enable notifications (preferred) or indications and route them to ``callback``.

        Parameters
        ----------
        characteristic : BleakGATTCharacteristic
            A characteristic with the notify or indicate property.
        callback : callable
            Called with each value as a bytearray; exceptions it raises are logged.
        **kwargs
            Platform arguments (``bluez``, ``cb``), ignored.
        """
        link = self._require_link(f"start_notify on {characteristic.uuid}")
        if not {"notify", "indicate"} & set(characteristic.properties):
            raise BleakError(f"characteristic {characteristic.uuid} neither notifies nor indicates")
        if characteristic.handle in link.subscribers:
            raise BleakError(f"notifications on {characteristic.uuid} are already started")

        def deliver(value: bytes) -> None:
            try:
                callback(bytearray(value))
            except Exception:
                logger.exception("notification callback for %s raised", characteristic.uuid)

        link.subscribers[characteristic.handle] = deliver
        try:
            await self._gatt(
                f"start_notify on {characteristic.uuid}",
                lambda link: link.peer.subscribe(characteristic.obj, deliver, prefer_notify=True),
            )
        except BaseException:
            link.subscribers.pop(characteristic.handle, None)
            raise

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        """Disable notifications or indications (no-op when not started).

        Parameters
        ----------
        characteristic : BleakGATTCharacteristic
            The characteristic.
        """
        link = self._require_link(f"stop_notify on {characteristic.uuid}")
        deliver = link.subscribers.pop(characteristic.handle, None)
        if deliver is not None:
            await self._gatt(
                f"stop_notify on {characteristic.uuid}",
                lambda link: link.peer.unsubscribe(characteristic.obj, deliver),
            )

    # --- helpers -----------------------------------------------------------------------------------

    def _max_write_without_response_size(self) -> int:
        return self.mtu_size - 3

    def _require_link(self, what: str) -> _Link:
        link = self._link
        if link is None or link.lost.done():
            raise BleakError(f"{what} on {self.address}: not connected")
        return link

    async def _read(self, what: str, handle: int, proxy: Any, use_cached: bool) -> bytearray:
        link = self._require_link(what)
        if use_cached and (cached := link.peer.gatt_client.cached_values.get(handle)) is not None:
            return bytearray(cached[1])
        return bytearray(await self._gatt(what, lambda link: link.peer.read_value(proxy)))

    async def _gatt(self, what: str, operation: Callable[[_Link], Awaitable[_T]]) -> _T:
        """Run a Bumble GATT operation on the live link, translating its failures into bleak's."""
        link = self._require_link(what)
        try:
            return await until_lost(operation(link), link.lost)
        except LinkLost as lost:
            reason = hci.HCI_Constant.error_name(lost.reason)
            raise BleakError(f"{what} on {self.address} failed: disconnected ({reason})") from None
        except att.ATT_Error as error:
            raise BleakGATTProtocolError(error.error_code) from error
        except core.BaseBumbleError as error:
            raise BleakError(f"{what} on {self.address} failed: {error}") from error
