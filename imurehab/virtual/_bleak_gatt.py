"""Translation from Bumble's view of advertisements and GATT databases to bleak's objects."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from bleak.assigned_numbers import CHARACTERISTIC_PROPERTIES
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.scanner import AdvertisementData
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.uuids import normalize_uuid_str
from bumble.core import UUID, AdvertisingData
from bumble.device import Advertisement
from bumble.gatt_client import ServiceProxy

_T = AdvertisingData.Type
_UUID_LISTS = {
    2: (_T.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, _T.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS),
    4: (_T.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS, _T.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS),
    16: (_T.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS, _T.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS),
}
_SERVICE_DATA = {
    2: _T.SERVICE_DATA_16_BIT_UUID,
    4: _T.SERVICE_DATA_32_BIT_UUID,
    16: _T.SERVICE_DATA_128_BIT_UUID,
}


def uuid_key(uuid: str | UUID) -> str:
    """A UUID in bleak's normalised form (lower case, 128-bit): the key peripherals and clients share.

    Parameters
    ----------
    uuid : str or bumble.core.UUID
        A 16-, 32- or 128-bit UUID.

    Returns
    -------
    str
        E.g. ``"0000180f-0000-1000-8000-00805f9b34fb"`` for ``"180F"``.
    """
    return normalize_uuid_str((uuid if isinstance(uuid, UUID) else UUID(uuid)).to_hex_str("-"))


def advertisement_data(advertisement: Advertisement, rssi: int | None) -> AdvertisementData:
    """Bleak's :class:`AdvertisementData` for one Bumble advertisement report.

    The virtual controller reports each advertisement twice (as advertisement and as "scan response"
    with the same payload, which Bumble concatenates), so repeated AD structures are merged.

    Parameters
    ----------
    advertisement : bumble.device.Advertisement
        The report.
    rssi : int or None
        RSSI to report [dBm]; None keeps the controller's value.

    Returns
    -------
    bleak.backends.scanner.AdvertisementData
        Name, manufacturer data, service data, service UUIDs, TX power, RSSI.
    """
    data = advertisement.data
    name_bytes = data.get(_T.COMPLETE_LOCAL_NAME, raw=True) or data.get(_T.SHORTENED_LOCAL_NAME, raw=True)
    manufacturer = {
        int.from_bytes(raw[:2], "little"): bytes(raw[2:])
        for raw in data.get_all(_T.MANUFACTURER_SPECIFIC_DATA, raw=True)
        if len(raw) >= 2
    }
    service_data = {
        uuid_key(UUID.from_bytes(raw[:size])): bytes(raw[size:])
        for size, kind in _SERVICE_DATA.items()
        for raw in data.get_all(kind, raw=True)
        if len(raw) >= size
    }
    uuids: dict[str, None] = {}
    for size, kinds in _UUID_LISTS.items():
        for kind in kinds:
            for raw in data.get_all(kind, raw=True):
                for offset in range(0, len(raw) - size + 1, size):
                    uuids[uuid_key(UUID.from_bytes(raw[offset : offset + size]))] = None
    tx_power_bytes = data.get(_T.TX_POWER_LEVEL, raw=True)
    return AdvertisementData(
        local_name=name_bytes.decode("utf-8", errors="replace") if name_bytes is not None else None,
        manufacturer_data=manufacturer,
        service_data=service_data,
        service_uuids=list(uuids),
        tx_power=int.from_bytes(tx_power_bytes[:1], "little", signed=True) if tx_power_bytes else None,
        rssi=advertisement.rssi if rssi is None else rssi,
        platform_data=(advertisement,),
    )


def service_collection(
    services: Sequence[ServiceProxy],
    max_write_without_response_size: Callable[[], int],
    wanted: Collection[str] | None = None,
) -> BleakGATTServiceCollection:
    """Bleak's service collection for a discovered Bumble GATT database.

    Parameters
    ----------
    services : sequence of bumble.gatt_client.ServiceProxy
        Discovered services, with characteristics and descriptors discovered.
    max_write_without_response_size : callable
        Returns the current largest write-without-response payload [bytes] (MTU − 3).
    wanted : collection of str or None
        Normalised service UUIDs to keep (bleak's ``services`` argument); None keeps all.

    Returns
    -------
    bleak.backends.service.BleakGATTServiceCollection
        Services, characteristics and descriptors; each object's ``obj`` is the Bumble proxy.
    """
    collection = BleakGATTServiceCollection()
    for service in services:
        service_uuid = uuid_key(service.uuid)
        if wanted is not None and service_uuid not in wanted:
            continue
        bleak_service = BleakGATTService(service, service.handle, service_uuid)
        collection.add_service(bleak_service)
        for characteristic in service.characteristics:
            properties = [
                name for bit, name in CHARACTERISTIC_PROPERTIES.items() if characteristic.properties & bit
            ]
            bleak_characteristic = BleakGATTCharacteristic(
                characteristic,
                characteristic.handle,
                uuid_key(characteristic.uuid),
                properties,
                max_write_without_response_size,
                bleak_service,
            )
            collection.add_characteristic(bleak_characteristic)
            for descriptor in characteristic.descriptors:
                collection.add_descriptor(
                    BleakGATTDescriptor(
                        descriptor, descriptor.handle, uuid_key(descriptor.type), bleak_characteristic
                    )
                )
    return collection
