"""The per-family seam of the live ingest: what :func:`imurehab.ble.stream` needs from a sensor family.

:func:`~imurehab.ble.stream` is family-agnostic: it owns the link's life (reconnects, stopping, the
journal, the report) and asks a :class:`LiveDriver` for everything a protocol decides — how to connect
and say who the device is, whether and how its clock is measured, how to start and stop the stream, and
how one notification becomes samples with device times and loss accounting. Two drivers exist:
:class:`~imurehab.ble.osp_driver.OspDriver` (OSP: frame counters, sample indices, CLOCK_SYNC, device
logs) and :class:`~imurehab.ble.polar.PolarPmdDriver` (Polar PMD: no counters, loss found from frame
timestamps, the clock fitted from the frames themselves).

A device's family is given by the caller or recognised from the GATT services found at connect
(:func:`family_from_services`), as :func:`~imurehab.ble.discovery.identify_family` does from an
advertisement.

Examples
--------
>>> family_from_services(["FB005C80-02E7-F387-1CAD-8ACD2D8DF0C8", "0000180f-0000-1000-8000-00805f9b34fb"])
'polar-pmd'
>>> family_from_services(["0000180f-0000-1000-8000-00805f9b34fb"]) is None
True
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

from imurehab.ble.connection import Link, RetryPolicy
from imurehab.ble.report import Gap
from imurehab.types.clock import ClockModel

if TYPE_CHECKING:
    from imurehab.ble.polar import PolarRequest

__all__ = [
    "LIVE_FAMILIES",
    "DeviceIdentity",
    "LiveDriver",
    "LiveFrame",
    "family_from_services",
    "make_driver",
]

Sink = Callable[[int, bytes], None]
"""Receives ``(host time [ns since the Unix epoch], value)`` of every live data notification."""


@dataclass(frozen=True)
class DeviceIdentity:
    """Who a connected device is, as its family tells.

    Attributes
    ----------
    serial : str
        Device serial (names its journal folder).
    boot_id : int
        The device clock's epoch: an OSP boot id; for a clock without boots (Polar), a counter of the
        clock resets seen (0 until one is).
    """

    serial: str
    boot_id: int


@dataclass(frozen=True)
class LiveFrame:
    """One received data notification, accounted for and decoded.

    Attributes
    ----------
    record : bytes
        What the stream journal keeps for it (the frame, plus what the family needs to decode it later).
    sample_index : ndarray of int64
        Sample indices (the device's where it counts them, else derived from the frame times).
    device_time_us : ndarray of int64
        Device clock of each sample [µs; since boot for OSP, since 2000-01-01 for Polar].
    acc, gyr, mag : ndarray, shape (n, 3), or None
        Specific force [m/s²], angular rate [rad/s], magnetic flux density [µT]; None when the frame does
        not carry that channel group (a Polar frame carries one).
    """

    record: bytes
    sample_index: npt.NDArray[np.int64]
    device_time_us: npt.NDArray[np.int64]
    acc: npt.NDArray[np.float64] | None
    gyr: npt.NDArray[np.float64] | None
    mag: npt.NDArray[np.float64] | None


class LiveDriver(Protocol):
    """One device of a family, streaming live over a :class:`~imurehab.ble.connection.Link`.

    The stream calls, per connection: :meth:`connect`, :meth:`measure_clock`, :meth:`journal_header`
    (the first bytes of the run's journal), :meth:`start`; then, for every data notification (from the
    driver's consumer task, through :attr:`on_frame`), :meth:`decode`; at the end :meth:`stop` (when
    :attr:`active`) and :meth:`close`.

    Attributes
    ----------
    family : str
        The family name (``"osp"``, ``"polar-pmd"``).
    link : Link
        The device's link.
    on_frame : callable or None
        Where the driver hands every data notification (set by the stream).
    failed : asyncio.Event
        Set when the driver's consumer stopped on an error; :meth:`raise_failure` raises it.
    last_activity : float
        ``time.monotonic()`` of the last value received (a silent link is reconnected).
    clock : ClockModel or None
        The device clock → UTC estimate so far (None before one is known).
    active : bool
        Something was started on the device that :meth:`stop` must stop.
    tail_lost : bool
        Frames at the very end of the stream are known to be missing.
    gaps : list of Gap
        Every gap found so far, in order.
    frames, samples : int
        Data frames and samples received and accepted.
    """

    family: str
    link: Link
    on_frame: Sink | None
    failed: asyncio.Event
    last_activity: float
    clock: ClockModel | None
    active: bool
    tail_lost: bool
    gaps: list[Gap]
    frames: int
    samples: int

    async def connect(self) -> DeviceIdentity:
        """Connect (retrying), subscribe and identify the device."""
        ...

    async def measure_clock(self, clock_log: Path) -> None:
        """Measure the device clock now, where the family can (updates :attr:`clock`).

        Parameters
        ----------
        clock_log : Path
            The device's append-only clock file.
        """
        ...

    def journal_header(self) -> bytes:
        """The bytes a new stream journal of this connection starts with."""
        ...

    async def start(self, *, log: bool) -> None:
        """Start the live stream (and a device log when ``log`` and the family has one)."""
        ...

    async def stop(self) -> None:
        """Stop what :meth:`start` started; sets :attr:`tail_lost` when the stream's end is known."""
        ...

    def decode(self, host_ns: int, value: bytes) -> LiveFrame | None:
        """Account for one data notification; None for a stale or duplicate one.

        Raises ProtocolError for one that is not an intact data frame.
        """
        ...

    def raise_failure(self) -> None:
        """Raise the error that stopped the consumer, if one did."""
        ...

    async def close(self) -> None:
        """Disconnect and stop the consumer."""
        ...


_DRIVERS: dict[str, str] = {
    "osp": "imurehab.ble.osp_driver:OspDriver",
    "polar-pmd": "imurehab.ble.polar:PolarPmdDriver",
    "movesense-gsp": "imurehab.ble.movesense:MovesenseDriver",
    "movella-dot": "imurehab.ble.dot:DotDriver",
}
"""Each live family's driver class, as ``module:Class``; its constructor takes ``(link, policy, request)``."""

LIVE_FAMILIES: tuple[str, ...] = tuple(_DRIVERS)
"""Families :func:`imurehab.ble.stream` can stream from."""


def _service_of(family: str) -> str:
    from imurehab.protocols import load_profile

    profile = load_profile(family)
    section = profile.get("gatt") or profile.get("uuid") or {}
    if "service" in section:
        return str(section["service"]).lower()
    # A family whose UUIDs share a template (Movella DOT) is recognised by its measurement service.
    return str(section["template"]).format(short=section["services"]["measurement"]).lower()


def family_from_services(service_uuids: Iterable[str]) -> str | None:
    """The live-streamable family whose GATT service a connected device has (None if none).

    Parameters
    ----------
    service_uuids : iterable of str
        128-bit service UUIDs found on the device (any case).
    """
    found = {u.lower() for u in service_uuids}
    return next((f for f in LIVE_FAMILIES if _service_of(f) in found), None)


def make_driver(
    family: str,
    link: Link,
    policy: RetryPolicy,
    *,
    request: object | None = None,
    polar: PolarRequest | None = None,
) -> LiveDriver:
    """A new driver of ``family`` over ``link``.

    Parameters
    ----------
    family : str
        One of :data:`LIVE_FAMILIES`.
    link : Link
        The device's link (the driver takes over its ``on_lost``).
    policy : RetryPolicy
        Timeouts.
    request : object, optional
        The family's own request (rates, ranges, payload mode) handed to its driver; None for its
        default. OSP takes none.
    polar : PolarRequest, optional
        Rates and ranges asked of a Polar sensor (default: its own default); used as ``request`` for
        ``polar-pmd``.

    Raises
    ------
    ValueError
        For a family without a live driver.
    """
    import importlib

    if family not in _DRIVERS:
        raise ValueError(f"no live driver for family {family!r}; expected one of {LIVE_FAMILIES}")
    module, _, name = _DRIVERS[family].partition(":")
    driver_class = getattr(importlib.import_module(module), name)
    if family == "polar-pmd" and polar is not None:
        request = polar
    if family == "osp":
        return driver_class(link, policy)  # type: ignore[no-any-return]
    return driver_class(link, policy, request)  # type: ignore[no-any-return]
