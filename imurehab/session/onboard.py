"""Onboard logging per family: start it (configured, clocks synced) and stop it, behind two registries.

:data:`START_FAMILIES` and :data:`STOP_FAMILIES` map a family to ``module:function``, imported when first
used, as :data:`imurehab.ble.SYNC_FAMILIES` does for the download. Every routine takes one family's
sensors (addresses, each connected to, nothing else) and returns one :class:`LoggingOutcome` per
address, in order; a sensor's failure is its outcome's ``error``, the others go on.

- OSP: connect, read the descriptor, a CLOCK_SYNC burst appended to the sensor's clock log in the
  dataset's journal (``<out>/_journal/<serial>/clock.jsonl``, where the sync's clock fit finds it), then
  START_LOG with the sensor's own configuration unless it is logging already; disconnect. Stop: STOP_LOG
  (a sensor that was not logging is fine).
- Polar (``polar-pmd``): offline recording of ACC and GYRO at the default request
  (:meth:`~imurehab.ble.PolarRequest.default`); the sensor's clock is read at the sync.
- Movella DOT: the sensors' own clock sync to the first one, then onboard recording.
- Movesense (``movesense-gsp``): the sensor's UTC clock set, then its DataLogger on the default request
  (:class:`~imurehab.ble.MovesenseRequest`: IMU6 at 104 Hz; :func:`~imurehab.ble.movesense_logging.
  start_datalogger`); stop closes the Logbook entry, which the sync downloads whole.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner

from imurehab.ble import (
    MovesenseRequest,
    PolarRequest,
    RetryPolicy,
    start_offline_recording,
    start_recording,
    stop_offline_recording,
    stop_recording,
    sync_sensors,
)
from imurehab.ble.clock import ClockLog
from imurehab.ble.connection import Link
from imurehab.ble.control import OspDevice
from imurehab.ble.discovery import find_devices
from imurehab.ble.layout import JournalRoot
from imurehab.ble.movesense_logging import start_datalogger, stop_datalogger
from imurehab.errors import ImurehabError
from imurehab.protocols.osp import LogStarted, StartLogCommand, Status, StopLogCommand

__all__ = ["START_FAMILIES", "STOP_FAMILIES", "LoggingOutcome", "LoggingRoutine", "run_family"]

START_FAMILIES: Final[dict[str, str]] = {
    "osp": "imurehab.session.onboard:start_osp",
    "polar-pmd": "imurehab.session.onboard:start_polar",
    "movesense-gsp": "imurehab.session.onboard:start_movesense",
    "movella-dot": "imurehab.session.onboard:start_dot",
}
"""Each family's start of onboard logging, as ``module:function`` (a :data:`LoggingRoutine`)."""

STOP_FAMILIES: Final[dict[str, str]] = {
    "osp": "imurehab.session.onboard:stop_osp",
    "polar-pmd": "imurehab.session.onboard:stop_polar",
    "movesense-gsp": "imurehab.session.onboard:stop_movesense",
    "movella-dot": "imurehab.session.onboard:stop_dot",
}
"""Each family's stop of onboard logging, as ``module:function`` (a :data:`LoggingRoutine`)."""


@dataclass(frozen=True)
class LoggingOutcome:
    """What starting or stopping onboard logging did on one sensor.

    Attributes
    ----------
    address : str
        The sensor.
    family : str
        Its family.
    done : bool
        The sensor is now logging (start) or not logging (stop).
    serial : str or None
        The serial it reported, where the routine reads one.
    detail : str
        A short line for a person (``"logging session 3"``, ``"already logging session 2"``,
        ``"clock synced to the root sensor"``).
    error : str or None
        Why it failed (then ``done`` is False).
    """

    address: str
    family: str
    done: bool
    serial: str | None = None
    detail: str = ""
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict of the fields."""
        return {
            "address": self.address,
            "family": self.family,
            "done": self.done,
            "serial": self.serial,
            "detail": self.detail,
            "error": self.error,
        }


LoggingRoutine = Callable[..., Awaitable[list[LoggingOutcome]]]
"""``(addresses, root, *, client_backend, scanner_backend, policy) -> outcomes``: one family's sensors."""


async def run_family(
    registry: dict[str, str],
    family: str,
    addresses: Sequence[str],
    root: JournalRoot,
    *,
    client_backend: type[BaseBleakClient] | None = None,
    scanner_backend: type[BaseBleakScanner] | None = None,
    policy: RetryPolicy | None = None,
) -> list[LoggingOutcome]:
    """Run one family's routine of ``registry`` on its sensors.

    Parameters
    ----------
    registry : dict of str to str
        :data:`START_FAMILIES` or :data:`STOP_FAMILIES`.
    family : str
        A key of ``registry``.
    addresses : sequence of str
        The family's sensors (only these are connected to).
    root : JournalRoot
        The dataset's journal (OSP clock logs go there).
    client_backend, scanner_backend : type or None
        bleak backend classes (None: the platform's).
    policy : RetryPolicy, optional
        Retry limits and timeouts.

    Returns
    -------
    list of LoggingOutcome
        One per address, in order.
    """
    module, _, name = registry[family].partition(":")
    routine: LoggingRoutine = getattr(importlib.import_module(module), name)
    return await routine(
        list(addresses),
        root,
        client_backend=client_backend,
        scanner_backend=scanner_backend,
        policy=policy or RetryPolicy(),
    )


async def _each(
    family: str, addresses: list[str], one: Callable[[str], Awaitable[tuple[str | None, str]]]
) -> list[LoggingOutcome]:
    """Run ``one`` on every sensor at once; its (serial, detail) or its error becomes the outcome."""

    async def run(address: str) -> LoggingOutcome:
        try:
            serial, detail = await one(address)
        except ImurehabError as err:
            return LoggingOutcome(address, family, False, error=str(err))
        return LoggingOutcome(address, family, True, serial, detail)

    return list(await asyncio.gather(*(run(a) for a in addresses)))


async def _osp(
    addresses: list[str],
    root: JournalRoot,
    backend: type[BaseBleakClient] | None,
    scanner: type[BaseBleakScanner] | None,
    policy: RetryPolicy,
    act: Callable[[OspDevice, JournalRoot], Awaitable[str]],
) -> list[LoggingOutcome]:
    devices = await find_devices(addresses, scanner_backend=scanner, timeout=policy.scan_timeout_s)

    async def one(address: str) -> tuple[str | None, str]:
        device = devices.get(address)
        osp = OspDevice(Link(device or address, backend=backend, policy=policy), policy)
        try:
            desc = await osp.connect()
            return desc.serial, await act(osp, root)
        finally:
            await osp.close()

    return await _each("osp", addresses, one)


async def _osp_start(osp: OspDevice, root: JournalRoot) -> str:
    desc = osp.descriptor
    assert desc is not None
    boot, samples = await osp.clock_sync(osp.policy.clock_round_trips)
    ClockLog(root.device_dir(desc.serial) / "clock.jsonl").append(boot, samples)
    if desc.session_id:
        return f"already logging session {desc.session_id}; clock measured"
    resp, _ = await osp.command(StartLogCommand(rate_mhz=0, channel_mask=desc.channel_mask))
    session = f" session {resp.body.session_id}" if isinstance(resp.body, LogStarted) else ""
    return f"logging{session} at {desc.rate_hz:g} Hz; clock measured"


async def _osp_stop(osp: OspDevice, root: JournalRoot) -> str:
    del root
    resp, _ = await osp.command(StopLogCommand(), accept=(Status.OK, Status.INVALID_STATE))
    return "log stopped" if resp.status == Status.OK else "was not logging"


async def start_osp(
    addresses: list[str],
    root: JournalRoot,
    *,
    client_backend: type[BaseBleakClient] | None,
    scanner_backend: type[BaseBleakScanner] | None,
    policy: RetryPolicy,
) -> list[LoggingOutcome]:
    """OSP: connect, measure the clock (journaled), START_LOG with the sensor's configuration, disconnect.

    Parameters
    ----------
    addresses : list of str
        The sensors.
    root : JournalRoot
        The dataset's journal: each clock burst is appended to ``<serial>/clock.jsonl`` there.
    client_backend, scanner_backend : type or None
        bleak backend classes.
    policy : RetryPolicy
        Retry limits, timeouts and the clock burst size.

    Returns
    -------
    list of LoggingOutcome
        One per address.
    """
    return await _osp(addresses, root, client_backend, scanner_backend, policy, _osp_start)


async def stop_osp(
    addresses: list[str],
    root: JournalRoot,
    *,
    client_backend: type[BaseBleakClient] | None,
    scanner_backend: type[BaseBleakScanner] | None,
    policy: RetryPolicy,
) -> list[LoggingOutcome]:
    """OSP: connect, STOP_LOG (the open session becomes CLOSED), disconnect. As for :func:`start_osp`."""
    return await _osp(addresses, root, client_backend, scanner_backend, policy, _osp_stop)


async def start_polar(
    addresses: list[str],
    root: JournalRoot,
    *,
    client_backend: type[BaseBleakClient] | None,
    scanner_backend: type[BaseBleakScanner] | None,
    policy: RetryPolicy,
) -> list[LoggingOutcome]:
    """Polar: offline recording of the default request on each sensor. As for :func:`start_osp`."""
    del root, scanner_backend
    request = PolarRequest.default()

    async def one(address: str) -> tuple[str | None, str]:
        chosen = await start_offline_recording(address, request, client_backend=client_backend, policy=policy)
        return None, "offline recording " + ", ".join(
            f"{m} at {s['sample_rate_hz']:g} Hz" for m, s in chosen.items()
        )

    return await _each("polar-pmd", addresses, one)


async def stop_polar(
    addresses: list[str],
    root: JournalRoot,
    *,
    client_backend: type[BaseBleakClient] | None,
    scanner_backend: type[BaseBleakScanner] | None,
    policy: RetryPolicy,
) -> list[LoggingOutcome]:
    """Polar: stop the offline recording of the default request's measurements. As for :func:`start_osp`."""
    del root, scanner_backend
    measurements = list(PolarRequest.default().measurements)

    async def one(address: str) -> tuple[str | None, str]:
        await stop_offline_recording(address, measurements, client_backend=client_backend, policy=policy)
        return None, "offline recording stopped"

    return await _each("polar-pmd", addresses, one)


async def _dot_group(
    addresses: list[str], action: Callable[[], Awaitable[dict[str, Any]]], describe: Callable[[Any], str]
) -> list[LoggingOutcome]:
    """DOT routines act on the sensors together: one error fails them all."""
    try:
        results = await action()
    except ImurehabError as err:
        return [LoggingOutcome(a, "movella-dot", False, error=str(err)) for a in addresses]
    return [LoggingOutcome(a, "movella-dot", True, detail=describe(results[a])) for a in addresses]


async def start_dot(
    addresses: list[str],
    root: JournalRoot,
    *,
    client_backend: type[BaseBleakClient] | None,
    scanner_backend: type[BaseBleakScanner] | None,
    policy: RetryPolicy,
) -> list[LoggingOutcome]:
    """Movella DOT: the sensors' own clock sync, then onboard recording. As for :func:`start_osp`."""
    del root, scanner_backend
    synced = await _dot_group(
        addresses,
        lambda: sync_sensors(addresses, client_backend=client_backend, policy=policy),
        lambda ok: "clock synced" if ok else "clock NOT synced",
    )
    if not all(o.done for o in synced):
        return synced
    started = await _dot_group(
        addresses,
        lambda: start_recording(addresses, client_backend=client_backend, policy=policy),
        lambda utc_s: f"recording from UTC second {utc_s}",
    )
    return [
        LoggingOutcome(a, s.family, s.done, detail=f"{c.detail}; {s.detail}", error=s.error)
        for a, c, s in zip(addresses, synced, started, strict=True)
    ]


async def stop_dot(
    addresses: list[str],
    root: JournalRoot,
    *,
    client_backend: type[BaseBleakClient] | None,
    scanner_backend: type[BaseBleakScanner] | None,
    policy: RetryPolicy,
) -> list[LoggingOutcome]:
    """Movella DOT: stop onboard recording. As for :func:`start_osp`."""
    del root, scanner_backend
    return await _dot_group(
        addresses,
        lambda: stop_recording(addresses, client_backend=client_backend, policy=policy),
        lambda state: "recording stopped" if state == "success" else "was not recording",
    )


async def start_movesense(
    addresses: list[str],
    root: JournalRoot,
    *,
    client_backend: type[BaseBleakClient] | None,
    scanner_backend: type[BaseBleakScanner] | None,
    policy: RetryPolicy,
) -> list[LoggingOutcome]:
    """Movesense: UTC clock set, DataLogger on the default request. As for :func:`start_osp`."""
    del root, scanner_backend
    request = MovesenseRequest()

    async def one(address: str) -> tuple[str | None, str]:
        serial = await start_datalogger(address, request, client_backend=client_backend, policy=policy)
        return serial, f"UTC clock set; DataLogger logging {request.path} unless it was logging already"

    return await _each("movesense-gsp", addresses, one)


async def stop_movesense(
    addresses: list[str],
    root: JournalRoot,
    *,
    client_backend: type[BaseBleakClient] | None,
    scanner_backend: type[BaseBleakScanner] | None,
    policy: RetryPolicy,
) -> list[LoggingOutcome]:
    """Movesense: DataLogger stopped (its Logbook entry closed). As for :func:`start_osp`."""
    del root, scanner_backend

    async def one(address: str) -> tuple[str | None, str]:
        serial = await stop_datalogger(address, client_backend=client_backend, policy=policy)
        return serial, "DataLogger stopped"

    return await _each("movesense-gsp", addresses, one)
