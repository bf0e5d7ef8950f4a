"""DOT configuration service: the device control characteristic (0x1002), which sets the output rate.

D1 §2.2, Table 7: 32 bytes — a visit index (one bit per function: only the fields whose bit is set are
applied on a write), identify, power options, two power-saving timeouts, the tag (length and 16 bytes),
the output rate (uint16, Hz) and the filter profile index, then 5 reserved bytes. The output rate is used
for both real-time streaming and recording and "cannot be changed after measurement or synchronization
start" (D1).
"""

from __future__ import annotations

from typing import Any, Final

from imurehab.protocols.movella_dot._profile import PROFILE, error, layout

_DEVICE: Final = PROFILE["device_control"]
_LAYOUT: Final = layout(_DEVICE["layout"])
_VISIT: Final[dict[str, int]] = dict(_DEVICE["visit"])
_STREAM_RATES: Final = tuple(PROFILE["rates"]["recording_hz"])


def parse_device_control(value: bytes) -> dict[str, Any]:
    """Read the device control characteristic.

    Parameters
    ----------
    value : bytes
        The 32 bytes read from 0x1002.

    Returns
    -------
    dict
        ``visit_index``, ``identify``, ``power``, ``adv_timeout_min``, ``adv_timeout_s``,
        ``conn_timeout_min``, ``conn_timeout_s``, ``tag`` (str), ``output_rate_hz`` [Hz],
        ``filter_profile_index``.

    Raises
    ------
    ProtocolError
        ``"truncated"``/``"overlong"`` for a length other than 32 bytes, ``"value"`` for a tag length
        over 16.

    Examples
    --------
    >>> parse_device_control(device_control(output_rate_hz=30))["output_rate_hz"]
    30
    """
    size = _LAYOUT.struct.size
    if len(value) != size:
        raise error(f"device control is {size} bytes", "truncated" if len(value) < size else "overlong", size)
    fields = dict(zip(_LAYOUT.names, _LAYOUT.struct.unpack(value), strict=True))
    if fields["tag_length"] > len(fields["tag"]):
        raise error(f"device tag length {fields['tag_length']} is over 16", "value", 7)
    fields["tag"] = fields.pop("tag")[: fields.pop("tag_length")].decode("utf-8", errors="replace")
    del fields["reserved"]
    return fields


def device_control(*, output_rate_hz: int | None = None, base: bytes | None = None) -> bytes:
    """The 32 bytes to write to the device control characteristic.

    Parameters
    ----------
    output_rate_hz : int, optional
        Set this output rate [Hz] (1, 4, 10, 12, 15, 20, 30, 60; 120 for recording only).
    base : bytes, optional
        The value read from the characteristic: its other fields are kept (they are not applied: their
        visit bits are clear); zeros without it.

    Raises
    ------
    ProtocolError
        ``"settings"`` for a rate a DOT does not output.
    """
    fields = dict(zip(_LAYOUT.names, _LAYOUT.struct.unpack(base or bytes(_LAYOUT.struct.size)), strict=True))
    fields["visit_index"] = 0
    if output_rate_hz is not None:
        if output_rate_hz not in _STREAM_RATES:
            raise error(f"a DOT outputs at {list(_STREAM_RATES)} Hz, not {output_rate_hz!r}", "settings")
        fields["visit_index"] |= 1 << _VISIT["output_rate"]
        fields["output_rate_hz"] = int(output_rate_hz)
    return _LAYOUT.struct.pack(*(fields[n] for n in _LAYOUT.names))


def visits(value: bytes) -> list[str]:
    """The functions a device control write applies (its visit index bits), in bit order.

    Parameters
    ----------
    value : bytes
        A device control value.

    Examples
    --------
    >>> visits(device_control(output_rate_hz=60))
    ['output_rate']
    """
    return [name for name, bit in sorted(_VISIT.items(), key=lambda kv: kv[1]) if value[0] >> bit & 1]
