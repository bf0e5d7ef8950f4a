"""Advertising control of a virtual peripheral's Bumble device, one change at a time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bumble.device import AdvertisingType, Device


class Advertiser:
    """Starts and stops a device's connectable advertising; a start only happens while it is wanted.

    Parameters
    ----------
    device : bumble.device.Device
        The peripheral's device, powered on.
    wanted : callable
        Returns whether the peripheral should advertise now (not connected, not rebooting, on the air);
        checked under the same lock as the changes, so a start never races a stop.
    """

    def __init__(self, device: Device, wanted: Callable[[], bool]) -> None:
        self._device = device
        self._wanted = wanted
        self._lock = asyncio.Lock()

    async def start(self, payload: bytes, interval_s: float) -> None:
        """(Re)start advertising ``payload`` every ``interval_s`` seconds, if still wanted.

        Parameters
        ----------
        payload : bytes
            The advertisement's AD structures.
        interval_s : float
            Advertising interval [s].
        """
        async with self._lock:
            if not self._wanted():
                return
            await self._device.start_advertising(
                advertising_type=AdvertisingType.UNDIRECTED_CONNECTABLE_SCANNABLE,
                advertising_data=payload,
                scan_response_data=b"",
                advertising_interval_min=interval_s * 1000.0,
                advertising_interval_max=interval_s * 1000.0,
            )

    async def stop(self) -> None:
        """Stop advertising."""
        async with self._lock:
            await self._device.stop_advertising()
