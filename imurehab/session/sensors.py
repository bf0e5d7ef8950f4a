"""Which device is which sensor of a profile: addresses, families, reported serials, placements stored.

A profile names each sensor by address, serial or both. Addresses are used as given; a sensor named by
serial alone is found by a scan (no connection) among the devices whose advertised name holds that
serial (Polar and Movesense advertise theirs; an OSP sensor must be named by address). A family not in
the profile is told from the advertisement. After a sync, :func:`placements_from_sync` maps each synced
sensor (by its dataset id, from its serial) to its segment, refusing a sensor whose reported serial is
not the profile's, and :func:`store_placements` writes them, with the exercise, into the session's
``sessions`` row, which ``imurehab process`` reads to know which sensor is on which segment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from bleak.backends.scanner import BaseBleakScanner

from imurehab.ble import SyncReport, discover, find_families
from imurehab.ble.files import safe_name
from imurehab.errors import DatasetNotFoundError
from imurehab.session.profile import ProfileSensor, SessionProfile
from imurehab.store import polars_schema, read_table, write_table
from imurehab.store import schema as col

__all__ = ["ResolvedSensors", "placements_from_sync", "resolve_sensors", "store_placements"]


@dataclass
class ResolvedSensors:
    """The profile's sensors as devices: address and family of each one found.

    Attributes
    ----------
    addresses : dict of str to str
        Sensor label (:attr:`~imurehab.session.ProfileSensor.label`) → address, for every sensor found.
    families : dict of str to str or None
        Address → family (None: not seen and not in the profile; the OSP sync then reports it).
    missing : dict of str to str
        Sensor label → why it has no address.
    """

    addresses: dict[str, str] = field(default_factory=dict)
    families: dict[str, str | None] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def group(self) -> dict[str, list[str]]:
        """Family → its addresses (a family not known goes with ``"osp"``), in profile order."""
        groups: dict[str, list[str]] = {}
        for address, family in self.families.items():
            groups.setdefault(family or "osp", []).append(address)
        return groups


async def resolve_sensors(
    profile: SessionProfile,
    *,
    scanner_backend: type[BaseBleakScanner] | None = None,
    timeout: float = 10.0,
) -> ResolvedSensors:
    """Find each profile sensor's address and family, without connecting to anything.

    Parameters
    ----------
    profile : SessionProfile
        The profile.
    scanner_backend : type or None
        bleak scanner backend class (None: the platform's).
    timeout : float
        Longest scan [s] (only when a serial or a family has to be found).

    Returns
    -------
    ResolvedSensors
    """
    out = ResolvedSensors()
    by_serial = [s for s in profile.sensors if s.address is None]
    if by_serial:
        seen = await discover(scanner_backend=scanner_backend, timeout=timeout)
        for s in by_serial:
            serial = (s.serial or "").lower()
            matches = [d.address for d in seen if d.name and serial in d.name.lower()]
            if len(matches) == 1:
                out.addresses[s.label] = matches[0]
            else:
                why = "no device advertises" if not matches else f"{len(matches)} devices advertise"
                out.missing[s.label] = f"{why} a name with serial {s.serial}; give its address in the profile"
    for s in profile.sensors:
        if s.address is not None:
            out.addresses[s.label] = s.address
    family_of = {out.addresses[s.label]: s.family for s in profile.sensors if s.label in out.addresses}
    unknown = [a for a, f in family_of.items() if f is None]
    if unknown:
        found = await find_families(unknown, scanner_backend=scanner_backend, timeout=timeout)
        family_of |= {a: found.get(a) for a in unknown}
    out.families = family_of
    return out


def placements_from_sync(
    profile: SessionProfile, resolved: ResolvedSensors, report: SyncReport
) -> tuple[dict[str, str], list[str]]:
    """Each synced sensor's dataset id → its segment, and what could not be placed.

    Parameters
    ----------
    profile : SessionProfile
        The profile.
    resolved : ResolvedSensors
        Its sensors' addresses.
    report : SyncReport
        The sync of those addresses.

    Returns
    -------
    (dict of str to str, list of str)
        Placements (sensor id as in ``samples`` → ``"thigh_right"``) and one line per sensor left out.
    """
    by_address = {s.address.upper(): s for s in report.sensors}
    placements: dict[str, str] = {}
    problems = []
    for sensor in profile.sensors:
        address = resolved.addresses.get(sensor.label)
        synced = None if address is None else by_address.get(address.upper())
        if synced is None or synced.serial is None:
            continue  # not found or never reached: the sync report says why
        if sensor.serial is not None and synced.serial != sensor.serial:
            problems.append(_wrong_serial(sensor, synced.serial))
            continue
        placements[synced.sensor_id or safe_name(synced.serial)] = sensor.placement
    return placements, problems


def _wrong_serial(sensor: ProfileSensor, reported: str) -> str:
    return (
        f"{sensor.label} reported serial {reported}, the profile says {sensor.serial}: "
        f"not placed on {sensor.placement} (is it the right sensor?)"
    )


def store_placements(
    root: str | os.PathLike[str],
    subject: str,
    session: str,
    placements: Mapping[str, str],
    exercise: str | None,
) -> tuple[Path, list[str]]:
    """Write placements and exercise into a session's ``sessions`` row (the rest of the row is kept).

    Parameters
    ----------
    root : str or os.PathLike
        Dataset folder.
    subject, session : str
        The session (its ``samples`` and ``sessions`` written by a sync).
    placements : mapping of str to str
        Sensor id (as in ``samples``) → segment with side (``"thigh_right"``).
    exercise : str or None
        The session's exercise (an exercise template's name).

    Returns
    -------
    (Path, list of str)
        The part written, and the sensors of ``placements`` the session does not hold (left out).

    Raises
    ------
    DatasetNotFoundError
        The session has no ``sessions`` row (nothing was synced into it).
    """
    row = read_table(root, col.SESSIONS, subject=subject, session=session).collect()
    if row.height != 1:
        raise DatasetNotFoundError(f"no sessions row for {subject}/{session}", path=Path(root))
    held = {s[col.SENSOR] for s in row.get_column(col.SENSORS)[0]}
    kept = {sensor: segment for sensor, segment in placements.items() if sensor in held}
    value = [{col.SENSOR: sensor, col.SEGMENT: segment} for sensor, segment in sorted(kept.items())]
    schema = polars_schema(col.SESSIONS)
    row = row.select(schema.names()).with_columns(
        pl.Series(col.PLACEMENTS, [value], dtype=schema[col.PLACEMENTS]),
        pl.Series(col.EXERCISE, [exercise], dtype=schema[col.EXERCISE]),
    )
    path = write_table(row, root, col.SESSIONS, subject=subject, session=session, overwrite=True)
    return path, sorted(set(placements) - held)
