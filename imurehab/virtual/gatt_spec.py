"""Declaring what a virtual peripheral exposes: GATT services with Python callbacks, and its advertisement.

:class:`ServiceSpec` and :class:`CharacteristicSpec` describe a GATT server in bleak's terms (property
names as bleak reports them); :func:`build_service` turns one into Bumble objects whose reads and writes
call the spec's callbacks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from bumble import data_types, gatt
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection

from imurehab.errors import SimulationError

__all__ = ["CharacteristicSpec", "ServiceSpec", "advertising_payload", "build_service"]

ReadCallback = Callable[[], bytes | Awaitable[bytes]]
WriteCallback = Callable[[bytes], Awaitable[None] | None]

_PROPERTIES = {
    "broadcast": gatt.Characteristic.Properties.BROADCAST,
    "read": gatt.Characteristic.Properties.READ,
    "write-without-response": gatt.Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
    "write": gatt.Characteristic.Properties.WRITE,
    "notify": gatt.Characteristic.Properties.NOTIFY,
    "indicate": gatt.Characteristic.Properties.INDICATE,
}


@dataclass(frozen=True)
class CharacteristicSpec:
    """One characteristic of a virtual GATT server.

    Parameters
    ----------
    uuid : str
        16-, 32- or 128-bit UUID.
    properties : tuple of str
        bleak's property names: ``"read"``, ``"write"``, ``"write-without-response"``, ``"notify"``,
        ``"indicate"``, ``"broadcast"``. A notify/indicate characteristic gets its CCCD automatically.
    value : bytes
        Initial value; reads return the last value written when there is no ``on_read``.
    on_read : callable or None
        ``on_read() -> bytes`` (or an awaitable of bytes), called for each read request.
    on_write : callable or None
        ``on_write(data)`` (may be a coroutine function), called for each write, with or without response.
    """

    uuid: str
    properties: tuple[str, ...] = ("read",)
    value: bytes = b""
    on_read: ReadCallback | None = None
    on_write: WriteCallback | None = None

    def __post_init__(self) -> None:
        unknown = sorted(set(self.properties) - set(_PROPERTIES))
        if unknown or not self.properties:
            raise SimulationError(f"characteristic {self.uuid}: unknown or no properties {unknown}")


@dataclass(frozen=True)
class ServiceSpec:
    """One primary service of a virtual GATT server.

    Parameters
    ----------
    uuid : str
        16-, 32- or 128-bit UUID.
    characteristics : tuple of CharacteristicSpec
        Its characteristics, in handle order.
    """

    uuid: str
    characteristics: tuple[CharacteristicSpec, ...] = ()


class _StoredValue:
    """A characteristic's value as the GATT server sees it: the last write, or the callbacks."""

    def __init__(self, spec: CharacteristicSpec) -> None:
        self.spec = spec
        self.current = bytes(spec.value)

    def read(self, connection: Connection) -> bytes | Awaitable[bytes]:
        del connection
        return self.spec.on_read() if self.spec.on_read is not None else self.current

    def write(self, connection: Connection, value: bytes) -> Awaitable[None] | None:
        del connection
        self.current = bytes(value)
        return self.spec.on_write(self.current) if self.spec.on_write is not None else None


def build_service(spec: ServiceSpec) -> gatt.Service:
    """The Bumble service (with characteristics wired to the spec's callbacks) for ``spec``.

    Parameters
    ----------
    spec : ServiceSpec
        The declared service.

    Returns
    -------
    bumble.gatt.Service
        A service to add to a Bumble device.
    """
    return gatt.Service(spec.uuid, [_build_characteristic(c) for c in spec.characteristics])


def _build_characteristic(spec: CharacteristicSpec) -> gatt.Characteristic:
    flags = gatt.Characteristic.Properties(0)
    for name in spec.properties:
        flags |= _PROPERTIES[name]
    permissions = gatt.Characteristic.Permissions(0)
    if "read" in spec.properties:
        permissions |= gatt.Characteristic.Permissions.READABLE
    if {"write", "write-without-response"} & set(spec.properties):
        permissions |= gatt.Characteristic.Permissions.WRITEABLE
    stored = _StoredValue(spec)
    return gatt.Characteristic(
        spec.uuid, flags, permissions, gatt.CharacteristicValue(read=stored.read, write=stored.write)
    )


def advertising_payload(
    name: str,
    service_uuids: Sequence[str] = (),
    service_data: Mapping[str, bytes] | None = None,
    manufacturer_data: Mapping[int, bytes] | None = None,
    tx_power: int | None = None,
) -> bytes:
    """An advertisement payload: flags, complete local name, service UUID lists and data, TX power.

    Parameters
    ----------
    name : str
        Complete local name.
    service_uuids : sequence of str
        Service UUIDs (16-, 32- or 128-bit), listed by size.
    service_data : mapping of str to bytes or None
        Service UUID → data.
    manufacturer_data : mapping of int to bytes or None
        Company identifier → data.
    tx_power : int or None
        TX power level [dBm].

    Returns
    -------
    bytes
        The AD structures.

    Examples
    --------
    >>> advertising_payload("IMU-1", ["180F"]).hex()
    '020106060949...'
    """
    structures: list[object] = [
        data_types.Flags(
            AdvertisingData.Flags.LE_GENERAL_DISCOVERABLE_MODE | AdvertisingData.Flags.BR_EDR_NOT_SUPPORTED
        ),
        data_types.CompleteLocalName(name),
    ]
    uuids = [UUID(u) for u in service_uuids]
    for size, kind in (
        (2, data_types.CompleteListOf16BitServiceUUIDs),
        (4, data_types.CompleteListOf32BitServiceUUIDs),
        (16, data_types.CompleteListOf128BitServiceUUIDs),
    ):
        if sized := [u for u in uuids if len(u.uuid_bytes) == size]:
            structures.append(kind(sized))
    data_kinds = {2: data_types.ServiceData16BitUUID, 4: data_types.ServiceData32BitUUID}
    for uuid, data in (service_data or {}).items():
        service = UUID(uuid)
        structures.append(
            data_kinds.get(len(service.uuid_bytes), data_types.ServiceData128BitUUID)(service, data)
        )
    for company, data in (manufacturer_data or {}).items():
        structures.append(data_types.ManufacturerSpecificData(company, bytes(data)))
    if tx_power is not None:
        structures.append(data_types.TxPowerLevel(tx_power))
    return bytes(AdvertisingData(structures))  # type: ignore[arg-type]
