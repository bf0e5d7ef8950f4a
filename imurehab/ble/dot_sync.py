"""Movella DOT recordings: the sensors' own sync, recording start/stop, and the export sync into a dataset.

- :func:`sync_sensors` runs the DOTs' own clock sync (StartSync with a root sensor's MAC, then
  GetSyncStatus until each reports synced, D1 §5.3): afterwards their SampleTimeFine clocks agree, so
  recordings made on several sensors line up by timestamp. Do it before recording.
- :func:`start_recording` / :func:`stop_recording` start and stop onboard recording (D1 §5.2.2:
  StartRecording carries the host's UTC second and the duration, 0xFFFF for untimed).
- :func:`sync_dot` exports every recording file of every sensor into the journal, verified by
  DataNumber (:class:`~imurehab.ble.dot_download.DotDownload`), erases the flash only when every file
  of that sensor is whole (``erase=True``), and rewrites the ``samples`` and ``sessions`` tables of the
  study session from every journal tagged with it, of every family
  (:func:`imurehab.ble.dataset.write_study`: a Polar or OSP sensor streamed into the same study session
  is kept; DOT journals are read by :mod:`imurehab.ble.dot_dataset`). Same signature and report as
  :func:`imurehab.ble.sync`; a file that could not be recovered whole is listed in its
  :class:`~imurehab.ble.dot_download.DotFileResult` with the DataNumbers lost and why, and the sensor's
  ``error`` says so (the report is then not complete).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Final, TypeVar

from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner

from imurehab.ble.connection import Link, RetryPolicy
from imurehab.ble.discovery import find_devices
from imurehab.ble.dot_download import DotDownload
from imurehab.ble.dot_messages import DotMessenger, start_sync, sync_status
from imurehab.ble.download import ProgressCallback
from imurehab.ble.layout import JournalRoot, default_session_id
from imurehab.ble.report import SyncReport
from imurehab.ble.sync import finish_sync
from imurehab.protocols import load_profile
from imurehab.protocols.movella_dot import recording_message

__all__ = ["start_recording", "stop_recording", "sync_dot", "sync_sensors"]

_T = TypeVar("_T")
_UNTIMED: Final = int(load_profile("movella-dot")["recording"]["export"]["unlimited_recording_time"])


async def _with_sensors(
    addresses: Sequence[str],
    action: Callable[[list[DotMessenger]], Awaitable[list[_T]]],
    backend: type[BaseBleakClient] | None,
    policy: RetryPolicy | None,
) -> dict[str, _T]:
    """Connect to every sensor, run ``action`` on them all, disconnect; address → its result."""
    policy = policy or RetryPolicy()
    messengers = [DotMessenger(Link(a, backend=backend, policy=policy), policy) for a in addresses]
    try:
        for m in messengers:
            await m.connect()
        results = await action(messengers)
    finally:
        for m in messengers:
            await m.link.disconnect()
    return dict(zip(addresses, results, strict=True))


async def _gather(
    action: Callable[[DotMessenger], Awaitable[_T]], messengers: list[DotMessenger]
) -> list[_T]:
    return list(await asyncio.gather(*(action(m) for m in messengers)))


async def sync_sensors(
    addresses: Sequence[str],
    root_address: str | None = None,
    *,
    client_backend: type[BaseBleakClient] | None = None,
    policy: RetryPolicy | None = None,
    wait_s: float = 30.0,
) -> dict[str, bool]:
    """Sync the DOTs' clocks to one root sensor (their own sync), before recording.

    Parameters
    ----------
    addresses : sequence of str
        The sensors (a DOT's address is its MAC).
    root_address : str, optional
        The root sensor, one of ``addresses`` (default the first).
    client_backend : type or None
        bleak client backend class.
    policy : RetryPolicy, optional
        Timeouts.
    wait_s : float
        How long to wait for every sensor to report synced [s].

    Returns
    -------
    dict of str to bool
        Address → whether it reported itself synced (SyncStatus 0x04) in time.

    Raises
    ------
    BleError
        A sensor unreachable or refusing StartSync.
    """
    root = root_address or addresses[0]

    async def run(messengers: list[DotMessenger]) -> list[bool]:
        await start_sync(messengers, root)
        return await _gather(lambda m: sync_status(m, wait_s=wait_s), messengers)

    return await _with_sensors(addresses, run, client_backend, policy)


async def start_recording(
    addresses: Sequence[str],
    *,
    seconds: float | None = None,
    client_backend: type[BaseBleakClient] | None = None,
    policy: RetryPolicy | None = None,
) -> dict[str, int]:
    """Start onboard recording on every sensor.

    Parameters
    ----------
    addresses : sequence of str
        The sensors.
    seconds : float, optional
        Record this long [s] (whole seconds, below 65535); None records until :func:`stop_recording`.
    client_backend : type or None
        bleak client backend class.
    policy : RetryPolicy, optional
        Timeouts.

    Returns
    -------
    dict of str to int
        Address → the UTC second given to it [s since the Unix epoch].
    """
    duration = _UNTIMED if seconds is None else math.ceil(seconds)
    if seconds is not None and not 0 < duration < _UNTIMED:
        raise ValueError(f"seconds must be in (0, {_UNTIMED - 1}], got {seconds!r}")

    async def start(m: DotMessenger) -> int:
        utc_s = int(time.time())
        await m.command(recording_message("StartRecording", start_utc_s=utc_s, recording_time_s=duration))
        return utc_s

    return await _with_sensors(addresses, lambda ms: _gather(start, ms), client_backend, policy)


async def stop_recording(
    addresses: Sequence[str],
    *,
    client_backend: type[BaseBleakClient] | None = None,
    policy: RetryPolicy | None = None,
) -> dict[str, str]:
    """Stop onboard recording on every sensor.

    Parameters
    ----------
    addresses : sequence of str
        The sensors.
    client_backend : type or None
        bleak client backend class.
    policy : RetryPolicy, optional
        Timeouts.

    Returns
    -------
    dict of str to str
        Address → ``"success"``, or ``"idle"`` when it was not recording (a timed recording that ended).
    """

    async def stop(m: DotMessenger) -> str:
        ack = await m.command(recording_message("StopRecording"), accept=("success", "idle"))
        return str(ack["ack_state"])

    return await _with_sensors(addresses, lambda ms: _gather(stop, ms), client_backend, policy)


async def sync_dot(
    addresses: Sequence[str],
    out: str | Path,
    *,
    client_backend: type[BaseBleakClient] | None = None,
    scanner_backend: type[BaseBleakScanner] | None = None,
    erase: bool = False,
    progress: ProgressCallback | None = None,
    subject: str | None = None,
    session: str | None = None,
    policy: RetryPolicy | None = None,
) -> SyncReport:
    """Export every recording of Movella DOT sensors, verified by DataNumber, into a dataset; resumable.

    Parameters
    ----------
    addresses : sequence of str
        Sensor addresses.
    out : str or Path
        Dataset root: journals under ``<out>/_journal/``, samples in the ``samples`` and ``sessions``
        tables of the study session.
    client_backend, scanner_backend : type or None
        bleak backend classes (None: the platform's).
    erase : bool
        Erase a sensor's flash once every one of its files is verified whole.
    progress : callable, optional
        Called with :class:`~imurehab.ble.report.SyncProgress` events (``session_id`` is the file index).
    subject, session : str, optional
        Study ids (defaults as for :func:`imurehab.ble.sync`).
    policy : RetryPolicy, optional
        Retry limits and timeouts (``clock_span_s``: how long the clock is measured).

    Returns
    -------
    SyncReport
        Per sensor: files (:class:`~imurehab.ble.dot_download.DotFileResult`: DataNumbers, what could not
        be recovered and why), samples and gaps written, clock, reconnects, error.

    Raises
    ------
    JournalError
        ``busy`` when another process is writing to ``out``.
    """
    policy = policy or RetryPolicy()
    out, started = Path(out), time.monotonic()
    wanted = list(dict.fromkeys(addresses))
    root = JournalRoot(out)
    with root.locked():
        study = root.begin_run("sync", subject, session, default_session_id())
        devices = await find_devices(wanted, scanner_backend=scanner_backend, timeout=policy.scan_timeout_s)
        downloads = [
            DotDownload(
                root,
                a,
                devices[a],
                study,
                erase=erase,
                policy=policy,
                progress=progress,
                backend=client_backend,
            )
            for a in wanted
        ]
        await asyncio.gather(*(d.run() for d in downloads))
        touched = {j.study for d in downloads for j in d.journals.values()}
        return finish_sync(root, study, downloads, touched, started)
