"""The Movella DOT profile (``firmware_protocols/movella-dot/profile.toml``) as typed constants.

Everything protocol-specific the codec needs (field formats, payload modes, message identifiers,
result codes) is read here once, so the other modules hold no numbers of their own.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from imurehab.errors import ProtocolError
from imurehab.protocols.profiles import load_profile

FAMILY_NAME: Final = "movella-dot"
PROFILE: Final[dict[str, Any]] = load_profile(FAMILY_NAME)


def error(message: str, reason: str, offset: int | None = None) -> ProtocolError:
    """A :class:`~imurehab.errors.ProtocolError` of this family."""
    return ProtocolError(message, family=FAMILY_NAME, reason=reason, offset=offset)


@dataclass(frozen=True)
class Field:
    """One measurement data type (Table 17 of the BLE spec).

    Attributes
    ----------
    name : str
        Field name (``"acc"``, ``"quaternion"``, ...).
    dtype : numpy.dtype
        Wire type of one element (little-endian).
    count : int
        Elements per sample.
    unit : str
        Unit on the wire after ``scale``.
    scale : float
        Wire value × scale = value in ``unit`` (fixed-point fields).
    code : int or None
        SelectExportData code (Table 25), None where the field cannot be exported.
    """

    name: str
    dtype: np.dtype[Any]
    count: int
    unit: str
    scale: float
    code: int | None

    @property
    def size(self) -> int:
        """Bytes per sample."""
        return self.dtype.itemsize * self.count


@dataclass(frozen=True)
class Mode:
    """A measurement payload mode (Table 13).

    Attributes
    ----------
    number : int
        Payload mode written to the control characteristic.
    name : str
        The spec's name.
    characteristic : str
        ``"long"``, ``"medium"`` or ``"short"`` payload characteristic.
    size : int
        Payload bytes.
    fields : tuple of str
        Field names in wire order; empty for modes only the vendor SDK can parse.
    """

    number: int
    name: str
    characteristic: str
    size: int
    fields: tuple[str, ...]

    @property
    def parsable(self) -> bool:
        """Whether the public spec documents the payload layout."""
        return bool(self.fields)


@dataclass(frozen=True)
class Layout:
    """A fixed binary layout: a struct and the names of its values."""

    struct: struct.Struct
    names: tuple[str, ...]


def layout(spec: str) -> Layout:
    """Parse ``"<struct format>:<name>,<name>..."`` from the profile."""
    fmt, names = spec.split(":")
    return Layout(struct.Struct(fmt), tuple(names.split(",")))


FIELDS: Final[dict[str, Field]] = {
    name: Field(
        name=name,
        dtype=np.dtype(f["dtype"]),
        count=int(f["count"]),
        unit=str(f["unit"]),
        scale=float(f.get("scale", 1.0)),
        code=f.get("code"),
    )
    for name, f in PROFILE["fields"].items()
}
FIELD_BY_CODE: Final[dict[int, str]] = {f.code: f.name for f in FIELDS.values() if f.code is not None}

MODES: Final[dict[int, Mode]] = {
    int(k): Mode(int(k), m["name"], m["characteristic"], int(m["size"]), tuple(m.get("fields", ())))
    for k, m in PROFILE["modes"].items()
}
CHARACTERISTIC_BYTES: Final[dict[str, int]] = {k: int(v) for k, v in PROFILE["characteristic_bytes"].items()}
CONTROL: Final[dict[str, int]] = dict(PROFILE["measurement_control"])
MAG_AU_TO_UT: Final[float] = float(PROFILE["scaling"]["mag_au_to_ut"])
CLOCK_BITS: Final[int] = int(PROFILE["clock"]["bits"])

MAX_DATA: Final[int] = int(PROFILE["message"]["max_data_bytes"])
MID: Final[dict[str, int]] = dict(PROFILE["message"]["mid"])
MID_NAME: Final[dict[int, str]] = {v: k for k, v in MID.items()}
RECORDING: Final[dict[str, int]] = dict(PROFILE["recording"]["ids"])
RECORDING_NAME: Final[dict[int, str]] = {v: k for k, v in RECORDING.items()}
RECORDING_LAYOUT: Final[dict[str, Layout]] = {k: layout(v) for k, v in PROFILE["recording"]["layout"].items()}
ACK_RESULT_NAME: Final[dict[int, str]] = {v: k for k, v in PROFILE["recording"]["ack_results"].items()}
EXPORT: Final[dict[str, Any]] = dict(PROFILE["recording"]["export"])
SYNC: Final[dict[str, int]] = dict(PROFILE["synchronization"]["ids"])
SYNC_NAME: Final[dict[int, str]] = {v: k for k, v in SYNC.items()}
SYNC_RESULT_NAME: Final[dict[int, str]] = {v: k for k, v in PROFILE["synchronization"]["ack_results"].items()}
SYNC_STATUS_NAME: Final[dict[int, str]] = {v: k for k, v in PROFILE["synchronization"]["status"].items()}
CONFIG: Final[dict[str, int]] = dict(PROFILE["configuration"]["ids"])
CONFIG_NAME: Final[dict[int, str]] = {v: k for k, v in CONFIG.items()}


def uuid(short: str) -> str:
    """The full 128-bit UUID of a service or characteristic.

    Parameters
    ----------
    short : str
        The four varying hex digits (``"2003"`` for the medium payload characteristic).
    """
    return str(PROFILE["uuid"]["template"]).format(short=short)


def export_fields(selection: tuple[int, ...]) -> tuple[str, ...]:
    """Field names of an export selection (SelectExportData codes), in wire order.

    The spec does not say how the sensor orders fields selected out of code order; every example
    selects in ascending order, so fields are taken in ascending code order and duplicates refused.

    Raises
    ------
    ProtocolError
        For an unknown or repeated code (reason ``"settings"``).
    """
    if len(set(selection)) != len(selection):
        raise error(f"export selection repeats a code: {list(selection)}", "settings")
    unknown = [c for c in selection if c not in FIELD_BY_CODE]
    if unknown:
        raise error(f"unknown export data code(s) {unknown}; known {sorted(FIELD_BY_CODE)}", "settings")
    return tuple(FIELD_BY_CODE[c] for c in sorted(selection))
