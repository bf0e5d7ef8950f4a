"""The PMD control point: commands, responses with their error codes, feature read, stop notification.

Client → sensor: ``op code | measurement byte (bit 7: offline recording) | parameters``; the start
command's parameters are a settings TLV. Sensor → client: ``0xF0 | op code | measurement | error code |
more | parameters``, continued in further packets of the same header while ``more`` ≠ 0; ``byte |
bit mask`` for the feature read; ``0x01 | measurement types`` when the sensor stops a stream.
Settings TLVs are in :mod:`.settings` (spec.md §3–4).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from imurehab.errors import ProtocolError
from imurehab.protocols.polar_pmd._profile import fail, measurement_id, pmd_profile
from imurehab.protocols.polar_pmd.settings import Settings, encode_settings, parse_settings

__all__ = [
    "PmdCommand",
    "PmdResponse",
    "build_command",
    "encode_features",
    "encode_response",
    "parse_command",
    "parse_features",
    "parse_measurement_stopped",
    "parse_response",
]

_COMMANDS_WITH_MEASUREMENT = (
    "get_settings",
    "start_measurement",
    "stop_measurement",
    "get_sdk_mode_settings",
)


@dataclass(frozen=True)
class PmdCommand:
    """A control point command (client → sensor).

    Attributes
    ----------
    command : str
        Op code name (``"start_measurement"``, ...).
    opcode : int
    measurement : str or None
        Measurement name, for commands that carry one.
    measurement_type : int or None
        Its byte value without the offline bit.
    offline : bool
        Offline recording (bit 7 of the measurement byte) rather than online streaming.
    settings : dict
        The settings TLV of a start command (see :data:`Settings`).
    parameters : bytes
        Everything after the op code.
    """

    command: str
    opcode: int
    measurement: str | None = None
    measurement_type: int | None = None
    offline: bool = False
    settings: Settings = field(default_factory=dict)
    parameters: bytes = b""


def build_command(
    command: str,
    measurement: str | int | None = None,
    settings: Mapping[str, int | float] | None = None,
    *,
    offline: bool = False,
    parameters: bytes = b"",
) -> bytes:
    """The bytes to write to the PMD control point.

    Parameters
    ----------
    command : str
        ``"get_settings"``, ``"get_sdk_mode_settings"`` (full settings), ``"start_measurement"``,
        ``"stop_measurement"``, ``"get_measurement_status"``, ``"get_sdk_mode_status"``, ...
    measurement : str or int, optional
        ``"acc"``, ``"gyro"``, ``"mag"``, ... (``"sdk_mode"`` with start/stop enters/leaves SDK mode).
    settings : Mapping, optional
        For ``start_measurement``: one value per setting (``sample_rate_hz`` [Hz], ``resolution_bits``,
        ``range``, ``channels``, ...).
    offline : bool
        Address offline recording instead of online streaming.
    parameters : bytes
        Raw parameters of commands this module does not model (offline triggers).

    Examples
    --------
    >>> build_command("start_measurement", "acc",
    ...               {"sample_rate_hz": 52, "resolution_bits": 16, "range": 8, "channels": 3}).hex(" ")
    '02 02 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03'
    """
    prof = pmd_profile()
    if command not in prof.opcodes:
        fail(f"unknown command {command!r}; expected one of {sorted(prof.opcodes)}", "type")
    out = bytearray([prof.opcodes[command]])
    if command in _COMMANDS_WITH_MEASUREMENT:
        if measurement is None:
            fail(f"{command} needs a measurement", "settings")
        out.append(measurement_id(measurement) | (prof.raw["measurement"]["offline_bit"] if offline else 0))
    elif measurement is not None:
        fail(f"{command} takes no measurement", "settings")
    if settings:
        if command != "start_measurement":
            fail(f"{command} takes no settings", "settings")
        out += encode_settings(settings)
    return bytes(out + parameters)


def parse_command(packet: bytes) -> PmdCommand:
    """Parse a control point write (what a sensor receives).

    Parameters
    ----------
    packet : bytes
        The bytes written to the control point.

    Returns
    -------
    PmdCommand

    Raises
    ------
    ProtocolError
        Empty packet or missing measurement byte (``"truncated"``), unknown op code or measurement
        (``"type"``), a bad settings TLV.
    """
    prof = pmd_profile()
    if not packet:
        fail("empty control point command", "truncated", 0)
    name = prof.opcode_names.get(packet[0])
    if name is None:
        fail(f"unknown op code {packet[0]}", "type", 0)
    if name not in _COMMANDS_WITH_MEASUREMENT:
        return PmdCommand(command=name, opcode=packet[0], parameters=bytes(packet[1:]))
    if len(packet) < 2:
        fail(f"{name} without a measurement byte", "truncated", 1)
    type_id = packet[1] & prof.raw["measurement"]["type_mask"]
    measurement = prof.measurement_names.get(type_id)
    if measurement is None:
        fail(f"unknown measurement type {packet[1]:#04x}", "type", 1)
    settings = parse_settings(packet[2:], offset=2) if name == "start_measurement" else {}
    if name != "start_measurement" and len(packet) > 2:
        fail(f"{name} carries {len(packet) - 2} unexpected byte(s)", "overlong", 2)
    return PmdCommand(
        command=name,
        opcode=packet[0],
        measurement=measurement,
        measurement_type=type_id,
        offline=bool(packet[1] & prof.raw["measurement"]["offline_bit"]),
        settings=settings,
        parameters=bytes(packet[1:]),
    )


@dataclass(frozen=True)
class PmdResponse:
    """A control point response (sensor → client), continuation packets joined.

    Attributes
    ----------
    command : str
        Name of the op code answered.
    opcode : int
    measurement_type : int
        The measurement byte as sent.
    measurement : str or None
        Its name, if known.
    error_code : int
        0 for success; see ``error``.
    error : str
        The error code's name (``"SUCCESS"``, ``"ERROR_INVALID_RESOLUTION"``, ...).
    more : bool
        The last packet announced more to come.
    parameters : bytes
        Parameters of all packets, joined.
    settings : dict or None
        The parameters parsed as a settings TLV, for successful settings and start responses; None
        when they do not form one (the response is still returned: Polar's own parser does not
        interpret them either).
    """

    command: str
    opcode: int
    measurement_type: int
    measurement: str | None
    error_code: int
    error: str
    more: bool
    parameters: bytes
    settings: Settings | None = None

    @property
    def ok(self) -> bool:
        """Whether the sensor reported success."""
        return self.error_code == 0


def encode_response(
    command: str,
    measurement: str | int,
    error: int | str = 0,
    parameters: bytes = b"",
    *,
    more: bool = False,
) -> bytes:
    """One control point response packet, as a sensor sends it.

    Parameters
    ----------
    command : str
        Op code name answered.
    measurement : str or int
        Measurement name or byte.
    error : int or str
        Error code or its name (``"SUCCESS"``).
    parameters : bytes
        Parameters (a settings TLV for settings queries).
    more : bool
        Whether another packet follows.
    """
    prof = pmd_profile()
    if command not in prof.opcodes:
        fail(f"unknown command {command!r}", "type")
    if isinstance(error, str):
        codes = {v: k for k, v in prof.errors.items()}
        if error not in codes:
            fail(f"unknown error name {error!r}", "type")
        error = codes[error]
    control = prof.raw["control"]
    mtype = measurement_id(measurement) if isinstance(measurement, str) else int(measurement) & 0xFF
    return bytes([control["response_code"], prof.opcodes[command], mtype, error, int(more)]) + parameters


def parse_response(packets: Sequence[bytes]) -> PmdResponse:
    """Parse a control point response and its continuation packets.

    Parameters
    ----------
    packets : sequence of bytes
        The response indication, then those that followed while ``more`` was set.

    Returns
    -------
    PmdResponse

    Raises
    ------
    ProtocolError
        A header cut off (``"truncated"``), not a response or an unknown op code (``"type"``), an
        unknown error code (``"value"``), continuation packets of another command or after the last
        (``"sequence"``), a bad settings TLV.
    """
    prof = pmd_profile()
    control = prof.raw["control"]
    head = control["response_header_bytes"]
    if not packets:
        fail("no response packets", "truncated", 0)
    params = bytearray()
    more = False
    first = packets[0]
    for i, packet in enumerate(packets):
        if len(packet) < 4:
            fail(f"packet {i}: response header cut off ({len(packet)} bytes)", "truncated", len(packet))
        if packet[0] != control["response_code"]:
            fail(f"packet {i}: {packet[0]:#04x} is not a response (0xF0)", "type", 0)
        if i and (packet[1] != first[1] or packet[2] != first[2]):
            fail(f"packet {i}: continues another command", "sequence", 1)
        if i and not more:
            fail(f"packet {i}: follows a response without 'more'", "sequence", 0)
        if packet[3] not in prof.errors:
            fail(f"packet {i}: unknown error code {packet[3]}", "value", 3)
        success = packet[3] == 0
        more = success and len(packet) > 4 and packet[4] != 0
        params += packet[head:] if success else b""
    name = prof.opcode_names.get(first[1])
    if name is None:
        fail(f"response to unknown op code {first[1]}", "type", 1)
    settings = None
    if first[3] == 0 and name in ("get_settings", "get_sdk_mode_settings", "start_measurement"):
        try:
            settings = parse_settings(bytes(params))
        except ProtocolError:
            settings = None  # the response itself is valid; its parameters stay available as bytes
    return PmdResponse(
        command=name,
        opcode=first[1],
        measurement_type=first[2],
        measurement=prof.measurement_name(first[2]),
        error_code=first[3],
        error=prof.errors[first[3]],
        more=more,
        parameters=bytes(params),
        settings=settings,
    )


def parse_features(packet: bytes) -> list[str]:
    """Measurements a sensor offers, from the read of the control point characteristic.

    Byte 0 is not interpreted (Polar's SDK ignores it too); bytes 1–2 are the bit mask.

    Parameters
    ----------
    packet : bytes
        The value read from the control point characteristic.

    Raises
    ------
    ProtocolError
        Shorter than its bit mask (``"truncated"``).
    """
    bits = pmd_profile().raw["feature_bits"]
    need = 1 + max(pos for name, (pos, _) in _feature_items(bits))
    if len(packet) < need:
        fail(f"feature read of {len(packet)} bytes, the bit mask needs {need}", "truncated", len(packet))
    return [name for name, (pos, mask) in _feature_items(bits) if packet[pos] & mask]


def encode_features(measurements: Sequence[str]) -> bytes:
    """The feature read a sensor offering ``measurements`` answers (the inverse of :func:`parse_features`).

    Parameters
    ----------
    measurements : sequence of str
        Measurement names (``"acc"``, ``"gyro"``, ``"sdk_mode"``, ...).
    """
    bits = pmd_profile().raw["feature_bits"]
    items = dict(_feature_items(bits))
    out = bytearray(1 + max(pos for pos, _ in items.values()))
    out[0] = bits["code"]
    for name in measurements:
        if name not in items:
            fail(f"{name!r} has no feature bit", "type")
        pos, mask = items[name]
        out[pos] |= mask
    return bytes(out)


def _feature_items(bits: Mapping[str, Any]) -> list[tuple[str, tuple[int, int]]]:
    return [(k, (int(v[0]), int(v[1]))) for k, v in bits.items() if k != "code"]


def parse_measurement_stopped(packet: bytes) -> list[str]:
    """Measurements the sensor stopped on its own (control point notification ``0x01 | types``).

    Parameters
    ----------
    packet : bytes
        The control point indication.

    Raises
    ------
    ProtocolError
        Not such a notification, or an unknown measurement type (``"type"``).
    """
    prof = pmd_profile()
    if not packet or packet[0] != prof.raw["control"]["measurement_stopped"]:
        fail("not a measurement-stopped notification (0x01)", "type", 0)
    names = []
    for i, b in enumerate(packet[1:], start=1):
        name = prof.measurement_name(b)
        if name is None:
            fail(f"unknown measurement type {b:#04x}", "type", i)
        names.append(name)
    return names
