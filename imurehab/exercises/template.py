"""Exercise templates: what a correct repetition of an exercise looks like, read from a TOML file.

A template names the joint and degree of freedom the repetitions are counted on, the calibration pose,
which way a repetition moves, the angle or range a full repetition reaches, the tempo, the compensations
to watch on other joints and the cues spoken to the patient. Templates are data: a physiotherapist
writes a new one as a TOML file (format in ``docs/exercise-templates.md``); every file is checked
strictly and a broken one raises :class:`~imurehab.errors.TemplateError` naming the file and the key.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from imurehab.errors import TemplateError
from imurehab.exercises._table import Table, show

__all__ = [
    "DIRECTIONS",
    "DOFS",
    "JOINTS",
    "MIDLINE_JOINTS",
    "PLANES",
    "POSES",
    "REQUIRED_CUES",
    "CompensationCheck",
    "ExerciseTemplate",
    "list_templates",
    "load_template",
]

JOINTS: Final[frozenset[str]] = frozenset({"knee", "hip", "ankle", "elbow", "shoulder", "lumbar"})
"""Joints a template may name (rows of the ``joint_angles`` table)."""
MIDLINE_JOINTS: Final[frozenset[str]] = frozenset({"lumbar"})
"""Joints without a side (``side`` is null in the ``joint_angles`` table)."""
DOFS: Final[frozenset[str]] = frozenset({"flexion_deg", "abduction_deg", "rotation_deg"})
"""Angle columns of the ``joint_angles`` table (for the shoulder ``flexion_deg`` is the elevation)."""
POSES: Final[frozenset[str]] = frozenset({"standing", "sitting", "supine"})
PLANES: Final[frozenset[str]] = frozenset({"sagittal", "frontal", "transverse"})
"""Calibration poses."""
DIRECTIONS: Final[frozenset[str]] = frozenset({"increase", "decrease"})
"""Which way the counted angle moves from rest during a repetition."""
REQUIRED_CUES: Final[tuple[str, ...]] = ("deeper", "slower", "faster", "rep")
"""Cue events every template must give a text for."""

_SIDES: Final[tuple[str, ...]] = ("left", "right")
_CHECK_SIDES: Final[frozenset[str]] = frozenset({"same", "other"})
_NAME_RE: Final = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_MAX_ANGLE_DEG: Final[float] = 360.0


@dataclass(frozen=True)
class CompensationCheck:
    """A movement of another joint (or another axis of the same joint) that should not happen.

    Attributes
    ----------
    name : str
        Kebab-case name; a rep showing it is flagged ``"compensation:<name>"`` (e.g. ``"trunk-lean"``).
    joint : str
        The joint whose angle is watched (one of :data:`JOINTS`).
    side : str or None
        ``None`` for midline joints (lumbar); ``"same"`` for the exercised side, ``"other"`` for the
        opposite side.
    dof : str
        The watched angle column (one of :data:`DOFS`).
    max_change_deg : float
        Flag when the watched angle departs from its value at the repetition's start by more than
        this [deg].
    cue : str
        Text for the patient (``"keep your trunk upright"``).
    """

    name: str
    joint: str
    side: str | None
    dof: str
    max_change_deg: float
    cue: str

    def to_dict(self) -> dict[str, Any]:
        """The check as a JSON-ready dict (keys as the attributes)."""
        return dict(vars(self))


@dataclass(frozen=True)
class ExerciseTemplate:
    """A declarative description of one exercise.

    Attributes
    ----------
    name : str
        Kebab-case name (``"seated-knee-extension"``).
    title : str
        Human-readable title.
    joint : str
        Joint the repetitions are counted on (one of :data:`JOINTS`).
    dof : str
        Angle column the repetitions are counted on (one of :data:`DOFS`; shoulder elevation is
        ``"flexion_deg"``).
    pose : str
        Calibration pose: ``"standing"``, ``"sitting"`` or ``"supine"``.
    direction : str
        ``"increase"`` when a repetition moves the angle up from rest (squat: knee flexion 0 → 90°),
        ``"decrease"`` when it moves it down (seated knee extension: 90 → 0°).
    target_deg : float or None
        The angle a full repetition reaches [deg], or ``None``.
    target_rom_deg : float or None
        The smallest range of motion of a full repetition [deg], or ``None``.
    tolerance_deg : float
        A repetition short of a target by more than this is flagged ``"rom_short"`` [deg].
    min_rep_s, max_rep_s : float
        Repetitions shorter than ``min_rep_s`` are flagged ``"too_fast"``, longer than ``max_rep_s``
        ``"too_slow"`` [s].
    compensations : tuple of CompensationCheck
        Movements to watch on other joints or axes.
    cues : Mapping of str to str
        Cue event → text for the patient; holds at least :data:`REQUIRED_CUES`.
    sides : tuple of (str or None)
        Sides the exercise may be done on: ``("left", "right")``, one of them, or ``(None,)`` for a
        midline joint.
    description : str
        How to do the exercise.
    source : str
        Where the targets come from (a citation), or ``"clinician-set default"``.
    plane : str
        Anatomical plane the movement is done in: ``"sagittal"`` (default; flexion and extension),
        ``"frontal"`` (abduction, side bending) or ``"transverse"`` (rotation). Calibration from the
        movement uses it to name the axis the moving segment turns about.
    """

    name: str
    title: str
    joint: str
    dof: str
    pose: str
    direction: str
    target_deg: float | None
    target_rom_deg: float | None
    tolerance_deg: float
    min_rep_s: float
    max_rep_s: float
    compensations: tuple[CompensationCheck, ...]
    cues: Mapping[str, str]
    sides: tuple[str | None, ...]
    description: str
    source: str
    plane: str = "sagittal"

    def to_dict(self) -> dict[str, Any]:
        """The template as a JSON-ready dict (keys as the attributes, compensations as dicts)."""
        return {
            **vars(self),
            "compensations": [c.to_dict() for c in self.compensations],
            "cues": dict(self.cues),
            "sides": list(self.sides),
        }


def _builtin_dir() -> resources.abc.Traversable:
    return resources.files("imurehab.exercises").joinpath("templates")


def list_templates() -> list[str]:
    """Names of the built-in exercise templates.

    Returns
    -------
    list of str
        Sorted kebab-case names (``"elbow-flexion"``, ``"heel-slide"``, ...).

    Examples
    --------
    >>> "seated-knee-extension" in list_templates()
    True
    """
    return sorted(p.name.removesuffix(".toml") for p in _builtin_dir().iterdir() if p.name.endswith(".toml"))


def load_template(name_or_path: str | os.PathLike[str]) -> ExerciseTemplate:
    """Load and check an exercise template.

    Parameters
    ----------
    name_or_path : str or path-like
        A built-in template's name (see :func:`list_templates`), or the path of a ``.toml`` file.
        A string is taken as a path when it ends in ``.toml`` or holds a path separator.

    Returns
    -------
    ExerciseTemplate

    Raises
    ------
    TemplateError
        The name is not built in, the file cannot be read, is not TOML, or breaks the format; the
        error's ``path`` and ``key`` say where.

    Examples
    --------
    >>> t = load_template("squat")
    >>> t.joint, t.dof, t.direction, t.target_deg
    ('knee', 'flexion_deg', 'increase', 90.0)
    """
    if isinstance(name_or_path, str) and not _looks_like_path(name_or_path):
        if name_or_path not in list_templates():
            raise TemplateError(
                f"no built-in exercise template {name_or_path!r}; built-in: {', '.join(list_templates())} "
                "(or give the path of a .toml file)"
            )
        item = _builtin_dir().joinpath(f"{name_or_path}.toml")
        return _parse(item.read_text(encoding="utf-8"), Path(str(item)))
    path = Path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TemplateError("file not found", path=path) from None
    except (OSError, UnicodeDecodeError) as err:
        raise TemplateError(f"cannot read the file ({err})", path=path) from None
    return _parse(text, path)


def _looks_like_path(text: str) -> bool:
    return text.endswith(".toml") or "/" in text or os.sep in text


# --- checking --------------------------------------------------------------------------------------


def _parse(text: str, path: Path) -> ExerciseTemplate:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise TemplateError(f"not valid TOML: {err}", path=path) from None
    top = Table(data, "", path)
    name = top.text("name")
    assert name is not None
    if not _NAME_RE.match(name):
        raise top.fail("name", f"expected kebab-case (lower-case words joined by '-'), got {name!r}")
    title = top.text("title")
    description = top.text("description")
    source = top.text("source")
    joint = top.choice("joint", JOINTS)
    dof = top.choice("dof", DOFS)
    pose = top.choice("pose", POSES)
    direction = top.choice("direction", DIRECTIONS)
    plane = top.choice("plane", PLANES) if top.has("plane") else "sagittal"
    sides = _sides(top, joint)

    target = top.table("target")
    assert target is not None
    target_deg = target.number("angle_deg", required=False, low=-_MAX_ANGLE_DEG, high=_MAX_ANGLE_DEG)
    target_rom_deg = target.number("rom_deg", required=False, low=0.0, high=_MAX_ANGLE_DEG)
    tolerance_deg = target.number("tolerance_deg", low=0.0, high=_MAX_ANGLE_DEG)
    target.done()

    tempo = top.table("tempo")
    assert tempo is not None
    min_rep_s = tempo.number("min_rep_s", low=0.0)
    max_rep_s = tempo.number("max_rep_s", low=0.0)
    assert min_rep_s is not None and max_rep_s is not None
    if min_rep_s >= max_rep_s:
        raise tempo.fail("min_rep_s", f"must be less than max_rep_s ({min_rep_s:g} >= {max_rep_s:g})")
    tempo.done()

    cues = _cues(top)
    compensations = _compensations(top, path, joint, dof)
    top.done()
    assert title is not None and description is not None and source is not None
    assert tolerance_deg is not None
    return ExerciseTemplate(
        name=name,
        title=title,
        joint=joint,
        dof=dof,
        pose=pose,
        direction=direction,
        target_deg=target_deg,
        target_rom_deg=target_rom_deg,
        tolerance_deg=tolerance_deg,
        min_rep_s=min_rep_s,
        max_rep_s=max_rep_s,
        compensations=compensations,
        cues=cues,
        sides=sides,
        description=description,
        source=source,
        plane=plane,
    )


def _sides(top: Table, joint: str) -> tuple[str | None, ...]:
    if joint in MIDLINE_JOINTS:
        if top.has("sides"):
            raise top.fail("sides", f"{joint} is a midline joint: leave 'sides' out")
        return (None,)
    value = top.raw("sides", required=False)
    if value is None:
        return _SIDES
    if (
        not isinstance(value, list)
        or not value
        or any(s not in _SIDES for s in value)
        or len(set(value)) != len(value)
    ):
        raise top.fail("sides", f'expected a list of distinct "left", "right", got {show(value)}')
    return tuple(s for s in _SIDES if s in value)


def _cues(top: Table) -> Mapping[str, str]:
    table = top.table("cues")
    assert table is not None
    cues: dict[str, str] = {}
    for event in REQUIRED_CUES:
        cues[event] = table.text(event) or ""
    for event in table.remaining():
        if not _NAME_RE.match(event):
            raise table.fail(event, "expected a kebab-case cue event name")
        cues[event] = table.text(event) or ""
    return MappingProxyType(cues)


def _compensations(top: Table, path: Path, joint: str, counted_dof: str) -> tuple[CompensationCheck, ...]:
    items = top.raw("compensation", required=False)
    if items is None:
        return ()
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise top.fail("compensation", "expected [[compensation]] tables")
    checks: list[CompensationCheck] = []
    for i, item in enumerate(items, start=1):
        t = Table(item, f"compensation[{i}]", path)
        name = t.text("name")
        assert name is not None
        if not _NAME_RE.match(name):
            raise t.fail("name", f"expected kebab-case, got {name!r}")
        if any(c.name == name for c in checks):
            raise t.fail("name", f"two compensation checks are named {name!r}")
        watched = t.choice("joint", JOINTS)
        if watched in MIDLINE_JOINTS:
            if t.has("side"):
                raise t.fail("side", f"{watched} is a midline joint: leave 'side' out")
            side = None
        elif joint in MIDLINE_JOINTS:
            raise t.fail("joint", f"a {joint} exercise has no side, so it can only watch midline joints")
        else:
            side = t.choice("side", _CHECK_SIDES)
        dof = t.choice("dof", DOFS)
        if watched == joint and side in (None, "same") and dof == counted_dof:
            raise t.fail("dof", "watches the very angle the repetitions are counted on")
        max_change = t.number("max_change_deg", low=0.0, high=_MAX_ANGLE_DEG)
        assert max_change is not None
        if max_change == 0.0:
            raise t.fail("max_change_deg", "expected a number above 0")
        cue = t.text("cue")
        assert cue is not None
        t.done()
        checks.append(CompensationCheck(name, watched, side, dof, max_change, cue))
    return tuple(checks)
