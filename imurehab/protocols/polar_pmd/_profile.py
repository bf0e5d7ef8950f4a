"""PMD constants, read once from ``firmware_protocols/polar-pmd/profile.toml`` (see its ``spec.md``).

Nothing here is a literal protocol number: UUIDs, op codes, error names, setting fields and frame layouts
all come from the profile, so the profile and the code cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Final, NoReturn

from imurehab.errors import ProtocolError
from imurehab.protocols.profiles import load_profile
from imurehab.types import ACC_UNITS, GYR_UNITS, MAG_UNITS

FAMILY_NAME: Final = "polar-pmd"

_SI_PER_BASE_UNIT: Final = {"acc": ACC_UNITS, "gyro": GYR_UNITS, "mag": MAG_UNITS}


def fail(message: str, reason: str, offset: int | None = None) -> NoReturn:
    """Raise the family's :class:`~imurehab.errors.ProtocolError`."""
    raise ProtocolError(message, family=FAMILY_NAME, reason=reason, offset=offset)


@dataclass(frozen=True)
class FrameLayout:
    """How the samples of one (measurement, compressed, frame type) are laid out and scaled.

    Attributes
    ----------
    measurement : str
        ``"acc"``, ``"gyro"`` or ``"mag"``.
    compressed : bool
        Delta-compressed frame (frame type byte bit 7 set).
    frame_type : int
        Frame type without the compressed bit (0–127).
    channels : int
        Values per sample.
    resolution_bits : int
        Bits of a raw sample, or of the reference sample of a delta frame; stored in whole bytes.
    value : str
        ``"int"`` (two's complement) or ``"float32"`` (the integers are IEEE-754 bit patterns).
    to_base : float
        Multiplier from a decoded count to the measurement's base unit (mg, deg/s, gauss).
    factor : bool
        Whether the FACTOR setting of the start response multiplies the counts too.
    status_channel : int or None
        A channel carried but not scaled (the magnetometer's calibration status).
    """

    measurement: str
    compressed: bool
    frame_type: int
    channels: int
    resolution_bits: int
    value: str = "int"
    to_base: float = 1.0
    factor: bool = True
    status_channel: int | None = None

    @property
    def sample_bytes(self) -> int:
        """Bytes of one channel value of a raw or reference sample."""
        return (self.resolution_bits + 7) // 8


@dataclass(frozen=True)
class SettingField:
    """One settings TLV type: its id, value size [bytes] and encoding (``uint``, ``int``, ``float32``)."""

    name: str
    id: int
    size: int
    kind: str


@dataclass(frozen=True)
class PmdProfile:
    """The parsed profile: name ↔ number tables and frame layouts."""

    raw: dict[str, Any]
    measurement_ids: dict[str, int]
    measurement_names: dict[int, str]
    decoded: frozenset[str]
    opcodes: dict[str, int]
    opcode_names: dict[int, str]
    errors: dict[int, str]
    settings: dict[str, SettingField]
    settings_by_id: dict[int, SettingField]
    layouts: dict[tuple[int, bool, int], FrameLayout]
    base_units: dict[str, str]

    def si_per_base(self, measurement: str) -> float:
        """Multiplier from the measurement's base unit (mg, deg/s, gauss) to SI (m/s², rad/s, µT)."""
        return float(_SI_PER_BASE_UNIT[measurement][self.base_units[measurement]])

    def measurement_name(self, type_id: int) -> str | None:
        """Name of a measurement type byte (offline bit and mask applied), or None if unknown."""
        return self.measurement_names.get(type_id & self.raw["measurement"]["type_mask"])


@cache
def pmd_profile() -> PmdProfile:
    """The PMD profile, loaded once from ``profile.toml``."""
    p = load_profile(FAMILY_NAME)
    ids = {k: int(v) for k, v in p["measurement_types"].items()}
    opcodes = {k: int(v) for k, v in p["opcodes"].items()}
    fields = {
        name: SettingField(name=name, id=int(f["id"]), size=int(f["bytes"]), kind=str(f["kind"]))
        for name, f in p["settings"].items()
    }
    layouts: dict[tuple[int, bool, int], FrameLayout] = {}
    for f in p["frames"]:
        layout = FrameLayout(
            measurement=f["measurement"],
            compressed=bool(f["compressed"]),
            frame_type=int(f["type"]),
            channels=int(f["channels"]),
            resolution_bits=int(f["resolution_bits"]),
            value=str(f["value"]),
            to_base=float(f["to_base"]),
            factor=bool(f["factor"]),
            status_channel=f.get("status_channel"),
        )
        layouts[(ids[layout.measurement], layout.compressed, layout.frame_type)] = layout
    return PmdProfile(
        raw=p,
        measurement_ids=ids,
        measurement_names={v: k for k, v in ids.items()},
        decoded=frozenset(p["measurement"]["decoded"]),
        opcodes=opcodes,
        opcode_names={v: k for k, v in opcodes.items()},
        errors={int(k): str(v) for k, v in p["errors"].items()},
        settings=fields,
        settings_by_id={f.id: f for f in fields.values()},
        layouts=layouts,
        base_units={k: str(v) for k, v in p["units"].items()},
    )


def measurement_id(measurement: str | int) -> int:
    """The measurement type byte (0–63) of a name such as ``"acc"``, or of a number given as is.

    Parameters
    ----------
    measurement : str or int
        Measurement name from the profile, or its type byte.

    Raises
    ------
    ProtocolError
        For an unknown name or a number outside 0–63 (reason ``"type"``).
    """
    prof = pmd_profile()
    if isinstance(measurement, str):
        if measurement not in prof.measurement_ids:
            fail(
                f"unknown measurement {measurement!r}; expected one of {sorted(prof.measurement_ids)}", "type"
            )
        return prof.measurement_ids[measurement]
    if not 0 <= int(measurement) <= prof.raw["measurement"]["type_mask"]:
        fail(f"measurement type {measurement} outside 0–63", "type")
    return int(measurement)


def layout_for(
    type_byte: int,
    frame_type_byte: int,
    channels: int | None = None,
    resolution_bits: int | None = None,
    where: str = "",
) -> FrameLayout:
    """The layout of a frame: from the profile, or built from ``channels``/``resolution_bits`` settings.

    Parameters
    ----------
    type_byte, frame_type_byte : int
        Bytes 0 and 9 of the data frame.
    channels, resolution_bits : int, optional
        Settings; they must agree with a layout the profile knows (reason ``"settings"``), and a frame
        type the profile does not list needs both (reason ``"type"``, offset 9, otherwise).
    where : str
        Prefix for error messages (which packet).
    """
    prof = pmd_profile()
    frame = prof.raw["frame"]
    type_id = type_byte & prof.raw["measurement"]["type_mask"]
    name = prof.measurement_names.get(type_id)
    if name not in prof.decoded:
        fail(f"{where}measurement type {type_byte:#04x} is not ACC, GYRO or MAG", "type", 0)
    compressed = bool(frame_type_byte & frame["compressed_bit"])
    ftype = frame_type_byte & frame["type_mask"]
    known = prof.layouts.get((type_id, compressed, ftype))
    if known is not None:
        for setting, value, expected in (
            ("channels", channels, known.channels),
            ("resolution", resolution_bits, known.resolution_bits),
        ):
            if value is not None and value != expected:
                fail(
                    f"{where}{name} frame type {frame_type_byte:#04x} has {setting} {expected}, not {value}",
                    "settings",
                )
        return known
    if channels is None or resolution_bits is None:
        fail(
            f"{where}{name} frame type {frame_type_byte:#04x} is not in the profile; "
            "give the channels and resolution settings to decode it",
            "type",
            frame["frame_type_offset"],
        )
    if not 1 <= channels <= 255:
        fail(f"channels {channels} outside 1–255", "settings")
    if not 1 <= resolution_bits <= 32:
        fail(f"resolution {resolution_bits} bits outside 1–32", "settings")
    assert name is not None
    return FrameLayout(name, compressed, ftype, channels, resolution_bits)
