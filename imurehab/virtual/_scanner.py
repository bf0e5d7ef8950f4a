"""The bleak scanner backend of the virtual air (re-exported by :mod:`imurehab.virtual.bumble_backend`)."""

from __future__ import annotations

from typing import Any

from bleak.backends.scanner import AdvertisementDataCallback, BaseBleakScanner
from bumble.device import Advertisement

from imurehab.virtual._bleak_gatt import advertisement_data
from imurehab.virtual.air import current_air

__all__ = ["VirtualBleakScanner"]


class VirtualBleakScanner(BaseBleakScanner):
    """bleak scanner backend listening on the current virtual air.

    Parameters
    ----------
    detection_callback : callable or None
        As for :class:`bleak.BleakScanner`.
    service_uuids : list of str or None
        As for :class:`bleak.BleakScanner`: keep only advertisements listing one of them.
    scanning_mode : str
        Accepted and ignored: virtual scanning sees every advertisement either way.
    **kwargs
        Platform arguments bleak passes (``bluez``, ``cb``, ...), ignored.
    """

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None = None,
        service_uuids: list[str] | None = None,
        scanning_mode: str = "active",
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._air = current_air()
        self._scanning = False

    async def start(self) -> None:
        """Start receiving advertisements (clears what was seen before)."""
        self.seen_devices = {}
        if not self._scanning:
            await self._air.central.add_scan_listener(self._on_advertisement)
            self._scanning = True

    async def stop(self) -> None:
        """Stop receiving advertisements."""
        if self._scanning:
            self._scanning = False
            if self._air.is_open:
                await self._air.central.remove_scan_listener(self._on_advertisement)

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        address = advertisement.address.to_string(with_type_qualifier=False)
        peripheral = self._air.find(address)
        advertised = advertisement_data(advertisement, None if peripheral is None else peripheral.rssi)
        if not self.is_allowed_uuid(advertised.service_uuids):
            return
        device = self.create_or_update_device(
            address, address, advertised.local_name, advertisement.address, advertised
        )
        self.call_detection_callbacks(device, advertised)
