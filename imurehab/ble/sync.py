"""Zero-loss log sync from OSP sensors: LIST → READ by offset into the journal → verify → decode.

Per sensor (all sensors at once, connects one at a time), the host state machine of OSP spec §7:

1. connect (retries, backoff), read the descriptor (serial, boot id), CLOCK_SYNC burst; the first READ
   waits until every sensor got this far (so clocks are measured while no download loads the host);
2. LIST the device's sessions; open each one's journal (``<out>/_journal/<serial>/session-<id>``) at its
   last verified byte ``V`` — 0 for a new one, where it stopped for a link drop, a device reboot or a
   killed host process;
3. READ from ``V``: each CHUNK is checked (CRC-32) by a :class:`~imurehab.protocols.osp.LogAssembler`,
   and the bytes that become contiguous are appended to the journal (flushed to disk in 64 KiB pieces,
   and at every END or drop) — nothing is decoded before it is on disk;
4. at END, verify the length and CRC-32 of the whole journal against the device's; READ the missing
   ranges again until it matches; a journal of the right length with the wrong CRC is discarded and read
   again from 0; a link drop goes back to 1 and resumes at ``V``;
5. only when verified, not OPEN, and ``erase=True``: COMMIT (the device erases that session);
6. once every sensor has finished downloading, measure each clock again, spread over a span that grows
   with how far back its logs reach (:meth:`~imurehab.ble.RetryPolicy.clock_span_for`): the span pins
   the drift;
7. decode every journal this run touched into the ``samples`` and ``sessions`` partitions of its study
   session (see :mod:`imurehab.ble.dataset`).

A sensor's failure (not found, unreachable, stalled, malformed answers, journal conflict, full disk)
is reported in its :class:`~imurehab.ble.report.SensorReport` with what it still got; the other
sensors go on. Only a problem with the output folder as a whole (another process writing to it) raises.
"""

from __future__ import annotations

import asyncio
import importlib
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner

from imurehab.ble.connection import RetryPolicy
from imurehab.ble.dataset import write_study
from imurehab.ble.discovery import find_devices, find_families
from imurehab.ble.download import LogDownload, ProgressCallback
from imurehab.ble.layout import JournalRoot, default_session_id
from imurehab.ble.rendezvous import Rendezvous
from imurehab.ble.report import SensorReport, SyncReport
from imurehab.errors import ImurehabError, StoreError

__all__ = ["SYNC_FAMILIES", "SensorRun", "finish_sync", "sync", "sync_osp", "write_into_report"]

SYNC_FAMILIES: dict[str, str] = {
    "osp": "imurehab.ble.sync:sync_osp",
    "polar-pmd": "imurehab.ble.polar_offline:sync_polar",
    "movesense-gsp": "imurehab.ble.movesense_sync:sync_movesense",
    "movella-dot": "imurehab.ble.dot_sync:sync_dot",
}
"""Each family's sync, as ``module:function`` with the signature of :func:`sync_osp`."""


async def sync(
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
    families: Mapping[str, str] | None = None,
) -> SyncReport:
    """Download what every sensor logged, verified, into one study session of a dataset; any family.

    The sensors are grouped by family and each group is synced by its family's sync
    (:data:`SYNC_FAMILIES`; OSP: :func:`sync_osp`, Polar: :func:`~imurehab.ble.polar_offline.sync_polar`,
    Movesense: :func:`~imurehab.ble.movesense_sync.sync_movesense`, Movella DOT:
    :func:`~imurehab.ble.dot_sync.sync_dot`), one group after the other into the same study session
    (a dataset folder is written by one run at a time). Each family's sync rewrites the session's
    partitions from the journals of every family, so the last one leaves them whole.

    Parameters
    ----------
    addresses : sequence of str
        Sensor addresses (as the platform names them).
    out : str or Path
        Dataset root (the raw journal goes to ``<out>/_journal/``).
    client_backend, scanner_backend : type or None
        bleak backend classes (None: the platform's).
    erase : bool
        Erase what was downloaded from each sensor once it is verified whole.
    progress : callable, optional
        Called with :class:`~imurehab.ble.report.SyncProgress` events.
    subject, session : str, optional
        Study ids (see :func:`sync_osp`); the first family's run decides them for the others.
    policy : RetryPolicy, optional
        Retry limits and timeouts.
    families : mapping of str to str, optional
        Address → family. Default: told from each sensor's advertisement (a scan first); a sensor not
        seen or not recognised goes to the OSP sync, which reports it.

    Returns
    -------
    SyncReport
        One :class:`~imurehab.ble.report.SensorReport` per address, in the order given; the paths
        written; the first write error of any family.

    Raises
    ------
    JournalError
        ``busy`` when another process is writing to ``out``.
    """
    policy = policy or RetryPolicy()
    started = time.monotonic()
    wanted = list(dict.fromkeys(addresses))
    with JournalRoot(Path(out)).locked():
        pass  # a folder another process writes to is refused before any scan (each family's run locks it)
    if families is None:
        found = await find_families(wanted, scanner_backend=scanner_backend, timeout=policy.scan_timeout_s)
    else:
        found = {a: families.get(a) or families.get(a.upper()) for a in wanted}
    groups: dict[str, list[str]] = {}
    for address in wanted:
        family = found.get(address)
        groups.setdefault(family if family in SYNC_FAMILIES else "osp", []).append(address)
    reports: list[SyncReport] = []
    for family in sorted(groups, key=lambda f: (f != "osp", f)):
        module, _, name = SYNC_FAMILIES[family].partition(":")
        run = getattr(importlib.import_module(module), name)
        report = await run(
            groups[family],
            out,
            client_backend=client_backend,
            scanner_backend=scanner_backend,
            erase=erase,
            progress=progress,
            subject=subject,
            session=session,
            policy=policy,
        )
        subject, session = report.subject, report.session
        reports.append(report)
    if len(reports) == 1:
        return reports[0]
    by_address = {s.address: s for r in reports for s in r.sensors}
    return SyncReport(
        Path(out),
        reports[-1].subject,
        reports[-1].session,
        sensors=[by_address[a] for a in wanted],
        paths=list(dict.fromkeys(p for r in reports for p in r.paths)),
        elapsed_s=time.monotonic() - started,
        write_error=next((r.write_error for r in reports if r.write_error is not None), None),
    )


async def sync_osp(
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
    """Download every log session of OSP sensors, verified, into a dataset; resumable at any point.

    Parameters
    ----------
    addresses : sequence of str
        Sensor addresses (as the platform names them).
    out : str or Path
        Dataset root. The raw journal goes to ``<out>/_journal/`` (kept: it is what a later run resumes
        from), the decoded samples to the ``samples`` and ``sessions`` tables of the study session.
    client_backend, scanner_backend : type or None
        bleak backend classes (None: the platform's); e.g. the virtual air's
        :class:`~imurehab.virtual.VirtualBleakClient` / :class:`~imurehab.virtual.VirtualBleakScanner`.
    erase : bool
        Erase each session on its sensor (COMMIT) once it is verified whole and closed.
    progress : callable, optional
        Called with :class:`~imurehab.ble.report.SyncProgress` events.
    subject, session : str, optional
        Study ids of the dataset partition. Default: those of an unfinished earlier sync into ``out``
        (so a killed sync resumes into the same partition), else ``"unassigned"`` and
        :func:`default_session_id`. A session already journaled keeps the ids it was first synced under.
    policy : RetryPolicy, optional
        Retry limits and timeouts.

    Returns
    -------
    SyncReport
        Per sensor: sessions, bytes, CRC verification, samples and gaps written, clock and its
        uncertainty, reconnects, and the error that left it incomplete.

    Raises
    ------
    JournalError
        ``busy`` when another process is writing to ``out``; ``disk-full``/``io`` when the journal
        cannot even be started.
    """
    policy = policy or RetryPolicy()
    out, started = Path(out), time.monotonic()
    wanted = list(dict.fromkeys(addresses))
    root = JournalRoot(out)
    with root.locked():
        study = root.begin_run("sync", subject, session, default_session_id())
        devices = await find_devices(wanted, scanner_backend=scanner_backend, timeout=policy.scan_timeout_s)
        gates = (Rendezvous(len(wanted)), Rendezvous(len(wanted)))
        syncs = [
            LogDownload(
                root,
                address,
                devices[address],
                study,
                erase=erase,
                policy=policy,
                progress=progress,
                backend=client_backend,
                gates=gates,
            )
            for address in wanted
        ]
        await asyncio.gather(*(s.run() for s in syncs))
        touched = {j.study for s in syncs for j in s.journals.values()}
        return finish_sync(root, study, syncs, touched, started)


class SensorRun(Protocol):
    """One sensor's part of a sync, as :func:`finish_sync` needs it."""

    report: SensorReport

    def emit(self, phase: str) -> None:
        """Send a progress event of ``phase`` (``"writing"``, ``"done"``, ``"incomplete"``)."""
        ...


def finish_sync(
    root: JournalRoot,
    study: tuple[str, str],
    runs: Sequence[SensorRun],
    touched: Iterable[tuple[str, str]],
    started: float,
) -> SyncReport:
    """The end of every family's sync, under the journal's lock: write, report, close the run.

    Parameters
    ----------
    root : JournalRoot
        The dataset's journal (locked by the caller).
    study : (subject, session)
        The study session of this run.
    runs : sequence of SensorRun
        Each sensor's download, in the order of the addresses given.
    touched : iterable of (subject, session)
        Study sessions of the journals this run wrote to (journals keep the study ids they were started
        under): each is written as well as ``study``.
    started : float
        ``time.monotonic()`` when the sync started [s].

    Returns
    -------
    SyncReport
        The report, with what was written; the run is finished in the journal when it is complete.
    """
    report = SyncReport(root.out, study[0], study[1], [r.report for r in runs])
    for r in runs:
        r.emit("writing")
    for one in sorted({study, *touched}):
        write_into_report(root, one, report)
    report.elapsed_s = time.monotonic() - started
    for r, sensor in zip(runs, report.sensors, strict=True):
        r.emit("done" if sensor.complete and report.write_error is None else "incomplete")
    if report.complete:
        root.finish_run()
    return report


def write_into_report(root: JournalRoot, study: tuple[str, str], report: SyncReport) -> None:
    """Rewrite one study session's partitions from every family's journals; add the figures to the report.

    A sensor that could not be written makes the report's ``write_error`` (never skipped silently).

    Parameters
    ----------
    root : JournalRoot
        The dataset's journal.
    study : (subject, session)
        The study session.
    report : SyncReport
        Gets the paths written, each of its sensors' samples, gaps, clocks and clock bound (the largest
        over the study sessions written), how a shared shake aligned it, and the first error.
    """
    try:
        written = write_study(root, study)
    except (ImurehabError, OSError) as err:
        report.write_error = err if isinstance(err, ImurehabError) else StoreError(str(err), path=root.out)
        return
    report.paths += written.paths
    for sensor in report.sensors:
        summary = written.sensors.get(sensor.serial or "")
        if summary is None:
            continue
        if summary.error is not None:
            report.write_error = report.write_error or ImurehabError(summary.error)
            continue
        sensor.sensor_id = sensor.sensor_id or summary.sensor_id
        sensor.alignment = summary.alignment or sensor.alignment
        sensor.samples += summary.samples
        sensor.gaps += summary.gaps
        sensor.lost_samples += summary.lost_samples
        sensor.clocks.update(summary.clocks)
        known = [u for u in (sensor.clock_uncertainty_us, summary.clock_uncertainty_us) if not math.isnan(u)]
        sensor.clock_uncertainty_us = max(known, default=math.nan)
