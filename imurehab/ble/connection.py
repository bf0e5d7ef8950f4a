"""One device's BLE link on bleak: connect with retries and backoff, serialised per adapter, resubscribe.

A :class:`Link` owns a :class:`bleak.BleakClient` for one address (a new client per connection, so a
dropped link leaves no state behind). :meth:`Link.connect` retries failed attempts with exponential
backoff and jitter; connects of every link on one adapter (one bleak backend in one event loop) go one
at a time, as controllers accept a single pending LE connection. Subscriptions are remembered and
re-enabled after every reconnect. bleak's failures are translated into :class:`~imurehab.errors.BleError`
with a ``reason`` a caller can act on.

Examples
--------
>>> RetryPolicy().backoff_s(0), RetryPolicy().backoff_s(10)
(0.25, 8.0)
"""

from __future__ import annotations

import asyncio
import logging
import random
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bleak import BleakClient
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.exc import (
    BleakCharacteristicNotFoundError,
    BleakDeviceNotFoundError,
    BleakError,
    BleakGATTProtocolError,
)

from imurehab.errors import BleError

__all__ = ["Link", "NotificationCallback", "RetryPolicy", "connect_gate"]

logger = logging.getLogger(__name__)

NotificationCallback = Callable[[bytes], None]
"""Called with each notified or indicated value (already a ``bytes`` copy)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard the ingest tries before it reports a device as failed. Times in seconds.

    Attributes
    ----------
    connect_attempts : int
        Failed connects in a row before giving up (``unreachable``).
    backoff_initial_s, backoff_max_s : float
        Wait after the first failed connect, doubling up to the maximum [s] (±25 % jitter).
    connect_timeout_s : float
        One connect attempt [s].
    response_timeout_s : float
        Wait for a command's RESPONSE [s].
    idle_timeout_s : float
        A READ with neither a CHUNK nor its END for this long is abandoned [s].
    stall_timeout_s : float
        A device that brings no new verified log byte for this long, across READs and reconnects, is
        reported ``stalled`` [s] (READs that bring nothing are retried with backoff meanwhile).
    max_reconnects : int
        Link drops survived per device and run before giving up (``disconnected``).
    scan_timeout_s : float
        How long a scan looks for the addresses asked for [s].
    clock_round_trips : int
        CLOCK_SYNC round trips per burst.
    clock_span_s, clock_span_fraction, clock_span_max_s : float
        How long a sync measures a device's clock (its first to last round trip): at least
        ``clock_span_s`` [s], and ``clock_span_fraction`` of how far back the oldest sample of the boot
        lies, up to ``clock_span_max_s`` [s]. The drift is known to about the round trips' scatter over
        this span, and a drift error of δ ppm misplaces a sample logged D seconds before the sync by
        δ·D µs: the span grows with D to keep that error in bounds (see :meth:`clock_span_for`).
    """

    connect_attempts: int = 6
    backoff_initial_s: float = 0.25
    backoff_max_s: float = 8.0
    connect_timeout_s: float = 20.0
    response_timeout_s: float = 10.0
    idle_timeout_s: float = 5.0
    stall_timeout_s: float = 30.0
    max_reconnects: int = 50
    scan_timeout_s: float = 10.0
    clock_round_trips: int = 12
    clock_span_s: float = 2.0
    clock_span_fraction: float = 1 / 30
    clock_span_max_s: float = 60.0

    def backoff_s(self, failures: int, rng: random.Random | None = None) -> float:
        """Wait before the next connect after ``failures + 1`` failures in a row [s].

        Parameters
        ----------
        failures : int
            Failures before the last one (0 after the first failure).
        rng : random.Random, optional
            Source of jitter; None gives the wait without jitter.
        """
        wait = min(self.backoff_max_s, self.backoff_initial_s * 2.0**failures)
        return wait if rng is None else wait * rng.uniform(0.75, 1.25)

    def clock_span_for(self, reach_s: float) -> float:
        """How long to measure a clock whose oldest sample to place lies ``reach_s`` seconds back [s].

        Parameters
        ----------
        reach_s : float
            Device time from the boot's oldest logged sample to now [s].

        Examples
        --------
        >>> p = RetryPolicy()
        >>> p.clock_span_for(30), round(p.clock_span_for(601), 2), p.clock_span_for(86_400)
        (2.0, 20.03, 60.0)
        """
        return min(self.clock_span_max_s, max(self.clock_span_s, reach_s * self.clock_span_fraction))


_GATES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Any, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def connect_gate(backend: type[BaseBleakClient] | None) -> asyncio.Lock:
    """The lock serialising connects on one adapter: one per bleak client backend and event loop.

    Parameters
    ----------
    backend : type or None
        The bleak client backend class (None: the platform's).
    """
    gates = _GATES.setdefault(asyncio.get_running_loop(), {})
    return gates.setdefault(backend, asyncio.Lock())


class Link:
    """A device's connection: connect/reconnect with backoff, remembered subscriptions, bleak errors mapped.

    Parameters
    ----------
    device : BLEDevice or str
        The device (from a scan) or its address.
    backend : type or None
        bleak client backend class (None: the platform's).
    policy : RetryPolicy
        Retry limits and timeouts.
    on_lost : callable, optional
        Called (no argument) whenever an established link drops.

    Attributes
    ----------
    connects : int
        Successful connects so far (reconnects = connects − 1).
    lost : asyncio.Event
        Set while the link is down (from a drop until the next connect).
    """

    def __init__(
        self,
        device: BLEDevice | str,
        *,
        backend: type[BaseBleakClient] | None,
        policy: RetryPolicy,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        self.device = device
        self.address = device if isinstance(device, str) else device.address
        self.backend = backend
        self.policy = policy
        self.on_lost = on_lost
        self.connects = 0
        self.lost = asyncio.Event()
        self.lost.set()
        self._client: BleakClient | None = None
        self._subscriptions: dict[str, NotificationCallback] = {}
        self._rng = random.Random(self.address)

    @property
    def is_connected(self) -> bool:
        """Whether the link is up."""
        return self._client is not None and self._client.is_connected and not self.lost.is_set()

    @property
    def mtu(self) -> int:
        """The negotiated ATT MTU [bytes] (23 before a connect)."""
        return self._client.mtu_size if self._client is not None else 23

    @property
    def service_uuids(self) -> list[str]:
        """128-bit UUIDs (lower case) of the GATT services found at the last connect."""
        if self._client is None:
            return []
        return [service.uuid.lower() for service in self._client.services]

    async def connect(self) -> None:
        """Connect (no-op when connected), retrying with backoff, then re-enable the subscriptions.

        Raises
        ------
        BleError
            ``not-found`` when a device never connected is not there at all; ``unreachable`` after
            ``policy.connect_attempts`` failures in a row.
        """
        failures = 0
        while not self.is_connected:
            try:
                await self._connect_once()
            except (BleError, BleakError, TimeoutError, OSError) as err:
                if isinstance(err, BleError) and err.reason not in ("disconnected", "timeout"):
                    await self._drop_client()
                    raise
                await self._drop_client()
                if isinstance(err, BleakDeviceNotFoundError) and self.connects == 0:
                    raise BleError(
                        "no such device is advertising", address=self.address, reason="not-found"
                    ) from None
                failures += 1
                if failures >= self.policy.connect_attempts:
                    raise BleError(
                        f"could not connect after {failures} attempts ({_describe(err)})",
                        address=self.address,
                        reason="unreachable",
                    ) from None
                wait = self.policy.backoff_s(failures - 1, self._rng)
                logger.info(
                    "connect to %s failed (%s); retrying in %.2f s", self.address, _describe(err), wait
                )
                await asyncio.sleep(wait)

    async def _connect_once(self) -> None:
        async with connect_gate(self.backend):
            client = BleakClient(
                self.device,
                disconnected_callback=self._on_disconnect,
                timeout=self.policy.connect_timeout_s,
                backend=self.backend,
            )
            self._client = client
            await client.connect()
        self.lost.clear()
        for uuid, callback in self._subscriptions.items():
            await self._start_notify(uuid, callback)
        self.connects += 1

    def _on_disconnect(self, client: BleakClient) -> None:
        if client is not self._client or self.lost.is_set():
            return
        self.lost.set()
        if self.on_lost is not None:
            self.on_lost()

    async def _drop_client(self) -> None:
        client, self._client = self._client, None
        self.lost.set()
        if client is not None:
            try:
                await asyncio.wait_for(client.disconnect(), self.policy.response_timeout_s)
            except (BleakError, TimeoutError, OSError) as err:
                logger.debug("disconnect of %s: %s", self.address, _describe(err))

    async def request_mtu(self) -> int:
        """Make sure a larger ATT MTU was asked for, and return the negotiated one [bytes].

        Most bleak backends exchange the MTU while connecting; BlueZ does it only when asked, which
        bleak exposes as its backend's ``_acquire_mtu`` (bleak's documentation names it for this use).
        """
        client = self._require("request the MTU")
        acquire = getattr(getattr(client, "_backend", None), "_acquire_mtu", None)
        if acquire is not None and client.mtu_size <= 23:
            await self._gatt("request the MTU", acquire())
        return client.mtu_size

    async def disconnect(self) -> None:
        """Close the link (no-op when down); failures while closing are ignored."""
        await self._drop_client()

    # --- GATT --------------------------------------------------------------------------------------

    def _require(self, what: str) -> BleakClient:
        if self._client is None or not self.is_connected:
            raise BleError(f"{what}: not connected", address=self.address, reason="disconnected")
        return self._client

    async def subscribe(self, uuid: str, callback: NotificationCallback) -> None:
        """Enable notifications/indications on ``uuid`` now and after every reconnect.

        Parameters
        ----------
        uuid : str
            Characteristic UUID.
        callback : callable
            Called with each value; must only enqueue it (it runs in the BLE stack's callback).
        """
        self._subscriptions[uuid] = callback
        if self.is_connected:
            await self._start_notify(uuid, callback)

    async def _start_notify(self, uuid: str, callback: NotificationCallback) -> None:
        client = self._require(f"subscribe to {uuid}")
        await self._gatt(
            f"subscribe to {uuid}", client.start_notify(uuid, lambda _c, data: callback(bytes(data)))
        )

    async def read(self, uuid: str) -> bytes:
        """Read a characteristic.

        Parameters
        ----------
        uuid : str
            Characteristic UUID.
        """
        client = self._require(f"read {uuid}")
        return bytes(await self._gatt(f"read {uuid}", client.read_gatt_char(uuid)))

    async def write(self, uuid: str, data: bytes) -> None:
        """Write a characteristic with response.

        Parameters
        ----------
        uuid : str
            Characteristic UUID.
        data : bytes
            The value.
        """
        client = self._require(f"write {uuid}")
        await self._gatt(f"write {uuid}", client.write_gatt_char(uuid, data, response=True))

    async def _gatt(self, what: str, operation: Any) -> Any:
        try:
            return await asyncio.wait_for(operation, self.policy.response_timeout_s)
        except BleakGATTProtocolError as err:
            raise BleError(
                f"{what}: the device refused ({err})", address=self.address, reason="device"
            ) from None
        except TimeoutError:
            raise BleError(f"{what}: no answer in time", address=self.address, reason="timeout") from None
        except BleakCharacteristicNotFoundError:
            raise BleError(
                f"{what}: the device has no such characteristic (not this protocol's device?)",
                address=self.address,
                reason="unsupported",
            ) from None
        except (BleakError, OSError) as err:  # a failed link: reconnecting is the cure
            raise BleError(f"{what}: {_describe(err)}", address=self.address, reason="disconnected") from None


def _describe(err: BaseException) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text}" if text else type(err).__name__
