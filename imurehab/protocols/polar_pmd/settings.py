"""PMD settings TLVs: ``setting type | count | count little-endian values``, repeated (spec.md §4).

Get-settings responses list the values a sensor offers; a start command carries one chosen value per
setting; the start response may return the FACTOR the samples must be multiplied by.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence

from imurehab.protocols.polar_pmd._profile import fail, pmd_profile

__all__ = ["Settings", "encode_settings", "parse_settings"]

Settings = dict[str, list[int | float]]
"""Parsed settings TLV: ``sample_rate_hz`` [Hz], ``resolution_bits`` [bit], ``range`` [g, deg/s or G],
``range_milliunit`` [mg, mdeg/s or mG], ``channels`` [count], ``factor`` [base unit per count]; each a
list of the values offered (a get-settings response) or chosen (a start command)."""


def parse_settings(data: bytes, offset: int = 0) -> Settings:
    """Parse a settings TLV.

    Parameters
    ----------
    data : bytes
        The TLV bytes.
    offset : int
        Offset of ``data`` in its packet, added to error offsets.

    Returns
    -------
    dict
        Setting name → list of values, in the order sent (see :data:`Settings`).

    Raises
    ------
    ProtocolError
        Unknown setting type (``"type"``), a value list cut off (``"truncated"``), a repeated setting
        type (``"value"``).
    """
    prof = pmd_profile()
    out: Settings = {}
    pos = 0
    while pos < len(data):
        field_ = prof.settings_by_id.get(data[pos])
        if field_ is None:
            fail(f"unknown setting type {data[pos]}", "type", offset + pos)
        if field_.name in out:
            fail(f"setting {field_.name} given twice", "value", offset + pos)
        if pos + 2 > len(data):
            fail(f"setting {field_.name} has no count byte", "truncated", offset + pos)
        count = data[pos + 1]
        end = pos + 2 + count * field_.size
        if end > len(data):
            fail(f"setting {field_.name} lists {count} values but the data ends", "truncated", offset + pos)
        out[field_.name] = [
            _unpack_value(data[i : i + field_.size], field_.kind) for i in range(pos + 2, end, field_.size)
        ]
        pos = end
    return out


def encode_settings(settings: Mapping[str, int | float | Sequence[int | float]]) -> bytes:
    """Encode settings as a TLV, in ascending setting type order.

    Parameters
    ----------
    settings : Mapping
        Setting name (see :data:`Settings`) → one value or a list of values.

    Raises
    ------
    ProtocolError
        Unknown setting name (``"type"``) or a value that does not fit its field (``"value"``).
    """
    prof = pmd_profile()
    out = bytearray()
    for name in settings:
        if name not in prof.settings:
            fail(f"unknown setting {name!r}; expected one of {sorted(prof.settings)}", "type")
    for field_ in sorted((prof.settings[n] for n in settings), key=lambda f: f.id):
        given = settings[field_.name]
        values = list(given) if isinstance(given, Sequence) else [given]
        if len(values) > 255:
            fail(f"setting {field_.name}: more than 255 values", "value")
        out += bytes([field_.id, len(values)])
        for v in values:
            out += _pack_value(v, field_.size, field_.kind, field_.name)
    return bytes(out)


def _unpack_value(raw: bytes, kind: str) -> int | float:
    if kind == "float32":
        return float(struct.unpack("<f", raw)[0])
    return int.from_bytes(raw, "little", signed=kind == "int")


def _pack_value(value: int | float, size: int, kind: str, name: str) -> bytes:
    if kind == "float32":
        return struct.pack("<f", float(value))
    if value != int(value):
        fail(f"setting {name}: {value} is not an integer", "value")
    try:
        return int(value).to_bytes(size, "little", signed=kind == "int")
    except OverflowError:
        fail(f"setting {name}: {value} does not fit {size} byte(s)", "value")
