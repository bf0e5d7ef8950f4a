"""A profile's session, start to report: start onboard logging; later stop, download, process, report.

:func:`start_session` connects to the profile's sensors only, syncs their clocks and starts onboard
logging on each (:mod:`imurehab.session.onboard`), and records the study session it opened in
``<out>/_sessions/<subject>.json`` so that :func:`sync_session` later lands in the same one.

:func:`sync_session` does the rest in one go: stop logging (so each log is whole), download every
sensor verified (:func:`imurehab.ble.sync`: resumes after link drops), write the profile's placements
and exercise into the session's ``sessions`` row, process it (orientation, joint angles, ROM per rep,
reps and quality flags; :func:`imurehab.batch.run_batch`) and write the physiotherapist's report
(:func:`imurehab.report.physio_report`). A sync left incomplete still processes and reports what it
got, and its result lists plainly what is missing; running it again resumes the download.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner

from imurehab.batch import BatchOptions, SessionResult, plan_batch, run_batch
from imurehab.ble import RetryPolicy, SyncProgress, SyncReport, sync
from imurehab.ble.files import make_dirs, read_json, write_json_atomic
from imurehab.ble.layout import JournalRoot, default_session_id
from imurehab.errors import ImurehabError
from imurehab.report import PhysioReport, physio_report
from imurehab.session.onboard import START_FAMILIES, STOP_FAMILIES, LoggingOutcome, run_family
from imurehab.session.profile import ProfileError, SessionProfile
from imurehab.session.sensors import ResolvedSensors, placements_from_sync, resolve_sensors, store_placements

__all__ = ["SESSIONS_DIR", "SessionStart", "SessionSync", "start_session", "started_session", "sync_session"]

SESSIONS_DIR: Final = "_sessions"
"""Folder under a dataset root where :func:`start_session` records each subject's started session."""

PhaseCallback = Callable[[str], None]
"""Called with a short line when a step of :func:`sync_session` begins."""


@dataclass
class _Backends:
    client: type[BaseBleakClient] | None
    scanner: type[BaseBleakScanner] | None
    policy: RetryPolicy


async def _on_families(
    registry: dict[str, str], resolved: ResolvedSensors, root: JournalRoot, b: _Backends
) -> list[LoggingOutcome]:
    outcomes: list[LoggingOutcome] = []
    for family, addresses in resolved.group().items():
        outcomes += await run_family(
            registry,
            family,
            addresses,
            root,
            client_backend=b.client,
            scanner_backend=b.scanner,
            policy=b.policy,
        )
    return outcomes


@dataclass
class SessionStart:
    """What :func:`start_session` did.

    Attributes
    ----------
    profile : SessionProfile
        The profile.
    dataset : Path
        Dataset folder.
    session : str
        The study session opened (a later :func:`sync_session` lands in it).
    sensors : list of LoggingOutcome
        One per sensor found, by family.
    missing : dict of str to str
        Sensor label → why it was not found.
    """

    profile: SessionProfile
    dataset: Path
    session: str
    sensors: list[LoggingOutcome]
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def incomplete(self) -> list[str]:
        """One line per sensor that is not logging, saying why."""
        lines = [f"{label}: {why}" for label, why in self.missing.items()]
        return lines + [f"{s.address}: {s.error}" for s in self.sensors if not s.done]

    @property
    def complete(self) -> bool:
        """Every sensor of the profile is logging."""
        return not self.incomplete

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict: subject, session, dataset, pose, each sensor's outcome, what is missing."""
        return {
            "subject": self.profile.subject,
            "session": self.session,
            "dataset": str(self.dataset),
            "calibration_poses": self.profile.poses(),
            "complete": self.complete,
            "sensors": [s.to_json() for s in self.sensors],
            "incomplete": self.incomplete,
        }


def started_session(out: str | Path, subject: str) -> str | None:
    """The study session :func:`start_session` last opened for ``subject`` in ``out``, if any.

    Parameters
    ----------
    out : str or Path
        Dataset folder.
    subject : str
        Subject id.
    """
    record = read_json(Path(out) / SESSIONS_DIR / f"{subject}.json")
    return None if record is None else str(record["session"])


async def start_session(
    profile: SessionProfile,
    out: str | Path,
    *,
    session: str | None = None,
    client_backend: type[BaseBleakClient] | None = None,
    scanner_backend: type[BaseBleakScanner] | None = None,
    policy: RetryPolicy | None = None,
) -> SessionStart:
    """Start onboard logging on the profile's sensors (and no other), clocks synced.

    Parameters
    ----------
    profile : SessionProfile
        The profile.
    out : str or Path
        Dataset folder: OSP clock measurements are journaled there, and the session opened is recorded.
    session : str, optional
        Study session id (default: from the time now, ``YYYYMMDDTHHMMSSZ``).
    client_backend, scanner_backend : type or None
        bleak backend classes (None: the platform's).
    policy : RetryPolicy, optional
        Retry limits and timeouts.

    Returns
    -------
    SessionStart
        Each sensor's outcome; a sensor's failure does not stop the others.

    Raises
    ------
    JournalError
        ``busy`` when another imurehab process writes to ``out``.
    """
    b = _Backends(client_backend, scanner_backend, policy or RetryPolicy())
    session = session or default_session_id()
    root = JournalRoot(Path(out))
    with root.locked():
        resolved = await resolve_sensors(profile, scanner_backend=b.scanner, timeout=b.policy.scan_timeout_s)
        outcomes = await _on_families(START_FAMILIES, resolved, root, b)
        result = SessionStart(profile, Path(out), session, outcomes, resolved.missing)
        record = {
            **result.to_json(),
            "profile": None if profile.path is None else str(profile.path),
            "started_utc": datetime.now(UTC).isoformat(),
        }
        make_dirs(Path(out) / SESSIONS_DIR)
        write_json_atomic(Path(out) / SESSIONS_DIR / f"{profile.subject}.json", record)
    return result


@dataclass
class SessionSync:
    """What :func:`sync_session` did, step by step, and what is missing.

    Attributes
    ----------
    profile : SessionProfile
        The profile.
    dataset : Path
        Dataset folder.
    subject, session : str
        The study session synced into.
    exercise : str or None
        The session's exercise.
    stopped : list of LoggingOutcome
        Stopping onboard logging, per sensor (empty when not asked).
    sync : SyncReport or None
        The download (None when no sensor was found).
    placements : dict of str to str
        Sensor id → segment written into ``sessions``.
    processed : SessionResult or None
        Processing (None when nothing was synced).
    report : PhysioReport or None
        The physiotherapist's report (None when it could not be made).
    missing : list of str
        What is incomplete, one line each, for a person.
    notes : list of str
        Other things worth knowing (processing notes, sensors that were not logging).
    """

    profile: SessionProfile
    dataset: Path
    subject: str
    session: str
    exercise: str | None
    stopped: list[LoggingOutcome] = field(default_factory=list)
    sync: SyncReport | None = None
    placements: dict[str, str] = field(default_factory=dict)
    processed: SessionResult | None = None
    report: PhysioReport | None = None
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every sensor downloaded whole and verified, placed, processed and reported."""
        return not self.missing

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict of every step's figures and the lines of what is missing."""
        return {
            "subject": self.subject,
            "session": self.session,
            "dataset": str(self.dataset),
            "exercise": self.exercise,
            "complete": self.complete,
            "missing": self.missing,
            "notes": self.notes,
            "stopped": [s.to_json() for s in self.stopped],
            "sync": None if self.sync is None else self.sync.to_json(),
            "placements": self.placements,
            "processed": None if self.processed is None else self.processed.to_dict(),
            "report": None if self.report is None else str(self.report.path),
        }


def _session_exercise(profile: SessionProfile, exercise: str | None) -> str | None:
    if exercise is None:
        return profile.exercises[0] if profile.exercises else None
    if exercise not in profile.exercises:
        listed = ", ".join(profile.exercises) or "none"
        raise ProfileError(f"exercise {exercise!r} is not in the profile (its exercises: {listed})")
    return exercise


def _download_gaps(result: SessionSync, resolved: ResolvedSensors, sync_report: SyncReport) -> None:
    """Say which sensor is not whole, and why, in the words of the profile."""
    placement = {
        resolved.addresses[s.label].upper(): s.placement
        for s in result.profile.sensors
        if s.label in resolved.addresses
    }
    for s in sync_report.sensors:
        if s.complete:
            continue
        why = str(s.error) if s.error is not None else "log not verified whole (still logging?)"
        name = f"{s.serial or s.address} ({placement.get(s.address.upper(), '?')})"
        result.missing.append(f"{name}: {why}; {s.samples:,} samples kept — run the sync again to resume")
    if sync_report.write_error is not None:
        result.missing.append(f"writing the dataset: {sync_report.write_error}")


def _process_and_report(result: SessionSync, report_path: Path, on_phase: PhaseCallback) -> None:
    """Placements into ``sessions``, then processing and the report (blocking: run in a thread)."""
    on_phase("placing the sensors on their segments")
    try:
        _, absent = store_placements(
            result.dataset, result.subject, result.session, result.placements, result.exercise
        )
        on_phase("processing: orientation, joint angles, repetitions")
        options = BatchOptions()
        plan = plan_batch(result.dataset, subject=result.subject, session=result.session, options=options)
    except ImurehabError as err:  # e.g. every log was synced into another session before
        result.missing.append(f"session {result.subject}/{result.session} not processed: {err}")
        return
    for sensor in absent:
        result.missing.append(f"{sensor} ({result.placements.pop(sensor)}): no samples in this session")
    processed = run_batch(plan).results[0]
    result.processed = processed
    result.notes += list(processed.notes)
    if processed.status == "failed":
        result.missing.append(f"processing: {processed.error}")
        return
    on_phase("writing the report")
    report_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        result.report = physio_report(result.dataset, result.subject, result.session, report_path)
    except ImurehabError as err:
        result.missing.append(f"report: {err}")


async def sync_session(
    profile: SessionProfile,
    out: str | Path,
    *,
    session: str | None = None,
    exercise: str | None = None,
    stop: bool = True,
    erase: bool = False,
    report_path: str | Path | None = None,
    client_backend: type[BaseBleakClient] | None = None,
    scanner_backend: type[BaseBleakScanner] | None = None,
    policy: RetryPolicy | None = None,
    progress: Callable[[SyncProgress], None] | None = None,
    on_phase: PhaseCallback | None = None,
) -> SessionSync:
    """Stop logging, download every sensor verified, place, process and report: one session in one go.

    Parameters
    ----------
    profile : SessionProfile
        The profile; only its sensors are connected to.
    out : str or Path
        Dataset folder (the raw journal lives in it too).
    session : str, optional
        Study session id. Default: the one :func:`start_session` opened for the subject in ``out``,
        else from the time now.
    exercise : str, optional
        The session's exercise, one of the profile's (default: its first).
    stop : bool
        Stop onboard logging first, so that each log is whole (a log still running is never complete).
    erase : bool
        Erase each log on its sensor once it is verified whole.
    report_path : str or Path, optional
        The report page (``.html``). Default: ``<out>/reports/<subject>-<session>.html``.
    client_backend, scanner_backend : type or None
        bleak backend classes (None: the platform's).
    policy : RetryPolicy, optional
        Retry limits and timeouts.
    progress : callable, optional
        Called with each :class:`~imurehab.ble.SyncProgress` of the download.
    on_phase : callable, optional
        Called with a short line as each step begins.

    Returns
    -------
    SessionSync
        Every step's figures; ``missing`` says what is incomplete.

    Raises
    ------
    ProfileError
        ``exercise`` is not one of the profile's.
    JournalError
        ``busy`` when another imurehab process writes to ``out``.
    """
    phase = on_phase or (lambda _: None)
    b = _Backends(client_backend, scanner_backend, policy or RetryPolicy())
    out = Path(out)
    chosen = _session_exercise(profile, exercise)
    session = session or started_session(out, profile.subject) or default_session_id()
    result = SessionSync(profile, out, profile.subject, session, chosen)
    phase("finding the profile's sensors")
    resolved = await resolve_sensors(profile, scanner_backend=b.scanner, timeout=b.policy.scan_timeout_s)
    result.missing += [f"{label}: {why}" for label, why in resolved.missing.items()]
    if not resolved.addresses:
        return result
    if stop:
        phase("stopping onboard logging")
        with JournalRoot(out).locked() as root:
            result.stopped = await _on_families(STOP_FAMILIES, resolved, root, b)
        result.notes += [f"{s.address}: logging not stopped: {s.error}" for s in result.stopped if not s.done]
    phase("downloading every sensor's log")
    report = await sync(
        list(resolved.families),
        out,
        client_backend=b.client,
        scanner_backend=b.scanner,
        erase=erase,
        progress=progress,
        subject=profile.subject,
        session=session,
        policy=b.policy,
        families={a: f for a, f in resolved.families.items() if f is not None},
    )
    result.sync, result.subject, result.session = report, report.subject, report.session
    _download_gaps(result, resolved, report)
    result.placements, problems = placements_from_sync(profile, resolved, report)
    result.missing += problems
    if not report.paths:
        result.missing.append(f"no samples were written to {out}: nothing to process")
        return result
    path = Path(report_path) if report_path else out / "reports" / f"{result.subject}-{result.session}.html"
    await asyncio.to_thread(_process_and_report, result, path, phase)
    return result
