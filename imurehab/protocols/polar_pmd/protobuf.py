"""The little of the protobuf wire format PFTP needs: varints, keys, length-delimited fields.

Written for ``PbPFtpOperation``, ``PbPFtpDirectory`` and ``PbPFtpEntry`` (spec.md §11.4); no protobuf
dependency. :func:`fields` walks a message and skips nothing silently: every field is returned with
its number, wire type and value (an int for varint/fixed, bytes for length-delimited), and malformed
input raises :class:`~imurehab.errors.ProtocolError`.

Examples
--------
>>> data = key(1, VARINT) + varint(0) + key(2, LENGTH) + length_delimited(b"/U/0/")
>>> data.hex(" ")
'08 00 12 05 2f 55 2f 30 2f'
>>> list(fields(data))
[(1, 0, 0), (2, 2, b'/U/0/')]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from imurehab.protocols.polar_pmd._profile import fail

__all__ = ["FIXED32", "FIXED64", "LENGTH", "VARINT", "fields", "key", "length_delimited", "varint"]

VARINT: Final = 0
FIXED64: Final = 1
LENGTH: Final = 2
FIXED32: Final = 5
_FIXED_BYTES: Final = {FIXED64: 8, FIXED32: 4}
_MAX_VARINT_BYTES: Final = 10


def varint(value: int) -> bytes:
    """Base-128 varint of an unsigned 64-bit value.

    Parameters
    ----------
    value : int
        0 … 2⁶⁴ − 1.
    """
    if not 0 <= value < 1 << 64:
        fail(f"varint {value} outside 0 … 2**64 - 1", "value")
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def key(field: int, wire_type: int) -> bytes:
    """A field's key: ``field << 3 | wire_type`` as a varint.

    Parameters
    ----------
    field : int
        Field number (≥ 1).
    wire_type : int
        :data:`VARINT`, :data:`FIXED64`, :data:`LENGTH` or :data:`FIXED32`.
    """
    if field < 1 or wire_type not in (VARINT, FIXED64, LENGTH, FIXED32):
        fail(f"bad field {field} or wire type {wire_type}", "value")
    return varint(field << 3 | wire_type)


def length_delimited(payload: bytes) -> bytes:
    """``payload`` preceded by its length as a varint.

    Parameters
    ----------
    payload : bytes
        A string's UTF-8 bytes, a nested message, ...
    """
    return varint(len(payload)) + payload


def _read_varint(data: bytes, pos: int, offset: int) -> tuple[int, int]:
    value = 0
    for i in range(_MAX_VARINT_BYTES):
        if pos + i >= len(data):
            fail("varint cut off", "truncated", offset + pos + i)
        byte = data[pos + i]
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            if value >= 1 << 64:
                fail("varint over 64 bits", "value", offset + pos)
            return value, pos + i + 1
    fail("varint longer than 10 bytes", "value", offset + pos)


def fields(data: bytes, offset: int = 0) -> Iterator[tuple[int, int, int | bytes]]:
    """The fields of one message, in order: ``(field number, wire type, value)``.

    Parameters
    ----------
    data : bytes
        The message.
    offset : int
        Where ``data`` starts in the enclosing buffer (for error offsets) [bytes].

    Yields
    ------
    (int, int, int or bytes)
        Varint and fixed values as unsigned ints, length-delimited ones as bytes.

    Raises
    ------
    ProtocolError
        ``truncated`` (a field cut off), ``value`` (field 0, a group or unknown wire type, a varint
        too long).
    """
    pos = 0
    while pos < len(data):
        head, start = _read_varint(data, pos, offset)
        number, wire = head >> 3, head & 7
        if number == 0:
            fail("field number 0", "value", offset + pos)
        if wire == VARINT:
            value, pos = _read_varint(data, start, offset)
            yield number, wire, value
        elif wire == LENGTH:
            size, begin = _read_varint(data, start, offset)
            if begin + size > len(data):
                fail(f"field {number} of {size} bytes cut off", "truncated", offset + begin)
            pos = begin + size
            yield number, wire, bytes(data[begin:pos])
        elif wire in _FIXED_BYTES:
            pos = start + _FIXED_BYTES[wire]
            if pos > len(data):
                fail(f"fixed field {number} cut off", "truncated", offset + start)
            yield number, wire, int.from_bytes(data[start:pos], "little")
        else:
            fail(f"wire type {wire} (groups are not used by PFTP)", "value", offset + pos)
