"""The virtual air: one Bumble LocalLink carrying a central and the virtual peripherals, with faults.

``async with VirtualAir(seed=...) as air`` powers up a central (the laptop's adapter) and makes the air
current in the running context, so the bleak backend classes
(:class:`~imurehab.virtual.VirtualBleakScanner`, :class:`~imurehab.virtual.VirtualBleakClient`) find it
without being told: production code only ever receives the backend classes. Peripherals join with
:meth:`VirtualAir.add`, each with its own :class:`~imurehab.virtual.FaultPlan`.

Every controller on the air gets an LE ACL buffer of 251 bytes (Bumble's default of 27 bytes splits a
247-byte ATT PDU into ten HCI packets; 251 carries it whole, ~4x the notification throughput).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine, Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass
from types import MappingProxyType, TracebackType
from typing import Any, TypeVar

from bumble import hci
from bumble.device import Device, DeviceConfiguration
from bumble.host import Host
from bumble.transport.common import AsyncPipeSink

from imurehab.errors import SimulationError
from imurehab.virtual._central import Central
from imurehab.virtual._radio import AirController, AirLink, Airtime, Radio
from imurehab.virtual._tasks import BackgroundTasks
from imurehab.virtual.faults import FaultPlan, LinkStats, LossModel
from imurehab.virtual.peripheral import VirtualPeripheral

__all__ = ["VirtualAir", "current_air"]

_T = TypeVar("_T")

_CURRENT_AIR: ContextVar[VirtualAir | None] = ContextVar("imurehab_virtual_air", default=None)

#: HCI reason both sides of a lost radio link report.
LINK_LOST = hci.HCI_ErrorCode.CONNECTION_TIMEOUT_ERROR


def current_air() -> VirtualAir:
    """The virtual air open in the running context (entered with ``async with VirtualAir()``).

    Returns
    -------
    VirtualAir
        The air.

    Raises
    ------
    imurehab.errors.SimulationError
        If no virtual air is open.
    """
    air = _CURRENT_AIR.get()
    if air is None or not air.is_open:
        raise SimulationError("no virtual air is open here: run inside 'async with VirtualAir() as air:'")
    return air


@dataclass
class _Slot:
    peripheral: VirtualPeripheral
    controller: AirController
    device: Device
    loss: LossModel


class VirtualAir:
    """A virtual radio environment: a central, virtual peripherals and the faults between them.

    Parameters
    ----------
    seed : int
        Seed of every random fault (notification loss); the same seed loses the same notifications.
    acl_packet_length : int
        LE ACL data packet length of every virtual controller [bytes] (27 to 251).
    mtu : int
        ATT MTU the bleak client asks for at connection [bytes].
    central_address : str
        Address of the central.
    airtime : Airtime, optional
        Give the radio time on air, shared by all connections of the central (see
        :class:`~imurehab.virtual.Airtime`). Default None: packets go as fast as this process runs them.

    Examples
    --------
    >>> import asyncio
    >>> from bleak import BleakScanner
    >>> from imurehab.virtual import VirtualAir, VirtualBleakScanner, VirtualPeripheral
    >>> async def scan():
    ...     async with VirtualAir(seed=1) as air:
    ...         await air.add(VirtualPeripheral("F1:00:00:00:00:01", "IMU-1"))
    ...         device = await BleakScanner.find_device_by_name("IMU-1", backend=VirtualBleakScanner)
    ...         return device.address
    >>> asyncio.run(scan())
    'F1:00:00:00:00:01'
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        acl_packet_length: int = 251,
        mtu: int = 247,
        central_address: str = "C0:00:00:00:00:01",
        airtime: Airtime | None = None,
    ) -> None:
        if not (27 <= acl_packet_length <= 251):
            raise SimulationError(f"acl_packet_length must be in [27, 251] bytes, got {acl_packet_length}")
        if not (23 <= mtu <= 517):
            raise SimulationError(f"mtu must be in [23, 517] bytes, got {mtu}")
        self.seed = seed
        self.acl_packet_length = acl_packet_length
        self.mtu = mtu
        self.central_address = central_address.upper()
        self.airtime = airtime
        self._radio: Radio | None = None
        self._link: AirLink | None = None
        self._central: Central | None = None
        self._central_controller: AirController | None = None
        self._slots: dict[str, _Slot] = {}
        self._timers: list[asyncio.TimerHandle] = []
        self._tasks = BackgroundTasks()
        self._t0 = 0.0
        self._token: Token[VirtualAir | None] | None = None

    # --- lifecycle ---------------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        """Whether the air is entered and not yet closed."""
        return self._central is not None

    async def __aenter__(self) -> VirtualAir:
        if self.is_open:
            raise SimulationError("this virtual air is already open")
        self._link = AirLink()
        self._central_controller = self._new_controller("central")
        central = Central(
            self._new_device("imurehab central", self.central_address, self._central_controller)
        )
        await central.power_on()
        self._central = central
        self._t0 = asyncio.get_running_loop().time()
        self._token = _CURRENT_AIR.set(self)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._token is not None:
            try:
                _CURRENT_AIR.reset(self._token)
            except ValueError:  # closed from another context than the one that entered it
                _CURRENT_AIR.set(None)
            self._token = None
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        for slot in self._slots.values():
            slot.peripheral._detach()
            slot.controller.drop_le_connections(
                hci.HCI_ErrorCode.REMOTE_DEVICE_TERMINATED_CONNECTION_DUE_TO_POWER_OFF_ERROR
            )
        # Let the disconnections reach the hosts, so clients fail their pending operations promptly.
        for _ in range(3):
            await asyncio.sleep(0)
        await self._tasks.close()
        central, self._central = self._central, None
        controllers = [slot.controller for slot in self._slots.values()]
        if central is not None:
            await central.power_off()
        for slot in self._slots.values():
            await slot.device.power_off()
        if self._central_controller is not None:
            controllers.append(self._central_controller)
        for controller in controllers:
            controller.silence()
            if self._link is not None:
                self._link.remove_controller(controller)
        self._slots.clear()

    # --- the air's parts ---------------------------------------------------------------------------

    @property
    def central(self) -> Central:
        """The central (the bleak backends' adapter)."""
        self._require_open()
        assert self._central is not None
        return self._central

    @property
    def time(self) -> float:
        """Air time: seconds since the air was entered (fault plans count in it)."""
        return asyncio.get_running_loop().time() - self._t0

    @property
    def peripherals(self) -> Mapping[str, VirtualPeripheral]:
        """The peripherals on the air, by address (upper case)."""
        return MappingProxyType({address: slot.peripheral for address, slot in self._slots.items()})

    def find(self, address: str) -> VirtualPeripheral | None:
        """The peripheral at ``address``, or None.

        Parameters
        ----------
        address : str
            Address in any case.

        Returns
        -------
        VirtualPeripheral or None
            The peripheral.
        """
        slot = self._slots.get(address.upper())
        return None if slot is None else slot.peripheral

    def stats(self, address: str) -> LinkStats:
        """What the air did to the peripheral at ``address``: notifications sent and lost, drops, reboots.

        Parameters
        ----------
        address : str
            The peripheral's address.

        Returns
        -------
        LinkStats
            The live record (it keeps counting).
        """
        return self._slot(address).loss.stats

    async def add(self, peripheral: VirtualPeripheral, faults: FaultPlan | None = None) -> VirtualPeripheral:
        """Put ``peripheral`` on the air: power it up, start advertising, schedule its faults.

        Parameters
        ----------
        peripheral : VirtualPeripheral
            The peripheral (not on another air).
        faults : FaultPlan or None
            Its faults; None for a perfect link.

        Returns
        -------
        VirtualPeripheral
            ``peripheral``, for chaining.
        """
        self._require_open()
        address = peripheral.address
        if address in self._slots or address == self.central_address:
            raise SimulationError(f"address {address} is already on the virtual air")
        plan = faults or FaultPlan()
        controller = self._new_controller(f"peripheral {address}")
        device = self._new_device(peripheral.name, address, controller)
        slot = _Slot(peripheral, controller, device, LossModel(plan, self.seed, address))
        peripheral._attach(self, device, plan, slot.loss.stats)
        self._slots[address] = slot
        assert self._link is not None
        self._link.set_notification_filter(controller, functools.partial(self._pass_notification, slot))
        await device.power_on()
        await peripheral.restart_advertising()
        self._schedule(slot)
        return peripheral

    def spawn(
        self, coroutine: Coroutine[Any, Any, _T], *, name: str, cancellable: bool = True
    ) -> asyncio.Task[_T]:
        """Run ``coroutine`` as a task the air owns: ended when the air closes, failures logged.

        Firmware emulators use it for their streaming loops.

        Parameters
        ----------
        coroutine : coroutine
            What to run.
        name : str
            Task name, for logs.
        cancellable : bool
            False for a short sequence of HCI commands: the air waits for it at close instead of
            cancelling it (Bumble's host cannot take a command cancelled in flight).

        Returns
        -------
        asyncio.Task
            The task.
        """
        return self._tasks.spawn(coroutine, name, cancellable=cancellable)

    # --- faults ------------------------------------------------------------------------------------

    def drop_link(self, address: str, reason: int = LINK_LOST) -> int:
        """Drop the peripheral's link now: both sides see a disconnection, nobody sends a terminate.

        Parameters
        ----------
        address : str
            The peripheral's address.
        reason : int
            HCI reason both hosts receive (default 0x08, connection timeout).

        Returns
        -------
        int
            Number of links dropped (0 when the peripheral was not connected).
        """
        slot = self._slot(address)
        dropped = slot.controller.drop_le_connections(reason)
        slot.loss.stats.link_drops += dropped
        return dropped

    def start_silent_loss(self, address: str, supervision_timeout: float | None = None) -> None:
        """Silence the peripheral's notifications now; the link drops a supervision timeout later.

        Requests keep being answered meanwhile (dropping one would hang Bumble's client for 30 s).

        Parameters
        ----------
        address : str
            The peripheral's address.
        supervision_timeout : float or None
            Seconds until the link drops; None uses the peripheral's fault plan.
        """
        slot = self._slot(address)
        if slot.loss.silent:
            return
        slot.loss.silent = True
        timeout = slot.loss.plan.supervision_timeout if supervision_timeout is None else supervision_timeout
        self._timers.append(asyncio.get_running_loop().call_later(timeout, self._end_silent_loss, slot))

    def _end_silent_loss(self, slot: _Slot) -> None:
        self.drop_link(slot.peripheral.address)
        slot.loss.silent = False

    def _pass_notification(
        self, slot: _Slot, handle: int, value: bytes
    ) -> tuple[bool, Callable[[], None] | None]:
        deliver, drop_link = slot.loss.on_notification(handle, value)
        return deliver, (functools.partial(self.drop_link, slot.peripheral.address) if drop_link else None)

    def _schedule(self, slot: _Slot) -> None:
        loop, plan, address = asyncio.get_running_loop(), slot.loss.plan, slot.peripheral.address
        for t in plan.link_drop_at:
            self._timers.append(loop.call_at(self._t0 + t, self.drop_link, address))
        for t in plan.silent_loss_at:
            self._timers.append(loop.call_at(self._t0 + t, self.start_silent_loss, address))
        for t in plan.reboot_at:
            self._timers.append(loop.call_at(self._t0 + t, self._start_reboot, slot))

    def _start_reboot(self, slot: _Slot) -> None:
        self.spawn(slot.peripheral.reboot(), name=f"reboot {slot.peripheral.address}")

    # --- helpers -----------------------------------------------------------------------------------

    def _slot(self, address: str) -> _Slot:
        try:
            return self._slots[address.upper()]
        except KeyError:
            raise SimulationError(f"no peripheral {address} on the virtual air") from None

    def _require_open(self) -> None:
        if self._central is None:
            raise SimulationError("the virtual air is not open: enter it with 'async with'")

    def _new_controller(self, name: str) -> AirController:
        controller = AirController(name, link=self._link)
        controller.le_acl_data_packet_length = self.acl_packet_length
        if self.airtime is not None:
            self._radio = self._radio or Radio(self.airtime)
            controller.radio = self._radio
        return controller

    @staticmethod
    def _new_device(name: str, address: str, controller: AirController) -> Device:
        config = DeviceConfiguration(name=name, address=hci.Address(address))
        return Device(config=config, host=Host(controller, AsyncPipeSink(controller)))
