"""A virtual BLE peripheral: advertisement, GATT server with Python callbacks, notifications, reboots.

Firmware emulators subclass :class:`VirtualPeripheral` (or build one and hand it their callbacks): they
declare their GATT services with :class:`ServiceSpec` / :class:`CharacteristicSpec`, answer reads and
writes from Python, and push data with :meth:`VirtualPeripheral.notify`. The peripheral goes on the air
with :meth:`VirtualAir.add <imurehab.virtual.VirtualAir.add>`, which gives it a Bumble device and a
controller on the air's link; it advertises whenever it is not connected.

Callbacks run inside the GATT server: ``on_read`` returns the value (bytes, or an awaitable of bytes);
``on_write`` receives the bytes written. Either may raise :class:`bumble.att.ATT_Error` to answer with an
ATT error code; the client then sees :class:`bleak.exc.BleakGATTProtocolError`.

Examples
--------
>>> from imurehab.virtual import CharacteristicSpec, ServiceSpec, VirtualPeripheral
>>> battery = ServiceSpec("180F", (CharacteristicSpec("2A19", ("read", "notify"), value=bytes([87])),))
>>> sensor = VirtualPeripheral("F1:00:00:00:00:01", "IMU-1", [battery], advertised_services=["180F"])
>>> sensor.address, sensor.name, sensor.is_connected
('F1:00:00:00:00:01', 'IMU-1', False)
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bumble import gatt
from bumble.device import Connection, Device

from imurehab.errors import SimulationError
from imurehab.virtual._advertiser import Advertiser
from imurehab.virtual._bleak_gatt import uuid_key
from imurehab.virtual._tasks import LinkLost, until_lost
from imurehab.virtual.faults import FaultPlan, LinkStats
from imurehab.virtual.gatt_spec import ServiceSpec, advertising_payload, build_service

if TYPE_CHECKING:
    from imurehab.virtual.air import VirtualAir

__all__ = ["VirtualPeripheral"]

_ADDRESS = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){5}$")
#: ACL packets queued in the peripheral's host beyond which :meth:`VirtualPeripheral.notify` waits.
_SEND_QUEUE_HIGH_WATER = 128


class VirtualPeripheral:
    """A BLE peripheral on the virtual air, for firmware emulators to subclass or compose.

    Parameters
    ----------
    address : str
        Its (random static) address, ``"F1:00:00:00:00:01"``; bleak reports it in this form.
    name : str
        Complete local name in the advertisement.
    services : sequence of ServiceSpec
        Its GATT services (the generic access and generic attribute services are added by Bumble).
    advertised_services : sequence of str
        Service UUIDs listed in the advertisement.
    manufacturer_data : mapping of int to bytes or None
        Company identifier → data, advertised.
    service_data : mapping of str to bytes or None
        Service UUID → data, advertised.
    tx_power : int or None
        Advertised TX power level [dBm].
    rssi : int
        RSSI [dBm] scanners report for it.
    max_mtu : int
        Largest ATT MTU its GATT server accepts [bytes]; the central asks for 247.
    advertising_interval : float
        Seconds between advertisements (≥ 0.01); a connect waits for the next one.

    Notes
    -----
    The advertisement (:func:`~imurehab.virtual.gatt_spec.advertising_payload` of the current name,
    services and data fields, re-read by :meth:`restart_advertising`) travels in a single PDU: the
    virtual controller has no scan response, and does not hold it to 31 bytes. Override :meth:`on_connect`,
    :meth:`on_disconnect`, :meth:`on_subscription` and :meth:`on_reboot` to follow the link.
    """

    def __init__(
        self,
        address: str,
        name: str,
        services: Sequence[ServiceSpec] = (),
        *,
        advertised_services: Sequence[str] = (),
        manufacturer_data: Mapping[int, bytes] | None = None,
        service_data: Mapping[str, bytes] | None = None,
        tx_power: int | None = None,
        rssi: int = -60,
        max_mtu: int = 247,
        advertising_interval: float = 0.05,
    ) -> None:
        if not _ADDRESS.match(address.upper()):
            raise SimulationError(f"peripheral address must look like 'F1:00:00:00:00:01', got {address!r}")
        if not (0.01 <= advertising_interval <= 10.0):
            raise SimulationError(f"advertising_interval must be in [0.01, 10] s, got {advertising_interval}")
        if not (23 <= max_mtu <= 517):
            raise SimulationError(f"max_mtu must be in [23, 517] bytes, got {max_mtu}")
        self.address = address.upper()
        self.name = name
        self.advertised_services = list(advertised_services)
        self.manufacturer_data = dict(manufacturer_data or {})
        self.service_data = dict(service_data or {})
        self.tx_power = tx_power
        self.rssi = rssi
        self.max_mtu = max_mtu
        self.advertising_interval = advertising_interval
        self._services = [build_service(spec) for spec in services]
        self._characteristics = {
            uuid_key(c.uuid): c for service in self._services for c in service.characteristics
        }
        self._air: VirtualAir | None = None
        self._device: Device | None = None
        self._plan = FaultPlan()
        self._stats: LinkStats | None = None
        self._links: dict[Connection, asyncio.Future[int]] = {}
        self._subscriptions: dict[int, dict[Connection, tuple[bool, bool]]] = {}
        self._advertiser: Advertiser | None = None
        self._rebooting = False

    # --- state -------------------------------------------------------------------------------------

    @property
    def is_connected(self) -> bool:
        """Whether a central is connected."""
        return bool(self._links)

    @property
    def mtu(self) -> int | None:
        """ATT MTU of the current connection [bytes], or None when not connected."""
        return next((c.att_mtu for c in self._links), None)

    @property
    def stats(self) -> LinkStats:
        """What the air did to this peripheral: connections, notifications sent and lost, link drops, reboots.

        Still readable after the air closed.
        """
        if self._stats is None:
            raise SimulationError(f"{self.name} ({self.address}) was never on a virtual air")
        return self._stats

    def characteristic(self, uuid: str) -> gatt.Characteristic:
        """The Bumble characteristic declared with ``uuid``.

        Parameters
        ----------
        uuid : str
            16-, 32- or 128-bit UUID, as declared.

        Returns
        -------
        bumble.gatt.Characteristic
            The characteristic (its ``handle`` is set once the peripheral is on the air).
        """
        try:
            return self._characteristics[uuid_key(uuid)]
        except KeyError:
            raise SimulationError(f"{self.name} has no characteristic {uuid}") from None

    def is_subscribed(self, uuid: str) -> bool:
        """Whether a connected central has notifications or indications enabled on ``uuid``.

        Parameters
        ----------
        uuid : str
            The characteristic's UUID.

        Returns
        -------
        bool
            True when at least one subscription is active.
        """
        return bool(self._subscriptions.get(self.characteristic(uuid).handle))

    # --- hooks for emulators -----------------------------------------------------------------------

    def on_connect(self) -> None:
        """Called when a central connects. Override to react."""

    def on_disconnect(self, reason: int) -> None:
        """Called when the link goes down (explicit disconnect, drop, reboot). Override to react.

        Parameters
        ----------
        reason : int
            HCI reason code (0x08 connection timeout for a lost link, 0x13/0x16 for a disconnect).
        """

    def on_subscription(self, uuid: str, notify: bool, indicate: bool) -> None:
        """Called when a central changes a characteristic's CCCD. Override to react.

        Parameters
        ----------
        uuid : str
            The characteristic's UUID, normalised (lower case, 128-bit).
        notify, indicate : bool
            The new CCCD bits.
        """

    async def on_reboot(self) -> None:
        """Called during :meth:`reboot`, after the link dropped and before advertising resumes.

        Override to reset the emulated firmware's state (counters, buffers, clock).
        """

    # --- actions -----------------------------------------------------------------------------------

    async def notify(self, characteristic: str | gatt.Characteristic, value: bytes) -> int:
        """Send ``value`` as a notification to every central subscribed to ``characteristic``.

        Unlike Bumble, which truncates silently to MTU − 3 bytes, an oversized value is an error. The
        call waits when the peripheral's send queue is full, so a loop of ``notify`` runs at the speed
        of the virtual bus. A notification the air loses still counts as sent.

        Parameters
        ----------
        characteristic : str or bumble.gatt.Characteristic
            The characteristic (UUID or object).
        value : bytes
            At most MTU − 3 bytes.

        Returns
        -------
        int
            Number of centrals it was sent to (0 when nobody is subscribed).
        """
        device, char = self._require_device(), self._resolve(characteristic)
        sent = 0
        for connection, (notify, _) in list(self._subscriptions.get(char.handle, {}).items()):
            if not notify or connection not in self._links:
                continue
            self._check_size(connection, value)
            await device.notify_subscriber(connection, char, bytes(value))
            sent += 1
            queue = connection.data_packet_queue
            if queue is not None and queue.pending >= _SEND_QUEUE_HIGH_WATER:
                await connection.drain()
        return sent

    async def indicate(self, characteristic: str | gatt.Characteristic, value: bytes) -> int:
        """Send ``value`` as an indication to every subscribed central and wait for each confirmation.

        Parameters
        ----------
        characteristic : str or bumble.gatt.Characteristic
            The characteristic (UUID or object).
        value : bytes
            At most MTU − 3 bytes.

        Returns
        -------
        int
            Number of centrals that confirmed (a central whose link drops meanwhile does not count).
        """
        device, char = self._require_device(), self._resolve(characteristic)
        confirmed = 0
        for connection, (_, indicate) in list(self._subscriptions.get(char.handle, {}).items()):
            lost = self._links.get(connection)
            if not indicate or lost is None:
                continue
            self._check_size(connection, value)
            try:
                await until_lost(device.indicate_subscriber(connection, char, bytes(value)), lost)
            except LinkLost:
                continue
            confirmed += 1
        return confirmed

    async def disconnect(self) -> int:
        """Close the link from the peripheral's side, politely (the central sees HCI reason 0x13).

        Returns
        -------
        int
            Number of links closed (0 when not connected).
        """
        links = list(self._links.items())
        for connection, lost in links:
            await self._run_hci(self._terminate(connection, lost), "disconnect")
        return len(links)

    def drop_link(self) -> int:
        """Drop the link now, as if the radio lost it (both sides see HCI reason 0x08).

        Returns
        -------
        int
            Number of links dropped (0 when not connected).
        """
        return self._require_air().drop_link(self.address)

    async def reboot(self, downtime: float | None = None) -> None:
        """Reboot: the link drops, :meth:`on_reboot` runs, then the peripheral advertises again.

        Parameters
        ----------
        downtime : float or None
            Seconds off the air; None uses the fault plan's ``reboot_downtime``.
        """
        air = self._require_air()
        if self._rebooting:
            raise SimulationError(f"{self.name} is already rebooting")
        self._rebooting = True
        try:
            await self._run_hci(self._require_advertiser().stop(), "stop advertising")
            air.drop_link(self.address)
            self.stats.reboots += 1
            await self.on_reboot()
            await asyncio.sleep(self._plan.reboot_downtime if downtime is None else downtime)
        finally:
            self._rebooting = False
        await self.restart_advertising()

    async def restart_advertising(self) -> None:
        """Advertise again with the current name and data fields (later, if connected or rebooting)."""
        await self._run_hci(self._advertise(), "advertise")

    # --- wiring (called by VirtualAir) -------------------------------------------------------------

    def _attach(self, air: VirtualAir, device: Device, plan: FaultPlan, stats: LinkStats) -> None:
        if self._air is not None:
            raise SimulationError(f"{self.name} ({self.address}) is already on a virtual air")
        self._air, self._device, self._plan, self._stats = air, device, plan, stats
        self._links.clear()
        self._subscriptions.clear()
        self._rebooting = False
        self._advertiser = Advertiser(
            device, lambda: not (self._links or self._rebooting or self._air is None)
        )
        device.gatt_server.max_mtu = self.max_mtu
        device.add_services(self._services)
        device.on(device.EVENT_CONNECTION, self._on_connection)
        device.on("characteristic_subscription", self._on_subscription)

    def _detach(self) -> None:
        self._air = None

    def _on_connection(self, connection: Connection) -> None:
        self._links[connection] = asyncio.get_running_loop().create_future()
        connection.on(
            connection.EVENT_DISCONNECTION, lambda reason: self._on_disconnection(connection, reason)
        )
        self.stats.connections += 1
        self.on_connect()

    def _on_disconnection(self, connection: Connection, reason: int) -> None:
        lost = self._links.pop(connection, None)
        if lost is not None and not lost.done():
            lost.set_result(reason)
        for subscribers in self._subscriptions.values():
            subscribers.pop(connection, None)
        if self._air is not None and not self._rebooting:
            self._air.spawn(self._advertise(), name=f"advertise {self.address}", cancellable=False)
        self.on_disconnect(reason)

    def _on_subscription(
        self, connection: Connection, characteristic: gatt.Characteristic, notify: bool, indicate: bool
    ) -> None:
        subscribers = self._subscriptions.setdefault(characteristic.handle, {})
        if notify or indicate:
            subscribers[connection] = (notify, indicate)
        else:
            subscribers.pop(connection, None)
        self.on_subscription(uuid_key(characteristic.uuid), notify, indicate)

    # --- helpers -----------------------------------------------------------------------------------

    async def _run_hci(self, commands: Coroutine[Any, Any, None], what: str) -> None:
        # HCI commands run in a task the air waits for at close: Bumble's host cannot take a command
        # cancelled in flight, so cancelling the caller must not cancel them.
        if self._air is None:
            commands.close()
            self._require_air()
        assert self._air is not None
        await asyncio.shield(self._air.spawn(commands, name=f"{what} {self.address}", cancellable=False))

    async def _advertise(self) -> None:
        if self._advertiser is not None:
            payload = advertising_payload(
                self.name, self.advertised_services, self.service_data, self.manufacturer_data, self.tx_power
            )
            await self._advertiser.start(payload, self.advertising_interval)

    @staticmethod
    async def _terminate(connection: Connection, lost: asyncio.Future[int]) -> None:
        try:
            await until_lost(connection.disconnect(), lost)
        except LinkLost:
            pass  # down either way

    def _require_air(self) -> VirtualAir:
        if self._air is None:
            raise SimulationError(f"{self.name} ({self.address}) is not on a virtual air: use VirtualAir.add")
        return self._air

    def _require_advertiser(self) -> Advertiser:
        self._require_air()
        assert self._advertiser is not None
        return self._advertiser

    def _require_device(self) -> Device:
        self._require_air()
        assert self._device is not None
        return self._device

    def _resolve(self, characteristic: str | gatt.Characteristic) -> gatt.Characteristic:
        return self.characteristic(characteristic) if isinstance(characteristic, str) else characteristic

    def _check_size(self, connection: Connection, value: bytes) -> None:
        if len(value) > connection.att_mtu - 3:
            raise SimulationError(
                f"{self.name}: a {len(value)}-byte value does not fit the ATT MTU of {connection.att_mtu} "
                f"(at most {connection.att_mtu - 3} bytes)"
            )
