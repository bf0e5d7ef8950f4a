"""Finding sensors: scan, tell each device's family from its advertisement, find given addresses.

A family is recognised without connecting, from the service UUIDs a device advertises, matched against
the GATT service UUIDs of every family's ``profile.toml`` (``[gatt] service``, ``[uuid] service`` or the
Movella DOT template), and from its advertised name when a profile lists name prefixes
(``[advertising] names``). The battery level is read from the standard Battery Service's service data
(0x180F) when a device advertises it.

Examples
--------
>>> identify_family(["c47f0001-6f3d-4840-b4e8-1efca359db78"], "IMU-1")
'osp'
>>> identify_family(["0000180f-0000-1000-8000-00805f9b34fb"], None) is None
True
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Final

from bleak import BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner

from imurehab.protocols import FAMILY_MODULES, load_profile

__all__ = [
    "DiscoveredDevice",
    "discover",
    "family_signatures",
    "find_devices",
    "find_families",
    "identify_family",
]

_BATTERY_SERVICE: Final = "0000180f-0000-1000-8000-00805f9b34fb"
_BASE_UUID: Final = "-0000-1000-8000-00805f9b34fb"


def _full_uuid(uuid: str) -> str:
    u = uuid.strip().lower()
    if len(u) == 4:
        return f"0000{u}{_BASE_UUID}"
    if len(u) == 8:
        return f"{u}{_BASE_UUID}"
    return u


def _profile_services(profile: Mapping[str, Any]) -> set[str]:
    services = set()
    for table in ("gatt", "uuid"):
        section = profile.get(table, {})
        if isinstance(section.get("service"), str):
            services.add(_full_uuid(section["service"]))
        template, named = section.get("template"), section.get("services")
        if isinstance(template, str) and isinstance(named, Mapping):
            services |= {_full_uuid(template.format(short=short)) for short in named.values()}
    return services


@cache
def family_signatures() -> dict[str, tuple[frozenset[str], tuple[str, ...]]]:
    """Family → (service UUIDs, advertised-name prefixes), from every family's profile.

    Returns
    -------
    dict
        Lower-case 128-bit UUIDs and name prefixes per family name.
    """
    out = {}
    for family in sorted(FAMILY_MODULES):
        profile = load_profile(family)
        names = tuple(profile.get("advertising", {}).get("names", ()))
        out[family] = (frozenset(_profile_services(profile)), names)
    return out


def identify_family(service_uuids: Iterable[str], name: str | None) -> str | None:
    """The family a device belongs to, from its advertised service UUIDs and name (None if unknown).

    Parameters
    ----------
    service_uuids : iterable of str
        Advertised service UUIDs (16- or 128-bit).
    name : str or None
        Advertised local name.
    """
    advertised = {_full_uuid(u) for u in service_uuids}
    for family, (services, names) in family_signatures().items():
        if advertised & services or (name and any(name.startswith(p) for p in names)):
            return family
    return None


@dataclass(frozen=True)
class DiscoveredDevice:
    """A device seen while scanning.

    Attributes
    ----------
    address : str
        Its address (as the platform reports it; a UUID on macOS).
    name : str or None
        Advertised name.
    rssi : int or None
        Signal strength of the last advertisement [dBm].
    family : str or None
        Protocol family recognised (``"osp"``, ``"polar-pmd"``, ...), None if none.
    battery_percent : int or None
        Battery level from the Battery Service data in the advertisement [%], when advertised.
    service_uuids : tuple of str
        Advertised service UUIDs.
    """

    address: str
    name: str | None
    rssi: int | None
    family: str | None
    battery_percent: int | None
    service_uuids: tuple[str, ...]


def _described(device: BLEDevice, adv: AdvertisementData) -> DiscoveredDevice:
    name = adv.local_name or device.name
    battery = next((v for k, v in adv.service_data.items() if _full_uuid(k) == _BATTERY_SERVICE), None)
    return DiscoveredDevice(
        address=device.address,
        name=name,
        rssi=adv.rssi,
        family=identify_family(adv.service_uuids, name),
        battery_percent=battery[0] if battery else None,
        service_uuids=tuple(adv.service_uuids),
    )


async def discover(
    *, scanner_backend: type[BaseBleakScanner] | None = None, timeout: float = 5.0
) -> list[DiscoveredDevice]:
    """Scan for ``timeout`` seconds and describe every device seen, strongest signal first.

    Parameters
    ----------
    scanner_backend : type or None
        bleak scanner backend class (None: the platform's).
    timeout : float
        Scan duration [s].

    Returns
    -------
    list of DiscoveredDevice
        Recognised families first, then by RSSI (strongest first).
    """
    seen = await BleakScanner.discover(timeout, return_adv=True, backend=scanner_backend)
    found = [_described(device, adv) for device, adv in seen.values()]
    return sorted(
        found, key=lambda d: (d.family is None, -(d.rssi if d.rssi is not None else -999), d.address)
    )


async def _scan_for(
    addresses: Sequence[str], scanner_backend: type[BaseBleakScanner] | None, timeout: float
) -> dict[str, tuple[BLEDevice, AdvertisementData] | None]:
    """Scan until every address was seen, or ``timeout``: each address as given → what advertised."""
    wanted = {a.upper(): a for a in addresses}
    found: dict[str, tuple[BLEDevice, AdvertisementData] | None] = dict.fromkeys(addresses)
    complete = asyncio.Event()

    def on_advertisement(device: BLEDevice, adv: AdvertisementData) -> None:
        given = wanted.get(device.address.upper())
        if given is not None and found[given] is None:
            found[given] = (device, adv)
            if all(v is not None for v in found.values()):
                complete.set()

    if not addresses:
        return found
    async with BleakScanner(on_advertisement, backend=scanner_backend):
        try:
            await asyncio.wait_for(complete.wait(), timeout)
        except TimeoutError:
            pass
    return found


async def find_devices(
    addresses: Sequence[str], *, scanner_backend: type[BaseBleakScanner] | None = None, timeout: float = 10.0
) -> dict[str, BLEDevice | None]:
    """Scan until every address was seen, or ``timeout``.

    Parameters
    ----------
    addresses : sequence of str
        Addresses wanted (any case).
    scanner_backend : type or None
        bleak scanner backend class (None: the platform's).
    timeout : float
        Longest scan [s].

    Returns
    -------
    dict
        Each address as given → its :class:`~bleak.backends.device.BLEDevice`, or None if not seen.
    """
    seen = await _scan_for(addresses, scanner_backend, timeout)
    return {a: None if v is None else v[0] for a, v in seen.items()}


async def find_families(
    addresses: Sequence[str], *, scanner_backend: type[BaseBleakScanner] | None = None, timeout: float = 10.0
) -> dict[str, str | None]:
    """Scan until every address was seen, or ``timeout``, and tell each one's family from its advertisement.

    Parameters
    ----------
    addresses : sequence of str
        Addresses wanted (any case).
    scanner_backend : type or None
        bleak scanner backend class (None: the platform's).
    timeout : float
        Longest scan [s].

    Returns
    -------
    dict
        Each address as given → its family (see :func:`identify_family`), or None if not seen or not
        recognised.
    """
    seen = await _scan_for(addresses, scanner_backend, timeout)
    return {a: None if v is None else _described(*v).family for a, v in seen.items()}
