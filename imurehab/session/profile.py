"""Session profiles: a TOML file naming the subject, the sensors and their segments, exercises and pose.

A profile is what a physiotherapist sets up once per patient and reuses every visit
(``docs/session-profiles.md``; ``examples/profiles/knee-rehab.toml``)::

    subject = "P017"
    exercises = ["seated-knee-extension"]
    calibration_pose = "sitting"

    [[sensors]]
    address = "F0:12:34:56:00:01"
    segment = "thigh"
    side = "right"

Only the sensors a profile names are ever connected to. Each is named by its ``address``, its ``serial``
or both (then the serial it reports must match); ``family`` is told from its advertisement unless given.
Every problem is a :class:`ProfileError` naming the file and the dotted key (``sensors[2].side``).

Examples
--------
>>> profile = parse_profile('''
... subject = "P017"
... exercises = ["seated-knee-extension"]
... [[sensors]]
... address = "F0:12:34:56:00:01"
... segment = "thigh"
... side = "right"
... ''')
>>> profile.sensors[0].placement, profile.calibration_pose
('thigh_right', 'sitting')
>>> parse_profile(profile.to_toml()) == profile
True
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from imurehab.ble.sync import SYNC_FAMILIES
from imurehab.body.segments import MIDLINE_SEGMENTS, sided_segment
from imurehab.errors import ImurehabError, ProfileError
from imurehab.exercises import POSES, list_templates, load_template
from imurehab.types import SEGMENTS, check_identifier

__all__ = ["SIDES", "ProfileError", "ProfileSensor", "SessionProfile", "load_profile", "parse_profile"]

SIDES: Final[frozenset[str]] = frozenset({"left", "right"})
"""Sides of a paired segment."""
_SEGMENT_NAMES: Final[frozenset[str]] = frozenset(
    s.rsplit("_", 1)[0] if s.endswith(("_left", "_right")) else s for s in SEGMENTS
)
_DOCS: Final = "docs/session-profiles.md"


@dataclass(frozen=True)
class ProfileSensor:
    """One sensor of a profile and where it is strapped.

    Parameters
    ----------
    segment : str
        Body segment without side: ``thigh``, ``shank``, ``foot``, ``upper_arm``, ``forearm``, ``hand``
        (these need ``side``), or ``pelvis``, ``trunk``, ``head``.
    side : {"left", "right"} or None
        Side of a paired segment; None for a midline one.
    address : str or None
        BLE address as the platform names it (a MAC, or a UUID on macOS).
    serial : str or None
        The serial the sensor reports (at least one of ``address`` and ``serial``).
    family : str or None
        Protocol family (a key of :data:`~imurehab.ble.SYNC_FAMILIES`); None: told from its advertisement.
    """

    segment: str
    side: str | None = None
    address: str | None = None
    serial: str | None = None
    family: str | None = None

    @property
    def placement(self) -> str:
        """The segment with its side, as the ``sessions`` table stores it (``"thigh_right"``)."""
        return sided_segment(self.segment, self.side)

    @property
    def label(self) -> str:
        """How a person names this sensor: its address, else its serial."""
        return self.address or self.serial or "?"

    def to_toml(self) -> str:
        """The sensor as a ``[[sensors]]`` table of TOML text."""
        lines = ["[[sensors]]"]
        for key in ("address", "serial", "family", "segment", "side"):
            if (value := getattr(self, key)) is not None:
                lines.append(f"{key} = {_toml_text(value)}")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class SessionProfile:
    """A session profile: subject, sensors with placements, exercises and calibration pose.

    Parameters
    ----------
    subject : str
        Pseudonymous subject id (letters, digits, ``._-``; 1–64 characters). Never a name.
    sensors : tuple of ProfileSensor
        The sensors, each on its own segment.
    exercises : tuple of str
        Built-in exercise templates (``imurehab.exercises.list_templates()``) done in a session; the first
        is the session's exercise unless another is chosen when syncing.
    calibration_pose : {"standing", "sitting", "supine"} or None
        The pose held still at the start of each set; every exercise must start in it. None: each
        exercise in its own pose (:meth:`poses`). Read from a file, it defaults to the exercises' pose
        when they share one.
    path : Path or None
        The file it was read from (not compared).
    """

    subject: str
    sensors: tuple[ProfileSensor, ...]
    exercises: tuple[str, ...] = ()
    calibration_pose: str | None = None
    path: Path | None = field(default=None, compare=False)

    def poses(self) -> dict[str, str]:
        """Each exercise's calibration pose (the profile's, else its template's).

        Returns
        -------
        dict of str to str
            Exercise → ``"standing"``, ``"sitting"`` or ``"supine"``.
        """
        return {e: self.calibration_pose or load_template(e).pose for e in self.exercises}

    def to_toml(self) -> str:
        """The profile as TOML text that :func:`parse_profile` reads back equal."""
        top = [f"subject = {_toml_text(self.subject)}"]
        top.append(f"exercises = [{', '.join(_toml_text(e) for e in self.exercises)}]")
        if self.calibration_pose is not None:
            top.append(f"calibration_pose = {_toml_text(self.calibration_pose)}")
        return "\n".join([*top, "", *(s.to_toml() for s in self.sensors)])


def _toml_text(value: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


class _Keys:
    """One TOML table of a profile being checked: takes keys off it, names the dotted key in errors."""

    def __init__(self, data: Mapping[str, Any], where: str, path: Path | None) -> None:
        self.data, self.where, self.path = dict(data), where, path

    def key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def fail(self, name: str | None, message: str) -> ProfileError:
        return ProfileError(message, path=self.path, key=self.key(name) if name else self.where or None)

    def need(self, name: str) -> str:
        if name not in self.data:
            raise self.fail(name, "missing (required)")
        value = self.text(name)
        assert value is not None
        return value

    def text(self, name: str) -> str | None:
        if name not in self.data:
            return None
        value = self.data.pop(name)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(name, f"expected non-empty text, got {type(value).__name__} {value!r}")
        return value.strip()

    def names(self, name: str) -> list[str]:
        value = self.data.pop(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(name, f"expected a list of names in quotes, got {value!r}")
        return [v.strip() for v in value]

    def tables(self, name: str) -> list[_Keys]:
        value = self.data.pop(name, None)
        if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
            raise self.fail(name, f"expected one or more [[{name}]] tables, got {value!r}")
        return [_Keys(v, f"{self.key(name)}[{i}]", self.path) for i, v in enumerate(value, 1)]

    def done(self) -> None:
        """Refuse a key left over: it is not part of the format (most often a typo)."""
        if self.data:
            raise self.fail(min(self.data), f"unknown key (check its spelling; see {_DOCS})")


def _sensor(t: _Keys) -> ProfileSensor:
    address = t.text("address")
    serial = t.text("serial")
    if address is None and serial is None:
        raise t.fail(None, "give the sensor's address or serial (or both)")
    family = t.text("family")
    if family is not None and family not in SYNC_FAMILIES:
        raise t.fail("family", f"expected one of {', '.join(sorted(SYNC_FAMILIES))}, got {family!r}")
    segment = t.need("segment")
    if segment not in _SEGMENT_NAMES:
        raise t.fail("segment", f"expected one of {', '.join(sorted(_SEGMENT_NAMES))}, got {segment!r}")
    side = t.text("side")
    if segment in MIDLINE_SEGMENTS and side is not None:
        raise t.fail("side", f"{segment} is a midline segment: leave out its side")
    if segment not in MIDLINE_SEGMENTS and side is None:
        raise t.fail("side", f"missing (required for {segment}: left or right)")
    if side is not None and side not in SIDES:
        raise t.fail("side", f"expected left or right, got {side!r}")
    t.done()
    return ProfileSensor(segment, side, address, serial, family)


def _check_sensors(sensors: list[ProfileSensor], tables: list[_Keys]) -> None:
    seen: dict[tuple[str, str], int] = {}
    for i, (s, t) in enumerate(zip(sensors, tables, strict=True), 1):
        keys = [("address", s.address.upper())] if s.address else []
        keys += [("serial", s.serial)] if s.serial else []
        keys.append(("placement", s.placement))
        for kind, value in keys:
            if (first := seen.setdefault((kind, value), i)) != i:
                what = f"on {value}" if kind == "placement" else f"{kind} {value!r}"
                raise t.fail(kind if kind != "placement" else "segment", f"sensors[{first}] is {what} too")


def _check_exercises(t: _Keys, exercises: list[str], pose: str | None) -> str | None:
    for i, name in enumerate(exercises, 1):
        if name not in list_templates():
            raise t.fail(
                f"exercises[{i}]",
                f"unknown exercise template {name!r}; built-in: {', '.join(list_templates())}",
            )
    poses = {name: load_template(name).pose for name in exercises}
    if pose is None:
        found = set(poses.values())
        return found.pop() if len(found) == 1 else None
    for i, (name, own) in enumerate(poses.items(), 1):
        if own != pose:
            raise t.fail(f"exercises[{i}]", f"{name} is calibrated {own}, not {pose} (calibration_pose)")
    return pose


def parse_profile(text: str, path: str | os.PathLike[str] | None = None) -> SessionProfile:
    """Read a session profile from TOML text, checking every key.

    Parameters
    ----------
    text : str
        The TOML text.
    path : str or os.PathLike, optional
        The file it came from (named in errors).

    Returns
    -------
    SessionProfile

    Raises
    ------
    ProfileError
        Not TOML; a missing subject or no sensors; an unknown key; a bad segment, side or family; a
        sensor named twice or two on one segment; an unknown exercise template; a calibration pose
        that is not one of the exercises' own.
    """
    where = None if path is None else Path(path)
    try:
        data: Mapping[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ProfileError(f"not valid TOML: {err}", path=where) from None
    top = _Keys(data, "", where)
    subject = top.need("subject")
    try:
        check_identifier(subject, "subject")
    except ImurehabError as err:
        raise top.fail("subject", str(err)) from None
    exercises = top.names("exercises")
    if len(set(exercises)) < len(exercises):
        raise top.fail("exercises", "an exercise is listed twice")
    pose = top.text("calibration_pose")
    if pose is not None and pose not in POSES:
        raise top.fail("calibration_pose", f"expected one of {', '.join(sorted(POSES))}, got {pose!r}")
    pose = _check_exercises(top, exercises, pose)
    tables = top.tables("sensors")
    top.done()
    sensors = [_sensor(t) for t in tables]
    _check_sensors(sensors, tables)
    return SessionProfile(subject, tuple(sensors), tuple(exercises), pose, where)


def load_profile(path: str | os.PathLike[str]) -> SessionProfile:
    """Read and check a session profile file (``.toml``).

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    SessionProfile

    Raises
    ------
    ProfileError
        The file cannot be read, or breaks the format (see :func:`parse_profile`).
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProfileError("file not found", path=path) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ProfileError(f"cannot read the file ({err})", path=path) from None
    return parse_profile(text, path)
