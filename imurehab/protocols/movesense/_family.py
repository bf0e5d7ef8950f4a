"""The ``movesense-gsp`` registry entry: settings, and ``decode`` dispatching to the codecs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from imurehab.protocols.base import DecodeResult, ProtocolFamily, Settings
from imurehab.protocols.movesense._commands import parse_command, parse_result
from imurehab.protocols.movesense._data import assemble_log, decode_meas, reassemble
from imurehab.protocols.movesense._profile import COMMANDS, FAMILY_NAME, PROFILE, RESPONSES, error

SETTINGS: dict[str, str] = {
    "direction": "'to_sensor' (commands; the default unless path, rate or command is set) or "
    "'from_sensor' (notifications)",
    "path": "subscribed or requested resource, e.g. /Meas/IMU6/104 (block order and rate of DATA)",
    "rate": "sample rate [Hz] when the path has none",
    "command": "command the notifications answer: SUBSCRIBE (default), HELLO, GET, FETCH_LOG (log chunks)",
    "reference": "decode only notifications with this reference (1..255)",
    "previous_timestamp_ms": "unwrapped timestamp [ms] of the DATA message before these packets",
}
_DIRECTIONS = ("to_sensor", "from_sensor")


@dataclass(frozen=True)
class _Options:
    direction: str
    path: str | None
    rate: float | None
    command: str | None
    reference: int | None
    previous_timestamp_ms: int | None


def _options(settings: Settings) -> _Options:
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise error(f"unknown setting(s) {unknown}; known {sorted(SETTINGS)}", "settings")
    implied = any(k in settings for k in ("path", "rate", "command"))
    direction = str(settings.get("direction", "from_sensor" if implied else "to_sensor"))
    if direction not in _DIRECTIONS:
        raise error(f"direction must be one of {list(_DIRECTIONS)}", "settings")
    command = None if settings.get("command") is None else str(settings["command"]).upper()
    if command is not None and command not in COMMANDS:
        raise error(f"unknown command {command!r}", "settings")
    try:
        rate = None if settings.get("rate") is None else float(settings["rate"])
        ref = None if settings.get("reference") is None else int(settings["reference"])
        prev = settings.get("previous_timestamp_ms")
        prev = None if prev is None else int(prev)
    except (TypeError, ValueError):
        raise error("rate, reference and previous_timestamp_ms must be numbers", "settings") from None
    path = None if settings.get("path") is None else str(settings["path"])
    return _Options(direction, path, rate, command, ref, prev)


def _from_sensor(packets: Sequence[bytes], opts: _Options) -> DecodeResult:
    if opts.reference is not None:
        packets = [p for p in packets if len(p) < 2 or p[1] == opts.reference]
    if opts.command == "FETCH_LOG":
        data, info = assemble_log(packets)
        return DecodeResult(family=FAMILY_NAME, info=info | {"command": "FETCH_LOG", "log_hex": data.hex()})
    code = RESPONSES["COMMAND_RESULT"]
    results = [p for p in packets if p and p[0] == code]
    data_packets = [p for p in packets if not (p and p[0] == code)] if results else list(packets)
    infos = [parse_result(p, opts.command, opts.path) for p in results]
    if not data_packets:
        return DecodeResult(family=FAMILY_NAME, info=infos[0] if len(infos) == 1 else {"responses": infos})
    if opts.path is None:
        raise error("DATA needs the subscribed path (--set path=/Meas/IMU6/104)", "settings")
    joined = reassemble(data_packets, opts.path, rate_hz=opts.rate)
    refs = joined.references
    if len(refs) > 1:
        raise error(f"DATA of several subscriptions {refs}; choose one (--set reference=N)", "settings")
    s = decode_meas(
        joined.payloads, opts.path, rate_hz=opts.rate, previous_timestamp_ms=opts.previous_timestamp_ms
    )
    info: dict[str, Any] = {
        "response": "DATA",
        "reference": refs[0] if refs else None,
        "path": opts.path,
        "resource": s.resource,
        "rate_hz": s.rate_hz,
        "messages": len(s.timestamp_ms),
        "data_part2": joined.parts2,
        "dropped_notifications": joined.dropped,
        "tail_unchecked": joined.tail_unchecked,
        "samples_per_message": s.samples_per_message,
        "rollovers": s.rollovers,
    }
    if len(s.timestamp_ms):
        info |= {"first_timestamp_ms": int(s.timestamp_ms[0]), "last_timestamp_ms": int(s.timestamp_ms[-1])}
    if infos:
        info["responses"] = infos
    return DecodeResult(family=FAMILY_NAME, time_ns=s.time_ns, acc=s.acc, gyr=s.gyr, mag=s.mag, info=info)


def decode(packets: Sequence[bytes], settings: Mapping[str, Any]) -> DecodeResult:
    """Decode Movesense GSP packets: commands, command results, DATA/DATA_PART2 or log chunks.

    Parameters
    ----------
    packets : sequence of bytes
        Packets of one direction in arrival order (commands written to the write characteristic,
        or notifications of the notify characteristic).
    settings : Mapping
        See :data:`SETTINGS`.

    Returns
    -------
    DecodeResult
        For measurement DATA: acc [m/s²], gyr [rad/s], mag [µT] and time_ns [ns since boot]; facts
        (``command``, ``reference``, ``path``, ``status``, ...) in ``info``.

    Raises
    ------
    ProtocolError
        On any malformed packet or missing setting.
    """
    opts = _options(settings)
    if opts.direction == "from_sensor":
        return _from_sensor(packets, opts)
    infos = [parse_command(p) for p in packets]
    return DecodeResult(family=FAMILY_NAME, info=infos[0] if len(infos) == 1 else {"commands": infos})


FAMILY = ProtocolFamily(name=FAMILY_NAME, title=str(PROFILE["title"]), settings=SETTINGS, decode=decode)
